/* sse.h — a Server-Sent Events client over HTTP/1.1 for the tests of
 * GET /api/stream/ (api/stream.h): the raw socket, chunked decoding and the
 * event blocks, as a browser's EventSource receives them. Helpers that
 * assert fail the running cmocka test. */
#ifndef PUNYAKA_TEST_SSE_H
#define PUNYAKA_TEST_SSE_H

#include <stddef.h>
#include "tests/support/calls.h"

typedef struct {
    int fd;
    int status;
    char head[4096];     /* the response head, lower-cased */
    char raw[1 << 16];   /* chunked bytes not yet decoded */
    size_t rlen;
    char body[1 << 17];  /* the event stream, decoded */
    size_t blen;
    int ended;           /* the last chunk (or EOF) came */
} sse;

typedef struct {
    long long id;   /* -1 without an id field */
    char event[32];
    char data[8192];
} sse_event;

/* Monotonic milliseconds. */
long long sse_now_ms(void);

/* GET `path` on the stack's API as `who` (NULL: anonymous) with `extra`
 * header lines; reads the response head (a 200 must be an uncompressed,
 * chunked, no-store event stream). Returns the status; the connection
 * stays open on 200. */
int sse_open(sse *c, const it_actor *who, const char *path, const char *extra);

void sse_close(sse *c);

/* The next event (comments and retry-only blocks skipped) within
 * timeout_ms: 1, 0 when the stream ended, -1 when none came. */
int sse_next(sse *c, int timeout_ms, sse_event *ev);

#endif
