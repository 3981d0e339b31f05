/* http.h — answering requests: JSON bodies, RFC 9457 problem+json errors,
 * request body and path helpers. Every "…_or_reply" function answers the
 * error itself and returns -1, so handlers stay flat (Redis's *OrReply idiom). */
#ifndef PUNYAKA_API_HTTP_H
#define PUNYAKA_API_HTTP_H

#include <stdint.h>
#include <h2o.h>
#include <jansson.h>

/* Sends `body` (stolen: decref'd here) with the given status. */
void api_reply_json(h2o_req_t *req, int status, json_t *body);
/* Sends a raw JSON text already serialised (copied into the pool). */
void api_reply_raw(h2o_req_t *req, int status, const char *content_type, const char *body, size_t len);

/* Answers a JSON text with a strong ETag (BLAKE2b of the body) and
 * `Cache-Control: no-cache` (clients revalidate every time, so a catalog
 * change shows at once); a matching If-None-Match gets 304 and no body. */
void api_reply_json_etag(h2o_req_t *req, const char *body, size_t len);
/* The same, sending `gz` (the gzip of body, made once and kept: api/cache.h)
 * as the 200's body with Content-Encoding: gzip when gz is not NULL. The
 * ETag and the 304 are body's (api/compress.h weakens it for gzip clients):
 * `etag` when the caller has it already (api_etag of body, kept with a
 * cache entry), else computed here. */
void api_reply_json_etag_gzip(h2o_req_t *req, const char *body, size_t len, const char *gz, size_t gz_len,
                              const char *etag);
/* The strong ETag of a body: a quoted hex BLAKE2b-128, NUL-terminated. */
#define API_ETAG_SIZE 35
void api_etag(const char *body, size_t len, char out[API_ETAG_SIZE]);

/* A caller's own data (per-user reads: me, cart, bookings, orders): a GET
 * or HEAD gets the same strong ETag from a hash of the body and 304 on a
 * matching If-None-Match, with `Cache-Control: private, no-cache` (no
 * shared cache may keep it; the browser revalidates every time). The
 * validator is the body's own hash, so it is right whichever process or
 * user made the change; bookings and orders may come from the per-loop
 * cache (api/reads.h, API_READ_OWN).
 * Other methods (a write answering the resource) get a plain 200. */
void api_reply_json_private(h2o_req_t *req, const char *body, size_t len);
/* The same, sending `gz` (the cache's gzip of body) when it is not NULL;
 * `etag` as for api_reply_json_etag_gzip. */
void api_reply_json_private_gzip(h2o_req_t *req, const char *body, size_t len, const char *gz, size_t gz_len,
                                 const char *etag);
/* The same for a document (stolen: decref'd here). */
void api_reply_json_private_doc(h2o_req_t *req, json_t *body);

/* problem+json: {type, title, status, detail, message, code, errors}
 * (message = detail, or the title when there is no detail: the seed
 * frontend's name for it). `errors` (may be
 * NULL) is stolen. `code` is the stable machine-readable reason. */
void api_reply_problem(h2o_req_t *req, int status, const char *code, const char *title,
                       const char *detail, json_t *errors);
/* One-field validation error: 422 with errors {field: [message]}. */
void api_reply_field_error(h2o_req_t *req, const char *field, const char *message);
/* Adds a complaint to an {field: [message]} accumulator. The first
 * complaint about a field is kept and later ones are dropped: validators
 * check from the basic (present, right type) to the specific, so the first
 * is the one that helps. */
void api_field_error(json_t *errors, const char *field, const char *message);

/* Parses the request body as a JSON object: checks size, Content-Type (415),
 * syntax (400). A body over PUNYAKA_MAX_BODY is refused: 422 naming the one
 * top-level member without which it would fit, else 413. Returns the object
 * (caller decrefs) or NULL after replying. */
json_t *api_json_body_or_reply(h2o_req_t *req);
/* The most h2o reads of a request body (PUNYAKA_MAX_BODY × 4, 256 KiB by
 * default): bodies over PUNYAKA_MAX_BODY but within it are parsed only to
 * name the field to blame; larger ones h2o refuses with its own 413 before
 * buffering them (it once buffered up to 4 MiB per request). */
size_t api_body_read_limit(void);

/* Header lookup; returns the value or an empty iovec. */
h2o_iovec_t api_header(h2o_req_t *req, const char *name);
/* Adds a response header; name must be a lower-case literal, value is copied. */
void api_add_header(h2o_req_t *req, const char *name, const char *value);

/* The request id: the client's X-Request-Id when sane, else generated;
 * computed once per request, stored in the pool and echoed as the
 * response's X-Request-Id. */
const char *api_request_id(h2o_req_t *req);

/* Milliseconds since the epoch / monotonic clock. */
uint64_t api_now_ms(void);

#endif
