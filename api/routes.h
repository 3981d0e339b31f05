/* routes.h — the route table (routes.c) and what a handler receives.
 * One table, read top to bottom, names every endpoint: method, path pattern,
 * handler and auth rule. Patterns: literal segments, {id} (a positive
 * integer), {uuid} (a command id), {slug} (a-z0-9_-). Trailing slashes are
 * part of the pattern, as in the seed's Django URLs. */
#ifndef PUNYAKA_API_ROUTES_H
#define PUNYAKA_API_ROUTES_H

#include <stdbool.h>
#include <h2o.h>
#include "api/session.h"

#define API_MAX_PARAMS 4

/* Auth rule of a route: which roles may call it. PUBLIC routes run with or
 * without a session; any other rule answers 401 without a logged-in session
 * and 403 for a role outside the set. Ownership (someone else's booking,
 * order, cart ⇒ 404) is checked by the handler's query, scoped to the caller. */
enum {
    AUTH_PUBLIC = 0,
    ROLE_CUSTOMER = 1,
    ROLE_PRIEST = 2,
    ROLE_ADMIN = 4,
    AUTH_USER = ROLE_CUSTOMER | ROLE_PRIEST | ROLE_ADMIN,
};

/* Which database a route's reads may use (api/replica.h): the primary
 * (the default), or the read replica when the caller has not written
 * recently — reads that may be a moment stale: public catalog, per-user
 * lists and details. */
enum { API_READS_PRIMARY = 0, API_READS_REPLICA = 1 };

typedef struct {
    h2o_iovec_t params[API_MAX_PARAMS];   /* the {…} segments, in order */
    int nparams;
    const api_session *session;           /* NULL: anonymous (or a CSRF-only session) */
    bool replica;                         /* reads may go to the replica: api_read_pool() */
} api_match;

/* The caller's role bit (0 when anonymous). */
int api_role_bit(const char *role);
/* A path parameter as a positive integer ({id} segments are validated). */
int64_t api_param_id(const api_match *m, int i);

/* Returns 0 after answering (possibly later, asynchronously). */
typedef int (*api_handler)(h2o_req_t *req, const api_match *m);

typedef struct {
    const char *method;
    const char *pattern;
    api_handler handler;
    int auth;   /* AUTH_PUBLIC or a set of ROLE_* bits */
    int reads;  /* API_READS_PRIMARY (omitted) or API_READS_REPLICA */
} api_route;

/* Registers the dispatcher on /api, /healthz, /readyz, the static web UI,
 * GET /api/openapi.yaml (the file openapi_file, byte for byte),
 * GET /api/openapi.json (openapi_json_file, its JSON rendering) and the
 * docs page /api/docs/ (web_root/api-docs/). */
void api_routes_register(h2o_hostconf_t *host, const char *web_root, const char *openapi_file,
                         const char *openapi_json_file);

/* Handlers, one file per resource. */
int api_healthz(h2o_req_t *req, const api_match *m);
int api_readyz(h2o_req_t *req, const api_match *m);
int api_auth_register(h2o_req_t *req, const api_match *m);
int api_auth_login(h2o_req_t *req, const api_match *m);
int api_auth_logout(h2o_req_t *req, const api_match *m);
int api_auth_logout_all(h2o_req_t *req, const api_match *m);
int api_auth_me(h2o_req_t *req, const api_match *m);
int api_auth_csrf(h2o_req_t *req, const api_match *m);
int api_auth_me_update(h2o_req_t *req, const api_match *m);
int api_auth_change_password(h2o_req_t *req, const api_match *m);
int api_admin_priests_list(h2o_req_t *req, const api_match *m);
int api_admin_priest_verify(h2o_req_t *req, const api_match *m);
int api_admin_priest_kyc(h2o_req_t *req, const api_match *m);
int api_priests_list(h2o_req_t *req, const api_match *m);
int api_priests_show(h2o_req_t *req, const api_match *m);
int api_priests_availability(h2o_req_t *req, const api_match *m);
int api_priest_schedule_show(h2o_req_t *req, const api_match *m);
int api_priest_schedule_put(h2o_req_t *req, const api_match *m);
int api_priest_blocks_list(h2o_req_t *req, const api_match *m);
int api_priest_blocks_create(h2o_req_t *req, const api_match *m);
int api_priest_blocks_delete(h2o_req_t *req, const api_match *m);
int api_services_list(h2o_req_t *req, const api_match *m);
int api_admin_services_list(h2o_req_t *req, const api_match *m);
int api_services_show(h2o_req_t *req, const api_match *m);
int api_admin_services_create(h2o_req_t *req, const api_match *m);
int api_admin_services_update(h2o_req_t *req, const api_match *m);
int api_bookings_list(h2o_req_t *req, const api_match *m);
int api_bookings_create(h2o_req_t *req, const api_match *m);
int api_bookings_show(h2o_req_t *req, const api_match *m);
int api_bookings_confirm(h2o_req_t *req, const api_match *m);
int api_bookings_complete(h2o_req_t *req, const api_match *m);
int api_bookings_customer_confirm(h2o_req_t *req, const api_match *m);
int api_bookings_cancel(h2o_req_t *req, const api_match *m);
int api_bookings_rate(h2o_req_t *req, const api_match *m);
int api_commands_show(h2o_req_t *req, const api_match *m);
int api_stream(h2o_req_t *req, const api_match *m);
int api_admin_history(h2o_req_t *req, const api_match *m);
/* shop: catalog.c, cart.c, orders.c, admin_catalog.c */
int api_categories_list(h2o_req_t *req, const api_match *m);
int api_products_list(h2o_req_t *req, const api_match *m);
int api_admin_categories_list(h2o_req_t *req, const api_match *m);
int api_admin_products_list(h2o_req_t *req, const api_match *m);
int api_products_show(h2o_req_t *req, const api_match *m);
int api_products_show_slug(h2o_req_t *req, const api_match *m);
int api_cart_show(h2o_req_t *req, const api_match *m);
int api_cart_add_item(h2o_req_t *req, const api_match *m);
int api_cart_update_item(h2o_req_t *req, const api_match *m);
int api_cart_remove_item(h2o_req_t *req, const api_match *m);
int api_cart_clear(h2o_req_t *req, const api_match *m);
int api_cart_item_patch(h2o_req_t *req, const api_match *m);
int api_cart_item_delete(h2o_req_t *req, const api_match *m);
int api_orders_checkout(h2o_req_t *req, const api_match *m);
int api_orders_create(h2o_req_t *req, const api_match *m);
int api_orders_list(h2o_req_t *req, const api_match *m);
int api_orders_show(h2o_req_t *req, const api_match *m);
int api_orders_cancel(h2o_req_t *req, const api_match *m);
int api_admin_order_status(h2o_req_t *req, const api_match *m);
int api_admin_categories_create(h2o_req_t *req, const api_match *m);
int api_admin_categories_update(h2o_req_t *req, const api_match *m);
int api_admin_products_create(h2o_req_t *req, const api_match *m);
int api_admin_products_update(h2o_req_t *req, const api_match *m);
int api_admin_products_stock(h2o_req_t *req, const api_match *m);
int api_admin_products_kit(h2o_req_t *req, const api_match *m);
int api_notifications_list(h2o_req_t *req, const api_match *m);
int api_notifications_unread_count(h2o_req_t *req, const api_match *m);
int api_notifications_read(h2o_req_t *req, const api_match *m);
int api_notifications_read_all(h2o_req_t *req, const api_match *m);

#endif
