/* mp.h — small msgpack helpers shared by the API (packing payloads) and the
 * workers (reading them). Readers never trust types: every getter checks. */
#ifndef PUNYAKA_MP_H
#define PUNYAKA_MP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>

/* Structural check of raw msgpack bytes, run before msgpack_unpack_next()
 * on anything untrusted. msgpack-c allocates a container's element array
 * from the count in its header before reading the elements, so a 5-byte
 * "map of 4 billion entries" asks for ~200 GB; the scan refuses any count
 * that the remaining bytes cannot possibly hold (each element takes at least
 * one byte), any nesting deeper than max_depth containers (msgpack-c itself
 * stops at 32), and the reserved byte 0xc1. It allocates nothing and never
 * reads outside buf[0..len).
 * On PK_MP_SCAN_OK *end is the offset just past the first complete object
 * (so *end < len means trailing bytes). */
typedef enum {
    PK_MP_SCAN_OK = 0,
    PK_MP_SCAN_TRUNCATED = -1,   /* the object does not end within len */
    PK_MP_SCAN_MALFORMED = -2,   /* reserved byte */
    PK_MP_SCAN_TOO_DEEP = -3,    /* more than max_depth nested containers */
} pk_mp_scan_result;
#define PK_MP_SCAN_MAX_DEPTH 32      /* msgpack-c's MSGPACK_EMBED_STACK_SIZE */
pk_mp_scan_result pk_mp_scan(const void *buf, size_t len, unsigned max_depth, size_t *end);

/* True when o is a str equal to the C string s. */
bool pk_mp_str_eq(const msgpack_object *o, const char *s);

/* Value of `key` in a map object, or NULL (also NULL when map is not a map).
 * Only str keys match; with duplicate keys the first one wins. */
const msgpack_object *pk_mp_get(const msgpack_object *map, const char *key);

/* Getters: 0 = ok, -1 = missing or nil, -2 = present with the wrong type or out of range. */
int pk_mp_get_str(const msgpack_object *map, const char *key, const char **s, size_t *len);
/* Copies into buf (NUL-terminated); -2 also when it does not fit or holds
 * a NUL byte (which would silently cut the C string short). */
int pk_mp_get_strcpy(const msgpack_object *map, const char *key, char *buf, size_t cap);
int pk_mp_get_i64(const msgpack_object *map, const char *key, int64_t *out);
int pk_mp_get_bool(const msgpack_object *map, const char *key, bool *out);

/* Integers: POSITIVE_INTEGER up to INT64_MAX and NEGATIVE_INTEGER; floats
 * are the wrong type (amounts and ids are never floating point). */

/* Packing shorthands: a key followed by its value. A NULL string packs nil.
 * Errors of the underlying writer (out of memory) are not reported here;
 * msgpack_sbuffer_write only fails when realloc does. */
/* Starts a payload: sb initialised, pk packing into it, a map of n
 * entries opened. The caller packs the n entries, then
 * msgpack_sbuffer_destroy(sb). */
void pk_mp_start_map(msgpack_sbuffer *sb, msgpack_packer *pk, uint32_t n);
void pk_mp_pack_cstr(msgpack_packer *pk, const char *s);
void pk_mp_pack_strn(msgpack_packer *pk, const char *s, size_t len);
void pk_mp_kv_str(msgpack_packer *pk, const char *key, const char *val);
void pk_mp_kv_strn(msgpack_packer *pk, const char *key, const char *val, size_t len);
void pk_mp_kv_i64(msgpack_packer *pk, const char *key, int64_t val);
void pk_mp_kv_bool(msgpack_packer *pk, const char *key, bool val);
void pk_mp_kv_nil(msgpack_packer *pk, const char *key);

#endif
