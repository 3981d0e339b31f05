/* outbox.c — claiming and recording notification_emails rows (mailer.h).
 * Every statement is parameterised and autocommitted: the claim's lease,
 * not an open transaction, keeps other mailers off a row while it is sent. */
#include "workers/mail/mailer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/log.h"

void ml_row_free(ml_row *r)
{
    free(r->to);
    free(r->first_name);
    free(r->kind);
    free(r->title);
    free(r->body);
    free(r->entity_type);
    memset(r, 0, sizeof(*r));
}

static int ok(PGresult *res, ExecStatusType want, const char *what)
{
    if (PQresultStatus(res) == want)
        return 1;
    pk_warn(NULL, "mailer: %s failed: %s", what, PQresultErrorMessage(res));
    return 0;
}

static char *dup_col(PGresult *res, int i, int col)
{
    return strdup(PQgetisnull(res, i, col) ? "" : PQgetvalue(res, i, col));
}

/* The lease is taken in the claim itself: the due rows are locked (skipping
 * rows another mailer is claiming this instant), moved lease_s ahead and
 * returned with the notification and the user's address and opt-out as
 * they are now. */
#define CLAIM_SQL                                                                                        \
    "WITH due AS (SELECT id FROM notification_emails"                                                    \
    "              WHERE status = 'pending' AND next_attempt_at <= now()"                                \
    "              ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED)"                        \
    " UPDATE notification_emails e SET next_attempt_at = now() + make_interval(secs => $2::int)"        \
    " FROM due, notifications n JOIN users u ON u.id = n.user_id"                                         \
    " WHERE e.id = due.id AND n.id = e.notification_id"                                                  \
    " RETURNING e.id, e.notification_id, e.attempts, u.email, (u.email_notifications AND u.is_active),"  \
    "  coalesce(nullif(u.first_name, ''), u.username), n.kind, n.title, n.body, n.entity_type,"          \
    "  coalesce(n.entity_id, 0)"

int ml_claim(PGconn *db, const ml_config *cfg, int lease_s, ml_row *rows)
{
    char limit[16], lease[16];
    snprintf(limit, sizeof(limit), "%d", cfg->batch);
    snprintf(lease, sizeof(lease), "%d", lease_s);
    const char *params[] = {limit, lease};
    PGresult *res = PQexecParams(db, CLAIM_SQL, 2, NULL, params, NULL, NULL, 0);
    if (!ok(res, PGRES_TUPLES_OK, "claim")) {
        PQclear(res);
        return -1;
    }
    int n = PQntuples(res);
    if (n > cfg->batch)
        n = cfg->batch;   /* cannot happen (LIMIT), but rows[] has batch slots */
    for (int i = 0; i < n; i++) {
        ml_row *r = &rows[i];
        r->id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        r->notification_id = strtoll(PQgetvalue(res, i, 1), NULL, 10);
        r->attempts = atoi(PQgetvalue(res, i, 2));
        r->to = dup_col(res, i, 3);
        r->opted_in = strcmp(PQgetvalue(res, i, 4), "t") == 0;
        r->first_name = dup_col(res, i, 5);
        r->kind = dup_col(res, i, 6);
        r->title = dup_col(res, i, 7);
        r->body = dup_col(res, i, 8);
        r->entity_type = dup_col(res, i, 9);
        r->entity_id = strtoll(PQgetvalue(res, i, 10), NULL, 10);
    }
    PQclear(res);
    return n;
}

double ml_next_due_s(PGconn *db, double none)
{
    PGresult *res = PQexec(db, "SELECT extract(epoch FROM min(next_attempt_at) - now()) FROM notification_emails"
                               " WHERE status = 'pending'");
    if (!ok(res, PGRES_TUPLES_OK, "next due")) {
        PQclear(res);
        return -1e9;
    }
    double s = PQgetisnull(res, 0, 0) ? none : strtod(PQgetvalue(res, 0, 0), NULL);
    PQclear(res);
    return s;
}

static int exec(PGconn *db, const char *what, const char *sql, int n, const char *const *params)
{
    PGresult *res = PQexecParams(db, sql, n, NULL, params, NULL, NULL, 0);
    int good = ok(res, PGRES_COMMAND_OK, what) || PQresultStatus(res) == PGRES_TUPLES_OK;
    PQclear(res);
    return good ? 0 : -1;
}

int ml_mark_sent(PGconn *db, const ml_row *r)
{
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)r->id);
    const char *params[] = {id, r->to};
    return exec(db, "mark sent",
                "UPDATE notification_emails SET status = 'sent', sent_at = now(), attempts = attempts + 1,"
                " to_address = $2, last_error = NULL WHERE id = $1 AND status = 'pending'",
                2, params);
}

int ml_mark_retry(PGconn *db, const ml_config *cfg, const ml_row *r, const char *error)
{
    char id[24], max[16], delay[24];
    snprintf(id, sizeof(id), "%lld", (long long)r->id);
    snprintf(max, sizeof(max), "%d", cfg->max_attempts);
    snprintf(delay, sizeof(delay), "%lld",
             (long long)pk_mail_backoff_s(r->attempts + 1, cfg->retry_base_s, cfg->retry_max_s));
    const char *params[] = {id, error, max, delay};
    return exec(db, "mark retry",
                "UPDATE notification_emails SET attempts = attempts + 1, last_error = left($2, 1000),"
                " status = CASE WHEN attempts + 1 >= $3::int THEN 'failed' ELSE 'pending' END,"
                " next_attempt_at = now() + make_interval(secs => $4::bigint)"
                " WHERE id = $1 AND status = 'pending'",
                4, params);
}

int ml_mark_final(PGconn *db, const ml_row *r, const char *status, const char *error)
{
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)r->id);
    const char *params[] = {id, status, error};
    return exec(db, "mark final",
                "UPDATE notification_emails SET status = $2, last_error = left($3, 1000)"
                " WHERE id = $1 AND status = 'pending'",
                3, params);
}

int ml_release(PGconn *db, const ml_row *rows, int n)
{
    if (n <= 0)
        return 0;
    char ids[64 * 24] = "{";
    size_t len = 1;
    for (int i = 0; i < n && len < sizeof(ids) - 24; i++)
        len += (size_t)snprintf(ids + len, sizeof(ids) - len, "%s%lld", i ? "," : "", (long long)rows[i].id);
    snprintf(ids + len, sizeof(ids) - len, "}");
    const char *params[] = {ids};
    return exec(db, "release",
                "WITH r AS (UPDATE notification_emails SET next_attempt_at = now()"
                "           WHERE id = ANY($1::bigint[]) AND status = 'pending' RETURNING 1)"
                " SELECT pg_notify('" ML_CHANNEL "', '') FROM (SELECT count(*) FROM r) x",
                1, params);
}
