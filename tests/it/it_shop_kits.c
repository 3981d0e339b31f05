/* it_shop_kits.c — kits through the workers: a kit's stock is the least
 * of its components', a sale takes the components, a kit and its component
 * in one cart are checked against their summed need, the kit rules, a
 * withdrawn component withdraws the kit, and product.set_kit takes its locks
 * in the order checkout does. Commands go straight to Kafka (as the API
 * would, tests/support/shop.h); stock is checked in the database. */
#include "tests/support/shop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include "common/mp.h"
#include "tests/support/commands.h"
#include "tests/support/db.h"
#include "tests/support/http.h"


static PGconn *db;           /* shop_db, shop_admin_id: set by shop_main */
static long long admin_id;

/* ===================================================================== */
/* kits                                                                   */
/* ===================================================================== */

static void test_kit_stock_and_sale_decrements_components(void **state)
{
    (void)state;
    long long user = customer("kitbuyer");
    long long x = product("diya", "samagri", 100, 10), y = product("cotton", "samagri", 50, 9);
    long long kit = product("aarti-kit", "kit", 1500, 0);
    const long long parts[][2] = {{x, 2}, {y, 3}};
    json_t *k = expect_applied(set_kit(kit, parts, 2));
    assert_int_equal(json_integer_value(json_object_get(k, "stock")), 3);   /* min(10/2, 9/3) */
    assert_true(json_is_true(json_object_get(k, "is_in_stock")));
    json_decref(k);
    line two = {kit, 2, 1500};
    json_decref(expect_applied(checkout(user, &two, 1)));
    assert_int_equal(stock_of(x), 10 - 2 * 2);
    assert_int_equal(stock_of(y), 9 - 2 * 3);
    assert_int_equal(stock_of(kit), 0);   /* the kit row itself holds no stock */
    expect_rejected(checkout(user, &two, 1), "out_of_stock");   /* min(6/2, 3/3) = 1 left */
    assert_int_equal(stock_of(x), 6);
    assert_int_equal(stock_of(y), 3);
}

static void test_kit_and_component_checked_against_summed_need(void **state)
{
    (void)state;
    long long user = customer("kitmix");
    long long x = product("bead", "samagri", 100, 6), y = product("thread", "samagri", 50, 3);
    long long kit = product("mala-kit", "kit", 900, 0);
    const long long parts[][2] = {{x, 2}, {y, 3}};
    json_decref(expect_applied(set_kit(kit, parts, 2)));
    /* 1 kit (2 beads) + 5 beads = 7 > 6, though each alone fits. */
    line too_many[] = {{x, 5, 100}, {kit, 1, 900}};
    it_outcome o = checkout(user, too_many, 2);
    char *errors = outcome_field(o.id, "errors"), k1[48], k2[48];
    snprintf(k1, sizeof(k1), "items.%lld.quantity", x);
    snprintf(k2, sizeof(k2), "items.%lld.quantity", kit);
    assert_non_null(strstr(errors, k1));   /* both lines draw on the short product */
    assert_non_null(strstr(errors, k2));
    free(errors);
    expect_rejected(o, "out_of_stock");
    assert_int_equal(stock_of(x), 6);
    line fits[] = {{x, 4, 100}, {kit, 1, 900}};
    json_decref(expect_applied(checkout(user, fits, 2)));
    assert_int_equal(stock_of(x), 0);
    assert_int_equal(stock_of(y), 0);
}

static void test_kit_rules(void **state)
{
    (void)state;
    long long plain = product("leaf", "samagri", 10, 5), kit = product("leaf-kit", "kit", 100, 0);
    long long other = product("other-kit", "kit", 100, 0);
    const long long nested[][2] = {{other, 1}};
    expect_rejected(set_kit(kit, nested, 1), "invalid_kit");
    const long long onto_plain[][2] = {{kit, 1}};
    expect_rejected(set_kit(plain, onto_plain, 1), "invalid_kit");
    char slug[64];
    unique(slug, sizeof(slug), "stocked-kit");
    expect_rejected(create_product_outcome(slug, "kit", 100, 5, admin_id, "admin"), "invalid_kit");
    /* A kit without components cannot be sold. */
    long long user = customer("emptykit");
    line l = {kit, 1, 100};
    expect_rejected(checkout(user, &l, 1), "out_of_stock");
}

/* A withdrawn component withdraws the kit: selling it would take the stock
 * of a product the shop no longer sells (issue 11 finding 8). */
static void test_kit_with_inactive_component_is_not_for_sale(void **state)
{
    (void)state;
    long long user = customer("kitinactive");
    long long x = product("ghee", "samagri", 100, 10), y = product("wick", "samagri", 50, 10);
    long long kit = product("lamp-kit", "kit", 400, 0);
    const long long parts[][2] = {{x, 1}, {y, 2}};
    json_decref(expect_applied(set_kit(kit, parts, 2)));
    deactivate(y);
    line l = {kit, 1, 400};
    expect_rejected(checkout(user, &l, 1), "inactive_product");
    assert_int_equal(stock_of(x), 10);
    assert_int_equal(stock_of(y), 10);
    char path[64];   /* the shop shows it as it sells it */
    snprintf(path, sizeof(path), "/api/products/%lld/", kit);
    it_response r = it_http("GET", path, NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_true(json_is_false(json_object_get(r.json, "is_in_stock")));
    assert_int_equal(json_integer_value(json_object_get(r.json, "stock")), 0);
    it_response_free(&r);
    char id[24];
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM products p WHERE p.id = $1 AND EXISTS (SELECT 1 FROM"
                                  " kit_components kc JOIN products c ON c.id = kc.component_id"
                                  " WHERE kc.kit_id = p.id AND NOT c.is_active)",
                                  text(id, kit), NULL),
                     1);
}

static double ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) * 1000.0 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* product.set_kit locks in ascending id order, as checkout does: a session
 * holding a component (as a checkout would) and then asking for the kit is
 * granted it at once. Before, set_kit held the kit and waited for the
 * component: a deadlock PostgreSQL broke after deadlock_timeout (1 s). */
static void test_set_kit_locks_in_id_order(void **state)
{
    (void)state;
    long long component = product("camphor", "samagri", 30, 10);   /* the lower id */
    long long kit = product("camphor-kit", "kit", 90, 0);
    char c[24], k[24];
    text(c, component);
    text(k, kit);
    PGconn *checkout_like = it_db();
    PQclear(PQexec(checkout_like, "BEGIN"));
    assert_int_equal(it_db_scalar(checkout_like, "SELECT count(*) FROM (SELECT id FROM products WHERE id = $1 FOR UPDATE) x",
                                  c, NULL),
                     1);
    const long long parts[][2] = {{component, 3}};
    it_payload p;
    it_payload_init(&p);
    msgpack_pack_map(&p.pk, 2);
    pk_mp_kv_i64(&p.pk, "kit_id", kit);
    pk_mp_pack_cstr(&p.pk, "components");
    msgpack_pack_array(&p.pk, 1);
    msgpack_pack_map(&p.pk, 2);
    pk_mp_kv_i64(&p.pk, "product_id", parts[0][0]);
    pk_mp_kv_i64(&p.pk, "quantity", parts[0][1]);
    char id[PK_UUID_STR_LEN + 1];
    assert_int_equal(it_send_command("product.set_kit", "catalog", k, admin_id, "admin", &p, NULL, 0, id), 0);
    it_payload_free(&p);
    /* The worker is now blocked on a lock this session holds. */
    assert_int_equal(it_db_wait_for(db, 1, 10000,
                                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                                    " AND datname = current_database()",
                                    NULL),
                     1);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(it_db_scalar(checkout_like, "SELECT count(*) FROM (SELECT id FROM products WHERE id = $1 FOR UPDATE) x",
                                  k, NULL),
                     1);
    double waited = ms_since(&t0);
    PQclear(PQexec(checkout_like, "COMMIT"));
    PQfinish(checkout_like);
    print_message("kit lock granted after %.0f ms\n", waited);
    assert_true(waited < 500);   /* no deadlock to be broken */
    json_t *applied = expect_applied(it_wait_outcome(db, id, 20000));
    assert_int_equal(json_integer_value(json_object_get(applied, "stock")), 3);   /* 10 / 3 */
    json_decref(applied);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kit_stock_and_sale_decrements_components),
        cmocka_unit_test(test_kit_and_component_checked_against_summed_need),
        cmocka_unit_test(test_kit_rules),
        cmocka_unit_test(test_kit_with_inactive_component_is_not_for_sale),
        cmocka_unit_test(test_set_kit_locks_in_id_order),
    };
    return shop_main("shop_kits", tests, sizeof(tests) / sizeof(tests[0]), &db, &admin_id);
}
