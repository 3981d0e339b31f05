/* txn.c — the command transaction (txn.h). */
#include "workers/txn.h"

#include <stdbool.h>
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

static const wk_stmt SAVEPOINT = {"SAVEPOINT apply", 0, NULL, NULL, NULL};
static const wk_stmt RELEASE = {"RELEASE SAVEPOINT apply", 0, NULL, NULL, NULL};

/* The processed_commands row, and the savepoint the apply runs in, in one
 * round trip. A duplicate (the row was there) gets its savepoint released
 * at once: it writes nothing. */
static int record_processed(wk_ctx *ctx, const txn_ctx *t, int *duplicate)
{
    char partition[16], offset[24];
    snprintf(partition, sizeof(partition), "%d", t->in->src.partition);
    snprintf(offset, sizeof(offset), "%lld", (long long)t->in->src.offset);
    const char *params[] = {t->id, t->in->cmd->env.type, t->in->src.topic, partition, offset, t->issued_at};
    const wk_stmt insert = {"INSERT INTO processed_commands (command_id, type, topic, kafka_partition, kafka_offset,"
                            " issued_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (command_id) DO NOTHING",
                            6, params, NULL, NULL};
    PGresult *r, *sp;
    int ok = wk_exec_pair(ctx->db, &insert, &SAVEPOINT, &r, &sp) == 0;
    if (!ok && PQstatus(ctx->db) == CONNECTION_OK) {
        const PGresult *bad = PQresultStatus(r) == PGRES_COMMAND_OK ? sp : r;
        pk_warn(NULL, "processed_commands/savepoint of %s failed (%s): %s", t->id, wk_sqlstate(bad),
                bad ? PQresultErrorMessage(bad) : "no result");
    }
    *duplicate = ok && strcmp(PQcmdTuples(r), "0") == 0;
    PQclear(r);
    PQclear(sp);
    if (ok && *duplicate)
        ok = exec_ok(ctx, "RELEASE SAVEPOINT apply");
    return ok ? 0 : -1;
}

static char *json_text_or_null(json_t *j)
{
    return j ? json_dumps(j, JSON_COMPACT) : NULL;
}

/* The journal row and the outcome in one statement (one round trip): the
 * journal row is still the command's last write after every row lock the
 * apply took, so seq order is the order conflicting commands serialized in.
 * It takes no lock of the relay's: the relay waits on holes in seq order by
 * itself (relay_order.h). A replay writes the recorded seq again. */
#define JOURNAL_AND_OUTCOME_SQL                                                                                  \
    "WITH j AS (INSERT INTO journal (seq, command_id, type, entity_type, entity_id, issued_at, actor_id,"      \
    " actor_role, envelope, status, code, created_ids)"                                                         \
    " VALUES (coalesce($12::bigint, nextval(pg_get_serial_sequence('journal', 'seq'))),"                       \
    " $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING seq)"                                             \
    " INSERT INTO command_outcomes (command_id, type, status, code, detail, http_status, errors, resource,"      \
    " entity_type, entity_id, created_ids, journal_seq)"                                                        \
    " SELECT $1::uuid, $2::text, $9::text, $10::text, $13::text, $14::int, $15::jsonb, $16::jsonb, $3::text,"     \
    " $4::bigint, $11::jsonb, j.seq FROM j RETURNING journal_seq"

/* `release`: the apply's savepoint is still open (an applied command) and
 * is released in the same round trip, just before the journal row. */
static int record_outcome(wk_ctx *ctx, const txn_ctx *t, const wk_outcome *o, bool release, int64_t *seq_out)
{
    const pk_envelope *env = &t->in->cmd->env;
    char actor[24], entity_id[24], replay_seq[24], http[8];
    snprintf(actor, sizeof(actor), "%lld", (long long)env->actor_id);
    snprintf(entity_id, sizeof(entity_id), "%lld", (long long)o->entity_id);
    snprintf(replay_seq, sizeof(replay_seq), "%lld", (long long)ctx->replay_seq);
    snprintf(http, sizeof(http), "%d", o->http_status);
    char *created = json_dumps(o->created_ids, JSON_COMPACT);
    char *errors = json_text_or_null(o->errors), *resource = json_text_or_null(o->resource);
    const char *p[] = {t->id, env->type, o->entity_type[0] ? o->entity_type : NULL, o->entity_id ? entity_id : NULL,
                       t->issued_at, actor, env->actor_role, t->in->raw, o->applied ? "applied" : "rejected",
                       o->applied ? NULL : o->code, created, ctx->replay_seq > 0 ? replay_seq : NULL,
                       o->detail[0] ? o->detail : NULL, http, errors, resource};
    int lengths[16] = {0}, formats[16] = {0};
    lengths[7] = (int)t->in->raw_len;   /* the envelope's bytes, as received */
    formats[7] = 1;
    const wk_stmt journal = {JOURNAL_AND_OUTCOME_SQL, 16, p, lengths, formats};
    PGresult *rel = NULL, *r;
    if (release)
        wk_exec_pair(ctx->db, &RELEASE, &journal, &rel, &r);
    else
        r = wk_exec_db(ctx->db, JOURNAL_AND_OUTCOME_SQL, 16, p, lengths, formats);
    if (rel && PQresultStatus(rel) != PGRES_COMMAND_OK) {   /* r is PGRES_PIPELINE_ABORTED then */
        PQclear(r);
        r = rel;
        rel = NULL;
    }
    PQclear(rel);
    int ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    if (ok)
        *seq_out = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    else if (PQstatus(ctx->db) == CONNECTION_OK)
        pk_warn(NULL, "journal/outcome of %s failed (%s): %s", t->id, wk_sqlstate(r),
                r ? PQresultErrorMessage(r) : "no result");
    PQclear(r);
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

/* The savepoint (opened by record_processed) is released once the apply is
 * settled, so the rows after it (dead letter, journal, outcome) belong to
 * the transaction itself: a batch of N commands then holds at most N
 * subtransactions at a time, not 2N nested ones (PostgreSQL caches only 64
 * per backend; past that every snapshot taken elsewhere gets slower). An
 * applied command's release goes with its journal row (record_outcome);
 * anything else is rolled back to the savepoint here. */
static wk_result apply_in_savepoint(wk_ctx *ctx, const txn_ctx *t, wk_outcome *o, wk_txn_info *info)
{
    const wk_command *c = t->in->command;
    wk_result res = c ? c->apply(ctx, t->in->cmd, o) : WK_POISON;
    if (res == WK_DONE && o->applied)
        return WK_DONE;
    if (!exec_ok(ctx, "ROLLBACK TO SAVEPOINT apply; RELEASE SAVEPOINT apply"))
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

/* One command's rows inside the open transaction. A duplicate writes
 * nothing (its processed_commands insert did nothing). */
static wk_result command_rows(wk_ctx *ctx, const txn_ctx *t, wk_outcome *o, wk_txn_info *info)
{
    if (record_processed(ctx, t, &info->duplicate) != 0)
        return WK_TRANSIENT;
    if (info->duplicate)
        return WK_DONE;
    wk_result res = apply_in_savepoint(ctx, t, o, info);
    if (res == WK_TRANSIENT)
        return WK_TRANSIENT;
    info->poison = res == WK_POISON;
    bool released = !(res == WK_DONE && o->applied);
    if (record_dead_letter(ctx, t, info) != WK_DONE || record_outcome(ctx, t, o, !released, &info->seq) != 0)
        return WK_TRANSIENT;
    return WK_DONE;
}

wk_result wk_txn_begin(wk_ctx *ctx)
{
    return exec_ok(ctx, "BEGIN") ? WK_DONE : WK_TRANSIENT;
}

wk_result wk_txn_command(wk_ctx *ctx, const wk_txn_input *in, wk_outcome *out, wk_txn_info *info)
{
    txn_ctx t = {.in = in};
    memset(info, 0, sizeof(*info));
    ctx->db_error[0] = 0;   /* a failure of an earlier command or attempt says nothing about this one */
    pk_uuid_format(&in->cmd->env.id, t.id);
    wk_timestamp(in->cmd->env.issued_at_us, t.issued_at);
    return command_rows(ctx, &t, out, info);
}

wk_result wk_txn_commit(wk_ctx *ctx)
{
    return exec_ok(ctx, "COMMIT") ? WK_DONE : WK_TRANSIENT;
}

void wk_txn_rollback(wk_ctx *ctx)
{
    exec_ok(ctx, "ROLLBACK");   /* whatever state the session is in; a no-op outside a transaction */
}

wk_result wk_txn_run(wk_ctx *ctx, const wk_txn_input *in, wk_outcome *out, wk_txn_info *info)
{
    memset(info, 0, sizeof(*info));
    wk_result res = wk_txn_begin(ctx);
    if (res == WK_DONE)
        res = wk_txn_command(ctx, in, out, info);
    if (res == WK_DONE && !info->duplicate)
        res = wk_txn_commit(ctx);
    if (res == WK_TRANSIENT || info->duplicate)
        wk_txn_rollback(ctx);   /* a duplicate wrote nothing: ending it is all that is left */
    return res;
}
