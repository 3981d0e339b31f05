/* commands.c — GET /api/commands/{id}: accepted | unknown | applied | rejected.
 * The outcome row (written by the worker in the command's transaction) is
 * the truth; before it exists, the marker the API set in Redis says
 * "accepted" (Kafka acknowledged the command) or "unknown" (it was sent but
 * Kafka did not confirm it in time: it may still be applied).
 *
 * Private (issue 13): a status shows the command's resource (a
 * registration's contact details, a checkout's address), so it answers the
 * command's actor and admins only. The actor is the journal row's actor_id
 * once the command is decided (same transaction as the outcome row), the
 * marker's before. An anonymous command (registration, actor 0) belongs to
 * the client whose owner cookie, a signed list of its command ids
 * (api/command.h, common/owner_list.h), names it: no Redis needed. An older
 * release's random-token cookie reads its command while the marker naming
 * its hash lasts. Anyone else signed in, or holding a valid owner cookie
 * that does not list the id, gets the 404 of an unknown id, so existence
 * is not revealed; a caller with neither a session nor a valid owner cookie
 * gets 401.
 *
 * Never Redis alone (issue 11): a signed-in actor's command id carries an
 * owner tag (api/command.h), an anonymous one is in its owner's signed
 * cookie, so when there is no outcome row and the marker
 * is gone (Redis restarted without its AOF, an eviction) or its read fails
 * (the session was read moments before), the owner still reads {status: "unknown"} — the same answer
 * whether or not the command exists, so it reveals nothing — and anyone
 * else the 404. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "api/command.h"
#include "api/http.h"
#include "api/pg.h"
#include "api/redis.h"
#include "api/routes.h"
#include "api/session.h"
#include "common/entity.h"
#include "common/envelope.h"
#include "common/uuid.h"

typedef struct {
    api_async async;
    char id[PK_UUID_STR_LEN + 1];
    int64_t caller;                /* the signed-in user, 0: none */
    bool admin;
    char owner[API_HASH_HEX];      /* hash of the caller's old-shape owner token, "": none */
    api_owner_proof proof;         /* what the caller's signed owner cookie says of this id */
    json_t *decided;               /* an anonymous actor's outcome, shown once the marker names its owner */
} lookup;

static void finish(lookup *l)
{
    json_decref(l->decided);
    api_async_free(&l->async);
}

/* Not the caller's (or no such command): one answer for both. */
static void deny(lookup *l)
{
    if (l->caller || l->proof != API_OWNER_NONE)   /* someone known: as for an unknown id */
        api_reply_problem(l->async.req, 404, "not_found", "Not found", "no such command", NULL);
    else
        api_reply_problem(l->async.req, 401, "not_authenticated", "Authentication required", "log in first", NULL);
}

static bool may_read(const lookup *l, int64_t actor, const char *owner_hash)
{
    if (l->admin || (l->caller > 0 && actor == l->caller))
        return true;
    if (actor == 0 && l->proof == API_OWNER_LISTED)
        return true;
    return actor == 0 && l->owner[0] && owner_hash && strlen(owner_hash) == API_HASH_HEX - 1 &&
           sodium_memcmp(owner_hash, l->owner, API_HASH_HEX - 1) == 0;
}

/* The marker "<type> <actor> <owner hash | -> <accepted | unknown>" (api/command.h);
 * one of another shape (an older release's) names no actor: admins only. */
typedef struct {
    char type[PK_TYPE_MAX];
    long long actor;
    char owner[API_HASH_HEX + 8];
    char state[16];
} marker;

static bool parse_marker(const char *s, marker *m)
{
    return sscanf(s, "%47s %lld %71s %15s", m->type, &m->actor, m->owner, m->state) == 4 &&
           (strcmp(m->state, "accepted") == 0 || strcmp(m->state, "unknown") == 0);
}

static void reply_marker(h2o_req_t *req, const char *id, const marker *m)
{
    int unknown = strcmp(m->state, "unknown") == 0;
    json_t *doc = api_command_status_doc(id, m->type, unknown ? "unknown" : "accepted", NULL, NULL, NULL);
    if (unknown)
        json_object_set_new(doc, "detail", json_string(API_UNKNOWN_DETAIL));
    api_reply_json(req, 200, doc);
}

/* No outcome, no marker, but the id is the caller's own (its owner tag, or
 * its signed owner cookie lists it). */
static void reply_unrecorded(h2o_req_t *req, const char *id)
{
    json_t *doc = api_command_status_doc(id, NULL, "unknown", NULL, NULL, NULL);
    json_object_set_new(doc, "detail", json_string(API_UNRECORDED_DETAIL));
    api_reply_json(req, 200, doc);
}

static void on_marker(redisAsyncContext *ac, void *reply, void *privdata)
{
    lookup *l = privdata;
    redisReply *r = reply;
    (void)ac;
    if (l->async.req) {
        marker m;
        bool found = r && r->type == REDIS_REPLY_STRING && parse_marker(r->str, &m);
        bool mine = found && may_read(l, m.actor, m.owner);
        bool tagged = !l->decided && (api_command_id_issued_to(l->id, l->caller) || l->proof == API_OWNER_LISTED);
        if (!found && tagged)
            reply_unrecorded(l->async.req, l->id);
        else if (!r)
            api_reply_problem(l->async.req, 503, "redis_unavailable", "Service unavailable", NULL, NULL);
        else if (mine && l->decided)
            api_reply_json(l->async.req, 200, json_incref(l->decided));
        else if (mine)
            reply_marker(l->async.req, l->id, &m);
        else
            deny(l);
    }
    finish(l);
}

static void read_marker(lookup *l)
{
    char key[64];
    snprintf(key, sizeof(key), "punyaka:cmd:%s", l->id);
    const char *argv[] = {"GET", key};
    if (api_redis_argv(api_thread_of(l->async.req)->redis, on_marker, l, 2, argv, NULL) != 0)
        on_marker(NULL, NULL, l);   /* Redis unreachable: as a failed reply */
}

static json_t *outcome_doc(const lookup *l, const PGresult *res)
{
    json_error_t jerr;
    json_t *resource = PQgetisnull(res, 0, 3) ? NULL : json_loads(PQgetvalue(res, 0, 3), 0, &jerr);
    char where[96];
    const char *location = PQgetisnull(res, 0, 5) ? NULL
        : pk_entity_location(PQgetvalue(res, 0, 4), strtoll(PQgetvalue(res, 0, 5), NULL, 10), where, sizeof(where));
    json_t *doc = api_command_status_doc(l->id, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
                                         PQgetisnull(res, 0, 2) ? NULL : PQgetvalue(res, 0, 2), resource, location);
    /* A rejection polled after a 202 explains itself like the waiting answer would. */
    json_t *errors = PQgetisnull(res, 0, 7) ? NULL : json_loads(PQgetvalue(res, 0, 7), 0, &jerr);
    json_object_set_new(doc, "detail", PQgetisnull(res, 0, 6) ? json_null() : json_string(PQgetvalue(res, 0, 6)));
    json_object_set_new(doc, "errors", errors ? errors : json_null());
    return doc;
}

static void on_outcome_row(void *ctx, const PGresult *res, const char *err)
{
    lookup *l = ctx;
    h2o_req_t *req = l->async.req;
    if (!req) {
        finish(l);
        return;
    }
    if (err || PQresultStatus(res) != PGRES_TUPLES_OK) {
        api_reply_problem(req, 503, "database_unavailable", "Service unavailable", NULL, NULL);
        finish(l);
        return;
    }
    if (PQntuples(res) == 0) {   /* not decided (yet): the marker knows its actor */
        read_marker(l);
        return;
    }
    /* No journal row (never, but then nobody is the actor): admins only. */
    int64_t actor = PQgetisnull(res, 0, 8) ? -1 : strtoll(PQgetvalue(res, 0, 8), NULL, 10);
    if (may_read(l, actor, NULL)) {
        /* A writer who polled after a 202 learns of the write now: their
         * reads go to the primary for a window from here (api/replica.h). */
        if (actor > 0 && actor == l->caller && strcmp(PQgetvalue(res, 0, 1), "applied") == 0)
            api_session_mark_write(req);
        api_reply_json(req, 200, outcome_doc(l, res));
    } else if (actor == 0 && l->owner[0]) {
        l->decided = outcome_doc(l, res);   /* an old-shape token: its owner is in the marker */
        read_marker(l);
        return;
    } else {
        deny(l);
    }
    finish(l);
}

int api_commands_show(h2o_req_t *req, const api_match *m)
{
    const api_session *s = m->session;
    h2o_iovec_t token = api_cookie_token(req, API_OWNER_COOKIE);
    char id[PK_UUID_STR_LEN + 1];
    memcpy(id, m->params[0].base, PK_UUID_STR_LEN);
    id[PK_UUID_STR_LEN] = 0;
    for (char *c = id; *c; c++)
        *c = (char)(*c >= 'A' && *c <= 'F' ? *c + 32 : *c);
    api_owner_proof proof = api_command_owner_proof(req, id);
    if ((!s || s->user_id <= 0) && !token.len && proof == API_OWNER_NONE) {
        api_reply_problem(req, 401, "not_authenticated", "Authentication required", "log in first", NULL);
        return 0;
    }
    lookup *l = api_async_new(req, sizeof(*l));
    memcpy(l->id, id, sizeof(id));
    l->proof = proof;
    l->caller = s && s->user_id > 0 ? s->user_id : 0;
    l->admin = l->caller && strcmp(s->role, "admin") == 0;
    if (token.len)
        api_session_hash(token.base, token.len, l->owner);
    const char *params[] = {l->id};
    if (api_pg_query(api_thread_of(req)->pg,
                     "SELECT o.type, o.status, o.code, o.resource::text, o.entity_type, o.entity_id, o.detail,"
                     " o.errors::text, j.actor_id FROM command_outcomes o"
                     " LEFT JOIN journal j ON j.command_id = o.command_id WHERE o.command_id = $1",
                     1, params, on_outcome_row, l) != 0) {
        api_reply_problem(req, 503, "overloaded", "Service unavailable", NULL, NULL);
        finish(l);
    }
    return 0;
}
