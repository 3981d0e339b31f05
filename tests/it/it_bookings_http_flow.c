/* it_bookings_http_flow.c — a booking's life over real HTTP (issue 4):
 * booked, confirmed, completed once begun, confirmed by the customer with a
 * dakshina and rated; cancellations and their refunds; fifty customers for
 * one slot; and who may see and do what (ownership, roles, every endpoint).
 * Helpers and the group setup (an admin, the service): tests/support/
 * bookings_http.h. */
#include "tests/support/bookings_http.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include "common/booking_rules.h"
#include "tests/support/calls.h"
#include "tests/support/commands.h"
#include "tests/support/db.h"
#include "tests/support/http.h"
#include "tests/support/stack_env.h"

#define TZ BOOKING_TZ_OFFSET_DEFAULT   /* the stack runs with the default platform zone */
#define MIN_US (INT64_C(60) * 1000000)
#define PRICE BOOKINGS_HTTP_PRICE
#define PRICE_PAISE 150003
#define ADVANCE_PAISE 37501

static PGconn *db;   /* set by bookings_http_main, with admin and service_id */
static it_actor admin;
static int64_t service_id;   /* 60 minutes, PRICE */

static const it_actor ANONYMOUS = {0};

/* The first start on the 30-minute grid at least `lead_min` from now at
 * which a 60-minute service fits working hours: always less than a day away. */
static void soon_slot(int lead_min, char date[11], char time[6])
{
    int64_t step = BOOKING_SLOT_STEP_MIN * MIN_US, t = it_now_us() + lead_min * MIN_US;
    booking_date d;
    int minute;
    for (t = (t / step + 1) * step;; t += step) {   /* +330 min keeps the UTC and local grids aligned */
        booking_us_to_local(t, TZ, &d, &minute);
        if (!booking_check_hours(minute, 60, BOOKING_OPEN_MIN, BOOKING_CLOSE_MIN))
            break;
    }
    booking_format_date(d, date);
    booking_format_time(minute, time);
}


static void act_status(const it_actor *who, int64_t booking, const char *action, const char *body, int status)
{
    it_response r = act(who, booking, action, body);
    it_expect_status(&r, status);
    it_response_free(&r);
}

static long long net_paid(int64_t booking)
{
    return booking_sql("SELECT coalesce(sum(CASE kind WHEN 'captured' THEN amount_paise ELSE -amount_paise END), 0)"
                       " FROM payments WHERE booking_id = $1", booking);
}

/* ---- tests ---- */

static void test_happy_path(void **state)
{
    (void)state;
    it_actor c = customer(), p = priest();
    char date[11];
    local_date(3, date);

    it_response r = book_with(&c, p.priest_id, service_id, date, "10:00");
    it_expect_status(&r, 201);
    int64_t id = it_num(r.json, "id");
    assert_string_equal(it_str(r.json, "status"), "pending");
    assert_string_equal(it_str(r.json, "payment_status"), "partial");
    assert_string_equal(it_str(r.json, "service_price"), PRICE);
    assert_string_equal(it_str(r.json, "advance_payment"), "375.01");
    assert_string_equal(it_str(r.json, "balance_payment"), "1125.02");
    assert_string_equal(it_str(r.json, "dakshina_amount"), "0.00");
    assert_string_equal(it_str(r.json, "booking_date"), date);
    assert_string_equal(it_str(r.json, "booking_time"), "10:00");
    assert_string_equal(it_str(r.json, "location_latitude"), "18.520430");
    assert_string_equal(it_str(r.json, "location_longitude"), "73.856744");
    assert_int_equal(it_num(r.json, "priest"), p.priest_id);
    assert_int_equal(it_num(r.json, "customer"), c.user_id);

    /* The read shows exactly the object the worker's outcome carried. */
    it_response g = it_callf("GET", &c, NULL, "/api/bookings/%lld/", (long long)id);
    it_expect_status(&g, 200);
    if (!json_equal(r.json, g.json))
        fail_msg("GET differs from the outcome:\n%s\n%s", r.body, g.body);
    it_response_free(&g);
    it_response_free(&r);
    assert_int_equal(net_paid(id), ADVANCE_PAISE);

    r = act(&p, id, "confirm", NULL);
    it_expect_status(&r, 200);
    assert_string_equal(it_str(r.json, "status"), "confirmed");
    it_response_free(&r);

    /* issue 14: not before it has begun (the worker's rule, its reason code). */
    r = act(&p, id, "complete", NULL);
    it_expect_problem(&r, 409, "not_started", NULL);
    it_response_free(&r);
    /* The rest of the life of a booking on one that has begun. */
    id = it_book_started(db, c.user_id, p.priest_id, service_id, 0);
    assert_true(id > 0);
    act_ok(&p, id, "confirm", NULL);
    r = act(&p, id, "complete", "{\"checklist\":{\"items\":[\"kalash sthapana\",\"havan\"],\"prasad\":true}}");
    it_expect_status(&r, 200);
    assert_string_equal(it_str(r.json, "status"), "completed");
    assert_true(json_is_true(json_object_get(json_object_get(r.json, "completion_checklist"), "prasad")));
    it_response_free(&r);

    r = act(&c, id, "customer_confirm", "{\"dakshina\":\"501.00\"}");
    it_expect_status(&r, 200);
    assert_string_equal(it_str(r.json, "payment_status"), "full");
    assert_string_equal(it_str(r.json, "dakshina_amount"), "501.00");
    it_response_free(&r);
    assert_int_equal(net_paid(id), PRICE_PAISE + 50100);

    r = act(&c, id, "rate", "{\"rating\":4,\"feedback\":\"Very clear Sanskrit, on time.\"}");
    it_expect_status(&r, 200);
    assert_int_equal(it_num(r.json, "rating"), 4);
    it_response_free(&r);
    act_status(&c, id, "rate", "{\"rating\":5}", 409);   /* once */

    r = it_callf("GET", NULL, NULL, "/api/priests/%lld/", (long long)p.priest_id);
    it_expect_status(&r, 200);
    assert_string_equal(it_str(r.json, "average_rating"), "4.00");
    assert_int_equal(it_num(r.json, "total_ratings"), 1);
    json_t *review = json_array_get(json_object_get(r.json, "reviews"), 0);
    assert_int_equal(it_num(review, "rating"), 4);
    assert_string_equal(it_str(review, "feedback"), "Very clear Sanskrit, on time.");
    assert_string_equal(it_str(review, "customer_name"), "Bhakt");
    assert_true(json_array_size(json_object_get(r.json, "services")) >= 1);
    it_response_free(&r);
}

static void expect_cancelled(const it_actor *who, int64_t id, const char *body, const char *payment_status)
{
    it_response r = act(who, id, "cancel", body);
    it_expect_status(&r, 200);
    assert_string_equal(it_str(r.json, "status"), "cancelled");
    assert_string_equal(it_str(r.json, "payment_status"), payment_status);
    assert_int_equal(it_num(r.json, "cancelled_by"), who->user_id);
    it_response_free(&r);
}

static void test_cancellation_refunds(void **state)
{
    (void)state;
    it_actor c = customer(), p = priest();
    char date[11], soon_date[11], soon_time[6];
    local_date(4, date);

    /* The customer, days ahead: everything back. */
    int64_t early = book(&c, &p, date, "09:00");
    expect_cancelled(&c, early, "{\"reason\":\"family emergency\"}", "refunded");
    assert_int_equal(net_paid(early), 0);
    assert_int_equal(booking_sql("SELECT count(*) FROM bookings WHERE id = $1 AND cancel_reason = 'family emergency'",
                                 early), 1);

    /* The slot is free again at once; the priest cancelling refunds too. */
    int64_t by_priest = book(&c, &p, date, "09:00");
    act_ok(&p, by_priest, "confirm", NULL);
    expect_cancelled(&p, by_priest, NULL, "refunded");
    assert_int_equal(net_paid(by_priest), 0);

    /* An admin cancelling refunds like a priest. */
    int64_t by_admin = book(&c, &p, date, "12:00");
    expect_cancelled(&admin, by_admin, "{\"reason\":\"priest unavailable\"}", "refunded");

    /* The customer, less than 24 h before the start: the advance is the fee. */
    soon_slot(45, soon_date, soon_time);
    int64_t late = book(&c, &p, soon_date, soon_time);
    expect_cancelled(&c, late, "{\"reason\":\"changed plans\"}", "advance_retained");
    assert_int_equal(net_paid(late), ADVANCE_PAISE);

    /* A completed booking cannot be cancelled by anyone. */
    int64_t done = it_book_started(db, c.user_id, p.priest_id, service_id, 0);
    assert_true(done > 0);
    act_ok(&p, done, "confirm", NULL);
    act_ok(&p, done, "complete", NULL);
    it_response r = act(&c, done, "cancel", NULL);
    it_expect_problem(&r, 409, "invalid_transition", NULL);
    it_response_free(&r);
    assert_int_equal(net_paid(done), ADVANCE_PAISE);
}

enum { RACERS = 50 };

typedef struct {
    const it_actor *customer;
    int64_t priest_id;
    char date[11], time[6];
    int status;
    char code[32];
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    it_response res = book_with(r->customer, r->priest_id, service_id, r->date, r->time);
    r->status = res.status;
    snprintf(r->code, sizeof(r->code), "%s", res.status == 409 ? it_str(res.json, "code") : "");
    it_response_free(&res);
    return NULL;
}

static void test_fifty_concurrent_bookings_one_slot(void **state)
{
    (void)state;
    static it_actor customers[RACERS];
    racer racers[RACERS];
    pthread_t threads[RACERS];
    it_actor p = priest();
    char date[11];
    local_date(6, date);
    for (int i = 0; i < RACERS; i++)
        customers[i] = customer();
    long long before = processed();
    /* 10:00 and 10:30 (the grid, issue 14): every pair overlaps (each occupies 60 + 15 minutes). */
    for (int i = 0; i < RACERS; i++) {
        racers[i] = (racer){.customer = &customers[i], .priest_id = p.priest_id};
        snprintf(racers[i].date, sizeof(racers[i].date), "%s", date);
        snprintf(racers[i].time, sizeof(racers[i].time), "10:%02d", i % 2 * 30);
        assert_int_equal(pthread_create(&threads[i], NULL, race, &racers[i]), 0);
    }
    int created = 0, taken = 0;
    for (int i = 0; i < RACERS; i++) {
        pthread_join(threads[i], NULL);
        created += racers[i].status == 201;
        taken += racers[i].status == 409 && strcmp(racers[i].code, "slot_taken") == 0;
    }
    if (created != 1 || taken != RACERS - 1)
        fail_msg("%d created, %d slot_taken (want 1 and %d)", created, taken, RACERS - 1);
    char pid[24], from[40], to[40];
    snprintf(pid, sizeof(pid), "%lld", (long long)p.priest_id);
    snprintf(from, sizeof(from), "%s 10:00+05:30", date);
    snprintf(to, sizeof(to), "%s 12:05+05:30", date);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM bookings WHERE priest_id = $1 AND status <> 'cancelled'"
                                      " AND occupied && tstzrange($2::timestamptz, $3::timestamptz)",
                                  pid, from, to, NULL), 1);
    assert_int_equal(processed(), before + RACERS);   /* every request was a command; none was lost */
}

static void test_authorization(void **state)
{
    (void)state;
    it_actor a = customer(), b = customer(), pa = priest(), pb = priest();
    char date[11];
    local_date(5, date);
    int64_t id = book(&a, &pa, date, "08:00");

    act_status(&a, id, "confirm", NULL, 403);       /* customers never confirm */
    act_status(&pb, id, "confirm", NULL, 404);      /* not priest B's booking */
    act_status(&pb, id, "complete", NULL, 404);
    act_status(&b, id, "cancel", NULL, 404);        /* not customer B's */
    act_status(&b, id, "rate", "{\"rating\":5}", 404);
    act_status(&b, id, "customer_confirm", NULL, 404);

    /* Someone else's booking and one that never existed look the same. */
    it_response theirs = it_callf("GET", &b, NULL, "/api/bookings/%lld/", (long long)id);
    it_response none = it_callf("GET", &b, NULL, "/api/bookings/%lld/", (long long)id + 1000000000);
    it_expect_status(&theirs, 404);
    it_expect_status(&none, 404);
    assert_string_equal(theirs.body, none.body);
    it_response_free(&theirs);
    it_response_free(&none);
    it_response r = it_callf("GET", &pb, NULL, "/api/bookings/%lld/", (long long)id);
    it_expect_status(&r, 404);
    it_response_free(&r);

    const it_actor *may_see[] = {&a, &pa, &admin};
    for (size_t i = 0; i < 3; i++) {
        r = it_callf("GET", may_see[i], NULL, "/api/bookings/%lld/", (long long)id);
        it_expect_status(&r, 200);
        assert_string_equal(it_str(json_object_get(r.json, "customer_details"), "username"), a.name);
        it_response_free(&r);
    }
    /* Lists: own (customer), assigned (priest), with filters; others see none of it. */
    r = it_callf("GET", &a, NULL, "/api/bookings/?status=pending&date=%s", date);
    it_expect_status(&r, 200);
    assert_int_equal(it_num(r.json, "count"), 1);
    assert_int_equal(it_num(json_array_get(json_object_get(r.json, "results"), 0), "id"), id);
    it_response_free(&r);
    r = it_call("GET", "/api/bookings/?status=confirmed", &a, NULL);
    assert_int_equal(it_num(r.json, "count"), 0);
    it_response_free(&r);
    r = it_call("GET", "/api/bookings/", &pa, NULL);
    assert_int_equal(it_num(r.json, "count"), 1);
    it_response_free(&r);
    const it_actor *outsiders[] = {&b, &pb};
    for (size_t i = 0; i < 2; i++) {
        r = it_call("GET", "/api/bookings/", outsiders[i], NULL);
        it_expect_status(&r, 200);
        assert_int_equal(it_num(r.json, "count"), 0);
        it_response_free(&r);
    }
    r = it_call("GET", "/api/bookings/?status=done", &a, NULL);
    it_expect_problem(&r, 422, NULL, "status");
    it_response_free(&r);

    r = it_call("GET", "/api/bookings/", &ANONYMOUS, NULL);
    it_expect_status(&r, 401);
    it_response_free(&r);
    r = book_with(&ANONYMOUS, pa.priest_id, service_id, date, "12:00");
    it_expect_status(&r, 401);
    it_response_free(&r);
    r = book_with(&pa, pa.priest_id, service_id, date, "12:00");   /* priests do not book */
    it_expect_status(&r, 403);
    it_response_free(&r);

    /* An unverified (or unverified-again) priest is neither listed nor bookable. */
    verify(&pb, 0);
    r = it_callf("GET", NULL, NULL, "/api/priests/%lld/", (long long)pb.priest_id);
    it_expect_status(&r, 404);
    it_response_free(&r);
    r = book_with(&a, pb.priest_id, service_id, date, "12:00");
    it_expect_problem(&r, 422, "not_verified", "priest");
    it_response_free(&r);

    act_ok(&pa, id, "confirm", NULL);   /* and the owner still can */
}

/* Who gets what, for every endpoint of this issue. Writes are aimed at a
 * cancelled booking and bodies that fail validation, so a caller who gets
 * past the role and ownership checks sees the worker's 409 (or a 422) and
 * nothing changes. */
enum { ANON, CUST_A, CUST_B, PRIEST_A, PRIEST_B, ADMIN, ACTORS };

typedef struct {
    const char *method, *path, *body;
    int want[ACTORS];
} matrix_row;

static void test_role_matrix(void **state)
{
    (void)state;
    it_actor a = customer(), b = customer(), pa = priest(), pb = priest();
    const it_actor *who[ACTORS] = {&ANONYMOUS, &a, &b, &pa, &pb, &admin};
    char date[11];
    local_date(7, date);
    int64_t id = book(&a, &pa, date, "16:00");
    act_ok(&a, id, "cancel", NULL);
    const char *names[ACTORS] = {"anonymous", "customer", "other customer", "priest", "other priest", "admin"};

    const matrix_row rows[] = {
        {"GET", "/api/priests/", NULL, {200, 200, 200, 200, 200, 200}},
        {"GET", "/api/priests/{P}/", NULL, {200, 200, 200, 200, 200, 200}},
        {"GET", "/api/priests/{P}/availability/?date=2030-01-01&service={S}", NULL, {200, 200, 200, 200, 200, 200}},
        {"GET", "/api/services/", NULL, {200, 200, 200, 200, 200, 200}},
        {"GET", "/api/services/{S}/", NULL, {200, 200, 200, 200, 200, 200}},
        {"POST", "/api/admin/services/", "{}", {401, 403, 403, 403, 403, 422}},
        {"PATCH", "/api/admin/services/{S}/", "{}", {401, 403, 403, 403, 403, 422}},
        {"GET", "/api/bookings/", NULL, {401, 200, 200, 200, 200, 200}},
        {"POST", "/api/bookings/", "{}", {401, 422, 422, 403, 403, 403}},
        {"GET", "/api/bookings/{B}/", NULL, {401, 200, 404, 200, 404, 200}},
        {"POST", "/api/bookings/{B}/confirm/", NULL, {401, 403, 403, 409, 404, 403}},
        {"POST", "/api/bookings/{B}/complete/", NULL, {401, 403, 403, 409, 404, 403}},
        {"POST", "/api/bookings/{B}/customer_confirm/", NULL, {401, 409, 404, 403, 403, 403}},
        {"POST", "/api/bookings/{B}/cancel/", NULL, {401, 409, 404, 409, 404, 409}},
        {"POST", "/api/bookings/{B}/rate/", "{\"rating\":5}", {401, 409, 404, 403, 403, 403}},
    };
    long long before = processed();
    int published = 0;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char path[256] = "";
        for (const char *c = rows[i].path; *c; c++) {   /* {P} priest, {S} service, {B} booking */
            size_t n = strlen(path);
            if (*c == '{') {
                long long v = c[1] == 'P' ? (long long)pa.priest_id : c[1] == 'S' ? (long long)service_id : (long long)id;
                snprintf(path + n, sizeof(path) - n, "%lld", v);
                c += 2;
            } else {
                path[n] = *c, path[n + 1] = 0;
            }
        }
        for (int k = 0; k < ACTORS; k++) {
            it_response r = it_call(rows[i].method, path, who[k], rows[i].body);
            if (r.status != rows[i].want[k])
                fail_msg("%s %s as %s: got %d, want %d: %s", rows[i].method, path, names[k], r.status,
                         rows[i].want[k], r.body);
            published += r.status == 409;
            it_response_free(&r);
        }
    }
    /* Only the callers who passed every API check reached the worker. */
    assert_int_equal(processed(), before + published);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_happy_path),
        cmocka_unit_test(test_cancellation_refunds),
        cmocka_unit_test(test_fifty_concurrent_bookings_one_slot),
        cmocka_unit_test(test_authorization),
        cmocka_unit_test(test_role_matrix),
    };
    return bookings_http_main("bookings_http_flow", tests, sizeof(tests) / sizeof(tests[0]), &db, &admin, &service_id);
}
