/* compress.h — compressed answers (issue 16): gzip for the API's JSON and
 * the web UI, when the client says Accept-Encoding: gzip.
 *
 *   - Public catalog answers (the cached ones, api/cache.h) are gzipped
 *     once per cache entry, at API_COMPRESS_STORED_LEVEL, and sent as they
 *     are (api_compress_reply_cached): the hot lists cost no more CPU
 *     compressed than not, and keep a Content-Length.
 *   - Other API answers are compressed on the fly by h2o's compress filter:
 *     only 200s of a compressible type (application/json; never
 *     problem+json) of at least API_COMPRESS_MIN_SIZE bytes, never HEAD (h2o
 *     skips those, and so does the cached path). Such an answer's length is
 *     unknown until it is sent: it goes chunked (HTTP/1.1) or as DATA frames
 *     (HTTP/2), without Content-Length.
 *   - Its ETag is made weak (W/"…") for every request that accepts gzip,
 *     compressed or not, 200 or 304: the gzip bytes are not the identity
 *     bytes, so they may not share a strong validator, and one request must
 *     see the same validator on its 200 and its 304. If-None-Match compares
 *     weakly (api_reply_json_etag), so either form revalidates.
 *   - The web UI is precompressed at build time (CMakeLists.txt,
 *     scripts/lib/precompress.sh: a `.gz` beside every compressible file of
 *     at least API_COMPRESS_MIN_SIZE bytes, gzip -9) and served by h2o's
 *     file handler as that file (H2O_FILE_FLAG_SEND_COMPRESSED, routes.c):
 *     no CPU per request, a Content-Length, HEAD, ranges and a strong ETag
 *     of its own (the file handler's is the served file's mtime and size),
 *     and h2o adds Vary to every answer of the path itself. A web root
 *     without the siblings (the source web/) is served uncompressed.
 *   - Vary: Accept-Encoding on every answer of the API paths, identity ones
 *     included (small, HEAD, 304, no Accept-Encoding): a shared cache must
 *     not hand a gzip body to a client that did not ask for one. h2o's
 *     filter only adds it when it looked at the header.
 * No brotli: Debian's libh2o-evloop is built without it (no
 * h2o_compress_brotli_open). The file handler would serve a `.br` sibling,
 * but the build ships none (docs/performance.md says why). */
#ifndef PUNYAKA_API_COMPRESS_H
#define PUNYAKA_API_COMPRESS_H

#include <stdbool.h>
#include <h2o.h>

/* Below this an answer is sent as it is: gzip's frame and the chunked
 * framing eat most of the gain, and the CPU is spent for nothing. */
#define API_COMPRESS_MIN_SIZE 1024
/* zlib level for on-the-fly compression, paid on every answer: 1, the
 * cheapest; measured on the 2-core box (bench/README.md, "Compressed
 * answers"). Stored gzip (cached answers) is made once: the best ratio. */
#define API_COMPRESS_GZIP_LEVEL 1
#define API_COMPRESS_STORED_LEVEL 9

/* `in` as one gzip member at zlib `level` (malloc'd, *out_len bytes), or NULL. */
char *api_gzip(const char *in, size_t len, int level, size_t *out_len);

/* Answers a cached JSON text (api/cache.h, entry `key`) with its ETag —
 * public (api_reply_json_etag) or the caller's own (api_reply_json_private)
 * — as the cache's stored gzip when the client accepts gzip and it is worth it. */
void api_compress_reply_cached(h2o_req_t *req, h2o_iovec_t key, const char *body, size_t len, bool own);

/* Compress this path's compressible answers, weaken their ETags for gzip
 * clients and add Vary: Accept-Encoding to all of them. */
void api_compress_path(h2o_pathconf_t *pc);

#endif
