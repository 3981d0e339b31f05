/* test_json.c — the strict JSON layer the API parses every body with. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_util.h"

static json_t *parse(const char *text, char *err, size_t errcap)
{
    return pk_json_parse(text, strlen(text), err, errcap);
}

static void assert_rejected(const char *text, size_t len, const char *want_in_err)
{
    char err[200] = "";
    json_t *j = pk_json_parse(text, len, err, sizeof(err));
    if (j) {
        json_decref(j);
        fail_msg("accepted %.*s", (int)len, text);
    }
    assert_true(err[0] != '\0');
    if (want_in_err && !strstr(err, want_in_err))
        fail_msg("error \"%s\" does not mention \"%s\"", err, want_in_err);
}

static void assert_rejected_str(const char *text, const char *want_in_err)
{
    assert_rejected(text, strlen(text), want_in_err);
}

static void test_parses_object(void **state)
{
    (void)state;
    char err[200];
    json_t *j = parse("{\"username\":\"asha\",\"n\":3,\"ok\":true,\"z\":null}", err, sizeof(err));
    assert_non_null(j);
    const char *s;
    int64_t n;
    bool b;
    assert_int_equal(pk_json_get_str(j, "username", &s), 0);
    assert_string_equal(s, "asha");
    assert_int_equal(pk_json_get_int(j, "n", &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(pk_json_get_bool(j, "ok", &b), 0);
    assert_true(b);
    json_decref(j);
}

static void test_duplicate_keys_rejected(void **state)
{
    (void)state;
    assert_rejected_str("{\"price\":\"1\",\"price\":\"2\"}", "duplicate");
    assert_rejected_str("{\"a\":{\"b\":1,\"b\":1}}", "duplicate");
}

static void test_invalid_utf8_rejected(void **state)
{
    (void)state;
    assert_rejected_str("{\"a\":\"\xff\"}", NULL);
    assert_rejected_str("{\"a\":\"\xc0\xaf\"}", NULL);        /* overlong '/' */
    assert_rejected_str("{\"a\":\"\xed\xa0\x80\"}", NULL);    /* raw surrogate */
    assert_rejected_str("{\"a\":\"\xe2\x82\"}", NULL);        /* cut short */
    assert_rejected_str("{\"\xff\":1}", NULL);
    assert_rejected_str("{\"a\":\"\\ud800\"}", NULL);         /* lone surrogate escape */
    assert_rejected_str("{\"a\":\"\\u0000\"}", NULL);         /* NUL would cut C strings */
    assert_rejected("{\"a\":\"x\0y\"}", 11, NULL);            /* raw NUL byte */
    /* Valid multi-byte text is fine. */
    char err[200];
    json_t *j = parse("{\"a\":\"पूजा ₹ \\u0905\"}", err, sizeof(err));
    assert_non_null(j);
    json_decref(j);
}

/* Objects and arrays alternating, `depth` containers in all (the top
 * object is depth 1): {"a":[{"a":[ ... ]}]} */
static char *nested(int depth)
{
    char *s = malloc((size_t)depth * 8 + 16);
    size_t n = 0;
    assert_non_null(s);
    for (int level = 1; level <= depth; level++) {
        if (level % 2 == 0)
            s[n++] = '[';
        else
            n += (size_t)sprintf(s + n, level < depth ? "{\"a\":" : "{");
    }
    for (int level = depth; level >= 1; level--)
        s[n++] = level % 2 ? '}' : ']';
    s[n] = '\0';
    return s;
}

static void test_depth_limit(void **state)
{
    (void)state;
    char err[200];
    char *ok = nested(PK_JSON_MAX_DEPTH);
    json_t *j = parse(ok, err, sizeof(err));
    if (!j)
        fail_msg("depth 32 refused: %s", err);
    json_decref(j);
    free(ok);
    char *deep = nested(PK_JSON_MAX_DEPTH + 1);
    assert_rejected_str(deep, "deeper");
    free(deep);
    char *very = nested(1000);
    assert_rejected_str(very, NULL);
    free(very);
}

static void test_big_ints_exact(void **state)
{
    (void)state;
    char err[200];
    json_t *j = parse("{\"max\":9223372036854775807,\"min\":-9223372036854775808,"
                      "\"odd\":9007199254740993}", err, sizeof(err));
    assert_non_null(j);
    int64_t v;
    assert_int_equal(pk_json_get_int(j, "max", &v), 0);
    assert_true(v == INT64_MAX);
    assert_int_equal(pk_json_get_int(j, "min", &v), 0);
    assert_true(v == INT64_MIN);
    assert_int_equal(pk_json_get_int(j, "odd", &v), 0);   /* 2^53 + 1: a double would lose it */
    assert_true(v == INT64_C(9007199254740993));
    json_decref(j);
    /* Out of int64 range is an error, never a rounded double. */
    assert_rejected_str("{\"n\":9223372036854775808}", NULL);
    assert_rejected_str("{\"n\":-9223372036854775809}", NULL);
}

static void test_top_level_must_be_object(void **state)
{
    (void)state;
    assert_rejected_str("[1,2]", "object");
    assert_rejected_str("[]", "object");
    assert_rejected_str("\"str\"", NULL);
    assert_rejected_str("42", NULL);
    assert_rejected_str("null", NULL);
    assert_rejected_str("", NULL);
    assert_rejected_str("{} {}", NULL);          /* trailing data */
    assert_rejected_str("{\"a\":1,}", NULL);
    assert_rejected_str("{'a':1}", NULL);
    assert_rejected(NULL, 0, NULL);
    /* Only len bytes are parsed. */
    char err[200];
    json_t *j = pk_json_parse("{}garbage", 2, err, sizeof(err));
    assert_non_null(j);
    json_decref(j);
    /* err may be absent. */
    assert_null(pk_json_parse("[", 1, NULL, 0));
}

static void test_getters_types(void **state)
{
    (void)state;
    char err[200];
    json_t *j = parse("{\"s\":\"x\",\"i\":1,\"r\":1.5,\"b\":false,\"n\":null,\"o\":{}}", err, sizeof(err));
    assert_non_null(j);
    const char *s;
    int64_t i;
    bool b;
    assert_int_equal(pk_json_get_str(j, "i", &s), -2);
    assert_int_equal(pk_json_get_str(j, "n", &s), -1);
    assert_int_equal(pk_json_get_str(j, "missing", &s), -1);
    assert_int_equal(pk_json_get_int(j, "r", &i), -2);     /* 1.5 is not an integer */
    assert_int_equal(pk_json_get_int(j, "s", &i), -2);
    assert_int_equal(pk_json_get_int(j, "b", &i), -2);
    assert_int_equal(pk_json_get_bool(j, "i", &b), -2);
    assert_int_equal(pk_json_get_bool(j, "b", &b), 0);
    assert_false(b);
    assert_int_equal(pk_json_get_str(json_object_get(j, "s"), "x", &s), -1);   /* not an object */
    json_decref(j);
}

static void test_money_members(void **state)
{
    (void)state;
    char err[200];
    json_t *j = parse("{\"a\":\"1500.50\",\"b\":500,\"c\":1500.5,\"d\":\"-1\",\"e\":-5,"
                      "\"f\":\"12.345\",\"g\":100000001,\"h\":true}", err, sizeof(err));
    assert_non_null(j);
    int64_t p;
    money_err why;
    assert_int_equal(pk_json_get_money(j, "a", &p, &why), 0);
    assert_int_equal(p, 150050);
    assert_int_equal(pk_json_get_money(j, "b", &p, NULL), 0);
    assert_int_equal(p, 50000);
    assert_int_equal(pk_json_get_money(j, "c", &p, &why), -2);
    assert_int_equal(why, MONEY_SYNTAX);
    assert_int_equal(pk_json_get_money(j, "d", &p, &why), -2);
    assert_int_equal(why, MONEY_NEGATIVE);
    assert_int_equal(pk_json_get_money(j, "e", &p, &why), -2);
    assert_int_equal(why, MONEY_NEGATIVE);
    assert_int_equal(pk_json_get_money(j, "f", &p, &why), -2);
    assert_int_equal(why, MONEY_TOO_PRECISE);
    assert_int_equal(pk_json_get_money(j, "g", &p, &why), -2);
    assert_int_equal(why, MONEY_TOO_LARGE);
    assert_int_equal(pk_json_get_money(j, "h", &p, &why), -2);
    assert_int_equal(pk_json_get_money(j, "missing", &p, &why), -1);
    assert_int_equal(pk_json_set_money(j, "out", 150050), 0);
    const char *s;
    assert_int_equal(pk_json_get_str(j, "out", &s), 0);
    assert_string_equal(s, "1500.50");
    json_decref(j);
}

static void test_dump_compact(void **state)
{
    (void)state;
    char err[200];
    json_t *j = parse("{ \"b\" : [1, 2, {\"c\": null}],\n \"a\": \"x\\\"y\", \"n\": 9223372036854775807 }",
                      err, sizeof(err));
    assert_non_null(j);
    char *text = pk_json_dump(j);
    assert_non_null(text);
    assert_string_equal(text, "{\"b\":[1,2,{\"c\":null}],\"a\":\"x\\\"y\",\"n\":9223372036854775807}");
    free(text);
    json_decref(j);
    json_t *scalar = json_string("ok");
    text = pk_json_dump(scalar);
    assert_string_equal(text, "\"ok\"");
    free(text);
    json_decref(scalar);
    assert_null(pk_json_dump(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parses_object),
        cmocka_unit_test(test_duplicate_keys_rejected),
        cmocka_unit_test(test_invalid_utf8_rejected),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_big_ints_exact),
        cmocka_unit_test(test_top_level_must_be_object),
        cmocka_unit_test(test_getters_types),
        cmocka_unit_test(test_money_members),
        cmocka_unit_test(test_dump_compact),
    };
    return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
