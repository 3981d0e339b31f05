/* cors.h — cross-origin requests with credentials, only for the origins in
 * PUNYAKA_CORS_ORIGINS (comma-separated, exact match). Other origins get no
 * CORS headers at all, so browsers refuse to hand them our responses.
 * Allowed origins may read Location, Retry-After, ETag and X-Command-Id
 * (Access-Control-Expose-Headers) besides the CORS-safelisted ones. */
#ifndef PUNYAKA_API_CORS_H
#define PUNYAKA_API_CORS_H

#include <h2o.h>

/* Adds CORS headers for an allowed Origin. Returns 1 when the request was a
 * preflight and has been answered (204), else 0. */
int api_cors(h2o_req_t *req);

#endif
