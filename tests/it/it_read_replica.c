/* it_read_replica.c — the API with a streaming read replica (api/replica.h,
 * docs/operations.md "Read replica"), against a real replica of the stack's
 * PostgreSQL (pg_basebackup -R, tests/support/replica.sh):
 *   (a) public catalog reads are answered by the replica, not the primary
 *       (punyaka_api_reads_total{target});
 *   (b) read-your-own-writes: with the replica's replay paused, a customer
 *       checks out and at once reads their orders and the product's stock
 *       fresh (the primary), while an anonymous reader of the same product
 *       gets the replica's stale stock; once the window
 *       (PUNYAKA_READ_PRIMARY_AFTER_WRITE_MS) has passed, the customer's
 *       reads go back to the (still paused) replica, whose lag the probe
 *       reports;
 *   (c) replica down: reads still answer 200, from the primary, and
 *       punyaka_api_replica_fallbacks_total rises; back up, reads return to
 *       the replica.
 * The API under test is a spare one (it_api_spawn) with PUNYAKA_CACHE_MS=1
 * so its per-loop cache does not hide which database answered. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libpq-fe.h>
#include "tests/support/db.h"
#include "tests/support/procs.h"
#include "tests/support/shop_http.h"
#include "tests/support/stack_env.h"

#define WINDOW_MS 2000
#define STR(x) #x
#define XSTR(x) STR(x)
#define WAIT_MS 15000

static PGconn *db;
static it_actor admin;
static char metrics_port[16];
static int replica_port;

/* ---- the replica ---- */

static int replica(const char *action)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s/tests/support/replica.sh %s %s %d", it_env("PUNYAKA_SOURCE_DIR"), action,
             it_env("PUNYAKA_STACK_DIR"), replica_port);
    return system(cmd);
}

/* `dsn` (a postgresql:// URL of the stack's primary) with the replica's port. */
static void on_replica(const char *dsn, char *out, size_t cap)
{
    char from[16];
    snprintf(from, sizeof(from), ":%s/", getenv("PUNYAKA_TEST_PG_PORT"));
    const char *at = strstr(dsn, from);
    assert_non_null(at);
    snprintf(out, cap, "%.*s:%d/%s", (int)(at - dsn), dsn, replica_port, at + strlen(from));
}

static PGconn *replica_db(void)
{
    char dsn[512];
    on_replica(it_owner_dsn(), dsn, sizeof(dsn));
    PGconn *c = PQconnectdb(dsn);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    return c;
}

/* Runs sql on the replica until it gives `want` (bounded). */
static long long replica_wait_for(long long want, const char *sql, const char *param)
{
    long long got = -1;
    for (int waited = 0; waited <= WAIT_MS && got != want; waited += 100) {
        PGconn *c = replica_db();   /* a fresh connection per try */
        got = it_db_scalar(c, sql, param, NULL);
        PQfinish(c);
        if (got != want)
            usleep(100 * 1000);
    }
    return got;
}

static void replica_exec(const char *sql)
{
    PGconn *c = replica_db();
    PGresult *r = PQexec(c, sql);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);
    PQfinish(c);
}

/* ---- the API's metrics ---- */

static long long metric(const char *series)
{
    it_response r = it_http_port(metrics_port, "GET", "/metrics", NULL);
    assert_int_equal(r.status, 200);
    long long v = -1;
    size_t n = strlen(series);
    for (const char *p = r.body; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            v = strtoll(p + n + 1, NULL, 10);
    it_response_free(&r);
    return v;
}

#define REPLICA_READS "punyaka_api_reads_total{target=\"replica\"}"
#define PRIMARY_READS "punyaka_api_reads_total{target=\"primary\"}"
#define FALLBACKS "punyaka_api_replica_fallbacks_total"
#define USABLE "punyaka_api_replica_usable{thread=\"0\"}"
#define LAG "punyaka_api_replica_lag_seconds{thread=\"0\"}"

static void wait_usable(long long want)
{
    long long got = -1;
    for (int waited = 0; waited <= WAIT_MS && got != want; waited += 100) {
        got = metric(USABLE);
        if (got != want)
            usleep(100 * 1000);
    }
    assert_int_equal(got, want);
}

/* ---- reads ---- */

static long long stock_seen(const it_actor *who, int64_t product)
{
    static int n;   /* a query string of its own: the per-loop cache (1 ms here) is keyed by it */
    char path[64];
    snprintf(path, sizeof(path), "/api/products/%lld/?r=%d", (long long)product, ++n);
    it_response r = it_call("GET", path, who, NULL);
    it_expect_status(&r, 200);
    long long stock = it_num(r.json, "stock");
    it_response_free(&r);
    return stock;
}

static long long orders_seen(const it_actor *who)
{
    it_response r = it_call("GET", "/api/orders/", who, NULL);
    it_expect_status(&r, 200);
    long long n = it_num(r.json, "count");
    it_response_free(&r);
    return n;
}

static void test_reads_use_the_replica_but_never_hide_your_own_write(void **state)
{
    (void)state;
    char pid_text[24];
    int64_t product = create_product("replica", "100.00", 5);   /* through the stack's API */
    snprintf(pid_text, sizeof(pid_text), "%lld", (long long)product);
    assert_int_equal(replica_wait_for(1, "SELECT count(*) FROM products WHERE id = $1::bigint", pid_text), 1);

    char read_url[512], env_read[600], env_metrics[64];
    on_replica(it_env("PUNYAKA_API_DATABASE_URL"), read_url, sizeof(read_url));
    snprintf(env_read, sizeof(env_read), "DATABASE_READ_URL=%s", read_url);
    snprintf(env_metrics, sizeof(env_metrics), "PUNYAKA_API_METRICS_PORT=%s", metrics_port);
    const char *env[] = {env_read, env_metrics, "PUNYAKA_READ_PRIMARY_AFTER_WRITE_MS=" XSTR(WINDOW_MS),
                         /* replay is paused below: its lag grows, and here that must not matter */
                         "PUNYAKA_REPLICA_MAX_LAG_MS=600000", "PUNYAKA_CACHE_MS=1", NULL};
    pid_t api = it_api_spawn("replica-api", env);
    assert_true(api > 0);
    wait_usable(1);

    /* (a) anonymous catalog reads: the replica answers, the primary is not asked. */
    long long replica0 = metric(REPLICA_READS), primary0 = metric(PRIMARY_READS);
    for (int i = 0; i < 5; i++)
        assert_int_equal(stock_seen(NULL, product), 5);
    it_response r = it_call("GET", "/api/products/?page_size=3", NULL, NULL);
    it_expect_status(&r, 200);
    it_response_free(&r);
    assert_true(metric(REPLICA_READS) - replica0 >= 6);
    assert_int_equal(metric(PRIMARY_READS), primary0);

    /* (b) read-your-own-writes while the replica stands still. */
    it_actor c = customer();   /* signed up through this API: its session is new */
    add_ok(&c, product, 1);
    replica_exec("SELECT pg_wal_replay_pause()");
    r = checkout(&c);
    it_expect_status(&r, 201);
    it_response_free(&r);
    long long replica1 = metric(REPLICA_READS);
    assert_int_equal(orders_seen(&c), 1);          /* the primary: the order is there */
    assert_int_equal(stock_seen(&c, product), 4);  /* and the stock it took */
    assert_int_equal(metric(REPLICA_READS), replica1);
    assert_int_equal(stock_seen(NULL, product), 5);   /* someone else: the paused replica */
    assert_int_equal(metric(REPLICA_READS), replica1 + 1);
    /* The window ends: the writer reads the replica again, which has not replayed the order. */
    usleep((WINDOW_MS + 500) * 1000);
    assert_int_equal(orders_seen(&c), 0);
    /* The probe sees it fall behind (≥ 1.5 s by now: its last probe may be 1 s old), within this API's bound. */
    assert_true(metric(LAG) >= 1);
    assert_int_equal(metric(USABLE), 1);
    replica_exec("SELECT pg_wal_replay_resume()");
    assert_int_equal(replica_wait_for(4, "SELECT stock FROM products WHERE id = $1::bigint", pid_text), 4);
    assert_int_equal(orders_seen(&c), 1);

    /* (c) the replica goes down: reads still answer, from the primary. */
    long long fallbacks0 = metric(FALLBACKS);
    primary0 = metric(PRIMARY_READS);
    assert_int_equal(replica("stop"), 0);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(stock_seen(NULL, product), 4);
        usleep(50 * 1000);
    }
    assert_true(metric(FALLBACKS) - fallbacks0 >= 10);
    assert_true(metric(PRIMARY_READS) - primary0 >= 10);
    wait_usable(0);
    /* Back up: the probe finds it again and reads return to it. */
    assert_int_equal(replica("restart"), 0);
    wait_usable(1);
    replica0 = metric(REPLICA_READS);
    assert_int_equal(stock_seen(NULL, product), 4);
    assert_int_equal(metric(REPLICA_READS), replica0 + 1);

    assert_int_equal(it_api_stop(api), 0);
}

static int setup(void **state)
{
    (void)state;
    int port = it_unused_port();
    replica_port = it_unused_port();
    if (port < 0 || replica_port < 0 || replica_port == port)
        return -1;
    snprintf(metrics_port, sizeof(metrics_port), "%d", port);
    /* The primary's port, as stack.sh recorded it. */
    char path[512], text[16] = "";
    snprintf(path, sizeof(path), "%s/pg.port", it_env("PUNYAKA_STACK_DIR"));
    FILE *f = fopen(path, "r");
    if (!f || !fgets(text, sizeof(text), f)) {
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    text[strcspn(text, "\n")] = 0;
    setenv("PUNYAKA_TEST_PG_PORT", text, 1);
    return replica("start") == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    replica("remove");
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reads_use_the_replica_but_never_hide_your_own_write, setup, teardown),
    };
    return shop_http_main("read_replica", tests, sizeof(tests) / sizeof(tests[0]), &db, &admin, NULL, NULL);
}
