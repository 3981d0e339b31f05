/* it_bookings_lifecycle.c — a booking's life through Kafka → worker →
 * PostgreSQL, driven by command envelopes produced straight to Kafka
 * (tests/support/bookings.h; the HTTP endpoints: it_bookings_http_*): the
 * happy path with the 25/75 split, the checklist, dakshina and the ledger,
 * an exact average rating, and the refund rule for every kind of
 * cancellation. Races: it_bookings_concurrency; who may do what and
 * malformed payloads: it_bookings_rules. */
#include "tests/support/bookings.h"   /* first: it brings cmocka's prerequisites */

#include <stdio.h>
#include <string.h>
#include <jansson.h>
#include "common/mp.h"
#include "tests/support/commands.h"
#include "tests/support/db.h"

#define HOUR_US (INT64_C(3600) * 1000000)

static PGconn *db;           /* set by bookings_main (tests/support/bookings.h) */
static int64_t service_id;

static int64_t start_of(const char *date, const char *time)
{
    booking_date d;
    int minute;
    assert_int_equal(booking_parse_date(date, &d), 0);
    assert_int_equal(booking_parse_time(time, &minute), 0);
    return booking_local_to_us(d, minute, TZ);
}

static long long captured(int64_t booking)
{
    return booking_scalar("SELECT coalesce(sum(amount_paise), 0) FROM payments WHERE booking_id = $1"
                          " AND kind = 'captured'", booking);
}

static long long net_paid(int64_t booking)
{
    return booking_scalar("SELECT coalesce(sum(CASE kind WHEN 'captured' THEN amount_paise ELSE -amount_paise END), 0)"
                          " FROM payments WHERE booking_id = $1", booking);
}

/* ---- tests ---- */

static void test_happy_path(void **state)
{
    (void)state;
    person customer = register_user("bhakt", "customer");
    person priest = verified_priest();
    char date[11];
    local_date(3, date);

    it_outcome o = create_at(&customer, &priest, service_id, date, "10:00", 0);
    expect(&o, "applied", "");
    assert_int_equal(http_status(&o), 201);
    int64_t id = o.entity_id;
    assert_field(&o, "status", "pending");
    assert_field(&o, "payment_status", "partial");
    assert_field(&o, "service_price", "1500.03");
    assert_field(&o, "advance_payment", "375.01");
    assert_field(&o, "balance_payment", "1125.02");
    assert_field(&o, "dakshina_amount", "0.00");
    assert_field(&o, "booking_date", date);
    assert_field(&o, "booking_time", "10:00");
    assert_field(&o, "location_latitude", "18.520430");
    assert_field(&o, "rating", "null");
    assert_true(o.resource && strstr(o.resource, "\"service_details\""));
    assert_int_equal(it_db_scalar(db, "SELECT (created_ids->>'booking')::bigint FROM command_outcomes"
                                      " WHERE command_id = $1", o.id, NULL), id);
    it_outcome_free(&o);
    assert_int_equal(captured(id), ADVANCE);
    assert_int_equal(booking_scalar("SELECT count(*) FROM bookings WHERE id = $1 AND upper(occupied) - lower(occupied)"
                                    " = interval '75 minutes'", id), 1);

    act_ok("booking.confirm", &priest, &priest, id);

    it_payload pl;
    it_payload_init(&pl);
    msgpack_pack_map(&pl.pk, 2);
    pk_mp_kv_i64(&pl.pk, "booking_id", id);
    pk_mp_pack_cstr(&pl.pk, "checklist");
    msgpack_pack_map(&pl.pk, 2);
    pack_strings(&pl.pk, "items", 2, "kalash sthapana", "havan");
    pk_mp_kv_bool(&pl.pk, "prasad_distributed", true);
    o = booking_cmd("booking.complete", priest.priest_id, &priest, &pl, started(id) - 2 * 60000000);
    expect(&o, "rejected", "not_started");   /* issue 14: a minute before the start */
    it_outcome_free(&o);
    it_payload_init(&pl);
    msgpack_pack_map(&pl.pk, 2);
    pk_mp_kv_i64(&pl.pk, "booking_id", id);
    pk_mp_pack_cstr(&pl.pk, "checklist");
    msgpack_pack_map(&pl.pk, 2);
    pack_strings(&pl.pk, "items", 2, "kalash sthapana", "havan");
    pk_mp_kv_bool(&pl.pk, "prasad_distributed", true);
    o = booking_cmd("booking.complete", priest.priest_id, &priest, &pl, started(id));
    expect(&o, "applied", "");
    assert_field(&o, "status", "completed");
    it_outcome_free(&o);
    assert_int_equal(booking_scalar("SELECT count(*) FROM bookings WHERE id = $1"
                                    " AND completion_checklist->>'prasad_distributed' = 'true'", id), 1);

    o = act_at("booking.customer_confirm", &customer, &priest, id, "dakshina", NULL, 50100, 0);
    expect(&o, "applied", "");
    assert_field(&o, "payment_status", "full");
    assert_field(&o, "dakshina_amount", "501.00");
    it_outcome_free(&o);
    assert_int_equal(captured(id), PRICE + 50100);
    assert_int_equal(net_paid(id), PRICE + 50100);
    assert_int_equal(booking_scalar("SELECT count(*) FROM payments WHERE booking_id = $1 AND ((purpose = 'advance'"
                                    " AND amount_paise = 37501) OR (purpose = 'balance' AND amount_paise = 112502)"
                                    " OR (purpose = 'dakshina' AND amount_paise = 50100))", id), 3);

    o = rate(&customer, &priest, id, 4);
    expect(&o, "applied", "");
    assert_field(&o, "rating", "4");
    it_outcome_free(&o);
    /* A second booking rated 5: the average is exact. */
    int64_t second = book(&customer, &priest, date, "14:00");
    complete_booking(&priest, second);
    o = rate(&customer, &priest, second, 5);
    expect(&o, "applied", "");
    it_outcome_free(&o);
    char pid[24];
    itoa64(priest.priest_id, pid);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM priest_profiles WHERE id = $1 AND rating_count = 2"
                                      " AND rating_sum = 9 AND average_rating = 4.50", pid, NULL), 1);
}

static void test_cancellation_refunds(void **state)
{
    (void)state;
    person customer = register_user("bhakt", "customer");
    person priest = verified_priest();
    char date[11];
    local_date(4, date);
    /* issued_at is the worker's only clock, so the notice period is set exactly. */
    int64_t start = start_of(date, "09:00");
    int64_t early = book(&customer, &priest, date, "09:00");
    it_outcome o = act_at("booking.cancel", &customer, &priest, early, "reason", "family emergency", 0, start - DAY_US);
    expect(&o, "applied", "");
    assert_field(&o, "status", "cancelled");
    assert_field(&o, "payment_status", "refunded");   /* exactly 24 h ahead still refunds */
    it_outcome_free(&o);
    assert_int_equal(captured(early), ADVANCE);
    assert_int_equal(net_paid(early), 0);

    /* The cancelled booking freed its slot. */
    int64_t late = book(&customer, &priest, date, "09:00");
    o = act_at("booking.cancel", &customer, &priest, late, "reason", "changed plans", 0, start - DAY_US + 60000000);
    expect(&o, "applied", "");
    assert_field(&o, "payment_status", "advance_retained");
    it_outcome_free(&o);
    assert_int_equal(net_paid(late), ADVANCE);
    assert_int_equal(booking_scalar("SELECT count(*) FROM payments WHERE booking_id = $1 AND kind = 'refunded'", late),
                     0);
    assert_int_equal(booking_scalar("SELECT cancelled_by FROM bookings WHERE id = $1", late), customer.user_id);

    /* The priest cancelling, even an hour before, refunds in full. */
    int64_t by_priest = book(&customer, &priest, date, "09:00");
    act_ok("booking.confirm", &priest, &priest, by_priest);
    o = act_at("booking.cancel", &priest, &priest, by_priest, NULL, NULL, 0, start - HOUR_US);
    expect(&o, "applied", "");
    assert_field(&o, "payment_status", "refunded");
    it_outcome_free(&o);
    assert_int_equal(net_paid(by_priest), 0);
    assert_int_equal(booking_scalar("SELECT cancelled_by FROM bookings WHERE id = $1", by_priest), priest.user_id);

    /* An admin may cancel too (refunds like a priest); a completed booking cannot be cancelled. */
    int64_t by_admin = book(&customer, &priest, date, "11:00");
    o = act_at("booking.cancel", NULL, &priest, by_admin, "reason", "priest unavailable", 0, 0);
    expect(&o, "applied", "");
    assert_field(&o, "payment_status", "refunded");
    it_outcome_free(&o);
    int64_t done = book(&customer, &priest, date, "13:00");
    complete_booking(&priest, done);
    act_rejected("booking.cancel", &customer, &priest, done, "invalid_transition");
    act_rejected("booking.cancel", &priest, &priest, done, "invalid_transition");
    assert_int_equal(net_paid(done), ADVANCE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_happy_path),
        cmocka_unit_test(test_cancellation_refunds),
    };
    return bookings_main("bookings_lifecycle", tests, sizeof(tests) / sizeof(tests[0]), &db, NULL, &service_id);
}
