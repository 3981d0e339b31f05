/* commands.c — GET /api/commands/{id}: accepted | unknown | applied | rejected.
 * The outcome row (written by the worker in the command's transaction) is
 * the truth; before it exists, the marker the API set in Redis says
 * "accepted" (Kafka acknowledged the command) or "unknown" (it was sent but
 * Kafka did not confirm it in time: it may still be applied). */
#include <stdlib.h>
#include <string.h>
#include "api/command.h"
#include "api/http.h"
#include "api/pg.h"
#include "api/redis.h"
#include "api/routes.h"
#include "common/entity.h"
#include "common/envelope.h"
#include "common/uuid.h"

typedef struct {
    api_async async;
    char id[PK_UUID_STR_LEN + 1];
} lookup;

static void finish(lookup *l)
{
    api_async_free(&l->async);
}

/* The marker: "<type>" when Kafka acknowledged, "<type> unknown" when not yet. */
static void reply_marker(h2o_req_t *req, const char *id, const char *marker)
{
    char type[PK_TYPE_MAX];
    size_t n = strcspn(marker, " ");
    snprintf(type, sizeof(type), "%.*s", (int)(n < sizeof(type) ? n : sizeof(type) - 1), marker);
    int unknown = strcmp(marker + n, " unknown") == 0;
    json_t *doc = api_command_status_doc(id, type, unknown ? "unknown" : "accepted", NULL, NULL, NULL);
    if (unknown)
        json_object_set_new(doc, "detail", json_string(API_UNKNOWN_DETAIL));
    api_reply_json(req, 200, doc);
}

static void on_marker(redisAsyncContext *ac, void *reply, void *privdata)
{
    lookup *l = privdata;
    redisReply *r = reply;
    (void)ac;
    if (l->async.req) {
        if (!r)
            api_reply_problem(l->async.req, 503, "redis_unavailable", "Service unavailable", NULL, NULL);
        else if (r->type == REDIS_REPLY_STRING)
            reply_marker(l->async.req, l->id, r->str);
        else
            api_reply_problem(l->async.req, 404, "not_found", "Not found", "no such command", NULL);
    }
    finish(l);
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
    if (PQntuples(res) == 0) {
        char key[64];
        snprintf(key, sizeof(key), "punyaka:cmd:%s", l->id);
        const char *argv[] = {"GET", key};
        if (api_redis_argv(api_thread_of(req)->redis, on_marker, l, 2, argv, NULL) != 0) {
            api_reply_problem(req, 503, "redis_unavailable", "Service unavailable", NULL, NULL);
            finish(l);
        }
        return;
    }
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
    api_reply_json(req, 200, doc);
    finish(l);
}

int api_commands_show(h2o_req_t *req, const api_match *m)
{
    lookup *l = api_async_new(req, sizeof(*l));
    memcpy(l->id, m->params[0].base, PK_UUID_STR_LEN);
    for (char *c = l->id; *c; c++)
        *c = (char)(*c >= 'A' && *c <= 'F' ? *c + 32 : *c);
    const char *params[] = {l->id};
    if (api_pg_query(api_thread_of(req)->pg,
                     "SELECT type, status, code, resource::text, entity_type, entity_id, detail, errors::text FROM command_outcomes"
                     " WHERE command_id = $1",
                     1, params, on_outcome_row, l) != 0) {
        api_reply_problem(req, 503, "overloaded", "Service unavailable", NULL, NULL);
        finish(l);
    }
    return 0;
}
