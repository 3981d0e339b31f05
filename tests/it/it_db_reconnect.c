/* it_db_reconnect.c — PostgreSQL drops every connection of the API and the
 * workers (pg_terminate_backend, as a failover or a restart would): reads
 * and commands work again within seconds, on new connections whose
 * prepared statements are made afresh (api/pg.c, wk_exec), and the event
 * relay carries on. A statement cache that outlived its connection would
 * fail every later statement with "prepared statement … does not exist". */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tests/support/calls.h"
#include "tests/support/db.h"
#include "tests/support/stack_env.h"

#define PASSWORD "Reconnect-pass-7"
#define RECOVERY_MS 15000

static PGconn *db;
static char tag[16];

/* Every other session of this database: the API's pool, both workers, their
 * relays. Returns how many were terminated. */
static long long terminate_others(void)
{
    return it_db_scalar(db, "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                            " AND backend_type = 'client backend') t",
                        NULL);
}

/* Repeats the request until it answers `want`, waiting at most about
 * RECOVERY_MS in between (like it_db_wait_for); returns the last status. */
static int until_status(const char *method, const char *path, const it_actor *who, const char *body, int want)
{
    int status = 0;
    for (int waited = 0; waited <= RECOVERY_MS; waited += 100) {
        it_response r = it_call(method, path, who, body);
        status = r.status;
        it_response_free(&r);
        if (status == want)
            break;
        usleep(100 * 1000);
    }
    return status;
}

static void test_reads_and_commands_survive_lost_connections(void **state)
{
    (void)state;
    it_actor c = {0};
    snprintf(c.name, sizeof(c.name), "reconnect%s", tag);
    assert_int_equal(it_sign_up(&c, "customer", PASSWORD, NULL), 201);
    /* Warm every API connection and the worker with the statements used below. */
    for (int i = 0; i < 20; i++) {
        it_response r = it_call("GET", "/api/orders/", &c, NULL);
        it_expect_status(&r, 200);
        it_response_free(&r);
    }
    it_response r = it_call("PATCH", "/api/auth/me/", &c, "{\"first_name\":\"Before\"}");
    it_expect_status(&r, 200);
    it_response_free(&r);

    assert_true(terminate_others() >= 3);   /* at least the API pool, two workers */

    /* Reads: the API reconnects (with backoff) and prepares again. */
    assert_int_equal(until_status("GET", "/api/orders/", &c, NULL, 200), 200);
    for (int i = 0; i < 20; i++) {   /* every connection of the pool, not just the first back */
        r = it_call("GET", "/api/orders/", &c, NULL);
        it_expect_status(&r, 200);
        it_response_free(&r);
    }
    /* Commands: the worker retries on a new connection and applies it once. */
    r = it_call("PATCH", "/api/auth/me/", &c, "{\"first_name\":\"After\"}");
    it_expect_status(&r, 200);
    assert_string_equal(it_str(r.json, "first_name"), "After");   /* PATCH me answers the account */
    it_response_free(&r);
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)c.user_id);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM users WHERE id = $1 AND first_name = 'After'", id, NULL),
                     1);
    /* The relay publishes again: every journal row gets its event. */
    assert_int_equal(it_db_wait_for(db, 0, RECOVERY_MS, "SELECT count(*) FROM journal WHERE published_at IS NULL",
                                    NULL),
                     0);
}

int main(void)
{
    if (it_start(tag, sizeof(tag)) != 0)
        return 1;
    db = it_db();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_and_commands_survive_lost_connections),
    };
    int failed = cmocka_run_group_tests_name("db_reconnect", tests, NULL, NULL);
    PQfinish(db);
    return failed;
}
