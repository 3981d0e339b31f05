/* seed.h — the seed frontend's dialect, accepted beside ours (issue 15,
 * docs/seed-frontend.md). The seed's Next.js app names some request fields
 * differently (priest_id for priest, location for location_address, …).
 * Handlers rename those to ours before they validate, so there is still one
 * validator (common/validate.c) and the command the worker receives is the
 * same whichever dialect the client spoke. */
#ifndef PUNYAKA_API_SEED_H
#define PUNYAKA_API_SEED_H

#include <stddef.h>
#include <h2o.h>
#include <jansson.h>

typedef struct {
    const char *seed;   /* the seed frontend's name */
    const char *ours;   /* the field our validation reads */
} api_alias;

/* Moves each seed-named member of `body` to our name. Both present with
 * different values: which was meant is unknowable, so the seed's name gets
 * a complaint in `errors` (422 naming it) and ours is kept. */
void api_seed_aliases(json_t *body, json_t *errors, const api_alias *aliases, size_t n);

/* GET /admin (the seed's link to Django's admin site) ⇒ 302 to our admin
 * dashboard page. Registered before the static files. */
void api_seed_register_admin_link(h2o_hostconf_t *host);

#endif
