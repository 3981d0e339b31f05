#include "common/kyc.h"
#include "common/sealed.h"
#include "common/clock.h"

#include <stdlib.h>
#include <string.h>

/* ---- normalization and validation ---- */

int pk_kyc_normalize(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = in; *p; p++) {
        if (*p == ' ' || *p == '\t' || *p == '-')
            continue;
        if (n + 1 >= cap) {
            if (cap)
                out[0] = 0;
            return -1;
        }
        out[n++] = (*p >= 'a' && *p <= 'z') ? (char)(*p - 'a' + 'A') : *p;
    }
    if (!cap)
        return -1;
    out[n] = 0;
    return (int)n;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_digit(s[i]))
            return 0;
    return 1;
}

/* Verhoeff's tables: d is the multiplication table of the dihedral group D5,
 * p the position-dependent permutation (row i+1 = row 1 applied i+1 times),
 * inv the inverse of each element under d (the
 * reflections 5–9 are their own inverses). */
static const unsigned char VERHOEFF_D[10][10] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 0, 6, 7, 8, 9, 5}, {2, 3, 4, 0, 1, 7, 8, 9, 5, 6},
    {3, 4, 0, 1, 2, 8, 9, 5, 6, 7}, {4, 0, 1, 2, 3, 9, 5, 6, 7, 8}, {5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
    {6, 5, 9, 8, 7, 1, 0, 4, 3, 2}, {7, 6, 5, 9, 8, 2, 1, 0, 4, 3}, {8, 7, 6, 5, 9, 3, 2, 1, 0, 4},
    {9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
};
static const unsigned char VERHOEFF_P[8][10] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 5, 7, 6, 2, 8, 3, 0, 9, 4}, {5, 8, 0, 3, 7, 9, 6, 1, 4, 2},
    {8, 9, 1, 6, 0, 4, 3, 5, 2, 7}, {9, 4, 5, 3, 1, 2, 6, 8, 7, 0}, {4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
    {2, 7, 9, 3, 8, 0, 6, 4, 1, 5}, {7, 0, 4, 6, 9, 1, 3, 2, 5, 8},
};
static const unsigned char VERHOEFF_INV[10] = {0, 4, 3, 2, 1, 5, 6, 7, 8, 9};

/* Folds the digits right to left; `shift` is 0 when the check digit is part
 * of s (validation) and 1 when it is still to be appended (generation). */
static int verhoeff_fold(const char *s, size_t shift)
{
    size_t n = strlen(s);
    unsigned c = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[n - 1 - i];
        if (!is_digit(ch))
            return -1;
        c = VERHOEFF_D[c][VERHOEFF_P[(i + shift) % 8][ch - '0']];
    }
    return (int)c;
}

int pk_verhoeff_valid(const char *digits)
{
    return *digits && verhoeff_fold(digits, 0) == 0;
}

int pk_verhoeff_digit(const char *digits)
{
    int c = verhoeff_fold(digits, 1);
    return c < 0 ? -1 : VERHOEFF_INV[c];
}

const char *pk_kyc_check_aadhaar(const char *s)
{
    size_t n = strlen(s);
    if (n != 12 || !all_digits(s, n))
        return "must be exactly 12 digits";
    if (s[0] == '0' || s[0] == '1')
        return "cannot start with 0 or 1";
    if (!pk_verhoeff_valid(s))
        return "is not a valid Aadhaar number (check digit)";
    return NULL;
}

const char *pk_kyc_check_pan(const char *s)
{
    if (strlen(s) != 10)
        return "must be 10 characters (AAAAA9999A)";
    for (int i = 0; i < 10; i++) {
        int ok = (i < 5 || i == 9) ? is_upper(s[i]) : is_digit(s[i]);
        if (!ok)
            return "must be 5 letters, 4 digits and a letter (AAAAA9999A)";
    }
    if (!strchr("PCHFATBLJG", s[3]))
        return "has an invalid holder type (4th character)";
    return NULL;
}

const char *pk_kyc_check_bank_account(const char *s)
{
    size_t n = strlen(s);
    if (n < 9 || n > 18 || !all_digits(s, n))
        return "must be 9 to 18 digits";
    return NULL;
}

const char *pk_kyc_check_ifsc(const char *s)
{
    if (strlen(s) != 11)
        return "must be 11 characters (AAAA0XXXXXX)";
    for (int i = 0; i < 4; i++)
        if (!is_upper(s[i]))
            return "must start with 4 letters (AAAA0XXXXXX)";
    if (s[4] != '0')
        return "5th character must be 0 (AAAA0XXXXXX)";
    for (int i = 5; i < 11; i++)
        if (!is_upper(s[i]) && !is_digit(s[i]))
            return "must end with 6 letters or digits (AAAA0XXXXXX)";
    return NULL;
}

/* ---- encryption ---- */

int pk_kyc_key_load(const char *hex, unsigned char key[crypto_secretbox_KEYBYTES])
{
    if (sodium_init() < 0)
        return -1;
    unsigned char any = 0;
    if (!hex || strlen(hex) != 2 * crypto_secretbox_KEYBYTES)
        goto bad;
    for (size_t i = 0; i < crypto_secretbox_KEYBYTES; i++) {
        int hi = pk_hex_value(hex[2 * i]), lo = pk_hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            goto bad;
        key[i] = (unsigned char)(hi << 4 | lo);
        any |= key[i];
    }
    if (any)
        return 0;
bad:
    sodium_memzero(key, crypto_secretbox_KEYBYTES);
    return -1;
}

/* The box itself is common/sealed.c's (shared with the password hashes);
 * KYC adds its own bounds, which workers check without a key. */
unsigned char *pk_kyc_seal(const unsigned char key[crypto_secretbox_KEYBYTES], const char *plaintext,
                           size_t *blob_len)
{
    size_t n = strlen(plaintext);
    if (n == 0 || n >= PK_KYC_TEXT_MAX)
        return NULL;
    return pk_box_seal(key, plaintext, n, blob_len);
}

int pk_kyc_open(const unsigned char key[crypto_secretbox_KEYBYTES], const unsigned char *blob, size_t len,
                char *out, size_t cap)
{
    if (cap)
        out[0] = 0;
    if (len < PK_KYC_BLOB_MIN || len > PK_KYC_BLOB_MAX || cap == 0)
        return -1;
    return pk_box_open_text(key, blob, len, out, cap);
}

/* ---- re-verification after a change ---- */

int pk_kyc_fingerprint(const unsigned char key[crypto_secretbox_KEYBYTES], const char *field,
                       const char *normalized, unsigned char out[PK_KYC_FP_BYTES])
{
    unsigned char sub[crypto_generichash_KEYBYTES];
    crypto_generichash_state st;
    if (sodium_init() < 0 || !field || !normalized ||
        crypto_kdf_derive_from_key(sub, sizeof(sub), 1, "pkkycfp1", key) != 0) {
        sodium_memzero(out, PK_KYC_FP_BYTES);
        return -1;
    }
    crypto_generichash_init(&st, sub, sizeof(sub), PK_KYC_FP_BYTES);
    crypto_generichash_update(&st, (const unsigned char *)field, strlen(field) + 1);   /* with its NUL */
    crypto_generichash_update(&st, (const unsigned char *)normalized, strlen(normalized));
    crypto_generichash_final(&st, out, PK_KYC_FP_BYTES);
    sodium_memzero(sub, sizeof(sub));
    return 0;
}

int pk_kyc_changed(const unsigned char *on_file, size_t on_file_len, const unsigned char *submitted,
                   size_t submitted_len)
{
    if (!on_file || !submitted || on_file_len != PK_KYC_FP_BYTES || submitted_len != PK_KYC_FP_BYTES)
        return 1;
    return sodium_memcmp(on_file, submitted, PK_KYC_FP_BYTES) != 0;
}

int pk_kyc_change_note(const char *const fields[], size_t n, char *out, size_t cap)
{
    static const char head[] = "KYC changed by the priest (", tail[] = "): verify again";
    if (cap)
        out[0] = 0;
    if (n == 0 || cap < sizeof(head))
        return -1;
    size_t len = 0;
    memcpy(out, head, sizeof(head));
    len = sizeof(head) - 1;
    for (size_t i = 0; i < n; i++) {
        size_t f = strlen(fields[i]), sep = i ? 2 : 0;
        if (len + sep + f + 1 > cap)
            goto too_long;
        memcpy(out + len, ", ", sep);
        memcpy(out + len + sep, fields[i], f + 1);
        len += sep + f;
    }
    if (len + sizeof(tail) > cap)
        goto too_long;
    memcpy(out + len, tail, sizeof(tail));
    return (int)(len + sizeof(tail) - 1);
too_long:
    out[0] = 0;
    return -1;
}

/* ---- display ---- */

void pk_kyc_mask(const char *plaintext, char out[PK_KYC_TEXT_MAX])
{
    size_t n = strlen(plaintext), shown = n > 4 ? 4 : 0;
    size_t len = n < PK_KYC_TEXT_MAX ? n : PK_KYC_TEXT_MAX - 1;
    memset(out, 'X', len - shown);
    memcpy(out + len - shown, plaintext + n - shown, shown);
    out[len] = 0;
}
