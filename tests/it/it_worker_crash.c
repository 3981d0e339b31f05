/* it_worker_crash.c — kill -9 of the workers between publish and apply:
 * after a restart every accepted command is applied exactly once. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>
#include "tests/support/db.h"
#include "tests/support/http.h"
#include "tests/support/stack_env.h"

enum { N = 30 };

static void test_kill9_between_publish_and_apply(void **state)
{
    (void)state;
    PGconn *db = it_db();
    char tag[16];
    snprintf(tag, sizeof(tag), "k%x", (unsigned)randombytes_uniform(1u << 30));
    /* Freeze both workers: commands are accepted by Kafka but nobody applies them. */
    it_worker("worker-signal", 1, "STOP");
    it_worker("worker-signal", 2, "STOP");
    for (int i = 0; i < N; i++) {
        char body[512];
        snprintf(body, sizeof(body),
                 "{\"username\":\"%s_%d\",\"email\":\"%s_%d@example.com\",\"password\":\"correct-horse-1\"}", tag, i,
                 tag, i);
        it_response r = it_post_json("/api/auth/register/", body, "Prefer: respond-async\r\n");
        assert_int_equal(r.status, 202);
        it_response_free(&r);
    }
    char like[32];
    snprintf(like, sizeof(like), "%s\\_%%", tag);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM users WHERE username LIKE $1", like, NULL), 0);
    /* kill -9 while frozen (whatever they had fetched is lost with them), then restart. */
    it_worker("worker-stop", 1, "KILL");
    it_worker("worker-stop", 2, "KILL");
    it_worker("worker-start", 1, NULL);
    it_worker("worker-start", 2, NULL);
    assert_int_equal(it_worker_wait_ready(1, 60000), 0);
    assert_int_equal(it_worker_wait_ready(2, 60000), 0);
    assert_int_equal(it_db_wait_for(db, N, 60000, "SELECT count(*) FROM users WHERE username LIKE $1", like, NULL), N);
    assert_int_equal(it_db_wait_for(db, N, 10000,
                                    "SELECT count(*) FROM command_outcomes o JOIN processed_commands p USING (command_id)"
                                    " WHERE o.resource->>'username' LIKE $1 AND o.status = 'applied'", like, NULL), N);
    /* And nothing twice: one user per name, one journal row per command. */
    assert_int_equal(it_db_scalar(db, "SELECT count(DISTINCT lower(username)) FROM users WHERE username LIKE $1", like, NULL), N);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM journal j JOIN command_outcomes o USING (command_id)"
                                      " WHERE o.resource->>'username' LIKE $1", like, NULL), N);
    PQfinish(db);
}

static int log_mentions(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    char line[8192];
    int found = 0;
    while (f && fgets(line, sizeof(line), f))
        found += strstr(line, needle) != NULL;
    if (f)
        fclose(f);
    return found;
}

/* SIGTERM: the worker finishes what it holds, commits, leaves the group and
 * exits cleanly (it logs "stopped" only on the exit-0 path); commands sent
 * meanwhile are applied by the other member. */
static void test_sigterm_drains_and_exits(void **state)
{
    (void)state;
    PGconn *db = it_db();
    char log[4096];
    snprintf(log, sizeof(log), "%s/logs/worker-1.log", it_env("PUNYAKA_STACK_DIR"));
    int stopped_before = log_mentions(log, "\"msg\":\"stopped\"");
    it_worker("worker-stop", 1, "TERM");
    assert_int_equal(log_mentions(log, "\"msg\":\"stopped\""), stopped_before + 1);
    it_response r = it_post_json("/api/auth/register/",
                                 "{\"username\":\"afterterm\",\"email\":\"afterterm@example.com\",\"password\":\"correct-horse-1\"}",
                                 "Prefer: respond-async\r\n");
    assert_int_equal(r.status, 202);
    it_response_free(&r);
    assert_int_equal(it_db_wait_for(db, 1, 30000, "SELECT count(*) FROM users WHERE username = 'afterterm'", NULL), 1);
    it_worker("worker-start", 1, NULL);
    assert_int_equal(it_worker_wait_ready(1, 60000), 0);
    PQfinish(db);
}

int main(void)
{
    it_load_stack_env();
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill9_between_publish_and_apply),
        cmocka_unit_test(test_sigterm_drains_and_exits),
    };
    return cmocka_run_group_tests_name("worker_crash", tests, NULL, NULL);
}
