/* it_db_faults.c — a worker's query is cancelled mid-command (SQLSTATE
 * 57014, as statement_timeout, an operator's pg_cancel_backend or a
 * failover would do): that is transient trouble, so the worker rolls back,
 * backs off and applies the same command again — never a rejection, never
 * a dead letter (workers/db.h has the one classification every family
 * uses).
 *
 * How: a test session locks the row the command needs (SELECT … FOR
 * UPDATE in an open transaction), the command is sent over HTTP with
 * Prefer: respond-async, the worker's backend waiting for that lock is
 * found in pg_stat_activity and cancelled, the test waits until the retry
 * blocks on the lock again, then releases it. The command must end
 * `applied` (GET /api/commands/{id}), exactly once, with no dead letter.
 * One family each: bookings (booking.create locks the priest), catalog
 * (stock.adjust locks the product), accounts (user.update locks the user). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include <jansson.h>
#include "common/booking_rules.h"
#include "tests/support/calls.h"
#include "tests/support/db.h"
#include "tests/support/http.h"
#include "tests/support/stack_env.h"

#define PASSWORD "Fault-tolerant-9"
#define WAIT_MS 15000
#define MIN_US (INT64_C(60) * 1000000)

static PGconn *db;
static char tag[16];
static it_actor admin;

/* ---- people and things, made the way users make them ---- */

static void create_admin(void)
{
    snprintf(admin.name, sizeof(admin.name), "faultadmin%s", tag);
    assert_int_equal(it_sign_in_admin(&admin, PASSWORD), 200);
}

static it_actor sign_up(const char *base, const char *role, const char *extra)
{
    it_actor a = {0};
    snprintf(a.name, sizeof(a.name), "%s%s", base, tag);
    assert_int_equal(it_sign_up(&a, role, PASSWORD, extra), 201);
    return a;
}

static int64_t created_id(const char *method, const char *path, const char *body)
{
    it_response r = it_call(method, path, &admin, body);
    it_expect_status(&r, 201);
    int64_t id = it_num(r.json, "id");
    it_response_free(&r);
    return id;
}

/* A start at least two hours ahead that fits working hours (on the 30-minute grid). */
static void bookable_slot(char date[11], char time[6])
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    int64_t step = BOOKING_SLOT_STEP_MIN * MIN_US, t = (int64_t)tv.tv_sec * 1000000 + 120 * MIN_US;
    booking_date d;
    int minute;
    for (t = (t / step + 1) * step;; t += step) {
        booking_us_to_local(t, BOOKING_TZ_OFFSET_DEFAULT, &d, &minute);
        if (!booking_check_hours(minute, 60, BOOKING_OPEN_MIN, BOOKING_CLOSE_MIN))
            break;
    }
    booking_format_date(d, date);
    booking_format_time(minute, time);
}

/* ---- the fault ---- */

/* A second session holding a row lock in an open transaction. */
static PGconn *lock_row(const char *lock_sql, const char *id)
{
    PGconn *locker = it_db();
    PGresult *r = PQexec(locker, "BEGIN");
    PQclear(r);
    const char *params[] = {id};
    r = PQexecParams(locker, lock_sql, 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        fail_msg("could not lock the row: %s", PQerrorMessage(locker));
    PQclear(r);
    return locker;
}

/* The pid of a backend waiting for a lock the locker holds, or 0. */
static long long blocked_backend(PGconn *locker, int timeout_ms)
{
    char pid[24];
    snprintf(pid, sizeof(pid), "%d", PQbackendPID(locker));
    for (int waited = 0; waited <= timeout_ms; waited += 50) {
        long long blocked = it_db_scalar(db,
                                         "SELECT coalesce(min(pid), 0) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                                         " AND $1::int = ANY (pg_blocking_pids(pid))",
                                         pid, NULL);
        if (blocked > 0)
            return blocked;
        usleep(50 * 1000);
    }
    return 0;
}

/* Sends the command without waiting for its outcome; its id. */
static void send_async(const char *method, const char *path, const it_actor *who, const char *body,
                       char id[64])
{
    char headers[512];
    snprintf(headers, sizeof(headers), "%sContent-Type: application/json\r\nPrefer: respond-async\r\n",
             who->headers);
    it_response r = it_http(method, path, headers, body, strlen(body));
    it_expect_status(&r, 202);
    snprintf(id, 64, "%s", it_str(r.json, "command_id"));
    it_response_free(&r);
}

/* GET /api/commands/{id} as its actor (a status is private) until it is
 * decided (bounded); its status and code. */
static void decided(const it_actor *who, const char *id, char status[16], char code[48])
{
    status[0] = code[0] = 0;
    for (int waited = 0; waited <= WAIT_MS; waited += 100) {
        it_response r = it_callf("GET", who, NULL, "/api/commands/%s", id);
        if (r.status == 200 && strcmp(it_str(r.json, "status"), "accepted") != 0) {
            snprintf(status, 16, "%s", it_str(r.json, "status"));
            const char *c = json_string_value(json_object_get(r.json, "code"));
            snprintf(code, 48, "%s", c ? c : "");
        }
        it_response_free(&r);
        if (status[0])
            return;
        usleep(100 * 1000);
    }
}

/* Locks the row, sends the command, cancels the worker's query waiting for
 * the row, lets the retry block again, releases the row: the command must
 * be applied, once, and never dead-lettered. */
static void cancel_mid_command(const char *lock_sql, const char *row_id, const char *method, const char *path,
                               const it_actor *who, const char *body)
{
    PGconn *locker = lock_row(lock_sql, row_id);
    char id[64], pid[24], status[16], code[48];
    send_async(method, path, who, body, id);
    long long worker = blocked_backend(locker, WAIT_MS);
    assert_true(worker > 0);
    snprintf(pid, sizeof(pid), "%lld", worker);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM (SELECT pg_cancel_backend($1::int)) t", pid, NULL), 1);
    /* A transient failure is retried: the same command waits for the row again. */
    long long retried = blocked_backend(locker, 5000);
    PQclear(PQexec(locker, "ROLLBACK"));
    PQfinish(locker);
    decided(who, id, status, code);
    if (strcmp(status, "applied") != 0)
        fail_msg("%s %s after a cancelled query: %s %s (want applied)", method, path, status[0] ? status : "undecided",
                 code);
    assert_true(retried > 0);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM journal WHERE command_id = $1", id, NULL), 1);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM processed_commands WHERE command_id = $1", id, NULL), 1);
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM dead_letters"
                                  " WHERE position(decode(replace($1, '-', ''), 'hex') in payload) > 0",
                                  id, NULL),
                     0);
}

/* ---- one family each ---- */

static void test_booking_create_survives_a_cancelled_query(void **state)
{
    (void)state;
    char body[512], date[11], time[6], id[24];
    snprintf(body, sizeof(body),
             "{\"name\":\"Fault puja %s\",\"description\":\"-\",\"service_type\":\"fault_puja\","
             "\"duration_minutes\":60,\"base_price\":\"1100.00\"}",
             tag);
    int64_t service = created_id("POST", "/api/admin/services/", body);
    it_actor priest = sign_up("faultpandit", "priest", "\"experience_years\":3");
    it_response r = it_callf("POST", &admin, "{\"verified\":true}", "/api/admin/priests/%lld/verify/",
                             (long long)priest.priest_id);
    it_expect_status(&r, 200);
    it_response_free(&r);
    it_actor customer = sign_up("faultbhakt", "customer", NULL);
    bookable_slot(date, time);
    snprintf(body, sizeof(body),
             "{\"priest\":%lld,\"service\":%lld,\"booking_date\":\"%s\",\"booking_time\":\"%s\","
             "\"location_address\":\"1 Ghat Road\"}",
             (long long)priest.priest_id, (long long)service, date, time);
    snprintf(id, sizeof(id), "%lld", (long long)priest.priest_id);
    cancel_mid_command("SELECT 1 FROM priest_profiles WHERE id = $1 FOR UPDATE", id, "POST", "/api/bookings/",
                       &customer, body);
    snprintf(id, sizeof(id), "%lld", (long long)customer.user_id);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM bookings WHERE customer_id = $1", id, NULL), 1);
}

static void test_stock_adjust_survives_a_cancelled_query(void **state)
{
    (void)state;
    char body[256], path[96], id[24];
    snprintf(body, sizeof(body), "{\"slug\":\"fault-diya-%s\",\"name\":\"Diya %s\",\"price\":\"20.00\",\"stock\":7}",
             tag, tag);
    int64_t product = created_id("POST", "/api/admin/products/", body);
    snprintf(id, sizeof(id), "%lld", (long long)product);
    snprintf(path, sizeof(path), "/api/admin/products/%lld/stock/", (long long)product);
    cancel_mid_command("SELECT 1 FROM products WHERE id = $1 FOR UPDATE", id, "POST", path, &admin,
                       "{\"delta\":5,\"reason\":\"restock\"}");
    assert_int_equal(it_db_scalar(db, "SELECT stock FROM products WHERE id = $1", id, NULL), 12);
}

static void test_user_update_survives_a_cancelled_query(void **state)
{
    (void)state;
    it_actor user = sign_up("faultuser", "customer", NULL);
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)user.user_id);
    cancel_mid_command("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", id, "PATCH", "/api/auth/me/", &user,
                       "{\"first_name\":\"Retried\"}");
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM users WHERE id = $1 AND first_name = 'Retried'", id, NULL),
                     1);
}

static int setup(void **state)
{
    (void)state;
    create_admin();
    return 0;
}

int main(void)
{
    if (it_start(tag, sizeof(tag)) != 0)
        return 1;
    db = it_db();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_booking_create_survives_a_cancelled_query),
        cmocka_unit_test(test_stock_adjust_survives_a_cancelled_query),
        cmocka_unit_test(test_user_update_survives_a_cancelled_query),
    };
    int failed = cmocka_run_group_tests_name("db_faults", tests, setup, NULL);
    PQfinish(db);
    return failed;
}
