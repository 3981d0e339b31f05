/* process.c — one Kafka message through the command transaction, then the
 * confirmed dead letter and the outcome notification (process.h). */
#include "workers/process.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/entity.h"
#include "common/log.h"
#include "common/reasons.h"
#include "common/uuid.h"
#include "workers/db.h"
#include "workers/dead_letters.h"
#include "workers/notifier.h"
#include "workers/txn.h"

typedef struct {
    const rd_kafka_message_t *m;
    const pk_envelope_decoded *cmd;
    wk_source src;
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

/* ---- dead letters ---- */

static wk_source source_of(const rd_kafka_message_t *m)
{
    return (wk_source){rd_kafka_topic_name(m->rkt), (int)m->partition, (int64_t)m->offset, m->key, m->key_len};
}

static wk_result send_dead_letter(wk_worker *w, const rd_kafka_message_t *m, const char *reason)
{
    wk_dead_letter d = {source_of(m), m->payload, m->len, reason};
    wk_result res = wk_dead_letter_send(w->producer, w->ctx.cfg, &d);
    if (res == WK_DONE)
        pk_warn(NULL, "dead letter %s[%d]@%lld: %s", d.src.topic, d.src.partition, (long long)d.src.offset, reason);
    return res;
}

/* A message with no command to reject (undecodable, or a type no worker
 * knows): its row on its own, then the confirmed dlq message. */
static wk_result dead_letter_undecided(wk_worker *w, const rd_kafka_message_t *m, const char *reason)
{
    wk_dead_letter d = {source_of(m), m->payload, m->len, reason};
    wk_result res = wk_dead_letter_record(&w->ctx, &d);
    return res == WK_DONE ? send_dead_letter(w, m, reason) : res;
}

/* A redelivered rejection may have committed its dead letter row without
 * the dlq message being confirmed (a crash, a Kafka outage): send it again. */
static wk_result resend_dead_letter(wk_worker *w, const message_ctx *mc)
{
    char reason[WK_DEAD_LETTER_REASON_MAX];
    bool found = false;
    wk_result res = wk_dead_letter_find(&w->ctx, &mc->src, reason, &found);
    if (res != WK_DONE)
        return WK_TRANSIENT;   /* the message is decided: all that is left is to retry */
    return found ? send_dead_letter(w, mc->m, reason) : WK_DONE;
}

/* ---- redeliveries ---- */

/* The reason codes txn.c gives a poison command (only those have dead letters). */
static bool is_poison_code(const char *code)
{
    return strcmp(code, "invalid_command") == 0 || strcmp(code, "unknown_command") == 0;
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
    /* Its dead letter first: a failure here retries the whole redelivery. */
    if (PQntuples(r) == 1 && is_poison_code(PQgetvalue(r, 0, 3)) && resend_dead_letter(w, mc) != WK_DONE) {
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

/* After the commit, what must be confirmed before the offset is stored: a
 * poison command's dead letter (its row committed with the rejection), or,
 * for a duplicate, the stored outcome re-published (with its dead letter
 * re-sent). An unconfirmed dead letter is retried: the redelivery path
 * sends it again, and notifies then. */
static wk_result confirm(wk_worker *w, message_ctx *mc, const wk_txn_info *info)
{
    if (info->duplicate)
        return republish_stored(w, mc);
    if (info->poison && send_dead_letter(w, mc->m, info->reason) != WK_DONE)
        return WK_TRANSIENT;
    return WK_DONE;
}

/* Then: log and count the decision, tell the waiting API loop (best
 * effort). A duplicate was announced by confirm. */
static void announce(wk_worker *w, message_ctx *mc, const wk_outcome *o, const wk_txn_info *info)
{
    if (info->duplicate)
        return;
    pk_info(mc->cmd->env.request_id, "%s %s %s%s%s (seq %lld)", mc->cmd->env.type, mc->id,
            o->applied ? "applied" : "rejected", o->applied ? "" : ": ", o->applied ? "" : o->code,
            (long long)info->seq);
    wk_metrics_command(w->metrics, mc->cmd->env.type,
                       info->poison ? WK_M_DEAD_LETTERED : o->applied ? WK_M_APPLIED : WK_M_REJECTED);
    json_t *msg = outcome_message(mc->id, mc->cmd->env.type, o->applied ? "applied" : "rejected", o->http_status,
                                  o->applied ? NULL : o->code, o->detail[0] ? o->detail : NULL, o->errors,
                                  o->resource, o->entity_type[0] ? o->entity_type : NULL, o->entity_id);
    notify(w, mc->cmd->env.reply_to, msg);
    json_decref(msg);
    if (o->applied)   /* every API process drops its catalog cache (common/changed.h) */
        wk_notifier_changed(w->notifier);
}

static wk_result finish(wk_worker *w, message_ctx *mc, const wk_outcome *o, const wk_txn_info *info)
{
    /* The relays hear of the commit from PostgreSQL (the journal trigger's NOTIFY). */
    wk_result res = confirm(w, mc, info);
    if (res == WK_DONE)
        announce(w, mc, o, info);
    return res;
}

/* A type no worker knows — the rolling-deploy case, an API newer than the
 * workers — is not decided: no journal row, no processed_commands row, no
 * outcome, no notification (the client's GET /api/commands/{id} keeps
 * saying accepted). Its dead letter alone, so `punyaka-replay dlq redrive`
 * can have it applied once the workers know the type. */
static wk_result unknown_type(wk_worker *w, const message_ctx *mc)
{
    wk_result res = dead_letter_undecided(w, mc->m, "unknown_command");
    if (res == WK_DONE) {
        pk_warn(mc->cmd->env.request_id, "%s %s: no worker knows this type; dead-lettered undecided, redrive it"
                " once the workers do", mc->cmd->env.type, mc->id);
        wk_metrics_command(w->metrics, mc->cmd->env.type, WK_M_DEAD_LETTERED);
    }
    return res;
}

/* A signed command on a topic that is not its own: applied there it would
 * break per-key ordering, and neither the API nor punyaka-admin ever sends
 * one there (they take the topic from common/commands.def) — it is a copy.
 * The signature does not cover the topic, so deciding it (as rejected)
 * would let whoever copied it take the real command's id: dead-lettered
 * undecided instead, like a bad signature. */
static wk_result wrong_topic(wk_worker *w, const message_ctx *mc)
{
    wk_result res = dead_letter_undecided(w, mc->m, "wrong_topic");
    if (res == WK_DONE) {
        pk_warn(mc->cmd->env.request_id, "%s %s arrived on %s, not its topic: dead-lettered undecided", mc->cmd->env.type,
                mc->id, mc->src.topic);
        wk_metrics_command(w->metrics, mc->cmd->env.type, WK_M_DEAD_LETTERED);
    }
    return res;
}

static wk_result process_decoded(wk_worker *w, const rd_kafka_message_t *m, const pk_envelope_decoded *cmd)
{
    message_ctx mc = {.m = m, .cmd = cmd, .src = source_of(m)};
    pk_uuid_format(&cmd->env.id, mc.id);
    const wk_command *c = wk_command_find(cmd->env.type);
    if (!c)
        return unknown_type(w, &mc);
    char topic[128];
    if (strcmp(mc.src.topic, pk_topic(w->ctx.cfg, wk_command_topic(c), topic, sizeof(topic))) != 0)
        return wrong_topic(w, &mc);
    wk_txn_input in = {.cmd = cmd, .raw = m->payload, .raw_len = m->len, .command = c, .src = mc.src,
                       .dead_letters = true};
    wk_outcome o;
    wk_outcome_init(&o);
    wk_txn_info info;
    wk_result res = wk_txn_run(&w->ctx, &in, &o, &info);
    if (res == WK_DONE)
        res = finish(w, &mc, &o, &info);
    wk_outcome_free(&o);
    return res;
}

/* Not signed by the API or punyaka-admin: dead-lettered before anything
 * in it is believed. Undecided on purpose — no processed_commands row, no
 * outcome, no notification: the id inside is only a claim, and the real
 * command of that id must still be applied when it comes. */
static wk_result bad_signature(wk_worker *w, const rd_kafka_message_t *m, pk_auth_result why)
{
    wk_result res = dead_letter_undecided(w, m, PK_AUTH_DLQ_REASON);
    if (res == WK_DONE) {
        pk_warn(NULL, "%s[%d]@%lld not applied: signature %s", rd_kafka_topic_name(m->rkt), (int)m->partition,
                (long long)m->offset, pk_auth_result_str(why));
        wk_metrics_command(w->metrics, NULL, WK_M_DEAD_LETTERED);
    }
    return res;
}

wk_result wk_process(wk_worker *w, const rd_kafka_message_t *m)
{
    pk_envelope_decoded cmd;
    char err[128], trace[33];
    trace_id_of(m, trace);
    pk_log_context(NULL, trace);
    wk_result res;
    size_t envelope_len = 0;
    pk_auth_result auth = pk_command_verify(w->keys, m->payload, m->len, &envelope_len, NULL);
    if (auth != PK_AUTH_OK) {
        res = bad_signature(w, m, auth);
    } else if (pk_envelope_decode(m->payload, envelope_len, &cmd, err, sizeof(err)) != 0) {
        res = dead_letter_undecided(w, m, err);
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

/* ---- batches (batch.h) ---- */

static message_ctx batch_ctx(const wk_message *msg)
{
    message_ctx mc = {.m = msg->m, .cmd = &msg->cmd, .src = source_of(msg->m)};
    pk_uuid_format(&msg->cmd.env.id, mc.id);
    return mc;
}

bool wk_message_prepare(wk_worker *w, const rd_kafka_message_t *m, wk_message *msg)
{
    size_t envelope_len = 0;
    char err[128], topic[128];
    memset(msg, 0, sizeof(*msg));
    msg->m = m;
    if (pk_command_verify(w->keys, m->payload, m->len, &envelope_len, NULL) != PK_AUTH_OK ||
        pk_envelope_decode(m->payload, envelope_len, &msg->cmd, err, sizeof(err)) != 0)
        return false;   /* the decode failed: nothing to free */
    msg->command = wk_command_find(msg->cmd.env.type);
    if (!msg->command ||
        strcmp(rd_kafka_topic_name(m->rkt), pk_topic(w->ctx.cfg, wk_command_topic(msg->command), topic, sizeof(topic))) != 0) {
        pk_envelope_decoded_free(&msg->cmd);
        return false;
    }
    trace_id_of(m, msg->trace);
    wk_outcome_init(&msg->out);
    return true;
}

void wk_message_free(wk_message *msg)
{
    wk_outcome_free(&msg->out);
    pk_envelope_decoded_free(&msg->cmd);
}

wk_result wk_message_rows(wk_worker *w, wk_message *msg)
{
    wk_txn_input in = {.cmd = &msg->cmd, .raw = msg->m->payload, .raw_len = msg->m->len, .command = msg->command,
                       .src = source_of(msg->m), .dead_letters = true};
    pk_log_context(msg->cmd.env.request_id, msg->trace);
    wk_outcome_free(&msg->out);   /* a retried batch starts each command afresh */
    wk_outcome_init(&msg->out);
    wk_result res = wk_txn_command(&w->ctx, &in, &msg->out, &msg->info);
    pk_log_context(NULL, NULL);
    return res;
}

wk_result wk_message_confirm(wk_worker *w, wk_message *msg)
{
    message_ctx mc = batch_ctx(msg);
    pk_log_context(msg->cmd.env.request_id, msg->trace);
    wk_result res = confirm(w, &mc, &msg->info);
    pk_log_context(NULL, NULL);
    return res;
}

void wk_message_announce(wk_worker *w, wk_message *msg)
{
    message_ctx mc = batch_ctx(msg);
    pk_log_context(msg->cmd.env.request_id, msg->trace);
    announce(w, &mc, &msg->out, &msg->info);
    pk_log_context(NULL, NULL);
}
