/* bookings.h — the booking family's worker-level tests
 * (it_bookings_lifecycle, it_bookings_concurrency, it_bookings_rules):
 * command envelopes produced straight to Kafka (the HTTP endpoints are
 * tested by it_bookings_http_*), applied by the stack's workers, the outcome
 * read back from PostgreSQL. The helpers keep the short names the tests
 * have always used; include this header only in those files.
 *
 * Every helper that sends a command waits (≤ 20 s) for its outcome and
 * fails the running cmocka test when there is none. */
#ifndef PUNYAKA_TEST_BOOKINGS_H
#define PUNYAKA_TEST_BOOKINGS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <msgpack.h>
#include "common/booking_rules.h"
#include "tests/support/commands.h"

#define DAY_US (INT64_C(86400) * 1000000)
#define TZ BOOKING_TZ_OFFSET_DEFAULT   /* the stack runs with the default platform zone */
#define PRICE 150003                   /* ₹1500.03: advance 375.0075 ⇒ 375.01 (half-up), balance 1125.02 */
#define ADVANCE 37501
#define BALANCE 112502

extern PGconn *bookings_db;            /* the stack's database (it_db) */
extern char bookings_tag[16];          /* keeps names unique across runs against one database */
extern int64_t bookings_admin_id;      /* set by the group setup */
extern int64_t bookings_service_id;    /* set by the group setup: 60 minutes, PRICE */

/* The whole of a booking test's main(): it_start and the database, *db
 * set (the test file's own name for bookings_db); then the group runs with
 * a group setup that makes an admin "admin<tag>" through a command (as
 * punyaka-admin does) and the service every booking is for, and sets
 * *admin_id and *service_id (either may be NULL). Returns what main
 * returns: 1 when the stack is not usable, else the failed tests. */
int bookings_main(const char *group, const struct CMUnitTest *tests, size_t n, PGconn **db, int64_t *admin_id,
                  int64_t *service_id);

typedef struct {
    int64_t user_id;
    int64_t priest_id;       /* priest profile id (priests only) */
    char name[64];
    const char *role;
} person;

void itoa64(int64_t v, char buf[24]);

/* ---- sending commands ---- */

/* Sends (key: skey, or else key in decimal) as actor (NULL: the admin),
 * frees pl and waits for the outcome; issued_at 0 = now. */
it_outcome send_at(const char *type, const char *topic, int64_t key, const char *skey, const person *actor,
                   it_payload *pl, int64_t issued_at);
/* A booking command keyed by the booking's priest. */
it_outcome booking_cmd(const char *type, int64_t priest_id, const person *actor, it_payload *pl,
                       int64_t issued_at);
/* Fails unless the outcome is status/code ("" for none). */
void expect(const it_outcome *o, const char *status, const char *code);
/* The HTTP status the outcome maps to (command_outcomes.http_status). */
long long http_status(const it_outcome *o);
/* Fails unless resource[key], as text ("null", "true", numbers in decimal), is want. */
void assert_field(const it_outcome *o, const char *key, const char *want);

/* ---- people and catalog ---- */

/* Packs key ⇒ an array of n strings (the varargs). */
void pack_strings(msgpack_packer *pk, const char *key, int n, ...);
/* A new user ("<base><tag><n>") of `role` (customer | priest, with a
 * profile), which must be applied. */
person register_user(const char *base, const char *role);
/* priest.verify as actor (NULL: the admin); the outcome. */
it_outcome verify_as(const person *actor, int64_t priest_id, int verified);
/* A new priest the admin verified. */
person verified_priest(void);
/* service.create as actor (NULL: the admin); the outcome. */
it_outcome service_create_as(const person *actor, const char *name, int64_t price, int64_t duration);
/* A new service as the admin, which must be applied; its id. */
int64_t new_service(int64_t price, int64_t duration);

/* ---- bookings ---- */

/* The local date `days` from now, "YYYY-MM-DD". */
void local_date(int days, char out[11]);
/* A booking.create payload (with address, coordinates and instructions). */
void create_payload(it_payload *pl, int64_t priest, int64_t service, const char *date, const char *time);
/* booking.create by customer; the outcome. */
it_outcome create_at(const person *customer, const person *priest, int64_t service, const char *date,
                     const char *time, int64_t issued_at);
/* A booking of bookings_service_id, which must be applied; its id. */
int64_t book(const person *customer, const person *priest, const char *date, const char *time);
/* A booking action with only {booking_id} (plus one optional int or text field). */
it_outcome act_at(const char *type, const person *actor, const person *priest, int64_t booking,
                  const char *extra_key, const char *extra_text, int64_t extra_int, int64_t issued_at);
it_outcome act(const char *type, const person *actor, const person *priest, int64_t booking);
/* act, which must be applied / rejected with code. */
void act_ok(const char *type, const person *actor, const person *priest, int64_t booking);
void act_rejected(const char *type, const person *actor, const person *priest, int64_t booking,
                  const char *code);
/* booking.rate by customer with a fixed feedback; the outcome. */
it_outcome rate(const person *customer, const person *priest, int64_t booking, int64_t stars);
/* An issued_at one minute after the booking's start: a priest completes a
 * booking only once it has begun (issue 14), and issued_at is the worker's
 * only clock. */
int64_t started(int64_t booking);
/* Confirmed and completed by its priest. */
void complete_booking(const person *priest, int64_t booking);
/* `sql` (a single integer) with $1 = the booking id. */
long long booking_scalar(const char *sql, int64_t booking);

#endif
