/* txn.c — the command transaction (txn.h). */
#include "workers/txn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/log.h"
#include "common/uuid.h"
#include "workers/db.h"
#include "workers/dead_letters.h"

typedef struct {
    const wk_txn_input *in;
    char id[PK_UUID_STR_LEN + 1];
    char issued_at[40];
} txn_ctx;

static int exec_ok(wk_ctx *ctx, const char *sql)
{
    PGresult *r = PQexec(ctx->db, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok && PQstatus(ctx->db) == CONNECTION_OK)
        pk_warn(NULL, "%s failed (%s): %s", sql, wk_sqlstate(r), r ? PQresultErrorMessage(r) : "no result");
    PQclear(r);
    return ok;
}

static int record_processed(wk_ctx *ctx, const txn_ctx *t, int *duplicate)
{
    char partition[16], offset[24];
    snprintf(partition, sizeof(partition), "%d", t->in->src.partition);
    snprintf(offset, sizeof(offset), "%lld", (long long)t->in->src.offset);
    const char *params[] = {t->id, t->in->cmd->env.type, t->in->src.topic, partition, offset, t->issued_at};
    PGresult *r = wk_exec(ctx,
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

/* The journal row, written last: its seq is drawn after every row lock the
 * apply took, so seq order is the order conflicting commands serialized in.
 * It takes no lock of the relay's: the relay waits on holes in seq order by
 * itself (relay_order.h). A replay writes the recorded seq again. */
static int insert_journal(wk_ctx *ctx, const txn_ctx *t, const wk_outcome *o, const char *created, char seq[24])
{
    const pk_envelope *env = &t->in->cmd->env;
    char actor[24], entity_id[24], replay_seq[24];
    snprintf(actor, sizeof(actor), "%lld", (long long)env->actor_id);
    snprintf(entity_id, sizeof(entity_id), "%lld", (long long)o->entity_id);
    snprintf(replay_seq, sizeof(replay_seq), "%lld", (long long)ctx->replay_seq);
    const char *jp[] = {t->id, env->type, o->entity_type[0] ? o->entity_type : NULL, o->entity_id ? entity_id : NULL,
                        t->issued_at, actor, env->actor_role, NULL, o->applied ? "applied" : "rejected",
                        o->applied ? NULL : o->code, created, ctx->replay_seq > 0 ? replay_seq : NULL};
    int lengths[12] = {0}, formats[12] = {0};
    jp[7] = t->in->raw;
    lengths[7] = (int)t->in->raw_len;
    formats[7] = 1;
    PGresult *r = wk_exec_db(ctx->db,
                             "INSERT INTO journal (seq, command_id, type, entity_type, entity_id, issued_at,"
                             " actor_id, actor_role, envelope, status, code, created_ids)"
                             " VALUES (coalesce($12::bigint, nextval(pg_get_serial_sequence('journal', 'seq'))),"
                             " $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING seq",
                             12, jp, lengths, formats);
    int ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    if (ok)
        snprintf(seq, 24, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return ok ? 0 : -1;
}

static int record_outcome(wk_ctx *ctx, const txn_ctx *t, const wk_outcome *o, int64_t *seq_out)
{
    char http[8], entity_id[24], seq[24];
    snprintf(http, sizeof(http), "%d", o->http_status);
    snprintf(entity_id, sizeof(entity_id), "%lld", (long long)o->entity_id);
    char *created = json_dumps(o->created_ids, JSON_COMPACT);
    char *errors = json_text_or_null(o->errors), *resource = json_text_or_null(o->resource);
    int ok = insert_journal(ctx, t, o, created, seq) == 0;
    if (ok) {
        const char *op[] = {t->id, t->in->cmd->env.type, o->applied ? "applied" : "rejected",
                            o->applied ? NULL : o->code, o->detail[0] ? o->detail : NULL, http, errors, resource,
                            o->entity_type[0] ? o->entity_type : NULL, o->entity_id ? entity_id : NULL, created, seq};
        PGresult *r = wk_exec(ctx,
                              "INSERT INTO command_outcomes (command_id, type, status, code, detail, http_status,"
                              " errors, resource, entity_type, entity_id, created_ids, journal_seq)"
                              " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                              12, op);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        *seq_out = strtoll(seq, NULL, 10);
    }
    free(created);
    free(errors);
    free(resource);
    return ok ? 0 : -1;
}

/* The rejection of a poison command, and its dead letter's reason: what
 * the database refused (ctx->db_error, db.h), else the reason code. The
 * client is told the SQLSTATE only; the server's message (which may quote
 * data) goes to the dead letter and the log. */
static void reject_poison(wk_ctx *ctx, const wk_command *c, wk_outcome *o, wk_txn_info *info)
{
    char detail[96] = "the command's payload is invalid";
    if (ctx->db_error[0])
        snprintf(detail, sizeof(detail), "the database refused the command (SQLSTATE %.5s)",
                 ctx->db_error + strlen(WK_DB_ERROR_PREFIX));
    if (c)
        wk_reject(o, "invalid_command", NULL, detail);
    else
        wk_reject(o, "unknown_command", NULL, "no worker takes this command type on this topic");
    snprintf(info->reason, sizeof(info->reason), "%s", ctx->db_error[0] ? ctx->db_error : o->code);
}

static wk_result apply_in_savepoint(wk_ctx *ctx, const txn_ctx *t, wk_outcome *o, wk_txn_info *info)
{
    const wk_command *c = t->in->command;
    if (!exec_ok(ctx, "SAVEPOINT apply"))
        return WK_TRANSIENT;
    wk_result res = c ? c->apply(ctx, t->in->cmd, o) : WK_POISON;
    if (res == WK_DONE && o->applied)
        return WK_DONE;
    if (!exec_ok(ctx, "ROLLBACK TO SAVEPOINT apply"))
        return WK_TRANSIENT;
    if (res == WK_POISON)
        reject_poison(ctx, c, o, info);
    return res;
}

/* Live, a poison command's dead letter is written with its rejection. */
static wk_result record_dead_letter(wk_ctx *ctx, const txn_ctx *t, const wk_txn_info *info)
{
    if (!info->poison || !t->in->dead_letters)
        return WK_DONE;
    wk_dead_letter d = {t->in->src, t->in->raw, t->in->raw_len, info->reason};
    return wk_dead_letter_record(ctx, &d);
}

static wk_result run(wk_ctx *ctx, const txn_ctx *t, wk_outcome *o, wk_txn_info *info)
{
    if (!exec_ok(ctx, "BEGIN") || record_processed(ctx, t, &info->duplicate) != 0)
        return WK_TRANSIENT;
    if (info->duplicate) {
        exec_ok(ctx, "ROLLBACK");
        return WK_DONE;
    }
    wk_result res = apply_in_savepoint(ctx, t, o, info);
    if (res == WK_TRANSIENT)
        return WK_TRANSIENT;
    info->poison = res == WK_POISON;
    if (record_dead_letter(ctx, t, info) != WK_DONE || record_outcome(ctx, t, o, &info->seq) != 0 ||
        !exec_ok(ctx, "COMMIT"))
        return WK_TRANSIENT;
    return WK_DONE;
}

wk_result wk_txn_run(wk_ctx *ctx, const wk_txn_input *in, wk_outcome *out, wk_txn_info *info)
{
    txn_ctx t = {.in = in};
    memset(info, 0, sizeof(*info));
    ctx->db_error[0] = 0;   /* a failure of an earlier attempt says nothing about this one */
    pk_uuid_format(&in->cmd->env.id, t.id);
    wk_timestamp(in->cmd->env.issued_at_us, t.issued_at);
    wk_result res = run(ctx, &t, out, info);
    if (res == WK_TRANSIENT)
        exec_ok(ctx, "ROLLBACK");   /* whatever state the session is in; a no-op outside a transaction */
    return res;
}
