/* it_bookings.c — the booking family through Kafka → worker → PostgreSQL,
 * driven by command envelopes produced straight to Kafka (the HTTP
 * endpoints are tested separately): the happy path with the 25/75 split and
 * the ledger, the refund rule, 50 racing bookings of one slot, duplicate
 * and many ratings, authorization inside the worker, and malformed payloads. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <jansson.h>
#include <sodium.h>
#include "common/booking_rules.h"
#include "common/mp.h"
#include "tests/support/commands.h"
#include "tests/support/db.h"
#include "tests/support/stack_env.h"

#define DAY_US (INT64_C(86400) * 1000000)
#define HOUR_US (INT64_C(3600) * 1000000)
#define TZ BOOKING_TZ_OFFSET_DEFAULT   /* the stack runs with the default platform zone */
#define PRICE 150003                   /* ₹1500.03: advance 375.0075 ⇒ 375.01 (half-up), balance 1125.02 */
#define ADVANCE 37501
#define BALANCE 112502
#define HASH "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2g"

static PGconn *db;
static char tag[16];         /* keeps names unique across runs against one database */
static int64_t admin_id;
static int64_t service_id;   /* 60 minutes, PRICE */

typedef struct {
    int64_t user_id;
    int64_t priest_id;       /* priest profile id (priests only) */
    char name[64];
    const char *role;
} person;

static int64_t now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

static void itoa64(int64_t v, char buf[24])
{
    snprintf(buf, 24, "%lld", (long long)v);
}

/* ---- sending commands ---- */

/* Sends and waits; issued_at 0 = now. */
static it_outcome send_at(const char *type, const char *topic, int64_t key, const char *skey, const person *actor,
                          it_payload *pl, int64_t issued_at)
{
    char k[64], id[PK_UUID_STR_LEN + 1];
    if (skey)
        snprintf(k, sizeof(k), "%s", skey);
    else
        itoa64(key, k);
    int64_t actor_id = actor ? actor->user_id : admin_id;
    const char *role = actor ? actor->role : "admin";
    assert_int_equal(it_send_command(type, topic, k, actor_id, role, pl, NULL, issued_at, id), 0);
    it_payload_free(pl);
    it_outcome o = it_wait_outcome(db, id, 20000);
    if (!o.status[0])
        fail_msg("no outcome for %s %s", type, id);
    return o;
}

/* A booking command keyed by the booking's priest. */
static it_outcome booking_cmd(const char *type, int64_t priest_id, const person *actor, it_payload *pl,
                              int64_t issued_at)
{
    return send_at(type, "bookings", priest_id, NULL, actor, pl, issued_at);
}

static void expect(const it_outcome *o, const char *status, const char *code)
{
    if (strcmp(o->status, status) != 0 || strcmp(o->code, code) != 0)
        fail_msg("command %s: got %s/%s, want %s/%s", o->id, o->status, o->code, status, code);
}

static long long http_status(const it_outcome *o)
{
    return it_db_scalar(db, "SELECT http_status FROM command_outcomes WHERE command_id = $1", o->id, NULL);
}

/* resource[key] (or resource[group][key]) as text for comparisons. */
static void resource_text(const it_outcome *o, const char *key, char *buf, size_t cap)
{
    json_t *r = o->resource ? json_loads(o->resource, 0, NULL) : NULL;
    json_t *v = r ? json_object_get(r, key) : NULL;
    if (json_is_string(v))
        snprintf(buf, cap, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, cap, "%s", json_is_true(v) ? "true" : "false");
    else
        snprintf(buf, cap, "%s", v && json_is_null(v) ? "null" : "?");
    json_decref(r);
}

static void assert_field(const it_outcome *o, const char *key, const char *want)
{
    char got[256];
    resource_text(o, key, got, sizeof(got));
    if (strcmp(got, want) != 0)
        fail_msg("%s: got \"%s\", want \"%s\"", key, got, want);
}

/* ---- people and catalog ---- */

static void pack_strings(msgpack_packer *pk, const char *key, int n, ...)
{
    va_list ap;
    pk_mp_pack_cstr(pk, key);
    msgpack_pack_array(pk, (size_t)n);
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        pk_mp_pack_cstr(pk, va_arg(ap, const char *));
    va_end(ap);
}

static person register_user(const char *base, const char *role)
{
    static int counter;
    person p = {.role = role};
    char email[96];
    snprintf(p.name, sizeof(p.name), "%s%s%d", base, tag, ++counter);
    snprintf(email, sizeof(email), "%s@example.com", p.name);
    int priest = strcmp(role, "priest") == 0;
    it_payload pl;
    it_payload_init(&pl);
    msgpack_pack_map(&pl.pk, priest ? 8 : 5);
    pk_mp_kv_str(&pl.pk, "username", p.name);
    pk_mp_kv_str(&pl.pk, "email", email);
    it_pack_password_hash(&pl.pk, HASH);
    pk_mp_kv_str(&pl.pk, "role", role);
    pk_mp_kv_str(&pl.pk, "first_name", priest ? "Pandit" : "Bhakt");
    if (priest) {
        pack_strings(&pl.pk, "specializations", 2, "griha_pravesh", "satyanarayan");
        pack_strings(&pl.pk, "languages", 2, "hindi", "sanskrit");
        pk_mp_kv_i64(&pl.pk, "experience_years", 12);
    }
    it_outcome o = send_at("user.register", "accounts", 0, p.name, &(person){0, 0, "", ""}, &pl, 0);
    expect(&o, "applied", "");
    p.user_id = o.entity_id;
    if (priest) {
        json_t *r = json_loads(o.resource, 0, NULL);
        p.priest_id = json_integer_value(json_object_get(json_object_get(r, "priest_profile"), "id"));
        json_decref(r);
        assert_true(p.priest_id > 0);
    }
    it_outcome_free(&o);
    return p;
}

static it_outcome verify_as(const person *actor, int64_t priest_id, int verified)
{
    it_payload pl;
    it_payload_init(&pl);
    msgpack_pack_map(&pl.pk, 3);
    pk_mp_kv_i64(&pl.pk, "priest_id", priest_id);
    pk_mp_kv_bool(&pl.pk, "verified", verified);
    pk_mp_kv_str(&pl.pk, "notes", verified ? "documents checked" : "documents expired");
    return send_at("priest.verify", "accounts", priest_id, NULL, actor, &pl, 0);
}

static person verified_priest(void)
{
    person p = register_user("pandit", "priest");
    it_outcome o = verify_as(NULL, p.priest_id, 1);
    expect(&o, "applied", "");
    it_outcome_free(&o);
    return p;
}

static it_outcome service_create_as(const person *actor, const char *name, int64_t price, int64_t duration)
{
    it_payload pl;
    it_payload_init(&pl);
    msgpack_pack_map(&pl.pk, 5);
    pk_mp_kv_str(&pl.pk, "name", name);
    pk_mp_kv_str(&pl.pk, "description", "with havan and prasad");
    pk_mp_kv_str(&pl.pk, "service_type", "griha_pravesh");
    pk_mp_kv_i64(&pl.pk, "duration_minutes", duration);
    pk_mp_kv_i64(&pl.pk, "base_price", price);
    return send_at("service.create", "catalog", 0, name, actor, &pl, 0);
}

static int64_t new_service(int64_t price, int64_t duration)
{
    char name[64];
    static int counter;
    snprintf(name, sizeof(name), "Griha Pravesh %s-%d", tag, ++counter);
    it_outcome o = service_create_as(NULL, name, price, duration);
    expect(&o, "applied", "");
    int64_t id = o.entity_id;
    it_outcome_free(&o);
    return id;
}

/* ---- bookings ---- */

/* The local date `days` from now, "YYYY-MM-DD". */
static void local_date(int days, char out[11])
{
    booking_date d;
    int minute;
    booking_us_to_local(now_us() + days * DAY_US, TZ, &d, &minute);
    booking_format_date(d, out);
}

static int64_t start_of(const char *date, const char *time)
{
    booking_date d;
    int minute;
    assert_int_equal(booking_parse_date(date, &d), 0);
    assert_int_equal(booking_parse_time(time, &minute), 0);
    return booking_local_to_us(d, minute, TZ);
}

static void create_payload(it_payload *pl, int64_t priest, int64_t service, const char *date, const char *time)
{
    it_payload_init(pl);
    msgpack_pack_map(&pl->pk, 8);
    pk_mp_kv_i64(&pl->pk, "priest", priest);
    pk_mp_kv_i64(&pl->pk, "service", service);
    pk_mp_kv_str(&pl->pk, "booking_date", date);
    pk_mp_kv_str(&pl->pk, "booking_time", time);
    pk_mp_kv_str(&pl->pk, "location_address", "12 Temple Road, Pune");
    pk_mp_pack_cstr(&pl->pk, "location_latitude");
    msgpack_pack_double(&pl->pk, 18.52043);
    pk_mp_pack_cstr(&pl->pk, "location_longitude");
    msgpack_pack_double(&pl->pk, 73.856744);
    pk_mp_kv_str(&pl->pk, "special_instructions", "Please bring kalash");
}

static it_outcome create_at(const person *customer, const person *priest, int64_t service, const char *date,
                            const char *time, int64_t issued_at)
{
    it_payload pl;
    create_payload(&pl, priest->priest_id, service, date, time);
    return booking_cmd("booking.create", priest->priest_id, customer, &pl, issued_at);
}

static int64_t book(const person *customer, const person *priest, const char *date, const char *time)
{
    it_outcome o = create_at(customer, priest, service_id, date, time, 0);
    expect(&o, "applied", "");
    int64_t id = o.entity_id;
    it_outcome_free(&o);
    return id;
}

/* A booking action with only {booking_id} (plus one optional int or text field). */
static it_outcome act_at(const char *type, const person *actor, const person *priest, int64_t booking,
                         const char *extra_key, const char *extra_text, int64_t extra_int, int64_t issued_at)
{
    it_payload pl;
    it_payload_init(&pl);
    msgpack_pack_map(&pl.pk, extra_key ? 2 : 1);
    pk_mp_kv_i64(&pl.pk, "booking_id", booking);
    if (extra_key && extra_text)
        pk_mp_kv_str(&pl.pk, extra_key, extra_text);
    else if (extra_key)
        pk_mp_kv_i64(&pl.pk, extra_key, extra_int);
    return booking_cmd(type, priest->priest_id, actor, &pl, issued_at);
}

static it_outcome act(const char *type, const person *actor, const person *priest, int64_t booking)
{
    return act_at(type, actor, priest, booking, NULL, NULL, 0, 0);
}

static void act_ok(const char *type, const person *actor, const person *priest, int64_t booking)
{
    it_outcome o = act(type, actor, priest, booking);
    expect(&o, "applied", "");
    it_outcome_free(&o);
}

static void act_rejected(const char *type, const person *actor, const person *priest, int64_t booking,
                         const char *code)
{
    it_outcome o = act(type, actor, priest, booking);
    expect(&o, "rejected", code);
    it_outcome_free(&o);
}

static it_outcome rate(const person *customer, const person *priest, int64_t booking, int64_t stars)
{
    it_payload pl;
    it_payload_init(&pl);
    msgpack_pack_map(&pl.pk, 3);
    pk_mp_kv_i64(&pl.pk, "booking_id", booking);
    pk_mp_kv_i64(&pl.pk, "rating", stars);
    pk_mp_kv_str(&pl.pk, "feedback", "Very clear Sanskrit, on time.");
    return booking_cmd("booking.rate", priest->priest_id, customer, &pl, 0);
}

/* An issued_at one minute after the booking's start: a priest completes a
 * booking only once it has begun (issue 14), and issued_at is the worker's
 * only clock. */
static int64_t started(int64_t booking)
{
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)booking);
    return (int64_t)it_db_scalar(db, "SELECT (extract(epoch FROM starts_at) * 1000000)::bigint + 60000000"
                                     " FROM bookings WHERE id = $1", id, NULL);
}

static void complete_booking(const person *priest, int64_t booking)
{
    act_ok("booking.confirm", priest, priest, booking);
    it_outcome o = act_at("booking.complete", priest, priest, booking, NULL, NULL, 0, started(booking));
    expect(&o, "applied", "");
    it_outcome_free(&o);
}

static long long booking_scalar(const char *sql, int64_t booking)
{
    char id[24];
    itoa64(booking, id);
    return it_db_scalar(db, sql, id, NULL);
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

typedef struct {
    const person *customer;
    const person *priest;
    char time[6];
    char date[11];
    char id[PK_UUID_STR_LEN + 1];
    int rc;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    it_payload pl;
    create_payload(&pl, r->priest->priest_id, service_id, r->date, r->time);
    char key[24];
    itoa64(r->priest->priest_id, key);
    r->rc = it_send_command("booking.create", "bookings", key, r->customer->user_id, "customer", &pl, NULL, 0, r->id);
    it_payload_free(&pl);
    return NULL;
}

static void test_fifty_concurrent_bookings_one_slot(void **state)
{
    (void)state;
    enum { N = 50 };
    person priest = verified_priest();
    static person customers[N];
    racer racers[N];
    pthread_t threads[N];
    char date[11];
    local_date(6, date);
    for (int i = 0; i < N; i++)
        customers[i] = register_user("racer", "customer");
    /* Starts 10:00 and 10:30 (the grid, issue 14): every pair overlaps (each occupies 75 minutes). */
    for (int i = 0; i < N; i++) {
        racers[i] = (racer){.customer = &customers[i], .priest = &priest};
        snprintf(racers[i].time, sizeof(racers[i].time), "10:%02d", i % 2 * 30);
        snprintf(racers[i].date, sizeof(racers[i].date), "%s", date);
        pthread_create(&threads[i], NULL, race, &racers[i]);
    }
    int applied = 0, taken = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(racers[i].rc, 0);
    }
    for (int i = 0; i < N; i++) {
        it_outcome o = it_wait_outcome(db, racers[i].id, 30000);
        applied += strcmp(o.status, "applied") == 0;
        taken += strcmp(o.status, "rejected") == 0 && strcmp(o.code, "slot_taken") == 0;
        it_outcome_free(&o);
    }
    assert_int_equal(applied, 1);
    assert_int_equal(taken, N - 1);
    char pid[24], from[40], to[40];
    itoa64(priest.priest_id, pid);
    snprintf(from, sizeof(from), "%s 10:00+05:30", date);
    snprintf(to, sizeof(to), "%s 12:05+05:30", date);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM bookings WHERE priest_id = $1 AND status <> 'cancelled'"
                                      " AND occupied && tstzrange($2::timestamptz, $3::timestamptz)",
                                  pid, from, to, NULL), 1);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM payments p JOIN bookings b ON b.id = p.booking_id"
                                      " WHERE b.priest_id = $1", pid, NULL), 1);
}

static void test_rating_once_and_hundred_ratings(void **state)
{
    (void)state;
    enum { CUSTOMERS = 10, BOOKINGS = 100 };
    person priest = verified_priest();
    person customers[CUSTOMERS];
    for (int i = 0; i < CUSTOMERS; i++)
        customers[i] = register_user("rater", "customer");
    char pid[24];
    itoa64(priest.priest_id, pid);

    /* 100 bookings on 10 days, 10 a day, 90 minutes apart: 06:00 … 19:30. */
    char ids[BOOKINGS][PK_UUID_STR_LEN + 1];
    int64_t bookings[BOOKINGS];
    for (int i = 0; i < BOOKINGS; i++) {
        char date[11], time[6];
        local_date(10 + i / 10, date);
        booking_format_time(360 + (i % 10) * 90, time);
        it_payload pl;
        create_payload(&pl, priest.priest_id, service_id, date, time);
        assert_int_equal(it_send_command("booking.create", "bookings", pid, customers[i % CUSTOMERS].user_id,
                                         "customer", &pl, NULL, 0, ids[i]), 0);
        it_payload_free(&pl);
    }
    for (int i = 0; i < BOOKINGS; i++) {
        it_outcome o = it_wait_outcome(db, ids[i], 30000);
        expect(&o, "applied", "");
        bookings[i] = o.entity_id;
        it_outcome_free(&o);
    }
    const char *steps[] = {"booking.confirm", "booking.complete"};
    for (size_t s = 0; s < 2; s++) {
        for (int i = 0; i < BOOKINGS; i++) {
            it_payload pl;
            it_payload_init(&pl);
            msgpack_pack_map(&pl.pk, 1);
            pk_mp_kv_i64(&pl.pk, "booking_id", bookings[i]);
            int64_t at = s == 1 ? started(bookings[i]) : 0;   /* complete: once begun */
            assert_int_equal(
                it_send_command(steps[s], "bookings", pid, priest.user_id, "priest", &pl, NULL, at, ids[i]), 0);
            it_payload_free(&pl);
        }
        for (int i = 0; i < BOOKINGS; i++) {
            it_outcome o = it_wait_outcome(db, ids[i], 30000);
            expect(&o, "applied", "");
            it_outcome_free(&o);
        }
    }

    /* Booking 0's rating command is delivered twice (same command id). */
    pk_uuid same;
    pk_uuid_v7(&same, (uint64_t)(now_us() / 1000));
    long long expected_sum = 0;
    for (int i = 0; i < BOOKINGS; i++) {
        int64_t stars = 1 + (i * 7 + i / 3) % 5;
        expected_sum += stars;
        it_payload pl;
        it_payload_init(&pl);
        msgpack_pack_map(&pl.pk, 2);
        pk_mp_kv_i64(&pl.pk, "booking_id", bookings[i]);
        pk_mp_kv_i64(&pl.pk, "rating", stars);
        const person *c = &customers[i % CUSTOMERS];
        assert_int_equal(it_send_command("booking.rate", "bookings", pid, c->user_id, "customer", &pl,
                                         i == 0 ? &same : NULL, 0, ids[i]), 0);
        if (i == 0)   /* the redelivery, right behind the original on the same partition */
            assert_int_equal(it_send_command("booking.rate", "bookings", pid, c->user_id, "customer", &pl, &same, 0,
                                             ids[i]), 0);
        it_payload_free(&pl);
    }
    for (int i = 0; i < BOOKINGS; i++) {
        it_outcome o = it_wait_outcome(db, ids[i], 30000);
        expect(&o, "applied", "");
        it_outcome_free(&o);
    }
    /* Rating booking 0 again with a new command is a rejection, not a second count. */
    it_outcome again = rate(&customers[0], &priest, bookings[0], 1);
    expect(&again, "rejected", "already_rated");
    assert_int_equal(http_status(&again), 409);
    it_outcome_free(&again);

    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM processed_commands WHERE command_id = $1", ids[0], NULL),
                     1);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM journal WHERE command_id = $1", ids[0], NULL), 1);
    assert_int_equal(it_db_scalar(db, "SELECT rating_count FROM priest_profiles WHERE id = $1", pid, NULL), BOOKINGS);
    assert_int_equal(it_db_scalar(db, "SELECT rating_sum FROM priest_profiles WHERE id = $1", pid, NULL), expected_sum);
    assert_int_equal(it_db_scalar(db, "SELECT sum(rating) FROM bookings WHERE priest_id = $1", pid, NULL),
                     expected_sum);
    /* With 100 ratings the exact average is sum / 100: compare its cents. */
    assert_int_equal(it_db_scalar(db, "SELECT (average_rating * 100)::bigint FROM priest_profiles WHERE id = $1", pid,
                                  NULL), expected_sum);
}

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

static int setup(void **state)
{
    (void)state;
    char name[64];
    snprintf(name, sizeof(name), "admin%s", tag);
    admin_id = it_create_admin(db, name);   /* through a command, as the CLI does */
    if (admin_id <= 0)
        return -1;
    service_id = new_service(PRICE, 60);
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
        cmocka_unit_test(test_rating_once_and_hundred_ratings),
        cmocka_unit_test(test_authorization_in_worker),
        cmocka_unit_test(test_invalid_payloads_rejected),
        cmocka_unit_test(test_admin_commands),
    };
    int failed = cmocka_run_group_tests_name("bookings", tests, setup, NULL);
    PQfinish(db);
    return failed;
}
