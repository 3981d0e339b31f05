/* db.c — statements and the classification of their failures (db.h). */
#include "workers/db.h"

#include <stdio.h>
#include <string.h>
#include <sodium.h>
#include <unistd.h>
#include "common/log.h"
#include "common/pg_session.h"

/* ---- the classification ---- */

/* SQLSTATE classes (first two characters) and single states (all five)
 * whose failure says nothing about the command: retrying may succeed. */
static const char *const TRANSIENT_CLASSES[] = {"08", "40", "53", "58", "XX", NULL};
static const char *const TRANSIENT_STATES[] = {"25P03", "55P03", "57014", NULL};

static bool listed(const char *state, const char *const *list, size_t len)
{
    for (size_t i = 0; list[i]; i++)
        if (strncmp(state, list[i], len) == 0)
            return true;
    return false;
}

wk_result wk_db_error_class(const char *sqlstate, bool connection_ok)
{
    /* Without a connection or a SQLSTATE the server never judged the
     * statement: the command cannot be to blame. */
    if (!connection_ok || !sqlstate || strlen(sqlstate) != 5)
        return WK_TRANSIENT;
    if (listed(sqlstate, TRANSIENT_CLASSES, 2) || listed(sqlstate, TRANSIENT_STATES, 5) ||
        strncmp(sqlstate, "57P", 3) == 0)
        return WK_TRANSIENT;
    return WK_POISON;
}

/* Cuts s after its last complete UTF-8 character (snprintf may have cut
 * inside one), so the reason stays valid text for PostgreSQL and JSON. */
static void trim_partial_character(char *s)
{
    size_t n = strlen(s), lead = n;
    while (lead > 0 && ((unsigned char)s[lead - 1] & 0xC0) == 0x80)
        lead--;
    if (lead == 0)
        return;
    unsigned char c = (unsigned char)s[--lead];
    size_t want = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (n - lead < want)
        s[lead] = 0;
}

/* "db_error 22003: value \"…\" is out of range for type integer": the
 * primary message only, on one line. */
static void record_poison(wk_ctx *ctx, const char *state, const PGresult *res)
{
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    snprintf(ctx->db_error, sizeof(ctx->db_error), WK_DB_ERROR_PREFIX "%s: %s", state,
             primary ? primary : PQresultErrorMessage(res));
    ctx->db_error[strcspn(ctx->db_error, "\r\n")] = 0;
    trim_partial_character(ctx->db_error);
}

wk_result wk_db_failure(wk_ctx *ctx, PGresult *res, const char *what)
{
    const char *state = wk_sqlstate(res);
    const char *message = res ? PQresultErrorMessage(res) : PQerrorMessage(ctx->db);
    wk_result class = wk_db_error_class(state, PQstatus(ctx->db) == CONNECTION_OK);
    pk_log(class == WK_TRANSIENT ? PK_LOG_WARN : PK_LOG_ERROR, NULL, "%s failed (%s, %s): %s", what,
           *state ? state : "no sqlstate", class == WK_TRANSIENT ? "transient, retrying" : "poison", message);
    if (class == WK_POISON)
        record_poison(ctx, state, res);
    PQclear(res);
    return class;
}

PGresult *wk_query(wk_ctx *ctx, const char *what, const char *sql, int n, const char *const *params,
                   wk_result *fail)
{
    PGresult *r = wk_exec(ctx, sql, n, params);
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
        return r;
    *fail = wk_db_failure(ctx, r, what);
    return NULL;
}

wk_result wk_write(wk_ctx *ctx, const char *what, const char *sql, int n, const char *const *params)
{
    PGresult *r = wk_exec(ctx, sql, n, params);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        return wk_db_failure(ctx, r, what);
    PQclear(r);
    return WK_DONE;
}

wk_result wk_row_exists(wk_ctx *ctx, const char *what, const char *sql, const char *value, bool *exists)
{
    const char *params[] = {value};
    wk_result fail = WK_DONE;
    PGresult *r = wk_query(ctx, what, sql, 1, params, &fail);
    if (!r)
        return fail;
    *exists = PQntuples(r) > 0;
    PQclear(r);
    return WK_DONE;
}

const char *wk_sqlstate(const PGresult *res)
{
    const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return s ? s : "";
}

bool wk_sqlstate_is(const PGresult *res, const char *sqlstate)
{
    return strcmp(wk_sqlstate(res), sqlstate) == 0;
}

/* ---- statements ---- */

/* Each thread's connection prepares a statement text the first time it runs
 * it; PostgreSQL then skips parsing and, once it settles on a generic plan,
 * planning — most of a short statement's server time. A statement is known
 * by the BLAKE2b-128 of its text (texts built at run time have no stable
 * address, and nothing needs freeing at thread exit). A new backend —
 * another connection, or the same PGconn after PQreset — starts afresh.
 * Past WK_STMTS_MAX texts, statements run unprepared. */
#define WK_STMTS_MAX 512

typedef struct {
    const PGconn *db;
    int backend_pid;
    int n;
    unsigned char ids[WK_STMTS_MAX][16];
} stmt_cache;

static _Thread_local stmt_cache stmts;

static int stmt_slot(PGconn *db, const char *sql, unsigned char id[16])
{
    if (stmts.db != db || stmts.backend_pid != PQbackendPID(db)) {
        stmts.db = db;
        stmts.backend_pid = PQbackendPID(db);
        stmts.n = 0;
    }
    crypto_generichash(id, 16, (const unsigned char *)sql, strlen(sql), NULL, 0);
    for (int i = 0; i < stmts.n; i++)
        if (memcmp(stmts.ids[i], id, 16) == 0)
            return i;
    return -1;
}

/* sql's prepared-statement slot on db, preparing it the first time; -1 when
 * it runs unprepared (the cache is full). *failed: the PREPARE's error. */
static int prepared_slot(PGconn *db, const wk_stmt *s, PGresult **failed)
{
    unsigned char id[16];
    char name[16];
    int slot = stmt_slot(db, s->sql, id);
    *failed = NULL;
    if (slot < 0 && stmts.n < WK_STMTS_MAX) {
        snprintf(name, sizeof(name), "wk%d", stmts.n);
        PGresult *prepared = PQprepare(db, name, s->sql, s->n, NULL);
        if (PQresultStatus(prepared) != PGRES_COMMAND_OK) {
            *failed = prepared;   /* the error running it would have given */
            return -1;
        }
        PQclear(prepared);
        slot = stmts.n++;
        memcpy(stmts.ids[slot], id, 16);
    }
    return slot;
}

PGresult *wk_exec_db(PGconn *db, const char *sql, int n, const char *const *params, const int *lengths,
                     const int *formats)
{
    wk_stmt s = {sql, n, params, lengths, formats};
    PGresult *failed;
    int slot = prepared_slot(db, &s, &failed);
    if (failed)
        return failed;
    if (slot < 0)
        return PQexecParams(db, sql, n, NULL, params, lengths, formats, 0);
    char name[16];
    snprintf(name, sizeof(name), "wk%d", slot);
    return PQexecPrepared(db, name, n, params, lengths, formats, 0);
}

static int send_stmt(PGconn *db, const wk_stmt *s, int slot)
{
    if (slot < 0)
        return PQsendQueryParams(db, s->sql, s->n, NULL, s->params, s->lengths, s->formats, 0);
    char name[16];
    snprintf(name, sizeof(name), "wk%d", slot);
    return PQsendQueryPrepared(db, name, s->n, s->params, s->lengths, s->formats, 0);
}

/* One statement's result in a pipeline, and the NULL that ends it. */
static PGresult *pipeline_result(PGconn *db)
{
    PGresult *r = PQgetResult(db);
    if (r && PQresultStatus(r) != PGRES_PIPELINE_SYNC) {
        PGresult *end = PQgetResult(db);
        PQclear(end);
    }
    return r;
}

int wk_exec_pair(PGconn *db, const wk_stmt *a, const wk_stmt *b, PGresult **ra, PGresult **rb)
{
    PGresult *failed;
    int slot_a = prepared_slot(db, a, &failed), slot_b = -1;
    if (!failed)
        slot_b = prepared_slot(db, b, &failed);
    if (failed) {   /* a PREPARE failed: that is the first result, and b never ran */
        *ra = failed;
        *rb = NULL;
        return -1;
    }
    *ra = *rb = NULL;
    if (PQenterPipelineMode(db) != 1)
        return -1;
    if (send_stmt(db, a, slot_a) == 1 && send_stmt(db, b, slot_b) == 1 && PQpipelineSync(db) == 1) {
        *ra = pipeline_result(db);
        *rb = pipeline_result(db);
        PGresult *sync = PQgetResult(db);   /* PGRES_PIPELINE_SYNC; NULL when the connection broke */
        PQclear(sync);
    }
    /* Fails only while results are pending, i.e. the connection broke: the
     * caller's transient path resets it, which leaves pipeline mode too. */
    PQexitPipelineMode(db);
    int ok_a = PQresultStatus(*ra) == PGRES_COMMAND_OK || PQresultStatus(*ra) == PGRES_TUPLES_OK;
    int ok_b = PQresultStatus(*rb) == PGRES_COMMAND_OK || PQresultStatus(*rb) == PGRES_TUPLES_OK;
    return ok_a && ok_b ? 0 : -1;
}

PGresult *wk_exec(wk_ctx *ctx, const char *sql, int n, const char *const *params)
{
    return wk_exec_db(ctx->db, sql, n, params, NULL, NULL);
}

PGconn *wk_connect_db(const char *dsn, volatile sig_atomic_t *stopping)
{
    pk_pg_params params;
    pk_pg_params_init(&params, dsn, PK_PG_WORKER);
    for (int backoff = 100; !*stopping; backoff = backoff < 5000 ? backoff * 2 : 5000) {
        PGconn *db = PQconnectdbParams(params.keys, params.values, 1);
        if (PQstatus(db) == CONNECTION_OK)
            return db;
        pk_warn(NULL, "postgres: %s", PQerrorMessage(db));
        PQfinish(db);
        usleep((useconds_t)backoff * 1000);
    }
    return NULL;
}
