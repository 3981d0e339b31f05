#include "tests/support/events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <librdkafka/rdkafka.h>
#include "tests/support/db.h"
#include "tests/support/stack_env.h"

static rd_kafka_t *consumer(void)
{
    char err[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "bootstrap.servers", it_env("KAFKA_BROKERS"), err, sizeof(err));
    rd_kafka_conf_set(c, "group.id", "it-events", err, sizeof(err));
    rd_kafka_conf_set(c, "enable.auto.commit", "false", err, sizeof(err));
    return rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err));
}

/* Appends one message; -1 when it is not an event. */
static int append(const rd_kafka_message_t *m, it_event **out, size_t *n, size_t *cap)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 256;
        *out = realloc(*out, *cap * sizeof(**out));
    }
    it_event *e = &(*out)[*n];
    char err[64];
    memset(e, 0, sizeof(*e));
    e->offset = m->offset;
    snprintf(e->key, sizeof(e->key), "%.*s", (int)m->key_len, m->key ? (const char *)m->key : "");
    if (wk_event_decode(m->payload, m->len, &e->ev, err, sizeof(err)) != 0) {
        fprintf(stderr, "events offset %lld: %s\n", (long long)m->offset, err);
        return -1;
    }
    (*n)++;
    return 0;
}

int it_events_read(it_event **out, size_t *n, long long *low)
{
    char topic[128];
    snprintf(topic, sizeof(topic), "%sevents", it_env("PUNYAKA_TOPIC_PREFIX"));
    rd_kafka_t *rk = consumer();
    int64_t lo = 0, hi = 0;
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    if (!rk || rd_kafka_query_watermark_offsets(rk, topic, 0, &lo, &hi, 10000) != 0) {
        if (rk)
            rd_kafka_destroy(rk);
        return -1;
    }
    *low = lo;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, 0)->offset = lo;
    rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    int rc = 0;
    for (int idle = 0; rc == 0 && (int64_t)*n < hi - lo && idle < 100;) {   /* ≤ 10 s without progress */
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) {
            idle++;
            continue;
        }
        if (!m->err && m->offset < hi)
            rc = append(m, out, n, &cap);
        idle = 0;
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc == 0 && (int64_t)*n == hi - lo ? 0 : -1;
}

void it_events_free(it_event *events, size_t n)
{
    for (size_t i = 0; i < n; i++)
        wk_event_free(&events[i].ev);
    free(events);
}

int it_events_wait_published(PGconn *db, int timeout_ms)
{
    return it_db_wait_for(db, 0, timeout_ms, "SELECT count(*) FROM journal WHERE published_at IS NULL", NULL) == 0
               ? 0
               : -1;
}
