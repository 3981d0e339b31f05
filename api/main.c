/* main.c — punyaka-api: configuration, one event loop per thread with its
 * own SO_REUSEPORT listener (thread 0 also listens on the metrics port),
 * graceful shutdown on SIGTERM/SIGINT. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <sodium.h>
#include "api/cache.h"
#include "api/command.h"
#include "api/framing.h"
#include "api/hardening.h"
#include "api/hasher.h"
#include "api/http.h"
#include "api/kafka.h"
#include "api/kyc.h"
#include "api/metrics.h"
#include "api/pg.h"
#include "api/replica.h"
#include "api/redis.h"
#include "api/resets.h"
#include "api/routes.h"
#include "api/session.h"
#include "api/stream.h"
#include "common/booking_rules.h"
#include "common/log.h"

api_server g_api;
static __thread api_thread *current_thread;

api_thread *api_thread_of(h2o_req_t *req)
{
    (void)req;   /* every request is served on the loop thread that accepted it */
    return current_thread;
}

/* One listening socket; the public port is opened once per loop thread
 * (SO_REUSEPORT spreads connections), the metrics port once. */
static int open_listener(const char *addr, int port, int reuseport)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int on = 1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        pk_error(NULL, "cannot listen on %s:%d: not an IPv4 address", addr, port);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) ||
        (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on))) ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, SOMAXCONN)) {
        pk_error(NULL, "cannot listen on %s:%d: %s", addr, port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    h2o_accept_ctx_t *accept_ctx = listener->data;
    if (err)
        return;
    /* Bounded: accept what is queued now, let the loop serve it. */
    for (int i = 0; i < 64; i++) {
        h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
        if (!sock)
            break;
        api_resets_accepted(sock);
        h2o_accept(accept_ctx, sock);
        api_framing_accepted(sock);   /* h2o has armed its reading: stand in front of it */
    }
}

static h2o_socket_t *listen_on_loop(h2o_evloop_t *loop, int fd, h2o_accept_ctx_t *accept_ctx)
{
    h2o_socket_t *sock = h2o_evloop_socket_create(loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    sock->data = accept_ctx;
    h2o_socket_read_start(sock, on_accept);
    return sock;
}

/* Thread 0 also serves the metrics port, in a context of its own. */
static int metrics_setup(api_thread *t)
{
    int fd = open_listener(g_api.cfg.api_metrics_addr, g_api.cfg.api_metrics_port, 0);
    if (fd < 0)
        return -1;
    h2o_context_init(&t->metrics_ctx, t->loop, &g_api.metrics_h2o);
    t->metrics_accept.ctx = &t->metrics_ctx;
    t->metrics_accept.hosts = g_api.metrics_h2o.hosts;
    t->metrics_listener = listen_on_loop(t->loop, fd, &t->metrics_accept);
    t->serves_metrics = true;
    pk_info(NULL, "metrics on %s:%d (GET /metrics)", g_api.cfg.api_metrics_addr, g_api.cfg.api_metrics_port);
    return 0;
}

static int thread_setup(api_thread *t, int listen_fd)
{
    char errbuf[256], channel[256];
    t->loop = h2o_evloop_create();
    g_api.queues[t->index] = h2o_multithread_create_queue(t->loop);
    h2o_context_init(&t->ctx, t->loop, &g_api.h2o);
    t->accept_ctx.ctx = &t->ctx;
    t->accept_ctx.hosts = g_api.h2o.hosts;
    snprintf(t->reply_to, sizeof(t->reply_to), "%.80s.%d", g_api.cfg.instance_id, t->index);
    snprintf(channel, sizeof(channel), "punyaka:outcome:%s", t->reply_to);
    t->metrics = api_metrics_create();
    t->waiters = api_waiters_create(t);
    t->pg = api_pg_create(t->loop, g_api.cfg.database_url, g_api.cfg.pg_conns_per_thread);
    api_replica_start(t);
    t->redis = api_redis_create(t->loop, g_api.cfg.redis_url, channel, api_waiters_on_outcome, t);
    t->live = api_live_create(t);
    if (t->redis)
        api_redis_on_live(t->redis, api_live_on_wakeup, t);
    t->kafka = api_kafka_create(t->loop, &g_api.cfg, errbuf, sizeof(errbuf));
    if (!t->redis || !t->kafka) {
        pk_error(NULL, "setup failed: %s", t->kafka ? "redis" : errbuf);
        return -1;
    }
    h2o_multithread_register_receiver(g_api.queues[t->index], &t->hash_done, api_hasher_on_done);
    t->listener = listen_on_loop(t->loop, listen_fd, &t->accept_ctx);
    if (t->index == 0 && g_api.cfg.api_metrics_port && metrics_setup(t) != 0)
        return -1;
    return 0;
}

static void close_listener(h2o_socket_t **sock)
{
    if (*sock) {
        h2o_socket_read_stop(*sock);
        h2o_socket_close(*sock);
        *sock = NULL;
    }
}

static void stop_accepting(api_thread *t)
{
    close_listener(&t->listener);
    close_listener(&t->metrics_listener);
}

static void thread_teardown(api_thread *t)
{
    stop_accepting(t);   /* a thread that never ran (setup failed) still has it */
    if (t->kafka)
        api_kafka_destroy(t->kafka);   /* flush first: every waiter gets its delivery report */
    api_waiters_destroy(t->waiters);
    if (t->redis)
        api_redis_destroy(t->redis);
    api_replica_stop(t);   /* first: it hands queries to t->pg */
    api_pg_destroy(t->pg);
    api_live_destroy(t->live);   /* after the pool: its callbacks have run */
    t->live = NULL;
    h2o_multithread_unregister_receiver(g_api.queues[t->index], &t->hash_done);
    /* Run the loop briefly so closed sockets and final responses are flushed. */
    for (int i = 0; i < 10; i++)
        h2o_evloop_run(t->loop, 10);
    /* h2o 2.2.5's evloop h2o_multithread_destroy_queue() closes a queue but
     * never frees it, for ours and for the one h2o_context_init() made. */
    h2o_multithread_queue_t *ctx_queue = t->ctx.queue;
    h2o_multithread_queue_t *metrics_queue = t->serves_metrics ? t->metrics_ctx.queue : NULL;
    api_cache_clear();
    h2o_context_dispose(&t->ctx);
    if (t->serves_metrics)
        h2o_context_dispose(&t->metrics_ctx);
    h2o_multithread_destroy_queue(g_api.queues[t->index]);
    h2o_evloop_run(t->loop, 0);   /* lets the queues' sockets be disposed */
    free(ctx_queue);
    free(metrics_queue);
    free(g_api.queues[t->index]);
    h2o_evloop_destroy(t->loop);
}

/* Shutdown, in phases (main() drives them; each loop thread follows):
 *   RUNNING   serving;
 *   DRAINING  SIGTERM came: each loop stops accepting but keeps running, so
 *             answers in flight — and the hashing threads' results, posted
 *             to the loops' queues — still arrive; main() joins the health
 *             thread (it reads thread 0's Kafka handle) and drains the
 *             hasher meanwhile;
 *   TEARDOWN  nothing else will post to a loop: each thread flushes Kafka
 *             (every waiter gets its report), then frees its loop.
 * Owners of cross-thread pointers: the health thread borrows
 * g_api.threads[0].kafka until it is joined; a hash job borrows its
 * thread's queue until api_hasher_stop() returns. */
enum { API_RUNNING, API_DRAINING, API_TEARDOWN };
static atomic_int phase = API_RUNNING;

static void *thread_main(void *arg)
{
    api_thread *t = arg;
    current_thread = t;
    while (atomic_load(&phase) == API_RUNNING) {
        h2o_evloop_run(t->loop, 200);   /* wakes at least every 200 ms to see the phase */
        api_kafka_poll(t->kafka);
    }
    stop_accepting(t);
    api_live_shutdown(t->live);   /* live streams never end by themselves */
    while (atomic_load(&phase) == API_DRAINING) {
        h2o_evloop_run(t->loop, 10);
        api_kafka_poll(t->kafka);
    }
    thread_teardown(t);
    return NULL;
}

/* Kafka metadata requests block, so readiness is probed here, off the loops. */
static void *health_main(void *arg)
{
    (void)arg;
    while (!g_api.stopping) {
        atomic_store(&g_api.kafka_up, api_kafka_probe(g_api.threads[0].kafka, 2000) == 0);
        for (int i = 0; i < 10 && !g_api.stopping; i++)
            usleep(100 * 1000);
    }
    return NULL;
}

static void on_signal(int sig)
{
    (void)sig;
    g_api.stopping = 1;
}

static void install_signals(void)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int main(void)
{
    char err[256];
    pk_log_init("api");
    if (sodium_init() < 0 || pk_config_load(&g_api.cfg, err, sizeof(err)) != 0) {
        pk_error(NULL, "configuration: %s", err);
        return 1;
    }
    int tz;
    if (booking_tz_offset_parse(getenv("PUNYAKA_TZ_OFFSET_MINUTES"), &tz) != 0) {
        /* bookings must never be placed at the wrong instant */
        pk_error(NULL, "configuration: PUNYAKA_TZ_OFFSET_MINUTES must be minutes east of UTC");
        return 1;
    }
    if (!api_session_init()) {   /* without it any Redis writer could mint sessions */
        pk_error(NULL, "configuration: PUNYAKA_SESSION_KEY must be 64 hexadecimal characters (session records are authenticated with it)");
        return 1;
    }
    if (api_command_keys_load(err, sizeof(err)) != 0) {   /* command ids must not be computable offline */
        pk_error(NULL, "configuration: %s", err);
        return 1;
    }
    /* Without it a password hash would have to enter the log in the clear:
     * refuse to start rather than register anyone. */
    unsigned char credential_key[crypto_secretbox_KEYBYTES];
    if (pk_sealed_key_from_env(PK_CREDENTIAL_KEY_ENV, credential_key, err, sizeof(err)) != 0) {
        pk_error(NULL, "configuration: %s", err);
        return 1;
    }
    /* Unsigned commands are dead-lettered by the workers: an API without
     * the key could accept requests and have every one of them refused. */
    if (pk_command_keys_from_env(&g_api.command_keys, err, sizeof(err)) != 0) {
        pk_error(NULL, "configuration: %s", err);
        return 1;
    }
    install_signals();
    api_live_init();
    if (!api_kyc_init())
        pk_warn(NULL, "PUNYAKA_DATA_KEY is not set or malformed: priest KYC submissions will be refused");
    h2o_config_init(&g_api.h2o);
    api_harden_globalconf(&g_api.h2o);
    /* h2o's own 413 is plain text; above our limit but below this one the
     * handler answers problem+json itself (http.c). */
    g_api.h2o.max_request_entity_size = api_body_read_limit();
    h2o_hostconf_t *host = h2o_config_register_host(&g_api.h2o, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    api_routes_register(host, g_api.cfg.web_root, g_api.cfg.openapi_file, g_api.cfg.openapi_json_file);
    h2o_config_init(&g_api.metrics_h2o);
    api_metrics_register(&g_api.metrics_h2o);

    int n = g_api.nthreads = g_api.cfg.http_threads;
    g_api.threads = calloc((size_t)n, sizeof(api_thread));
    g_api.queues = calloc((size_t)n, sizeof(*g_api.queues));
    api_hasher_start(g_api.cfg.hash_threads, g_api.cfg.hash_queue_max, g_api.cfg.hash_queue_per_client, credential_key);
    sodium_memzero(credential_key, sizeof(credential_key));
    for (int i = 0; i < n; i++) {
        int fd = open_listener("0.0.0.0", g_api.cfg.http_port, 1);
        g_api.threads[i].index = i;
        current_thread = &g_api.threads[i];
        if (fd < 0 || thread_setup(&g_api.threads[i], fd) != 0)
            return 1;
    }
    pk_info(NULL, "listening on port %d with %d loop threads", g_api.cfg.http_port, n);
    pthread_t health;
    pthread_create(&health, NULL, health_main, NULL);
    for (int i = 0; i < n; i++)
        pthread_create(&g_api.threads[i].tid, NULL, thread_main, &g_api.threads[i]);
    while (!g_api.stopping)
        usleep(50 * 1000);
    atomic_store(&phase, API_DRAINING);
    pthread_join(health, NULL);
    api_hasher_stop();
    atomic_store(&phase, API_TEARDOWN);
    for (int i = 0; i < n; i++)
        pthread_join(g_api.threads[i].tid, NULL);
    for (int i = 0; i < n; i++)
        api_metrics_destroy(g_api.threads[i].metrics);   /* last: a scrape may read any thread's */
    h2o_config_dispose(&g_api.h2o);
    h2o_config_dispose(&g_api.metrics_h2o);
    free(g_api.threads);
    free(g_api.queues);
    pk_info(NULL, "stopped");
    return 0;
}
