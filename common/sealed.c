#include "common/sealed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/kyc.h"

int pk_sealed_key_parse(const char *hex, unsigned char key[crypto_secretbox_KEYBYTES])
{
    return pk_kyc_key_load(hex, key);
}

int pk_sealed_key_from_env(const char *name, unsigned char key[crypto_secretbox_KEYBYTES], char *err,
                           size_t errcap)
{
    const char *hex = getenv(name);
    if (!hex || !*hex) {
        sodium_memzero(key, crypto_secretbox_KEYBYTES);
        snprintf(err, errcap, "%s is not set (64 hexadecimal characters, e.g. `openssl rand -hex 32`)", name);
        return -1;
    }
    if (pk_sealed_key_parse(hex, key) != 0) {
        snprintf(err, errcap, "%s must be exactly 64 hexadecimal characters, not all zero", name);
        return -1;
    }
    return 0;
}

unsigned char *pk_box_seal(const unsigned char key[crypto_secretbox_KEYBYTES], const void *plain, size_t n,
                           size_t *blob_len)
{
    if (n == 0 || n > (size_t)1 << 20 || sodium_init() < 0)
        return NULL;
    size_t len = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + n;
    unsigned char *blob = malloc(len);
    if (!blob)
        return NULL;
    randombytes_buf(blob, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(blob + crypto_secretbox_NONCEBYTES, plain, n, blob, key);
    *blob_len = len;
    return blob;
}

long pk_box_open(const unsigned char key[crypto_secretbox_KEYBYTES], const unsigned char *blob, size_t len,
                 unsigned char *out, size_t cap)
{
    if (len <= crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES || sodium_init() < 0)
        return -1;
    size_t n = len - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
    if (n > cap)
        return -1;
    if (crypto_secretbox_open_easy(out, blob + crypto_secretbox_NONCEBYTES, len - crypto_secretbox_NONCEBYTES, blob,
                                   key) != 0) {
        sodium_memzero(out, cap);
        return -1;
    }
    return (long)n;
}

int pk_box_open_text(const unsigned char key[crypto_secretbox_KEYBYTES], const unsigned char *blob, size_t len,
                     char *out, size_t cap)
{
    if (cap == 0)
        return -1;
    long n = pk_box_open(key, blob, len, (unsigned char *)out, cap - 1);
    if (n < 0 || memchr(out, 0, (size_t)n)) {
        sodium_memzero(out, cap);
        return -1;
    }
    out[n] = 0;
    return (int)n;
}

int pk_is_sealed(const char *s)
{
    return s && strncmp(s, PK_SEALED_PREFIX, sizeof(PK_SEALED_PREFIX) - 1) == 0;
}

int pk_seal_text(const unsigned char key[crypto_secretbox_KEYBYTES], const char *plain, char *out, size_t cap)
{
    size_t n = strlen(plain), blob_len;
    const size_t prefix = sizeof(PK_SEALED_PREFIX) - 1;
    if (cap)
        out[0] = 0;
    if (n == 0 || n > PK_SEALED_TEXT_MAX)
        return -1;
    unsigned char *blob = pk_box_seal(key, plain, n, &blob_len);
    if (!blob)
        return -1;
    size_t b64 = sodium_base64_ENCODED_LEN(blob_len, sodium_base64_VARIANT_ORIGINAL);
    int rc = -1;
    if (prefix + b64 <= cap) {
        memcpy(out, PK_SEALED_PREFIX, prefix);
        sodium_bin2base64(out + prefix, cap - prefix, blob, blob_len, sodium_base64_VARIANT_ORIGINAL);
        rc = (int)strlen(out);
    }
    free(blob);
    return rc;
}

int pk_open_text(const unsigned char key[crypto_secretbox_KEYBYTES], const char *sealed, char *out, size_t cap)
{
    unsigned char blob[crypto_secretbox_NONCEBYTES + PK_SEALED_TEXT_MAX + crypto_secretbox_MACBYTES];
    size_t blob_len;
    const char *b64_end;
    if (cap)
        out[0] = 0;
    if (!pk_is_sealed(sealed) || cap == 0 || sodium_init() < 0)
        return -1;
    const char *b64 = sealed + sizeof(PK_SEALED_PREFIX) - 1;
    if (sodium_base642bin(blob, sizeof(blob), b64, strlen(b64), NULL, &blob_len, &b64_end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        *b64_end != 0)
        return -1;
    return pk_box_open_text(key, blob, blob_len, out, cap);
}

int pk_password_hash_open(const unsigned char key[crypto_secretbox_KEYBYTES], const char *sealed, char *out,
                          size_t cap)
{
    int n = pk_open_text(key, sealed, out, cap);
    if (n < 0)
        return -1;
    if ((size_t)n >= crypto_pwhash_STRBYTES || strncmp(out, "$argon2id$", 10) != 0) {
        sodium_memzero(out, cap);
        return -1;
    }
    return n;
}
