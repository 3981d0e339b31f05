#include "common/owner_list.h"

#include <string.h>
#include <sodium.h>

#define VERSION 1

void pk_owner_list_key(const unsigned char secret[32], unsigned char key[PK_OWNER_LIST_KEYBYTES])
{
    crypto_kdf_derive_from_key(key, PK_OWNER_LIST_KEYBYTES, 1, "pkcmdown", secret);
}

void pk_owner_list_add(pk_owner_list *l, const pk_uuid *id)
{
    int keep = 0;   /* the entries that stay behind the new one, in order */
    pk_uuid rest[PK_OWNER_LIST_MAX];
    for (int i = 0; i < l->n && i < PK_OWNER_LIST_MAX; i++)
        if (memcmp(l->ids[i].b, id->b, 16) != 0)
            rest[keep++] = l->ids[i];
    if (keep > PK_OWNER_LIST_MAX - 1)   /* dropped after the retry's own entry went, not before */
        keep = PK_OWNER_LIST_MAX - 1;
    l->ids[0] = *id;
    memcpy(&l->ids[1], rest, (size_t)keep * sizeof(rest[0]));
    l->n = keep + 1;
}

bool pk_owner_list_has(const pk_owner_list *l, const pk_uuid *id)
{
    for (int i = 0; i < l->n; i++)
        if (memcmp(l->ids[i].b, id->b, 16) == 0)
            return true;
    return false;
}

/* Domain-separated, so no other HMAC under a related key can stand in. */
static void list_tag(const unsigned char *signed_part, size_t len, const unsigned char key[PK_OWNER_LIST_KEYBYTES],
                     unsigned char tag[PK_OWNER_LIST_TAG])
{
    static const char domain[] = "punyaka.command-owner.v1";
    crypto_auth_hmacsha512256_state st;
    unsigned char mac[crypto_auth_hmacsha512256_BYTES];
    crypto_auth_hmacsha512256_init(&st, key, PK_OWNER_LIST_KEYBYTES);
    crypto_auth_hmacsha512256_update(&st, (const unsigned char *)domain, sizeof(domain));
    crypto_auth_hmacsha512256_update(&st, signed_part, len);
    crypto_auth_hmacsha512256_final(&st, mac);
    memcpy(tag, mac, PK_OWNER_LIST_TAG);
    sodium_memzero(mac, sizeof(mac));
}

int pk_owner_list_encode(const pk_owner_list *l, const unsigned char key[PK_OWNER_LIST_KEYBYTES], char *out,
                         size_t cap)
{
    if (l->n < 1 || l->n > PK_OWNER_LIST_MAX || cap < PK_OWNER_LIST_CHARS + 1)
        return -1;
    unsigned char raw[PK_OWNER_LIST_RAW_MAX];
    size_t len = PK_OWNER_LIST_HEAD + 16 * (size_t)l->n;
    raw[0] = VERSION;
    for (int i = 0; i < 4; i++)
        raw[1 + i] = (unsigned char)(l->expires >> (24 - 8 * i));
    raw[5] = (unsigned char)l->n;
    for (int i = 0; i < l->n; i++)
        memcpy(raw + PK_OWNER_LIST_HEAD + 16 * i, l->ids[i].b, 16);
    list_tag(raw, len, key, raw + len);
    sodium_bin2base64(out, cap, raw, len + PK_OWNER_LIST_TAG, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return 0;
}

/* The tag first (constant time), then what it vouches for. */
static int verify(const unsigned char *raw, size_t len, const unsigned char key[PK_OWNER_LIST_KEYBYTES],
                  uint32_t now, pk_owner_list *out)
{
    unsigned char want[PK_OWNER_LIST_TAG];
    if (len < PK_OWNER_LIST_HEAD + 16 + PK_OWNER_LIST_TAG)
        return -1;
    size_t n = raw[5];
    if (raw[0] != VERSION || n < 1 || n > PK_OWNER_LIST_MAX || len != PK_OWNER_LIST_HEAD + 16 * n + PK_OWNER_LIST_TAG)
        return -1;
    list_tag(raw, len - PK_OWNER_LIST_TAG, key, want);
    if (sodium_memcmp(want, raw + len - PK_OWNER_LIST_TAG, PK_OWNER_LIST_TAG) != 0)
        return -1;
    uint32_t exp = 0;
    for (int i = 0; i < 4; i++)
        exp = exp << 8 | raw[1 + i];
    if (exp < now)
        return -1;
    out->expires = exp;
    out->n = (int)n;
    for (size_t i = 0; i < n; i++)
        memcpy(out->ids[i].b, raw + PK_OWNER_LIST_HEAD + 16 * i, 16);
    return 0;
}

int pk_owner_list_decode(const char *s, size_t len, const unsigned char key[PK_OWNER_LIST_KEYBYTES], uint32_t now,
                         pk_owner_list *out)
{
    unsigned char raw[PK_OWNER_LIST_RAW_MAX];
    size_t got = 0;
    memset(out, 0, sizeof(*out));
    if (!s || len == 0 || len > PK_OWNER_LIST_CHARS)
        return -1;
    if (sodium_base642bin(raw, sizeof(raw), s, len, NULL, &got, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return -1;
    if (verify(raw, got, key, now, out) != 0) {
        memset(out, 0, sizeof(*out));
        return -1;
    }
    return 0;
}
