#include "api/framing.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include "api/hardening.h"
#include "common/http1_framing.h"

enum { PHASE_HEAD, PHASE_BUSY, PHASE_PASS };

/* Per connection. h2o owns the socket; we borrow its read and write
 * callbacks for a moment and always hand them back. */
typedef struct {
    h2o_socket_cb h2o_read, h2o_write;   /* h2o's callbacks we stand in front of */
    pk_framing_scan scan;                /* the head being read (PHASE_HEAD) */
    size_t head_len;                     /* the current request's head, 0 unknown */
    int phase;                           /* HEAD: next bytes are a head; BUSY: h2o has one; PASS: HTTP/2 */
    int after;                           /* the phase once h2o re-arms after the answer */
    int depth;                           /* calls into h2o in progress (it may close the socket) */
    bool closed;
    char answer[1024];                   /* the refusal, alive until the socket is */
} guard;

static atomic_ulong refused_total;

static void on_read(h2o_socket_t *sock, const char *err);
static void on_written(h2o_socket_t *sock, const char *err);

static void on_close(void *data)
{
    guard *g = data;
    g->closed = true;
    if (g->depth == 0)
        free(g);
}

static guard *guard_of(h2o_socket_t *sock)
{
    return sock->on_close.cb == on_close ? sock->on_close.data : NULL;
}

/* Around every call into h2o: it may close the socket, and so free g. */
static void enter(guard *g)
{
    g->depth++;
}

static bool leave(guard *g)
{
    if (--g->depth == 0 && g->closed) {
        free(g);
        return false;
    }
    return !g->closed;
}

/* h2o armed its own read callback (after an answer, or for a pipelined
 * request's body): stand in front of it again. */
static void rewrap(guard *g, h2o_socket_t *sock)
{
    if (g->phase == PHASE_PASS || sock->_cb.read == NULL || sock->_cb.read == on_read)
        return;
    g->phase = g->after;
    g->after = PHASE_HEAD;
    if (g->phase == PHASE_PASS)
        return;
    g->h2o_read = sock->_cb.read;
    sock->_cb.read = on_read;
}

void api_framing_accepted(h2o_socket_t *sock)
{
    if (sock->on_close.cb != NULL || sock->_cb.read == NULL)
        return;   /* not a fresh HTTP/1 connection (TLS handshake, proxy line…) */
    guard *g = calloc(1, sizeof(*g));
    if (!g) {
        h2o_socket_close(sock);   /* an unchecked connection is not served */
        return;
    }
    g->h2o_read = sock->_cb.read;
    sock->_cb.read = on_read;
    sock->on_close.cb = on_close;
    sock->on_close.data = g;
}

/* ---- refusing a head ---- */

static int format_answer(char *out, size_t cap, pk_framing verdict, const char *why)
{
    int too_large = verdict == PK_FRAMING_TOO_LARGE;
    const char *detail = too_large ? "the request's head exceeds 24 KiB" : why;   /* also `message` (seed dialect) */
    char body[640];
    int n = snprintf(body, sizeof(body),
                     "{\"type\":\"https://punyaka.dev/problems/%s\",\"title\":\"%s\",\"status\":%d,\"code\":\"%s\","
                     "\"detail\":\"%s\",\"message\":\"%s\",\"errors\":{}}",
                     too_large ? "headers-too-large" : "malformed-framing",
                     too_large ? "Request header fields too large" : "Malformed request framing", too_large ? 431 : 400,
                     too_large ? "headers_too_large" : "malformed_framing", detail, detail);
    return snprintf(out, cap,
                    "HTTP/1.1 %s\r\nContent-Type: application/problem+json\r\nContent-Length: %d\r\n"
                    "Connection: close\r\nServer: punyaka\r\nCache-Control: no-store\r\n"
                    "X-Content-Type-Options: nosniff\r\nReferrer-Policy: same-origin\r\nX-Frame-Options: DENY\r\n"
                    "Content-Security-Policy: " API_CSP_DATA "\r\n\r\n%s",
                    too_large ? "431 Request Header Fields Too Large" : "400 Bad Request", n, body);
}

/* The answer is out: h2o is told its read failed and closes the
 * connection on its own path (its request state, timers, socket). */
static void on_refused(h2o_socket_t *sock, const char *err)
{
    (void)err;
    guard *g = guard_of(sock);
    enter(g);
    g->h2o_read(sock, "ambiguous request framing");
    leave(g);
}

static void refuse(guard *g, h2o_socket_t *sock, pk_framing verdict)
{
    atomic_fetch_add(&refused_total, 1);
    h2o_socket_read_stop(sock);
    if (sock->_cb.write != NULL) {   /* never the case while a head is awaited; close unanswered */
        on_refused(sock, NULL);
        return;
    }
    int n = format_answer(g->answer, sizeof(g->answer), verdict, g->scan.why);
    h2o_iovec_t buf = h2o_iovec_init(g->answer, (size_t)n);
    h2o_socket_write(sock, &buf, 1, on_refused);
}

/* ---- reads ---- */

static void on_read(h2o_socket_t *sock, const char *err)
{
    guard *g = guard_of(sock);
    if (err == NULL && g->phase == PHASE_HEAD) {
        pk_framing v = pk_http1_framing(sock->input->bytes, sock->input->size, API_FRAMING_HEAD_MAX, &g->scan);
        if (v == PK_FRAMING_BAD || v == PK_FRAMING_TOO_LARGE) {
            refuse(g, sock, v);
            return;
        }
        if (v == PK_FRAMING_OK) {
            g->phase = PHASE_BUSY;
            g->head_len = g->scan.head_len;
            g->scan = (pk_framing_scan){0};
        } else if (v == PK_FRAMING_NOT_HTTP1) {
            g->phase = PHASE_PASS;   /* h2o turns it into an HTTP/2 connection */
            sock->_cb.read = g->h2o_read;
        }
    }
    h2o_socket_cb h2o_read = g->h2o_read;
    enter(g);
    h2o_read(sock, err);
    if (leave(g))
        rewrap(g, sock);
}

/* ---- answers ---- */

/* Where this request ends in the input buffer (h2o consumes that much
 * after the answer), or 0 when it cannot be told. The body, when there is
 * one, lies in the buffer (h2o decodes a chunked one in place). */
static size_t request_end(const guard *g, const h2o_req_t *req, const h2o_buffer_t *in)
{
    if (req->entity.base == NULL)
        return g->head_len <= in->size ? g->head_len : 0;
    if (req->entity.base < in->bytes || req->entity.base + req->entity.len > in->bytes + in->size)
        return 0;
    return (size_t)(req->entity.base + req->entity.len - in->bytes);
}

/* Before the last send of a kept-alive answer: scan what follows the
 * request (pipelined bytes) as the next head, since h2o will parse it
 * straight from the buffer. */
static void look_ahead(guard *g, h2o_socket_t *sock, h2o_req_t *req)
{
    size_t end = request_end(g, req, sock->input);
    g->head_len = 0;
    g->scan = (pk_framing_scan){0};
    g->after = PHASE_HEAD;
    if (end == 0) {
        req->http1_is_persistent = 0;   /* the next request's start is unknown: serve none */
        return;
    }
    if (end == sock->input->size)
        return;
    pk_framing v = pk_http1_framing(sock->input->bytes + end, sock->input->size - end, API_FRAMING_HEAD_MAX, &g->scan);
    if (v == PK_FRAMING_OK) {
        g->after = PHASE_BUSY;
        g->head_len = g->scan.head_len;
        g->scan = (pk_framing_scan){0};
    } else if (v == PK_FRAMING_NOT_HTTP1) {
        g->after = PHASE_PASS;
    } else if (v != PK_FRAMING_INCOMPLETE) {
        atomic_fetch_add(&refused_total, 1);
        req->http1_is_persistent = 0;   /* this answer is the connection's last */
    }
}

typedef struct {
    h2o_ostream_t super;
    h2o_socket_t *sock;
} guard_ostream;

static void do_send(h2o_ostream_t *_self, h2o_req_t *req, h2o_iovec_t *bufs, size_t bufcnt, h2o_send_state_t state)
{
    guard_ostream *self = (void *)_self;
    h2o_socket_t *sock = self->sock;   /* self lives in req's pool, which the send may clear */
    guard *g = guard_of(sock);
    if (g == NULL || h2o_send_state_is_in_progress(state)) {
        h2o_ostream_send_next(&self->super, req, bufs, bufcnt, state);
        return;
    }
    if (req->http1_is_persistent)
        look_ahead(g, sock, req);
    enter(g);
    h2o_ostream_send_next(&self->super, req, bufs, bufcnt, state);
    if (!leave(g))
        return;
    if (sock->_cb.write != NULL && sock->_cb.write != on_written) {
        g->h2o_write = sock->_cb.write;   /* h2o's on_send_complete: it re-arms reading */
        sock->_cb.write = on_written;
    }
    rewrap(g, sock);   /* h2o finished synchronously (an empty last send) */
}

static void on_written(h2o_socket_t *sock, const char *err)
{
    guard *g = guard_of(sock);
    h2o_socket_cb h2o_write = g->h2o_write;
    g->h2o_write = NULL;
    enter(g);
    h2o_write(sock, err);
    if (leave(g))
        rewrap(g, sock);
}

static void on_setup_ostream(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    (void)self;
    h2o_socket_t *sock = NULL;
    if (req->version < 0x200 && req->conn->callbacks->get_socket != NULL)
        sock = req->conn->callbacks->get_socket(req->conn);
    if (sock != NULL && guard_of(sock) != NULL) {
        guard_ostream *os = (void *)h2o_add_ostream(req, sizeof(*os), slot);
        os->super.do_send = do_send;
        os->sock = sock;
        slot = &os->super.next;
    }
    h2o_setup_next_ostream(req, slot);
}

void api_framing_path(h2o_pathconf_t *pc)
{
    h2o_filter_t *f = h2o_create_filter(pc, sizeof(*f));
    f->on_setup_ostream = on_setup_ostream;
}

unsigned long api_framing_refused_total(void)
{
    return atomic_load(&refused_total);
}
