#include "common/uuid.h"
#include "common/clock.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

/* libsodium must be initialised before its RNG is used; sodium_init() is
 * itself idempotent, but pthread_once makes "exactly once, from any thread"
 * obvious and lets us fail loudly: an id generator without a working CSPRNG
 * must not limp on and hand out colliding ids. */
static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;

static void sodium_start(void)
{
    if (sodium_init() < 0) {
        fputs("punyaka: sodium_init() failed, cannot generate ids\n", stderr);
        abort();
    }
}

/* RFC 9562 §4: version in the high nibble of octet 6, variant 0b10 in the
 * two high bits of octet 8. */
static void set_version_variant(pk_uuid *u, unsigned version)
{
    u->b[6] = (uint8_t)((u->b[6] & 0x0f) | (version << 4));
    u->b[8] = (uint8_t)((u->b[8] & 0x3f) | 0x80);
}

void pk_uuid_v7(pk_uuid *out, uint64_t unix_ms)
{
    pthread_once(&sodium_once, sodium_start);
    /* unix_ts_ms: 48 bits, big-endian, so ids sort by time bytewise. */
    for (int i = 0; i < 6; i++)
        out->b[i] = (uint8_t)(unix_ms >> (8 * (5 - i)));
    randombytes_buf(out->b + 6, sizeof(out->b) - 6);
    set_version_variant(out, 7);
}

void pk_uuid_from_key(pk_uuid *out, const char *scope, const char *key, size_t key_len)
{
    pk_uuid_from_secret_key(out, NULL, 0, scope, key, key_len);
}

void pk_uuid_from_secret_key(pk_uuid *out, const unsigned char *secret, size_t secret_len, const char *scope,
                             const char *key, size_t key_len)
{
    static const unsigned char separator = 0;
    crypto_generichash_state st;
    pthread_once(&sodium_once, sodium_start);
    if (!scope)
        scope = "";
    if (!secret)
        secret_len = 0;
    /* The NUL separator keeps ("ab","c") and ("a","bc") apart: a scope
     * (a C string) can never contain it. */
    crypto_generichash_init(&st, secret, secret_len, sizeof(out->b));
    crypto_generichash_update(&st, (const unsigned char *)scope, strlen(scope));
    crypto_generichash_update(&st, &separator, 1);
    if (key_len)
        crypto_generichash_update(&st, (const unsigned char *)key, key_len);
    crypto_generichash_final(&st, out->b, sizeof(out->b));
    set_version_variant(out, 8);
}

static void owner_tag(const pk_uuid *id, const unsigned char *secret, size_t secret_len, const char *owner,
                      uint8_t out[PK_UUID_TAG_OCTETS])
{
    static const unsigned char separator = 0;
    unsigned char h[crypto_generichash_BYTES_MIN];   /* BLAKE2b's shortest output, truncated below */
    crypto_generichash_state st;
    pthread_once(&sodium_once, sodium_start);
    /* "owner" keeps these hashes apart from the derived ids made with the
     * same secret (whose input starts with a scope such as "user:"). */
    crypto_generichash_init(&st, secret, secret_len, sizeof(h));
    crypto_generichash_update(&st, (const unsigned char *)"owner", 6);
    crypto_generichash_update(&st, (const unsigned char *)owner, strlen(owner));
    crypto_generichash_update(&st, &separator, 1);
    crypto_generichash_update(&st, id->b, sizeof(id->b) - PK_UUID_TAG_OCTETS);
    crypto_generichash_final(&st, h, sizeof(h));
    memcpy(out, h, PK_UUID_TAG_OCTETS);
}

void pk_uuid_tag_owner(pk_uuid *id, const unsigned char *secret, size_t secret_len, const char *owner)
{
    owner_tag(id, secret, secret_len, owner, id->b + sizeof(id->b) - PK_UUID_TAG_OCTETS);
}

int pk_uuid_owner_tagged(const pk_uuid *id, const unsigned char *secret, size_t secret_len, const char *owner)
{
    uint8_t want[PK_UUID_TAG_OCTETS];
    owner_tag(id, secret, secret_len, owner, want);
    return sodium_memcmp(want, id->b + sizeof(id->b) - PK_UUID_TAG_OCTETS, PK_UUID_TAG_OCTETS) == 0;
}

/* Octet index after which the text form has a hyphen. */
static int hyphen_after(int octet)
{
    return octet == 3 || octet == 5 || octet == 7 || octet == 9;
}

void pk_uuid_format(const pk_uuid *u, char out[PK_UUID_STR_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    char *p = out;
    for (int i = 0; i < 16; i++) {
        *p++ = hex[u->b[i] >> 4];
        *p++ = hex[u->b[i] & 0x0f];
        if (hyphen_after(i))
            *p++ = '-';
    }
    *p = '\0';
}

int pk_uuid_parse(const char *s, size_t len, pk_uuid *out)
{
    pk_uuid u;
    size_t pos = 0;
    if (!s || len != PK_UUID_STR_LEN)
        return -1;
    for (int i = 0; i < 16; i++) {
        int hi = pk_hex_value(s[pos]), lo = pk_hex_value(s[pos + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        u.b[i] = (uint8_t)(hi << 4 | lo);
        pos += 2;
        if (hyphen_after(i) && s[pos++] != '-')
            return -1;
    }
    *out = u;   /* untouched on failure */
    return 0;
}
