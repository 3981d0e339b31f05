/* fuzz_support.h — what the libFuzzer harnesses (tests/fuzz/fuzz_*.c) share.
 *
 * Each harness is one LLVMFuzzerTestOneInput over one parser or validator;
 * none needs a server. The API's parsers read an h2o_req_t: fuzz_req_*
 * builds a request with no connection behind it (a pool, a path, headers),
 * which is all those parsers touch. */
#ifndef PUNYAKA_FUZZ_SUPPORT_H
#define PUNYAKA_FUZZ_SUPPORT_H

#include <stddef.h>
#include <stdint.h>
#include <h2o.h>
#include "common/config.h"

/* libFuzzer's entry points (declared here for -Wmissing-prototypes). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Once per process: quiet logs (errors only), the API's default
 * configuration in g_api.cfg, libsodium ready. */
void fuzz_init(void);
/* That configuration (for the workers' wk_ctx). */
const pk_config *fuzz_config(void);

/* A request without a connection: zeroed, with a pool and no query string. */
void fuzz_req_init(h2o_req_t *req);
/* The path (copied into the pool; query_at set at its first '?'). */
void fuzz_req_set_path(h2o_req_t *req, const char *path, size_t len);
/* Adds a request header (name lower-case; both copied into the pool). */
void fuzz_req_add_header(h2o_req_t *req, const char *name, const char *value, size_t len);
/* The status the request was answered with (0: not answered yet). Replies
 * go through a stream that only records them. */
int fuzz_req_status(h2o_req_t *req);
void fuzz_req_dispose(h2o_req_t *req);

/* A NUL-terminated copy of data (malloc'd; the caller frees it). */
char *fuzz_strndup(const uint8_t *data, size_t size);

#endif
