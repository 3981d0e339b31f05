/* metrics.c — counters and the /metrics HTTP thread (metrics.h). */
#include "workers/metrics.h"
#include "common/process_metrics.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include "common/log.h"
#include "workers/worker.h"

#define MAX_TYPES 64                 /* the command table plus the two pseudo types */
#define REQUEST_CAP 8192
#define COMMITTED_TIMEOUT_MS 1000

static const char *const OUTCOME_NAMES[WK_M_OUTCOMES] = {"applied", "rejected", "dead_lettered", "duplicate"};

struct wk_metrics {
    atomic_ullong commands[MAX_TYPES][WK_M_OUTCOMES];
    atomic_ullong retries, published;
    atomic_ullong batches, batched, batch_max;   /* wk_metrics_batch */
    atomic_int postgres_up, redis_up;
    /* the HTTP thread */
    pthread_t thread;
    int listen_fd;
    atomic_int stopping;
    rd_kafka_t *consumer;
    wk_metrics_series_fn series;   /* set before serving: another process's own series */
    void *series_arg;
};

wk_metrics *wk_metrics_create(void)
{
    if (wk_command_count() + 2 > MAX_TYPES) {   /* a longer command table needs a larger MAX_TYPES */
        pk_error(NULL, "metrics: %zu command types do not fit; metrics are off", wk_command_count());
        return NULL;
    }
    wk_metrics *m = calloc(1, sizeof(*m));
    if (m)
        m->listen_fd = -1;
    return m;
}

void wk_metrics_destroy(wk_metrics *m)
{
    if (!m)
        return;
    if (m->listen_fd >= 0) {
        atomic_store(&m->stopping, 1);
        pthread_join(m->thread, NULL);
        close(m->listen_fd);
    }
    free(m);
}

/* Row of the counter table: the command's index, then the two pseudo types. */
static size_t type_slot(const char *type)
{
    size_t n = wk_command_count();
    const wk_command *c = type ? wk_command_find(type) : NULL;
    if (c)
        return wk_command_index(c);
    return type ? n : n + 1;
}

static const char *slot_name(size_t slot)
{
    size_t n = wk_command_count();
    return slot < n ? wk_command_at(slot)->type : slot == n ? "(unknown)" : "(undecodable)";
}

void wk_metrics_command(wk_metrics *m, const char *type, wk_metric_outcome o)
{
    if (m && o < WK_M_OUTCOMES)
        atomic_fetch_add_explicit(&m->commands[type_slot(type)][o], 1, memory_order_relaxed);
}

void wk_metrics_retry(wk_metrics *m)
{
    if (m)
        atomic_fetch_add_explicit(&m->retries, 1, memory_order_relaxed);
}

void wk_metrics_batch(wk_metrics *m, unsigned n)
{
    if (!m)
        return;
    atomic_fetch_add_explicit(&m->batches, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->batched, n, memory_order_relaxed);
    unsigned long long seen = atomic_load_explicit(&m->batch_max, memory_order_relaxed);
    while (n > seen && !atomic_compare_exchange_weak(&m->batch_max, &seen, n))
        ;
}

void wk_metrics_published(wk_metrics *m, unsigned n)
{
    if (m)
        atomic_fetch_add_explicit(&m->published, n, memory_order_relaxed);
}

void wk_metrics_postgres_up(wk_metrics *m, int up)
{
    if (m)
        atomic_store_explicit(&m->postgres_up, up, memory_order_relaxed);
}

void wk_metrics_redis_up(wk_metrics *m, int up)
{
    if (m)
        atomic_store_explicit(&m->redis_up, up, memory_order_relaxed);
}

void wk_metrics_set_series(wk_metrics *m, wk_metrics_series_fn fn, void *arg)
{
    if (m) {
        m->series = fn;
        m->series_arg = arg;
    }
}

/* ---- rendering ---- */

static void header(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A metric without labels: its HELP/TYPE header and its one sample. */
static void single(FILE *f, const char *name, const char *type, const char *help, unsigned long long value)
{
    header(f, name, type, help);
    fprintf(f, "%s %llu\n", name, value);
}

static void render_commands(FILE *f, wk_metrics *m)
{
    header(f, "punyaka_worker_commands_total", "counter", "Commands this worker finished, by type and outcome.");
    for (size_t slot = 0; slot < wk_command_count() + 2; slot++)
        for (int o = 0; o < WK_M_OUTCOMES; o++)
            fprintf(f, "punyaka_worker_commands_total{type=\"%s\",outcome=\"%s\"} %llu\n", slot_name(slot),
                    OUTCOME_NAMES[o], atomic_load_explicit(&m->commands[slot][o], memory_order_relaxed));
}

/* Partitions with no position yet (nothing consumed since assignment):
 * their committed offsets, looked up on this thread. */
static void fill_committed(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts)
{
    rd_kafka_topic_partition_list_t *missing = rd_kafka_topic_partition_list_new(parts->cnt ? parts->cnt : 1);
    for (int i = 0; i < parts->cnt; i++)
        if (parts->elems[i].offset < 0)
            rd_kafka_topic_partition_list_add(missing, parts->elems[i].topic, parts->elems[i].partition);
    if (missing->cnt && rd_kafka_committed(rk, missing, COMMITTED_TIMEOUT_MS) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int i = 0; i < missing->cnt; i++) {
            rd_kafka_topic_partition_t *p =
                rd_kafka_topic_partition_list_find(parts, missing->elems[i].topic, missing->elems[i].partition);
            if (p)
                p->offset = missing->elems[i].offset;
        }
    }
    rd_kafka_topic_partition_list_destroy(missing);
}

static void render_lag(FILE *f, rd_kafka_t *rk)
{
    header(f, "punyaka_worker_consumer_lag", "gauge", "Messages behind the high watermark, per assigned partition.");
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (!rk || rd_kafka_assignment(rk, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR || !parts)
        return;
    rd_kafka_position(rk, parts);
    fill_committed(rk, parts);
    for (int i = 0; i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &parts->elems[i];
        int64_t lo = -1, hi = -1;
        rd_kafka_get_watermark_offsets(rk, p->topic, p->partition, &lo, &hi);
        if (hi < 0)
            continue;   /* not fetched yet: no honest number to give */
        /* No commit yet means auto.offset.reset=earliest: everything is ahead. */
        int64_t at = p->offset >= 0 ? p->offset : lo >= 0 ? lo : 0;
        fprintf(f, "punyaka_worker_consumer_lag{topic=\"%s\",partition=\"%d\"} %lld\n", p->topic, (int)p->partition,
                (long long)(hi > at ? hi - at : 0));
    }
    rd_kafka_topic_partition_list_destroy(parts);
}

/* The command, batch and relay series of punyaka-worker. */
static void render_worker(FILE *f, wk_metrics *m)
{
    render_commands(f, m);
    single(f, "punyaka_worker_retries_total", "counter", "Transient failures retried with backoff.",
           atomic_load(&m->retries));
    single(f, "punyaka_worker_transactions_total", "counter", "Command transactions committed (batch.h).",
           atomic_load(&m->batches));
    single(f, "punyaka_worker_transaction_commands_total", "counter", "Messages finished by those transactions.",
           atomic_load(&m->batched));
    single(f, "punyaka_worker_batch_size_max", "gauge", "The most commands one transaction has held.",
           atomic_load(&m->batch_max));
    single(f, "punyaka_worker_events_published_total", "counter", "Journal rows this worker's relay published.",
           atomic_load(&m->published));
}

char *wk_metrics_render(wk_metrics *m, rd_kafka_t *consumer)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    if (m->series)
        m->series(f, m->series_arg);
    else
        render_worker(f, m);
    render_lag(f, consumer);
    single(f, "punyaka_worker_postgres_up", "gauge", "1 when the worker's PostgreSQL connection is usable.",
           (unsigned long long)atomic_load(&m->postgres_up));
    single(f, "punyaka_worker_redis_up", "gauge", "1 when the worker's Redis connection is usable.",
           (unsigned long long)atomic_load(&m->redis_up));
    /* PUNYAKA_VERSION and PUNYAKA_REVISION: compile definitions (CMakeLists.txt). */
    header(f, "punyaka_build_info", "gauge", "The running build: project version and git revision at configure time.");
    fprintf(f, "punyaka_build_info{version=\"%s\",revision=\"%s\"} 1\n", PUNYAKA_VERSION, PUNYAKA_REVISION);
    char process[1536];
    if (pk_process_metrics(process, sizeof(process)))
        fputs(process, f);
    fclose(f);
    return text;
}

/* ---- the HTTP thread ---- */

static void send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = send(fd, buf, len, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        buf += w;
        len -= (size_t)w;
    }
}

static void respond(int fd, int status, const char *reason, const char *type, const char *body)
{
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", status,
                     reason, type, strlen(body));
    send_all(fd, head, (size_t)n);
    send_all(fd, body, strlen(body));
}

/* Reads the request head (bounded by size and the socket timeout). */
static int read_head(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    while (len + 1 < cap) {
        ssize_t r = recv(fd, buf + len, cap - 1 - len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        len += (size_t)r;
        buf[len] = 0;
        if (strstr(buf, "\r\n\r\n"))
            return 0;
    }
    return -1;
}

static void serve_one(wk_metrics *m, int fd)
{
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    char req[REQUEST_CAP];
    if (read_head(fd, req, sizeof(req)) != 0)
        return;
    if (strncmp(req, "GET ", 4) != 0) {
        respond(fd, 405, "Method Not Allowed", "text/plain", "only GET\n");
        return;
    }
    size_t plen = strcspn(req + 4, " ?");
    if (plen != 8 || strncmp(req + 4, "/metrics", 8) != 0) {
        respond(fd, 404, "Not Found", "text/plain", "try /metrics\n");
        return;
    }
    char *text = wk_metrics_render(m, m->consumer);
    respond(fd, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", text ? text : "");
    free(text);
}

/* One connection at a time: scrapes are rare, and a stuck client is cut
 * off by the socket timeouts. The poll timeout bounds shutdown. */
static void *serve(void *arg)
{
    wk_metrics *m = arg;
    while (!atomic_load(&m->stopping)) {
        struct pollfd p = {m->listen_fd, POLLIN, 0};
        if (poll(&p, 1, 250) <= 0)
            continue;
        int fd = accept(m->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        serve_one(m, fd);
        close(fd);
    }
    return NULL;
}

/* A worker restarted right after a crash can find its port still held by
 * what the dead one left (a connection closing, a process still exiting):
 * it tries for up to 10 s before calling the port taken. */
static int listen_on(int port)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                               .sin_addr.s_addr = htonl(INADDR_ANY)};
    int err = 0;
    for (int attempt = 0; attempt < 50; attempt++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
        if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
            bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 && listen(fd, 16) == 0)
            return fd;
        err = errno;
        if (fd >= 0)
            close(fd);
        if (err != EADDRINUSE)
            break;
        usleep(200 * 1000);
    }
    errno = err;
    return -1;
}

int wk_metrics_serve(wk_metrics *m, int port, rd_kafka_t *consumer)
{
    int fd = listen_on(port);
    if (fd < 0) {
        pk_error(NULL, "metrics: cannot listen on port %d: %s", port, strerror(errno));
        return -1;
    }
    m->listen_fd = fd;
    m->consumer = consumer;
    if (pthread_create(&m->thread, NULL, serve, m) != 0) {
        close(fd);
        m->listen_fd = -1;
        return -1;
    }
    pk_info(NULL, "metrics on port %d (GET /metrics)", port);
    return 0;
}
