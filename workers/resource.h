/* resource.h — the resource an applied command answers with.
 *
 * An applied outcome carries the entity "as the API shows it": the same
 * object a following GET returns. So the worker does not build it itself:
 * it reads it back inside the command's transaction with the very SQL
 * shape the API's reads use (common/shapes.h), and the two cannot drift
 * (tests/it/it_render.c compares them for every resource).
 *
 * Each kind is one SELECT whose $1 is `key` (below) and whose one column is
 * the JSON text. */
#ifndef PUNYAKA_WORKER_RESOURCE_H
#define PUNYAKA_WORKER_RESOURCE_H

#include <stdint.h>
#include <jansson.h>
#include "workers/worker.h"

typedef enum {
    WK_RES_BOOKING,        /* key: booking id */
    WK_RES_ORDER,          /* key: order id (with its items) */
    WK_RES_CATEGORY,       /* key: category id */
    WK_RES_PRODUCT,        /* key: product id (kits: derived stock, components) */
    WK_RES_SERVICE,        /* key: service id */
    WK_RES_USER,           /* key: user id (GET /api/auth/me/ without csrf_token) */
    WK_RES_PRIEST_OWN,     /* key: the priest's *user* id (me's priest_profile) */
    WK_RES_PRIEST_ADMIN,   /* key: priest profile id (an admin list item without kyc) */
    WK_RES_SCHEDULE,       /* key: priest profile id (his week of hours) */
    WK_RES_PRIEST_BLOCK,   /* key: block id (with its conflicting bookings) */
} wk_resource_kind;

/* The resource, or NULL with *fail set: a failed statement's class
 * (db.h), or WK_POISON when no row has that key — the command just wrote
 * or locked it, so a missing row is a bug, not weather, and retrying
 * would find the same. */
json_t *wk_resource(wk_ctx *ctx, wk_resource_kind kind, int64_t key, wk_result *fail);

/* Reads the resource and marks the outcome applied with it: http_status,
 * the kind's entity type and `entity_id`. WK_DONE, or what wk_resource
 * failed with (the outcome untouched). */
wk_result wk_applied_resource(wk_ctx *ctx, wk_outcome *out, int http_status, wk_resource_kind kind, int64_t key,
                              int64_t entity_id);

/* Runs `sql`, an INSERT … RETURNING id of one new row (`what` names it in
 * the log), records the id under created_key (a replay re-inserts it) and
 * marks the outcome applied, 201, with the new row as resource `kind`.
 * WK_DONE, or the failed statement's class (db.h). */
wk_result wk_insert_created(wk_ctx *ctx, wk_outcome *out, const char *what, const char *sql, int nparams,
                            const char *const *params, const char *created_key, wk_resource_kind kind);

#endif
