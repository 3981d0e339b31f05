/* command_auth.h — who may write a command (schemas/command-envelope.md,
 * "Authentication").
 *
 * Anyone who can produce to a command topic could otherwise be every user:
 * the envelope's actor, role and issued_at are only claims. So the API and
 * punyaka-admin, the only writers, authenticate every envelope with a key
 * that only they and the workers hold (PUNYAKA_COMMAND_KEY), and a worker
 * applies nothing whose tag does not verify.
 *
 * A signed command is the encoded envelope, byte for byte, followed by a
 * trailer of PK_AUTH_TRAILER_BYTES, itself one msgpack bin8 object:
 *
 *   c4 29 | 01 (trailer version) | key id (8 bytes) | tag (32 bytes)
 *
 * tag = crypto_auth (HMAC-SHA-512-256) of exactly the envelope bytes before
 * the trailer under the key the key id names; so it covers every field (v,
 * id, type, issued_at, actor, request_id, reply_to, payload) and the bytes
 * the workers decode are exactly the bytes that were signed. The key id is
 * a fingerprint of the key (BLAKE2b keyed with it), which lets a verifier
 * pick the current or the previous key without trying both and lets an
 * operator see which key signed a message; it reveals nothing usable about
 * the key.
 *
 * Why a trailer and not a Kafka header: the signed bytes are one value, so
 * everything that keeps "the message as received" keeps its tag with it —
 * journal.envelope and so the events topic (punyaka-replay re-verifies
 * before it rebuilds), and dead_letters.payload (a redrive re-sends it
 * intact; a forged message redriven is refused again).
 *
 * Keys: PUNYAKA_COMMAND_KEY (signs and verifies) and, during a rotation,
 * PUNYAKA_COMMAND_KEY_PREVIOUS (verifies only). Both are 64 hex characters
 * parsed by pk_kyc_key_load (the same rules as PUNYAKA_DATA_KEY). */
#ifndef PUNYAKA_COMMAND_AUTH_H
#define PUNYAKA_COMMAND_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <msgpack.h>
#include <sodium.h>

#define PK_AUTH_VERSION 1
#define PK_AUTH_KEY_ID_BYTES 8
#define PK_AUTH_TAG_BYTES crypto_auth_hmacsha512256_BYTES          /* 32 */
#define PK_AUTH_KEY_BYTES crypto_auth_hmacsha512256_KEYBYTES       /* 32 */
#define PK_AUTH_TRAILER_BYTES (2 + 1 + PK_AUTH_KEY_ID_BYTES + PK_AUTH_TAG_BYTES)   /* 43 */
#define PK_AUTH_KEY_ID_HEX (2 * PK_AUTH_KEY_ID_BYTES + 1)

#define PK_COMMAND_KEY_ENV "PUNYAKA_COMMAND_KEY"
#define PK_COMMAND_KEY_PREVIOUS_ENV "PUNYAKA_COMMAND_KEY_PREVIOUS"

typedef struct {
    bool set;
    unsigned char key[PK_AUTH_KEY_BYTES];
    unsigned char id[PK_AUTH_KEY_ID_BYTES];
} pk_auth_key;

/* The current key (always set once loaded) and the previous one (optional). */
typedef struct {
    pk_auth_key current;
    pk_auth_key previous;
} pk_command_keys;

/* Loads the keys from hex text: current is required, previous may be NULL
 * or "" (no rotation in progress). 0, or -1 with the reason in err (the
 * keys are then wiped). */
int pk_command_keys_load(pk_command_keys *k, const char *current_hex, const char *previous_hex, char *err,
                         size_t errcap);
/* The same from PUNYAKA_COMMAND_KEY / PUNYAKA_COMMAND_KEY_PREVIOUS. */
int pk_command_keys_from_env(pk_command_keys *k, char *err, size_t errcap);
void pk_command_keys_wipe(pk_command_keys *k);

/* The key id of the current key as hex, for logs ("" when not loaded). */
void pk_command_key_id_hex(const pk_auth_key *key, char out[PK_AUTH_KEY_ID_HEX]);

/* Appends the trailer for the `len` envelope bytes at `envelope` to out
 * (which may be the buffer holding them: msgpack_sbuffer may move its data,
 * so the tag is computed first). 0, or -1 (no current key, out of memory);
 * on -1 `out` is left as it was. */
int pk_command_sign(const pk_command_keys *k, const void *envelope, size_t len, msgpack_sbuffer *out);

typedef enum {
    PK_AUTH_OK = 0,
    PK_AUTH_MISSING,       /* no trailer: an unsigned message (or cut short) */
    PK_AUTH_BAD_VERSION,   /* a trailer of a version this code does not know */
    PK_AUTH_UNKNOWN_KEY,   /* signed with neither the current nor the previous key */
    PK_AUTH_BAD_TAG,       /* the key is known, the tag does not verify: tampered */
} pk_auth_result;

/* Verifies a signed message. On PK_AUTH_OK *envelope_len is the length of
 * the envelope inside (decode exactly msg[0..*envelope_len)) and, when
 * key_id is not NULL, the signing key's id is copied there. Constant time
 * in the tag comparison (crypto_auth_verify). */
pk_auth_result pk_command_verify(const pk_command_keys *k, const void *msg, size_t len, size_t *envelope_len,
                                 unsigned char key_id[PK_AUTH_KEY_ID_BYTES]);

/* The envelope part of a message WITHOUT verifying it: len minus the
 * trailer when there is one, else len. Only for showing messages
 * (punyaka-replay list/dlq); never decide anything on such bytes. */
size_t pk_command_envelope_len(const void *msg, size_t len);

/* "ok", "missing", "bad_version", "unknown_key", "bad_tag". */
const char *pk_auth_result_str(pk_auth_result r);

/* The dead-letter reason of every message that fails verification. */
#define PK_AUTH_DLQ_REASON "bad_signature"

#endif
