/* resource.c — outcome resources read with the API's shapes (resource.h). */
#include "workers/resource.h"

#include "common/log.h"
#include "common/shapes.h"
#include "workers/db.h"
#include "workers/fields.h"

typedef struct {
    const char *entity_type, *what, *sql;
} resource_def;

/* Indexed by wk_resource_kind. */
static const resource_def RESOURCES[] = {
    [WK_RES_BOOKING] = {"booking", "booking resource",
                        "SELECT " PK_BOOKING_JSON "::text" PK_BOOKING_FROM " WHERE b.id = $1"},
    [WK_RES_ORDER] = {"order", "order resource", "SELECT " PK_ORDER_JSON "::text FROM orders o WHERE o.id = $1"},
    [WK_RES_CATEGORY] = {"category", "category resource",
                         "SELECT " PK_CATEGORY_JSON("c") "::text FROM categories c WHERE c.id = $1"},
    [WK_RES_PRODUCT] = {"product", "product resource",
                        "SELECT " PK_PRODUCT_JSON("p", "a.avail") "::text FROM products p" PK_PRODUCT_AVAIL_JOIN
                        " WHERE p.id = $1"},
    [WK_RES_SERVICE] = {"service", "service resource",
                        "SELECT " PK_SERVICE_JSON("s") "::text FROM services s WHERE s.id = $1"},
    [WK_RES_USER] = {"user", "user resource",
                     "SELECT " PK_USER_JSON "::text FROM users u" PK_USER_JOINS " WHERE u.id = $1"},
    [WK_RES_PRIEST_OWN] = {"priest", "priest profile resource",
                           "SELECT " PK_PRIEST_OWN_JSON("p") "::text FROM priest_profiles p WHERE p.user_id = $1"},
    [WK_RES_PRIEST_ADMIN] = {"priest", "priest resource",
                             "SELECT " PK_PRIEST_ADMIN_JSON("p", "u") "::text FROM priest_profiles p"
                             " JOIN users u ON u.id = p.user_id WHERE p.id = $1"},
    [WK_RES_SCHEDULE] = {"priest", "schedule resource",
                         "SELECT " PK_SCHEDULE_JSON("p", "s") "::text" PK_SCHEDULE_FROM " WHERE p.id = $1"},
    [WK_RES_PRIEST_BLOCK] = {"priest_block", "priest block resource",
                             "SELECT " PK_PRIEST_BLOCK_JSON("k") "::text FROM priest_blocks k WHERE k.id = $1"},
};

json_t *wk_resource(wk_ctx *ctx, wk_resource_kind kind, int64_t key, wk_result *fail)
{
    const resource_def *d = &RESOURCES[kind];
    char text[24];
    wf_itoa(key, text);
    const char *params[] = {text};
    PGresult *r = wk_query(ctx, d->what, d->sql, 1, params, fail);
    if (!r)
        return NULL;
    json_t *resource = PQntuples(r) == 1 ? json_loads(PQgetvalue(r, 0, 0), 0, NULL) : NULL;
    PQclear(r);
    if (!resource) {
        pk_error(NULL, "%s %s: the row this command wrote or locked is missing", d->what, text);
        *fail = WK_POISON;
    }
    return resource;
}

wk_result wk_applied_resource(wk_ctx *ctx, wk_outcome *out, int http_status, wk_resource_kind kind, int64_t key,
                              int64_t entity_id)
{
    wk_result fail = WK_DONE;
    json_t *resource = wk_resource(ctx, kind, key, &fail);
    if (!resource)
        return fail;
    wk_applied(out, http_status, RESOURCES[kind].entity_type, entity_id, resource);
    return WK_DONE;
}

wk_result wk_insert_created(wk_ctx *ctx, wk_outcome *out, const char *what, const char *sql, int nparams,
                            const char *const *params, const char *created_key, wk_resource_kind kind)
{
    wk_result fail = WK_DONE;
    PGresult *r = wk_query(ctx, what, sql, nparams, params, &fail);
    if (!r)
        return fail;
    int64_t id = wf_col_i64(r, 0, 0);
    PQclear(r);
    wk_created(out, created_key, id);
    return wk_applied_resource(ctx, out, 201, kind, id, id);
}
