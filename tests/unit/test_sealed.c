/* test_sealed.c — sealed text (common/sealed.h): what keeps password hashes
 * out of the log. Round trip, and every way a value must fail to open:
 * another key, a changed byte, a cut-off value, another version, plain
 * (unsealed) Argon2id strings. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/sealed.h"

#define HASH "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2g"

static unsigned char key[crypto_secretbox_KEYBYTES], other[crypto_secretbox_KEYBYTES];

static int setup(void **state)
{
    (void)state;
    if (sodium_init() < 0)
        return -1;
    randombytes_buf(key, sizeof(key));
    randombytes_buf(other, sizeof(other));
    return 0;
}

static void test_round_trip(void **state)
{
    (void)state;
    char sealed[PK_SEALED_STR_MAX], again[PK_SEALED_STR_MAX], out[crypto_pwhash_STRBYTES];
    int n = pk_seal_text(key, HASH, sealed, sizeof(sealed));
    assert_true(n > 0);
    assert_int_equal((size_t)n, strlen(sealed));
    assert_true(pk_is_sealed(sealed));
    assert_null(strstr(sealed, "argon2"));   /* nothing of the hash shows */
    assert_int_equal(pk_open_text(key, sealed, out, sizeof(out)), (int)strlen(HASH));
    assert_string_equal(out, HASH);
    assert_int_equal(pk_password_hash_open(key, sealed, out, sizeof(out)), (int)strlen(HASH));
    assert_string_equal(out, HASH);
    /* A fresh nonce each time: equal hashes give different sealed values. */
    assert_true(pk_seal_text(key, HASH, again, sizeof(again)) > 0);
    assert_string_not_equal(sealed, again);
}

static void test_real_argon2id_fits(void **state)
{
    (void)state;
    char hash[crypto_pwhash_STRBYTES], sealed[PK_SEALED_STR_MAX], out[crypto_pwhash_STRBYTES];
    assert_int_equal(crypto_pwhash_str(hash, "pw", 2, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                       crypto_pwhash_MEMLIMIT_INTERACTIVE),
                     0);
    assert_true(pk_seal_text(key, hash, sealed, sizeof(sealed)) > 0);
    assert_true(pk_password_hash_open(key, sealed, out, sizeof(out)) > 0);
    assert_int_equal(crypto_pwhash_str_verify(out, "pw", 2), 0);
}

static void test_wrong_key(void **state)
{
    (void)state;
    char sealed[PK_SEALED_STR_MAX], out[crypto_pwhash_STRBYTES];
    assert_true(pk_seal_text(key, HASH, sealed, sizeof(sealed)) > 0);
    assert_int_equal(pk_open_text(other, sealed, out, sizeof(out)), -1);
    assert_string_equal(out, "");
    assert_int_equal(pk_password_hash_open(other, sealed, out, sizeof(out)), -1);
}

static void test_tampered(void **state)
{
    (void)state;
    char sealed[PK_SEALED_STR_MAX], out[crypto_pwhash_STRBYTES];
    int n = pk_seal_text(key, HASH, sealed, sizeof(sealed));
    /* Change one base64 character at a time across nonce, ciphertext and tag. */
    for (int i = (int)sizeof(PK_SEALED_PREFIX) - 1; i < n - 2; i += 7) {
        char t[PK_SEALED_STR_MAX];
        memcpy(t, sealed, (size_t)n + 1);
        t[i] = t[i] == 'A' ? 'B' : 'A';
        assert_int_equal(pk_open_text(key, t, out, sizeof(out)), -1);
    }
    char junk[PK_SEALED_STR_MAX + 16];
    snprintf(junk, sizeof(junk), "%s not base64!", PK_SEALED_PREFIX);
    assert_int_equal(pk_open_text(key, junk, out, sizeof(out)), -1);
    snprintf(junk, sizeof(junk), "%s trailing", sealed);
    assert_int_equal(pk_open_text(key, junk, out, sizeof(out)), -1);
}

static void test_truncated(void **state)
{
    (void)state;
    char sealed[PK_SEALED_STR_MAX], out[crypto_pwhash_STRBYTES];
    int n = pk_seal_text(key, HASH, sealed, sizeof(sealed));
    for (int cut = n - 1; cut >= 0; cut -= 3) {
        char t[PK_SEALED_STR_MAX];
        memcpy(t, sealed, (size_t)cut);
        t[cut] = 0;
        assert_int_equal(pk_open_text(key, t, out, sizeof(out)), -1);
    }
    /* An output buffer too small for the plaintext is refused, not overrun. */
    char small[16];
    assert_int_equal(pk_open_text(key, sealed, small, sizeof(small)), -1);
}

static void test_wrong_version(void **state)
{
    (void)state;
    char sealed[PK_SEALED_STR_MAX], t[PK_SEALED_STR_MAX + 8], out[crypto_pwhash_STRBYTES];
    assert_true(pk_seal_text(key, HASH, sealed, sizeof(sealed)) > 0);
    const char *body = sealed + strlen(PK_SEALED_PREFIX);
    const char *prefixes[] = {"sealed:v2:", "sealed:v0:", "sealed:", "SEALED:v1:", ""};
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        snprintf(t, sizeof(t), "%s%s", prefixes[i], body);
        assert_false(pk_is_sealed(t));
        assert_int_equal(pk_open_text(key, t, out, sizeof(out)), -1);
    }
}

/* The worker's rule: a plain Argon2id string is not a sealed one. */
static void test_unsealed_hash_refused(void **state)
{
    (void)state;
    char sealed[PK_SEALED_STR_MAX], out[crypto_pwhash_STRBYTES];
    assert_int_equal(pk_password_hash_open(key, HASH, out, sizeof(out)), -1);
    assert_int_equal(pk_password_hash_open(key, "", out, sizeof(out)), -1);
    /* Sealed, but not an Argon2id string: refused too. */
    assert_true(pk_seal_text(key, "plaintext-password", sealed, sizeof(sealed)) > 0);
    assert_int_equal(pk_password_hash_open(key, sealed, out, sizeof(out)), -1);
    assert_string_equal(out, "");
}

static void test_limits_and_keys(void **state)
{
    (void)state;
    char big[PK_SEALED_TEXT_MAX + 2], sealed[PK_SEALED_STR_MAX], out[PK_SEALED_TEXT_MAX + 1];
    memset(big, 'x', PK_SEALED_TEXT_MAX);
    big[PK_SEALED_TEXT_MAX] = 0;
    assert_true(pk_seal_text(key, big, sealed, sizeof(sealed)) > 0);   /* the longest fits PK_SEALED_STR_MAX */
    assert_int_equal(pk_open_text(key, sealed, out, sizeof(out)), PK_SEALED_TEXT_MAX);
    big[PK_SEALED_TEXT_MAX] = 'x';
    big[PK_SEALED_TEXT_MAX + 1] = 0;
    assert_int_equal(pk_seal_text(key, big, sealed, sizeof(sealed)), -1);
    assert_int_equal(pk_seal_text(key, "", sealed, sizeof(sealed)), -1);
    assert_int_equal(pk_seal_text(key, HASH, sealed, 20), -1);   /* does not fit */

    unsigned char k[crypto_secretbox_KEYBYTES];
    char err[160];
    unsetenv("PK_TEST_KEY");
    assert_int_equal(pk_sealed_key_from_env("PK_TEST_KEY", k, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "PK_TEST_KEY is not set"));
    setenv("PK_TEST_KEY", "abcd", 1);
    assert_int_equal(pk_sealed_key_from_env("PK_TEST_KEY", k, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "64 hexadecimal"));
    setenv("PK_TEST_KEY", "0000000000000000000000000000000000000000000000000000000000000000", 1);
    assert_int_equal(pk_sealed_key_from_env("PK_TEST_KEY", k, err, sizeof(err)), -1);
    setenv("PK_TEST_KEY", "0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789abcdef", 1);
    assert_int_equal(pk_sealed_key_from_env("PK_TEST_KEY", k, err, sizeof(err)), 0);
    assert_int_equal(k[0], 0x01);
    assert_int_equal(k[31], 0xef);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),         cmocka_unit_test(test_real_argon2id_fits),
        cmocka_unit_test(test_wrong_key),          cmocka_unit_test(test_tampered),
        cmocka_unit_test(test_truncated),          cmocka_unit_test(test_wrong_version),
        cmocka_unit_test(test_unsealed_hash_refused), cmocka_unit_test(test_limits_and_keys),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
