/* test_uuid.c — v7 layout and ordering, v8 derivation, text form. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "common/uuid.h"

static unsigned version_of(const pk_uuid *u)
{
    return u->b[6] >> 4;
}

static unsigned variant_bits(const pk_uuid *u)
{
    return u->b[8] >> 6;   /* RFC 9562 variant: 0b10 */
}

static uint64_t timestamp_of(const pk_uuid *u)
{
    uint64_t ms = 0;
    for (int i = 0; i < 6; i++)
        ms = ms << 8 | u->b[i];
    return ms;
}

static void test_v7_layout(void **state)
{
    (void)state;
    const uint64_t ms = 1764094297123ULL;   /* 2025-11-25T18:11:37.123Z */
    for (int i = 0; i < 200; i++) {
        pk_uuid u;
        pk_uuid_v7(&u, ms);
        assert_int_equal(version_of(&u), 7);
        assert_int_equal(variant_bits(&u), 2);
        assert_true(timestamp_of(&u) == ms);
    }
}

static void test_v7_timestamp_is_48_bits(void **state)
{
    (void)state;
    pk_uuid u;
    pk_uuid_v7(&u, 0xffffffffffffULL);
    assert_true(timestamp_of(&u) == 0xffffffffffffULL);
    pk_uuid_v7(&u, 0);
    assert_true(timestamp_of(&u) == 0);
    assert_int_equal(version_of(&u), 7);
}

static void test_v7_random_part_differs(void **state)
{
    (void)state;
    pk_uuid a, b;
    pk_uuid_v7(&a, 42);
    pk_uuid_v7(&b, 42);
    assert_memory_not_equal(a.b, b.b, 16);
}

/* Later milliseconds sort later, bytewise and in the text form. */
static void test_v7_orders_by_time(void **state)
{
    (void)state;
    pk_uuid prev;
    char prev_s[PK_UUID_STR_LEN + 1];
    pk_uuid_v7(&prev, 1700000000000ULL);
    pk_uuid_format(&prev, prev_s);
    for (uint64_t ms = 1700000000001ULL; ms < 1700000000000ULL + 2000; ms += 1) {
        pk_uuid u;
        char s[PK_UUID_STR_LEN + 1];
        pk_uuid_v7(&u, ms);
        pk_uuid_format(&u, s);
        assert_true(memcmp(prev.b, u.b, 16) < 0);
        assert_true(strcmp(prev_s, s) < 0);
        prev = u;
        memcpy(prev_s, s, sizeof(s));
    }
}

static void test_v8_deterministic(void **state)
{
    (void)state;
    pk_uuid a, b;
    pk_uuid_from_key(&a, "user:12", "abc-123", 7);
    pk_uuid_from_key(&b, "user:12", "abc-123", 7);
    assert_memory_equal(a.b, b.b, 16);
    assert_int_equal(version_of(&a), 8);
    assert_int_equal(variant_bits(&a), 2);
}

/* Pinned: ids derived from idempotency keys must not change between
 * releases, or a retry after an upgrade would become a second command.
 * Expected value = BLAKE2b-128("user:12" 0x00 "abc-123") with v8 bits. */
static void test_v8_known_answer(void **state)
{
    (void)state;
    pk_uuid u;
    char s[PK_UUID_STR_LEN + 1];
    pk_uuid_from_key(&u, "user:12", "abc-123", 7);
    pk_uuid_format(&u, s);
    assert_string_equal(s, "ef067a1f-76fe-84ab-8a80-da49b4fd4969");
}

static void test_v8_scope_and_key_separation(void **state)
{
    (void)state;
    pk_uuid a, b, c, d, e;
    pk_uuid_from_key(&a, "user:12", "key", 3);
    pk_uuid_from_key(&b, "user:13", "key", 3);
    pk_uuid_from_key(&c, "user:12", "kez", 3);
    assert_memory_not_equal(a.b, b.b, 16);
    assert_memory_not_equal(a.b, c.b, 16);
    /* The separator keeps ("ab","c") and ("a","bc") apart. */
    pk_uuid_from_key(&d, "ab", "c", 1);
    pk_uuid_from_key(&e, "a", "bc", 2);
    assert_memory_not_equal(d.b, e.b, 16);
    /* Only key_len bytes of the key count, NULs included. */
    pk_uuid_from_key(&d, "s", "k\0x", 3);
    pk_uuid_from_key(&e, "s", "k\0y", 3);
    assert_memory_not_equal(d.b, e.b, 16);
    pk_uuid_from_key(&d, "s", "key-and-more", 3);
    pk_uuid_from_key(&e, "s", "key", 3);
    assert_memory_equal(d.b, e.b, 16);
}

static void test_v8_empty_inputs(void **state)
{
    (void)state;
    pk_uuid a, b;
    pk_uuid_from_key(&a, "", NULL, 0);
    pk_uuid_from_key(&b, NULL, "", 0);
    assert_memory_equal(a.b, b.b, 16);
    assert_int_equal(version_of(&a), 8);
}

/* Keyed (issue 13): the same secret gives the same id (API restarts, several
 * API processes), another secret or none gives another, so nobody without
 * the server's key derives an id from a user id and a guessed key. */
static void test_v8_keyed(void **state)
{
    (void)state;
    unsigned char k1[32], k2[32];
    memset(k1, 0x11, sizeof(k1));
    memset(k2, 0x22, sizeof(k2));
    pk_uuid a, b, c, plain;
    pk_uuid_from_secret_key(&a, k1, sizeof(k1), "user:2:order.checkout", "1", 1);
    pk_uuid_from_secret_key(&b, k1, sizeof(k1), "user:2:order.checkout", "1", 1);
    pk_uuid_from_secret_key(&c, k2, sizeof(k2), "user:2:order.checkout", "1", 1);
    pk_uuid_from_key(&plain, "user:2:order.checkout", "1", 1);
    assert_memory_equal(a.b, b.b, 16);
    assert_memory_not_equal(a.b, c.b, 16);
    assert_memory_not_equal(a.b, plain.b, 16);
    assert_int_equal(version_of(&a), 8);
    assert_int_equal(variant_bits(&a), 2);
    /* No secret is the unkeyed derivation. */
    pk_uuid_from_secret_key(&b, NULL, 0, "user:2:order.checkout", "1", 1);
    assert_memory_equal(b.b, plain.b, 16);
}

static void test_format_known_value(void **state)
{
    (void)state;
    pk_uuid u;
    char s[PK_UUID_STR_LEN + 1];
    for (int i = 0; i < 16; i++)
        u.b[i] = (uint8_t)(i * 0x11);
    pk_uuid_format(&u, s);
    assert_string_equal(s, "00112233-4455-6677-8899-aabbccddeeff");
    assert_int_equal(strlen(s), PK_UUID_STR_LEN);
}

static void test_parse_round_trip(void **state)
{
    (void)state;
    for (int i = 0; i < 100; i++) {
        pk_uuid u, back;
        char s[PK_UUID_STR_LEN + 1];
        pk_uuid_v7(&u, 1700000000000ULL + (uint64_t)i);
        pk_uuid_format(&u, s);
        assert_int_equal(pk_uuid_parse(s, strlen(s), &back), 0);
        assert_memory_equal(u.b, back.b, 16);
    }
}

static void test_parse_accepts_upper_case(void **state)
{
    (void)state;
    pk_uuid u;
    const char *s = "00112233-4455-6677-8899-AABBCCDDEEFF";
    assert_int_equal(pk_uuid_parse(s, strlen(s), &u), 0);
    assert_int_equal(u.b[15], 0xff);
    assert_int_equal(u.b[10], 0xaa);
}

static void test_parse_rejects_bad_input(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "00112233-4455-6677-8899-aabbccddeef",     /* 35 */
        "00112233-4455-6677-8899-aabbccddeeff0",   /* 37 */
        "001122334455-6677-8899-aabbccddeeff-",    /* hyphens moved */
        "00112233_4455-6677-8899-aabbccddeeff",
        "0011223-34455-6677-8899-aabbccddeeff",
        "g0112233-4455-6677-8899-aabbccddeeff",
        "00112233-4455-6677-8899-aabbccddeefg",
        " 0112233-4455-6677-8899-aabbccddeeff",
        "{0112233-4455-6677-8899-aabbccddeeff",
        "00112233445566778899aabbccddeeff",        /* no hyphens */
        "+0112233-4455-6677-8899-aabbccddeeff",
    };
    pk_uuid u;
    memset(&u, 0x5a, sizeof(u));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (pk_uuid_parse(bad[i], strlen(bad[i]), &u) != -1)
            fail_msg("accepted \"%s\"", bad[i]);
    }
    assert_int_equal(u.b[0], 0x5a);   /* untouched on failure */
    assert_int_equal(pk_uuid_parse(NULL, 36, &u), -1);
    const char with_nul[] = "00112233-4455-6677-8899-aabbccddee\0f";
    assert_int_equal(pk_uuid_parse(with_nul, 36, &u), -1);
    /* len is what counts, not the NUL */
    assert_int_equal(pk_uuid_parse("00112233-4455-6677-8899-aabbccddeeff", 35, &u), -1);
}

/* Owner tags: made for one owner, checked for that owner only; any other
 * owner, secret or changed octet fails; version, variant and the v7
 * timestamp survive. */
static void test_owner_tag(void **state)
{
    (void)state;
    static const unsigned char secret[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    static const unsigned char other_secret[32] = {9, 9, 9};
    const uint64_t ms = 1764094297123ULL;
    int passed_other = 0;
    for (int i = 0; i < 200; i++) {
        pk_uuid u, v;
        pk_uuid_v7(&u, ms);
        pk_uuid_tag_owner(&u, secret, sizeof(secret), "user:42");
        assert_int_equal(version_of(&u), 7);
        assert_int_equal(variant_bits(&u), 2);
        assert_true(timestamp_of(&u) == ms);
        assert_int_equal(pk_uuid_owner_tagged(&u, secret, sizeof(secret), "user:42"), 1);
        passed_other += pk_uuid_owner_tagged(&u, secret, sizeof(secret), "user:43");
        passed_other += pk_uuid_owner_tagged(&u, secret, sizeof(secret), "user:4");
        passed_other += pk_uuid_owner_tagged(&u, other_secret, sizeof(other_secret), "user:42");
        v = u;
        v.b[i % 12] ^= 0x01;   /* any octet the tag covers */
        passed_other += pk_uuid_owner_tagged(&v, secret, sizeof(secret), "user:42");
    }
    assert_int_equal(passed_other, 0);

    /* Deterministic (a derived id stays the same id), and a derived id keeps
     * version 8. */
    pk_uuid a, b;
    pk_uuid_from_secret_key(&a, secret, sizeof(secret), "user:42:user.update", "k1", 2);
    b = a;
    pk_uuid_tag_owner(&a, secret, sizeof(secret), "user:42");
    pk_uuid_tag_owner(&b, secret, sizeof(secret), "user:42");
    assert_memory_equal(a.b, b.b, 16);
    assert_int_equal(version_of(&a), 8);
    assert_int_equal(variant_bits(&a), 2);
    assert_int_equal(pk_uuid_owner_tagged(&a, secret, sizeof(secret), "user:42"), 1);

    /* An untagged id (an older release's) is nobody's. */
    pk_uuid plain;
    pk_uuid_v7(&plain, ms);
    int untagged = 0;
    for (int i = 0; i < 50; i++) {
        pk_uuid_v7(&plain, ms + (uint64_t)i);
        untagged += pk_uuid_owner_tagged(&plain, secret, sizeof(secret), "user:42");
    }
    assert_int_equal(untagged, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_owner_tag),
        cmocka_unit_test(test_v7_layout),
        cmocka_unit_test(test_v7_timestamp_is_48_bits),
        cmocka_unit_test(test_v7_random_part_differs),
        cmocka_unit_test(test_v7_orders_by_time),
        cmocka_unit_test(test_v8_deterministic),
        cmocka_unit_test(test_v8_known_answer),
        cmocka_unit_test(test_v8_scope_and_key_separation),
        cmocka_unit_test(test_v8_empty_inputs),
        cmocka_unit_test(test_v8_keyed),
        cmocka_unit_test(test_format_known_value),
        cmocka_unit_test(test_parse_round_trip),
        cmocka_unit_test(test_parse_accepts_upper_case),
        cmocka_unit_test(test_parse_rejects_bad_input),
    };
    return cmocka_run_group_tests_name("uuid", tests, NULL, NULL);
}
