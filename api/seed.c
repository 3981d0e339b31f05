/* seed.c — what the seed frontend's dialect needs besides added response
 * fields (those live with each resource's SQL): request aliases and the
 * /admin link. See seed.h and docs/seed-frontend.md. */
#include "api/seed.h"

#include <stdio.h>
#include "api/hardening.h"
#include "api/http.h"

#define ADMIN_DASHBOARD "/dashboard.html#priests"

void api_seed_aliases(json_t *body, json_t *errors, const api_alias *aliases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_t *seed = json_object_get(body, aliases[i].seed);
        if (!seed)
            continue;
        json_t *ours = json_object_get(body, aliases[i].ours);
        if (ours && !json_equal(ours, seed)) {
            char msg[96];
            snprintf(msg, sizeof(msg), "conflicts with %s; send one of the two", aliases[i].ours);
            api_field_error(errors, aliases[i].seed, msg);
            continue;
        }
        json_object_set(body, aliases[i].ours, seed);
        json_object_del(body, aliases[i].seed);
    }
}

static int on_admin(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) &&
        !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD")))
        return -1;   /* falls through to the static files' 405/404 */
    /* The page itself asks the user to sign in and shows the admin's tabs
     * only to admins: the redirect grants nothing. */
    h2o_send_redirect(req, 302, "Found", H2O_STRLIT(ADMIN_DASHBOARD));
    return 0;
}

void api_seed_register_admin_link(h2o_hostconf_t *host)
{
    h2o_pathconf_t *pc = h2o_config_register_path(host, "/admin", 0);
    h2o_handler_t *h = h2o_create_handler(pc, sizeof(*h));
    h->on_req = on_admin;
    api_harden_path(pc, 0);
}
