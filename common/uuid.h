/* uuid.h — 128-bit command ids.
 *
 * The API draws UUIDv7 (time-ordered, so Kafka/PG indexes stay append-mostly).
 * A retried request with an Idempotency-Key maps to the same id: a UUIDv8
 * derived by hashing the key with its scope under a server secret. Workers never draw ids. */
#ifndef PUNYAKA_UUID_H
#define PUNYAKA_UUID_H

#include <stddef.h>
#include <stdint.h>

typedef struct { uint8_t b[16]; } pk_uuid;

#define PK_UUID_STR_LEN 36  /* without the NUL */

/* v7 from the given Unix time in milliseconds and libsodium randomness. */
void pk_uuid_v7(pk_uuid *out, uint64_t unix_ms);

/* v8 (RFC 9562 custom) = BLAKE2b-128(scope || 0x00 || key) with version and
 * variant bits set. Same scope+key ⇒ same id. */
void pk_uuid_from_key(pk_uuid *out, const char *scope, const char *key, size_t key_len);

/* The same with BLAKE2b keyed by `secret` (16..64 bytes; NULL: unkeyed, as
 * above): the API's ids, which nobody without the server's
 * PUNYAKA_IDEMPOTENCY_KEY can compute from a user id and a guessed key. */
void pk_uuid_from_secret_key(pk_uuid *out, const unsigned char *secret, size_t secret_len, const char *scope,
                             const char *key, size_t key_len);

/* Owner tags (issue 11: a command's status never depends on Redis alone).
 * The last 4 octets of an id become BLAKE2b-32 keyed by `secret` over
 * "owner", `owner` and octets 0..11, so whoever holds the secret can tell,
 * from the id alone, that it issued the id to `owner` — a forged or another
 * owner's id passes with probability 2^-32. Version and variant bits (octets
 * 6 and 8) are untouched; a v7 id keeps 48 time bits and 42 random bits. */
#define PK_UUID_TAG_OCTETS 4
void pk_uuid_tag_owner(pk_uuid *id, const unsigned char *secret, size_t secret_len, const char *owner);
/* Constant-time check of that tag: 1 = tagged for `owner`, 0 = not. */
int pk_uuid_owner_tagged(const pk_uuid *id, const unsigned char *secret, size_t secret_len, const char *owner);

/* Lower-case 8-4-4-4-12 text plus NUL into out[PK_UUID_STR_LEN + 1]. */
void pk_uuid_format(const pk_uuid *u, char out[PK_UUID_STR_LEN + 1]);

/* Accepts exactly the 36-character hyphenated form (either case).
 * Returns 0 on success, -1 on anything else. */
int pk_uuid_parse(const char *s, size_t len, pk_uuid *out);

#endif
