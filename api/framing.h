/* framing.h — every HTTP/1.x request head is checked for an unambiguous
 * length before h2o parses it (issue 14, "conflicting Content-Length").
 *
 * Debian's h2o 2.2.5 frames a request by its first Content-Length and
 * never shows the others to a handler; it lets Transfer-Encoding win over
 * Content-Length and accepts folded lines. Behind a proxy that reads them
 * otherwise, a second request hides in the first one's body and runs
 * (request smuggling). common/http1_framing.h says which heads are
 * ambiguous; this module runs it on the raw bytes, where h2o would:
 *
 *   - Reads. After h2o_accept the socket's read callback is wrapped. While
 *     a connection waits for a request head, each read scans the head so
 *     far (resuming where the last read stopped; at most
 *     API_FRAMING_HEAD_MAX bytes) before h2o's own callback sees it. An
 *     ambiguous head is answered 400 (problem+json, code
 *     malformed_framing, Connection: close), a head without an end within
 *     the bound 431 (headers_too_large), and then h2o is told the read
 *     failed, so it closes the connection on its own path without reading
 *     a body. Once a head is good the wrapper steps aside (bodies are not
 *     heads) until the answer is written.
 *   - Keep-alive and pipelining. h2o re-arms its own read callback after
 *     each answer, and parses bytes already buffered (a pipelined request)
 *     at once, without a read. So a filter on every path (added by
 *     api_harden_path) sees each HTTP/1 answer's last send: there the
 *     request's end in the input buffer is known (its body, or the head
 *     scanned before), and whatever follows is scanned as the next head
 *     before h2o can parse it; if that head is ambiguous the answer goes out
 *     with Connection: close and the next request never runs. Then the
 *     answer's write callback is wrapped, and when h2o has re-armed its
 *     read callback the wrapper goes back on. Where the request's end
 *     cannot be told, the connection is closed after the answer (fails
 *     closed).
 *   - HTTP/2 (prior knowledge, or after an h2c upgrade) is left alone:
 *     frames carry the lengths, and h2o checks content-length against the
 *     DATA it gets (a mismatch resets the stream).
 *
 * State: one small block per connection, owned by the socket (freed by
 * its on_close hook, which h2o's server sockets do not use). */
#ifndef PUNYAKA_API_FRAMING_H
#define PUNYAKA_API_FRAMING_H

#include <h2o.h>

/* The head bound: the header fields the API reads (16 KiB, routes.c) and a
 * request line of up to 8 KiB. */
#define API_FRAMING_HEAD_MAX ((16 + 8) * 1024)

/* Every accepted plain-TCP socket, right after h2o_accept (main.c). */
void api_framing_accepted(h2o_socket_t *sock);
/* The answer-side half, on a path (api_harden_path calls it for each). */
void api_framing_path(h2o_pathconf_t *pc);
/* Connections refused for an ambiguous or oversized head (all threads). */
unsigned long api_framing_refused_total(void);

#endif
