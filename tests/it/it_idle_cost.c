/* it_idle_cost.c — an idle stack costs PostgreSQL almost nothing, and a
 * command's event still goes out at once (issue 16).
 *
 * Idle: once every journal row is published and SETTLE_S have passed, the
 * database's committed and rolled-back transactions (pg_stat_database, every
 * autocommit statement is one) grow by at most 1 per second over WINDOW_S,
 * the test's own read excluded. SETTLE_S because a backend that flushed its
 * statistics less than a second before going idle flushes the rest only
 * after 10 s idle (PostgreSQL 15's PGSTAT_IDLE_INTERVAL): without it the
 * previous test's statements would be counted in the window. Before issue
 * 16 each worker's outbox relay polled the journal every 250 ms: ≈ 24
 * transactions (≈ 45 statements) a second with 2 workers; now ≤ 0.2.
 * A window in which autovacuum worked on a table is measured again (its
 * transactions are PostgreSQL's own, not the stack's).
 *
 * Wake-up: with nothing polling, the relay must hear of a commit through
 * LISTEN/NOTIFY (workers/relay.h): each of a few commands is published
 * (journal.published_at set, which the relay does only after Kafka
 * acknowledged the event) within LATENCY_MS of being applied, well inside
 * the relay's slow safety poll, and the event is on the topic. */
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
#include "common/mp.h"
#include "tests/support/commands.h"
#include "tests/support/db.h"
#include "tests/support/events.h"
#include "tests/support/stack_env.h"

#define SETTLE_S 10
#define WINDOW_S 5
#define MAX_PER_S 1.0
#define COMMANDS 3
#define LATENCY_MS 1000

static PGconn *db;
static char tag[16];

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* pg_stat_force_next_flush: this read's own transaction is in the shared
 * counters as soon as it ends, so the test knows exactly what it added. */
#define XACTS_SQL                                                                                  \
    "SELECT xact_commit + xact_rollback FROM pg_stat_database, pg_stat_force_next_flush()"     \
    " WHERE datname = current_database()"
#define AUTOVAC_SQL                                                                               \
    "SELECT coalesce(sum(autovacuum_count + autoanalyze_count), 0) FROM pg_stat_all_tables,"      \
    " pg_stat_force_next_flush()"

/* Transactions per second the database ran over WINDOW_S, less the one
 * read of this connection inside the window; *autovacuum set when
 * autovacuum worked meanwhile. */
static double idle_rate(PGconn *c, int settle_s, int *autovacuum)
{
    long long vac0 = it_db_scalar(c, AUTOVAC_SQL, NULL);
    sleep((unsigned)settle_s);
    long long x0 = it_db_scalar(c, XACTS_SQL, NULL);
    sleep(WINDOW_S);
    usleep(300 * 1000);   /* the window's last statement, if any, is flushed (idle relays flush at once) */
    long long x1 = it_db_scalar(c, XACTS_SQL, NULL);
    long long vac1 = it_db_scalar(c, AUTOVAC_SQL, NULL);
    long long others = x1 - x0 - 1;   /* the x0 read is the only statement of ours in between */
    print_message("idle: %lld transactions in %d s (autovacuum ops %lld)\n", others, WINDOW_S, vac1 - vac0);
    *autovacuum = vac1 != vac0;
    return (double)others / WINDOW_S;
}

static void test_idle_stack_runs_almost_no_statements(void **state)
{
    (void)state;
    assert_int_equal(it_events_wait_published(db, 15000), 0);
    PGconn *c = it_db();   /* a fresh session: nothing of ours pending in its statistics */
    int autovacuum = 0;
    double rate = idle_rate(c, SETTLE_S, &autovacuum);
    if (autovacuum)   /* its workers exit, and flush, when done: no settling again */
        rate = idle_rate(c, 0, &autovacuum);
    PQfinish(c);
    assert_false(autovacuum);
    assert_true(rate <= MAX_PER_S);
}

static void registration(it_payload *pl, const char *username)
{
    it_customer_registration(pl, username, IT_PASSWORD_HASH);
}

/* Polls `sql` (one boolean of the command id) every 5 ms until true; the
 * monotonic time it became true, or -1 after timeout_ms. */
static double wait_true(const char *sql, const char *id, int timeout_ms)
{
    double until = now_ms() + timeout_ms;
    const char *params[] = {id};
    while (now_ms() < until) {
        PGresult *r = PQexecParams(db, sql, 1, NULL, params, NULL, NULL, 0);
        int yes = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
        PQclear(r);
        if (yes)
            return now_ms();
        usleep(5000);
    }
    return -1;
}

static int on_topic(const char *id)
{
    it_event *ev = NULL;
    size_t n = 0;
    long long low = 0;
    int found = 0;
    if (it_events_read(&ev, &n, &low) != 0)
        return -1;
    pk_uuid want;
    pk_uuid_parse(id, strlen(id), &want);
    for (size_t i = 0; i < n; i++)
        found += memcmp(&ev[i].ev.id, &want, sizeof(want)) == 0;
    it_events_free(ev, n);
    return found;
}

static void test_command_event_published_within_a_second(void **state)
{
    (void)state;
    for (int i = 0; i < COMMANDS; i++) {
        usleep(300 * 1000);   /* the relays are idle again, asleep in poll() */
        char name[64], id[PK_UUID_STR_LEN + 1];
        snprintf(name, sizeof(name), "idle%s_%d", tag, i);
        it_payload pl;
        registration(&pl, name);
        assert_int_equal(it_send_command("user.register", "accounts", name, 0, "", &pl, NULL, 0, id), 0);
        it_payload_free(&pl);
        double applied = wait_true("SELECT EXISTS (SELECT 1 FROM journal WHERE command_id = $1::uuid)", id, 10000);
        assert_true(applied > 0);
        double published = wait_true("SELECT EXISTS (SELECT 1 FROM journal WHERE command_id = $1::uuid"
                                     " AND published_at IS NOT NULL)",
                                     id, 10000);
        print_message("command %d: event published %.0f ms after it was applied\n", i, published - applied);
        assert_true(published > 0);
        assert_true(published - applied <= LATENCY_MS);
        assert_true(on_topic(id) >= 1);   /* at least once (relay.h) */
    }
}

int main(void)
{
    if (it_start(tag, sizeof(tag)) != 0)
        return 1;
    db = it_db();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_command_event_published_within_a_second),
        cmocka_unit_test(test_idle_stack_runs_almost_no_statements),   /* last: SETTLE_S covers the commands */
    };
    int failed = cmocka_run_group_tests_name("idle_cost", tests, NULL, NULL);
    PQfinish(db);
    return failed;
}
