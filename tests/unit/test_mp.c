/* test_mp.c — msgpack helpers: the structural scan, typed getters, packers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "common/mp.h"

/* ---- fixtures ------------------------------------------------------------ */

typedef struct {
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_unpacked up;
} fixture;

static int setup(void **state)
{
    static fixture f;
    msgpack_sbuffer_init(&f.sb);
    msgpack_packer_init(&f.pk, &f.sb, msgpack_sbuffer_write);
    msgpack_unpacked_init(&f.up);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    msgpack_unpacked_destroy(&f->up);
    msgpack_sbuffer_destroy(&f->sb);
    return 0;
}

/* Unpacks what was packed so far and returns the root object. */
static const msgpack_object *unpack(fixture *f)
{
    size_t off = 0;
    assert_int_equal(msgpack_unpack_next(&f->up, f->sb.data, f->sb.size, &off), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, f->sb.size);
    return &f->up.data;
}

/* A map with one of each kind of value the API packs. */
static const msgpack_object *sample_map(fixture *f)
{
    msgpack_pack_map(&f->pk, 12);
    pk_mp_kv_str(&f->pk, "name", "Ganesh puja");
    pk_mp_kv_strn(&f->pk, "bytes", "a\0b", 3);
    pk_mp_kv_str(&f->pk, "empty", "");
    pk_mp_kv_str(&f->pk, "null_str", NULL);
    pk_mp_kv_i64(&f->pk, "pos", 42);
    pk_mp_kv_i64(&f->pk, "neg", -42);
    pk_mp_kv_i64(&f->pk, "max", INT64_MAX);
    pk_mp_kv_i64(&f->pk, "min", INT64_MIN);
    pk_mp_kv_bool(&f->pk, "yes", true);
    pk_mp_kv_nil(&f->pk, "nothing");
    pk_mp_pack_cstr(&f->pk, "huge");
    msgpack_pack_uint64(&f->pk, UINT64_MAX);
    pk_mp_pack_cstr(&f->pk, "real");
    msgpack_pack_double(&f->pk, 1.5);
    return unpack(f);
}

/* ---- getters ------------------------------------------------------------- */

static void test_get_str(void **state)
{
    const msgpack_object *m = sample_map(*state);
    const char *s;
    size_t n;
    assert_int_equal(pk_mp_get_str(m, "name", &s, &n), 0);
    assert_int_equal(n, 11);
    assert_memory_equal(s, "Ganesh puja", 11);
    assert_int_equal(pk_mp_get_str(m, "empty", &s, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(pk_mp_get_str(m, "missing", &s, &n), -1);
    assert_int_equal(pk_mp_get_str(m, "nothing", &s, &n), -1);    /* nil = absent */
    assert_int_equal(pk_mp_get_str(m, "null_str", &s, &n), -1);   /* NULL packed as nil */
    assert_int_equal(pk_mp_get_str(m, "pos", &s, &n), -2);
    assert_int_equal(pk_mp_get_str(m, "yes", &s, &n), -2);
}

static void test_get_strcpy(void **state)
{
    const msgpack_object *m = sample_map(*state);
    char buf[12];
    assert_int_equal(pk_mp_get_strcpy(m, "name", buf, sizeof(buf)), 0);   /* 11 + NUL fits */
    assert_string_equal(buf, "Ganesh puja");
    assert_int_equal(pk_mp_get_strcpy(m, "name", buf, 11), -2);           /* no room for NUL */
    assert_int_equal(pk_mp_get_strcpy(m, "bytes", buf, sizeof(buf)), -2); /* embedded NUL */
    assert_int_equal(pk_mp_get_strcpy(m, "empty", buf, 1), 0);
    assert_string_equal(buf, "");
    assert_int_equal(pk_mp_get_strcpy(m, "missing", buf, sizeof(buf)), -1);
    assert_int_equal(pk_mp_get_strcpy(m, "neg", buf, sizeof(buf)), -2);
}

static void test_get_i64(void **state)
{
    const msgpack_object *m = sample_map(*state);
    int64_t v;
    assert_int_equal(pk_mp_get_i64(m, "pos", &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(m->via.map.ptr[4].val.type, MSGPACK_OBJECT_POSITIVE_INTEGER);   /* the trap */
    assert_int_equal(pk_mp_get_i64(m, "neg", &v), 0);
    assert_int_equal(v, -42);
    assert_int_equal(pk_mp_get_i64(m, "max", &v), 0);
    assert_true(v == INT64_MAX);
    assert_int_equal(pk_mp_get_i64(m, "min", &v), 0);
    assert_true(v == INT64_MIN);
    assert_int_equal(pk_mp_get_i64(m, "huge", &v), -2);     /* > INT64_MAX */
    assert_int_equal(pk_mp_get_i64(m, "real", &v), -2);     /* no floats */
    assert_int_equal(pk_mp_get_i64(m, "name", &v), -2);
    assert_int_equal(pk_mp_get_i64(m, "nothing", &v), -1);
    assert_int_equal(pk_mp_get_i64(m, "missing", &v), -1);
}

static void test_get_bool(void **state)
{
    const msgpack_object *m = sample_map(*state);
    bool b = false;
    assert_int_equal(pk_mp_get_bool(m, "yes", &b), 0);
    assert_true(b);
    assert_int_equal(pk_mp_get_bool(m, "pos", &b), -2);
    assert_int_equal(pk_mp_get_bool(m, "nothing", &b), -1);
}

static void test_get_on_non_map(void **state)
{
    fixture *f = *state;
    msgpack_pack_array(&f->pk, 1);
    pk_mp_pack_cstr(&f->pk, "name");
    const msgpack_object *arr = unpack(f);
    int64_t v;
    assert_null(pk_mp_get(arr, "name"));
    assert_null(pk_mp_get(NULL, "name"));
    assert_int_equal(pk_mp_get_i64(arr, "name", &v), -1);
}

static void test_get_skips_non_str_keys_first_wins(void **state)
{
    fixture *f = *state;
    msgpack_pack_map(&f->pk, 3);
    msgpack_pack_int(&f->pk, 7);                 /* int key: never matches */
    msgpack_pack_int(&f->pk, 1);
    pk_mp_kv_i64(&f->pk, "k", 2);
    pk_mp_kv_i64(&f->pk, "k", 3);
    const msgpack_object *m = unpack(f);
    int64_t v;
    assert_int_equal(pk_mp_get_i64(m, "k", &v), 0);
    assert_int_equal(v, 2);
    assert_null(pk_mp_get(m, "7"));
    assert_null(pk_mp_get(m, "kk"));
    assert_null(pk_mp_get(m, ""));
}

static void test_str_eq(void **state)
{
    fixture *f = *state;
    msgpack_pack_array(&f->pk, 2);
    pk_mp_pack_cstr(&f->pk, "type");
    msgpack_pack_bin(&f->pk, 4);
    msgpack_pack_bin_body(&f->pk, "type", 4);
    const msgpack_object *a = unpack(f);
    assert_true(pk_mp_str_eq(&a->via.array.ptr[0], "type"));
    assert_false(pk_mp_str_eq(&a->via.array.ptr[0], "typ"));
    assert_false(pk_mp_str_eq(&a->via.array.ptr[0], "types"));
    assert_false(pk_mp_str_eq(&a->via.array.ptr[1], "type"));   /* bin is not str */
    assert_false(pk_mp_str_eq(NULL, "type"));
}

/* ---- scan ------------------------------------------------------------------ */

static pk_mp_scan_result scan(const void *b, size_t n, size_t *end)
{
    return pk_mp_scan(b, n, PK_MP_SCAN_MAX_DEPTH, end);
}

/* Every prefix of a complete object is truncated; the whole is OK. */
static void assert_prefixes_truncated(const uint8_t *b, size_t n)
{
    size_t end = 0;
    for (size_t i = 0; i < n; i++)
        assert_int_equal(scan(b, i, &end), PK_MP_SCAN_TRUNCATED);
    assert_int_equal(scan(b, n, &end), PK_MP_SCAN_OK);
    assert_int_equal(end, n);
}

static void test_scan_every_type(void **state)
{
    fixture *f = *state;
    msgpack_pack_array(&f->pk, 20);
    msgpack_pack_nil(&f->pk);
    msgpack_pack_true(&f->pk);
    msgpack_pack_int8(&f->pk, -5);
    msgpack_pack_uint8(&f->pk, 200);
    msgpack_pack_int16(&f->pk, -3000);
    msgpack_pack_uint32(&f->pk, 70000);
    msgpack_pack_int64(&f->pk, INT64_MIN);
    msgpack_pack_uint64(&f->pk, UINT64_MAX);
    msgpack_pack_float(&f->pk, 1.5f);
    msgpack_pack_double(&f->pk, 2.5);
    pk_mp_pack_cstr(&f->pk, "short");
    char big[70000];
    memset(big, 'x', sizeof(big));
    pk_mp_pack_strn(&f->pk, big, 40);        /* str8 */
    pk_mp_pack_strn(&f->pk, big, 300);       /* str16 */
    pk_mp_pack_strn(&f->pk, big, 70000);     /* str32 */
    msgpack_pack_bin(&f->pk, 3);
    msgpack_pack_bin_body(&f->pk, "abc", 3);
    msgpack_pack_ext(&f->pk, 4, 1);          /* fixext4 */
    msgpack_pack_ext_body(&f->pk, "abcd", 4);
    msgpack_pack_ext(&f->pk, 5, 2);          /* ext8 */
    msgpack_pack_ext_body(&f->pk, "abcde", 5);
    msgpack_pack_map(&f->pk, 0);
    msgpack_pack_array(&f->pk, 17);          /* array16 */
    for (int i = 0; i < 17; i++)
        msgpack_pack_int(&f->pk, i);
    msgpack_pack_map(&f->pk, 16);            /* map16 */
    for (int i = 0; i < 16; i++) {
        msgpack_pack_int(&f->pk, i);
        msgpack_pack_nil(&f->pk);
    }
    size_t end = 0;
    assert_int_equal(scan(f->sb.data, f->sb.size, &end), PK_MP_SCAN_OK);
    assert_int_equal(end, f->sb.size);
    /* The scan agrees with msgpack-c about where the object ends. */
    unpack(f);
}

static void test_scan_truncation(void **state)
{
    fixture *f = *state;
    msgpack_pack_map(&f->pk, 2);
    pk_mp_kv_str(&f->pk, "a", "hello");
    pk_mp_pack_cstr(&f->pk, "b");
    msgpack_pack_array(&f->pk, 3);
    msgpack_pack_uint64(&f->pk, UINT64_MAX);
    msgpack_pack_double(&f->pk, 1.0);
    msgpack_pack_ext(&f->pk, 3, 9);
    msgpack_pack_ext_body(&f->pk, "xyz", 3);
    assert_prefixes_truncated((const uint8_t *)f->sb.data, f->sb.size);
}

static void test_scan_trailing_bytes_reported_by_end(void **state)
{
    (void)state;
    const uint8_t two[] = {0x01, 0x02};
    size_t end = 0;
    assert_int_equal(scan(two, sizeof(two), &end), PK_MP_SCAN_OK);
    assert_int_equal(end, 1);
}

/* The allocation bomb: headers promising more elements than bytes left. */
static void test_scan_refuses_impossible_counts(void **state)
{
    (void)state;
    size_t end;
    const uint8_t map32[] = {0xdf, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00};
    const uint8_t arr32[] = {0xdd, 0x7f, 0xff, 0xff, 0xff, 0x00};
    const uint8_t str32[] = {0xdb, 0xff, 0xff, 0xff, 0xff, 'a'};
    const uint8_t bin32[] = {0xc6, 0x00, 0x01, 0x00, 0x00, 'a'};
    const uint8_t ext32[] = {0xc9, 0xff, 0xff, 0xff, 0xff, 0x01, 'a'};
    const uint8_t fixmap[] = {0x83, 0x01, 0x02};       /* 3 pairs need >= 6 bytes */
    assert_int_equal(scan(map32, sizeof(map32), &end), PK_MP_SCAN_TRUNCATED);
    assert_int_equal(scan(arr32, sizeof(arr32), &end), PK_MP_SCAN_TRUNCATED);
    assert_int_equal(scan(str32, sizeof(str32), &end), PK_MP_SCAN_TRUNCATED);
    assert_int_equal(scan(bin32, sizeof(bin32), &end), PK_MP_SCAN_TRUNCATED);
    assert_int_equal(scan(ext32, sizeof(ext32), &end), PK_MP_SCAN_TRUNCATED);
    assert_int_equal(scan(fixmap, sizeof(fixmap), &end), PK_MP_SCAN_TRUNCATED);
}

static void test_scan_reserved_byte(void **state)
{
    (void)state;
    size_t end;
    const uint8_t lone[] = {0xc1};
    const uint8_t inside[] = {0x92, 0x01, 0xc1};
    assert_int_equal(scan(lone, 1, &end), PK_MP_SCAN_MALFORMED);
    assert_int_equal(scan(inside, sizeof(inside), &end), PK_MP_SCAN_MALFORMED);
    assert_int_equal(scan(lone, 0, &end), PK_MP_SCAN_TRUNCATED);
}

static void test_scan_depth(void **state)
{
    (void)state;
    uint8_t nest[64];
    size_t end;
    /* d nested one-element arrays around a 0: depth d. */
    for (unsigned d = 1; d < sizeof(nest); d++) {
        memset(nest, 0x91, d);
        nest[d] = 0x00;
        pk_mp_scan_result want = d <= PK_MP_SCAN_MAX_DEPTH ? PK_MP_SCAN_OK : PK_MP_SCAN_TOO_DEEP;
        assert_int_equal(pk_mp_scan(nest, d + 1, 64, &end), want);   /* capped at 32 */
        assert_int_equal(pk_mp_scan(nest, d + 1, 4, &end), d <= 4 ? PK_MP_SCAN_OK : PK_MP_SCAN_TOO_DEEP);
    }
    /* An empty container still counts as a level (msgpack-c agrees). */
    memset(nest, 0x91, 4);
    nest[4] = 0x90;
    assert_int_equal(pk_mp_scan(nest, 5, 4, &end), PK_MP_SCAN_TOO_DEEP);
    assert_int_equal(pk_mp_scan(nest, 5, 5, &end), PK_MP_SCAN_OK);
    const uint8_t scalar[] = {0x05};
    assert_int_equal(pk_mp_scan(scalar, 1, 0, &end), PK_MP_SCAN_OK);
}

/* Whatever the scan accepts, msgpack-c unpacks to the same end: checked for
 * every 1- and 2-byte input and every 2-byte prefix followed by a few
 * interesting third bytes. */
static void test_scan_agrees_with_msgpack_c(void **state)
{
    (void)state;
    const uint8_t thirds[] = {0x00, 0x01, 0x7f, 0x80, 0x90, 0xa0, 0xc0, 0xc1, 0xcc, 0xd9, 0xff};
    size_t accepted = 0;
    for (unsigned x = 0; x < (1u << 16); x++) {
        for (size_t t = 0; t < sizeof(thirds); t++) {
            const uint8_t b[3] = {(uint8_t)(x >> 8), (uint8_t)x, thirds[t]};
            for (size_t n = 1; n <= 3; n++) {
                size_t end = 0, off = 0;
                if (scan(b, n, &end) != PK_MP_SCAN_OK)
                    continue;
                msgpack_unpacked up;
                msgpack_unpacked_init(&up);
                assert_int_equal(msgpack_unpack_next(&up, (const char *)b, n, &off), MSGPACK_UNPACK_SUCCESS);
                assert_int_equal(off, end);
                msgpack_unpacked_destroy(&up);
                accepted++;
            }
        }
    }
    assert_true(accepted > 100000);
}

/* ---- packers --------------------------------------------------------------- */

static void test_packers_round_trip(void **state)
{
    fixture *f = *state;
    const msgpack_object *m = sample_map(f);
    assert_int_equal(m->type, MSGPACK_OBJECT_MAP);
    assert_int_equal(m->via.map.size, 12);
    const msgpack_object *nothing = pk_mp_get(m, "nothing");
    assert_non_null(nothing);
    assert_int_equal(nothing->type, MSGPACK_OBJECT_NIL);
    const char *s;
    size_t n;
    assert_int_equal(pk_mp_get_str(m, "bytes", &s, &n), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(s, "a\0b", 3);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_get_str),
        T(test_get_strcpy),
        T(test_get_i64),
        T(test_get_bool),
        T(test_get_on_non_map),
        T(test_get_skips_non_str_keys_first_wins),
        T(test_str_eq),
        T(test_scan_every_type),
        T(test_scan_truncation),
        T(test_scan_trailing_bytes_reported_by_end),
        T(test_scan_refuses_impossible_counts),
        T(test_scan_reserved_byte),
        T(test_scan_depth),
        T(test_scan_agrees_with_msgpack_c),
        T(test_packers_round_trip),
    };
    return cmocka_run_group_tests_name("mp", tests, NULL, NULL);
}
