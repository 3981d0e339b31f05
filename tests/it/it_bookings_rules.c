/* it_bookings_rules.c — what the booking workers refuse, through Kafka →
 * worker → PostgreSQL, driven by command envelopes produced straight to
 * Kafka (tests/support/bookings.h): authorization inside the worker (the
 * actor's role and the booking's people, verified priests only, slots, the
 * clock, the catalog), malformed payloads rejected and dead-lettered with
 * the partition still moving, and the admin's priest and service commands.
 * A booking's life: it_bookings_lifecycle; races: it_bookings_concurrency. */
#include "tests/support/bookings.h"   /* first: it brings cmocka's prerequisites */

#include <stdio.h>
#include <string.h>
#include "common/mp.h"
#include "tests/support/commands.h"
#include "tests/support/db.h"

static PGconn *db;           /* set by bookings_main (tests/support/bookings.h) */
static int64_t admin_id, service_id;
static const char *const tag = bookings_tag;

/* ---- tests ---- */

static void test_authorization_in_worker(void **state)
{
    (void)state;
    person a = register_user("bhakt", "customer");
    person b = register_user("bhakt", "customer");
    person priest_a = verified_priest();
    person priest_b = verified_priest();
    char date[11];
    local_date(5, date);
    int64_t id = book(&a, &priest_a, date, "10:00");

    act_rejected("booking.confirm", &a, &priest_a, id, "forbidden");   /* a customer cannot confirm */
    it_outcome o = act("booking.confirm", &priest_b, &priest_a, id);   /* someone else's booking: 404 */
    expect(&o, "rejected", "not_found");
    assert_int_equal(http_status(&o), 404);
    it_outcome_free(&o);
    act_rejected("booking.complete", &priest_b, &priest_a, id, "not_found");
    act_rejected("booking.cancel", &b, &priest_a, id, "not_found");
    o = rate(&b, &priest_a, id, 5);
    expect(&o, "rejected", "not_found");
    it_outcome_free(&o);
    act_rejected("booking.confirm", NULL, &priest_a, id, "forbidden");   /* admins only cancel */
    act_rejected("booking.confirm", &priest_a, &priest_a, 999999999, "not_found");
    act_rejected("booking.complete", &priest_a, &priest_a, id, "invalid_transition");   /* confirm first */
    o = rate(&a, &priest_a, id, 5);
    expect(&o, "rejected", "not_completed");
    it_outcome_free(&o);
    act_rejected("booking.customer_confirm", &a, &priest_a, id, "not_completed");
    assert_int_equal(booking_scalar("SELECT count(*) FROM bookings WHERE id = $1 AND status = 'pending'", id), 1);

    /* Only verified priests can be booked; unverifying stops new bookings. */
    person unverified = register_user("pandit", "priest");
    o = create_at(&a, &unverified, service_id, date, "10:00", 0);
    expect(&o, "rejected", "not_verified");
    it_outcome_free(&o);
    o = verify_as(NULL, priest_b.priest_id, 0);
    expect(&o, "applied", "");
    it_outcome_free(&o);
    o = create_at(&a, &priest_b, service_id, date, "10:00", 0);
    expect(&o, "rejected", "not_verified");
    it_outcome_free(&o);

    /* Only admins verify priests and run the catalog; only customers book. */
    o = verify_as(&a, unverified.priest_id, 1);
    expect(&o, "rejected", "forbidden");
    it_outcome_free(&o);
    o = service_create_as(&priest_a, "Sneaky puja", 100, 30);
    expect(&o, "rejected", "forbidden");
    it_outcome_free(&o);
    o = create_at(&priest_a, &priest_a, service_id, date, "16:00", 0);
    expect(&o, "rejected", "forbidden");
    it_outcome_free(&o);

    /* The slot, the clock and the catalog. */
    o = create_at(&b, &priest_a, service_id, date, "10:30", 0);
    expect(&o, "rejected", "slot_taken");
    it_outcome_free(&o);
    char yesterday[11], far[11];
    local_date(-1, yesterday);
    local_date(730, far);
    o = create_at(&b, &priest_a, service_id, yesterday, "10:00", 0);
    expect(&o, "rejected", "in_past");
    it_outcome_free(&o);
    o = create_at(&b, &priest_a, service_id, far, "10:00", 0);
    expect(&o, "rejected", "too_far_ahead");
    it_outcome_free(&o);
    o = create_at(&b, &priest_a, service_id, date, "20:30", 0);   /* would end 21:30 */
    expect(&o, "rejected", "outside_working_hours");
    it_outcome_free(&o);
    o = create_at(&b, &priest_a, 999999999, date, "12:00", 0);
    expect(&o, "rejected", "unknown_service");
    it_outcome_free(&o);
    o = create_at(&b, &(person){0, 999999999, "", ""}, service_id, date, "12:00", 0);
    expect(&o, "rejected", "unknown_priest");
    it_outcome_free(&o);
    int64_t retired = new_service(100000, 30);
    it_payload pl;
    it_payload_init(&pl);
    msgpack_pack_map(&pl.pk, 2);
    pk_mp_kv_i64(&pl.pk, "service_id", retired);
    pk_mp_kv_bool(&pl.pk, "is_active", false);
    o = send_at("service.update", "catalog", retired, NULL, NULL, &pl, 0);
    expect(&o, "applied", "");
    assert_field(&o, "is_active", "false");
    it_outcome_free(&o);
    o = create_at(&b, &priest_a, retired, date, "12:00", 0);
    expect(&o, "rejected", "service_inactive");
    it_outcome_free(&o);
    assert_int_equal(booking_scalar("SELECT count(*) FROM bookings WHERE priest_id = $1", priest_a.priest_id), 1);
}

/* Payload builders for malformed commands: each packs a map into pl. */
typedef void (*bad_payload)(msgpack_packer *pk, int64_t priest, int64_t booking);

static void no_priest(msgpack_packer *pk, int64_t priest, int64_t booking)
{
    (void)priest, (void)booking;
    msgpack_pack_map(pk, 3);
    pk_mp_kv_i64(pk, "service", service_id);
    pk_mp_kv_str(pk, "booking_date", "2030-01-01");
    pk_mp_kv_str(pk, "booking_time", "10:00");
}

static void create_with(msgpack_packer *pk, int64_t priest, const char *date, const char *time)
{
    msgpack_pack_map(pk, 4);
    pk_mp_kv_i64(pk, "priest", priest);
    pk_mp_kv_i64(pk, "service", service_id);
    pk_mp_kv_str(pk, "booking_date", date);
    pk_mp_kv_str(pk, "booking_time", time);
}

static void bad_time(msgpack_packer *pk, int64_t priest, int64_t booking)
{
    (void)booking;
    create_with(pk, priest, "2030-01-01", "25:00");
}

static void bad_date(msgpack_packer *pk, int64_t priest, int64_t booking)
{
    (void)booking;
    create_with(pk, priest, "2030-02-30", "10:00");
}

static void priest_as_text(msgpack_packer *pk, int64_t priest, int64_t booking)
{
    (void)priest, (void)booking;
    msgpack_pack_map(pk, 4);
    pk_mp_kv_str(pk, "priest", "7");
    pk_mp_kv_i64(pk, "service", service_id);
    pk_mp_kv_str(pk, "booking_date", "2030-01-01");
    pk_mp_kv_str(pk, "booking_time", "10:00");
}

static void rating_int(msgpack_packer *pk, int64_t booking, int64_t stars)
{
    msgpack_pack_map(pk, 2);
    pk_mp_kv_i64(pk, "booking_id", booking);
    pk_mp_kv_i64(pk, "rating", stars);
}

static void rating_0(msgpack_packer *pk, int64_t priest, int64_t booking)
{
    (void)priest;
    rating_int(pk, booking, 0);
}

static void rating_6(msgpack_packer *pk, int64_t priest, int64_t booking)
{
    (void)priest;
    rating_int(pk, booking, 6);
}

static void rating_text(msgpack_packer *pk, int64_t priest, int64_t booking)
{
    (void)priest;
    msgpack_pack_map(pk, 2);
    pk_mp_kv_i64(pk, "booking_id", booking);
    pk_mp_kv_str(pk, "rating", "5");
}

static void huge_feedback(msgpack_packer *pk, int64_t priest, int64_t booking)
{
    (void)priest;
    static char text[100 * 1024 + 1];
    memset(text, 'a', sizeof(text) - 1);
    msgpack_pack_map(pk, 3);
    pk_mp_kv_i64(pk, "booking_id", booking);
    pk_mp_kv_i64(pk, "rating", 5);
    pk_mp_kv_str(pk, "feedback", text);
}

static void negative_dakshina(msgpack_packer *pk, int64_t priest, int64_t booking)
{
    (void)priest;
    msgpack_pack_map(pk, 2);
    pk_mp_kv_i64(pk, "booking_id", booking);
    pk_mp_kv_i64(pk, "dakshina", -100);
}

static void no_booking_id(msgpack_packer *pk, int64_t priest, int64_t booking)
{
    (void)priest, (void)booking;
    msgpack_pack_map(pk, 1);
    pk_mp_kv_str(pk, "reason", "no id");
}

static void checklist_text(msgpack_packer *pk, int64_t priest, int64_t booking)
{
    (void)priest;
    msgpack_pack_map(pk, 2);
    pk_mp_kv_i64(pk, "booking_id", booking);
    pk_mp_kv_str(pk, "checklist", "all done");
}

static void duplicate_key(msgpack_packer *pk, int64_t priest, int64_t booking)
{
    (void)priest;
    msgpack_pack_map(pk, 2);
    pk_mp_kv_i64(pk, "booking_id", booking);
    pk_mp_kv_i64(pk, "booking_id", booking + 1);
}

static void control_chars(msgpack_packer *pk, int64_t priest, int64_t booking)
{
    (void)priest;
    msgpack_pack_map(pk, 2);
    pk_mp_kv_i64(pk, "booking_id", booking);
    pk_mp_kv_strn(pk, "reason", "bad\x01\xff", 5);
}

static void test_invalid_payloads_rejected(void **state)
{
    (void)state;
    person customer = register_user("bhakt", "customer");
    person priest = verified_priest();
    char date[11];
    local_date(7, date);
    int64_t id = book(&customer, &priest, date, "10:00");
    complete_booking(&priest, id);
    static const struct {
        const char *type;
        bad_payload build;
        int as_priest;
    } cases[] = {
        {"booking.create", no_priest, 0},          {"booking.create", bad_time, 0},
        {"booking.create", bad_date, 0},           {"booking.create", priest_as_text, 0},
        {"booking.rate", rating_0, 0},             {"booking.rate", rating_6, 0},
        {"booking.rate", rating_text, 0},          {"booking.rate", huge_feedback, 0},
        {"booking.customer_confirm", negative_dakshina, 0},
        {"booking.cancel", no_booking_id, 0},      {"booking.cancel", control_chars, 0},
        {"booking.complete", checklist_text, 1},   {"booking.confirm", duplicate_key, 1},
    };
    long long dead_before = it_db_scalar(db, "SELECT count(*) FROM dead_letters WHERE topic LIKE '%bookings'", NULL);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        it_payload pl;
        it_payload_init(&pl);
        cases[i].build(&pl.pk, priest.priest_id, id);
        it_outcome o = booking_cmd(cases[i].type, priest.priest_id, cases[i].as_priest ? &priest : &customer, &pl, 0);
        if (strcmp(o.status, "rejected") != 0 || strcmp(o.code, "invalid_command") != 0)
            fail_msg("case %zu (%s): got %s/%s", i, cases[i].type, o.status, o.code);
        assert_int_equal(http_status(&o), 422);
        it_outcome_free(&o);
    }
    /* Each dead letter commits with its rejection: all are there, no waiting. */
    long long want = dead_before + (long long)(sizeof(cases) / sizeof(cases[0]));
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM dead_letters WHERE topic LIKE '%bookings'", NULL), want);
    /* Nothing changed, and the partition still moves: the booking can be rated. */
    assert_int_equal(booking_scalar("SELECT count(*) FROM bookings WHERE id = $1 AND rating IS NULL"
                                    " AND status = 'completed' AND payment_status = 'partial'", id), 1);
    it_outcome o = rate(&customer, &priest, id, 5);
    expect(&o, "applied", "");
    it_outcome_free(&o);
    /* Admin commands are checked as strictly. */
    it_payload pl;
    it_payload_init(&pl);
    msgpack_pack_map(&pl.pk, 2);
    pk_mp_kv_i64(&pl.pk, "priest_id", priest.priest_id);
    pk_mp_kv_str(&pl.pk, "verified", "yes");
    o = send_at("priest.verify", "accounts", priest.priest_id, NULL, NULL, &pl, 0);
    expect(&o, "rejected", "invalid_command");
    it_outcome_free(&o);
    o = service_create_as(NULL, "Zero-minute puja", 100, 0);
    expect(&o, "rejected", "invalid_command");
    it_outcome_free(&o);
}

static void test_admin_commands(void **state)
{
    (void)state;
    person priest = register_user("pandit", "priest");
    it_outcome o = verify_as(NULL, priest.priest_id, 1);
    expect(&o, "applied", "");
    assert_field(&o, "is_verified", "true");
    assert_field(&o, "verification_notes", "documents checked");
    it_outcome_free(&o);
    char pid[24], admin[24];
    itoa64(priest.priest_id, pid);
    itoa64(admin_id, admin);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM priest_profiles WHERE id = $1 AND is_verified"
                                      " AND verified_by = $2 AND verified_at IS NOT NULL", pid, admin, NULL), 1);
    o = verify_as(NULL, 999999999, 1);
    expect(&o, "rejected", "not_found");
    it_outcome_free(&o);

    char name[64];
    snprintf(name, sizeof(name), "Satyanarayan Katha %s", tag);
    o = service_create_as(NULL, name, 250050, 120);
    expect(&o, "applied", "");
    assert_int_equal(http_status(&o), 201);
    assert_field(&o, "base_price", "2500.50");
    assert_field(&o, "duration_minutes", "120");
    int64_t sid = o.entity_id;
    it_outcome_free(&o);
    it_payload pl;
    it_payload_init(&pl);
    msgpack_pack_map(&pl.pk, 3);
    pk_mp_kv_i64(&pl.pk, "service_id", sid);
    pk_mp_kv_i64(&pl.pk, "base_price", 300000);
    pk_mp_kv_str(&pl.pk, "description", "now with prasad");
    o = send_at("service.update", "catalog", sid, NULL, NULL, &pl, 0);
    expect(&o, "applied", "");
    assert_field(&o, "base_price", "3000.00");
    assert_field(&o, "name", name);                   /* untouched */
    assert_field(&o, "duration_minutes", "120");
    assert_field(&o, "description", "now with prasad");
    it_outcome_free(&o);
    it_payload_init(&pl);
    msgpack_pack_map(&pl.pk, 2);
    pk_mp_kv_i64(&pl.pk, "service_id", 999999999);
    pk_mp_kv_str(&pl.pk, "name", "Ghost");
    o = send_at("service.update", "catalog", 999999999, NULL, NULL, &pl, 0);
    expect(&o, "rejected", "not_found");
    it_outcome_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_authorization_in_worker),
        cmocka_unit_test(test_invalid_payloads_rejected),
        cmocka_unit_test(test_admin_commands),
    };
    return bookings_main("bookings_rules", tests, sizeof(tests) / sizeof(tests[0]), &db, &admin_id, &service_id);
}
