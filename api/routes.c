/* routes.c — the route table. Everything the API answers is listed here. */
#include "api/routes.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include "api/compress.h"
#include "api/cors.h"
#include "api/hardening.h"
#include "api/http.h"
#include "api/metrics.h"
#include "api/resets.h"
#include "api/seed.h"
#include "common/uuid.h"

/* The fifth column, where the route's reads go: ON_REPLICA may be answered
 * by the read replica (api/replica.h), a moment stale, unless the caller
 * wrote within PUNYAKA_READ_PRIMARY_AFTER_WRITE_MS; ON_PRIMARY always reads
 * the primary (admin views, auth, command status, writes' checks).
 * Availability is ON_REPLICA: it only advises, the worker decides a
 * booking on the primary. */
#define ON_PRIMARY API_READS_PRIMARY
#define ON_REPLICA API_READS_REPLICA
static const api_route ROUTES[] = {
    {"GET", "/healthz", api_healthz, AUTH_PUBLIC, ON_PRIMARY},
    {"GET", "/readyz", api_readyz, AUTH_PUBLIC, ON_PRIMARY},
    {"POST", "/api/auth/register/", api_auth_register, AUTH_PUBLIC, ON_PRIMARY},
    {"POST", "/api/auth/login/", api_auth_login, AUTH_PUBLIC, ON_PRIMARY},
    {"POST", "/api/auth/logout/", api_auth_logout, AUTH_USER, ON_PRIMARY},
    {"POST", "/api/auth/logout_all/", api_auth_logout_all, AUTH_USER, ON_PRIMARY},
    {"GET", "/api/auth/me/", api_auth_me, AUTH_USER, ON_PRIMARY},
    {"PATCH", "/api/auth/me/", api_auth_me_update, AUTH_USER, ON_PRIMARY},
    {"POST", "/api/auth/change_password/", api_auth_change_password, AUTH_USER, ON_PRIMARY},
    {"GET", "/api/auth/csrf/", api_auth_csrf, AUTH_PUBLIC, ON_PRIMARY},
    {"GET", "/api/commands/{uuid}", api_commands_show, AUTH_PUBLIC, ON_PRIMARY},
    {"GET", "/api/stream/", api_stream, AUTH_USER, ON_PRIMARY},             /* Server-Sent Events (stream.h) */
    {"GET", "/api/admin/history/", api_admin_history, ROLE_ADMIN, ON_PRIMARY},
    {"GET", "/api/admin/priests/", api_admin_priests_list, ROLE_ADMIN, ON_PRIMARY},
    {"POST", "/api/admin/priests/{id}/verify/", api_admin_priest_verify, ROLE_ADMIN, ON_PRIMARY},
    {"POST", "/api/admin/priests/{id}/kyc/", api_admin_priest_kyc, ROLE_ADMIN, ON_PRIMARY},
    {"GET", "/api/priests/", api_priests_list, AUTH_PUBLIC, ON_REPLICA},
    {"GET", "/api/priests/{id}/", api_priests_show, AUTH_PUBLIC, ON_REPLICA},
    {"GET", "/api/priests/{id}/availability/", api_priests_availability, AUTH_PUBLIC, ON_REPLICA},
    /* a priest's own schedule (api/schedule.c, issue 17) */
    {"GET", "/api/priest/schedule/", api_priest_schedule_show, ROLE_PRIEST, ON_PRIMARY},
    {"PUT", "/api/priest/schedule/", api_priest_schedule_put, ROLE_PRIEST, ON_PRIMARY},
    {"GET", "/api/priest/blocks/", api_priest_blocks_list, ROLE_PRIEST, ON_PRIMARY},
    {"POST", "/api/priest/blocks/", api_priest_blocks_create, ROLE_PRIEST, ON_PRIMARY},
    {"DELETE", "/api/priest/blocks/{id}/", api_priest_blocks_delete, ROLE_PRIEST, ON_PRIMARY},
    {"GET", "/api/services/", api_services_list, AUTH_PUBLIC, ON_REPLICA},
    {"GET", "/api/services/{id}/", api_services_show, AUTH_PUBLIC, ON_REPLICA},
    {"GET", "/api/admin/services/", api_admin_services_list, ROLE_ADMIN, ON_PRIMARY},
    {"POST", "/api/admin/services/", api_admin_services_create, ROLE_ADMIN, ON_PRIMARY},
    {"PATCH", "/api/admin/services/{id}/", api_admin_services_update, ROLE_ADMIN, ON_PRIMARY},
    {"GET", "/api/bookings/", api_bookings_list, AUTH_USER, ON_REPLICA},
    {"POST", "/api/bookings/", api_bookings_create, ROLE_CUSTOMER, ON_PRIMARY},
    {"GET", "/api/bookings/{id}/", api_bookings_show, AUTH_USER, ON_REPLICA},
    {"POST", "/api/bookings/{id}/confirm/", api_bookings_confirm, ROLE_PRIEST, ON_PRIMARY},
    {"POST", "/api/bookings/{id}/complete/", api_bookings_complete, ROLE_PRIEST, ON_PRIMARY},
    {"POST", "/api/bookings/{id}/customer_confirm/", api_bookings_customer_confirm, ROLE_CUSTOMER, ON_PRIMARY},
    {"POST", "/api/bookings/{id}/cancel/", api_bookings_cancel, AUTH_USER, ON_PRIMARY},
    {"POST", "/api/bookings/{id}/rate/", api_bookings_rate, ROLE_CUSTOMER, ON_PRIMARY},
    /* notifications (api/notifications.c): each signed-in user's own */
    {"GET", "/api/notifications/", api_notifications_list, AUTH_USER, ON_REPLICA},
    {"GET", "/api/notifications/unread_count/", api_notifications_unread_count, AUTH_USER, ON_REPLICA},
    {"POST", "/api/notifications/read_all/", api_notifications_read_all, AUTH_USER, ON_PRIMARY},
    {"POST", "/api/notifications/{id}/read/", api_notifications_read, AUTH_USER, ON_PRIMARY},
    /* shop (api/catalog.c, cart.c, orders.c, admin_catalog.c): customers and priests shop, admins run it */
    {"GET", "/api/categories/", api_categories_list, AUTH_PUBLIC, ON_REPLICA},
    {"GET", "/api/products/", api_products_list, AUTH_PUBLIC, ON_REPLICA},
    {"GET", "/api/products/{id}/", api_products_show, AUTH_PUBLIC, ON_REPLICA},
    {"GET", "/api/products/{slug}/", api_products_show_slug, AUTH_PUBLIC, ON_REPLICA},
    {"GET", "/api/cart/", api_cart_show, ROLE_CUSTOMER | ROLE_PRIEST, ON_PRIMARY},
    {"POST", "/api/cart/add_item/", api_cart_add_item, ROLE_CUSTOMER | ROLE_PRIEST, ON_PRIMARY},
    {"POST", "/api/cart/update_item/", api_cart_update_item, ROLE_CUSTOMER | ROLE_PRIEST, ON_PRIMARY},
    {"POST", "/api/cart/remove_item/", api_cart_remove_item, ROLE_CUSTOMER | ROLE_PRIEST, ON_PRIMARY},
    {"POST", "/api/cart/clear/", api_cart_clear, ROLE_CUSTOMER | ROLE_PRIEST, ON_PRIMARY},
    {"PATCH", "/api/cart/items/{id}/", api_cart_item_patch, ROLE_CUSTOMER | ROLE_PRIEST, ON_PRIMARY},    /* the seed's dialect */
    {"DELETE", "/api/cart/items/{id}/", api_cart_item_delete, ROLE_CUSTOMER | ROLE_PRIEST, ON_PRIMARY},
    {"POST", "/api/orders/checkout/", api_orders_checkout, ROLE_CUSTOMER | ROLE_PRIEST, ON_PRIMARY},
    {"POST", "/api/orders/", api_orders_create, ROLE_CUSTOMER | ROLE_PRIEST, ON_PRIMARY},                /* the seed's checkout */
    {"GET", "/api/orders/", api_orders_list, AUTH_USER, ON_REPLICA},
    {"GET", "/api/orders/{id}/", api_orders_show, AUTH_USER, ON_REPLICA},
    {"POST", "/api/orders/{id}/cancel/", api_orders_cancel, ROLE_CUSTOMER | ROLE_PRIEST, ON_PRIMARY},
    {"POST", "/api/admin/orders/{id}/status/", api_admin_order_status, ROLE_ADMIN, ON_PRIMARY},
    {"GET", "/api/admin/categories/", api_admin_categories_list, ROLE_ADMIN, ON_PRIMARY},
    {"POST", "/api/admin/categories/", api_admin_categories_create, ROLE_ADMIN, ON_PRIMARY},
    {"PATCH", "/api/admin/categories/{id}/", api_admin_categories_update, ROLE_ADMIN, ON_PRIMARY},
    {"GET", "/api/admin/products/", api_admin_products_list, ROLE_ADMIN, ON_PRIMARY},
    {"POST", "/api/admin/products/", api_admin_products_create, ROLE_ADMIN, ON_PRIMARY},
    {"PATCH", "/api/admin/products/{id}/", api_admin_products_update, ROLE_ADMIN, ON_PRIMARY},
    {"POST", "/api/admin/products/{id}/stock/", api_admin_products_stock, ROLE_ADMIN, ON_PRIMARY},
    {"POST", "/api/admin/products/{id}/kit/", api_admin_products_kit, ROLE_ADMIN, ON_PRIMARY},
};
#define NROUTES (sizeof(ROUTES) / sizeof(ROUTES[0]))

static int segment_matches(const char *pat, size_t plen, const char *seg, size_t slen)
{
    if (plen == 4 && memcmp(pat, "{id}", 4) == 0) {
        if (slen == 0 || slen > 18 || seg[0] == '0')
            return 0;
        for (size_t i = 0; i < slen; i++)
            if (!isdigit((unsigned char)seg[i]))
                return 0;
        return 1;
    }
    if (plen == 6 && memcmp(pat, "{uuid}", 6) == 0) {
        pk_uuid u;
        return pk_uuid_parse(seg, slen, &u) == 0;
    }
    if (plen == 6 && memcmp(pat, "{slug}", 6) == 0) {
        if (slen == 0 || slen > 100)
            return 0;
        for (size_t i = 0; i < slen; i++)
            if (!islower((unsigned char)seg[i]) && !isdigit((unsigned char)seg[i]) && seg[i] != '-' && seg[i] != '_')
                return 0;
        return 1;
    }
    return plen == slen && memcmp(pat, seg, slen) == 0;
}

/* Segment-by-segment match of path against pattern, capturing parameters. */
static int path_matches(const char *pattern, h2o_iovec_t path, api_match *m)
{
    const char *p = pattern, *s = path.base, *send = path.base + path.len;
    m->nparams = 0;
    while (*p && s < send) {
        if (*p != '/' || *s != '/')
            return 0;
        p++, s++;
        const char *pe = p, *se = s;
        while (*pe && *pe != '/')
            pe++;
        while (se < send && *se != '/')
            se++;
        if (!segment_matches(p, (size_t)(pe - p), s, (size_t)(se - s)))
            return 0;
        if (*p == '{' && m->nparams < API_MAX_PARAMS)
            m->params[m->nparams++] = h2o_iovec_init(s, (size_t)(se - s));
        p = pe, s = se;
    }
    return *p == 0 && s == send;
}

int api_role_bit(const char *role)
{
    if (!role)
        return 0;
    if (strcmp(role, "customer") == 0)
        return ROLE_CUSTOMER;
    if (strcmp(role, "priest") == 0)
        return ROLE_PRIEST;
    if (strcmp(role, "admin") == 0)
        return ROLE_ADMIN;
    return 0;
}

int64_t api_param_id(const api_match *m, int i)
{
    int64_t v = 0;
    for (size_t k = 0; k < m->params[i].len; k++)
        v = v * 10 + (m->params[i].base[k] - '0');
    return v;
}

#define API_IDEMPOTENCY_KEY_MAX 255
#define API_HEADER_BYTES_MAX (16 * 1024)

static int is_unsafe(h2o_req_t *req)
{
    return !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) &&
           !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD")) &&
           !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("OPTIONS"));
}

/* HEAD is answered by the GET handler (h2o sends the headers, not the body). */
static int method_serves(h2o_req_t *req, const char *route_method)
{
    if (h2o_memis(req->method.base, req->method.len, route_method, strlen(route_method)))
        return 1;
    return strcmp(route_method, "GET") == 0 && h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));
}

typedef struct {
    h2o_req_t *req;
    const api_route *route;
    api_match match;
    api_session session;
} call;

/* With the session known: CSRF, then the route's role rule, then the handler. */
static void on_session(void *ctx, const api_session *s, bool redis_down)
{
    call *c = ctx;
    h2o_req_t *req = c->req;
    int logged_in = s && s->user_id > 0;
    if (!s && redis_down && c->route->auth != AUTH_PUBLIC) {
        api_reply_problem(req, 503, "redis_unavailable", "Service unavailable", "sessions are unavailable", NULL);
        return;
    }
    if (s && is_unsafe(req) && !api_session_csrf_ok(req, s)) {
        api_reply_problem(req, 403, "csrf_failed", "CSRF check failed",
                          "send the session's CSRF token in X-CSRF-Token", NULL);
        return;
    }
    if (c->route->auth != AUTH_PUBLIC && !logged_in) {
        api_reply_problem(req, 401, "not_authenticated", "Authentication required", "log in first", NULL);
        return;
    }
    if (c->route->auth != AUTH_PUBLIC && !(api_role_bit(s->role) & c->route->auth)) {
        api_reply_problem(req, 403, "forbidden", "Forbidden", "your role may not do this", NULL);
        return;
    }
    /* Only a public route gets here without a session (login, register…). */
    if (!s && is_unsafe(req) && api_csrf_sent(req) && !api_csrf_anonymous_ok(req)) {
        api_reply_problem(req, 403, "csrf_failed", "CSRF check failed",
                          "send the csrftoken cookie's value in X-CSRF-Token (GET /api/auth/csrf/ for a fresh one)",
                          NULL);
        return;
    }
    if (s) {
        c->session = *s;   /* the loader's copy dies after this callback */
        c->match.session = &c->session;
    }
    /* Admins always read the primary: they are few, and what they see
     * (every order, the catalog they just edited) decides their next step. */
    c->match.replica = c->route->reads == API_READS_REPLICA &&
                       !(s && (api_session_reads_primary(s) || api_role_bit(s->role) == ROLE_ADMIN));
    c->route->handler(req, &c->match);
}

/* Headers the API reads: at most API_HEADER_BYTES_MAX in all (h2o's own
 * bound is ~400 KB; a browser's cookies and tokens stay far below), else
 * 431. Values used as data must be text too: an Idempotency-Key becomes
 * part of a command id (api/command.c), so it is at most 255 bytes of
 * printable ASCII (the IETF draft's sf-string), never silently ignored. */
static int reply_if_bad_data_headers(h2o_req_t *req)
{
    size_t bytes = 0;
    for (size_t i = 0; i < req->headers.size; i++)
        bytes += req->headers.entries[i].name->len + req->headers.entries[i].value.len + 4;
    if (bytes > API_HEADER_BYTES_MAX) {
        api_reply_problem(req, 431, "headers_too_large", "Request header fields too large",
                          "the request's headers exceed 16 KiB", NULL);
        return 1;
    }
    h2o_iovec_t key = api_header(req, "idempotency-key");
    int ok = key.len <= API_IDEMPOTENCY_KEY_MAX;
    for (size_t i = 0; ok && i < key.len; i++)
        ok = key.base[i] >= 0x20 && key.base[i] <= 0x7e;
    if (ok)
        return 0;
    api_reply_problem(req, 400, "malformed_header", "Malformed header",
                      "Idempotency-Key must be at most 255 characters of printable ASCII",
                      json_pack("{s:[s]}", "Idempotency-Key", "must be at most 255 characters of printable ASCII"));
    return 1;
}

static int dispatch(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    api_match m = {0};
    int path_known = 0;
    char allow[64] = "";
    h2o_iovec_t path = req->path_normalized;
    api_request_id(req);   /* one id for the request's logs and its X-Request-Id */
    if (api_resets_over_bound(req)) {
        api_reply_problem(req, 429, "too_many_cancelled_streams", "Too many requests",
                          "this connection cancelled too many requests; open a new one", NULL);
        return 0;
    }
    if (api_cors(req))
        return 0;   /* a preflight, answered */
    for (size_t i = 0; i < NROUTES; i++) {
        if (!path_matches(ROUTES[i].pattern, path, &m))
            continue;
        path_known = 1;
        if (method_serves(req, ROUTES[i].method)) {
            api_metrics_track(req, (int)i, ROUTES[i].method);
            if (reply_if_bad_data_headers(req))
                return 0;
            call *c = h2o_mem_alloc_pool(&req->pool, sizeof(*c));
            *c = (call){.req = req, .route = &ROUTES[i], .match = m};
            api_session_load(req, on_session, c);
            return 0;
        }
        size_t n = strlen(allow);
        snprintf(allow + n, sizeof(allow) - n, "%s%s", n ? ", " : "", ROUTES[i].method);
    }
    /* labelled by the method asked for (metrics.c keeps the standard ones) */
    api_metrics_track(req, -1, h2o_strdup(&req->pool, req->method.base, req->method.len).base);
    if (path_known) {
        api_add_header(req, "allow", allow);
        api_reply_problem(req, 405, "method_not_allowed", "Method not allowed", NULL, NULL);
        return 0;
    }
    api_reply_problem(req, 404, "not_found", "Not found", "no such endpoint", NULL);
    return 0;
}

static void register_dispatcher(h2o_hostconf_t *host, const char *prefix)
{
    h2o_pathconf_t *pc = h2o_config_register_path(host, prefix, 0);
    h2o_handler_t *h = h2o_create_handler(pc, sizeof(*h));
    h->on_req = dispatch;
    api_compress_path(pc);
    api_harden_path(pc, 0);
}

/* One file at one path with h2o's file handler (ETag, conditional GET, HEAD),
 * and FILE.gz for gzip clients where the build made one (openapi.json:
 * api/CMakeLists.txt), with Vary on every answer (api/compress.h).
 * Registered before /api: h2o takes the first path that matches. */
static void register_document(h2o_hostconf_t *host, const char *path, const char *file, const char *ext,
                              const char *mime)
{
    h2o_pathconf_t *pc = h2o_config_register_path(host, path, 0);
    h2o_mimemap_t *types = h2o_mimemap_create();
    h2o_mimemap_define_mimetype(types, ext, mime, NULL);
    h2o_file_register_file(pc, file, h2o_mimemap_get_type_by_extension(types, h2o_iovec_init(ext, strlen(ext))),
                           H2O_FILE_FLAG_SEND_COMPRESSED);
    h2o_mem_release_shared(types);   /* the handler holds its own reference to the type */
    api_harden_path(pc, 0);
}

/* The API's contract, schemas/openapi.yaml, served as the file it is so what
 * clients read is exactly what tests/sh/test_openapi.sh validates, and its
 * JSON rendering (made at build time: the API has no YAML parser;
 * scripts/lib/openapi_json.py). The docs page at /api/docs/ is a page of the
 * web UI (web/api-docs/, the pages' CSP: no inline script) that renders the
 * JSON; h2o redirects /api/docs to /api/docs/. */
static void register_openapi(h2o_hostconf_t *host, const char *web_root, const char *openapi_file,
                             const char *openapi_json_file)
{
    register_document(host, "/api/openapi.yaml", openapi_file, "yaml", "application/yaml");
    register_document(host, "/api/openapi.json", openapi_json_file, "json", "application/json");
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/api-docs", web_root);
    h2o_pathconf_t *docs = h2o_config_register_path(host, "/api/docs", 0);
    h2o_file_register(docs, dir, NULL, NULL, 0);
    api_harden_path(docs, 1);
}

void api_routes_register(h2o_hostconf_t *host, const char *web_root, const char *openapi_file,
                         const char *openapi_json_file)
{
    static const char *patterns[NROUTES];
    for (size_t i = 0; i < NROUTES; i++)
        patterns[i] = ROUTES[i].pattern;
    api_metrics_set_route_names(patterns, (int)NROUTES);
    /* GET /metrics is not here: it has a port of its own (metrics.h). */
    register_openapi(host, web_root, openapi_file, openapi_json_file);
    register_dispatcher(host, "/api");
    register_dispatcher(host, "/healthz");
    register_dispatcher(host, "/readyz");
    api_seed_register_admin_link(host);
    h2o_pathconf_t *web = h2o_config_register_path(host, "/", 0);
    /* The `.gz` beside a file is served for Accept-Encoding: gzip, with
     * Vary on every answer (the build makes them, compress.h). */
    h2o_file_register(web, web_root, NULL, NULL, H2O_FILE_FLAG_SEND_COMPRESSED);
    /* Pages and modules change with each deploy: browsers revalidate them
     * (ETag ⇒ 304, cheap) instead of running a stale module for hours. */
    static h2o_headers_command_t web_headers[2];
    web_headers[0] = (h2o_headers_command_t){H2O_HEADERS_CMD_SET, &H2O_TOKEN_CACHE_CONTROL->buf,
                                             {H2O_STRLIT("no-cache")}};
    web_headers[1].cmd = H2O_HEADERS_CMD_NULL;
    h2o_headers_register(web, web_headers);
    api_harden_path(web, 1);
    api_harden_path(&host->fallback_path, 0);   /* h2o's errors before a path matched */
}
