/* bookings.c — the booking family's worker-level helpers
 * (tests/support/bookings.h). */
#include "tests/support/bookings.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "common/mp.h"
#include "tests/support/db.h"
#include "tests/support/stack_env.h"

PGconn *bookings_db;
char bookings_tag[16];
int64_t bookings_admin_id;
int64_t bookings_service_id;

static PGconn **main_db;
static int64_t *main_admin_id, *main_service_id;

/* The group setup: an admin and the service every booking is for. */
static int setup(void **state)
{
    (void)state;
    char name[64];
    snprintf(name, sizeof(name), "admin%s", bookings_tag);
    bookings_admin_id = it_create_admin(bookings_db, name);   /* through a command, as the CLI does */
    if (bookings_admin_id <= 0)
        return -1;
    bookings_service_id = new_service(PRICE, 60);
    if (main_admin_id)
        *main_admin_id = bookings_admin_id;
    if (main_service_id)
        *main_service_id = bookings_service_id;
    return bookings_service_id > 0 ? 0 : -1;
}

int bookings_main(const char *group, const struct CMUnitTest *tests, size_t n, PGconn **db, int64_t *admin_id,
                  int64_t *service_id)
{
    if (it_start(bookings_tag, sizeof(bookings_tag)) != 0)
        return 1;
    bookings_db = it_db();
    main_db = db;
    main_admin_id = admin_id;
    main_service_id = service_id;
    *main_db = bookings_db;
    int failed = _cmocka_run_group_tests(group, tests, n, setup, NULL);
    PQfinish(bookings_db);
    return failed;
}

void itoa64(int64_t v, char buf[24])
{
    snprintf(buf, 24, "%lld", (long long)v);
}

/* ---- sending commands ---- */

/* Sends and waits; issued_at 0 = now. */
it_outcome send_at(const char *type, const char *topic, int64_t key, const char *skey, const person *actor,
                   it_payload *pl, int64_t issued_at)
{
    char k[64], id[PK_UUID_STR_LEN + 1];
    if (skey)
        snprintf(k, sizeof(k), "%s", skey);
    else
        itoa64(key, k);
    int64_t actor_id = actor ? actor->user_id : bookings_admin_id;
    const char *role = actor ? actor->role : "admin";
    assert_int_equal(it_send_command(type, topic, k, actor_id, role, pl, NULL, issued_at, id), 0);
    it_payload_free(pl);
    it_outcome o = it_wait_outcome(bookings_db, id, 20000);
    if (!o.status[0])
        fail_msg("no outcome for %s %s", type, id);
    return o;
}

/* A booking command keyed by the booking's priest. */
it_outcome booking_cmd(const char *type, int64_t priest_id, const person *actor, it_payload *pl,
                       int64_t issued_at)
{
    return send_at(type, "bookings", priest_id, NULL, actor, pl, issued_at);
}

void expect(const it_outcome *o, const char *status, const char *code)
{
    if (strcmp(o->status, status) != 0 || strcmp(o->code, code) != 0)
        fail_msg("command %s: got %s/%s, want %s/%s", o->id, o->status, o->code, status, code);
}

long long http_status(const it_outcome *o)
{
    return it_db_scalar(bookings_db, "SELECT http_status FROM command_outcomes WHERE command_id = $1", o->id, NULL);
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

void assert_field(const it_outcome *o, const char *key, const char *want)
{
    char got[256];
    resource_text(o, key, got, sizeof(got));
    if (strcmp(got, want) != 0)
        fail_msg("%s: got \"%s\", want \"%s\"", key, got, want);
}

/* ---- people and catalog ---- */

void pack_strings(msgpack_packer *pk, const char *key, int n, ...)
{
    va_list ap;
    pk_mp_pack_cstr(pk, key);
    msgpack_pack_array(pk, (size_t)n);
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        pk_mp_pack_cstr(pk, va_arg(ap, const char *));
    va_end(ap);
}

person register_user(const char *base, const char *role)
{
    static int counter;
    person p = {.role = role};
    char email[96];
    snprintf(p.name, sizeof(p.name), "%s%s%d", base, bookings_tag, ++counter);
    snprintf(email, sizeof(email), "%s@example.com", p.name);
    int priest = strcmp(role, "priest") == 0;
    it_payload pl;
    it_payload_init(&pl);
    msgpack_pack_map(&pl.pk, priest ? 8 : 5);
    pk_mp_kv_str(&pl.pk, "username", p.name);
    pk_mp_kv_str(&pl.pk, "email", email);
    it_pack_password_hash(&pl.pk, IT_PASSWORD_HASH);
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

it_outcome verify_as(const person *actor, int64_t priest_id, int verified)
{
    it_payload pl;
    it_payload_init(&pl);
    msgpack_pack_map(&pl.pk, 3);
    pk_mp_kv_i64(&pl.pk, "priest_id", priest_id);
    pk_mp_kv_bool(&pl.pk, "verified", verified);
    pk_mp_kv_str(&pl.pk, "notes", verified ? "documents checked" : "documents expired");
    return send_at("priest.verify", "accounts", priest_id, NULL, actor, &pl, 0);
}

person verified_priest(void)
{
    person p = register_user("pandit", "priest");
    it_outcome o = verify_as(NULL, p.priest_id, 1);
    expect(&o, "applied", "");
    it_outcome_free(&o);
    return p;
}

it_outcome service_create_as(const person *actor, const char *name, int64_t price, int64_t duration)
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

int64_t new_service(int64_t price, int64_t duration)
{
    char name[64];
    static int counter;
    snprintf(name, sizeof(name), "Griha Pravesh %s-%d", bookings_tag, ++counter);
    it_outcome o = service_create_as(NULL, name, price, duration);
    expect(&o, "applied", "");
    int64_t id = o.entity_id;
    it_outcome_free(&o);
    return id;
}

/* ---- bookings ---- */

/* The local date `days` from now, "YYYY-MM-DD". */
void local_date(int days, char out[11])
{
    booking_date d;
    int minute;
    booking_us_to_local(it_now_us() + days * DAY_US, TZ, &d, &minute);
    booking_format_date(d, out);
}


void create_payload(it_payload *pl, int64_t priest, int64_t service, const char *date, const char *time)
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

it_outcome create_at(const person *customer, const person *priest, int64_t service, const char *date,
                     const char *time, int64_t issued_at)
{
    it_payload pl;
    create_payload(&pl, priest->priest_id, service, date, time);
    return booking_cmd("booking.create", priest->priest_id, customer, &pl, issued_at);
}

int64_t book(const person *customer, const person *priest, const char *date, const char *time)
{
    it_outcome o = create_at(customer, priest, bookings_service_id, date, time, 0);
    expect(&o, "applied", "");
    int64_t id = o.entity_id;
    it_outcome_free(&o);
    return id;
}

/* A booking action with only {booking_id} (plus one optional int or text field). */
it_outcome act_at(const char *type, const person *actor, const person *priest, int64_t booking,
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

it_outcome act(const char *type, const person *actor, const person *priest, int64_t booking)
{
    return act_at(type, actor, priest, booking, NULL, NULL, 0, 0);
}

void act_ok(const char *type, const person *actor, const person *priest, int64_t booking)
{
    it_outcome o = act(type, actor, priest, booking);
    expect(&o, "applied", "");
    it_outcome_free(&o);
}

void act_rejected(const char *type, const person *actor, const person *priest, int64_t booking,
                  const char *code)
{
    it_outcome o = act(type, actor, priest, booking);
    expect(&o, "rejected", code);
    it_outcome_free(&o);
}

it_outcome rate(const person *customer, const person *priest, int64_t booking, int64_t stars)
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
int64_t started(int64_t booking)
{
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)booking);
    return (int64_t)it_db_scalar(bookings_db, "SELECT (extract(epoch FROM starts_at) * 1000000)::bigint + 60000000"
                                     " FROM bookings WHERE id = $1", id, NULL);
}

void complete_booking(const person *priest, int64_t booking)
{
    act_ok("booking.confirm", priest, priest, booking);
    it_outcome o = act_at("booking.complete", priest, priest, booking, NULL, NULL, 0, started(booking));
    expect(&o, "applied", "");
    it_outcome_free(&o);
}

long long booking_scalar(const char *sql, int64_t booking)
{
    char id[24];
    itoa64(booking, id);
    return it_db_scalar(bookings_db, sql, id, NULL);
}
