/* it_bookings_http.c — issue 4 over real HTTP: priests, services,
 * availability and bookings through the API → Kafka → worker → PostgreSQL.
 * Every person is made the way a user would be: customers and priests
 * register over HTTP (and stay logged in with the session registration
 * gives them), the admin comes from the punyaka-admin CLI, an admin
 * verifies the priests and creates the services over HTTP.
 *
 * Writes are sent with `Prefer: wait=10`, so the answer is the worker's
 * final outcome (201/200 or the rejection), never a 202. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include <jansson.h>
#include <sodium.h>
#include "common/booking_rules.h"
#include "tests/support/db.h"
#include "tests/support/calls.h"
#include "tests/support/commands.h"
#include "tests/support/http.h"
#include "tests/support/stack_env.h"

#define PASSWORD "Tulsi-leaf-42"
#define TZ BOOKING_TZ_OFFSET_DEFAULT   /* the stack runs with the default platform zone */
#define MIN_US (INT64_C(60) * 1000000)
#define DAY_US (INT64_C(86400) * 1000000)
#define PRICE "1500.03"                /* advance 375.0075 ⇒ 375.01 (half-up), balance 1125.02 */
#define PRICE_PAISE 150003
#define ADVANCE_PAISE 37501

static PGconn *db;
static char tag[16];   /* keeps names unique across runs against one database */

static const it_actor ANONYMOUS = {0};
static it_actor admin;
static int64_t service_id;   /* 60 minutes, PRICE */

/* ---- HTTP ---- */

/* ---- people ---- */

/* Registers over HTTP and keeps the session registration opened. */
static it_actor register_as(const char *base, const char *role, const char *extra)
{
    static int counter;
    it_actor a = {0};
    char names[1536];
    snprintf(a.name, sizeof(a.name), "%s%s%d", base, tag, ++counter);
    snprintf(names, sizeof(names), "\"first_name\":\"%s\",\"last_name\":\"Ln%s\"%s%s",
             strcmp(role, "priest") == 0 ? "Pandit" : "Bhakt", a.name, extra ? "," : "", extra ? extra : "");
    assert_int_equal(it_sign_up(&a, role, PASSWORD, names), 201);
    return a;
}

static it_actor customer(void)
{
    return register_as("bhakt", "customer", NULL);
}

static void verify(const it_actor *priest, int verified)
{
    it_response r = it_callf("POST", &admin, verified ? "{\"verified\":true}" : "{\"verified\":false}",
                          "/api/admin/priests/%lld/verify/", (long long)priest->priest_id);
    it_expect_status(&r, 200);
    it_response_free(&r);
}

static it_actor priest_with(const char *extra)
{
    it_actor p = register_as("pandit", "priest", extra);
    assert_true(p.priest_id > 0);
    verify(&p, 1);
    return p;
}

static it_actor priest(void)
{
    return priest_with("\"specializations\":[\"griha_pravesh\"],\"languages\":[\"Hindi\"],\"experience_years\":12");
}

static void create_admin(void)
{
    snprintf(admin.name, sizeof(admin.name), "admin%s", tag);
    assert_int_equal(it_sign_in_admin(&admin, PASSWORD), 200);
}

static int64_t create_service(const char *name, const char *type, const char *price, int duration)
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"name\":\"%s\",\"description\":\"with havan\",\"service_type\":\"%s\",\"duration_minutes\":%d,"
             "\"base_price\":\"%s\"}",
             name, type, duration, price);
    it_response r = it_call("POST", "/api/admin/services/", &admin, body);
    it_expect_status(&r, 201);
    int64_t id = it_num(r.json, "id");
    assert_string_equal(it_str(r.json, "base_price"), price);
    it_response_free(&r);
    return id;
}

/* ---- time ---- */

static int64_t now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* The local date `days` from now. */
static void local_date(int days, char out[11])
{
    booking_date d;
    int minute;
    booking_us_to_local(now_us() + days * DAY_US, TZ, &d, &minute);
    booking_format_date(d, out);
}

/* The first start on the 30-minute grid at least `lead_min` from now at
 * which a 60-minute service fits working hours: always less than a day away. */
static void soon_slot(int lead_min, char date[11], char time[6])
{
    int64_t step = BOOKING_SLOT_STEP_MIN * MIN_US, t = now_us() + lead_min * MIN_US;
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

/* ---- bookings ---- */

static it_response book_with(const it_actor *c, int64_t priest_id, int64_t service, const char *date, const char *time)
{
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"priest\":%lld,\"service\":%lld,\"booking_date\":\"%s\",\"booking_time\":\"%s\","
             "\"location_address\":\"12 Temple Road, Pune\",\"location_latitude\":18.52043,"
             "\"location_longitude\":\"73.856744\",\"special_instructions\":\"Please bring kalash\"}",
             (long long)priest_id, (long long)service, date, time);
    return it_call("POST", "/api/bookings/", c, body);
}

static int64_t book(const it_actor *c, const it_actor *p, const char *date, const char *time)
{
    it_response r = book_with(c, p->priest_id, service_id, date, time);
    it_expect_status(&r, 201);
    int64_t id = it_num(r.json, "id");
    it_response_free(&r);
    return id;
}

static it_response act(const it_actor *who, int64_t booking, const char *action, const char *body)
{
    return it_callf("POST", who, body, "/api/bookings/%lld/%s/", (long long)booking, action);
}

static void act_ok(const it_actor *who, int64_t booking, const char *action, const char *body)
{
    it_response r = act(who, booking, action, body);
    it_expect_status(&r, 200);
    it_response_free(&r);
}

static void act_status(const it_actor *who, int64_t booking, const char *action, const char *body, int status)
{
    it_response r = act(who, booking, action, body);
    it_expect_status(&r, status);
    it_response_free(&r);
}

static long long booking_sql(const char *sql, int64_t booking)
{
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)booking);
    return it_db_scalar(db, sql, id, NULL);
}

static long long net_paid(int64_t booking)
{
    return booking_sql("SELECT coalesce(sum(CASE kind WHEN 'captured' THEN amount_paise ELSE -amount_paise END), 0)"
                       " FROM payments WHERE booking_id = $1", booking);
}

static long long processed(void)
{
    return it_db_scalar(db, "SELECT count(*) FROM processed_commands", NULL);
}

/* Completed, then rated `stars` by its customer: a booking that has begun
 * (it_book_started), confirmed and completed by its priest over HTTP. */
static void rated_booking(const it_actor *c, const it_actor *p, int stars)
{
    static int n;
    char body[128];
    int64_t id = it_book_started(db, c->user_id, p->priest_id, service_id, n++);
    assert_true(id > 0);
    act_ok(p, id, "confirm", NULL);
    act_ok(p, id, "complete", NULL);
    snprintf(body, sizeof(body), "{\"rating\":%d,\"feedback\":\"%d stars\"}", stars, stars);
    act_ok(c, id, "rate", body);
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

/* One bad request: its target, body, and the answer it must get. */
typedef struct {
    const char *what;
    const char *path;   /* "" = POST /api/bookings/ */
    char body[256];
    int status;
    const char *field;
    const char *code;
    int by_priest;      /* sent by the booking's priest (complete/), else its customer */
} bad_case;

static void test_bad_input_is_422_before_publishing(void **state)
{
    (void)state;
    it_actor c = customer(), p = priest();
    it_actor unverified = register_as("pandit", "priest", NULL);
    char in3[11], yesterday[11], far[11], path[64];
    local_date(3, in3);
    local_date(-1, yesterday);
    local_date(730, far);
    int64_t id = book(&c, &p, in3, "10:00");
    int64_t retired = create_service("Retired puja", "retired", "100.00", 30);
    it_response r = it_callf("PATCH", &admin, "{\"is_active\":false}", "/api/admin/services/%lld/", (long long)retired);
    it_expect_status(&r, 200);
    it_response_free(&r);
    /* Retired: gone from the public list, still in the admin's. */
    r = it_call("GET", "/api/services/?service_type=retired&page_size=100", NULL, NULL);
    it_expect_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "results")), 0);   /* every "retired" is retired */
    it_response_free(&r);
    r = it_call("GET", "/api/admin/services/?service_type=retired&is_active=false&page_size=100", &admin, NULL);
    it_expect_status(&r, 200);
    json_t *listed = NULL, *sv;
    size_t at;
    json_array_foreach(json_object_get(r.json, "results"), at, sv) {
        assert_true(json_is_false(json_object_get(sv, "is_active")));
        if (it_num(sv, "id") == retired)
            listed = sv;
    }
    assert_non_null(listed);
    it_response_free(&r);
    snprintf(path, sizeof(path), "/api/bookings/%lld/", (long long)id);
    long long P = p.priest_id, S = service_id;

    bad_case cases[] = {
        {"past date", "", "", 422, "booking_date", "in_past", 0},
        {"two years ahead", "", "", 422, "booking_date", "too_far_ahead", 0},
        {"no such date", "", "", 422, "booking_date", "validation_error", 0},
        {"malformed time", "", "", 422, "booking_time", "validation_error", 0},
        {"seconds", "", "", 422, "booking_time", "validation_error", 0},
        {"before opening", "", "", 422, "booking_time", "outside_working_hours", 0},
        {"past closing", "", "", 422, "booking_time", "outside_working_hours", 0},
        {"unknown service", "", "", 422, "service", "unknown_service", 0},
        {"retired service", "", "", 422, "service", "service_inactive", 0},
        {"unknown priest", "", "", 422, "priest", "unknown_priest", 0},
        {"unverified priest", "", "", 422, "priest", "not_verified", 0},
        {"latitude", "", "", 422, "location_latitude", "validation_error", 0},
        {"12-hour time (with a client price, never read)", "", "", 422, "booking_time", "validation_error", 0},
        {"rating 0", "rate/", "{\"rating\":0}", 422, "rating", "validation_error", 0},
        {"rating 6", "rate/", "{\"rating\":6}", 422, "rating", "validation_error", 0},
        {"rating \"5\"", "rate/", "{\"rating\":\"5\"}", 422, "rating", "validation_error", 0},
        {"rating 4.5", "rate/", "{\"rating\":4.5}", 422, "rating", "validation_error", 0},
        {"no rating", "rate/", "{\"feedback\":\"nice\"}", 422, "rating", "validation_error", 0},
        {"dakshina negative", "customer_confirm/", "{\"dakshina\":\"-1.00\"}", 422, "dakshina", "validation_error", 0},
        {"dakshina precision", "customer_confirm/", "{\"dakshina\":\"1.234\"}", 422, "dakshina", "validation_error", 0},
        {"checklist text", "complete/", "{\"checklist\":\"done\"}", 422, "checklist", "validation_error", 1},
        {"reason type", "cancel/", "{\"reason\":42}", 422, "reason", "validation_error", 0},
    };
    const char *create_bodies[] = {
        "{\"location_address\":\"1 Ghat Road\",\"priest\":%lld,\"service\":%lld,\"booking_date\":\"%s\",\"booking_time\":\"10:00\"}",
        "{\"location_address\":\"1 Ghat Road\",\"priest\":%lld,\"service\":%lld,\"booking_date\":\"%s\",\"booking_time\":\"10:00\"}",
        "{\"location_address\":\"1 Ghat Road\",\"priest\":%lld,\"service\":%lld,\"booking_date\":\"2030-02-30\",\"booking_time\":\"10:00\"%s}",
        "{\"location_address\":\"1 Ghat Road\",\"priest\":%lld,\"service\":%lld,\"booking_date\":\"%s\",\"booking_time\":\"25:00\"}",
        "{\"location_address\":\"1 Ghat Road\",\"priest\":%lld,\"service\":%lld,\"booking_date\":\"%s\",\"booking_time\":\"10:00:30\"}",
        "{\"location_address\":\"1 Ghat Road\",\"priest\":%lld,\"service\":%lld,\"booking_date\":\"%s\",\"booking_time\":\"05:30\"}",
        "{\"location_address\":\"1 Ghat Road\",\"priest\":%lld,\"service\":%lld,\"booking_date\":\"%s\",\"booking_time\":\"20:30\"}",
    };
    const char *create_dates[] = {yesterday, far, "", in3, in3, in3, in3};
    for (size_t i = 0; i < sizeof(create_bodies) / sizeof(create_bodies[0]); i++)
        snprintf(cases[i].body, sizeof(cases[i].body), create_bodies[i], P, S, create_dates[i]);
    snprintf(cases[7].body, sizeof(cases[7].body),
             "{\"location_address\":\"1 Ghat Road\",\"priest\":%lld,\"service\":999999999,\"booking_date\":\"%s\",\"booking_time\":\"10:00\"}", P, in3);
    snprintf(cases[8].body, sizeof(cases[8].body),
             "{\"location_address\":\"1 Ghat Road\",\"priest\":%lld,\"service\":%lld,\"booking_date\":\"%s\",\"booking_time\":\"10:00\"}", P,
             (long long)retired, in3);
    snprintf(cases[9].body, sizeof(cases[9].body),
             "{\"location_address\":\"1 Ghat Road\",\"priest\":999999999,\"service\":%lld,\"booking_date\":\"%s\",\"booking_time\":\"10:00\"}", S, in3);
    snprintf(cases[10].body, sizeof(cases[10].body),
             "{\"location_address\":\"1 Ghat Road\",\"priest\":%lld,\"service\":%lld,\"booking_date\":\"%s\",\"booking_time\":\"10:00\"}",
             (long long)unverified.priest_id, S, in3);
    snprintf(cases[11].body, sizeof(cases[11].body),
             "{\"location_address\":\"1 Ghat Road\",\"priest\":%lld,\"service\":%lld,\"booking_date\":\"%s\",\"booking_time\":\"11:30\","
             "\"location_latitude\":91}", P, S, in3);
    snprintf(cases[12].body, sizeof(cases[12].body),
             "{\"priest\":%lld,\"service\":%lld,\"booking_date\":\"%s\",\"booking_time\":\"7pm\","
             "\"service_price\":\"1.00\"}", P, S, in3);

    long long before = processed();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char target[96];
        snprintf(target, sizeof(target), "%s%s", *cases[i].path ? path : "/api/bookings/", cases[i].path);
        r = it_call("POST", target, cases[i].by_priest ? &p : &c, cases[i].body);
        if (r.status != cases[i].status || !json_object_get(json_object_get(r.json, "errors"), cases[i].field) ||
            strcmp(it_str(r.json, "code"), cases[i].code) != 0)
            fail_msg("%s: got %d %s, want %d %s naming %s", cases[i].what, r.status, r.body, cases[i].status,
                     cases[i].code, cases[i].field);
        it_response_free(&r);
    }

    /* Text limits: one byte over ⇒ 422 naming the field; 100 KB is also over
     * the 64 KiB body limit (DESIGN §5), and still names the field. */
    size_t big = 100 * 1024;
    char *body = malloc(big + 64), *text = malloc(big + 1);
    size_t sizes[] = {BOOKING_NOTE_MAX + 1, 60 * 1024, big};
    for (size_t i = 0; i < 3; i++) {
        memset(text, 'a', sizes[i]);
        text[sizes[i]] = 0;
        snprintf(body, big + 64, "{\"rating\":5,\"feedback\":\"%s\"}", text);
        r = act(&c, id, "rate", body);
        it_expect_problem(&r, 422, "validation_error", "feedback");
        it_response_free(&r);
    }
    memset(text, 'a', BOOKING_NOTE_MAX + 1);
    text[BOOKING_NOTE_MAX + 1] = 0;
    snprintf(body, big + 64,
             "{\"priest\":%lld,\"service\":%lld,\"booking_date\":\"%s\",\"booking_time\":\"10:00\","
             "\"special_instructions\":\"%s\"}", P, S, in3, text);
    r = it_call("POST", "/api/bookings/", &c, body);
    it_expect_problem(&r, 422, "validation_error", "special_instructions");
    it_response_free(&r);
    free(body);
    free(text);

    usleep(500 * 1000);   /* anything published would have been processed by now */
    assert_int_equal(processed(), before);
    assert_int_equal(booking_sql("SELECT count(*) FROM bookings WHERE customer_id = $1", c.user_id), 1);
}

static void test_availability(void **state)
{
    (void)state;
    it_actor c = customer(), p = priest();
    char date[11], yesterday[11];
    local_date(3, date);
    local_date(-1, yesterday);

    it_response r = it_callf("GET", NULL, NULL, "/api/priests/%lld/availability/?date=%s&service=%lld",
                          (long long)p.priest_id, date, (long long)service_id);
    it_expect_status(&r, 200);
    json_t *slots = json_object_get(r.json, "slots");
    assert_int_equal(json_array_size(slots), 29);   /* 06:00 … 20:00, every 30 minutes */
    assert_string_equal(json_string_value(json_array_get(slots, 0)), "06:00");
    assert_string_equal(json_string_value(json_array_get(slots, 28)), "20:00");
    assert_string_equal(it_str(r.json, "date"), date);
    assert_int_equal(it_num(r.json, "service"), service_id);
    assert_int_equal(it_num(r.json, "priest"), p.priest_id);
    it_response_free(&r);

    book(&c, &p, date, "10:00");   /* occupies 10:00–11:15 */
    r = it_callf("GET", NULL, NULL, "/api/priests/%lld/availability/?date=%s&service=%lld", (long long)p.priest_id,
              date, (long long)service_id);
    it_expect_status(&r, 200);
    slots = json_object_get(r.json, "slots");
    assert_int_equal(json_array_size(slots), 24);
    char listed[256] = "";
    size_t i;
    json_t *s;
    json_array_foreach(slots, i, s) {
        strcat(listed, json_string_value(s));
        strcat(listed, " ");
    }
    assert_non_null(strstr(listed, "08:30 "));   /* ends 09:45 (with buffer): free */
    assert_null(strstr(listed, "09:00 "));       /* would run into 10:00 */
    assert_null(strstr(listed, "10:00 "));
    assert_null(strstr(listed, "11:00 "));       /* inside 10:00–11:15 */
    assert_non_null(strstr(listed, "11:30 "));
    it_response_free(&r);

    /* A past day has no free start (documented: 200 with an empty list). */
    r = it_callf("GET", NULL, NULL, "/api/priests/%lld/availability/?date=%s&service=%lld", (long long)p.priest_id,
              yesterday, (long long)service_id);
    it_expect_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "slots")), 0);
    it_response_free(&r);

    const char *bad[][2] = {
        {"?date=2030-02-30&service=%lld", "date"},
        {"?service=%lld", "date"},
        {"?date=2030-01-01", "service"},
        {"?date=2030-01-01&service=abc%lld", "service"},
        {"?date=2030-01-01&service=999999999", "service"},
    };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        char query[128], target[256];
        snprintf(query, sizeof(query), bad[k][0], (long long)service_id);
        snprintf(target, sizeof(target), "/api/priests/%lld/availability/%s", (long long)p.priest_id, query);
        r = it_call("GET", target, NULL, NULL);
        it_expect_problem(&r, 422, NULL, bad[k][1]);
        it_response_free(&r);
    }
    r = it_callf("GET", NULL, NULL, "/api/priests/999999999/availability/?date=%s&service=%lld", date,
              (long long)service_id);
    it_expect_status(&r, 404);
    it_response_free(&r);
}

/* The ids of a list page's results, "a,b,c". */
static void ids_of(const it_response *r, char *out, size_t cap)
{
    size_t i, n = 0;
    json_t *item;
    out[0] = 0;
    json_array_foreach(json_object_get(r->json, "results"), i, item) n +=
        (size_t)snprintf(out + n, cap - n, "%s%lld", i ? "," : "", it_num(item, "id"));
}

static void expect_ids(const char *query, const char *want)
{
    char path[512], got[256];
    snprintf(path, sizeof(path), "/api/priests/?%s", query);
    it_response r = it_call("GET", path, NULL, NULL);
    it_expect_status(&r, 200);
    ids_of(&r, got, sizeof(got));
    if (strcmp(got, want) != 0)
        fail_msg("%s: got [%s], want [%s]", query, got, want);
    it_response_free(&r);
}

static void test_priest_list_filters_and_ordering(void **state)
{
    (void)state;
    char spec[64], extra[512], date[11];
    snprintf(spec, sizeof(spec), "veda%s", tag);
    local_date(2, date);
    /* five (rated 5, exp 5), three (rated 3, exp 20), none (unrated, exp 10), hidden (unverified, exp 30) */
    snprintf(extra, sizeof(extra), "\"specializations\":[\"%s\"],\"languages\":[\"Hindi\"],\"experience_years\":5,"
             "\"aadhaar_number\":\"2341 2341 2346\",\"pan_number\":\"ABCPE1234F\"", spec);
    it_actor five = priest_with(extra);
    snprintf(extra, sizeof(extra), "\"specializations\":[\"Rudra %s\"],\"languages\":[\"Tamil\",\"Sanskrit\"],"
             "\"experience_years\":20", spec);
    it_actor three = priest_with(extra);
    snprintf(extra, sizeof(extra), "\"specializations\":[\"%s\"],\"languages\":[\"hindi\",\"Marathi\"],"
             "\"experience_years\":10", spec);
    it_actor none = priest_with(extra);
    snprintf(extra, sizeof(extra), "\"specializations\":[\"%s\"],\"languages\":[\"Hindi\"],\"experience_years\":30", spec);
    it_actor hidden = register_as("pandit", "priest", extra);
    it_actor c = customer();
    rated_booking(&c, &five, 5);
    rated_booking(&c, &three, 3);

    char f[24], t[24], n[24], q[512], want[128];
    snprintf(f, sizeof(f), "%lld", (long long)five.priest_id);
    snprintf(t, sizeof(t), "%lld", (long long)three.priest_id);
    snprintf(n, sizeof(n), "%lld", (long long)none.priest_id);
    (void)hidden;
#define EXPECT(query_fmt, a, b, c_)                                                                  \
    do {                                                                                              \
        snprintf(q, sizeof(q), query_fmt, spec);                                                      \
        snprintf(want, sizeof(want), "%s%s%s%s%s", a, *b ? "," : "", b, *c_ ? "," : "", c_);          \
        expect_ids(q, want);                                                                          \
    } while (0)
    EXPECT("specialization=%s", f, t, n);                       /* default: best rated first */
    EXPECT("specialization=%s&ordering=-rating", f, t, n);
    EXPECT("specialization=%s&ordering=rating", n, t, f);
    EXPECT("specialization=%s&ordering=-experience", t, n, f);
    EXPECT("specialization=%s&ordering=experience", f, n, t);
    EXPECT("specialization=RUDRA+%s", t, "", "");               /* case-insensitive, inside the element */
    EXPECT("specialization=%s&language=HINDI", f, n, "");
    EXPECT("specialization=%s&language=sansk", t, "", "");
    EXPECT("specialization=%s&min_rating=4", f, "", "");
    EXPECT("specialization=%s&min_rating=3.00", f, t, "");
    EXPECT("specialization=%s&q=%%25", "", "", "");             /* a literal %, not a wildcard */
    EXPECT("specialization=%s&q=_", "", "", "");
    snprintf(q, sizeof(q), "q=%s", three.name);                   /* last name "Ln<username>" */
    expect_ids(q, t);
    snprintf(q, sizeof(q), "q=rudra+%s", spec);                   /* a specialization */
    expect_ids(q, t);
#undef EXPECT

    snprintf(q, sizeof(q), "/api/priests/?specialization=%s&page_size=2", spec);
    it_response r = it_call("GET", q, NULL, NULL);
    it_expect_status(&r, 200);
    assert_int_equal(it_num(r.json, "count"), 3);
    assert_int_equal(json_array_size(json_object_get(r.json, "results")), 2);
    assert_true(json_is_string(json_object_get(r.json, "next")));
    assert_true(json_is_null(json_object_get(r.json, "previous")));
    json_t *first = json_array_get(json_object_get(r.json, "results"), 0);
    assert_string_equal(it_str(first, "average_rating"), "5.00");
    assert_int_equal(it_num(first, "total_ratings"), 1);
    char display[96];
    snprintf(display, sizeof(display), "Pandit Ln%s", five.name);
    assert_string_equal(it_str(first, "name"), display);   /* first + last name */
    assert_string_equal(it_str(json_object_get(first, "user"), "last_name"), strchr(display, ' ') + 1);
    it_response_free(&r);
    snprintf(q, sizeof(q), "/api/priests/?specialization=%s&page_size=2&page=2", spec);
    r = it_call("GET", q, NULL, NULL);
    assert_int_equal(json_array_size(json_object_get(r.json, "results")), 1);
    assert_true(json_is_string(json_object_get(r.json, "previous")));
    /* Public: never KYC, contact data or verification notes. */
    assert_null(strstr(r.body, "2346"));
    assert_null(strstr(r.body, "aadhaar"));
    assert_null(strstr(r.body, "email"));
    assert_null(strstr(r.body, "verification_notes"));
    it_response_free(&r);
    r = it_callf("GET", NULL, NULL, "/api/priests/%lld/", (long long)five.priest_id);
    it_expect_status(&r, 200);
    assert_null(strstr(r.body, "2346"));
    assert_null(strstr(r.body, "ABCPE"));
    assert_null(strstr(r.body, "_enc"));
    it_response_free(&r);
    r = it_callf("GET", NULL, NULL, "/api/priests/%lld/", (long long)hidden.priest_id);
    it_expect_status(&r, 404);
    it_response_free(&r);

    const char *bad[][2] = {{"ordering=name", "ordering"}, {"min_rating=6", "min_rating"},
                            {"min_rating=abc", "min_rating"}, {"page_size=101", "page_size"}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(q, sizeof(q), "/api/priests/?%s", bad[i][0]);
        r = it_call("GET", q, NULL, NULL);
        it_expect_problem(&r, 422, "validation_error", bad[i][1]);
        it_response_free(&r);
    }
}

/* 200 with an ETag, then 304 with no body for the same If-None-Match. */
static void expect_revalidates(const char *path, char etag_out[80])
{
    char etag[80], headers[160];
    it_response r = it_call("GET", path, NULL, NULL);
    it_expect_status(&r, 200);
    assert_non_null(it_header(&r, "etag", etag, sizeof(etag)));
    it_response_free(&r);
    snprintf(headers, sizeof(headers), "If-None-Match: %s\r\n", etag);
    r = it_http("GET", path, headers, NULL, 0);
    it_expect_status(&r, 304);
    assert_int_equal(r.body_len, 0);
    it_response_free(&r);
    if (etag_out)
        snprintf(etag_out, 80, "%s", etag);
}

static void test_etag_and_services(void **state)
{
    (void)state;
    it_actor p = priest();
    char path[256], type[64], name[64], etag[80], headers[160], date[11];
    snprintf(type, sizeof(type), "havan-%s", tag);
    snprintf(name, sizeof(name), "Navagraha Havan %s", tag);
    local_date(3, date);
    int64_t svc = create_service(name, type, "2100.50", 90);

    snprintf(path, sizeof(path), "/api/services/%lld/", (long long)svc);
    expect_revalidates(path, etag);
    snprintf(path, sizeof(path), "/api/services/?service_type=%s", type);
    expect_revalidates(path, NULL);
    it_response r = it_call("GET", path, NULL, NULL);
    assert_int_equal(it_num(r.json, "count"), 1);
    json_t *s = json_array_get(json_object_get(r.json, "results"), 0);
    assert_string_equal(it_str(s, "base_price"), "2100.50");
    assert_int_equal(it_num(s, "duration_minutes"), 90);
    it_response_free(&r);
    snprintf(path, sizeof(path), "/api/priests/%lld/", (long long)p.priest_id);
    expect_revalidates(path, NULL);
    snprintf(path, sizeof(path), "/api/priests/?specialization=griha_pravesh&page_size=5");
    expect_revalidates(path, NULL);
    snprintf(path, sizeof(path), "/api/priests/%lld/availability/?date=%s&service=%lld", (long long)p.priest_id,
             date, (long long)svc);
    expect_revalidates(path, NULL);

    /* A change shows at once: the old ETag no longer matches. */
    r = it_callf("PATCH", &admin, "{\"base_price\":\"2200\",\"description\":\"nine planets\"}", "/api/admin/services/%lld/",
              (long long)svc);
    it_expect_status(&r, 200);
    assert_string_equal(it_str(r.json, "base_price"), "2200.00");
    assert_string_equal(it_str(r.json, "name"), name);   /* untouched */
    it_response_free(&r);
    snprintf(path, sizeof(path), "/api/services/%lld/", (long long)svc);
    snprintf(headers, sizeof(headers), "If-None-Match: %s\r\n", etag);
    r = it_http("GET", path, headers, NULL, 0);
    it_expect_status(&r, 200);
    assert_string_equal(it_str(r.json, "description"), "nine planets");
    it_response_free(&r);

    /* Admin input is validated before publishing. */
    long long before = processed();
    const char *bad[][3] = {
        {"POST", "{\"name\":\"x\",\"service_type\":\"x\",\"duration_minutes\":60}", "base_price"},
        {"POST", "{\"name\":\"\",\"service_type\":\"x\",\"duration_minutes\":60,\"base_price\":\"1\"}", "name"},
        {"POST", "{\"name\":\"x\",\"service_type\":\"Not A Slug\",\"duration_minutes\":60,\"base_price\":\"1\"}",
         "service_type"},
        {"POST", "{\"name\":\"x\",\"service_type\":\"x\",\"duration_minutes\":0,\"base_price\":\"1\"}",
         "duration_minutes"},
        {"PATCH", "{\"base_price\":\"12.345\"}", "base_price"},
        {"PATCH", "{\"base_price\":12.5}", "base_price"},
        {"PATCH", "{}", "non_field_errors"},
        {"PATCH", "{\"is_active\":\"no\"}", "is_active"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = strcmp(bad[i][0], "POST") == 0 ? it_call("POST", "/api/admin/services/", &admin, bad[i][1])
                                           : it_callf("PATCH", &admin, bad[i][1], "/api/admin/services/%lld/",
                                                   (long long)svc);
        it_expect_problem(&r, 422, "validation_error", bad[i][2]);
        it_response_free(&r);
    }
    usleep(300 * 1000);
    assert_int_equal(processed(), before);
    r = it_call("PATCH", "/api/admin/services/999999999/", &admin, "{\"name\":\"Ghost\"}");
    it_expect_problem(&r, 404, "not_found", "service_id");
    it_response_free(&r);

    /* Retiring hides it from the public reads. */
    r = it_callf("PATCH", &admin, "{\"is_active\":false}", "/api/admin/services/%lld/", (long long)svc);
    it_expect_status(&r, 200);
    it_response_free(&r);
    r = it_callf("GET", NULL, NULL, "/api/services/%lld/", (long long)svc);
    it_expect_status(&r, 404);
    it_response_free(&r);
    snprintf(path, sizeof(path), "/api/services/?service_type=%s", type);
    r = it_call("GET", path, NULL, NULL);
    assert_int_equal(it_num(r.json, "count"), 0);
    it_response_free(&r);
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

static int setup(void **state)
{
    (void)state;
    char name[64];
    create_admin();
    snprintf(name, sizeof(name), "Griha Pravesh %s", tag);
    service_id = create_service(name, "griha_pravesh", PRICE, 60);
    return service_id > 0 ? 0 : -1;
}

int main(void)
{
    if (it_start(tag, sizeof(tag)) != 0)
        return 1;
    db = it_db();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_happy_path),
        cmocka_unit_test(test_cancellation_refunds),
        cmocka_unit_test(test_fifty_concurrent_bookings_one_slot),
        cmocka_unit_test(test_authorization),
        cmocka_unit_test(test_bad_input_is_422_before_publishing),
        cmocka_unit_test(test_availability),
        cmocka_unit_test(test_priest_list_filters_and_ordering),
        cmocka_unit_test(test_etag_and_services),
        cmocka_unit_test(test_role_matrix),
    };
    int failed = cmocka_run_group_tests_name("bookings_http", tests, setup, NULL);
    PQfinish(db);
    return failed;
}
