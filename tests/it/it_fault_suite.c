/* it_fault_suite.c — the write path's promise under faults (issue 11):
 * a steady mixed load (tests/support/load.h) runs while one fault at a
 * time hits the stack; afterwards
 *   - every command the client saw accepted (2xx, 202, a worker's 409/422)
 *     is decided — applied or rejected — exactly once;
 *   - every 503 left no trace (unless the same command id was accepted
 *     later: a retry of the same intent is the same command);
 *   - stock = its base + the ledger of movements, never negative, and each
 *     accepted stock change moved stock once;
 *   - no two live bookings of a priest overlap;
 *   - each priest's rating count and sum equal the ratings behind them;
 *   - the workers' consumer lag is back to 0 within 30 s;
 *   - only the process the fault killed died (and it was restarted).
 * The figures of each scenario are printed as a Markdown table and written
 * to $PUNYAKA_BUILD_DIR/fault-suite.md (docs/reliability.md quotes them).
 * PUNYAKA_FAULT_STOP_S sets how long a worker stays frozen (default 30);
 * PUNYAKA_FAULT_ONLY=N runs scenario N alone. */
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
#include <unistd.h>
#include "tests/support/db.h"
#include "tests/support/http.h"
#include "tests/support/load.h"
#include "tests/support/procs.h"
#include "tests/support/stack_env.h"

#define PASSWORD "Agarbatti-9-smoke"
#define DECIDE_MS 45000   /* every accepted command decided within */
#define LAG_MS 30000

static PGconn *db;
static char tag[16];
static load_world world;
static long long stock_base;   /* stock − Σ movements: constant whatever happens */
static char report[8192];

/* ---- processes of the stack ---- */

static pid_t pid_of(const char *name)
{
    if (strcmp(name, "postgres") != 0)
        return it_stack_pid(name);
    char path[4096], dir[2048] = "";   /* PostgreSQL's own pid file, in the cluster stack.sh made */
    snprintf(path, sizeof(path), "%s/pgdir", it_env("PUNYAKA_STACK_DIR"));
    FILE *f = fopen(path, "r");
    if (f && fgets(dir, sizeof(dir), f))
        dir[strcspn(dir, "\n")] = 0;
    if (f)
        fclose(f);
    snprintf(path, sizeof(path), "%s/data/postmaster.pid", dir);
    return it_pid_file(path);
}

static int alive(const char *name)
{
    pid_t pid = pid_of(name);
    char path[64], stat[256] = "";
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = pid > 0 ? fopen(path, "r") : NULL;
    if (!f)
        return 0;
    size_t n = fread(stat, 1, sizeof(stat) - 1, f);
    fclose(f);
    stat[n] = 0;
    const char *state = strrchr(stat, ')');
    return state && state[1] == ' ' && state[2] != 'Z';   /* a zombie is dead */
}

static void signal_proc(const char *name, int sig)
{
    pid_t pid = pid_of(name);
    if (pid > 0)
        kill(pid, sig);
}

static void stack(const char *action, const char *name)
{
    char cmd[8192];
    snprintf(cmd, sizeof(cmd), "%s/scripts/lib/stack.sh %s %s %s >>%s/logs/fault-suite.log 2>&1",
             it_env("PUNYAKA_SOURCE_DIR"), action, it_env("PUNYAKA_STACK_DIR"), name, it_env("PUNYAKA_STACK_DIR"));
    if (system(cmd) != 0)
        fail_msg("stack.sh %s %s failed", action, name);
}

/* ---- the scenarios ---- */

static int stop_s(void)
{
    const char *v = getenv("PUNYAKA_FAULT_STOP_S");
    return v && atoi(v) > 0 ? atoi(v) : 30;
}

static void kill_worker(void) { signal_proc("worker-1", SIGKILL); }
static void restart_worker(void) { stack("restart", "worker-1"); }
static void freeze_worker(void) { signal_proc("worker-2", SIGSTOP); }
static void thaw_worker(void) { signal_proc("worker-2", SIGCONT); }
static void kill_api(void) { signal_proc("api", SIGKILL); }
static void restart_api(void) { stack("restart", "api"); }
static void nothing(void) {}
static void restart_postgres(void) { stack("restart", "postgres"); }
static void stop_redis(void) { signal_proc("redis", SIGTERM); }
static void restart_redis(void) { stack("restart", "redis"); }
static void freeze_redis(void) { signal_proc("redis", SIGSTOP); }
static void thaw_redis(void) { signal_proc("redis", SIGCONT); }
static void kafka_down(void) { assert_int_equal(it_devkafka("down all"), 0); }
static void kafka_up(void) { assert_int_equal(it_devkafka("up all"), 0); }
static void kafka_errors(void)
{
    assert_int_equal(it_devkafka("errors 0 8 6"), 0);    /* NOT_LEADER_OR_FOLLOWER: retried by the client */
    assert_int_equal(it_devkafka("errors 0 3 10"), 0);   /* MESSAGE_TOO_LARGE: never stored */
}
static void kafka_slow(void) { assert_int_equal(it_devkafka("rtt all 6000"), 0); }   /* > the 5 s produce timeout */
static void kafka_fast(void) { assert_int_equal(it_devkafka("rtt all 0"), 0); }

typedef struct {
    const char *name;
    void (*inject)(void);
    void (*heal)(void);
    int hold_s;   /* 0: stop_s() */
} scenario;

static const scenario SCENARIOS[] = {
    {"kill -9 a worker", kill_worker, restart_worker, 3},
    {"SIGSTOP a worker", freeze_worker, thaw_worker, 0},
    {"kill -9 the API", kill_api, restart_api, 2},
    {"restart PostgreSQL", restart_postgres, nothing, 1},
    {"Redis stopped 10 s", stop_redis, restart_redis, 10},
    {"Redis hung (SIGSTOP) 5 s", freeze_redis, thaw_redis, 5},
    {"dev Kafka brokers down 4 s", kafka_down, kafka_up, 4},
    {"Kafka request errors", kafka_errors, nothing, 3},
    {"Kafka acks delayed 6 s", kafka_slow, kafka_fast, 8},
};

/* ---- checks ---- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The ledger's ids with a verdict as a uuid[] literal (malloc'd). */
static char *ids_of(const load *l, load_verdict v)
{
    size_t n = load_count(l), len = 0, cap = n * 40 + 3;
    char *out = malloc(cap);
    out[len++] = '{';
    for (size_t i = 0; i < n; i++)
        if (load_at(l, i)->verdict == v)
            len += (size_t)snprintf(out + len, cap - len, "%s%s", len > 1 ? "," : "", load_at(l, i)->id);
    snprintf(out + len, cap - len, "}");
    return out;
}

static long long worker_lag(void)
{
    long long total = 0;
    for (int n = 1; n <= 2; n++) {
        char var[64];
        snprintf(var, sizeof(var), "PUNYAKA_WORKER_%d_METRICS_PORT", n);
        /* it_http_port: a worker's port, not the API (the load is stopped) */
        it_response r = it_http_port(it_env(var), "GET", "/metrics", NULL);
        if (r.status != 200)
            total += 1000000;   /* not answering: not caught up */
        for (const char *p = r.body; p && (p = strstr(p, "\npunyaka_worker_consumer_lag{")); p++)
            total += atoll(strchr(p, '}') + 1);
        it_response_free(&r);
    }
    return total;
}

typedef struct {
    long long accepted, applied, rejected, refused, refused_traced, lost, duplicated, unrecorded;
    double decided_s, lag_s;
} figures;

/* On failure: which answers said 503 for a command that then happened. */
static void print_traced(const load *l, const char *accepted)
{
    for (size_t i = 0; i < load_count(l); i++) {
        const load_entry *e = load_at(l, i);
        if (e->verdict != LOAD_REFUSED || strstr(accepted, e->id))
            continue;
        if (it_db_scalar(db, "SELECT count(*) FROM processed_commands WHERE command_id = $1::uuid", e->id, NULL))
            print_error("503 but processed: %s %s\n", e->path, e->id);
    }
}

static void check_decided(const load *l, figures *f)
{
    char *accepted = ids_of(l, LOAD_ACCEPTED), *refused = ids_of(l, LOAD_REFUSED);
    double t0 = now_s();
    f->accepted = it_db_scalar(db, "SELECT count(DISTINCT id) FROM unnest($1::uuid[]) id", accepted, NULL);
    f->lost = it_db_wait_for(db, 0, DECIDE_MS,
                             "SELECT count(DISTINCT id) FROM unnest($1::uuid[]) id"
                             " WHERE NOT EXISTS (SELECT 1 FROM command_outcomes o WHERE o.command_id = id)",
                             accepted, NULL);
    f->decided_s = now_s() - t0;
    f->applied = it_db_scalar(db, "SELECT count(*) FROM command_outcomes WHERE command_id = ANY($1::uuid[])"
                                  " AND status = 'applied'", accepted, NULL);
    f->rejected = f->accepted - f->lost - f->applied;
    f->duplicated = it_db_scalar(db,
                                 "SELECT count(*) FROM (SELECT command_id FROM stock_movements"
                                 " WHERE command_id = ANY($1::uuid[]) AND order_id IS NULL"
                                 " GROUP BY command_id HAVING count(*) > 1) d",
                                 accepted, NULL);
    t0 = now_s();
    long long lag = worker_lag();
    while (lag != 0 && now_s() - t0 < LAG_MS / 1000.0) {
        usleep(250 * 1000);
        lag = worker_lag();
    }
    f->lag_s = now_s() - t0;
    assert_int_equal(lag, 0);
    sleep(1);   /* anything a refused command could still do has been done by now */
    f->refused = it_db_scalar(db, "SELECT count(DISTINCT id) FROM unnest($1::uuid[]) id WHERE id <> ALL($2::uuid[])",
                              refused, accepted, NULL);
    f->refused_traced = it_db_scalar(db,
                                     "SELECT count(DISTINCT id) FROM unnest($1::uuid[]) id WHERE id <> ALL($2::uuid[])"
                                     " AND EXISTS (SELECT 1 FROM processed_commands p WHERE p.command_id = id)",
                                     refused, accepted, NULL);
    if (f->refused_traced)
        print_traced(l, accepted);
    free(accepted);
    free(refused);
}

static void check_state(void)
{
    char product[24];
    snprintf(product, sizeof(product), "%lld", (long long)world.product);
    long long base = it_db_scalar(db,
                                  "SELECT stock - (SELECT coalesce(sum(delta), 0) FROM stock_movements"
                                  " WHERE product_id = p.id) FROM products p WHERE id = $1",
                                  product, NULL);
    assert_int_equal(base, stock_base);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM products WHERE stock < 0", NULL), 0);
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM bookings a JOIN bookings b ON a.priest_id = b.priest_id"
                                  " AND a.id < b.id AND a.status <> 'cancelled' AND b.status <> 'cancelled'"
                                  " AND a.occupied && b.occupied",
                                  NULL),
                     0);
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM priest_profiles p WHERE (p.rating_count, p.rating_sum) <>"
                                  " (SELECT count(b.rating), coalesce(sum(b.rating), 0) FROM bookings b"
                                  "  WHERE b.priest_id = p.id)",
                                  NULL),
                     0);
}

static void check_processes(void)
{
    static const char *const NAMES[] = {"api", "worker-1", "worker-2", "redis", "devkafka", "postgres"};
    for (size_t i = 0; i < sizeof(NAMES) / sizeof(NAMES[0]); i++)
        if (!alive(NAMES[i]))
            fail_msg("%s is not running after the scenario", NAMES[i]);
}

/* ---- one scenario ---- */

static void run_scenario(int round, const scenario *sc)
{
    print_message("scenario: %s\n", sc->name);
    load *l = load_start(&world, round);
    sleep(2);
    sc->inject();
    sleep((unsigned)(sc->hold_s ? sc->hold_s : stop_s()));
    sc->heal();
    sleep(3);
    load_stop(l);
    PQfinish(db);   /* a fresh session: the scenario may have restarted PostgreSQL */
    db = it_db();
    figures f = {.unrecorded = load_unrecorded(l)};
    check_decided(l, &f);
    load_free(l);
    size_t n = strlen(report);
    snprintf(report + n, sizeof(report) - n, "| %s | %lld | %lld | %lld | %lld | %lld | %lld | %lld | %.1f | %.1f |\n",
             sc->name, f.accepted, f.applied, f.rejected, f.refused, f.refused_traced, f.lost, f.duplicated,
             f.decided_s, f.lag_s);
    print_message("%s", report + n);
    assert_int_equal(f.lost, 0);
    assert_int_equal(f.refused_traced, 0);
    assert_int_equal(f.duplicated, 0);
    assert_true(f.accepted > 0);
    check_state();
    check_processes();
}

static void write_report(void)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/fault-suite.md", it_env("PUNYAKA_BUILD_DIR"));
    FILE *f = fopen(path, "w");
    if (!f)
        return;
    fputs("| scenario | accepted | applied | rejected | 503 | 503 with a trace | lost | applied twice |"
          " all decided (s) | lag 0 (s) |\n|---|---|---|---|---|---|---|---|---|---|\n", f);
    fputs(report, f);
    fclose(f);
}

static void test_faults_one_at_a_time(void **state)
{
    (void)state;
    const char *only = getenv("PUNYAKA_FAULT_ONLY");   /* one scenario by index, when debugging */
    for (size_t i = 0; i < sizeof(SCENARIOS) / sizeof(SCENARIOS[0]); i++) {
        if (only && atoi(only) != (int)i)
            continue;
        run_scenario((int)i, &SCENARIOS[i]);
        write_report();
    }
}

static int setup(void **state)
{
    (void)state;
    if (it_start(tag, sizeof(tag)) != 0)
        return -1;
    db = it_db();
    if (load_world_build(&world, tag, PASSWORD) != 0)
        return -1;
    char product[24];
    snprintf(product, sizeof(product), "%lld", (long long)world.product);
    stock_base = it_db_scalar(db,
                              "SELECT stock - (SELECT coalesce(sum(delta), 0) FROM stock_movements"
                              " WHERE product_id = p.id) FROM products p WHERE id = $1",
                              product, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    it_devkafka("rtt all 0");
    it_devkafka("up all");
    signal_proc("worker-2", SIGCONT);
    signal_proc("redis", SIGCONT);
    /* A failed scenario must not leave the next tests a broken stack. */
    static const char *const RESTARTABLE[] = {"postgres", "redis", "worker-1", "worker-2", "api"};
    for (size_t i = 0; i < sizeof(RESTARTABLE) / sizeof(RESTARTABLE[0]); i++)
        if (!alive(RESTARTABLE[i]))
            stack("restart", RESTARTABLE[i]);
    PQfinish(db);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_faults_one_at_a_time),
    };
    return cmocka_run_group_tests_name("fault_suite", tests, setup, teardown);
}
