/* compress.c — compressed answers (compress.h). */
#include "api/compress.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "api/cache.h"
#include "api/http.h"

char *api_gzip(const char *in, size_t len, int level, size_t *out_len)
{
    z_stream z = {0};
    if (deflateInit2(&z, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)   /* 16+: gzip framing */
        return NULL;
    size_t cap = deflateBound(&z, len);
    char *out = malloc(cap);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    int rc = out ? deflate(&z, Z_FINISH) : Z_MEM_ERROR;
    *out_len = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

/* Where h2o's filter would compress: a GET (not HEAD) of HTTP/1.1 or later,
 * big enough, from a client that accepts gzip. */
static int wants_gzip(h2o_req_t *req, size_t len)
{
    return len >= API_COMPRESS_MIN_SIZE && req->version >= 0x101 &&
           h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) &&
           (h2o_get_compressible_types(&req->headers) & H2O_COMPRESSIBLE_GZIP);
}

void api_compress_reply_cached(h2o_req_t *req, h2o_iovec_t key, const char *body, size_t len, bool own)
{
    size_t gz_len = 0;
    const char *gz = wants_gzip(req, len) ? api_cache_get_gzip(key, &gz_len) : NULL;
    const char *etag = api_cache_get_etag(key);
    if (own)
        api_reply_json_private_gzip(req, body, len, gz, gz_len, etag);
    else
        api_reply_json_etag_gzip(req, body, len, gz, gz_len, etag);
}

/* W/"…" for the ETag of an answer to a gzip client (compress.h says why). */
static void weaken_etag(h2o_req_t *req)
{
    ssize_t i = h2o_find_header(&req->res.headers, H2O_TOKEN_ETAG, -1);
    if (i == -1)
        return;
    h2o_iovec_t *v = &req->res.headers.entries[i].value;
    if (v->len >= 2 && memcmp(v->base, "W/", 2) == 0)
        return;
    *v = h2o_concat(&req->pool, h2o_iovec_init(H2O_STRLIT("W/")), *v);
}

/* Runs for every answer of the path, whoever produced it (a handler, a
 * 304, h2o's own errors), before h2o's compress filter looks at it. */
static void on_setup_ostream(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    (void)self;
    h2o_set_header_token(&req->pool, &req->res.headers, H2O_TOKEN_VARY, H2O_STRLIT("accept-encoding"));
    if (h2o_get_compressible_types(&req->headers) & H2O_COMPRESSIBLE_GZIP)
        weaken_etag(req);
    h2o_setup_next_ostream(req, slot);
}

void api_compress_path(h2o_pathconf_t *pc)
{
    h2o_compress_args_t args = {.min_size = API_COMPRESS_MIN_SIZE};
    args.gzip.quality = API_COMPRESS_GZIP_LEVEL;
    args.brotli.quality = -1;   /* not in Debian's build (compress.h) */
    h2o_compress_register(pc, &args);
    /* h2o runs a path's filters last-registered first: this one sees the
     * answer before the compressor does. */
    h2o_filter_t *f = h2o_create_filter(pc, sizeof(*f));
    f->on_setup_ostream = on_setup_ostream;
}
