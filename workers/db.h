/* db.h — how the workers talk to PostgreSQL: statements prepared once per
 * connection, and the ONE classification of a failed statement that every
 * command family (accounts*.c, bookings.c, catalog.c, orders.c, priests.c,
 * services.c, kyc_audit.c, payments.c, shop.c) uses.
 *
 * A statement that fails is one of two things (DESIGN §3 rule 2):
 *
 *   WK_TRANSIENT  the trouble is in the server or the way to it, not in the
 *                 command. The command transaction rolls back, the worker
 *                 backs off and applies the same message again. Never a
 *                 rejection: a rejected command's id is recorded, so not
 *                 even a redrive could bring it back.
 *   WK_POISON     the command itself makes the statement fail, and would on
 *                 every retry. Rejected `invalid_command` and dead-lettered
 *                 with reason "db_error <SQLSTATE>: <message>", so the
 *                 partition moves on and an operator sees why.
 *
 * Transient — everything else is poison:
 *   no result, connection not OK,   the connection was lost (or libpq failed
 *   or no SQLSTATE                  before the server answered)
 *   08xxx  connection_exception
 *   25P03  idle_in_transaction_session_timeout
 *   40xxx  transaction_rollback: 40001 serialization_failure,
 *          40P01 deadlock_detected
 *   53xxx  insufficient_resources: disk full, out of memory, too many
 *          connections
 *   55P03  lock_not_available (lock_timeout)
 *   57014  query_canceled (statement_timeout, pg_cancel_backend)
 *   57Pxx  operator_intervention: admin/crash shutdown, cannot_connect_now
 *   58xxx  system_error (I/O)
 *   XXxxx  internal_error, data_corrupted, index_corrupted
 *
 * Handled states: a family first offers 23505 unique_violation, 23P01
 * exclusion_violation and 23514 check_violation to its own rules, which map
 * the ones they expect to business reasons (slug_taken, username_taken,
 * slot_taken, out_of_stock, insufficient_stock); only then does it call
 * wk_db_failure(), and an unexpected class-23 state is poison like any
 * other. Poison includes states that are the deployment's fault rather
 * than the message's (42xxx: a worker newer than the schema): run the
 * migrations before starting new workers. */
#ifndef PUNYAKA_WORKER_DB_H
#define PUNYAKA_WORKER_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <libpq-fe.h>
#include "workers/worker.h"

/* The classification itself, pure: WK_TRANSIENT or WK_POISON for a failed
 * statement's SQLSTATE (NULL or "" when it has none) on a connection that
 * is (connection_ok) or is not still usable. */
wk_result wk_db_error_class(const char *sqlstate, bool connection_ok);

/* A statement failed: classifies it (wk_db_error_class), logs it with its
 * SQLSTATE and `what`, and clears res. When poison, ctx->db_error records
 * "db_error <SQLSTATE>: <message>" for the rejection and its dead letter. */
#define WK_DB_ERROR_PREFIX "db_error "
wk_result wk_db_failure(wk_ctx *ctx, PGresult *res, const char *what);

/* Runs a statement expected to return rows: the result, or NULL with *fail
 * set by wk_db_failure (res already cleared). */
PGresult *wk_query(wk_ctx *ctx, const char *what, const char *sql, int n, const char *const *params,
                   wk_result *fail);
/* Runs a statement without rows (INSERT/UPDATE/DELETE without RETURNING):
 * WK_DONE or wk_db_failure's answer. */
wk_result wk_write(wk_ctx *ctx, const char *what, const char *sql, int n, const char *const *params);
/* Whether `sql` ($1 = value) returns a row: WK_DONE with *exists set, or
 * wk_db_failure's answer. */
wk_result wk_row_exists(wk_ctx *ctx, const char *what, const char *sql, const char *value, bool *exists);

/* One statement: its text, its parameters as PQexecParams takes them
 * (params may be NULL when n is 0; lengths/formats NULL: all text). */
typedef struct {
    const char *sql;
    int n;
    const char *const *params;
    const int *lengths;
    const int *formats;
} wk_stmt;

/* a then b in one round trip (libpq's pipeline mode), both prepared like
 * wk_exec's. PostgreSQL skips b when a fails (its result is then
 * PGRES_PIPELINE_ABORTED). *ra and *rb are theirs (either may be NULL when
 * the connection broke: PQresultStatus(NULL) is PGRES_FATAL_ERROR); the
 * caller PQclears both. 0 when both succeeded. For the statements every
 * command runs back to back (workers/txn.c): a savepoint with the
 * processed_commands insert, its release with the journal row. */
int wk_exec_pair(PGconn *db, const wk_stmt *a, const wk_stmt *b, PGresult **ra, PGresult **rb);

/* Statements with text parameters (NULL = SQL NULL), prepared on the
 * connection the first time their text is seen. */
PGresult *wk_exec(wk_ctx *ctx, const char *sql, int n, const char *const *params);
/* The same on any connection, with PQexecParams's lengths/formats (NULL:
 * all text) — for binary parameters and the relay's own connection. */
PGresult *wk_exec_db(PGconn *db, const char *sql, int n, const char *const *params, const int *lengths,
                     const int *formats);
/* SQLSTATE of a failed result ("" when none). */
const char *wk_sqlstate(const PGresult *res);
/* 1 when res failed with exactly this SQLSTATE (a handled state). */
bool wk_sqlstate_is(const PGresult *res, const char *sqlstate);

/* A session as a worker opens one (common/pg_session.h, PK_PG_WORKER),
 * retried with backoff from 100 ms doubling to 5 s while *stopping is 0
 * (a process's SIGTERM flag). NULL once stopping. punyaka-worker and
 * punyaka-notifier start with it. */
#include <signal.h>
PGconn *wk_connect_db(const char *dsn, volatile sig_atomic_t *stopping);

#endif
