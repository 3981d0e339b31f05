/* bookings_http.h — the booking family's HTTP tests (it_bookings_http_flow,
 * it_bookings_http_input, it_bookings_http_reads): issue 4 over real HTTP,
 * priests, services, availability and bookings through the API → Kafka →
 * worker → PostgreSQL. Every person is made the way a user would be:
 * customers and priests register over HTTP (and stay logged in with the
 * session registration gives them), the admin comes from the punyaka-admin
 * CLI, an admin verifies the priests and creates the services over HTTP.
 *
 * Writes are sent with `Prefer: wait=10`, so the answer is the worker's
 * final outcome (201/200 or the rejection), never a 202.
 *
 * The helpers are bookings_http_…; the short names the tests have always
 * used are static inline aliases at the end (they clash with tests/support/
 * bookings.h's worker-level helpers: include this header only in the
 * it_bookings_http_* files). Helpers that assert fail the running cmocka
 * test. */
#ifndef PUNYAKA_TEST_BOOKINGS_HTTP_H
#define PUNYAKA_TEST_BOOKINGS_HTTP_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include "tests/support/calls.h"
#include "tests/support/http.h"

#define BOOKINGS_HTTP_PRICE "1500.03"   /* the group's service: advance 375.01 (half-up), balance 1125.02 */

extern PGconn *bookings_http_db;          /* the stack's database (it_db) */
extern char bookings_http_tag[16];        /* keeps names unique across runs against one database */
extern it_actor bookings_http_admin;      /* "admin<tag>", signed in */
extern int64_t bookings_http_service_id;  /* 60 minutes, BOOKINGS_HTTP_PRICE */

/* The whole of a booking HTTP test's main(): it_start and the database;
 * then the group runs with a group setup that makes the admin
 * (punyaka-admin, then a login) and the service every booking is for, and
 * copies them into *admin and *service_id (the test file's own names; any
 * may be NULL, as may db). Returns what main returns: 1 when the stack is
 * not usable, else the failed tests. */
int bookings_http_main(const char *group, const struct CMUnitTest *tests, size_t n, PGconn **db, it_actor *admin,
                       int64_t *service_id);

/* ---- people ---- */

/* "<base><tag><n>" (first name Pandit or Bhakt, last name "Ln<username>",
 * `extra` JSON members or NULL) registered over HTTP with its session. */
it_actor bookings_http_register_as(const char *base, const char *role, const char *extra);
/* A new customer "bhakt<tag><n>". */
it_actor bookings_http_customer(void);
/* POST /api/admin/priests/<id>/verify/ as the admin (must answer 200). */
void bookings_http_verify(const it_actor *priest, int verified);
/* A new priest with `extra` profile members, verified by the admin. */
it_actor bookings_http_priest_with(const char *extra);
/* A new verified priest (griha_pravesh, Hindi, 12 years). */
it_actor bookings_http_priest(void);
/* A service created by the admin (must answer 201 with that price); its id. */
int64_t bookings_http_create_service(const char *name, const char *type, const char *price, int duration);

/* ---- time ---- */

/* The local date `days` from now, "YYYY-MM-DD" (the platform's zone). */
void bookings_http_local_date(int days, char out[11]);

/* ---- bookings ---- */

/* POST /api/bookings/ as c (address, coordinates, instructions); the answer. */
it_response bookings_http_book_with(const it_actor *c, int64_t priest_id, int64_t service, const char *date,
                                    const char *time);
/* A booking of bookings_http_service_id, which must answer 201; its id. */
int64_t bookings_http_book(const it_actor *c, const it_actor *p, const char *date, const char *time);
/* POST /api/bookings/<id>/<action>/ as who; the answer. */
it_response bookings_http_act(const it_actor *who, int64_t booking, const char *action, const char *body);
/* The same, which must answer 200. */
void bookings_http_act_ok(const it_actor *who, int64_t booking, const char *action, const char *body);
/* `sql` (a single integer) with $1 = the booking id. */
long long bookings_http_booking_sql(const char *sql, int64_t booking);
/* How many commands the workers have processed (processed_commands). */
long long bookings_http_processed(void);

/* ---- the short names ---- */

static inline it_actor register_as(const char *base, const char *role, const char *extra)
{
    return bookings_http_register_as(base, role, extra);
}
static inline it_actor customer(void)
{
    return bookings_http_customer();
}
static inline void verify(const it_actor *priest, int verified)
{
    bookings_http_verify(priest, verified);
}
static inline it_actor priest_with(const char *extra)
{
    return bookings_http_priest_with(extra);
}
static inline it_actor priest(void)
{
    return bookings_http_priest();
}
static inline int64_t create_service(const char *name, const char *type, const char *price, int duration)
{
    return bookings_http_create_service(name, type, price, duration);
}
static inline void local_date(int days, char out[11])
{
    bookings_http_local_date(days, out);
}
static inline it_response book_with(const it_actor *c, int64_t priest_id, int64_t service, const char *date,
                                    const char *time)
{
    return bookings_http_book_with(c, priest_id, service, date, time);
}
static inline int64_t book(const it_actor *c, const it_actor *p, const char *date, const char *time)
{
    return bookings_http_book(c, p, date, time);
}
static inline it_response act(const it_actor *who, int64_t booking, const char *action, const char *body)
{
    return bookings_http_act(who, booking, action, body);
}
static inline void act_ok(const it_actor *who, int64_t booking, const char *action, const char *body)
{
    bookings_http_act_ok(who, booking, action, body);
}
static inline long long booking_sql(const char *sql, int64_t booking)
{
    return bookings_http_booking_sql(sql, booking);
}
static inline long long processed(void)
{
    return bookings_http_processed();
}

#endif
