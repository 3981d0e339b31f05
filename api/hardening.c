/* hardening.c — security headers on every response (hardening.h). */
#include "api/hardening.h"
#include "api/framing.h"

#include <string.h>

#define NHEADERS 4   /* the commands in commands() */

/* The "Server" value: a fixed name, so a scanner learns no version. */
static const char SERVER_NAME[] = "punyaka";

void api_harden_globalconf(h2o_globalconf_t *conf)
{
    conf->server_name = h2o_iovec_init(SERVER_NAME, sizeof(SERVER_NAME) - 1);
}

/* h2o's headers filter wants a token's own iovec for the names it knows
 * (h2o_iovec_is_token), a lower-case string for the others. */
static h2o_iovec_t *header_name(const char *lower)
{
    const h2o_token_t *t = h2o_lookup_token(lower, strlen(lower));
    if (t)
        return (h2o_iovec_t *)&t->buf;
    static h2o_iovec_t names[NHEADERS];   /* at most every header below */
    static size_t n;
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i].base, lower) == 0)
            return &names[i];
    names[n] = h2o_iovec_init(lower, strlen(lower));   /* lower is a literal: lives forever */
    return &names[n++];
}

static h2o_headers_command_t *commands(int pages)
{
    /* h2o keeps the array: one per kind, built once (configuration runs
     * on the main thread before any loop starts). */
    static h2o_headers_command_t cmds[2][NHEADERS + 1];
    h2o_headers_command_t *c = cmds[pages ? 1 : 0];
    if (c[0].cmd != H2O_HEADERS_CMD_NULL)
        return c;
    const char *csp = pages ? API_CSP_PAGES : API_CSP_DATA;
    c[0] = (h2o_headers_command_t){H2O_HEADERS_CMD_SET, header_name("x-content-type-options"), {H2O_STRLIT("nosniff")}};
    c[1] = (h2o_headers_command_t){H2O_HEADERS_CMD_SET, header_name("referrer-policy"), {H2O_STRLIT("same-origin")}};
    c[2] = (h2o_headers_command_t){H2O_HEADERS_CMD_SET, header_name("content-security-policy"),
                                   h2o_iovec_init(csp, strlen(csp))};
    /* frame-ancestors' predecessor, for browsers without CSP level 2. */
    c[3] = (h2o_headers_command_t){H2O_HEADERS_CMD_SET, header_name("x-frame-options"), {H2O_STRLIT("DENY")}};
    c[NHEADERS].cmd = H2O_HEADERS_CMD_NULL;
    return c;
}

void api_harden_path(h2o_pathconf_t *pc, int pages)
{
    h2o_headers_register(pc, commands(pages));
    /* Every path answers requests, so every path keeps the HTTP/1 head
     * check armed after its answers (api/framing.h). */
    api_framing_path(pc);
}
