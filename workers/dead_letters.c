/* dead_letters.c — the dead_letters row and the confirmed dlq message
 * (dead_letters.h). */
#include "workers/dead_letters.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "common/log.h"
#include "workers/db.h"
#include "workers/fields.h"
#include "common/clock.h"

void wk_dead_letter_clean_reason(const char *reason, char *out, size_t cap)
{
    const unsigned char *s = (const unsigned char *)reason;
    size_t n = strlen(reason), len = 0;
    for (size_t i = 0; i < n && len + 4 < cap;) {
        size_t k = wf_utf8_len(s + i, n - i);
        if (k == 0 || (k == 1 && (s[i] < ' ' || s[i] == 0x7f))) {
            out[len++] = '?';
            i++;
            continue;
        }
        memcpy(out + len, s + i, k);
        len += k;
        i += k;
    }
    out[len] = 0;
}

/* ---- the row ---- */

static void coordinates(const wk_source *src, char partition[16], char offset[24])
{
    snprintf(partition, 16, "%d", src->partition);
    snprintf(offset, 24, "%lld", (long long)src->offset);
}

wk_result wk_dead_letter_record(wk_ctx *ctx, const wk_dead_letter *d)
{
    char partition[16], offset[24], reason[WK_DEAD_LETTER_REASON_MAX];
    coordinates(&d->src, partition, offset);
    wk_dead_letter_clean_reason(d->reason, reason, sizeof(reason));
    const char *params[] = {d->src.topic, partition, offset, d->src.key, reason, d->payload};
    int lengths[6] = {0, 0, 0, (int)d->src.key_len, 0, (int)d->len};
    int formats[6] = {0, 0, 0, 1, 0, 1};
    /* A redelivered message (a crash before its offset was stored) finds its row. */
    PGresult *r = wk_exec_db(ctx->db,
                             "INSERT INTO dead_letters (topic, kafka_partition, kafka_offset, key, reason, payload)"
                             " SELECT $1::text, $2::int, $3::bigint, $4::bytea, $5::text, $6::bytea"
                             " WHERE NOT EXISTS (SELECT 1 FROM dead_letters"
                             "   WHERE topic = $1 AND kafka_partition = $2::int AND kafka_offset = $3::bigint)",
                             6, params, lengths, formats);
    if (PQresultStatus(r) == PGRES_COMMAND_OK) {
        PQclear(r);
        return WK_DONE;
    }
    pk_warn(NULL, "recording dead letter %s[%s]@%s failed (%s), retrying: %s", d->src.topic, partition, offset,
            wk_sqlstate(r), PQresultErrorMessage(r));
    PQclear(r);
    return WK_TRANSIENT;
}

wk_result wk_dead_letter_find(wk_ctx *ctx, const wk_source *src, char reason[WK_DEAD_LETTER_REASON_MAX],
                              bool *found)
{
    char partition[16], offset[24];
    coordinates(src, partition, offset);
    const char *params[] = {src->topic, partition, offset};
    wk_result fail = WK_DONE;
    PGresult *r = wk_query(ctx, "dead letter lookup",
                           "SELECT reason FROM dead_letters WHERE topic = $1 AND kafka_partition = $2::int"
                           " AND kafka_offset = $3::bigint ORDER BY id LIMIT 1",
                           3, params, &fail);
    if (!r)
        return fail;
    *found = PQntuples(r) == 1;
    snprintf(reason, WK_DEAD_LETTER_REASON_MAX, "%s", *found ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    return WK_DONE;
}

/* ---- the dlq message ---- */

/* One send's delivery report. The callback runs inside rd_kafka_poll on
 * the sending thread; a send that stopped waiting leaves it `abandoned`
 * for the callback to free whenever the report comes. */
typedef struct {
    bool reported;
    bool abandoned;
    rd_kafka_resp_err_t err;
} delivery;

void wk_dead_letter_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    delivery *d = m->_private;
    if (!d)
        return;
    if (d->abandoned) {
        free(d);
        return;
    }
    d->reported = true;
    d->err = m->err;
}

static rd_kafka_resp_err_t produce(rd_kafka_t *rk, const pk_config *cfg, const wk_dead_letter *d, delivery *report)
{
    char dlq[128], partition[16], offset[24], reason[WK_DEAD_LETTER_REASON_MAX];
    coordinates(&d->src, partition, offset);
    wk_dead_letter_clean_reason(d->reason, reason, sizeof(reason));
    return rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(pk_topic(cfg, "dlq", dlq, sizeof(dlq))),
                             RD_KAFKA_V_KEY(d->src.key, d->src.key_len),
                             RD_KAFKA_V_VALUE((void *)d->payload, d->len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                             RD_KAFKA_V_HEADER("reason", reason, -1),
                             RD_KAFKA_V_HEADER("original_topic", d->src.topic, -1),
                             RD_KAFKA_V_HEADER("original_partition", partition, -1),
                             RD_KAFKA_V_HEADER("original_offset", offset, -1), RD_KAFKA_V_OPAQUE(report),
                             RD_KAFKA_V_END);
}

wk_result wk_dead_letter_send(rd_kafka_t *producer, const pk_config *cfg, const wk_dead_letter *d)
{
    delivery *report = calloc(1, sizeof(*report));
    rd_kafka_resp_err_t e = produce(producer, cfg, d, report);
    if (e) {
        free(report);
        pk_warn(NULL, "dead letter %s@%lld: produce: %s", d->src.topic, (long long)d->src.offset, rd_kafka_err2str(e));
        return WK_TRANSIENT;
    }
    for (int64_t deadline = pk_monotonic_ms() + WK_DEAD_LETTER_ACK_WAIT_MS; !report->reported && pk_monotonic_ms() < deadline;)
        rd_kafka_poll(producer, 50);
    if (!report->reported) {
        report->abandoned = true;
        pk_warn(NULL, "dead letter %s@%lld: no acknowledgement within %d ms", d->src.topic, (long long)d->src.offset,
                WK_DEAD_LETTER_ACK_WAIT_MS);
        return WK_TRANSIENT;
    }
    e = report->err;
    free(report);
    if (e) {
        pk_warn(NULL, "dead letter %s@%lld: not delivered: %s", d->src.topic, (long long)d->src.offset,
                rd_kafka_err2str(e));
        return WK_TRANSIENT;
    }
    return WK_DONE;
}
