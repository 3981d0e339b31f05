/* process.c — one Kafka message through the command transaction, then the
 * outcome notification, the relay kick and dead letters (process.h). */
#include "workers/process.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/entity.h"
#include "common/log.h"
#include "common/reasons.h"
#include "common/uuid.h"
#include "workers/notifier.h"
#include "workers/txn.h"

typedef struct {
    const rd_kafka_message_t *m;
    const pk_envelope_decoded *cmd;
    char id[PK_UUID_STR_LEN + 1];
} message_ctx;

/* ---- notifications ---- */

static json_t *outcome_message(const char *id, const char *type, const char *status, int http_status,
                               const char *code, const char *detail, json_t *errors, json_t *resource,
                               const char *entity_type, int64_t entity_id)
{
    char where[96];
    const pk_reason *reason = code ? pk_reason_find(code) : NULL;
    const char *location = pk_entity_location(entity_type, entity_id, where, sizeof(where));
    json_t *o = json_pack("{s:s, s:s, s:s, s:i}", "command_id", id, "type", type, "status", status,
                          "http_status", http_status);
    json_object_set_new(o, "code", code ? json_string(code) : json_null());
    json_object_set_new(o, "title", reason ? json_string(reason->title) : json_null());
    json_object_set_new(o, "detail", detail ? json_string(detail) : json_null());
    json_object_set(o, "errors", errors ? errors : json_null());
    json_object_set(o, "resource", resource ? resource : json_null());
    json_object_set_new(o, "location", location ? json_string(location) : json_null());
    return o;
}

/* Best effort, never blocking: a lost notification only means the client
 * polls GET /api/commands/{id} after its 202 (notifier.h). */
static void notify(wk_worker *w, const char *reply_to, json_t *msg)
{
    wk_notifier_post(w->notifier, reply_to, msg);
}

/* A redelivered command: answer again with what was decided the first time. */
static wk_result republish_stored(wk_worker *w, message_ctx *mc)
{
    const char *params[] = {mc->id};
    PGresult *r = wk_exec(&w->ctx,
                          "SELECT type, status, http_status, code, detail, errors::text, resource::text,"
                          " entity_type, entity_id FROM command_outcomes WHERE command_id = $1",
                          1, params);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        return WK_TRANSIENT;
    }
    if (PQntuples(r) == 1) {
        json_error_t e;
        json_t *errors = PQgetisnull(r, 0, 5) ? NULL : json_loads(PQgetvalue(r, 0, 5), 0, &e);
        json_t *resource = PQgetisnull(r, 0, 6) ? NULL : json_loads(PQgetvalue(r, 0, 6), 0, &e);
        json_t *msg = outcome_message(mc->id, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), atoi(PQgetvalue(r, 0, 2)),
                                      PQgetisnull(r, 0, 3) ? NULL : PQgetvalue(r, 0, 3),
                                      PQgetisnull(r, 0, 4) ? NULL : PQgetvalue(r, 0, 4), errors, resource,
                                      PQgetisnull(r, 0, 7) ? NULL : PQgetvalue(r, 0, 7),
                                      PQgetisnull(r, 0, 8) ? 0 : strtoll(PQgetvalue(r, 0, 8), NULL, 10));
        notify(w, mc->cmd->env.reply_to, msg);
        json_decref(msg);
        json_decref(errors);
        json_decref(resource);
    }
    PQclear(r);
    pk_info(mc->cmd->env.request_id, "duplicate %s %s skipped", mc->cmd->env.type, mc->id);
    wk_metrics_command(w->metrics, mc->cmd->env.type, WK_M_DUPLICATE);
    return WK_DONE;
}

/* ---- dead letters ---- */

static wk_result dead_letter(wk_worker *w, const rd_kafka_message_t *m, const char *reason)
{
    char partition[16], offset[24];
    snprintf(partition, sizeof(partition), "%d", (int)m->partition);
    snprintf(offset, sizeof(offset), "%lld", (long long)m->offset);
    const char *topic = rd_kafka_topic_name(m->rkt);
    const char *params[] = {topic, partition, offset, m->key, reason, m->payload};
    int lengths[6] = {0, 0, 0, (int)m->key_len, 0, (int)m->len};
    int formats[6] = {0, 0, 0, 1, 0, 1};
    if (!m->key)
        params[3] = NULL;
    PGresult *r = PQexecParams(w->ctx.db,
                               "INSERT INTO dead_letters (topic, kafka_partition, kafka_offset, key, reason, payload)"
                               " VALUES ($1, $2, $3, $4, $5, $6)",
                               6, NULL, params, lengths, formats, 0);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok)
        return WK_TRANSIENT;
    char dlq[128];
    rd_kafka_producev(w->producer, RD_KAFKA_V_TOPIC(pk_topic(w->ctx.cfg, "dlq", dlq, sizeof(dlq))),
                      RD_KAFKA_V_KEY(m->key, m->key_len), RD_KAFKA_V_VALUE(m->payload, m->len),
                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADER("reason", reason, -1),
                      RD_KAFKA_V_HEADER("original_topic", topic, -1),
                      RD_KAFKA_V_HEADER("original_partition", partition, -1),
                      RD_KAFKA_V_HEADER("original_offset", offset, -1), RD_KAFKA_V_END);
    rd_kafka_poll(w->producer, 0);
    pk_warn(NULL, "dead letter %s[%s]@%s: %s", topic, partition, offset, reason);
    return WK_DONE;
}

/* ---- entry ---- */

/* The trace id of the message's W3C traceparent header
 * ("00-<32 hex trace id>-<16 hex span id>-<2 hex flags>"), or "". */
static void trace_id_of(const rd_kafka_message_t *m, char out[33])
{
    rd_kafka_headers_t *hdrs = NULL;
    const void *v = NULL;
    size_t n = 0;
    out[0] = 0;
    if (rd_kafka_message_headers(m, &hdrs) != 0 || rd_kafka_header_get_last(hdrs, "traceparent", &v, &n) != 0 ||
        n < 35 || memcmp(v, "00-", 3) != 0)
        return;
    const char *id = (const char *)v + 3;
    for (int i = 0; i < 32; i++)
        if (!isxdigit((unsigned char)id[i]))
            return;
    memcpy(out, id, 32);
    out[32] = 0;
}

/* After the commit: tell the waiting API loop, log, count, dead-letter poison. */
static wk_result finish(wk_worker *w, message_ctx *mc, const wk_outcome *o, const wk_txn_info *info)
{
    if (info->duplicate)
        return republish_stored(w, mc);
    wk_relay_kick(w->relay);
    json_t *msg = outcome_message(mc->id, mc->cmd->env.type, o->applied ? "applied" : "rejected", o->http_status,
                                  o->applied ? NULL : o->code, o->detail[0] ? o->detail : NULL, o->errors,
                                  o->resource, o->entity_type[0] ? o->entity_type : NULL, o->entity_id);
    notify(w, mc->cmd->env.reply_to, msg);
    json_decref(msg);
    pk_info(mc->cmd->env.request_id, "%s %s %s%s%s (seq %lld)", mc->cmd->env.type, mc->id,
            o->applied ? "applied" : "rejected", o->applied ? "" : ": ", o->applied ? "" : o->code,
            (long long)info->seq);
    wk_metrics_command(w->metrics, mc->cmd->env.type,
                       info->poison ? WK_M_DEAD_LETTERED : o->applied ? WK_M_APPLIED : WK_M_REJECTED);
    return info->poison ? dead_letter(w, mc->m, o->code) : WK_DONE;
}

static wk_result process_decoded(wk_worker *w, const rd_kafka_message_t *m, const pk_envelope_decoded *cmd)
{
    message_ctx mc = {.m = m, .cmd = cmd};
    pk_uuid_format(&cmd->env.id, mc.id);
    const wk_command *c = wk_command_find(cmd->env.type);
    char topic[128];
    if (c && strcmp(rd_kafka_topic_name(m->rkt), pk_topic(w->ctx.cfg, c->topic, topic, sizeof(topic))) != 0)
        c = NULL;   /* on the wrong topic it would break per-key ordering: treat as unknown */
    wk_txn_input in = {.cmd = cmd, .raw = m->payload, .raw_len = m->len, .command = c,
                       .src = {rd_kafka_topic_name(m->rkt), (int)m->partition, (int64_t)m->offset}};
    wk_outcome o;
    wk_outcome_init(&o);
    wk_txn_info info;
    wk_result res = wk_txn_run(&w->ctx, &in, &o, &info);
    if (res == WK_DONE)
        res = finish(w, &mc, &o, &info);
    wk_outcome_free(&o);
    return res;
}

wk_result wk_process(wk_worker *w, const rd_kafka_message_t *m)
{
    pk_envelope_decoded cmd;
    char err[128], trace[33];
    trace_id_of(m, trace);
    pk_log_context(NULL, trace);
    wk_result res;
    if (pk_envelope_decode(m->payload, m->len, &cmd, err, sizeof(err)) != 0) {
        res = dead_letter(w, m, err);
        if (res == WK_DONE)
            wk_metrics_command(w->metrics, NULL, WK_M_DEAD_LETTERED);
    } else {
        pk_log_context(cmd.env.request_id, trace);
        res = process_decoded(w, m, &cmd);
        pk_envelope_decoded_free(&cmd);
    }
    pk_log_context(NULL, NULL);
    return res;
}
