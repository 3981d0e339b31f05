/* it_no_global_stall.c — one stuck command transaction stalls nobody else
 * (issue 11 finding 3). A test session plays a worker frozen inside its
 * command transaction: it has recorded a command, drawn a journal seq and
 * holds what a command transaction held until issue 11 (the relay's shared
 * advisory barrier), then sits. Meanwhile:
 *   - writes on other rows are applied at their normal pace (before, each
 *     queued behind the relay's exclusive request for up to 2 s);
 *   - their journal rows wait unpublished behind the stuck seq (events stay
 *     in seq order), and are published once it ends. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "tests/support/calls.h"
#include "tests/support/db.h"
#include "tests/support/http.h"
#include "tests/support/stack_env.h"

#define PASSWORD "Kumkum-red-31"
#define WRITES 8
#define STALL_MS 1000   /* a write normally takes tens of ms; the old stall was up to 2 s each */

static PGconn *db;
static char tag[16];
static it_actor admin;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
}

static int64_t create_product(int n)
{
    char body[512];
    snprintf(body, sizeof(body), "{\"slug\":\"bell-%s-%d\",\"name\":\"Bell %s %d\",\"price\":\"75.00\",\"stock\":10}",
             tag, n, tag, n);
    it_response r = it_call("POST", "/api/admin/products/", &admin, body);
    it_expect_status(&r, 201);
    int64_t id = it_num(r.json, "id");
    it_response_free(&r);
    return id;
}

/* A worker frozen mid-transaction: the command recorded, a seq drawn. */
static PGconn *stuck_writer(long long *seq)
{
    PGconn *c = it_db();
    exec_ok(c, "BEGIN");
    char sql[512];
    snprintf(sql, sizeof(sql),
             "INSERT INTO processed_commands (command_id, type, topic, kafka_partition, kafka_offset, issued_at)"
             " VALUES (gen_random_uuid(), 'stock.adjust', 'stall-%s', 0, 0, now())",
             tag);
    exec_ok(c, sql);
    exec_ok(c, "SELECT pg_advisory_xact_lock_shared(31654314734873442)");   /* the retired barrier */
    *seq = it_db_scalar(c, "SELECT nextval(pg_get_serial_sequence('journal', 'seq'))", NULL);
    return c;
}

static void test_stuck_transaction_stalls_nobody(void **state)
{
    (void)state;
    int64_t products[WRITES];
    for (int i = 0; i < WRITES; i++)
        products[i] = create_product(i);
    long long stuck_seq = 0;
    PGconn *stuck = stuck_writer(&stuck_seq);
    usleep(500 * 1000);   /* frozen for a while: every relay has had a round meanwhile */

    double slowest = 0;
    for (int i = 0; i < WRITES; i++) {
        double t0 = now_ms();
        it_response r = it_callf("POST", &admin, "{\"delta\":1,\"reason\":\"stall\"}", "/api/admin/products/%lld/stock/",
                                 (long long)products[i]);
        double took = now_ms() - t0;
        it_expect_status(&r, 200);
        it_response_free(&r);
        slowest = took > slowest ? took : slowest;
        usleep(100 * 1000);   /* spread over a few relay rounds */
    }
    print_message("slowest write while a transaction was stuck: %.0f ms\n", slowest);
    assert_true(slowest < STALL_MS);

    /* Events stay in seq order: nothing after the stuck seq is out yet. */
    char seq[24];
    snprintf(seq, sizeof(seq), "%lld", stuck_seq);
    assert_true(it_db_scalar(db, "SELECT count(*) FROM journal WHERE seq > $1", seq, NULL) >= WRITES);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM journal WHERE seq > $1 AND published_at IS NOT NULL",
                                  seq, NULL),
                     0);

    exec_ok(stuck, "ROLLBACK");   /* the frozen worker's transaction ends (as its timeout would end it) */
    PQfinish(stuck);
    assert_int_equal(it_db_wait_for(db, 0, 10000, "SELECT count(*) FROM journal WHERE seq > $1 AND published_at IS NULL",
                                    seq, NULL),
                     0);
}

static int setup(void **state)
{
    (void)state;
    if (it_start(tag, sizeof(tag)) != 0)
        return -1;
    db = it_db();
    snprintf(admin.name, sizeof(admin.name), "stalladmin%s", tag);
    return it_sign_in_admin(&admin, PASSWORD) == 200 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stuck_transaction_stalls_nobody),
    };
    int failed = cmocka_run_group_tests_name("no_global_stall", tests, setup, NULL);
    PQfinish(db);
    return failed;
}
