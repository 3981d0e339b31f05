#include "api/kafka.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common/envelope.h"
#include "common/kafka_util.h"
#include "common/log.h"

struct api_kafka {
    rd_kafka_t *rk;            /* the live handle; swapped by renew(), read by the probe */
    rd_kafka_t *retired;       /* a handle that hit a fatal error, destroyed by retire() */
    bool fatal;                /* rk reported a fatal error: renew before the next produce */
    const pk_config *cfg;      /* to build a new handle (g_api.cfg: lives as long as we do) */
    pthread_mutex_t probe_lock; /* held by the probe while it uses a handle */
    int pipe_fds[2];
    h2o_socket_t *sock;
};

typedef struct {
    api_kafka_delivery_cb cb;
    void *opaque;
} delivery;

/* A failed report is "possibly persisted" only when librdkafka sent the
 * message and lost sight of it (timeout, connection cut mid-request); a
 * message that never left the queue, or that the broker refused, is not. */
static api_delivery delivery_result(const rd_kafka_message_t *m)
{
    if (!m->err)
        return API_DELIVERED;
    rd_kafka_msg_status_t st = rd_kafka_message_status(m);
    return st == RD_KAFKA_MSG_STATUS_NOT_PERSISTED ? API_NOT_PERSISTED : API_POSSIBLY_PERSISTED;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *conf_opaque)
{
    (void)rk;
    (void)conf_opaque;
    delivery *d = m->_private;
    d->cb(d->opaque, delivery_result(m), m->err ? rd_kafka_err2str(m->err) : NULL);
    free(d);
}

/* Served by rd_kafka_poll() on the loop thread. A fatal error leaves the
 * handle unable to produce ever again (librdkafka: "a new instance must be
 * created"), e.g. an idempotent producer whose sequence a broker no longer
 * knows (a cluster rebuilt empty); mark it, renew() replaces it. */
static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    api_kafka *k = opaque;
    pk_warn(NULL, "kafka: %s: %s", rd_kafka_err2name(err), reason);
    if (err == RD_KAFKA_RESP_ERR__FATAL && rk == k->rk)
        k->fatal = true;
}

/* librdkafka wrote to the pipe: its queue went non-empty. Drain everything,
 * since it only writes again after the queue has been emptied. */
static void on_queue_readable(h2o_socket_t *sock, const char *err)
{
    api_kafka *k = sock->data;
    char buf[64];
    (void)err;
    while (read(k->pipe_fds[0], buf, sizeof(buf)) > 0)
        ;
    api_kafka_poll(k);
}

static int set(rd_kafka_conf_t *conf, const char *name, const char *value, char *errbuf, size_t errcap)
{
    return rd_kafka_conf_set(conf, name, value, errbuf, errcap) == RD_KAFKA_CONF_OK ? 0 : -1;
}

static rd_kafka_t *new_handle(api_kafka *k, char *errbuf, size_t errcap)
{
    const pk_config *cfg = k->cfg;
    char timeout[16];
    snprintf(timeout, sizeof(timeout), "%d", cfg->produce_timeout_ms);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (set(conf, "bootstrap.servers", cfg->kafka_brokers, errbuf, errcap) ||
        set(conf, "enable.idempotence", "true", errbuf, errcap) ||
        set(conf, "linger.ms", "1", errbuf, errcap) ||
        set(conf, "queue.buffering.max.kbytes", "65536", errbuf, errcap) ||
        set(conf, "message.timeout.ms", timeout, errbuf, errcap) ||
        set(conf, "client.id", cfg->instance_id, errbuf, errcap) || pk_kafka_conf_security(conf, errbuf, errcap)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_log_cb(conf, pk_kafka_log_cb);
    rd_kafka_conf_set_opaque(conf, k);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errbuf, errcap);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_queue_t *main_q = rd_kafka_queue_get_main(rk);
    rd_kafka_queue_io_event_enable(main_q, k->pipe_fds[1], "1", 1);
    rd_kafka_queue_destroy(main_q);
    return rk;
}

/* Replaces a handle in a fatal state by a new one (same configuration, so
 * a new producer id). The old one is kept until retire(): it may be inside
 * its own rd_kafka_poll() right now (a delivery report re-sending). */
static void renew(api_kafka *k)
{
    if (!k->fatal || k->retired)
        return;
    char errbuf[512], reason[512];
    rd_kafka_fatal_error(k->rk, reason, sizeof(reason));
    rd_kafka_t *rk = new_handle(k, errbuf, sizeof(errbuf));
    if (!rk) {
        pk_error(NULL, "kafka: producer in a fatal state and no new one: %s", errbuf);
        return;
    }
    pk_error(NULL, "kafka: producer in a fatal state (%s): replaced by a new producer", reason);
    k->retired = k->rk;
    __atomic_store_n(&k->rk, rk, __ATOMIC_RELEASE);
    k->fatal = false;
}

/* Destroys a replaced handle once the probe is not using it: what it still
 * held is purged and every waiter hears how its message ended (a re-send
 * goes to the new handle). Bounded by the same 1 s as api_kafka_destroy. */
static void retire(api_kafka *k, bool block)
{
    if (!k->retired)
        return;
    if (block)
        pthread_mutex_lock(&k->probe_lock);
    else if (pthread_mutex_trylock(&k->probe_lock) != 0)
        return;   /* next time round the loop */
    rd_kafka_t *old = k->retired;
    rd_kafka_queue_t *main_q = rd_kafka_queue_get_main(old);
    rd_kafka_queue_io_event_enable(main_q, -1, NULL, 0);
    rd_kafka_queue_destroy(main_q);
    rd_kafka_purge(old, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    /* Not rd_kafka_flush(): on a fatal handle it returns at once. */
    for (int i = 0; i < 100 && rd_kafka_outq_len(old) > 0; i++)
        rd_kafka_poll(old, 10);
    while (rd_kafka_poll(old, 0) > 0)
        ;
    if (rd_kafka_outq_len(old) > 0)
        pk_error(NULL, "kafka: %d message(s) of the replaced producer without a delivery report",
                 rd_kafka_outq_len(old));
    k->retired = NULL;
    pthread_mutex_unlock(&k->probe_lock);
    rd_kafka_destroy(old);
}

api_kafka *api_kafka_create(h2o_evloop_t *loop, const pk_config *cfg, char *errbuf, size_t errcap)
{
    api_kafka *k = calloc(1, sizeof(*k));
    k->cfg = cfg;
    pthread_mutex_init(&k->probe_lock, NULL);
    if (pipe2(k->pipe_fds, O_NONBLOCK | O_CLOEXEC) != 0)
        abort();
    k->rk = new_handle(k, errbuf, errcap);
    if (!k->rk) {
        close(k->pipe_fds[0]);
        close(k->pipe_fds[1]);
        pthread_mutex_destroy(&k->probe_lock);
        free(k);
        return NULL;
    }
    k->sock = h2o_evloop_socket_create(loop, k->pipe_fds[0], H2O_SOCKET_FLAG_DONT_READ);
    k->sock->data = k;
    h2o_socket_read_start(k->sock, on_queue_readable);
    /* librdkafka writes the fd only when the queue goes from empty to
     * non-empty: anything queued before io events were enabled (an early
     * broker error) would otherwise keep it non-empty and silent forever. */
    api_kafka_poll(k);
    return k;
}

void api_kafka_poll(api_kafka *k)
{
    while (rd_kafka_poll(k->rk, 0) > 0)
        ;
    renew(k);
    retire(k, false);
}

void api_kafka_destroy(api_kafka *k)
{
    retire(k, true);
    rd_kafka_flush(k->rk, 5000);
    /* What Kafka did not take in time is given up on, and its reports are
     * served here, so every waiter hears how its message ended (not
     * persisted, or possibly) instead of being dropped with the handle. */
    rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(k->rk, 1000);
    while (rd_kafka_poll(k->rk, 0) > 0)
        ;
    rd_kafka_queue_t *main_q = rd_kafka_queue_get_main(k->rk);
    rd_kafka_queue_io_event_enable(main_q, -1, NULL, 0);
    rd_kafka_queue_destroy(main_q);
    rd_kafka_destroy(k->rk);
    h2o_socket_read_stop(k->sock);
    h2o_socket_close(k->sock);   /* closes pipe_fds[0] */
    close(k->pipe_fds[1]);
    pthread_mutex_destroy(&k->probe_lock);
    free(k);
}

int api_kafka_produce(api_kafka *k, const char *topic, const char *key, size_t keylen,
                      const void *value, size_t len, const char *type, const char *traceparent,
                      api_kafka_delivery_cb cb, void *opaque)
{
    renew(k);   /* a fatal handle never sends again: this message goes to a new one */
    delivery *d = malloc(sizeof(*d));
    d->cb = cb;
    d->opaque = opaque;
    char v[8];
    snprintf(v, sizeof(v), "%d", PK_ENVELOPE_VERSION);
    rd_kafka_resp_err_t err = rd_kafka_producev(
        k->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, keylen),
        RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_HEADER("type", type, -1), RD_KAFKA_V_HEADER("v", v, -1),
        RD_KAFKA_V_HEADER("traceparent", traceparent, -1), RD_KAFKA_V_OPAQUE(d), RD_KAFKA_V_END);
    if (err) {
        pk_warn(NULL, "kafka produce refused: %s", rd_kafka_err2str(err));
        free(d);
        return -1;
    }
    return 0;
}

int api_kafka_probe(api_kafka *k, int timeout_ms)
{
    const struct rd_kafka_metadata *md;
    pthread_mutex_lock(&k->probe_lock);   /* retire() does not destroy what we use */
    rd_kafka_t *rk = __atomic_load_n(&k->rk, __ATOMIC_ACQUIRE);
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, NULL, &md, timeout_ms);
    pthread_mutex_unlock(&k->probe_lock);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        return -1;
    int brokers = md->broker_cnt;
    rd_kafka_metadata_destroy(md);
    return brokers > 0 ? 0 : -1;
}
