/* envelope.h — the command envelope every write travels in (schemas/command-envelope.md).
 *
 * A msgpack map, version PK_ENVELOPE_VERSION:
 *   v          uint    envelope version (decoder refuses unknown versions)
 *   id         bin16   command id (pk_uuid)
 *   type       str     "user.register", "booking.create", ...
 *   issued_at  int     µs since the Unix epoch, set by the API; the worker's only clock
 *   actor      map     {id: int (0 = anonymous), role: str ("" | customer | priest | admin)}
 *   request_id str     the HTTP request id, for log correlation
 *   reply_to   str     Redis channel suffix of the API loop waiting for the outcome ("" = none)
 *   payload    map     command-specific fields (schemas/commands.md)
 * Unknown keys are ignored (forward compatibility); missing or mistyped
 * required keys are an error.
 *
 * Strictness, the same on both sides so whatever encodes also decodes:
 *   - type: 1..PK_TYPE_MAX-1 chars of [a-z0-9._];
 *   - actor.role, request_id, reply_to: below their limits, may be empty,
 *     no NUL or other control bytes (they end up in C strings, log lines
 *     and Redis channel names);
 *   - issued_at and actor.id are >= 0; id is a bin of exactly 16 bytes;
 *   - a known key appearing twice, or a key that is not a str, is an error
 *     (a duplicate would let two readers see different commands);
 *   - at most PK_ENVELOPE_MAX_DEPTH nested containers, the envelope map
 *     itself counting as one (so the payload may nest 15 deep);
 *   - the whole message is at most PK_ENVELOPE_MAX_BYTES. */
#ifndef PUNYAKA_ENVELOPE_H
#define PUNYAKA_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>
#include "common/uuid.h"

#define PK_ENVELOPE_VERSION 1
#define PK_ENVELOPE_MAX_BYTES (256 * 1024)   /* larger messages are poison */
#define PK_TYPE_MAX 48
#define PK_ROLE_MAX 16
#define PK_REQUEST_ID_MAX 64
#define PK_REPLY_TO_MAX 96
#define PK_ENVELOPE_MAX_DEPTH 16

typedef struct {
    uint32_t v;
    pk_uuid id;
    char type[PK_TYPE_MAX];
    int64_t issued_at_us;
    int64_t actor_id;
    char actor_role[PK_ROLE_MAX];
    char request_id[PK_REQUEST_ID_MAX];
    char reply_to[PK_REPLY_TO_MAX];
} pk_envelope;

/* Appends the encoded envelope to `out`. `payload`/`payload_len` must be one
 * complete msgpack map (as produced by a msgpack_packer); it is copied
 * verbatim. Returns 0, or -1 if the payload is not exactly one map or a
 * string field does not fit its limit.
 * e->v is 0 (meaning "current") or PK_ENVELOPE_VERSION; this code writes no
 * other version. -1 also when a field breaks the rules above or the result
 * would exceed PK_ENVELOPE_MAX_BYTES; on -1 `out` is left as it was. */
int pk_envelope_encode(const pk_envelope *e, const void *payload, size_t payload_len,
                       msgpack_sbuffer *out);

/* A decoded envelope. `payload` points into `unpacked`'s zone and lives until
 * pk_envelope_decoded_free(). The decoder works on its own copy of the input
 * (owned by that zone), so payload strings stay valid after the caller's
 * buffer (e.g. the Kafka message) is gone. */
typedef struct {
    pk_envelope env;
    const msgpack_object *payload;   /* always a MSGPACK_OBJECT_MAP on success */
    msgpack_unpacked unpacked;
} pk_envelope_decoded;

/* Decodes exactly `len` bytes (trailing bytes are an error). On failure
 * returns -1, writes a short reason into err (for the dlq header) and leaves
 * nothing to free. On success call pk_envelope_decoded_free() later.
 * Reasons: "empty message", "message too large", "truncated msgpack",
 * "malformed msgpack", "nested too deep", "trailing bytes", "not a map",
 * "bad key", "missing field: F", "bad field: F", "duplicate field: F",
 * "unsupported version: N", "out of memory" (F may be e.g. "actor.role").
 * pk_envelope_decoded_free() is safe on a zeroed or already freed value. */
int pk_envelope_decode(const void *buf, size_t len, pk_envelope_decoded *out,
                       char *err, size_t errcap);
void pk_envelope_decoded_free(pk_envelope_decoded *d);

#endif
