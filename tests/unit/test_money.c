/* test_money.c — exact decimal parsing/formatting and the 25 % payment split. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/money.h"

/* Parses a C string (its strlen) and returns the error; *out on success. */
static money_err parse(const char *s, int64_t *out)
{
    return money_parse(s, strlen(s), out);
}

static void assert_parses(const char *s, int64_t want)
{
    int64_t got = -12345;
    money_err e = parse(s, &got);
    if (e != MONEY_OK)
        fail_msg("\"%s\" failed: %s", s, money_strerror(e));
    assert_int_equal(got, want);
}

static void assert_rejects(const char *s, money_err want)
{
    int64_t untouched = -777;
    money_err e = parse(s, &untouched);
    if (e != want)
        fail_msg("\"%s\": got error %d, want %d", s, (int)e, (int)want);
    assert_int_equal(untouched, -777);
}

static void test_parse_valid(void **state)
{
    (void)state;
    assert_parses("0.00", 0);
    assert_parses("0", 0);
    assert_parses("1500.5", 150050);
    assert_parses("1500", 150000);
    assert_parses("1500.50", 150050);
    assert_parses("1500.05", 150005);
    assert_parses("007.50", 750);
    assert_parses("0.01", 1);
    assert_parses("00000000000000000000000001.00", 100);   /* leading zeros never overflow */
}

static void test_parse_syntax_errors(void **state)
{
    (void)state;
    assert_rejects("", MONEY_EMPTY);
    static const char *bad[] = {
        "1e3", " 1", "1 ", "1.", ".5", "+1", "1,000", "0x10", "-", "abc", "1..0", "1.2.3",
        "१२", "1.a", "1.5x", "--1", "1-", "Infinity", "NaN", "1_000", "\t1",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_rejects(bad[i], MONEY_SYNTAX);
}

static void test_parse_embedded_nul(void **state)
{
    (void)state;
    int64_t v = -1;
    assert_int_equal(money_parse("1\0", 2, &v), MONEY_SYNTAX);
    assert_int_equal(money_parse("1.0\0", 4, &v), MONEY_SYNTAX);
    assert_int_equal(money_parse("\0" "1", 2, &v), MONEY_SYNTAX);
    /* Only len bytes count: the first byte of "12junk" is "1". */
    assert_int_equal(money_parse("12junk", 1, &v), MONEY_OK);
    assert_int_equal(v, 100);
    assert_int_equal(money_parse(NULL, 0, &v), MONEY_EMPTY);
}

static void test_parse_negative_precise_large(void **state)
{
    (void)state;
    assert_rejects("-1", MONEY_NEGATIVE);
    assert_rejects("-0.05", MONEY_NEGATIVE);
    assert_rejects("-0", MONEY_NEGATIVE);
    assert_rejects("-1e3", MONEY_SYNTAX);
    assert_rejects("12.345", MONEY_TOO_PRECISE);
    assert_rejects("12.340", MONEY_TOO_PRECISE);
    assert_rejects("0.001", MONEY_TOO_PRECISE);
    assert_rejects("12345678901234567890", MONEY_TOO_LARGE);        /* 20 digits */
    assert_rejects("99999999999999999999.99", MONEY_TOO_LARGE);
    assert_rejects("18446744073709551616", MONEY_TOO_LARGE);        /* 2^64 */
    assert_rejects("9223372036854775808", MONEY_TOO_LARGE);         /* 2^63 */
    assert_rejects("922337203685477580.7", MONEY_TOO_LARGE);
    assert_rejects("1000000000000000000000000000000000000000", MONEY_TOO_LARGE);
}

static void test_max_boundary(void **state)
{
    (void)state;
    char buf[MONEY_FMT_CAP];
    assert_parses("100000000.00", MONEY_MAX_PAISE);
    assert_parses("100000000", MONEY_MAX_PAISE);
    assert_parses("99999999.99", MONEY_MAX_PAISE - 1);
    assert_rejects("100000000.01", MONEY_TOO_LARGE);
    assert_rejects("100000001", MONEY_TOO_LARGE);
    money_format(MONEY_MAX_PAISE, buf, sizeof(buf));
    assert_string_equal(buf, "100000000.00");
}

static void assert_formats(int64_t paise, const char *want)
{
    char buf[MONEY_FMT_CAP];
    size_t n = money_format(paise, buf, sizeof(buf));
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
}

static void test_format(void **state)
{
    (void)state;
    assert_formats(150050, "1500.50");
    assert_formats(0, "0.00");
    assert_formats(1, "0.01");
    assert_formats(10, "0.10");
    assert_formats(-5, "-0.05");
    assert_formats(-150050, "-1500.50");
    assert_formats(INT64_MAX, "92233720368547758.07");
    assert_formats(INT64_MIN, "-92233720368547758.08");
}

static void test_format_small_buffer(void **state)
{
    (void)state;
    char buf[5] = "xxxx";
    assert_int_equal(money_format(150050, buf, sizeof(buf)), 7);   /* snprintf semantics */
    assert_string_equal(buf, "1500");
    assert_int_equal(money_format(150050, NULL, 0), 7);
}

static void test_round_trip(void **state)
{
    (void)state;
    const int64_t samples[] = {0, 1, 9, 10, 99, 100, 101, 12345, 150050, 999999, MONEY_MAX_PAISE - 1, MONEY_MAX_PAISE};
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        char buf[MONEY_FMT_CAP];
        int64_t back = -1;
        money_format(samples[i], buf, sizeof(buf));
        assert_int_equal(parse(buf, &back), MONEY_OK);
        assert_int_equal(back, samples[i]);
    }
    /* A dense sweep of the low range catches digit-placement slips. */
    for (int64_t p = 0; p < 100000; p += 7) {
        char buf[MONEY_FMT_CAP];
        int64_t back = -1;
        money_format(p, buf, sizeof(buf));
        assert_int_equal(parse(buf, &back), MONEY_OK);
        assert_int_equal(back, p);
    }
}

static void test_strerror(void **state)
{
    (void)state;
    for (int e = MONEY_OK; e <= MONEY_TOO_LARGE; e++)
        assert_true(strlen(money_strerror((money_err)e)) > 0);
}

static void assert_split(int64_t price, int64_t want_advance)
{
    int64_t adv = -1, bal = -1;
    money_split(price, &adv, &bal);
    assert_int_equal(adv, want_advance);
    assert_int_equal(adv + bal, price);
}

static void test_split(void **state)
{
    (void)state;
    assert_split(0, 0);
    assert_split(1, 0);          /* 0.25 */
    assert_split(2, 1);          /* 0.5 rounds up */
    assert_split(3, 1);          /* 0.75 */
    assert_split(4, 1);
    assert_split(99, 25);        /* 24.75 */
    assert_split(100001, 25000); /* 25000.25 */
    assert_split(1500000, 375000);
    assert_split(MONEY_MAX_PAISE, MONEY_MAX_PAISE / 4);
    assert_split(MONEY_MAX_PAISE - 1, 2500000000);   /* 2499999999.75 */
}

/* The overflow-free form must equal the textbook (price*25+50)/100. */
static void test_split_matches_formula(void **state)
{
    (void)state;
    for (int64_t p = 0; p <= 100000; p++) {
        int64_t adv, bal;
        money_split(p, &adv, &bal);
        assert_int_equal(adv, (p * 25 + 50) / 100);
        assert_int_equal(bal, p - adv);
    }
    for (int64_t p = MONEY_MAX_PAISE - 1000; p <= MONEY_MAX_PAISE; p++) {
        int64_t adv, bal;
        money_split(p, &adv, &bal);
        assert_int_equal(adv, (p * 25 + 50) / 100);
    }
}

static void test_split_extremes_do_not_overflow(void **state)
{
    (void)state;
    int64_t adv, bal;
    money_split(INT64_MAX, &adv, &bal);   /* UBSan would trap on overflow */
    assert_int_equal(adv, INT64_MAX / 4 + 1);
    assert_int_equal(bal, INT64_MAX - adv);
    money_split(INT64_MIN, &adv, &bal);
    assert_int_equal(adv + bal, INT64_MIN);
    money_split(-3, &adv, &bal);          /* -0.75 rounds towards +inf from -0.5: -1 */
    assert_int_equal(adv, -1);
    assert_int_equal(bal, -2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_syntax_errors),
        cmocka_unit_test(test_parse_embedded_nul),
        cmocka_unit_test(test_parse_negative_precise_large),
        cmocka_unit_test(test_max_boundary),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_format_small_buffer),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_split_matches_formula),
        cmocka_unit_test(test_split_extremes_do_not_overflow),
    };
    return cmocka_run_group_tests_name("money", tests, NULL, NULL);
}
