#include "api/resets.h"

#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include "api/server.h"
#include "common/clock.h"

/* ---- abandoned requests per HTTP/2 connection ---- */

#define COUNT_SLOTS 64

typedef struct {
    uint64_t conn_id;     /* 0: free */
    int64_t window_start_ms;
    int abandoned;
    bool shut;            /* already shut down: h2o may still be reading what it had buffered */
} conn_count;

static _Thread_local conn_count counts[COUNT_SLOTS];
static atomic_ulong closed_total;

static int64_t window_ms(void)
{
    return (int64_t)g_api.cfg.h2_reset_window_s * 1000;
}

static conn_count *count_for(uint64_t conn_id, bool create)
{
    conn_count *oldest = &counts[0];
    for (int i = 0; i < COUNT_SLOTS; i++) {
        if (counts[i].conn_id == conn_id)
            return &counts[i];
        if (counts[i].window_start_ms < oldest->window_start_ms)
            oldest = &counts[i];
    }
    if (!create)
        return NULL;
    *oldest = (conn_count){.conn_id = conn_id, .window_start_ms = pk_monotonic_ms()};
    return oldest;
}

void api_resets_abandoned(uint64_t conn_id)
{
    conn_count *c = count_for(conn_id, true);
    int64_t now = pk_monotonic_ms();
    if (now - c->window_start_ms > window_ms()) {
        c->window_start_ms = now;
        c->abandoned = 0;
    }
    c->abandoned++;
}

/* ---- the socket of a connection, by its peer ----
 * h2o 2.2's public API gives a request its connection but not that
 * connection's socket, and its HTTP/2 internals need headers Debian does
 * not ship. The TCP peer (address and port) names a live connection
 * uniquely on this listener, so the loop remembers, per accepted socket,
 * its peer and fd; a stale slot is detected by asking the fd for its peer
 * again before use. */

#define FD_SLOTS 4096

typedef struct {
    int fd;   /* -1 / 0 when free */
    struct sockaddr_storage peer;
    socklen_t len;
} peer_fd;

static _Thread_local peer_fd fds[FD_SLOTS];

static size_t peer_slot(const struct sockaddr *sa, socklen_t len)
{
    uint64_t h = 1469598103934665603ull;   /* FNV-1a over the address bytes */
    for (socklen_t i = 0; i < len; i++)
        h = (h ^ ((const unsigned char *)sa)[i]) * 1099511628211ull;
    return (size_t)(h % FD_SLOTS);
}

void api_resets_accepted(h2o_socket_t *sock)
{
    peer_fd p = {.fd = h2o_socket_get_fd(sock), .len = sizeof(p.peer)};
    if (p.fd < 0 || getpeername(p.fd, (struct sockaddr *)&p.peer, &p.len) != 0)
        return;
    fds[peer_slot((struct sockaddr *)&p.peer, p.len)] = p;
}

static int fd_of(h2o_conn_t *conn)
{
    struct sockaddr_storage peer, now;
    socklen_t len = conn->callbacks->get_peername(conn, (struct sockaddr *)&peer), now_len = sizeof(now);
    if (!len)
        return -1;
    const peer_fd *p = &fds[peer_slot((struct sockaddr *)&peer, len)];
    if (p->len != len || memcmp(&p->peer, &peer, len) != 0)
        return -1;
    if (getpeername(p->fd, (struct sockaddr *)&now, &now_len) != 0 || now_len != len || memcmp(&now, &peer, len) != 0)
        return -1;   /* that fd is closed or belongs to another connection now */
    return p->fd;
}

/* Shutting the socket down (not closing it: the fd stays h2o's) makes
 * h2o's next read fail, and h2o closes the connection on its own path,
 * releasing every stream. */
bool api_resets_over_bound(h2o_req_t *req)
{
    if (req->version < 0x200)
        return false;
    conn_count *c = count_for(req->conn->id, false);
    if (!c || c->abandoned <= g_api.cfg.h2_reset_max || pk_monotonic_ms() - c->window_start_ms > window_ms())
        return false;
    int fd = c->shut ? -1 : fd_of(req->conn);
    if (fd >= 0 && shutdown(fd, SHUT_RDWR) == 0) {
        c->shut = true;
        atomic_fetch_add(&closed_total, 1);
    }
    return true;
}

unsigned long api_resets_closed_total(void)
{
    return atomic_load(&closed_total);
}
