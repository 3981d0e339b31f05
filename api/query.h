/* query.h — reading the query string (?a=1&b=x) and answering list pages.
 *
 * Lists follow the seed's Django REST Framework shape:
 *   {"count": N, "next": url|null, "previous": url|null, "results": [...]}
 * with ?page= (from 1) and ?page_size= (1–100, default 20). Handlers let
 * PostgreSQL build `results` as one JSON text (json_agg), so a page costs one
 * query and one copy. */
#ifndef PUNYAKA_API_QUERY_H
#define PUNYAKA_API_QUERY_H

#include <stddef.h>
#include <stdint.h>
#include <h2o.h>
#include <jansson.h>

/* Percent-decodes the value of `name` into out (NUL-terminated). Returns 1
 * when present, 0 when absent, -1 when too long or badly escaped, -2 when
 * the decoded value is not valid UTF-8 or holds a NUL. The first
 * occurrence wins. */
int api_query_get(h2o_req_t *req, const char *name, char *out, size_t cap);

/* Integer parameter in [min, max]; absent ⇒ def. Returns 0, or -1 after
 * answering 422 naming the parameter. */
int api_query_int_or_reply(h2o_req_t *req, const char *name, int64_t min, int64_t max, int64_t def, int64_t *out);

/* Text parameter, ≤ cap-1 bytes, one line (pk_check_line); absent ⇒ "".
 * Returns 0, or -1 after answering 422 — or 400 malformed_query naming the
 * parameter when it is not valid UTF-8 (also for the int and bool forms). */
int api_query_text_or_reply(h2o_req_t *req, const char *name, char *out, size_t cap);

/* Boolean parameter: out is "true", "false", or "" when absent (out needs
 * 6 bytes). Returns 0, or -1 after answering 422 "must be true or false". */
int api_query_bool_or_reply(h2o_req_t *req, const char *name, char out[6]);

typedef struct {
    int64_t page;       /* 1-based */
    int64_t size;
    int64_t offset;     /* (page - 1) * size, for SQL OFFSET */
} api_page;

/* ?page and ?page_size. Returns 0, or -1 after answering 422. */
int api_page_or_reply(h2o_req_t *req, api_page *p);

/* Answers 200 with {count, next, previous, results} where results_json is a
 * JSON array text; next/previous keep the other query parameters. */
void api_reply_page(h2o_req_t *req, const api_page *p, int64_t count, const char *results_json);
/* The same page document, for callers that answer it themselves (e.g. with
 * an ETag). Returns a new reference. */
json_t *api_page_doc(h2o_req_t *req, const api_page *p, int64_t count, const char *results_json);
/* The same document as text (malloc'd; NULL when out of memory), with
 * results_json spliced in as it is instead of parsed and printed again:
 * for JSON that PostgreSQL built (api/reads.c), where a parse and a dump of
 * every page cost a quarter of the API's CPU under load (docs/performance.md). */
char *api_page_text(h2o_req_t *req, const api_page *p, int64_t count, const char *results_json);

#endif
