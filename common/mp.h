/* mp.h — small msgpack helpers shared by the API (packing payloads) and the
 * workers (reading them). Readers never trust types: every getter checks. */
#ifndef PUNYAKA_MP_H
#define PUNYAKA_MP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>

/* Value of `key` in a map object, or NULL (also NULL when map is not a map). */
const msgpack_object *pk_mp_get(const msgpack_object *map, const char *key);

/* Getters: 0 = ok, -1 = missing or nil, -2 = present with the wrong type or out of range. */
int pk_mp_get_str(const msgpack_object *map, const char *key, const char **s, size_t *len);
/* Copies into buf (NUL-terminated); -2 also when it does not fit. */
int pk_mp_get_strcpy(const msgpack_object *map, const char *key, char *buf, size_t cap);
int pk_mp_get_i64(const msgpack_object *map, const char *key, int64_t *out);
int pk_mp_get_bool(const msgpack_object *map, const char *key, bool *out);

/* Packing shorthands: a key followed by its value. */
void pk_mp_pack_cstr(msgpack_packer *pk, const char *s);
void pk_mp_pack_strn(msgpack_packer *pk, const char *s, size_t len);
void pk_mp_kv_str(msgpack_packer *pk, const char *key, const char *val);
void pk_mp_kv_strn(msgpack_packer *pk, const char *key, const char *val, size_t len);
void pk_mp_kv_i64(msgpack_packer *pk, const char *key, int64_t val);
void pk_mp_kv_bool(msgpack_packer *pk, const char *key, bool val);
void pk_mp_kv_nil(msgpack_packer *pk, const char *key);

#endif
