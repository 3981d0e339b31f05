/* test_relay_order.c — which journal rows the outbox relay may publish
 * (workers/relay_order.h): in seq order, waiting at a hole only while a
 * transaction that could fill it may still be running. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "workers/relay_order.h"

static const wk_snapshot AT_100 = {.xmin = 90, .xmax = 100};

static void test_gap_free_rows_all_go(void **state)
{
    (void)state;
    int64_t seqs[] = {5, 6, 7};
    wk_relay_hole hole = {0};
    assert_int_equal(wk_relay_publishable(seqs, 3, 5, AT_100, &hole), 3);
    assert_int_equal(hole.seq, 0);
}

static void test_nothing_unpublished(void **state)
{
    (void)state;
    wk_relay_hole hole = {0};
    assert_int_equal(wk_relay_publishable(NULL, 0, 5, AT_100, &hole), 0);
    assert_int_equal(hole.seq, 0);
}

static void test_hole_stops_the_prefix_and_is_remembered(void **state)
{
    (void)state;
    int64_t seqs[] = {5, 6, 8, 9};
    wk_relay_hole hole = {0};
    assert_int_equal(wk_relay_publishable(seqs, 4, 5, AT_100, &hole), 2);
    assert_int_equal(hole.seq, 7);
    assert_true(hole.wait_xmax == 100);
}

static void test_hole_waits_while_its_owner_may_run(void **state)
{
    (void)state;
    int64_t seqs[] = {8, 9};
    wk_relay_hole hole = {.seq = 7, .wait_xmax = 100};
    wk_snapshot later = {.xmin = 99, .xmax = 140};   /* xid 99 may own seq 7 */
    assert_int_equal(wk_relay_publishable(seqs, 2, 7, later, &hole), 0);
    assert_int_equal(hole.seq, 7);
    assert_true(hole.wait_xmax == 100);   /* the first sighting's bound stays */
}

static void test_hole_is_skipped_once_every_owner_ended(void **state)
{
    (void)state;
    int64_t seqs[] = {8, 9};
    wk_relay_hole hole = {.seq = 7, .wait_xmax = 100};
    wk_snapshot later = {.xmin = 100, .xmax = 150};
    assert_int_equal(wk_relay_publishable(seqs, 2, 7, later, &hole), 2);
    assert_int_equal(hole.seq, 0);
}

static void test_filled_hole_is_published_in_order(void **state)
{
    (void)state;
    int64_t seqs[] = {7, 8, 9};
    wk_relay_hole hole = {.seq = 7, .wait_xmax = 100};
    assert_int_equal(wk_relay_publishable(seqs, 3, 7, AT_100, &hole), 3);
    assert_int_equal(hole.seq, 0);
}

static void test_second_hole_after_a_skipped_one(void **state)
{
    (void)state;
    int64_t seqs[] = {8, 11};
    wk_relay_hole hole = {.seq = 7, .wait_xmax = 100};
    wk_snapshot later = {.xmin = 120, .xmax = 130};
    assert_int_equal(wk_relay_publishable(seqs, 2, 7, later, &hole), 1);
    assert_int_equal(hole.seq, 9);   /* a new hole: a new wait, bounded by this snapshot */
    assert_true(hole.wait_xmax == 130);
}

static void test_row_below_next_is_taken(void **state)
{
    (void)state;
    int64_t seqs[] = {3, 5};
    wk_relay_hole hole = {0};
    assert_int_equal(wk_relay_publishable(seqs, 2, 5, AT_100, &hole), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gap_free_rows_all_go),
        cmocka_unit_test(test_nothing_unpublished),
        cmocka_unit_test(test_hole_stops_the_prefix_and_is_remembered),
        cmocka_unit_test(test_hole_waits_while_its_owner_may_run),
        cmocka_unit_test(test_hole_is_skipped_once_every_owner_ended),
        cmocka_unit_test(test_filled_hole_is_published_in_order),
        cmocka_unit_test(test_second_hole_after_a_skipped_one),
        cmocka_unit_test(test_row_below_next_is_taken),
    };
    return cmocka_run_group_tests_name("relay_order", tests, NULL, NULL);
}
