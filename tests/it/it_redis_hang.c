/* it_redis_hang.c — a hung Redis never slows the command path (issue 11
 * finding 4). Redis is frozen with SIGSTOP (it accepts connections, answers
 * nothing); commands that ask for an outcome notification (reply_to set, as
 * the API sets it) are still applied at their normal pace, because the
 * notification leaves the consumer's thread (workers/notifier.h). Before,
 * each waited for two 1 s Redis timeouts before its offset was stored. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "common/mp.h"
#include "tests/support/commands.h"
#include "tests/support/db.h"
#include "tests/support/procs.h"
#include "tests/support/stack_env.h"

#define COMMANDS 6
#define SLOW_MS 900   /* normally tens of ms; before the fix each took ≥ 2 s */

static PGconn *db;
static char tag[16];
static pid_t redis_pid;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static int thaw(void **state)
{
    (void)state;
    if (redis_pid > 0)
        kill(redis_pid, SIGCONT);
    return 0;
}

/* One category.create through the producer, timed until its outcome. */
static double one_command(it_producer *producer, int64_t admin, const char *label, int i)
{
    char slug[64], id[PK_UUID_STR_LEN + 1];
    snprintf(slug, sizeof(slug), "hang-%s-%s-%d", tag, label, i);
    it_payload p;
    it_payload_init(&p);
    msgpack_pack_map(&p.pk, 2);
    pk_mp_kv_str(&p.pk, "name", slug);
    pk_mp_kv_str(&p.pk, "slug", slug);
    double t0 = now_ms();
    assert_int_equal(it_producer_send(producer, "category.create", "catalog", slug, admin, "admin", &p, id), 0);
    assert_int_equal(it_producer_flush(producer), 0);
    it_outcome o = it_wait_outcome(db, id, 20000);
    double took = now_ms() - t0;
    it_payload_free(&p);
    assert_string_equal(o.status, "applied");
    it_outcome_free(&o);
    return took;
}

/* The slowest of COMMANDS commands sent while Redis is frozen. Before it,
 * commands are sent (Redis running, bounded) until one is fast: a consumer
 * group still rebalancing after an earlier test's Kafka faults pauses the
 * workers for seconds, which has nothing to do with Redis. */
static double frozen_round(it_producer *producer, int64_t admin, int round)
{
    char label[16];
    snprintf(label, sizeof(label), "r%d", round);
    for (int i = 0; i < 30 && one_command(producer, admin, label, -1 - i) >= SLOW_MS; i++)
        ;
    assert_int_equal(kill(redis_pid, SIGSTOP), 0);
    double slowest = 0;
    for (int i = 0; i < COMMANDS; i++) {
        double took = one_command(producer, admin, label, i);
        slowest = took > slowest ? took : slowest;
    }
    kill(redis_pid, SIGCONT);
    return slowest;
}

static void test_hung_redis_does_not_slow_commands(void **state)
{
    (void)state;
    char name[64];
    snprintf(name, sizeof(name), "hangadmin%s", tag);
    int64_t admin = it_create_admin(db, name);
    assert_true(admin > 0);
    snprintf(it_reply_to, sizeof(it_reply_to), "api-redis-hang");
    redis_pid = it_stack_pid("redis");
    assert_true(redis_pid > 0);

    /* One producer, warmed up: only the workers' pace is timed. A round that
     * a rebalance happened to hit is run again (at most twice more); before
     * the fix every round was slow, each command waiting ≥ 2 s for Redis. */
    it_producer *producer = it_producer_new();
    assert_non_null(producer);
    double slowest = SLOW_MS;
    for (int round = 0; round < 3 && slowest >= SLOW_MS; round++) {
        slowest = frozen_round(producer, admin, round);
        print_message("slowest command while Redis was hung (round %d): %.0f ms\n", round, slowest);
    }
    it_producer_free(producer);
    assert_true(slowest < SLOW_MS);
    it_reply_to[0] = 0;
}

static int setup(void **state)
{
    (void)state;
    if (it_start(tag, sizeof(tag)) != 0)
        return -1;
    db = it_db();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_hung_redis_does_not_slow_commands, thaw),
    };
    int failed = cmocka_run_group_tests_name("redis_hang", tests, setup, NULL);
    PQfinish(db);
    return failed;
}
