/* owner_list.h — the proof that a client sent an anonymous command
 * (issue 11: a command's status never depends on Redis alone).
 *
 * An anonymous command (a registration) has no user to tag its id with, and
 * its id must not depend on a cookie (an Idempotency-Key retry may come
 * without one and must map to the same id). So the client holds the proof:
 * the HttpOnly owner cookie is a signed list of the ids of its most recent
 * anonymous commands, and the status route checks it without any store.
 *
 * Value: base64url (no padding) of
 *   version 1 (1) | expiry, Unix seconds, big-endian (4) | n (1) |
 *   n ids (16 each, newest first) | tag (16)
 * tag = HMAC-SHA-512-256 under a subkey of PUNYAKA_IDEMPOTENCY_KEY over a
 * domain string and everything before it, truncated to 128 bits (forging
 * one needs 2^128 tries; the truncation keeps the cookie at 200 characters
 * for 8 ids). The expiry is inside the signed part: an old cookie kept past
 * its Max-Age proves nothing. */
#ifndef PUNYAKA_OWNER_LIST_H
#define PUNYAKA_OWNER_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/uuid.h"

#define PK_OWNER_LIST_MAX 8          /* ids kept; the oldest goes first */
#define PK_OWNER_LIST_KEYBYTES 32
#define PK_OWNER_LIST_TAG 16
#define PK_OWNER_LIST_HEAD 6         /* version, expiry, n */
#define PK_OWNER_LIST_RAW_MAX (PK_OWNER_LIST_HEAD + 16 * PK_OWNER_LIST_MAX + PK_OWNER_LIST_TAG)
/* The longest value, in characters, without the NUL. */
#define PK_OWNER_LIST_CHARS ((PK_OWNER_LIST_RAW_MAX * 4 + 2) / 3)

typedef struct {
    uint32_t expires;                /* Unix seconds */
    int n;
    pk_uuid ids[PK_OWNER_LIST_MAX];  /* newest first */
} pk_owner_list;

/* The list's own key, derived from the 32-byte server secret, so a value
 * signed for this purpose verifies nowhere else and the reverse. */
void pk_owner_list_key(const unsigned char secret[32], unsigned char key[PK_OWNER_LIST_KEYBYTES]);

/* Puts `id` first; an id already listed (a retry) moves to the front, and
 * the oldest falls off past PK_OWNER_LIST_MAX. */
void pk_owner_list_add(pk_owner_list *l, const pk_uuid *id);

/* Whether the list names `id`. */
bool pk_owner_list_has(const pk_owner_list *l, const pk_uuid *id);

/* Signs and encodes into out (cap >= PK_OWNER_LIST_CHARS + 1): 0, or -1
 * when it does not fit or the list is malformed. */
int pk_owner_list_encode(const pk_owner_list *l, const unsigned char key[PK_OWNER_LIST_KEYBYTES], char *out,
                         size_t cap);

/* Decodes a value and checks its tag (constant time) and its expiry
 * against `now`: 0 with the list in out, -1 for anything else (another
 * shape, version or key, an altered byte, expired). out is empty then. */
int pk_owner_list_decode(const char *s, size_t len, const unsigned char key[PK_OWNER_LIST_KEYBYTES], uint32_t now,
                         pk_owner_list *out);

#endif
