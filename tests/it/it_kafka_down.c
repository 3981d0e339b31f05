/* it_kafka_down.c — when Kafka does not acknowledge a command within
 * PUNYAKA_PRODUCE_TIMEOUT_MS the API answers 503 + Retry-After, and nothing
 * has happened. Runs its own punyaka-api against the stack's PostgreSQL and
 * Redis but an unreachable Kafka. Also checks that SIGTERM exits 0. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "tests/support/db.h"
#include "tests/support/http.h"
#include "tests/support/procs.h"
#include "tests/support/stack_env.h"

static pid_t api_pid;   /* stopped by the teardown even when an assertion fails */

static int stop_api(void **state)
{
    (void)state;
    it_api_stop(api_pid);
    api_pid = 0;
    return 0;
}

static void test_unacknowledged_command_is_503_and_changes_nothing(void **state)
{
    (void)state;
    PGconn *db = it_db();
    const char *env[] = {"KAFKA_BROKERS=127.0.0.1:9" /* nothing listens there */, "PUNYAKA_PRODUCE_TIMEOUT_MS=1500",
                         NULL};
    api_pid = it_api_spawn("api-kafka-down", env);
    assert_true(api_pid > 0);

    it_response r = it_http("GET", "/readyz", NULL, NULL, 0);
    assert_int_equal(r.status, 503);
    assert_true(json_is_false(json_object_get(r.json, "kafka")));
    it_response_free(&r);

    r = it_post_json("/api/auth/register/",
                     "{\"username\":\"nokafka\",\"email\":\"nokafka@example.com\",\"password\":\"correct-horse-1\"}", NULL);
    char retry[16], ctype[64];
    assert_int_equal(r.status, 503);
    assert_non_null(it_header(&r, "retry-after", retry, sizeof(retry)));
    assert_true(atoi(retry) > 0);
    assert_string_equal(it_header(&r, "content-type", ctype, sizeof(ctype)), "application/problem+json");
    assert_string_equal(json_string_value(json_object_get(r.json, "code")), "kafka_unavailable");
    it_response_free(&r);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM users WHERE username = 'nokafka'", NULL), 0);

    assert_int_equal(it_api_stop(api_pid), 0);   /* SIGTERM exits 0 */
    api_pid = 0;
    PQfinish(db);
}

int main(void)
{
    it_load_stack_env();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_unacknowledged_command_is_503_and_changes_nothing, stop_api),
    };
    return cmocka_run_group_tests_name("kafka_down", tests, NULL, NULL);
}
