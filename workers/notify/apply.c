/* apply.c — one event's notification transaction (notify.h). */
#include <stdlib.h>
#include <string.h>
#include "common/command_auth.h"
#include "common/envelope.h"
#include "common/log.h"
#include "workers/db.h"
#include "workers/fields.h"
#include "workers/notify/notify.h"

/* The journal row the event points at, as this database recorded it. */
typedef struct {
    char type[PK_TYPE_MAX];
    char status[16];
    int64_t entity_id;
    int64_t actor_id;
    int found;
} journal_row;

/* BEGIN / COMMIT: failing is the server's trouble, whatever the SQLSTATE. */
static wk_result command(wk_ctx *ctx, const char *sql)
{
    PGresult *r = PQexec(ctx->db, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        pk_warn(NULL, "notifier %s: %s", sql, PQerrorMessage(ctx->db));
    PQclear(r);
    return ok ? WK_DONE : WK_TRANSIENT;
}

static wk_result rollback(wk_ctx *ctx, wk_result r)
{
    PQclear(PQexec(ctx->db, "ROLLBACK"));
    return r;
}

/* 1 when the seq is new to notified_events (recorded now), 0 when seen. */
static wk_result claim_seq(wk_ctx *ctx, const char *seq, int *fresh)
{
    const char *params[] = {seq};
    wk_result fail = WK_DONE;
    PGresult *r = wk_query(ctx, "notified_events",
                           "INSERT INTO notified_events (seq) VALUES ($1) ON CONFLICT DO NOTHING RETURNING seq", 1,
                           params, &fail);
    if (!r)
        return fail;
    *fresh = PQntuples(r) == 1;
    PQclear(r);
    return WK_DONE;
}

static wk_result read_journal(wk_ctx *ctx, const wk_event *e, const char *seq, journal_row *j)
{
    char id[PK_UUID_STR_LEN + 1];
    pk_uuid_format(&e->id, id);
    const char *params[] = {seq, id, (const char *)e->envelope};
    const int lengths[] = {0, 0, (int)e->envelope_len}, formats[] = {0, 0, 1};
    PGresult *r = wk_exec_db(ctx->db,
                             "SELECT type, status, coalesce(entity_id, 0), actor_id FROM journal"
                             " WHERE seq = $1 AND command_id = $2::uuid AND envelope = $3::bytea",
                             3, params, lengths, formats);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return wk_db_failure(ctx, r, "journal row");
    j->found = PQntuples(r) == 1 && PQgetlength(r, 0, 0) < (int)sizeof(j->type) &&
               PQgetlength(r, 0, 1) < (int)sizeof(j->status);
    if (j->found) {
        strcpy(j->type, PQgetvalue(r, 0, 0));
        strcpy(j->status, PQgetvalue(r, 0, 1));
        j->entity_id = wf_col_i64(r, 0, 2);
        j->actor_id = wf_col_i64(r, 0, 3);
    }
    PQclear(r);
    return WK_DONE;
}

/* Payload fields of the (journal-proven) envelope. */
static void payload_facts(const wk_event *e, nr_facts *f, char *status, size_t cap)
{
    pk_envelope_decoded cmd;
    char err[64];
    size_t len = pk_command_envelope_len(e->envelope, e->envelope_len);   /* without the signature */
    if (pk_envelope_decode(e->envelope, len, &cmd, err, sizeof(err)) != 0) {
        pk_warn(NULL, "event seq %lld: envelope: %s", (long long)e->seq, err);
        return;
    }
    bool verified = false;
    if (wk_field_text(cmd.payload, "status", 1, status, cap) == WK_FIELD_SET)
        f->order_status = status;
    if (wk_field_bool(cmd.payload, "verified", &verified) == WK_FIELD_SET)
        f->verified = verified;
    pk_envelope_decoded_free(&cmd);
}

/* The entity row; the strings are copied into `keep` (freed by the caller). */
static wk_result read_entity(wk_ctx *ctx, nr_entity kind, nr_facts *f, PGresult **keep)
{
    static const char *const SQL[] = {
        [NR_ENTITY_BOOKING] = "SELECT b.customer_id, p.user_id, s.name, b.booking_date::text,"
                              " to_char(b.booking_time, 'HH24:MI'), b.payment_status, coalesce(b.rating, 0)"
                              " FROM bookings b JOIN priest_profiles p ON p.id = b.priest_id"
                              " JOIN services s ON s.id = b.service_id WHERE b.id = $1",
        [NR_ENTITY_ORDER] = "SELECT user_id, order_number FROM orders WHERE id = $1",
        [NR_ENTITY_PRIEST] = "SELECT user_id FROM priest_profiles WHERE id = $1",
    };
    char id[24];
    wf_itoa(f->entity_id, id);
    const char *params[] = {id};
    wk_result fail = WK_DONE;
    PGresult *r = wk_query(ctx, "notified entity", SQL[kind], 1, params, &fail);
    if (!r)
        return fail;
    *keep = r;
    if (PQntuples(r) != 1)
        return WK_DONE;   /* no row: every recipient stays 0, nobody is told */
    if (kind == NR_ENTITY_BOOKING) {
        f->customer_id = wf_col_i64(r, 0, 0);
        f->priest_user_id = wf_col_i64(r, 0, 1);
        f->service_name = PQgetvalue(r, 0, 2);
        f->booking_date = PQgetvalue(r, 0, 3);
        f->booking_time = PQgetvalue(r, 0, 4);
        f->payment_status = PQgetvalue(r, 0, 5);
        f->rating = (int)wf_col_i64(r, 0, 6);
    } else if (kind == NR_ENTITY_ORDER) {
        f->order_user_id = wf_col_i64(r, 0, 0);
        f->order_number = PQgetvalue(r, 0, 1);
    } else {
        f->priest_user_id = wf_col_i64(r, 0, 0);
    }
    return WK_DONE;
}

/* One notification, and its e-mail when the recipient wants mail; *added
 * is 1 when the row is new. created_at is the journal's issued_at. */
static wk_result insert_note(wk_ctx *ctx, const nr_note *n, const char *seq, int *added)
{
    char user[24], entity[24];
    wf_itoa(n->user_id, user);
    wf_itoa(n->entity_id, entity);
    char *data = json_dumps(n->data, JSON_COMPACT);
    const char *params[] = {user, n->kind, n->entity_type, entity, n->title, n->body, data ? data : "{}", seq};
    wk_result fail = WK_DONE;
    PGresult *r = wk_query(
        ctx, "notification",
        "WITH n AS (INSERT INTO notifications (user_id, kind, entity_type, entity_id, title, body, data, event_seq,"
        "   created_at)"
        "  SELECT $1, $2, $3, $4, $5, $6, $7::jsonb, $8, j.issued_at FROM journal j WHERE j.seq = $8"
        "  ON CONFLICT (event_seq, user_id, kind) DO NOTHING RETURNING id, user_id),"
        " e AS (INSERT INTO notification_emails (notification_id, to_address)"
        "  SELECT n.id, u.email FROM n JOIN users u ON u.id = n.user_id WHERE u.email_notifications)"
        " SELECT count(*) FROM n",
        8, params, &fail);
    free(data);
    if (!r)
        return fail;
    *added = wf_col_i64(r, 0, 0) > 0;
    PQclear(r);
    return WK_DONE;
}

/* Everything between the claim and COMMIT. */
static wk_result derive_and_insert(wk_ctx *ctx, const wk_event *e, const journal_row *j, const char *seq,
                                   nf_outcome *out)
{
    nr_entity kind = nr_entity_for(j->type, j->status);
    if (kind == NR_ENTITY_NONE)
        return WK_DONE;
    char status[32] = "";
    nr_facts f = {.type = j->type, .actor_id = j->actor_id, .entity_id = j->entity_id};
    payload_facts(e, &f, status, sizeof(status));
    PGresult *keep = NULL;
    wk_result r = read_entity(ctx, kind, &f, &keep);
    nr_note notes[NR_MAX_NOTES];
    int n = r == WK_DONE ? nr_derive(&f, notes) : 0;
    for (int i = 0; i < n && r == WK_DONE; i++) {
        int added = 0;
        r = insert_note(ctx, &notes[i], seq, &added);
        if (r == WK_DONE && added)
            out->users[out->nusers++] = notes[i].user_id;
    }
    nr_notes_free(notes, n);
    PQclear(keep);
    return r;
}

wk_result nf_notify_event(wk_ctx *ctx, const wk_event *e, nf_outcome *out)
{
    memset(out, 0, sizeof(*out));
    char seq[24];
    wf_itoa(e->seq, seq);
    wk_result r = command(ctx, "BEGIN");
    if (r != WK_DONE)
        return rollback(ctx, r);
    int fresh = 0;
    journal_row j = {0};
    if ((r = claim_seq(ctx, seq, &fresh)) != WK_DONE)
        return rollback(ctx, r);
    if (!fresh) {
        out->duplicate = 1;
        return rollback(ctx, WK_DONE);
    }
    if ((r = read_journal(ctx, e, seq, &j)) != WK_DONE)
        return rollback(ctx, r);
    if (!j.found) {
        out->foreign = 1;
        return rollback(ctx, WK_DONE);
    }
    if ((r = derive_and_insert(ctx, e, &j, seq, out)) != WK_DONE) {
        out->nusers = 0;
        return rollback(ctx, r);
    }
    if (command(ctx, "COMMIT") != WK_DONE) {
        out->nusers = 0;   /* unknown whether it committed: the retry finds the seq, or does it again */
        return rollback(ctx, WK_TRANSIENT);
    }
    return WK_DONE;
}
