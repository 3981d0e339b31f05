/* fuzz_framing — common/http1_framing.c against h2o's own parser.
 *
 * For any bytes: no crash; the verdict does not depend on how the bytes
 * arrive (whole, or in two reads with the scan resumed); and wherever
 * picohttpparser (what h2o 2.2.5 runs, exported by libh2o-evloop) parses a
 * whole head, the scanner ends it at the same byte (so the API knows where
 * a body and a pipelined request start) and never passes a head whose
 * fields, as h2o reads them, carry two different Content-Length values or
 * Transfer-Encoding with Content-Length. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "common/http1_framing.h"
#include "tests/fuzz/fuzz_support.h"

/* picohttpparser's interface (Debian ships the library's symbols, not its header). */
struct phr_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};
int phr_parse_request(const char *buf, size_t len, const char **method, size_t *method_len, const char **path,
                      size_t *path_len, int *minor_version, struct phr_header *headers, size_t *num_headers,
                      size_t last_len);
size_t h2o_strtosize(const char *s, size_t len);

#define MAX_HEAD 4096
#define MAX_HEADERS 100   /* H2O_MAX_HEADERS */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_init();
    return 0;
}

static int named(const struct phr_header *h, const char *name)
{
    return h->name && h->name_len == strlen(name) && strncasecmp(h->name, name, h->name_len) == 0;
}

/* What h2o would frame ambiguously: two Content-Length values, or
 * Transfer-Encoding beside Content-Length. */
static int ambiguous_for_h2o(const struct phr_header *h, size_t n)
{
    size_t cl_lines = 0, te_lines = 0, first = 0;
    for (size_t i = 0; i < n; i++) {
        if (named(&h[i], "content-length")) {
            size_t len = h[i].value_len;   /* a field value ends before trailing whitespace (RFC 9110 §5.5) */
            while (len && (h[i].value[len - 1] == ' ' || h[i].value[len - 1] == '\t'))
                len--;
            size_t v = h2o_strtosize(h[i].value, len);
            if (cl_lines++ == 0)
                first = v;
            else if (v != first)
                return 1;
        } else if (named(&h[i], "transfer-encoding")) {
            te_lines++;
        }
    }
    return cl_lines && te_lines;
}

/* picohttpparser answers "incomplete" when fewer than 9 bytes follow the
 * path, even if a line ends among them; such a request line can never
 * become valid (h2o then answers 400), so the scanner's end is harmless.
 * Here: whatever follows, does h2o ever read a whole head from these bytes? */
static int completes_later(const char *buf, size_t size)
{
    static const char more[] = "HTTP/1.1\r\nX: y\r\n\r\n";
    char *b = malloc(size + sizeof(more));
    memcpy(b, buf, size);
    memcpy(b + size, more, sizeof(more) - 1);
    const char *method, *path;
    size_t method_len, path_len, n = MAX_HEADERS;
    int minor;
    struct phr_header headers[MAX_HEADERS];
    int r = phr_parse_request(b, size + sizeof(more) - 1, &method, &method_len, &path, &path_len, &minor, headers, &n, 0);
    free(b);
    return r > 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    pk_framing_scan whole = {0};
    pk_framing v = pk_http1_framing(buf, size, MAX_HEAD, &whole);

    /* the same bytes in two reads */
    size_t cut = size ? data[0] % (size + 1) : 0;
    pk_framing_scan parts = {0};
    pk_framing w = pk_http1_framing(buf, cut, MAX_HEAD, &parts);
    if (w == PK_FRAMING_INCOMPLETE) {
        if (parts.resume > cut)
            abort();
        w = pk_http1_framing(buf, size, MAX_HEAD, &parts);
    }
    /* a verdict on a prefix holds for the whole, and resuming changes nothing */
    if (w != v || (v == PK_FRAMING_OK && parts.head_len != whole.head_len))
        abort();

    const char *method, *path;
    size_t method_len, path_len, n = MAX_HEADERS;
    int minor;
    struct phr_header headers[MAX_HEADERS];
    int reqlen = phr_parse_request(buf, size, &method, &method_len, &path, &path_len, &minor, headers, &n, 0);
    if (reqlen == -2 && v == PK_FRAMING_OK && completes_later(buf, size))
        abort();   /* the scanner ended a head h2o then reads further: it would have stopped looking */
    if (reqlen <= 0 || (size_t)reqlen > MAX_HEAD)
        return 0;
    if (v != PK_FRAMING_OK && v != PK_FRAMING_BAD)
        abort();   /* h2o has a whole head: so must the scanner */
    if (v == PK_FRAMING_OK && (whole.head_len != (size_t)reqlen || ambiguous_for_h2o(headers, n)))
        abort();
    return 0;
}
