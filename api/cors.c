#include "api/cors.h"

#include <string.h>
#include "api/http.h"
#include "api/server.h"

static int origin_allowed(h2o_iovec_t origin)
{
    const char *list = g_api.cfg.cors_origins;
    while (origin.len && *list) {
        const char *end = strchr(list, ',');
        size_t n = end ? (size_t)(end - list) : strlen(list);
        while (n && *list == ' ')
            list++, n--;
        while (n && list[n - 1] == ' ')
            n--;
        if (n == origin.len && memcmp(list, origin.base, n) == 0)
            return 1;
        if (!end)
            break;
        list = end + 1;
    }
    return 0;
}

int api_cors(h2o_req_t *req)
{
    h2o_iovec_t origin = api_header(req, "origin");
    int preflight = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("OPTIONS")) &&
                    api_header(req, "access-control-request-method").len > 0;
    if (origin_allowed(origin)) {
        h2o_iovec_t o = h2o_strdup(&req->pool, origin.base, origin.len);
        api_add_header(req, "access-control-allow-origin", o.base);
        api_add_header(req, "access-control-allow-credentials", "true");
        api_add_header(req, "vary", "Origin");
        if (!preflight)   /* readable by the frontend's script: where a 202's outcome
                           * is (Location, X-Command-Id), when to retry a 429/503, ETag */
            api_add_header(req, "access-control-expose-headers", "Location, Retry-After, ETag, X-Command-Id");
        if (preflight) {
            api_add_header(req, "access-control-allow-methods", "GET, POST, PATCH, DELETE, OPTIONS");
            api_add_header(req, "access-control-allow-headers",
                           "Content-Type, X-CSRF-Token, X-CSRFToken, Idempotency-Key, Prefer, X-Request-Id");
            api_add_header(req, "access-control-max-age", "600");
        }
    }
    if (!preflight)
        return 0;
    req->res.status = 204;
    req->res.reason = "No Content";
    req->res.content_length = 0;
    h2o_send_inline(req, "", 0);
    return 1;
}
