#include "tests/support/db.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <librdkafka/rdkafka.h>
#include "tests/support/stack_env.h"

PGconn *it_db(void)
{
    PGconn *db = PQconnectdb(it_owner_dsn());
    if (PQstatus(db) != CONNECTION_OK) {
        fprintf(stderr, "cannot connect to the test database: %s\n", PQerrorMessage(db));
        exit(2);
    }
    return db;
}

static long long scalar_v(PGconn *db, const char *sql, va_list ap)
{
    const char *params[16];
    int n = 0;
    const char *p;
    while (n < 16 && (p = va_arg(ap, const char *)) != NULL)
        params[n++] = p;
    PGresult *r = PQexecParams(db, sql, n, NULL, params, NULL, NULL, 0);
    long long v = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    else if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fprintf(stderr, "query failed: %s: %s\n", sql, PQerrorMessage(db));
    PQclear(r);
    return v;
}

long long it_db_scalar(PGconn *db, const char *sql, ...)
{
    va_list ap;
    va_start(ap, sql);
    long long v = scalar_v(db, sql, ap);
    va_end(ap);
    return v;
}

long long it_db_wait_for(PGconn *db, long long want, int timeout_ms, const char *sql, ...)
{
    long long v = -1;
    for (int waited = 0; waited <= timeout_ms; waited += 50) {
        va_list ap;
        va_start(ap, sql);
        v = scalar_v(db, sql, ap);
        va_end(ap);
        if (v == want)
            break;
        usleep(50 * 1000);
    }
    return v;
}

static rd_kafka_t *producer(void)
{
    char err[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "bootstrap.servers", it_env("KAFKA_BROKERS"), err, sizeof(err));
    rd_kafka_conf_set(c, "enable.idempotence", "true", err, sizeof(err));
    return rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
}

int it_kafka_produce(const char *topic, const char *key, const void *value, size_t len)
{
    char name[128];
    snprintf(name, sizeof(name), "%s%s", it_env("PUNYAKA_TOPIC_PREFIX"), topic);
    rd_kafka_t *rk = producer();
    rd_kafka_resp_err_t e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(name), RD_KAFKA_V_KEY(key, strlen(key)),
                                              RD_KAFKA_V_VALUE((void *)value, len),
                                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    int rc = e == 0 && rd_kafka_flush(rk, 10000) == 0 && rd_kafka_outq_len(rk) == 0 ? 0 : -1;
    rd_kafka_destroy(rk);
    return rc;
}

long long it_kafka_high_watermark(const char *topic, int partition)
{
    char name[128];
    snprintf(name, sizeof(name), "%s%s", it_env("PUNYAKA_TOPIC_PREFIX"), topic);
    rd_kafka_t *rk = producer();
    int64_t lo = -1, hi = -1;
    if (rd_kafka_query_watermark_offsets(rk, name, partition, &lo, &hi, 10000) != 0)
        hi = -1;
    rd_kafka_destroy(rk);
    return hi;
}

void it_worker(const char *action, int n, const char *signal)
{
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "%s/scripts/lib/stack.sh %s %s %d %s", it_env("PUNYAKA_SOURCE_DIR"), action,
             it_env("PUNYAKA_STACK_DIR"), n, signal ? signal : "");
    if (system(cmd) != 0)
        fprintf(stderr, "command failed: %s\n", cmd);
}

int it_worker_wait_ready(int n, int timeout_ms)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/worker-%d.ready", it_env("PUNYAKA_STACK_DIR"), n);
    for (int waited = 0; waited <= timeout_ms; waited += 100) {
        if (access(path, F_OK) == 0)
            return 0;
        usleep(100 * 1000);
    }
    return -1;
}

static int contains(const void *hay, size_t len, const char *needle)
{
    return hay && len && memmem(hay, len, needle, strlen(needle)) != NULL;
}

static int message_contains(const rd_kafka_message_t *m, const char *needle)
{
    if (contains(m->payload, m->len, needle) || contains(m->key, m->key_len, needle))
        return 1;
    rd_kafka_headers_t *hdrs = NULL;
    if (rd_kafka_message_headers(m, &hdrs) != 0)
        return 0;
    const char *name;
    const void *val;
    size_t size;
    for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &size) == 0; i++)
        if (contains(val, size, needle))
            return 1;
    return 0;
}

int it_kafka_topics(char names[][128], int cap)
{
    char err[256];
    const char *prefix = it_env("PUNYAKA_TOPIC_PREFIX");
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "bootstrap.servers", it_env("KAFKA_BROKERS"), err, sizeof(err));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
    const struct rd_kafka_metadata *md;
    if (!rk) {
        rd_kafka_conf_destroy(c);   /* not taken over on failure */
        return -1;
    }
    if (rd_kafka_metadata(rk, 1, NULL, &md, 10000) != 0) {
        rd_kafka_destroy(rk);
        return -1;
    }
    int n = 0;
    for (int i = 0; i < md->topic_cnt && n < cap; i++) {
        const char *t = md->topics[i].topic;
        if (strncmp(t, prefix, strlen(prefix)) == 0 && strlen(t) - strlen(prefix) < 128)
            snprintf(names[n++], 128, "%s", t + strlen(prefix));
    }
    rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    return n;
}

int it_kafka_topic_scan(const char *topic, const char *needle)
{
    return it_kafka_topic_scan_except(topic, needle, NULL);
}

int it_kafka_topic_scan_except(const char *topic, const char *needle, const char *except)
{
    char name[128], err[256];
    snprintf(name, sizeof(name), "%s%s", it_env("PUNYAKA_TOPIC_PREFIX"), topic);
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "bootstrap.servers", it_env("KAFKA_BROKERS"), err, sizeof(err));
    rd_kafka_conf_set(c, "group.id", "it-scan", err, sizeof(err));
    rd_kafka_conf_set(c, "enable.auto.commit", "false", err, sizeof(err));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err));
    const struct rd_kafka_metadata *md;
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, name, NULL);
    if (rd_kafka_metadata(rk, 0, t, &md, 10000) != 0 || md->topic_cnt != 1) {
        rd_kafka_topic_destroy(t);
        rd_kafka_destroy(rk);
        return -1;
    }
    int parts = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(t);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(parts);
    int64_t remaining = 0;
    for (int p = 0; p < parts; p++) {
        int64_t lo, hi;
        rd_kafka_query_watermark_offsets(rk, name, p, &lo, &hi, 10000);
        remaining += hi - lo;
        rd_kafka_topic_partition_list_add(l, name, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    int found = 0;
    for (int idle = 0; remaining > 0 && idle < 100;) {   /* ≤ 10 s without progress */
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) {
            idle++;
            continue;
        }
        if (!m->err) {
            remaining--;
            found += message_contains(m, needle) && !(except && message_contains(m, except));
            idle = 0;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return remaining > 0 ? -1 : found;
}

int it_dlq_find(long long from, const void *value, size_t len, char *reason, size_t cap, int timeout_ms)
{
    char name[128], err[256];
    snprintf(name, sizeof(name), "%sdlq", it_env("PUNYAKA_TOPIC_PREFIX"));
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "bootstrap.servers", it_env("KAFKA_BROKERS"), err, sizeof(err));
    rd_kafka_conf_set(c, "group.id", "it-dlq-find", err, sizeof(err));
    rd_kafka_conf_set(c, "enable.auto.commit", "false", err, sizeof(err));
    rd_kafka_conf_set(c, "fetch.wait.max.ms", "50", err, sizeof(err));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err));
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, name, 0)->offset = from;
    rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    int found = -1;
    for (int waited = 0; found != 0 && waited < timeout_ms; waited += 100) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m)
            continue;
        rd_kafka_headers_t *hdrs = NULL;
        const void *v = NULL;
        size_t n = 0;
        if (!m->err && m->len == len && memcmp(m->payload, value, len) == 0) {
            found = 0;
            if (rd_kafka_message_headers(m, &hdrs) != 0 || rd_kafka_header_get_last(hdrs, "reason", &v, &n) != 0)
                n = 0;
            snprintf(reason, cap, "%.*s", (int)n, n ? (const char *)v : "");
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return found;
}
