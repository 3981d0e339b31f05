/* bookings_http.c — the booking family's HTTP helpers
 * (tests/support/bookings_http.h), moved out of it_bookings_http.c when it
 * was split (issue 12). */
#include "tests/support/bookings_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/booking_rules.h"
#include "tests/support/commands.h"
#include "tests/support/db.h"
#include "tests/support/stack_env.h"

#define BOOKINGS_HTTP_PASSWORD "Tulsi-leaf-42"
#define TZ BOOKING_TZ_OFFSET_DEFAULT   /* the stack runs with the default platform zone */
#define DAY_US (INT64_C(86400) * 1000000)

PGconn *bookings_http_db;
char bookings_http_tag[16];
it_actor bookings_http_admin;
int64_t bookings_http_service_id;

static it_actor *main_admin;
static int64_t *main_service_id;

/* ---- people ---- */

/* Registers over HTTP and keeps the session registration opened. */
it_actor bookings_http_register_as(const char *base, const char *role, const char *extra)
{
    static int counter;
    it_actor a = {0};
    char names[1536];
    snprintf(a.name, sizeof(a.name), "%s%s%d", base, bookings_http_tag, ++counter);
    snprintf(names, sizeof(names), "\"first_name\":\"%s\",\"last_name\":\"Ln%s\"%s%s",
             strcmp(role, "priest") == 0 ? "Pandit" : "Bhakt", a.name, extra ? "," : "", extra ? extra : "");
    assert_int_equal(it_sign_up(&a, role, BOOKINGS_HTTP_PASSWORD, names), 201);
    return a;
}

it_actor bookings_http_customer(void)
{
    return bookings_http_register_as("bhakt", "customer", NULL);
}

void bookings_http_verify(const it_actor *priest, int verified)
{
    it_response r = it_callf("POST", &bookings_http_admin, verified ? "{\"verified\":true}" : "{\"verified\":false}",
                             "/api/admin/priests/%lld/verify/", (long long)priest->priest_id);
    it_expect_status(&r, 200);
    it_response_free(&r);
}

it_actor bookings_http_priest_with(const char *extra)
{
    it_actor p = bookings_http_register_as("pandit", "priest", extra);
    assert_true(p.priest_id > 0);
    bookings_http_verify(&p, 1);
    return p;
}

it_actor bookings_http_priest(void)
{
    return bookings_http_priest_with(
        "\"specializations\":[\"griha_pravesh\"],\"languages\":[\"Hindi\"],\"experience_years\":12");
}

static void create_admin(void)
{
    snprintf(bookings_http_admin.name, sizeof(bookings_http_admin.name), "admin%s", bookings_http_tag);
    assert_int_equal(it_sign_in_admin(&bookings_http_admin, BOOKINGS_HTTP_PASSWORD), 200);
}

int64_t bookings_http_create_service(const char *name, const char *type, const char *price, int duration)
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"name\":\"%s\",\"description\":\"with havan\",\"service_type\":\"%s\",\"duration_minutes\":%d,"
             "\"base_price\":\"%s\"}",
             name, type, duration, price);
    it_response r = it_call("POST", "/api/admin/services/", &bookings_http_admin, body);
    it_expect_status(&r, 201);
    int64_t id = it_num(r.json, "id");
    assert_string_equal(it_str(r.json, "base_price"), price);
    it_response_free(&r);
    return id;
}

/* ---- time ---- */

/* The local date `days` from now. */
void bookings_http_local_date(int days, char out[11])
{
    booking_date d;
    int minute;
    booking_us_to_local(it_now_us() + days * DAY_US, TZ, &d, &minute);
    booking_format_date(d, out);
}

/* ---- bookings ---- */

it_response bookings_http_book_with(const it_actor *c, int64_t priest_id, int64_t service, const char *date,
                                   const char *time)
{
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"priest\":%lld,\"service\":%lld,\"booking_date\":\"%s\",\"booking_time\":\"%s\","
             "\"location_address\":\"12 Temple Road, Pune\",\"location_latitude\":18.52043,"
             "\"location_longitude\":\"73.856744\",\"special_instructions\":\"Please bring kalash\"}",
             (long long)priest_id, (long long)service, date, time);
    return it_call("POST", "/api/bookings/", c, body);
}

int64_t bookings_http_book(const it_actor *c, const it_actor *p, const char *date, const char *time)
{
    it_response r = bookings_http_book_with(c, p->priest_id, bookings_http_service_id, date, time);
    it_expect_status(&r, 201);
    int64_t id = it_num(r.json, "id");
    it_response_free(&r);
    return id;
}

it_response bookings_http_act(const it_actor *who, int64_t booking, const char *action, const char *body)
{
    return it_callf("POST", who, body, "/api/bookings/%lld/%s/", (long long)booking, action);
}

void bookings_http_act_ok(const it_actor *who, int64_t booking, const char *action, const char *body)
{
    it_response r = bookings_http_act(who, booking, action, body);
    it_expect_status(&r, 200);
    it_response_free(&r);
}

long long bookings_http_booking_sql(const char *sql, int64_t booking)
{
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)booking);
    return it_db_scalar(bookings_http_db, sql, id, NULL);
}

long long bookings_http_processed(void)
{
    return it_db_scalar(bookings_http_db, "SELECT count(*) FROM processed_commands", NULL);
}


/* ---- main ---- */

/* The group setup: the admin and the service every booking is for. */
static int setup(void **state)
{
    (void)state;
    char name[64];
    create_admin();
    snprintf(name, sizeof(name), "Griha Pravesh %s", bookings_http_tag);
    bookings_http_service_id = bookings_http_create_service(name, "griha_pravesh", BOOKINGS_HTTP_PRICE, 60);
    if (main_admin)
        *main_admin = bookings_http_admin;
    if (main_service_id)
        *main_service_id = bookings_http_service_id;
    return bookings_http_service_id > 0 ? 0 : -1;
}

int bookings_http_main(const char *group, const struct CMUnitTest *tests, size_t n, PGconn **db, it_actor *admin,
                       int64_t *service_id)
{
    if (it_start(bookings_http_tag, sizeof(bookings_http_tag)) != 0)
        return 1;
    bookings_http_db = it_db();
    if (db)
        *db = bookings_http_db;
    main_admin = admin;
    main_service_id = service_id;
    int failed = _cmocka_run_group_tests(group, tests, n, setup, NULL);
    PQfinish(bookings_http_db);
    return failed;
}
