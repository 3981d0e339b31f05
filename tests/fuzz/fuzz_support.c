/* fuzz_support.c — see fuzz_support.h. Also defines what api/main.c (not
 * linked into harnesses: its main() is libFuzzer's) defines in the API:
 * g_api and api_thread_of. */
#include "tests/fuzz/fuzz_support.h"

#include <stdlib.h>
#include <arpa/inet.h>
#include <string.h>
#include <sodium.h>
#include "api/server.h"
#include "common/log.h"

api_server g_api;

/* A loop thread with no backends: harnesses never reach them (or stub them,
 * as fuzz_api_bodies does). */
static api_thread no_backends;

api_thread *api_thread_of(h2o_req_t *req)
{
    (void)req;
    return &no_backends;
}

void fuzz_init(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    setenv("PUNYAKA_LOG_LEVEL", "error", 0);
    pk_log_init("fuzz");
    char err[256];
    if (sodium_init() < 0 || pk_config_load(&g_api.cfg, err, sizeof(err)) != 0)
        abort();
}

/* The end of the output chain: h2o_send_inline (api/http.c's replies)
 * lands here. Only the fact and the status matter to the harnesses. */
static int answered_status;

static void capture_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t bufcnt,
                         h2o_send_state_t state)
{
    (void)self, (void)bufs, (void)bufcnt, (void)state;
    if (answered_status)
        abort();   /* answered twice */
    answered_status = req->res.status;
}

static h2o_ostream_t capture = {.do_send = capture_send};

/* The client: 127.0.0.1 (login keys its limits on the address). */
static socklen_t peer_name(h2o_conn_t *conn, struct sockaddr *sa)
{
    (void)conn;
    struct sockaddr_in *in = (struct sockaddr_in *)sa;
    memset(in, 0, sizeof(*in));
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sizeof(*in);
}

static const h2o_conn_callbacks_t conn_callbacks = {.get_peername = peer_name, .get_sockname = peer_name};
static h2o_conn_t no_conn = {.callbacks = &conn_callbacks};
static h2o_pathconf_t no_filters;   /* h2o_start_response walks pathconf->filters */

void fuzz_req_init(h2o_req_t *req)
{
    memset(req, 0, sizeof(*req));
    h2o_mem_init_pool(&req->pool);
    req->query_at = SIZE_MAX;
    req->pathconf = &no_filters;
    req->_ostr_top = &capture;
    req->conn = &no_conn;
    answered_status = 0;
}

int fuzz_req_status(h2o_req_t *req)
{
    (void)req;
    return answered_status;
}

void fuzz_req_set_path(h2o_req_t *req, const char *path, size_t len)
{
    req->path = h2o_strdup(&req->pool, path, len);
    req->path_normalized = req->path;
    const char *q = memchr(req->path.base, '?', len);
    req->query_at = q ? (size_t)(q - req->path.base) : SIZE_MAX;
}

void fuzz_req_add_header(h2o_req_t *req, const char *name, const char *value, size_t len)
{
    h2o_iovec_t v = h2o_strdup(&req->pool, value, len);
    h2o_add_header_by_str(&req->pool, &req->headers, name, strlen(name), 1, NULL, v.base, v.len);
}

void fuzz_req_dispose(h2o_req_t *req)
{
    h2o_mem_clear_pool(&req->pool);
}

char *fuzz_strndup(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = 0;
    return s;
}

const pk_config *fuzz_config(void)
{
    return &g_api.cfg;
}
