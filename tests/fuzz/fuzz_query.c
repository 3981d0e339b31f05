/* fuzz_query — api/query.c: the query string of any list request. The input
 * is everything after '?'. Each reader runs on its own request (an `_or_reply`
 * reader answers 422 on bad input, and a request is answered once):
 * api_query_get with small and large buffers, the int / text / bool readers,
 * ?page & ?page_size, and the next/previous links of a page document, which
 * copy the query string. Properties: a value read is NUL-free and fits its
 * buffer; a reader that fails has answered 422, one that succeeds has not
 * answered. */
#include <stdlib.h>
#include <string.h>
#include "api/query.h"
#include "tests/fuzz/fuzz_support.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_init();
    return 0;
}

static const char *const NAMES[] = {"page", "page_size", "search", "category", "is_active", "status", ""};

static void new_req(h2o_req_t *req, const uint8_t *data, size_t size)
{
    char *path = malloc(size + 16);
    memcpy(path, "/api/products/?", 15);
    memcpy(path + 15, data, size);
    fuzz_req_init(req);
    fuzz_req_set_path(req, path, size + 15);
    free(path);
}

/* rc: the reader's result; a 4xx must have been answered exactly when it
 * failed: 400 for bytes that are not text (malformed_query), 422 for a bad value. */
static void check_reply(h2o_req_t *req, int rc)
{
    int status = fuzz_req_status(req);
    if ((rc != 0 && status != 400 && status != 422) || (rc == 0 && status != 0))
        abort();
    fuzz_req_dispose(req);
}

static void plain_reads(const uint8_t *data, size_t size)
{
    h2o_req_t req;
    new_req(&req, data, size);
    for (size_t i = 0; i < sizeof(NAMES) / sizeof(NAMES[0]); i++) {
        char small[4], big[256];
        int rc = api_query_get(&req, NAMES[i], small, sizeof(small));
        if (rc == 1 && strlen(small) >= sizeof(small))
            abort();
        rc = api_query_get(&req, NAMES[i], big, sizeof(big));
        if (rc == 1 && strlen(big) >= sizeof(big))
            abort();
    }
    fuzz_req_dispose(&req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    h2o_req_t req;
    plain_reads(data, size);

    int64_t v;
    new_req(&req, data, size);
    int rc = api_query_int_or_reply(&req, "page_size", 1, 100, 20, &v);
    if (rc == 0 && (v < 1 || v > 100))
        abort();
    check_reply(&req, rc);

    char text[64];
    new_req(&req, data, size);
    rc = api_query_text_or_reply(&req, "search", text, sizeof(text));
    if (rc == 0)
        for (const char *c = text; *c; c++)
            if ((unsigned char)*c < ' ')
                abort();
    check_reply(&req, rc);

    char b[6];
    new_req(&req, data, size);
    rc = api_query_bool_or_reply(&req, "is_active", b);
    if (rc == 0 && *b && strcmp(b, "true") && strcmp(b, "false"))
        abort();
    check_reply(&req, rc);

    api_page p;
    new_req(&req, data, size);
    rc = api_page_or_reply(&req, &p);
    if (rc == 0) {
        if (p.page < 1 || p.size < 1 || p.size > 100 || p.offset != (p.page - 1) * p.size)
            abort();
        /* The spliced text is the document api_page_doc builds. */
        json_t *doc = api_page_doc(&req, &p, p.offset + p.size + 1, "[{\"id\": 1}]");
        char *spliced = api_page_text(&req, &p, p.offset + p.size + 1, "[{\"id\": 1}]");
        json_t *back = spliced ? json_loads(spliced, 0, NULL) : NULL;
        if (!back || !json_equal(doc, back))
            abort();
        json_decref(back);
        free(spliced);
        json_decref(doc);
    }
    check_reply(&req, rc);
    return 0;
}
