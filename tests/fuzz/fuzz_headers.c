/* fuzz_headers — the request headers the API parses itself:
 *   Cookie          api_session_cookie (api/session.c): the session token
 *   Prefer          parse_prefer (api/command.c): respond-async, wait=N
 *   Idempotency-Key command_id_for (api/command.c): the command id
 *   X-Request-Id    api_request_id (api/http.c): kept when sane, else drawn
 *   X-CSRF-Token    api_session_csrf_ok (api/session.c)
 *   Content-Type    api_json_body_or_reply (api/http.c), with the body and a
 *                   small body limit so the oversize diagnosis runs too.
 * api/command.c is included for its static parsers (the harness's copy
 * replaces the archive's at link time); nothing in the API changes.
 * Input: the header values separated by '\n' in the order above (a missing
 * one is absent), the rest is the body. */
#include "api/command.c"

#include <stdlib.h>
#include "api/http.h"
#include "api/session.h"
#include "tests/fuzz/fuzz_support.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_init();
    return 0;
}

static const char *const HEADERS[] = {"cookie", "prefer", "idempotency-key", "x-request-id", "x-csrf-token",
                                      "content-type"};
#define N_HEADERS (sizeof(HEADERS) / sizeof(HEADERS[0]))

/* Splits data into the headers and the body of a new request. */
static void build(h2o_req_t *req, const uint8_t *data, size_t size)
{
    fuzz_req_init(req);
    fuzz_req_set_path(req, H2O_STRLIT("/api/bookings/"));
    req->method = h2o_iovec_init(H2O_STRLIT("POST"));
    const uint8_t *p = data, *end = data + size;
    for (size_t i = 0; i < N_HEADERS && p < end; i++) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        const uint8_t *stop = nl ? nl : end;
        if (stop > p)
            fuzz_req_add_header(req, HEADERS[i], (const char *)p, (size_t)(stop - p));
        p = nl ? nl + 1 : end;
    }
    req->entity = h2o_strdup(&req->pool, (const char *)p, (size_t)(end - p));
}

static void headers(const uint8_t *data, size_t size)
{
    h2o_req_t req;
    build(&req, data, size);
    h2o_iovec_t token = api_session_cookie(&req);
    if (token.len && token.len != API_TOKEN_CHARS - 1)
        abort();
    bool async;
    int slot = parse_prefer(&req, &async);
    if (slot < 0 || slot >= WAIT_SLOTS)
        abort();
    pk_uuid a, b;
    api_command cmd = {.type = "booking.create", .key_ids = {.priest_id = 7}, .actor_id = 7, .actor_role = "customer"};
    command_id_for(&req, &cmd, &a);
    cmd.actor_id = 0;
    command_id_for(&req, &cmd, &b);
    const char *id = api_request_id(&req);
    if (!id || strlen(id) == 0 || strlen(id) > 63 || api_request_id(&req) != id)
        abort();
    api_session s = {.user_id = 7, .role = "customer", .csrf = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"};
    (void)api_session_csrf_ok(&req, &s);
    api_session none = {0};
    if (api_session_csrf_ok(&req, &none))
        abort();   /* an empty token never matches */
    fuzz_req_dispose(&req);
}

/* The body as a handler receives it: a JSON object, or an answer (4xx). */
static void body(const uint8_t *data, size_t size, int limit)
{
    h2o_req_t req;
    build(&req, data, size);
    int saved = g_api.cfg.max_body_bytes;
    g_api.cfg.max_body_bytes = limit;
    json_t *b = api_json_body_or_reply(&req);
    g_api.cfg.max_body_bytes = saved;
    int status = fuzz_req_status(&req);
    if (b ? status != 0 || !json_is_object(b) : status < 400 || status >= 500)
        abort();
    json_decref(b);
    fuzz_req_dispose(&req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    headers(data, size);
    body(data, size, 65536);
    body(data, size, 16);
    return 0;
}
