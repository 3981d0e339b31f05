/* it_scale_out.c — several API processes and workers on one stack (issue 18).
 *
 * Beside the stack's own API (A) and workers 1 and 2 it starts a second API
 * (B, its own port) and a third worker, and the client alternates between
 * A and B request by request, as a round-robin balancer would:
 *   - a user's session, CSRF token, cart and own writes follow them from
 *     one API to the other;
 *   - a catalog change made through one API shows through the other within
 *     100 ms (the workers' change broadcast, common/changed.h: without it
 *     B's catalog cache answers stale for up to PUNYAKA_CACHE_MS);
 *   - under the fault suite's mixed load (tests/support/load.h) B and worker
 *     3 are killed (SIGKILL): every accepted command is decided exactly
 *     once, stock and rating invariants hold, and workers 1 and 2 own all of
 *     worker 3's partitions within the group's session timeout (6 s,
 *     workers/main.c) plus one rebalance. A SIGKILLed member says nothing:
 *     the coordinator notices it only when the session times out, and the
 *     dev Kafka's (librdkafka's mock) then waits session timeout − 1 s for
 *     the live members to rejoin before it hands out partitions — about
 *     11 s in all here; a real broker ends that wait as soon as every live
 *     member has rejoined (docs/scaling.md).
 * The processes it kills are its own, so the shared stack is as it found it. */
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
#include <time.h>
#include <unistd.h>
#include "tests/support/calls.h"
#include "tests/support/db.h"
#include "tests/support/http.h"
#include "tests/support/load.h"
#include "tests/support/procs.h"
#include "tests/support/stack_env.h"

#define PASSWORD "Agarbatti-9-smoke"
#define VISIBLE_MS 100           /* a catalog change shows through the other API within */
#define SESSION_TIMEOUT_MS 6000  /* workers/main.c session.timeout.ms */
#define REBALANCE_MS 7000        /* the dev Kafka's rebalance after it: its wait (5 s) and slack */
#define PARTITIONS 18            /* command partitions: bookings 6, orders 6, accounts 3, catalog 3 */

static PGconn *db;
static char tag[16];
static int port_a, port_b;
static pid_t api_b;
static int worker3_killed;
static it_actor admin;

/* ---- where requests go ---- */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void via(int port) { it_http_rotate(&port, 1); }
static void alternate(void) { it_http_rotate((int[]){port_a, port_b}, 2); }

/* Partitions a worker's /metrics reports (one lag line each); -1 when it
 * does not answer. */
static int owned(int n)
{
    char var[64];
    snprintf(var, sizeof(var), "PUNYAKA_WORKER_%d_METRICS_PORT", n);
    it_response r = it_http_port(it_env(var), "GET", "/metrics", NULL);
    int count = r.status == 200 ? 0 : -1;
    for (const char *p = r.body; count >= 0 && p && (p = strstr(p, "\npunyaka_worker_consumer_lag{")); p++)
        count++;
    it_response_free(&r);
    return count;
}

static long long lag_of(int n)
{
    char var[64];
    snprintf(var, sizeof(var), "PUNYAKA_WORKER_%d_METRICS_PORT", n);
    it_response r = it_http_port(it_env(var), "GET", "/metrics", NULL);
    long long total = r.status == 200 ? 0 : 1000000;
    for (const char *p = r.body; p && (p = strstr(p, "\npunyaka_worker_consumer_lag{")); p++)
        total += atoll(strchr(p, '}') + 1);
    it_response_free(&r);
    return total;
}

/* ---- 1. the user follows the client ---- */

static const char *field(const json_t *doc, const char *key)   /* top level, or under "user" */
{
    const json_t *v = json_object_get(doc, key);
    if (!v)
        v = json_object_get(json_object_get(doc, "user"), key);
    return json_is_string(v) ? json_string_value(v) : "(none)";
}

static int64_t new_product(const char *slug, const char *price, int stock)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"slug\":\"%s-%s\",\"name\":\"%s %s\",\"price\":\"%s\",\"stock\":%d}", slug, tag,
             slug, tag, price, stock);
    it_response r = it_call("POST", "/api/admin/products/", &admin, body);
    it_expect_status(&r, 201);
    int64_t id = it_num(r.json, "id");
    it_response_free(&r);
    return id;
}

static void test_user_follows_the_client(void **state)
{
    (void)state;
    via(port_a);
    int64_t product = new_product("scale-diya", "30.00", 50);
    it_actor c = {0};
    snprintf(c.name, sizeof(c.name), "scalebhakt%s", tag);
    assert_int_equal(it_sign_up(&c, "customer", PASSWORD, NULL), 201);   /* session opened by A */

    via(port_b);   /* the session and its CSRF token, on B */
    it_response r = it_call("GET", "/api/auth/me/", &c, NULL);
    it_expect_status(&r, 200);
    assert_string_equal(field(r.json, "username"), c.name);
    it_response_free(&r);
    char body[128];
    snprintf(body, sizeof(body), "{\"product_id\":%lld,\"quantity\":2}", (long long)product);
    r = it_call("POST", "/api/cart/add_item/", &c, body);
    it_expect_status(&r, 200);
    it_response_free(&r);

    via(port_a);   /* the cart B filled, on A */
    r = it_call("GET", "/api/cart/", &c, NULL);
    it_expect_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
    assert_int_equal(it_num(json_array_get(json_object_get(r.json, "items"), 0), "quantity"), 2);
    it_response_free(&r);
    r = it_call("PATCH", "/api/auth/me/", &c, "{\"first_name\":\"Lakshmi\"}");
    it_expect_status(&r, 200);
    it_response_free(&r);

    via(port_b);   /* A's write, read at once through B */
    r = it_call("GET", "/api/auth/me/", &c, NULL);
    assert_string_equal(field(r.json, "first_name"), "Lakshmi");
    it_response_free(&r);
    r = it_call("POST", "/api/orders/checkout/", &c,
                "{\"shipping_address\":\"12 Temple Road\",\"shipping_city\":\"Pune\",\"shipping_state\":\"Maharashtra\","
                "\"shipping_pincode\":\"411001\",\"shipping_phone\":\"+91 98765 43210\"}");
    it_expect_status(&r, 201);
    long long order = it_num(r.json, "id");
    it_response_free(&r);

    via(port_a);   /* B's order through A, and the emptied cart */
    r = it_callf("GET", &c, NULL, "/api/orders/%lld/", order);
    it_expect_status(&r, 200);
    it_response_free(&r);
    r = it_call("GET", "/api/cart/", &c, NULL);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 0);
    it_response_free(&r);
    r = it_call("POST", "/api/auth/logout/", &c, NULL);
    assert_true(r.status == 200 || r.status == 204);
    it_response_free(&r);

    via(port_b);   /* a logout through A ends the session on B */
    r = it_call("GET", "/api/auth/me/", &c, NULL);
    it_expect_status(&r, 401);
    it_response_free(&r);
}

/* ---- 2. a catalog change, seen through the other API ---- */

/* ms until GET /api/products/{id}/ through `port` shows `price` (bounded: 3 s). */
static double until_price(int port, int64_t product, const char *price, double since)
{
    via(port);
    for (;;) {
        it_response r = it_callf("GET", NULL, NULL, "/api/products/%lld/", (long long)product);
        int seen = r.status == 200 && strcmp(it_str(r.json, "price"), price) == 0;
        it_response_free(&r);
        double ms = now_ms() - since;
        if (seen || ms > 3000)
            return seen ? ms : 1e9;
        usleep(2000);
    }
}

static void test_catalog_change_visible_through_the_other_api(void **state)
{
    (void)state;
    via(port_a);
    int64_t product = new_product("scale-kalash", "100.00", 5);
    double worst = 0;
    for (int round = 1; round <= 5; round++) {
        int writer = round % 2 ? port_a : port_b, reader = round % 2 ? port_b : port_a;
        char old_price[16], price[16], body[64];
        snprintf(old_price, sizeof(old_price), "%d.00", 100 + round - 1);
        snprintf(price, sizeof(price), "%d.00", 100 + round);
        /* The reader has the current answer in its cache, fresh for another PUNYAKA_CACHE_MS. */
        assert_true(until_price(reader, product, old_price, now_ms()) < 3000);
        via(writer);
        snprintf(body, sizeof(body), "{\"price\":\"%s\"}", price);
        it_response r = it_callf("PATCH", &admin, body, "/api/admin/products/%lld/", (long long)product);
        it_expect_status(&r, 200);   /* applied: the writer's own answer */
        it_response_free(&r);
        double ms = until_price(reader, product, price, now_ms());
        print_message("round %d: the change made through :%d showed through :%d after %.1f ms\n", round, writer,
                      reader, ms);
        worst = ms > worst ? ms : worst;
    }
    print_message("catalog change visible through the other API within %.1f ms (bound %d ms)\n", worst, VISIBLE_MS);
    assert_true(worst <= VISIBLE_MS);
}

/* ---- 3. load, then one API and one worker killed ---- */

static long long stock_base_of(int64_t product)
{
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)product);
    return it_db_scalar(db,
                        "SELECT stock - (SELECT coalesce(sum(delta), 0) FROM stock_movements"
                        " WHERE product_id = p.id) FROM products p WHERE id = $1",
                        id, NULL);
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

/* Workers 1 and 2 together own every command partition: ms since `since`. */
static double until_survivors_own_all(double since)
{
    while (now_ms() - since < SESSION_TIMEOUT_MS + REBALANCE_MS + 5000) {
        int o1 = owned(1), o2 = owned(2);
        if (o1 >= 0 && o2 >= 0 && o1 + o2 == PARTITIONS)
            return now_ms() - since;
        usleep(100 * 1000);
    }
    return 1e9;
}

static void check_invariants(const load *l, const load_world *w, long long stock_base)
{
    char *accepted = ids_of(l, LOAD_ACCEPTED), *refused = ids_of(l, LOAD_REFUSED);
    long long n = it_db_scalar(db, "SELECT count(DISTINCT id) FROM unnest($1::uuid[]) id", accepted, NULL);
    long long undecided = it_db_wait_for(db, 0, 45000,
                                         "SELECT count(DISTINCT id) FROM unnest($1::uuid[]) id WHERE NOT EXISTS"
                                         " (SELECT 1 FROM command_outcomes o WHERE o.command_id = id)",
                                         accepted, NULL);
    long long applied = it_db_scalar(db, "SELECT count(*) FROM command_outcomes WHERE command_id = ANY($1::uuid[])"
                                         " AND status = 'applied'", accepted, NULL);
    long long twice = it_db_scalar(db,
                                   "SELECT count(*) FROM (SELECT command_id FROM journal WHERE command_id = ANY($1::uuid[])"
                                   " GROUP BY command_id HAVING count(*) > 1) d",
                                   accepted, NULL);
    long long moved_twice = it_db_scalar(db,
                                         "SELECT count(*) FROM (SELECT command_id FROM stock_movements"
                                         " WHERE command_id = ANY($1::uuid[]) AND order_id IS NULL"
                                         " GROUP BY command_id HAVING count(*) > 1) d",
                                         accepted, NULL);
    long long refused_traced = it_db_scalar(db,
                                            "SELECT count(DISTINCT id) FROM unnest($1::uuid[]) id WHERE id <> ALL($2::uuid[])"
                                            " AND EXISTS (SELECT 1 FROM processed_commands p WHERE p.command_id = id)",
                                            refused, accepted, NULL);
    print_message("accepted %lld (applied %lld, rejected %lld), undecided %lld, journalled twice %lld,"
                  " 503 with a trace %lld, answers without a command id %u\n",
                  n, applied, n - applied - undecided, undecided, twice, refused_traced, load_unrecorded(l));
    free(accepted);
    free(refused);
    assert_true(n >= 200);   /* a few hundred commands from several users */
    assert_int_equal(undecided, 0);
    assert_int_equal(twice, 0);
    assert_int_equal(moved_twice, 0);
    assert_int_equal(refused_traced, 0);
    assert_int_equal(stock_base_of(w->product), stock_base);
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

static void test_kill_an_api_and_a_worker_under_load(void **state)
{
    (void)state;
    static load_world world;
    char world_tag[24];
    snprintf(world_tag, sizeof(world_tag), "s%s", tag);
    alternate();
    assert_int_equal(load_world_build(&world, world_tag, PASSWORD), 0);
    long long stock_base = stock_base_of(world.product);
    int before = owned(3);
    print_message("worker 3 owns %d of %d partitions\n", before, PARTITIONS);
    assert_true(before > 0);   /* else its death would move nothing */

    load *l = load_start(&world, 0);
    sleep(3);
    double killed = now_ms();
    kill(api_b, SIGKILL);
    kill(it_stack_pid("worker-3"), SIGKILL);
    worker3_killed = 1;
    usleep(300 * 1000);   /* the balancer notices: /readyz fails, B leaves the rotation */
    via(port_a);
    double moved = until_survivors_own_all(killed);
    print_message("worker 3's partitions owned by workers 1 and 2 %.0f ms after the kill (session timeout %d ms)\n",
                  moved, SESSION_TIMEOUT_MS);
    /* The load goes on through A and the two workers left: at least 2 s
     * more, and until a few hundred commands in all (a sanitizer build is
     * slower), at most 30 s. */
    double more = now_ms();
    while (now_ms() - more < 2000 || (load_count(l) < 300 && now_ms() - more < 30000))
        usleep(100 * 1000);
    load_stop(l);
    assert_true(moved <= SESSION_TIMEOUT_MS + REBALANCE_MS);
    check_invariants(l, &world, stock_base);
    double t0 = now_ms();
    while ((lag_of(1) || lag_of(2)) && now_ms() - t0 < 30000)
        usleep(250 * 1000);
    assert_int_equal(lag_of(1) + lag_of(2), 0);
    load_free(l);
}

/* ---- fixture ---- */

static int setup(void **state)
{
    (void)state;
    if (it_start(tag, sizeof(tag)) != 0)
        return -1;
    db = it_db();
    port_a = atoi(it_env("PUNYAKA_HTTP_PORT"));
    api_b = it_api_spawn("scale-api-b", NULL);
    if (api_b < 0)
        return -1;
    port_b = atoi(it_env("PUNYAKA_HTTP_PORT"));
    char port[16];
    snprintf(port, sizeof(port), "%d", port_a);
    setenv("PUNYAKA_HTTP_PORT", port, 1);
    /* A third worker, with a /metrics port of its own (stack.sh takes it from the environment). */
    snprintf(port, sizeof(port), "%d", it_unused_port());
    setenv("PUNYAKA_WORKER_3_METRICS_PORT", port, 1);
    it_worker("worker-start", 3, NULL);
    if (it_worker_wait_ready(3, 60000) != 0)
        return -1;
    /* The group settles on three members before anything is measured. */
    for (int i = 0; i < 100 && !(owned(1) > 0 && owned(2) > 0 && owned(3) > 0 && owned(1) + owned(2) + owned(3) == PARTITIONS); i++)
        usleep(100 * 1000);
    snprintf(admin.name, sizeof(admin.name), "scaleadm%s", tag);
    via(port_a);
    return it_sign_in_admin(&admin, PASSWORD) == 200 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    it_http_rotate(NULL, 0);
    it_api_stop(api_b);   /* reaps it, killed or not */
    if (!worker3_killed)
        it_worker("worker-stop", 3, "TERM");
    char path[4096];
    snprintf(path, sizeof(path), "%s/worker-3.pid", it_env("PUNYAKA_STACK_DIR"));
    unlink(path);   /* stack.sh down stops the workers it has pid files for */
    PQfinish(db);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_user_follows_the_client),
        cmocka_unit_test(test_catalog_change_visible_through_the_other_api),
        cmocka_unit_test(test_kill_an_api_and_a_worker_under_load),
    };
    return cmocka_run_group_tests_name("scale_out", tests, setup, teardown);
}
