#include "workers/process.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/entity.h"
#include "common/log.h"
#include "common/reasons.h"
#include "common/uuid.h"

typedef struct {
    const rd_kafka_message_t *m;
    const pk_envelope_decoded *cmd;
    char id[PK_UUID_STR_LEN + 1];
    char issued_at[40];
    const char *envelope;     /* raw bytes */
    size_t envelope_len;
} message_ctx;

static int exec_ok(wk_ctx *ctx, const char *sql)
{
    PGresult *r = PQexec(ctx->db, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    return ok;
}

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

/* Best effort: a lost notification only means the client polls
 * GET /api/commands/{id} after its 202. Never blocks progress. */
static void notify(wk_worker *w, const char *reply_to, json_t *msg)
{
    if (!*reply_to)
        return;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!w->redis) {
            struct timeval tv = {1, 0};
            w->redis = redisConnectWithTimeout(w->redis_host, w->redis_port, tv);
            if (w->redis && !w->redis->err)
                redisSetTimeout(w->redis, tv);
        }
        if (w->redis && !w->redis->err) {
            char *text = json_dumps(msg, JSON_COMPACT);
            redisReply *r = redisCommand(w->redis, "PUBLISH punyaka:outcome:%s %s", reply_to, text);
            free(text);
            if (r) {
                freeReplyObject(r);
                return;
            }
        }
        if (w->redis)
            redisFree(w->redis);
        w->redis = NULL;
    }
    pk_warn(NULL, "could not publish outcome notification to %s", reply_to);
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
    return WK_DONE;
}

/* ---- the transaction ---- */

static int record_processed(wk_worker *w, message_ctx *mc, int *duplicate)
{
    char partition[16], offset[24];
    snprintf(partition, sizeof(partition), "%d", (int)mc->m->partition);
    snprintf(offset, sizeof(offset), "%lld", (long long)mc->m->offset);
    const char *params[] = {mc->id, mc->cmd->env.type, rd_kafka_topic_name(mc->m->rkt), partition, offset,
                            mc->issued_at};
    PGresult *r = wk_exec(&w->ctx,
                          "INSERT INTO processed_commands (command_id, type, topic, kafka_partition, kafka_offset,"
                          " issued_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (command_id) DO NOTHING",
                          6, params);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    *duplicate = ok && strcmp(PQcmdTuples(r), "0") == 0;
    PQclear(r);
    return ok ? 0 : -1;
}

static char *json_text_or_null(json_t *j)
{
    return j ? json_dumps(j, JSON_COMPACT) : NULL;
}

static int record_outcome(wk_worker *w, message_ctx *mc, const wk_outcome *o)
{
    const pk_envelope *env = &mc->cmd->env;
    char actor[24], http[8], entity_id[24];
    snprintf(actor, sizeof(actor), "%lld", (long long)env->actor_id);
    snprintf(http, sizeof(http), "%d", o->http_status);
    snprintf(entity_id, sizeof(entity_id), "%lld", (long long)o->entity_id);
    char *created = json_dumps(o->created_ids, JSON_COMPACT);
    char *errors = json_text_or_null(o->errors), *resource = json_text_or_null(o->resource);
    const char *status = o->applied ? "applied" : "rejected";
    const char *code = o->applied ? NULL : o->code;
    const char *etype = o->entity_type[0] ? o->entity_type : NULL;
    const char *eid = o->entity_id ? entity_id : NULL;
    /* The journal row is written last: its seq is drawn after every row lock. */
    const char *jp[] = {mc->id, env->type, etype, eid, mc->issued_at, actor, env->actor_role, NULL, status, code, created};
    int lengths[11] = {0}, formats[11] = {0};
    jp[7] = mc->envelope;
    lengths[7] = (int)mc->envelope_len;
    formats[7] = 1;
    PGresult *r = PQexecParams(w->ctx.db,
                               "WITH j AS (INSERT INTO journal (command_id, type, entity_type, entity_id, issued_at,"
                               " actor_id, actor_role, envelope, status, code, created_ids)"
                               " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING seq)"
                               " SELECT seq FROM j",
                               11, NULL, jp, lengths, formats, 0);
    int ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    char seq[24] = "";
    if (ok)
        snprintf(seq, sizeof(seq), "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    if (ok) {
        const char *op[] = {mc->id, env->type, status, code, o->detail[0] ? o->detail : NULL, http, errors,
                            resource, etype, eid, created, seq};
        r = wk_exec(&w->ctx,
                    "INSERT INTO command_outcomes (command_id, type, status, code, detail, http_status, errors,"
                    " resource, entity_type, entity_id, created_ids, journal_seq)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                    12, op);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
    }
    free(created);
    free(errors);
    free(resource);
    return ok ? 0 : -1;
}

static wk_result apply_in_savepoint(wk_worker *w, message_ctx *mc, const wk_command *c, wk_outcome *o)
{
    if (!exec_ok(&w->ctx, "SAVEPOINT apply"))
        return WK_TRANSIENT;
    wk_result res = c ? c->apply(&w->ctx, mc->cmd, o) : WK_POISON;
    if (res == WK_DONE && o->applied)
        return WK_DONE;
    if (!exec_ok(&w->ctx, "ROLLBACK TO SAVEPOINT apply"))
        return WK_TRANSIENT;
    if (res == WK_POISON)
        wk_reject(o, c ? "invalid_command" : "unknown_command", NULL,
                  c ? "the command's payload is invalid" : "no worker knows this command type");
    return res;
}

static wk_result run_transaction(wk_worker *w, message_ctx *mc, const wk_command *c, wk_outcome *o, int *dead)
{
    int duplicate = 0;
    if (!exec_ok(&w->ctx, "BEGIN") || record_processed(w, mc, &duplicate) != 0)
        return WK_TRANSIENT;
    if (duplicate) {
        exec_ok(&w->ctx, "ROLLBACK");
        return republish_stored(w, mc);
    }
    wk_result res = apply_in_savepoint(w, mc, c, o);
    if (res == WK_TRANSIENT)
        return WK_TRANSIENT;
    *dead = res == WK_POISON;
    if (record_outcome(w, mc, o) != 0 || !exec_ok(&w->ctx, "COMMIT"))
        return WK_TRANSIENT;
    json_t *msg = outcome_message(mc->id, mc->cmd->env.type, o->applied ? "applied" : "rejected", o->http_status,
                                  o->applied ? NULL : o->code, o->detail[0] ? o->detail : NULL, o->errors,
                                  o->resource, o->entity_type[0] ? o->entity_type : NULL, o->entity_id);
    notify(w, mc->cmd->env.reply_to, msg);
    json_decref(msg);
    pk_info(mc->cmd->env.request_id, "%s %s %s%s%s", mc->cmd->env.type, mc->id, o->applied ? "applied" : "rejected",
            o->applied ? "" : ": ", o->applied ? "" : o->code);
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

wk_result wk_process(wk_worker *w, const rd_kafka_message_t *m)
{
    pk_envelope_decoded cmd;
    char err[128];
    if (pk_envelope_decode(m->payload, m->len, &cmd, err, sizeof(err)) != 0)
        return dead_letter(w, m, err);
    message_ctx mc = {.m = m, .cmd = &cmd, .envelope = m->payload, .envelope_len = m->len};
    pk_uuid_format(&cmd.env.id, mc.id);
    wk_timestamp(cmd.env.issued_at_us, mc.issued_at);
    const wk_command *c = wk_command_find(cmd.env.type);
    char topic[128];
    if (c && strcmp(rd_kafka_topic_name(m->rkt), pk_topic(w->ctx.cfg, c->topic, topic, sizeof(topic))) != 0)
        c = NULL;   /* on the wrong topic it would break per-key ordering: treat as unknown */
    wk_outcome o;
    wk_outcome_init(&o);
    int dead = 0;
    wk_result res = run_transaction(w, &mc, c, &o, &dead);
    if (res == WK_TRANSIENT)
        exec_ok(&w->ctx, "ROLLBACK");
    else if (dead)
        res = dead_letter(w, m, o.code);
    wk_outcome_free(&o);
    pk_envelope_decoded_free(&cmd);
    return res;
}
