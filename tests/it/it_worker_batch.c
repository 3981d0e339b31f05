/* it_worker_batch.c — batches (workers/batch.h): commands that arrive
 * together are applied in one transaction, each in its own savepoint, and a
 * poison command in the middle of one is rejected and dead-lettered alone
 * while its neighbours in the same transaction apply, in offset order.
 *
 * The burst is made deterministic by freezing both workers (SIGSTOP) while
 * it is produced to one partition (one key): when they go on, the owner's
 * consumer holds the whole burst and takes it in batches. That commands
 * shared a transaction is read from PostgreSQL itself: the rows a
 * transaction inserts outside any savepoint carry its xid as xmin, and
 * processed_commands is written before each command's savepoint. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/mp.h"
#include "tests/support/commands.h"
#include "tests/support/db.h"
#include "tests/support/http.h"
#include "tests/support/stack_env.h"

enum { N = 40, POISON = 20, WORKERS = 2 };

static PGconn *db;
static char tag[16];

/* One worker's value of an unlabelled series on its /metrics. */
static long long worker_metric(int worker, const char *name)
{
    char var[64], saved[16], want[128];
    snprintf(var, sizeof(var), "PUNYAKA_WORKER_%d_METRICS_PORT", worker);
    snprintf(saved, sizeof(saved), "%s", it_env("PUNYAKA_HTTP_PORT"));
    setenv("PUNYAKA_HTTP_PORT", it_env(var), 1);   /* it_http talks to the worker now */
    it_response r = it_http("GET", "/metrics", NULL, NULL, 0);
    setenv("PUNYAKA_HTTP_PORT", saved, 1);
    assert_int_equal(r.status, 200);
    snprintf(want, sizeof(want), "\n%s ", name);
    const char *at = strstr(r.body, want);
    assert_non_null(at);
    long long v = strtoll(at + strlen(want), NULL, 10);
    it_response_free(&r);
    return v;
}

static long long metric_sum(const char *name)
{
    long long sum = 0;
    for (int w = 1; w <= WORKERS; w++)
        sum += worker_metric(w, name);
    return sum;
}

static void send_registration(it_producer *p, const char *key, const char *prefix, int i, int poison,
                              char id[PK_UUID_STR_LEN + 1])
{
    char username[64];
    snprintf(username, sizeof(username), "%s%s_%d", prefix, tag, i);
    it_payload pl;
    if (i == poison) {   /* no username: the rule refuses the payload (WK_POISON) */
        it_payload_init(&pl);
        msgpack_pack_map(&pl.pk, 1);
        pk_mp_kv_str(&pl.pk, "role", "customer");
    } else {
        it_customer_registration(&pl, username, IT_PASSWORD_HASH);
    }
    assert_int_equal(it_producer_send(p, "user.register", "accounts", key, 0, "", &pl, id), 0);
    it_payload_free(&pl);
}

/* N registrations to one key while both workers are frozen (they stay
 * frozen: the caller lets them go). */
static void frozen_burst(const char *key, const char *prefix, int poison, char ids[N][PK_UUID_STR_LEN + 1])
{
    it_worker("worker-signal", 1, "STOP");
    it_worker("worker-signal", 2, "STOP");
    it_producer *p = it_producer_new();
    for (int i = 0; i < N; i++)
        send_registration(p, key, prefix, i, poison, ids[i]);
    int flushed = it_producer_flush(p);
    it_producer_free(p);
    if (flushed != 0) {
        it_worker("worker-signal", 1, "CONT");
        it_worker("worker-signal", 2, "CONT");
    }
    assert_int_equal(flushed, 0);
}

static void test_burst_is_batched_and_poison_rejected_alone(void **state)
{
    (void)state;
    static char ids[N][PK_UUID_STR_LEN + 1];
    char key[32];
    snprintf(key, sizeof(key), "batch-%s", tag);   /* one key: one partition, one order */
    long long txns = metric_sum("punyaka_worker_transactions_total");
    long long msgs = metric_sum("punyaka_worker_transaction_commands_total");
    frozen_burst(key, "bat", POISON, ids);
    it_worker("worker-signal", 1, "CONT");
    it_worker("worker-signal", 2, "CONT");

    for (int i = 0; i < N; i++) {
        it_outcome o = it_wait_outcome(db, ids[i], 30000);
        assert_string_equal(o.status, i == POISON ? "rejected" : "applied");
        if (i == POISON)
            assert_string_equal(o.code, "invalid_command");
        it_outcome_free(&o);
    }
    /* The poison's dead letter, committed with its rejection. */
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM dead_letters d JOIN processed_commands p"
                                      " ON d.topic = p.topic AND d.kafka_partition = p.kafka_partition"
                                      " AND d.kafka_offset = p.kafka_offset WHERE p.command_id = $1::uuid",
                                  ids[POISON], NULL), 1);
    /* Its transaction also committed applied neighbours: it was rejected alone inside a batch. */
    char like[48];
    snprintf(like, sizeof(like), "bat%s\\_%%", tag);
    assert_true(it_db_scalar(db, "SELECT count(*) FROM processed_commands p JOIN command_outcomes o USING (command_id)"
                                 " WHERE p.xmin = (SELECT xmin FROM processed_commands WHERE command_id = $1::uuid)"
                                 " AND o.status = 'applied' AND o.resource->>'username' LIKE $2",
                             ids[POISON], like, NULL) >= 2);
    /* Fewer transactions than commands. */
    assert_true(metric_sum("punyaka_worker_transaction_commands_total") - msgs >= N);
    assert_true(metric_sum("punyaka_worker_transactions_total") - txns < N);
    assert_true(worker_metric(1, "punyaka_worker_batch_size_max") > 1 ||
                worker_metric(2, "punyaka_worker_batch_size_max") > 1);
    /* Order: within the partition, journal seq follows the offset. */
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM (SELECT p.kafka_offset, lag(p.kafka_offset) OVER"
                                      " (ORDER BY j.seq) AS prev FROM processed_commands p JOIN journal j USING (command_id)"
                                      " JOIN command_outcomes o USING (command_id) WHERE o.resource->>'username' LIKE $1"
                                      " OR p.command_id = $2::uuid) s WHERE prev > kafka_offset",
                                  like, ids[POISON], NULL), 0);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM users WHERE username LIKE $1", like, NULL), N - 1);
}

#define WAITING_ON_DEDUPE                                                                                    \
    " FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"                \
    " AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO processed_commands%'"

/* A transient error in the middle of a batch: the command at BLOCKED waits
 * on a processed_commands row this test holds uncommitted, and while it
 * waits none of the batch is visible (the commands before it are written
 * but not committed); then the worker's connection is cut (a failover,
 * class 08). The whole batch rolls back and is applied again one by one:
 * every command exactly once, none rejected. */
static void test_transient_error_rolls_back_the_whole_batch(void **state)
{
    (void)state;
    enum { BLOCKED = 20 };
    static char ids[N][PK_UUID_STR_LEN + 1];
    char key[32], like[48];
    snprintf(key, sizeof(key), "batch-t-%s", tag);
    snprintf(like, sizeof(like), "tra%s\\_%%", tag);
    long long retries = metric_sum("punyaka_worker_retries_total");
    frozen_burst(key, "tra", -1, ids);
    PGconn *blocker = it_db();
    PQclear(PQexec(blocker, "BEGIN"));
    const char *params[] = {ids[BLOCKED]};
    PGresult *r = PQexecParams(blocker, "INSERT INTO processed_commands (command_id, type, topic, kafka_partition,"
                                        " kafka_offset, issued_at) VALUES ($1, 'user.register', 'it-blocker', 0, 0, now())",
                               1, NULL, params, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    it_worker("worker-signal", 1, "CONT");
    it_worker("worker-signal", 2, "CONT");

    assert_int_equal(it_db_wait_for(db, 1, 20000, "SELECT count(*)" WAITING_ON_DEDUPE, NULL), 1);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM users WHERE username LIKE $1", like, NULL), 0);
    /* Cut it while it waits. Polled: a wait longer than the worker's
     * lock_timeout (5 s) ends in a retry, and a slow (sanitizer) build may
     * be between two waits at the first look. */
    assert_int_equal(it_db_wait_for(db, 1, 20000, "SELECT count(*) FROM (SELECT pg_terminate_backend(pid)"
                                    WAITING_ON_DEDUPE ") t", NULL), 1);
    PQclear(PQexec(blocker, "ROLLBACK"));
    PQfinish(blocker);

    for (int i = 0; i < N; i++) {
        it_outcome o = it_wait_outcome(db, ids[i], 30000);
        assert_string_equal(o.status, "applied");
        it_outcome_free(&o);
    }
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM users WHERE username LIKE $1", like, NULL), N);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM journal j JOIN command_outcomes o USING (command_id)"
                                      " WHERE o.resource->>'username' LIKE $1", like, NULL), N);
    assert_true(metric_sum("punyaka_worker_retries_total") > retries);
}

int main(void)
{
    if (it_start(tag, sizeof(tag)) != 0)
        return 1;
    db = it_db();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_is_batched_and_poison_rejected_alone),
        cmocka_unit_test(test_transient_error_rolls_back_the_whole_batch),
    };
    int failed = cmocka_run_group_tests_name("worker_batch", tests, NULL, NULL);
    PQfinish(db);
    return failed;
}
