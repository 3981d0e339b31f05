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
#include "tests/support/stack_env.h"

static pid_t api_pid;   /* killed by the teardown even when an assertion fails */

static int stop_api(void **state)
{
    (void)state;
    if (api_pid > 0 && waitpid(api_pid, NULL, WNOHANG) == 0) {
        kill(api_pid, SIGKILL);
        waitpid(api_pid, NULL, 0);
    }
    api_pid = 0;
    return 0;
}

static pid_t start_api(int port)
{
    char path[4096], log[4096], portstr[16];
    snprintf(path, sizeof(path), "%s/api/punyaka-api", it_env("PUNYAKA_BUILD_DIR"));
    snprintf(log, sizeof(log), "%s/logs/api-kafka-down.log", it_env("PUNYAKA_STACK_DIR"));
    snprintf(portstr, sizeof(portstr), "%d", port);
    pid_t pid = fork();
    if (pid == 0) {
        freopen(log, "a", stderr);
        freopen("/dev/null", "w", stdout);
        setenv("KAFKA_BROKERS", "127.0.0.1:9", 1);   /* nothing listens there */
        setenv("PUNYAKA_PRODUCE_TIMEOUT_MS", "1500", 1);
        setenv("PUNYAKA_HTTP_PORT", portstr, 1);
        setenv("PUNYAKA_HTTP_THREADS", "1", 1);
        setenv("PUNYAKA_INSTANCE_ID", "api-kafka-down", 1);
        execl(path, path, (char *)NULL);
        _exit(127);
    }
    setenv("PUNYAKA_HTTP_PORT", portstr, 1);   /* it_http talks to this instance now */
    return pid;
}

static void test_unacknowledged_command_is_503_and_changes_nothing(void **state)
{
    (void)state;
    PGconn *db = it_db();
    int port = 20000 + (int)(getpid() % 12000);   /* below the ephemeral range (32768+) */
    pid_t api = api_pid = start_api(port);
    it_response r = {0};
    for (int i = 0; i < 200 && r.status != 200; i++) {
        it_response_free(&r);
        usleep(50 * 1000);
        r = it_http("GET", "/healthz", NULL, NULL, 0);
    }
    assert_int_equal(r.status, 200);
    it_response_free(&r);

    r = it_http("GET", "/readyz", NULL, NULL, 0);
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

    int status = -1;
    kill(api, SIGTERM);
    for (int i = 0; i < 300 && waitpid(api, &status, WNOHANG) == 0; i++)
        usleep(50 * 1000);
    if (WIFEXITED(status))
        api_pid = 0;   /* reaped */
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
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
