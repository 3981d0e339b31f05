/* routes.c — the route table. Everything the API answers is listed here. */
#include "api/routes.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include "api/http.h"
#include "common/uuid.h"

static const api_route ROUTES[] = {
    {"GET", "/healthz", api_healthz, AUTH_PUBLIC},
    {"GET", "/readyz", api_readyz, AUTH_PUBLIC},
    {"POST", "/api/auth/register/", api_auth_register, AUTH_PUBLIC},
    {"GET", "/api/commands/{uuid}", api_commands_show, AUTH_PUBLIC},
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
            if (!islower((unsigned char)seg[i]) && !isdigit((unsigned char)seg[i]) && seg[i] != '-')
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

static int dispatch(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    api_match m;
    int path_known = 0;
    char allow[64] = "";
    h2o_iovec_t path = req->path_normalized;
    for (size_t i = 0; i < NROUTES; i++) {
        if (!path_matches(ROUTES[i].pattern, path, &m))
            continue;
        path_known = 1;
        if (h2o_memis(req->method.base, req->method.len, ROUTES[i].method, strlen(ROUTES[i].method)))
            return ROUTES[i].handler(req, &m);
        size_t n = strlen(allow);
        snprintf(allow + n, sizeof(allow) - n, "%s%s", n ? ", " : "", ROUTES[i].method);
    }
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
}

void api_routes_register(h2o_hostconf_t *host, const char *web_root)
{
    register_dispatcher(host, "/api");
    register_dispatcher(host, "/healthz");
    register_dispatcher(host, "/readyz");
    h2o_pathconf_t *web = h2o_config_register_path(host, "/", 0);
    h2o_file_register(web, web_root, NULL, NULL, 0);
}
