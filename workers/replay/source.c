/* source.c — reading the events topic (replay.h).
 *
 * Where to start: with --since, a real broker answers offsets-for-times
 * (the relay stamps each event with its command's issued_at), and we start
 * there, less a minute for clock skew between API instances. The dev Kafka
 * (librdkafka's mock) answers every such question with "the end" (-1), as
 * does a real broker with no event that late; either way we then scan from
 * the beginning and filter on the events' own issued_at, which is correct
 * in both cases and merely slower on the real broker. Without --follow the
 * scan ends at the high watermarks read when it started. */
#include <stdlib.h>
#include <string.h>
#include "common/kafka_util.h"
#include "workers/replay/replay.h"

#define SKEW_MS 60000            /* issued_at order vs log order: API clocks differ a little */
#define IDLE_LIMIT_MS 30000      /* no message and not at the end for this long: give up */

typedef struct {
    int32_t id;
    int64_t start, end;          /* [start, end): end = high watermark at start */
    int64_t next;                /* the offset the next message should have */
    bool done;
} part;

typedef struct {
    const rp_source *src;
    rd_kafka_t *rk;
    part *parts;
    int n;
    rp_scan_info *info;
} scan;

static rd_kafka_t *make_consumer(const pk_config *cfg)
{
    static const char *const SETTINGS[][2] = {
        {"group.id", "punyaka-replay"},       /* required by the API; nothing is committed */
        {"enable.auto.commit", "false"},
        {"enable.partition.eof", "true"},
        {"fetch.wait.max.ms", "100"},         /* the mock waits this long on an empty fetch */
        {"auto.offset.reset", "earliest"},
    };
    char err[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    int ok = rd_kafka_conf_set(c, "bootstrap.servers", cfg->kafka_brokers, err, sizeof(err)) == RD_KAFKA_CONF_OK;
    for (size_t i = 0; ok && i < sizeof(SETTINGS) / sizeof(SETTINGS[0]); i++)
        ok = rd_kafka_conf_set(c, SETTINGS[i][0], SETTINGS[i][1], err, sizeof(err)) == RD_KAFKA_CONF_OK;
    ok = ok && pk_kafka_conf_security(c, err, sizeof(err)) == 0;
    rd_kafka_t *rk = ok ? rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err)) : NULL;
    if (!rk) {
        fprintf(stderr, "punyaka-replay: kafka: %s\n", err);
        rd_kafka_conf_destroy(c);
    }
    return rk;
}

static int partition_count(rd_kafka_t *rk, const char *topic)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    int n = -1;
    if (rd_kafka_metadata(rk, 0, t, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 &&
        !md->topics[0].err)
        n = md->topics[0].partition_cnt;
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(t);
    return n;
}

/* offsets-for-times for every partition; 0 when every answer is a real
 * offset (then parts[].start is set), -1 when any partition cannot say. */
static int seek_by_time(scan *s, int64_t at_ms)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(s->n);
    for (int i = 0; i < s->n; i++)
        rd_kafka_topic_partition_list_add(l, s->src->topic, s->parts[i].id)->offset = at_ms;
    int ok = rd_kafka_offsets_for_times(s->rk, l, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int i = 0; ok && i < l->cnt; i++)
        ok = !l->elems[i].err && l->elems[i].offset >= 0;
    for (int i = 0; ok && i < l->cnt; i++)
        s->parts[i].start = l->elems[i].offset > s->parts[i].start ? l->elems[i].offset : s->parts[i].start;
    rd_kafka_topic_partition_list_destroy(l);
    return ok ? 0 : -1;
}

static int prepare(scan *s)
{
    s->n = partition_count(s->rk, s->src->topic);
    if (s->n <= 0) {
        fprintf(stderr, "punyaka-replay: topic %s not found\n", s->src->topic);
        return -1;
    }
    s->parts = calloc((size_t)s->n, sizeof(*s->parts));
    s->info->partitions = s->n;
    s->info->low_watermark = 0;
    for (int i = 0; i < s->n; i++) {
        int64_t lo = 0, hi = 0;
        if (rd_kafka_query_watermark_offsets(s->rk, s->src->topic, i, &lo, &hi, 10000) != 0) {
            fprintf(stderr, "punyaka-replay: cannot read the watermarks of %s[%d]\n", s->src->topic, i);
            return -1;
        }
        s->parts[i] = (part){.id = i, .start = lo, .end = hi, .done = !s->src->follow && lo >= hi};
        if (lo > s->info->low_watermark)
            s->info->low_watermark = lo;
    }
    if (s->src->since_ms >= 0 && !s->src->scan)
        s->info->seeked = seek_by_time(s, s->src->since_ms - SKEW_MS) == 0;
    for (int i = 0; i < s->n; i++) {
        s->parts[i].done = !s->src->follow && s->parts[i].start >= s->parts[i].end;
        s->parts[i].next = s->parts[i].start;
    }
    return 0;
}

static void assign(scan *s)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(s->n);
    for (int i = 0; i < s->n; i++)
        rd_kafka_topic_partition_list_add(l, s->src->topic, s->parts[i].id)->offset = s->parts[i].start;
    rd_kafka_assign(s->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
}

static int all_done(const scan *s)
{
    for (int i = 0; i < s->n; i++)
        if (!s->parts[i].done)
            return 0;
    return 1;
}

static int64_t remaining(const scan *s)
{
    int64_t total = 0;
    for (int i = 0; i < s->n; i++)
        total += s->parts[i].end - s->parts[i].start;
    return total;
}

/* One message: end-of-partition bookkeeping, decoding, the time window. */
static int handle(scan *s, const rd_kafka_message_t *m, rp_event_fn fn, void *arg, int *stop)
{
    part *p = m->partition >= 0 && m->partition < s->n ? &s->parts[m->partition] : NULL;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (p && !s->src->follow && m->offset >= p->end)
            p->done = true;
        return 0;
    }
    if (m->err) {
        fprintf(stderr, "punyaka-replay: consume: %s\n", rd_kafka_message_errstr(m));
        return m->err == RD_KAFKA_RESP_ERR__TRANSPORT ? 0 : -1;   /* librdkafka reconnects by itself */
    }
    if (p && !s->src->follow && m->offset >= p->end - 1)
        p->done = true;
    if (p && !s->src->follow && m->offset >= p->end)
        return 0;   /* arrived after we started: not part of this run */
    if (p && m->offset > p->next)
        s->info->offset_gaps += m->offset - p->next;   /* compacted or deleted: events the log no longer has */
    if (p && m->offset >= p->next)
        p->next = m->offset + 1;
    s->info->messages++;
    wk_event e;
    char err[96];
    if (wk_event_decode(m->payload, m->len, &e, err, sizeof(err)) != 0) {
        fprintf(stderr, "punyaka-replay: %s[%d]@%lld is not an event: %s\n", s->src->topic, (int)m->partition,
                (long long)m->offset, err);
        return -1;
    }
    int64_t at_ms = e.issued_at_us / 1000, ts = rd_kafka_message_timestamp(m, NULL);
    int in_window = (s->src->since_ms < 0 || at_ms >= s->src->since_ms) &&
                    (s->src->until_ms < 0 || at_ms <= s->src->until_ms);
    if (in_window)
        *stop = fn(arg, &e, m->offset, ts);
    if (s->src->follow && s->src->until_ms >= 0 && ts > s->src->until_ms + SKEW_MS)
        *stop = 1;   /* following past --until: nothing later can match */
    wk_event_free(&e);
    return 0;
}

static int consume(scan *s, rp_event_fn fn, void *arg)
{
    rp_progress progress;
    rp_progress_start(&progress, "reading events", s->src->follow ? 0 : remaining(s), !s->src->quiet);
    double last_progress = rp_now();
    int rc = 0, stop = 0;
    while (rc == 0 && !stop && !rp_stopping && !all_done(s)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(s->rk, 100);
        if (!m) {
            if (!s->src->follow && (rp_now() - last_progress) * 1000 > IDLE_LIMIT_MS) {
                fprintf(stderr, "punyaka-replay: no progress reading %s for %d s\n", s->src->topic,
                        IDLE_LIMIT_MS / 1000);
                rc = -1;
            }
            continue;
        }
        last_progress = rp_now();
        rc = handle(s, m, fn, arg, &stop);
        rd_kafka_message_destroy(m);
        rp_progress_tick(&progress, s->info->messages);
    }
    rp_progress_end(&progress);
    return rc;
}

int rp_scan(const rp_source *src, rp_event_fn fn, void *arg, rp_scan_info *info)
{
    memset(info, 0, sizeof(*info));
    scan s = {.src = src, .info = info, .rk = make_consumer(src->cfg)};
    int rc = -1;
    if (s.rk && prepare(&s) == 0) {
        assign(&s);
        rc = consume(&s, fn, arg);
    }
    if (s.rk) {
        rd_kafka_consumer_close(s.rk);
        rd_kafka_destroy(s.rk);
    }
    free(s.parts);
    return rc;
}

/* ---- every event, in seq order ---- */

typedef struct {
    wk_event *v;
    size_t n, cap;
} event_list;

static int collect(void *arg, const wk_event *e, int64_t offset, int64_t ts)
{
    (void)offset;
    (void)ts;
    event_list *l = arg;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 1024;
        l->v = realloc(l->v, l->cap * sizeof(*l->v));
    }
    /* The caller's copy is freed after we return: take ownership of a copy. */
    wk_event *c = &l->v[l->n++];
    *c = *e;
    c->created_ids = json_deep_copy(e->created_ids);
    c->money = json_deep_copy(e->money);
    c->envelope_owned = malloc(e->envelope_len ? e->envelope_len : 1);
    memcpy(c->envelope_owned, e->envelope, e->envelope_len);
    c->envelope = c->envelope_owned;
    return 0;
}

static int by_seq(const void *a, const void *b)
{
    int64_t x = ((const wk_event *)a)->seq, y = ((const wk_event *)b)->seq;
    return x < y ? -1 : x > y;
}

int rp_load_all(const rp_source *src, wk_event **events, size_t *n, rp_scan_info *info)
{
    event_list l = {0};
    int rc = rp_scan(src, collect, &l, info);
    if (rc == 0 && l.n > 1) {
        qsort(l.v, l.n, sizeof(*l.v), by_seq);
        size_t kept = 1;   /* the relay publishes at least once: drop repeated seqs */
        for (size_t i = 1; i < l.n; i++) {
            if (l.v[i].seq == l.v[kept - 1].seq)
                wk_event_free(&l.v[i]);
            else
                l.v[kept++] = l.v[i];
        }
        l.n = kept;
    }
    if (rc != 0) {
        rp_events_free(l.v, l.n);
        l.v = NULL;
        l.n = 0;
    }
    *events = l.v;
    *n = l.n;
    return rc;
}

void rp_events_free(wk_event *events, size_t n)
{
    for (size_t i = 0; i < n; i++)
        wk_event_free(&events[i]);
    free(events);
}
