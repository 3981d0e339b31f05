/* kyc.h — priest verification data (KYC): Aadhaar, PAN, bank account, IFSC.
 *
 * What the API does with a KYC field, in order (docs/kyc.md):
 *   1. pk_kyc_normalize()   drop the spaces/hyphens people type, upper-case;
 *   2. pk_kyc_check_*()     reject bad input with a problem+json message;
 *   3. pk_kyc_seal()        encrypt the normalized text with PUNYAKA_DATA_KEY;
 *   4. put the sealed blob (msgpack bin) into the command as `<field>_enc`.
 * Only ciphertext leaves the API: Kafka, the journal and PostgreSQL never see
 * the plaintext. Admin views decrypt with pk_kyc_open() and show
 * pk_kyc_mask(); the full value only through the audited reveal endpoint.
 *
 * The validators are pure (no I/O, no allocation). The sealing functions use
 * libsodium's crypto_secretbox (XSalsa20-Poly1305): authenticated, so a
 * flipped bit or a wrong key makes pk_kyc_open() fail instead of returning
 * garbage. They call sodium_init() themselves (idempotent, thread-safe). */
#ifndef PUNYAKA_KYC_H
#define PUNYAKA_KYC_H

#include <stddef.h>
#include <sodium.h>

/* Longest normalized KYC value (an 18-digit account number), plus the NUL,
 * rounded up. Buffers for normalized text and masks use this size. */
#define PK_KYC_TEXT_MAX 32

/* A sealed blob is nonce || ciphertext (which carries the 16-byte MAC).
 * Workers, which hold no key, can still refuse blobs outside these bounds. */
#define PK_KYC_BLOB_MIN (crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + 1)
#define PK_KYC_BLOB_MAX (crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + PK_KYC_TEXT_MAX)

/* ---- normalization and validation ---- */

/* Copies `in` into out[cap] without ASCII spaces, tabs and hyphens
 * ("1234 5678 9012", "1234-5678-9012" ⇒ "123456789012") and with a–z
 * upper-cased ("abcpe1234f" ⇒ "ABCPE1234F"). Every other byte is kept as is,
 * so the validators still see (and reject) it. Returns the length, or -1
 * when the result and its NUL do not fit in cap (out is then "" if cap > 0). */
int pk_kyc_normalize(const char *in, char *out, size_t cap);

/* The validators take NORMALIZED text and return NULL when it is acceptable,
 * else a short message for the problem+json `errors` map. */

/* Aadhaar: exactly 12 digits, the first not 0 or 1 (UIDAI never issues
 * those), and the last a valid Verhoeff check digit over all 12. */
const char *pk_kyc_check_aadhaar(const char *s);

/* PAN: AAAAA9999A — five upper-case letters, four digits, one upper-case
 * letter. The 4th character is the holder type, one of
 *   P person, C company, H Hindu undivided family, F firm/LLP,
 *   A association of persons, T trust, B body of individuals,
 *   L local authority, J artificial juridical person, G government;
 * anything else is not a PAN the Income Tax Department issues. */
const char *pk_kyc_check_pan(const char *s);

/* Bank account number: 9 to 18 digits (the range Indian banks use). */
const char *pk_kyc_check_bank_account(const char *s);

/* IFSC: AAAA0XXXXXX — four upper-case letters (the bank), the digit 0
 * (reserved), six upper-case letters or digits (the branch). */
const char *pk_kyc_check_ifsc(const char *s);

/* Verhoeff (dihedral group D5) over a string of decimal digits:
 * pk_verhoeff_valid() is 1 when the last digit is a correct check digit for
 * the ones before it (0 for an empty string or any non-digit);
 * pk_verhoeff_digit() returns the check digit to append to `digits`
 * (0–9), or -1 when `digits` holds a non-digit. Verhoeff catches every
 * single-digit error and every swap of adjacent digits. */
int pk_verhoeff_valid(const char *digits);
int pk_verhoeff_digit(const char *digits);

/* ---- encryption ---- */

/* Parses PUNYAKA_DATA_KEY: exactly 64 hexadecimal characters (either case)
 * = 32 bytes. Anything else — other lengths, base64, whitespace, an all-zero
 * key — is refused: a silently shortened or placeholder key would be a
 * disaster found only later. Returns 0, or -1 (key is then zeroed). */
int pk_kyc_key_load(const char *hex, unsigned char key[crypto_secretbox_KEYBYTES]);

/* Encrypts the C string `plaintext` (at most PK_KYC_TEXT_MAX - 1 bytes) with a
 * fresh random nonce. Returns a malloc'd blob of *blob_len bytes
 * (nonce || ciphertext) that the caller frees, or NULL when the plaintext
 * is empty or too long. Two seals of one value differ (random nonce), so the
 * ciphertext reveals neither the value nor whether two priests share it. */
unsigned char *pk_kyc_seal(const unsigned char key[crypto_secretbox_KEYBYTES], const char *plaintext,
                           size_t *blob_len);

/* Decrypts and authenticates a blob into out[cap] as a C string. Returns the
 * plaintext length, or -1 when the blob is too short or too long, was
 * altered, was sealed with another key, holds a NUL byte, or the plaintext
 * and its NUL do not fit in cap. On -1, out is wiped ("" if cap > 0). */
int pk_kyc_open(const unsigned char key[crypto_secretbox_KEYBYTES], const unsigned char *blob, size_t len,
                char *out, size_t cap);

/* ---- re-verification after a change ---- */

/* A verified priest who replaces Aadhaar, PAN or bank details must be
 * verified again (issue 13): the new account could be anyone's. The worker
 * holds no data key and every seal has a fresh nonce, so it cannot compare
 * blobs; the API sends, beside each sealed field, a fingerprint of the
 * normalized value: keyed BLAKE2b-256 with a subkey derived from
 * PUNYAKA_DATA_KEY (crypto_kdf, context "pkkycfp1") over "field\0value".
 * Keyed, so the stored fingerprints do not let anyone test guesses of a
 * 12-digit Aadhaar offline; per field, so equal digits in two fields do not
 * match. Equal normalized values give equal fingerprints ("1234 5678 9012"
 * and "123456789012" are the same Aadhaar and change nothing). */
#define PK_KYC_FP_BYTES 32

/* Fingerprint of a NORMALIZED value of `field` ("aadhaar", "pan",
 * "bank_account", "bank_ifsc"). Returns 0, or -1 (out zeroed). */
int pk_kyc_fingerprint(const unsigned char key[crypto_secretbox_KEYBYTES], const char *field,
                       const char *normalized, unsigned char out[PK_KYC_FP_BYTES]);

/* The rule: does a submitted value differ from the one on file? Only two
 * fingerprints of PK_KYC_FP_BYTES that are equal say "unchanged"; a
 * missing fingerprint on either side (a first submission, a row stored
 * before fingerprints existed, a command without one) counts as a change,
 * so doubt always means another look by an admin. Returns 1 changed, 0 not. */
int pk_kyc_changed(const unsigned char *on_file, size_t on_file_len, const unsigned char *submitted,
                   size_t submitted_len);

/* The note an admin sees in the verification queue, naming the changed
 * fields: "KYC changed by the priest (pan, bank_account): verify again".
 * fields[0..n) are short names; returns the length, or -1 when n is 0 or
 * it does not fit in cap. */
int pk_kyc_change_note(const char *const fields[], size_t n, char *out, size_t cap);

/* ---- display ---- */

/* What admins see: every character but the last 4 replaced by 'X'
 * ("123456789012" ⇒ "XXXXXXXX9012"). A value of 4 characters or fewer is
 * masked entirely (showing "its last 4" would show all of it). Values
 * longer than PK_KYC_TEXT_MAX - 1 keep their last 4 behind
 * PK_KYC_TEXT_MAX - 5 'X's. out must hold PK_KYC_TEXT_MAX bytes. */
void pk_kyc_mask(const char *plaintext, char out[PK_KYC_TEXT_MAX]);

#endif
