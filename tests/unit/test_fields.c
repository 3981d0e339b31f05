/* test_fields.c — the workers' one payload-reader family (workers/fields.h):
 * every reader tells absent, nil, bad and set apart with the same
 * wk_field_status, and writes its output only when the field is set. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <msgpack.h>
#include "common/mp.h"
#include "workers/fields.h"

/* {"n": 7, "neg": -3, "nil": nil, "s": "abc", "ctl": "a\x01b", "b": true, "f": 1.5, "big": 2000000} */
static msgpack_sbuffer payload_buf;
static msgpack_unpacked payload_u;

static int setup(void **state)
{
    (void)state;
    msgpack_packer pk;
    msgpack_sbuffer_init(&payload_buf);
    msgpack_packer_init(&pk, &payload_buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 8);
    pk_mp_kv_i64(&pk, "n", 7);
    pk_mp_kv_i64(&pk, "neg", -3);
    pk_mp_kv_nil(&pk, "nil");
    pk_mp_kv_str(&pk, "s", "abc");
    pk_mp_kv_str(&pk, "ctl", "a\x01" "b");
    pk_mp_kv_bool(&pk, "b", true);
    pk_mp_pack_cstr(&pk, "f");
    msgpack_pack_double(&pk, 1.5);
    pk_mp_kv_i64(&pk, "big", 2000000);
    msgpack_unpacked_init(&payload_u);
    return msgpack_unpack_next(&payload_u, payload_buf.data, payload_buf.size, NULL) == MSGPACK_UNPACK_SUCCESS ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    msgpack_unpacked_destroy(&payload_u);
    msgpack_sbuffer_destroy(&payload_buf);
    return 0;
}

#define P (&payload_u.data)

static void test_int_and_id(void **state)
{
    (void)state;
    int64_t v = 42;
    assert_int_equal(wk_field_int(P, "missing", 0, 10, &v), WK_FIELD_ABSENT);
    assert_int_equal(wk_field_int(P, "nil", 0, 10, &v), WK_FIELD_NULL);
    assert_int_equal(wk_field_int(P, "s", 0, 10, &v), WK_FIELD_BAD);
    assert_int_equal(wk_field_int(P, "n", 0, 5, &v), WK_FIELD_BAD);       /* out of range */
    assert_int_equal(wk_field_int(P, "f", 0, 10, &v), WK_FIELD_BAD);      /* floats are no integers */
    assert_int_equal(v, 42);                                              /* untouched so far */
    assert_int_equal(wk_field_int(P, "n", 0, 10, &v), WK_FIELD_SET);
    assert_int_equal(v, 7);
    assert_int_equal(wk_field_id(P, "neg", &v), WK_FIELD_BAD);
    assert_int_equal(wk_field_id(P, "n", &v), WK_FIELD_SET);
}

static void test_bool_and_number(void **state)
{
    (void)state;
    bool b = false;
    double d = 0;
    assert_int_equal(wk_field_bool(P, "nil", &b), WK_FIELD_NULL);
    assert_int_equal(wk_field_bool(P, "n", &b), WK_FIELD_BAD);
    assert_false(b);
    assert_int_equal(wk_field_bool(P, "b", &b), WK_FIELD_SET);
    assert_true(b);
    assert_int_equal(wk_field_number(P, "big", -1e9, 1e9, &d), WK_FIELD_BAD);   /* ints only up to ±1e6 */
    assert_int_equal(wk_field_number(P, "f", 2, 3, &d), WK_FIELD_BAD);
    assert_int_equal(wk_field_number(P, "missing", 0, 1, &d), WK_FIELD_ABSENT);
    assert_int_equal(wk_field_number(P, "f", -90, 90, &d), WK_FIELD_SET);
    assert_true(d == 1.5);
    assert_int_equal(wk_field_number(P, "neg", -90, 90, &d), WK_FIELD_SET);
    assert_true(d == -3.0);
}

static void test_text(void **state)
{
    (void)state;
    char buf[4] = "zz";
    assert_int_equal(wk_field_text(P, "missing", 0, buf, sizeof(buf)), WK_FIELD_ABSENT);
    assert_int_equal(wk_field_text(P, "nil", 0, buf, sizeof(buf)), WK_FIELD_NULL);
    assert_string_equal(buf, "zz");
    assert_int_equal(wk_field_text(P, "n", 0, buf, sizeof(buf)), WK_FIELD_BAD);
    assert_int_equal(wk_field_text(P, "s", 4, buf, sizeof(buf)), WK_FIELD_BAD);     /* shorter than min_len */
    assert_int_equal(wk_field_text(P, "s", 0, buf, 3), WK_FIELD_BAD);               /* longer than cap - 1 */
    assert_int_equal(wk_field_text(P, "ctl", 0, buf, sizeof(buf)), WK_FIELD_BAD);   /* control character */
    assert_int_equal(wk_field_line(P, "ctl", 0, buf, sizeof(buf)), WK_FIELD_BAD);
    assert_int_equal(wk_field_text(P, "s", 3, buf, sizeof(buf)), WK_FIELD_SET);
    assert_string_equal(buf, "abc");
    /* wk_field_str copies as it is: the caller's own rule comes next. */
    assert_int_equal(wk_field_str(P, "ctl", buf, sizeof(buf)), WK_FIELD_SET);
    assert_string_equal(buf, "a\x01" "b");
    assert_int_equal(wk_field_str(P, "nil", buf, sizeof(buf)), WK_FIELD_NULL);
}

static void test_keys_distinct(void **state)
{
    (void)state;
    assert_true(wk_field_keys_distinct(P));
    static const char dup[] = "\x82\xa1k\x01\xa1k\x02";   /* {"k": 1, "k": 2} */
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, dup, sizeof(dup) - 1, NULL), MSGPACK_UNPACK_SUCCESS);
    assert_false(wk_field_keys_distinct(&u.data));
    msgpack_unpacked_destroy(&u);
    assert_false(wk_field_keys_distinct(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_int_and_id),
        cmocka_unit_test(test_bool_and_number),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_keys_distinct),
    };
    return cmocka_run_group_tests_name("fields", tests, setup, teardown);
}
