/* fuzz_routes — api/routes.c: matching a request path against the route
 * table, as the dispatcher does for every request before anything else.
 * The file is included so its static matcher (path_matches) and table
 * (ROUTES) are reachable without changing the API; the harness's definitions
 * replace the archive's copy of routes.c at link time.
 * Properties: a match captures at most API_MAX_PARAMS segments, each inside
 * the path; an {id} segment converts to a positive integer; a path that
 * matches a route matches it again (deterministic). */
#include "api/routes.c"

#include <stdlib.h>
#include "tests/fuzz/fuzz_support.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_init();
    return 0;
}

static void check_match(const api_route *r, h2o_iovec_t path, const api_match *m)
{
    if (m->nparams < 0 || m->nparams > API_MAX_PARAMS)
        abort();
    const char *p = r->pattern;
    for (int i = 0; i < m->nparams; i++) {
        h2o_iovec_t v = m->params[i];
        if (v.base < path.base || v.base + v.len > path.base + path.len)
            abort();
        p = strchr(p, '{');
        if (!p)
            abort();
        if (strncmp(p, "{id}", 4) == 0 && api_param_id(m, i) <= 0)
            abort();
        p++;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exactly the bytes given, in a buffer of their own size, so ASan sees
     * any read past the end of the path. */
    char *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    h2o_iovec_t path = h2o_iovec_init(buf, size);
    int matched = 0;
    for (size_t i = 0; i < NROUTES; i++) {
        api_match m = {0};
        if (!path_matches(ROUTES[i].pattern, path, &m))
            continue;
        matched++;
        check_match(&ROUTES[i], path, &m);
        api_match again = {0};
        if (!path_matches(ROUTES[i].pattern, path, &again) || again.nparams != m.nparams)
            abort();
    }
    (void)matched;
    (void)api_role_bit(size && data[0] < 4 ? (const char *[]){"customer", "priest", "admin", ""}[data[0]] : NULL);
    free(buf);
    return 0;
}
