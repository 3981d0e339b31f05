/* test_owner_list.c — the anonymous owner cookie (common/owner_list.h):
 * round trip, newest first and bounded, retries not listed twice, and a
 * value that is altered, expired, of another key or version proves nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sodium.h>

#include "common/owner_list.h"

#define NOW 1800000000u

static unsigned char secret[32], key[PK_OWNER_LIST_KEYBYTES];

/* The same n, the same id (a v8 derived from n), so a test can name one again. */
static pk_uuid id_n(int n)
{
    pk_uuid id;
    char k[16];
    snprintf(k, sizeof(k), "%d", n);
    pk_uuid_from_key(&id, "test", k, strlen(k));
    return id;
}

static void encode(const pk_owner_list *l, char out[PK_OWNER_LIST_CHARS + 1])
{
    assert_int_equal(pk_owner_list_encode(l, key, out, PK_OWNER_LIST_CHARS + 1), 0);
}

static void test_round_trip(void **state)
{
    (void)state;
    pk_owner_list l = {.expires = NOW + 86400}, got;
    pk_uuid a = id_n(1), b = id_n(2), c = id_n(3);
    pk_owner_list_add(&l, &a);
    pk_owner_list_add(&l, &b);
    char v[PK_OWNER_LIST_CHARS + 1];
    encode(&l, v);
    assert_int_equal(pk_owner_list_decode(v, strlen(v), key, NOW, &got), 0);
    assert_int_equal(got.n, 2);
    assert_int_equal(got.expires, NOW + 86400);
    assert_memory_equal(got.ids[0].b, b.b, 16);   /* newest first */
    assert_memory_equal(got.ids[1].b, a.b, 16);
    assert_true(pk_owner_list_has(&got, &a));
    assert_true(pk_owner_list_has(&got, &b));
    assert_false(pk_owner_list_has(&got, &c));
}

static void test_bounded_and_no_duplicates(void **state)
{
    (void)state;
    pk_owner_list l = {.expires = NOW + 60}, got;
    for (int i = 0; i < PK_OWNER_LIST_MAX + 3; i++) {
        pk_uuid id = id_n(i);
        pk_owner_list_add(&l, &id);
    }
    assert_int_equal(l.n, PK_OWNER_LIST_MAX);
    pk_uuid oldest_kept = id_n(3), dropped = id_n(2), retried = id_n(5);
    assert_true(pk_owner_list_has(&l, &oldest_kept));
    assert_false(pk_owner_list_has(&l, &dropped));
    pk_owner_list_add(&l, &retried);   /* a retry moves to the front, not in twice */
    assert_int_equal(l.n, PK_OWNER_LIST_MAX);
    assert_memory_equal(l.ids[0].b, retried.b, 16);
    assert_true(pk_owner_list_has(&l, &oldest_kept));
    char v[PK_OWNER_LIST_CHARS + 1];
    encode(&l, v);
    assert_int_equal(strlen(v), PK_OWNER_LIST_CHARS);   /* the largest value fits its bound */
    assert_int_equal(pk_owner_list_decode(v, strlen(v), key, NOW, &got), 0);
    assert_int_equal(got.n, PK_OWNER_LIST_MAX);
    assert_memory_equal(got.ids, l.ids, sizeof(l.ids));
}

/* Every single character changed, one at a time, is refused. */
static void test_any_altered_character_is_refused(void **state)
{
    (void)state;
    pk_owner_list l = {.expires = NOW + 86400}, got;
    pk_uuid a = id_n(7);
    pk_owner_list_add(&l, &a);
    char v[PK_OWNER_LIST_CHARS + 1];
    encode(&l, v);
    size_t len = strlen(v);
    for (size_t i = 0; i < len; i++) {
        char saved = v[i];
        v[i] = saved == 'A' ? 'B' : 'A';
        assert_int_equal(pk_owner_list_decode(v, len, key, NOW, &got), -1);
        assert_int_equal(got.n, 0);
        v[i] = saved;
    }
    assert_int_equal(pk_owner_list_decode(v, len - 1, key, NOW, &got), -1);   /* truncated */
    assert_int_equal(pk_owner_list_decode(v, len, key, NOW, &got), 0);
}

static void test_expired_other_key_other_shape(void **state)
{
    (void)state;
    pk_owner_list l = {.expires = NOW}, got;
    pk_uuid a = id_n(9);
    pk_owner_list_add(&l, &a);
    char v[PK_OWNER_LIST_CHARS + 1];
    encode(&l, v);
    assert_int_equal(pk_owner_list_decode(v, strlen(v), key, NOW, &got), 0);   /* valid through its last second */
    assert_int_equal(pk_owner_list_decode(v, strlen(v), key, NOW + 1, &got), -1);
    unsigned char other_secret[32], other[PK_OWNER_LIST_KEYBYTES];
    memcpy(other_secret, secret, sizeof(secret));
    other_secret[0] ^= 1;
    pk_owner_list_key(other_secret, other);
    assert_int_equal(pk_owner_list_decode(v, strlen(v), other, NOW, &got), -1);
    /* the old format (a random 43-character token), an empty list, nothing */
    const char *token = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    assert_int_equal(pk_owner_list_decode(token, strlen(token), key, NOW, &got), -1);
    assert_int_equal(pk_owner_list_decode(NULL, 0, key, NOW, &got), -1);
    pk_owner_list empty = {.expires = NOW + 60};
    assert_int_equal(pk_owner_list_encode(&empty, key, v, sizeof(v)), -1);
    assert_int_equal(pk_owner_list_encode(&l, key, v, PK_OWNER_LIST_CHARS), -1);   /* no room */
}

/* The subkey is not the secret, and is the same for the same secret. */
static void test_subkey(void **state)
{
    (void)state;
    unsigned char again[PK_OWNER_LIST_KEYBYTES];
    pk_owner_list_key(secret, again);
    assert_memory_equal(again, key, sizeof(key));
    assert_memory_not_equal(key, secret, sizeof(key));
}

static int setup(void **state)
{
    (void)state;
    if (sodium_init() < 0)
        return -1;
    randombytes_buf(secret, sizeof(secret));
    pk_owner_list_key(secret, key);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_bounded_and_no_duplicates),
        cmocka_unit_test(test_any_altered_character_is_refused),
        cmocka_unit_test(test_expired_other_key_other_shape),
        cmocka_unit_test(test_subkey),
    };
    return cmocka_run_group_tests_name("owner_list", tests, setup, NULL);
}
