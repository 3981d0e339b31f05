/* sealed.h — secrets that must travel through the log encrypted.
 *
 * The log (Kafka's command topics, the journal, the events topic, whose
 * retention is unlimited) is read by operators, by punyaka-replay and by
 * anyone who gets at a broker or a database dump. Two kinds of secret cross
 * it, both sealed with libsodium's crypto_secretbox_easy (XSalsa20-Poly1305,
 * a fresh random nonce per value, authenticated: a wrong key, a flipped bit
 * or a cut-off value fails to open instead of yielding garbage):
 *
 *   - priest KYC fields, with PUNYAKA_DATA_KEY, as raw blobs (common/kyc.h);
 *   - password hashes, with PUNYAKA_CREDENTIAL_KEY, as versioned text:
 *         "sealed:v1:" base64(nonce ‖ ciphertext ‖ tag)
 *     The API and punyaka-admin seal the Argon2id string before it enters
 *     a command; only the worker (and punyaka-replay rebuild/verify, which
 *     apply commands through the worker's code) open it, to store the hash
 *     in users.password_hash. A different key from the data key: each key
 *     opens one kind of secret, and only the processes that need it hold it.
 *
 * The version prefix lets the format change later ("sealed:v2:…" for a new
 * cipher or key id) while old log entries stay readable.
 *
 * Pure (no I/O beyond libsodium's random source for the nonce); every
 * function calls sodium_init() itself (idempotent, thread-safe). */
#ifndef PUNYAKA_SEALED_H
#define PUNYAKA_SEALED_H

#include <stddef.h>
#include <sodium.h>

#define PK_SEALED_PREFIX "sealed:v1:"
/* The environment variable that holds the password-hash key (64 hex). */
#define PK_CREDENTIAL_KEY_ENV "PUNYAKA_CREDENTIAL_KEY"

/* Longest text pk_seal_text() takes: an Argon2id string is at most
 * crypto_pwhash_STRBYTES - 1 (127) bytes; this leaves room. */
#define PK_SEALED_TEXT_MAX 255
/* Longest sealed text, with its NUL: prefix + base64 of
 * nonce (24) + text (≤ 255) + tag (16). */
#define PK_SEALED_STR_MAX                                                                                       \
    (sizeof(PK_SEALED_PREFIX) - 1 +                                                                            \
     4 * ((crypto_secretbox_NONCEBYTES + PK_SEALED_TEXT_MAX + crypto_secretbox_MACBYTES + 2) / 3) + 1)

/* ---- keys ---- */

/* Parses a 64-hex-character key (the same rules as PUNYAKA_DATA_KEY:
 * pk_kyc_key_load — no other length, no whitespace, not all zeros).
 * Returns 0, or -1 (key zeroed). */
int pk_sealed_key_parse(const char *hex, unsigned char key[crypto_secretbox_KEYBYTES]);

/* Loads the key from the environment variable `name`. Returns 0, or -1
 * with a message for the operator in err ("… is not set", "… must be 64
 * hexadecimal characters"). Processes that need the key refuse to start
 * on -1. */
int pk_sealed_key_from_env(const char *name, unsigned char key[crypto_secretbox_KEYBYTES], char *err,
                           size_t errcap);

/* ---- binary blobs: nonce ‖ ciphertext ‖ tag ---- */

/* Encrypts n bytes (n ≥ 1) with a fresh random nonce. Returns a malloc'd
 * blob of *blob_len = NONCEBYTES + MACBYTES + n bytes, or NULL. */
unsigned char *pk_box_seal(const unsigned char key[crypto_secretbox_KEYBYTES], const void *plain, size_t n,
                           size_t *blob_len);

/* Decrypts and authenticates a blob into out[cap]. Returns the plaintext
 * length, or -1 when the blob is shorter than a nonce and tag, the
 * plaintext does not fit in cap, or it does not open (altered, other key).
 * On -1 out is wiped. */
long pk_box_open(const unsigned char key[crypto_secretbox_KEYBYTES], const unsigned char *blob, size_t len,
                 unsigned char *out, size_t cap);

/* pk_box_open for text: out[cap] gets a NUL-terminated string (cap ≥ 1).
 * Returns its length, or -1 (out wiped to "") when the blob does not open,
 * does not fit in cap - 1 bytes, or the plaintext holds a NUL byte. */
int pk_box_open_text(const unsigned char key[crypto_secretbox_KEYBYTES], const unsigned char *blob, size_t len,
                     char *out, size_t cap);

/* ---- sealed text: "sealed:v1:<base64>" ---- */

/* 1 when s starts with the current version's prefix. Says nothing about
 * whether it opens. */
int pk_is_sealed(const char *s);

/* Seals the C string `plain` (1 to PK_SEALED_TEXT_MAX bytes) into out[cap]
 * (PK_SEALED_STR_MAX is always enough). Returns the length, or -1. */
int pk_seal_text(const unsigned char key[crypto_secretbox_KEYBYTES], const char *plain, char *out, size_t cap);

/* Opens sealed text into out[cap] as a C string. Returns its length, or -1
 * when the prefix/version is not "sealed:v1:", the base64 is malformed, the
 * value was cut or altered, it was sealed with another key, the plaintext
 * holds a NUL or does not fit. On -1 out is wiped ("" if cap > 0). */
int pk_open_text(const unsigned char key[crypto_secretbox_KEYBYTES], const char *sealed, char *out, size_t cap);

/* ---- password hashes ---- */

/* Opens a sealed password hash and checks that it is an Argon2id string
 * ("$argon2id$…"): what a worker stores in users.password_hash. An unsealed
 * "$argon2id$…" is refused like any other malformed value (-1): the log
 * must never hold one, so a command carrying one is poison, whoever sent it.
 * out must hold at least crypto_pwhash_STRBYTES bytes. */
int pk_password_hash_open(const unsigned char key[crypto_secretbox_KEYBYTES], const char *sealed, char *out,
                          size_t cap);

#endif
