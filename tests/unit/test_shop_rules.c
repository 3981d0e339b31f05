/* test_shop_rules.c — the shop's pure rules: shipping, prices, limits, kit
 * stock, cart needs, order numbers and order status moves. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "common/shop_rules.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_shipping_boundary(void **state)
{
    (void)state;
    assert_int_equal(shop_shipping(0), 5000);
    assert_int_equal(shop_shipping(1), 5000);
    assert_int_equal(shop_shipping(49999), 5000);
    assert_int_equal(shop_shipping(50000), 0);
    assert_int_equal(shop_shipping(50001), 0);
    assert_int_equal(shop_shipping(INT64_C(10000000000)), 0);
}

static void test_unit_price_prefers_discount(void **state)
{
    (void)state;
    assert_int_equal(shop_unit_price(15000, SHOP_NO_DISCOUNT), 15000);
    assert_int_equal(shop_unit_price(15000, 12000), 12000);
    assert_int_equal(shop_unit_price(15000, 0), 0);   /* a free promotional item is a discount of 0 */
}

static void test_price_check_never_more_than_shown(void **state)
{
    (void)state;
    int64_t charge = -1;
    assert_int_equal(shop_check_price(10000, 10000, &charge), SHOP_PRICE_OK);
    assert_int_equal(charge, 10000);
    charge = -1;
    assert_int_equal(shop_check_price(10000, 8000, &charge), SHOP_PRICE_OK);
    assert_int_equal(charge, 8000);   /* the lower current price */
    charge = -1;
    assert_int_equal(shop_check_price(10000, 10001, &charge), SHOP_PRICE_CHANGED);
    assert_int_equal(charge, -1);     /* untouched on rejection */
    assert_int_equal(shop_check_price(0, 1, &charge), SHOP_PRICE_CHANGED);
}

static void test_cart_limits(void **state)
{
    (void)state;
    assert_false(shop_qty_valid(0));
    assert_true(shop_qty_valid(1));
    assert_true(shop_qty_valid(99));
    assert_false(shop_qty_valid(100));
    assert_false(shop_qty_valid(-1));
    assert_false(shop_qty_valid(INT64_MAX));
    assert_true(shop_cart_size_valid(0));
    assert_true(shop_cart_size_valid(50));
    assert_false(shop_cart_size_valid(51));
}

static void test_slugs_and_pincodes(void **state)
{
    (void)state;
    assert_true(shop_slug_valid("diya"));
    assert_true(shop_slug_valid("puja-kit_2"));
    assert_true(shop_slug_valid("108-beads"));
    assert_false(shop_slug_valid("123"));          /* would read as an id */
    assert_false(shop_slug_valid(""));
    assert_false(shop_slug_valid(NULL));
    assert_false(shop_slug_valid("Diya"));
    assert_false(shop_slug_valid("diya lamp"));
    assert_false(shop_slug_valid("diya/lamp"));
    char long_slug[SHOP_SLUG_MAX + 2];
    memset(long_slug, 'a', sizeof(long_slug) - 1);
    long_slug[SHOP_SLUG_MAX + 1] = 0;
    assert_false(shop_slug_valid(long_slug));
    long_slug[SHOP_SLUG_MAX] = 0;
    assert_true(shop_slug_valid(long_slug));
    assert_true(shop_pincode_valid("411001"));
    assert_false(shop_pincode_valid("011001"));
    assert_false(shop_pincode_valid("41100"));
    assert_false(shop_pincode_valid("4110011"));
    assert_false(shop_pincode_valid("41100a"));
    assert_false(shop_pincode_valid(NULL));
}

/* Issue 15: the seed frontend's one line of shipping address. */
static void test_split_address_line(void **state)
{
    (void)state;
    static const struct {
        const char *line, *city, *state, *pin;   /* city NULL: refused */
    } cases[] = {
        {"12 MG Road, Pune, Maharashtra 411001", "Pune", "Maharashtra", "411001"},
        {"Flat 4, Shanti Apts, MG Road, Pune, Maharashtra, 411001.", "Pune", "Maharashtra", "411001"},
        {"  7 Ghat Rd ,  Varanasi ,Uttar Pradesh - 221001  ", "Varanasi", "Uttar Pradesh", "221001"},
        {"near the temple", NULL, NULL, NULL},
        {"Pune, Maharashtra 411001", NULL, NULL, NULL},            /* no street */
        {", Pune, Maharashtra 411001", NULL, NULL, NULL},
        {"12 MG Road, Pune, Maharashtra 011001", NULL, NULL, NULL}, /* not a PIN */
        {"12 MG Road, Pune, Maharashtra 4110011", NULL, NULL, NULL},
        {"12 MG Road, Pune, Maharashtra A411001", NULL, NULL, NULL},
        {"12 MG Road, Pune, 411001", NULL, NULL, NULL},             /* no state */
        {"12 MG Road, , Maharashtra 411001", NULL, NULL, NULL},     /* empty city */
        {"411001", NULL, NULL, NULL},
        {"", NULL, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char city[16] = "x", st[16] = "x", pin[7] = "x";
        int rc = shop_split_address_line(cases[i].line, city, st, sizeof(city), pin);
        if (!cases[i].city) {
            if (rc != -1)
                fail_msg("\"%s\": accepted as %s / %s / %s", cases[i].line, city, st, pin);
            continue;
        }
        if (rc != 0 || strcmp(city, cases[i].city) || strcmp(st, cases[i].state) || strcmp(pin, cases[i].pin))
            fail_msg("\"%s\": rc %d, %s / %s / %s", cases[i].line, rc, city, st, pin);
    }
    char small[4], st[16], pin[7];   /* a city longer than the buffer is refused, never cut */
    assert_int_equal(shop_split_address_line("1 Rd, Pune, MH 411001", small, st, sizeof(small), pin), -1);
}

static void test_kit_available_is_min_floor(void **state)
{
    (void)state;
    shop_kit_part parts[] = {{9, 1, 2}, {9, 2, 3}, {9, 3, 1}};
    int64_t stocks[] = {10, 10, 10};            /* 5, 3, 10 */
    assert_int_equal(shop_kit_available(parts, stocks, N(parts)), 3);
    int64_t tight[] = {1, 100, 100};            /* 0 kits: floor(1 / 2) */
    assert_int_equal(shop_kit_available(parts, tight, N(parts)), 0);
    int64_t exact[] = {6, 9, 3};                /* 3, 3, 3 */
    assert_int_equal(shop_kit_available(parts, exact, N(parts)), 3);
    int64_t negative[] = {-4, 9, 3};
    assert_int_equal(shop_kit_available(parts, negative, N(parts)), 0);
    assert_int_equal(shop_kit_available(parts, stocks, 0), 0);   /* no components: not sellable */
}

static void test_needs_expand_kits_and_sum_with_plain_lines(void **state)
{
    (void)state;
    /* Kit 9 = 2 × product 1 + 3 × product 2; cart: 2 kits, 4 × product 1, 1 × product 5. */
    shop_kit_part parts[] = {{9, 2, 3}, {9, 1, 2}, {7, 5, 1}};
    shop_line lines[] = {{5, 1, false}, {9, 2, true}, {1, 4, false}};
    shop_need needs[N(lines) + N(parts)];
    size_t n = shop_cart_needs(lines, N(lines), parts, N(parts), needs);
    assert_int_equal(n, 3);
    assert_int_equal(needs[0].product_id, 1);   /* ascending: the lock order */
    assert_int_equal(needs[0].need, 2 * 2 + 4);
    assert_int_equal(needs[1].product_id, 2);
    assert_int_equal(needs[1].need, 2 * 3);
    assert_int_equal(needs[2].product_id, 5);
    assert_int_equal(needs[2].need, 1);
    /* The kit row itself needs nothing of its own stock. */
    for (size_t i = 0; i < n; i++)
        assert_int_not_equal(needs[i].product_id, 9);
}

static void test_first_short_checks_summed_need(void **state)
{
    (void)state;
    shop_kit_part parts[] = {{9, 1, 2}};
    shop_line lines[] = {{9, 2, true}, {1, 1, false}};   /* needs 5 of product 1 */
    shop_need needs[3];
    size_t n = shop_cart_needs(lines, N(lines), parts, N(parts), needs);
    assert_int_equal(n, 1);
    needs[0].stock = 5;
    assert_int_equal(shop_first_short(needs, n), -1);
    needs[0].stock = 4;   /* enough for the kits alone, or the single unit alone, not both */
    assert_int_equal(shop_first_short(needs, n), 0);
    assert_true(shop_line_uses(&lines[0], parts, N(parts), 1));
    assert_true(shop_line_uses(&lines[1], parts, N(parts), 1));
    assert_false(shop_line_uses(&lines[0], parts, N(parts), 9));
}

static void test_first_short_names_the_short_product(void **state)
{
    (void)state;
    shop_line lines[] = {{3, 1, false}, {1, 2, false}, {2, 5, false}};
    shop_need needs[3];
    size_t n = shop_cart_needs(lines, N(lines), NULL, 0, needs);
    assert_int_equal(n, 3);
    needs[0].stock = 10;
    needs[1].stock = 10;
    needs[2].stock = 0;
    ptrdiff_t i = shop_first_short(needs, n);
    assert_int_equal(i, 2);
    assert_int_equal(needs[i].product_id, 3);
}

static void test_kit_without_components_needs_nothing(void **state)
{
    (void)state;
    shop_line lines[] = {{9, 1, true}};
    shop_need needs[1];
    assert_int_equal(shop_cart_needs(lines, 1, NULL, 0, needs), 0);
}

static void test_order_number_format_and_parse(void **state)
{
    (void)state;
    char buf[SHOP_ORDER_NUMBER_CAP];
    assert_int_equal(shop_order_number(123, buf, sizeof(buf)), strlen("PUN-000123-0"));
    assert_string_equal(buf, "PUN-000123-0");
    shop_order_number(1234567, buf, sizeof(buf));
    assert_string_equal(buf, "PUN-1234567-4");
    shop_order_number(1, buf, sizeof(buf));
    assert_string_equal(buf, "PUN-000001-8");
    assert_int_equal(shop_order_number(0, buf, sizeof(buf)), 0);
    assert_int_equal(shop_order_number(-5, buf, sizeof(buf)), 0);
    assert_int_equal(shop_order_number(1, buf, 8), 0);
    /* Deterministic and reversible for every id. */
    for (int64_t id = 1; id < 5000; id += 7) {
        shop_order_number(id, buf, sizeof(buf));
        assert_int_equal(shop_order_number_parse(buf), id);
    }
    shop_order_number(INT64_MAX, buf, sizeof(buf));
    assert_int_equal(shop_order_number_parse(buf), INT64_MAX);
}

static void test_order_number_parse_rejects_typos(void **state)
{
    (void)state;
    const char *bad[] = {"PUN-000123-1", "PUN-000132-0", "PUN-00123-0",  "pun-000123-0", "PUN-0000123-0",
                         "PUN-000123",   "PUN-000123-",  "PUN-000123-00", "PUN-00012a-0", "", "PUN--0",
                         "PUN-99999999999999999999-0"};
    for (size_t i = 0; i < N(bad); i++)
        assert_int_equal(shop_order_number_parse(bad[i]), -1);
    assert_int_equal(shop_order_number_parse(NULL), -1);
    /* Every single-digit mistake in the number is caught by the check digit. */
    char buf[SHOP_ORDER_NUMBER_CAP];
    shop_order_number(482913, buf, sizeof(buf));
    for (size_t pos = 4; pos < 10; pos++) {
        for (char d = '0'; d <= '9'; d++) {
            char typo[SHOP_ORDER_NUMBER_CAP];
            strcpy(typo, buf);
            if (typo[pos] == d)
                continue;
            typo[pos] = d;
            assert_int_not_equal(shop_order_number_parse(typo), 482913);
        }
    }
}

static void test_status_names_round_trip(void **state)
{
    (void)state;
    const char *names[] = {"pending", "confirmed", "shipped", "delivered", "cancelled"};
    for (size_t i = 0; i < N(names); i++) {
        shop_order_status s = shop_order_status_parse(names[i]);
        assert_int_not_equal(s, ORDER_INVALID);
        assert_string_equal(shop_order_status_name(s), names[i]);
    }
    assert_int_equal(shop_order_status_parse("paid"), ORDER_INVALID);
    assert_int_equal(shop_order_status_parse(""), ORDER_INVALID);
    assert_int_equal(shop_order_status_parse(NULL), ORDER_INVALID);
    assert_null(shop_order_status_name(ORDER_INVALID));
}

/* The whole table: from (rows) × to (columns), P C S D X. */
static void test_transition_table(void **state)
{
    (void)state;
    static const int allowed[5][5] = {
        /*            P  C  S  D  X */
        /* pending */ {0, 1, 0, 0, 1},
        /* confirm */ {0, 0, 1, 0, 1},
        /* shipped */ {0, 0, 0, 1, 0},
        /* deliver */ {0, 0, 0, 0, 0},
        /* cancel  */ {0, 0, 0, 0, 0},
    };
    for (int from = ORDER_PENDING; from <= ORDER_CANCELLED; from++)
        for (int to = ORDER_PENDING; to <= ORDER_CANCELLED; to++)
            if (shop_order_can_transition((shop_order_status)from, (shop_order_status)to) != allowed[from][to])
                fail_msg("%s -> %s should be %s", shop_order_status_name(from), shop_order_status_name(to),
                         allowed[from][to] ? "allowed" : "refused");
    assert_false(shop_order_can_transition(ORDER_INVALID, ORDER_PENDING));
    assert_false(shop_order_can_transition(ORDER_PENDING, ORDER_INVALID));
    assert_true(shop_order_cancellable(ORDER_PENDING));
    assert_true(shop_order_cancellable(ORDER_CONFIRMED));
    assert_false(shop_order_cancellable(ORDER_SHIPPED));
    assert_false(shop_order_cancellable(ORDER_DELIVERED));
    assert_false(shop_order_cancellable(ORDER_CANCELLED));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipping_boundary),
        cmocka_unit_test(test_unit_price_prefers_discount),
        cmocka_unit_test(test_price_check_never_more_than_shown),
        cmocka_unit_test(test_cart_limits),
        cmocka_unit_test(test_slugs_and_pincodes),
        cmocka_unit_test(test_split_address_line),
        cmocka_unit_test(test_kit_available_is_min_floor),
        cmocka_unit_test(test_needs_expand_kits_and_sum_with_plain_lines),
        cmocka_unit_test(test_first_short_checks_summed_need),
        cmocka_unit_test(test_first_short_names_the_short_product),
        cmocka_unit_test(test_kit_without_components_needs_nothing),
        cmocka_unit_test(test_order_number_format_and_parse),
        cmocka_unit_test(test_order_number_parse_rejects_typos),
        cmocka_unit_test(test_status_names_round_trip),
        cmocka_unit_test(test_transition_table),
    };
    return cmocka_run_group_tests_name("shop_rules", tests, NULL, NULL);
}
