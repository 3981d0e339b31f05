#include "common/http1_framing.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

/* h2o switches a connection to HTTP/2 when it starts with this (lib/http1.c). */
static const char PREFACE[] = "PRI * HTTP/2";

static pk_framing bad(pk_framing_scan *scan, const char *why)
{
    scan->why = why;
    return PK_FRAMING_BAD;
}

/* picohttpparser skips one empty line before the request line (clients
 * that add CRLF after a POST body). Sets *more when the first bytes cannot
 * tell yet. */
static size_t leading_skip(const char *b, size_t n, int *more)
{
    if (n == 0 || (b[0] == '\r' && n < 2)) {
        *more = 1;
        return 0;
    }
    if (b[0] == '\n')
        return 1;
    return b[0] == '\r' && b[1] == '\n' ? 2 : 0;
}

/* Offset just past the first empty line after the request line (an LF or
 * CRLF line, as picohttpparser reads lines), or 0 when it is not in b yet;
 * then *resume is the start of the line still incomplete, so bytes already
 * searched are not searched again when more arrive. */
static size_t find_head_end(const char *b, size_t n, size_t request_line, size_t *resume)
{
    size_t pos = *resume > request_line ? *resume : request_line;
    while (pos < n) {
        const char *nl = memchr(b + pos, '\n', n - pos);
        if (!nl)
            break;
        size_t line_len = (size_t)(nl - (b + pos));
        if (pos != request_line && (line_len == 0 || (line_len == 1 && b[pos] == '\r')))
            return (size_t)(nl - b) + 1;
        pos = (size_t)(nl - b) + 1;
    }
    *resume = pos;
    return 0;
}

static void trim_ows(const char **v, size_t *len)
{
    while (*len && (**v == ' ' || **v == '\t')) {
        (*v)++;
        (*len)--;
    }
    while (*len && ((*v)[*len - 1] == ' ' || (*v)[*len - 1] == '\t'))
        (*len)--;
}

/* Content-Length = 1*DIGIT; 19 digits fit in 64 bits (and are far beyond
 * any body h2o accepts). */
static int parse_length(const char *v, size_t len, uint64_t *out)
{
    if (len == 0 || len > 19)
        return 0;
    uint64_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return 0;
        n = n * 10 + (uint64_t)(v[i] - '0');
    }
    *out = n;
    return 1;
}

static int name_is(const char *name, size_t len, const char *want)
{
    return len == strlen(want) && strncasecmp(name, want, len) == 0;
}

typedef struct {
    int cl_lines, te_lines;
    uint64_t length;
} framing_fields;

/* One field line (no line ending). Lines without a colon are h2o's to refuse. */
static pk_framing check_field(const char *line, size_t len, framing_fields *f, pk_framing_scan *scan)
{
    if (line[0] == ' ' || line[0] == '\t')
        return bad(scan, "a folded header line (obs-fold)");
    const char *colon = memchr(line, ':', len);
    if (!colon)
        return PK_FRAMING_OK;
    size_t name_len = (size_t)(colon - line), value_len = len - name_len - 1;
    if (name_is(line, name_len, "transfer-encoding"))
        return f->te_lines++ ? bad(scan, "Transfer-Encoding on more than one line") : PK_FRAMING_OK;
    if (!name_is(line, name_len, "content-length"))
        return PK_FRAMING_OK;   /* the common case: length first, no copy, no trim */
    const char *value = colon + 1;
    uint64_t n;
    trim_ows(&value, &value_len);
    if (!parse_length(value, value_len, &n))
        return bad(scan, "Content-Length is not a single decimal number");
    if (f->cl_lines++ && n != f->length)
        return bad(scan, "conflicting Content-Length headers");
    f->length = n;
    return PK_FRAMING_OK;
}

/* The field lines between the request line and the empty line at end. */
static pk_framing check_fields(const char *b, size_t request_line, size_t end, pk_framing_scan *scan)
{
    framing_fields f = {0};
    const char *nl = memchr(b + request_line, '\n', end - request_line);
    size_t pos = (size_t)(nl - b) + 1;
    for (;;) {
        nl = memchr(b + pos, '\n', end - pos);
        size_t len = (size_t)(nl - (b + pos));
        if (len && b[pos + len - 1] == '\r')
            len--;
        if (len == 0)
            break;   /* the empty line: find_head_end put `end` just past it */
        if (check_field(b + pos, len, &f, scan) != PK_FRAMING_OK)
            return PK_FRAMING_BAD;
        pos = (size_t)(nl - b) + 1;
    }
    if (f.cl_lines && f.te_lines)
        return bad(scan, "both Transfer-Encoding and Content-Length");
    return PK_FRAMING_OK;
}

pk_framing pk_http1_framing(const char *buf, size_t len, size_t max_head, pk_framing_scan *scan)
{
    size_t preface = sizeof(PREFACE) - 1;
    if (len == 0)
        return PK_FRAMING_INCOMPLETE;
    if (memcmp(buf, PREFACE, len < preface ? len : preface) == 0)
        return len < preface ? PK_FRAMING_INCOMPLETE : PK_FRAMING_NOT_HTTP1;
    size_t n = len < max_head ? len : max_head;
    int more = 0;
    size_t request_line = leading_skip(buf, n, &more);
    if (more)
        return len >= max_head ? PK_FRAMING_TOO_LARGE : PK_FRAMING_INCOMPLETE;
    size_t end = find_head_end(buf, n, request_line, &scan->resume);
    if (!end)
        return len >= max_head ? PK_FRAMING_TOO_LARGE : PK_FRAMING_INCOMPLETE;
    scan->head_len = end;
    return check_fields(buf, request_line, end, scan);
}
