/* routes.h — the route table (routes.c) and what a handler receives.
 * One table, read top to bottom, names every endpoint: method, path pattern,
 * handler and auth rule. Patterns: literal segments, {id} (a positive
 * integer), {uuid} (a command id), {slug} (a-z0-9-). Trailing slashes are
 * part of the pattern, as in the seed's Django URLs. */
#ifndef PUNYAKA_API_ROUTES_H
#define PUNYAKA_API_ROUTES_H

#include <h2o.h>

#define API_MAX_PARAMS 4

typedef enum {
    AUTH_PUBLIC,     /* anyone */
} api_auth_rule;

typedef struct {
    h2o_iovec_t params[API_MAX_PARAMS];   /* the {…} segments, in order */
    int nparams;
} api_match;

/* Returns 0 after answering (possibly later, asynchronously). */
typedef int (*api_handler)(h2o_req_t *req, const api_match *m);

typedef struct {
    const char *method;
    const char *pattern;
    api_handler handler;
    api_auth_rule auth;
} api_route;

/* Registers the dispatcher on /api, /healthz, /readyz and the static web UI. */
void api_routes_register(h2o_hostconf_t *host, const char *web_root);

/* Handlers, one file per resource. */
int api_healthz(h2o_req_t *req, const api_match *m);
int api_readyz(h2o_req_t *req, const api_match *m);
int api_auth_register(h2o_req_t *req, const api_match *m);
int api_commands_show(h2o_req_t *req, const api_match *m);

#endif
