/* test_kyc.c — KYC validators (Verhoeff, PAN, account, IFSC), sealing, masking. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/kyc.h"

/* A valid Aadhaar number: first digit 2–9, 10 random digits, Verhoeff digit. */
static void make_aadhaar(char out[13])
{
    out[0] = (char)('2' + randombytes_uniform(8));
    for (int i = 1; i < 11; i++)
        out[i] = (char)('0' + randombytes_uniform(10));
    out[11] = 0;
    int c = pk_verhoeff_digit(out);
    assert_in_range(c, 0, 9);
    out[11] = (char)('0' + c);
    out[12] = 0;
}

static void test_verhoeff_known_values(void **state)
{
    (void)state;
    /* Worked examples of the published algorithm (Wikipedia, Rosetta Code). */
    assert_int_equal(pk_verhoeff_digit("236"), 3);
    assert_true(pk_verhoeff_valid("2363"));
    assert_false(pk_verhoeff_valid("2364"));
    assert_int_equal(pk_verhoeff_digit("12345"), 1);
    assert_true(pk_verhoeff_valid("123451"));
    assert_int_equal(pk_verhoeff_digit("142857"), 0);
    assert_true(pk_verhoeff_valid("1428570"));
    assert_int_equal(pk_verhoeff_digit("123456789012"), 0);
    assert_true(pk_verhoeff_valid("1234567890120"));
    assert_false(pk_verhoeff_valid("1234567890129"));
    /* Appending the generated digit always validates (exercises inv[] for every value). */
    for (unsigned n = 0; n < 2000; n++) {
        char s[16];
        snprintf(s, sizeof(s), "%u", n * 7919u);
        size_t len = strlen(s);
        s[len] = (char)('0' + pk_verhoeff_digit(s));
        s[len + 1] = 0;
        assert_true(pk_verhoeff_valid(s));
    }
    assert_false(pk_verhoeff_valid(""));
    assert_false(pk_verhoeff_valid("12a4"));
    assert_int_equal(pk_verhoeff_digit("12a"), -1);
}

static void test_aadhaar_valid_and_every_single_digit_error(void **state)
{
    (void)state;
    for (int round = 0; round < 200; round++) {
        char a[13];
        make_aadhaar(a);
        assert_null(pk_kyc_check_aadhaar(a));
        /* Every other value at every position is caught. */
        for (int pos = 0; pos < 12; pos++) {
            char orig = a[pos];
            for (char d = '0'; d <= '9'; d++) {
                if (d == orig)
                    continue;
                a[pos] = d;
                assert_non_null(pk_kyc_check_aadhaar(a));
            }
            a[pos] = orig;
        }
        /* And every swap of two different adjacent digits. */
        for (int pos = 0; pos < 11; pos++) {
            if (a[pos] == a[pos + 1])
                continue;
            char t = a[pos];
            a[pos] = a[pos + 1];
            a[pos + 1] = t;
            assert_non_null(pk_kyc_check_aadhaar(a));
            a[pos + 1] = a[pos];
            a[pos] = t;
        }
        assert_null(pk_kyc_check_aadhaar(a));
    }
}

static void test_aadhaar_shape(void **state)
{
    (void)state;
    char a[13], buf[PK_KYC_TEXT_MAX];
    make_aadhaar(a);
    assert_non_null(pk_kyc_check_aadhaar(""));
    assert_non_null(pk_kyc_check_aadhaar("23456789012"));     /* 11 digits */
    assert_non_null(pk_kyc_check_aadhaar("2345678901234"));   /* 13 digits */
    assert_non_null(pk_kyc_check_aadhaar("23456789O123"));    /* letter O */
    /* First digit 0 or 1 is refused even with a correct check digit. */
    char low[13] = "01234567890";
    low[11] = (char)('0' + pk_verhoeff_digit(low));
    low[12] = 0;
    assert_true(pk_verhoeff_valid(low));
    assert_string_equal(pk_kyc_check_aadhaar(low), "cannot start with 0 or 1");
    low[0] = '1';
    low[11] = 0;
    low[11] = (char)('0' + pk_verhoeff_digit(low));
    assert_true(pk_verhoeff_valid(low));
    assert_non_null(pk_kyc_check_aadhaar(low));
    /* Written the usual way, "1234 5678 9012", it normalizes to the digits. */
    char spaced[32];
    snprintf(spaced, sizeof(spaced), "%.4s %.4s\t%.4s", a, a + 4, a + 8);
    assert_int_equal(pk_kyc_normalize(spaced, buf, sizeof(buf)), 12);
    assert_string_equal(buf, a);
    assert_null(pk_kyc_check_aadhaar(buf));
    assert_non_null(pk_kyc_check_aadhaar(spaced));   /* validators want normalized text */
}

static void test_normalize(void **state)
{
    (void)state;
    char buf[PK_KYC_TEXT_MAX], small[5];
    assert_int_equal(pk_kyc_normalize(" abcpe 1234f ", buf, sizeof(buf)), 10);
    assert_string_equal(buf, "ABCPE1234F");
    assert_int_equal(pk_kyc_normalize("sbin-0001234", buf, sizeof(buf)), 11);
    assert_string_equal(buf, "SBIN0001234");
    assert_int_equal(pk_kyc_normalize("", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "");
    assert_int_equal(pk_kyc_normalize("1234", small, sizeof(small)), 4);
    assert_int_equal(pk_kyc_normalize("12345", small, sizeof(small)), -1);
    assert_string_equal(small, "");
    assert_int_equal(pk_kyc_normalize("1 2 3 4", small, sizeof(small)), 4);
    assert_int_equal(pk_kyc_normalize("x", small, 0), -1);
    /* Other bytes survive, so the validator still sees them. */
    assert_int_equal(pk_kyc_normalize("12.34", buf, sizeof(buf)), 5);
    assert_non_null(pk_kyc_check_bank_account(buf));
}

static void test_pan(void **state)
{
    (void)state;
    const char *holders = "PCHFATBLJG";
    for (const char *h = holders; *h; h++) {
        char pan[11] = "ABCPE1234F";
        pan[3] = *h;
        assert_null(pk_kyc_check_pan(pan));
    }
    const char *bad[] = {
        "",            "ABCPE1234",   "ABCPE1234FG", "abcpe1234f", "ABCXE1234F", /* X: no such holder type */
        "ABCDE1234F",  "1BCPE1234F",  "ABCPE12345", "ABCPEA234F", "ABCP 1234F", "ABCPE1234\x01",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_non_null(pk_kyc_check_pan(bad[i]));
}

static void test_bank_account(void **state)
{
    (void)state;
    assert_null(pk_kyc_check_bank_account("123456789"));
    assert_null(pk_kyc_check_bank_account("123456789012345678"));
    assert_null(pk_kyc_check_bank_account("000012345678"));
    assert_non_null(pk_kyc_check_bank_account("12345678"));
    assert_non_null(pk_kyc_check_bank_account("1234567890123456789"));
    assert_non_null(pk_kyc_check_bank_account("12345678A"));
    assert_non_null(pk_kyc_check_bank_account(""));
}

static void test_ifsc(void **state)
{
    (void)state;
    assert_null(pk_kyc_check_ifsc("SBIN0001234"));
    assert_null(pk_kyc_check_ifsc("HDFC0ABC12Z"));
    assert_non_null(pk_kyc_check_ifsc("SBIN1001234"));   /* 5th must be 0 */
    assert_non_null(pk_kyc_check_ifsc("SB1N0001234"));
    assert_non_null(pk_kyc_check_ifsc("sbin0001234"));
    assert_non_null(pk_kyc_check_ifsc("SBIN000123"));
    assert_non_null(pk_kyc_check_ifsc("SBIN00012345"));
    assert_non_null(pk_kyc_check_ifsc("SBIN000123a"));
    assert_non_null(pk_kyc_check_ifsc("SBIN000-234"));
    assert_non_null(pk_kyc_check_ifsc(""));
}

static const char KEY_HEX[] = "000102030405060708090a0b0c0d0e0f101112131415161718191A1B1C1D1E1F";

static void test_key_load(void **state)
{
    (void)state;
    unsigned char key[crypto_secretbox_KEYBYTES];
    assert_int_equal(pk_kyc_key_load(KEY_HEX, key), 0);
    for (int i = 0; i < 32; i++)
        assert_int_equal(key[i], i);
    char buf[80];
    const char *bad[] = {
        "", "00", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1",   /* 63 */
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f00",          /* 66 */
        "g00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1",          /* non-hex */
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",                             /* base64 */
        "0000000000000000000000000000000000000000000000000000000000000000",         /* all zero */
        " 00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(key, 0xAA, sizeof(key));
        assert_int_equal(pk_kyc_key_load(bad[i], key), -1);
        for (int j = 0; j < 32; j++)
            assert_int_equal(key[j], 0);   /* nothing half-parsed left behind */
    }
    assert_int_equal(pk_kyc_key_load(NULL, key), -1);
    snprintf(buf, sizeof(buf), "%.62sxx", KEY_HEX);
    assert_int_equal(pk_kyc_key_load(buf, key), -1);
}

static void test_seal_open_round_trip(void **state)
{
    (void)state;
    unsigned char key[crypto_secretbox_KEYBYTES];
    assert_int_equal(pk_kyc_key_load(KEY_HEX, key), 0);
    const char *values[] = {"234567890124", "ABCPE1234F", "123456789012345678", "SBIN0001234", "1"};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        size_t len = 0, len2 = 0;
        unsigned char *blob = pk_kyc_seal(key, values[i], &len);
        unsigned char *blob2 = pk_kyc_seal(key, values[i], &len2);
        assert_non_null(blob);
        assert_non_null(blob2);
        assert_int_equal(len, crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + strlen(values[i]));
        assert_true(len >= PK_KYC_BLOB_MIN && len <= PK_KYC_BLOB_MAX);
        assert_int_equal(len, len2);
        assert_memory_not_equal(blob, blob2, len);   /* fresh nonce each time */
        /* Short values (e.g. "1") turn up in random bytes by chance. */
        if (strlen(values[i]) >= 6)
            assert_null(memmem(blob, len, values[i], strlen(values[i])));
        char out[PK_KYC_TEXT_MAX];
        assert_int_equal(pk_kyc_open(key, blob, len, out, sizeof(out)), (int)strlen(values[i]));
        assert_string_equal(out, values[i]);
        assert_int_equal(pk_kyc_open(key, blob2, len2, out, sizeof(out)), (int)strlen(values[i]));
        assert_string_equal(out, values[i]);
        /* Too small an output buffer is an error, not a truncation. */
        assert_int_equal(pk_kyc_open(key, blob, len, out, strlen(values[i])), -1);
        assert_string_equal(out, "");
        free(blob);
        free(blob2);
    }
    size_t len = 0;
    assert_null(pk_kyc_seal(key, "", &len));
    assert_null(pk_kyc_seal(key, "0123456789012345678901234567890123", &len));
}

static void test_tampered_or_wrong_key_fails(void **state)
{
    (void)state;
    unsigned char key[crypto_secretbox_KEYBYTES], other[crypto_secretbox_KEYBYTES];
    assert_int_equal(pk_kyc_key_load(KEY_HEX, key), 0);
    crypto_secretbox_keygen(other);
    size_t len = 0;
    unsigned char *blob = pk_kyc_seal(key, "234567890124", &len);
    assert_non_null(blob);
    char out[PK_KYC_TEXT_MAX];
    /* Every bit of nonce, MAC and ciphertext is authenticated. */
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            blob[i] ^= (unsigned char)(1u << bit);
            assert_int_equal(pk_kyc_open(key, blob, len, out, sizeof(out)), -1);
            assert_string_equal(out, "");
            blob[i] ^= (unsigned char)(1u << bit);
        }
    }
    assert_int_equal(pk_kyc_open(other, blob, len, out, sizeof(out)), -1);
    assert_int_equal(pk_kyc_open(key, blob, len - 1, out, sizeof(out)), -1);   /* truncated */
    assert_int_equal(pk_kyc_open(key, blob, PK_KYC_BLOB_MIN - 1, out, sizeof(out)), -1);
    assert_int_equal(pk_kyc_open(key, blob, len, out, sizeof(out)), 12);
    assert_string_equal(out, "234567890124");
    free(blob);
}

static void test_mask(void **state)
{
    (void)state;
    char out[PK_KYC_TEXT_MAX];
    pk_kyc_mask("123456789012", out);
    assert_string_equal(out, "XXXXXXXX9012");
    pk_kyc_mask("ABCPE1234F", out);
    assert_string_equal(out, "XXXXXX234F");
    pk_kyc_mask("SBIN0001234", out);
    assert_string_equal(out, "XXXXXXX1234");
    pk_kyc_mask("12345", out);
    assert_string_equal(out, "X2345");
    pk_kyc_mask("1234", out);
    assert_string_equal(out, "XXXX");
    pk_kyc_mask("", out);
    assert_string_equal(out, "");
    pk_kyc_mask("0123456789012345678901234567890123456789", out);
    assert_int_equal(strlen(out), PK_KYC_TEXT_MAX - 1);
    assert_string_equal(out + PK_KYC_TEXT_MAX - 5, "6789");
    assert_int_equal(strspn(out, "X"), PK_KYC_TEXT_MAX - 5);
}

/* Re-verification rule: equal normalized values ⇒ equal fingerprints ⇒
 * unchanged; anything else, or a missing fingerprint, ⇒ changed. */
static void test_fingerprint_and_change_rule(void **state)
{
    (void)state;
    unsigned char key[crypto_secretbox_KEYBYTES], other[crypto_secretbox_KEYBYTES];
    unsigned char a[PK_KYC_FP_BYTES], b[PK_KYC_FP_BYTES], c[PK_KYC_FP_BYTES];
    randombytes_buf(key, sizeof(key));
    randombytes_buf(other, sizeof(other));
    char n1[PK_KYC_TEXT_MAX], n2[PK_KYC_TEXT_MAX];
    pk_kyc_normalize("1234 5678 9012", n1, sizeof(n1));
    pk_kyc_normalize("123456789012", n2, sizeof(n2));
    assert_int_equal(pk_kyc_fingerprint(key, "bank_account", n1, a), 0);
    assert_int_equal(pk_kyc_fingerprint(key, "bank_account", n2, b), 0);
    assert_int_equal(pk_kyc_changed(a, sizeof(a), b, sizeof(b)), 0);   /* same value, typed differently */
    assert_int_equal(pk_kyc_fingerprint(key, "bank_account", "123456789013", c), 0);
    assert_int_equal(pk_kyc_changed(a, sizeof(a), c, sizeof(c)), 1);
    /* Another field with the same digits, or another key: a different fingerprint. */
    assert_int_equal(pk_kyc_fingerprint(key, "aadhaar", n2, c), 0);
    assert_int_equal(pk_kyc_changed(a, sizeof(a), c, sizeof(c)), 1);
    assert_int_equal(pk_kyc_fingerprint(other, "bank_account", n2, c), 0);
    assert_int_equal(pk_kyc_changed(a, sizeof(a), c, sizeof(c)), 1);
    /* Not the value itself, nor its plain hash. */
    unsigned char plain[PK_KYC_FP_BYTES];
    crypto_generichash(plain, sizeof(plain), (const unsigned char *)n2, strlen(n2), NULL, 0);
    assert_true(memcmp(plain, a, sizeof(a)) != 0);
    /* Missing or malformed on either side ⇒ changed (an admin looks again). */
    assert_int_equal(pk_kyc_changed(NULL, 0, b, sizeof(b)), 1);
    assert_int_equal(pk_kyc_changed(a, sizeof(a), NULL, 0), 1);
    assert_int_equal(pk_kyc_changed(a, sizeof(a) - 1, b, sizeof(b) - 1), 1);
}

static void test_change_note(void **state)
{
    (void)state;
    char out[96];
    const char *one[] = {"bank_account"}, *two[] = {"pan", "bank_ifsc"};
    assert_true(pk_kyc_change_note(one, 1, out, sizeof(out)) > 0);
    assert_string_equal(out, "KYC changed by the priest (bank_account): verify again");
    int n = pk_kyc_change_note(two, 2, out, sizeof(out));
    assert_string_equal(out, "KYC changed by the priest (pan, bank_ifsc): verify again");
    assert_int_equal(n, (int)strlen(out));
    assert_int_equal(pk_kyc_change_note(one, 0, out, sizeof(out)), -1);
    assert_int_equal(pk_kyc_change_note(two, 2, out, 40), -1);
    assert_string_equal(out, "");
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fingerprint_and_change_rule),
        cmocka_unit_test(test_change_note),
        cmocka_unit_test(test_verhoeff_known_values),
        cmocka_unit_test(test_aadhaar_valid_and_every_single_digit_error),
        cmocka_unit_test(test_aadhaar_shape),
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_pan),
        cmocka_unit_test(test_bank_account),
        cmocka_unit_test(test_ifsc),
        cmocka_unit_test(test_key_load),
        cmocka_unit_test(test_seal_open_round_trip),
        cmocka_unit_test(test_tampered_or_wrong_key_fails),
        cmocka_unit_test(test_mask),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
