/* http1_framing.h — is an HTTP/1.x request head's body length unambiguous?
 *
 * A request's length must be read the same way by every hop, or a proxy
 * in front of the API and the API disagree on where one request ends and
 * the next begins (request smuggling). Debian's h2o 2.2.5 frames by the
 * first Content-Length and drops the rest, lets Transfer-Encoding win over
 * Content-Length, and accepts folded (obs-fold) lines, so a proxy that
 * reads the last Content-Length, or the Content-Length, or the folded
 * value, forwards requests h2o splits differently. This scanner reads a
 * raw head before h2o does (api/framing.h) and refuses, per RFC 9112
 * §6.3 and §5.2:
 *   - Content-Length lines that disagree (identical ones are one length,
 *     which RFC 9110 §8.6 lets us accept: every reader frames them alike);
 *   - a Content-Length that is not 1*DIGIT (a list "5, 6", "0x10", "+5",
 *     empty, more than 19 digits);
 *   - Transfer-Encoding together with Content-Length, and Transfer-Encoding
 *     on more than one line;
 *   - obs-fold (a line starting with SP or HTAB continues the previous
 *     field; readers disagree on it, RFC 9112 §5.2 allows a 400).
 * It does not judge what h2o refuses on its own anyway (a Transfer-Encoding
 * other than "chunked", bad request lines, NUL bytes): those get h2o's 400.
 *
 * The head ends where picohttpparser (h2o's parser) ends it: lines end in
 * LF or CRLF, one empty line before the request line is skipped, and the
 * first empty line after it ends the head. So head_len is the offset of
 * the first body byte exactly as h2o counts it (tests/fuzz/fuzz_framing.c
 * checks this against h2o's own parser).
 *
 * Pure: no I/O, no allocation; a head is scanned at most once past the
 * point where it is complete (the caller keeps `resume` between reads of
 * a head arriving in pieces). */
#ifndef PUNYAKA_COMMON_HTTP1_FRAMING_H
#define PUNYAKA_COMMON_HTTP1_FRAMING_H

#include <stddef.h>

typedef enum {
    PK_FRAMING_INCOMPLETE,  /* no end of head yet, and under the bound: read more */
    PK_FRAMING_OK,          /* a whole head, length unambiguous; head_len is set */
    PK_FRAMING_BAD,         /* answer 400 and close; `why` says what */
    PK_FRAMING_TOO_LARGE,   /* no end of head within max_head bytes: 431 and close */
    PK_FRAMING_NOT_HTTP1,   /* the HTTP/2 connection preface ("PRI * HTTP/2") */
} pk_framing;

typedef struct {
    size_t resume;    /* in/out: where the search for the end of the head goes on (0 at first) */
    size_t head_len;  /* out (OK): bytes of the head, up to and including its empty line */
    const char *why;  /* out (BAD): a short reason, a static string */
} pk_framing_scan;

/* Scans buf[0..len) (the start of a request head) for at most max_head
 * bytes. Call again with the same scan and more bytes while INCOMPLETE. */
pk_framing pk_http1_framing(const char *buf, size_t len, size_t max_head, pk_framing_scan *scan);

#endif
