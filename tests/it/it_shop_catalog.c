/* it_shop_catalog.c — the admin's catalog through the workers: only an
 * admin runs it (an envelope claiming admin is checked against the users
 * row), stock adjustments never go below zero and leave a movement, slugs
 * are unique, categories nest without cycles, and a discount stays below
 * the price and is what a customer pays. Commands go straight to Kafka (as
 * the API would, tests/support/shop.h). */
#include "tests/support/shop.h"

#include <stdio.h>
#include <jansson.h>
#include "common/mp.h"
#include "tests/support/commands.h"
#include "tests/support/db.h"


static PGconn *db;           /* shop_db, shop_admin_id: set by shop_main */
static long long admin_id;

/* ===================================================================== */
/* catalog                                                                */
/* ===================================================================== */

static void test_catalog_is_admin_only(void **state)
{
    (void)state;
    long long user = customer("notadmin");
    char slug[64];
    unique(slug, sizeof(slug), "sneaky");
    expect_rejected(create_product_outcome(slug, "samagri", 100, 1, user, "customer"), "forbidden");
    /* An envelope claiming admin for a customer's id is refused by the users row. */
    expect_rejected(create_product_outcome(slug, "samagri", 100, 1, user, "admin"), "forbidden");
    long long item = product("guarded", "samagri", 100, 1);
    it_payload p;
    it_payload_init(&p);
    msgpack_pack_map(&p.pk, 3);
    pk_mp_kv_i64(&p.pk, "product_id", item);
    pk_mp_kv_i64(&p.pk, "delta", 5);
    pk_mp_kv_str(&p.pk, "reason", "found a box");
    char key[24];
    expect_rejected(run("stock.adjust", "catalog", text(key, item), user, "customer", &p), "forbidden");
    it_payload_init(&p);
    msgpack_pack_map(&p.pk, 2);
    pk_mp_kv_i64(&p.pk, "id", item);
    pk_mp_kv_i64(&p.pk, "price", 1);
    expect_rejected(run("product.update", "catalog", key, user, "customer", &p), "forbidden");
    char t[24];
    assert_int_equal(it_db_scalar(db, "SELECT price_paise FROM products WHERE id = $1", text(t, item), NULL), 100);
    assert_int_equal(stock_of(item), 1);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM products WHERE slug = $1", slug, NULL), 0);
}

static it_outcome adjust(long long item, long long delta, const char *reason)
{
    it_payload p;
    it_payload_init(&p);
    msgpack_pack_map(&p.pk, 3);
    pk_mp_kv_i64(&p.pk, "product_id", item);
    pk_mp_kv_i64(&p.pk, "delta", delta);
    pk_mp_kv_str(&p.pk, "reason", reason);
    char key[24];
    return run("stock.adjust", "catalog", text(key, item), admin_id, "admin", &p);
}

static void test_stock_adjust_never_below_zero(void **state)
{
    (void)state;
    long long item = product("oil", "samagri", 100, 3);
    expect_rejected(adjust(item, -4, "broken bottles"), "insufficient_stock");
    assert_int_equal(stock_of(item), 3);
    json_t *j = expect_applied(adjust(item, -3, "broken bottles"));
    assert_int_equal(json_integer_value(json_object_get(j, "stock")), 0);
    assert_false(json_is_true(json_object_get(j, "is_in_stock")));
    json_decref(j);
    json_decref(expect_applied(adjust(item, 12, "delivery")));
    assert_int_equal(stock_of(item), 12);
    char t[24];
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM stock_movements WHERE product_id = $1"
                                      " AND reason = 'delivery' AND delta = 12", text(t, item), NULL),
                     1);
    assert_int_equal(it_db_scalar(db, "SELECT sum(delta) FROM stock_movements WHERE product_id = $1", t, NULL), 12);
}

static void test_slugs_categories_and_discounts(void **state)
{
    (void)state;
    char slug[64];
    unique(slug, sizeof(slug), "dup");
    json_decref(expect_applied(create_product_outcome(slug, "samagri", 100, 0, admin_id, "admin")));
    expect_rejected(create_product_outcome(slug, "samagri", 100, 0, admin_id, "admin"), "slug_taken");
    /* categories: create, child, no cycles */
    char cs[64], key[64];
    unique(cs, sizeof(cs), "pooja");
    it_payload p;
    it_payload_init(&p);
    msgpack_pack_map(&p.pk, 2);
    pk_mp_kv_str(&p.pk, "name", "Pooja");
    pk_mp_kv_str(&p.pk, "slug", cs);
    long long parent = id_of(expect_applied(run("category.create", "catalog", cs, admin_id, "admin", &p)));
    unique(cs, sizeof(cs), "lamps");
    it_payload_init(&p);
    msgpack_pack_map(&p.pk, 3);
    pk_mp_kv_str(&p.pk, "name", "Lamps");
    pk_mp_kv_str(&p.pk, "slug", cs);
    pk_mp_kv_i64(&p.pk, "parent_id", parent);
    json_t *child = expect_applied(run("category.create", "catalog", cs, admin_id, "admin", &p));
    assert_int_equal(json_integer_value(json_object_get(child, "parent")), parent);
    long long child_id = id_of(child);
    it_payload_init(&p);
    msgpack_pack_map(&p.pk, 2);
    pk_mp_kv_i64(&p.pk, "id", parent);
    pk_mp_kv_i64(&p.pk, "parent_id", child_id);
    expect_rejected(run("category.update", "catalog", text(key, parent), admin_id, "admin", &p), "invalid_parent");
    /* a discount must stay below the price */
    long long item = product("mat", "samagri", 1000, 1);
    it_payload_init(&p);
    msgpack_pack_map(&p.pk, 2);
    pk_mp_kv_i64(&p.pk, "id", item);
    pk_mp_kv_i64(&p.pk, "discount_price", 1000);
    expect_rejected(run("product.update", "catalog", text(key, item), admin_id, "admin", &p), "invalid_discount");
    it_payload_init(&p);
    msgpack_pack_map(&p.pk, 3);
    pk_mp_kv_i64(&p.pk, "id", item);
    pk_mp_kv_i64(&p.pk, "discount_price", 750);
    pk_mp_kv_i64(&p.pk, "category_id", child_id);
    json_t *j = expect_applied(run("product.update", "catalog", key, admin_id, "admin", &p));
    assert_string_equal(json_string_value(json_object_get(j, "discount_price")), "7.50");
    assert_int_equal(json_integer_value(json_object_get(j, "category")), child_id);
    json_decref(j);
    /* the discount is what a customer pays */
    long long user = customer("discount");
    line l = {item, 1, 750};
    j = expect_applied(checkout(user, &l, 1));
    assert_string_equal(json_string_value(json_object_get(j, "total_amount")), "57.50");
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_catalog_is_admin_only),
        cmocka_unit_test(test_stock_adjust_never_below_zero),
        cmocka_unit_test(test_slugs_categories_and_discounts),
    };
    return shop_main("shop_catalog", tests, sizeof(tests) / sizeof(tests[0]), &db, &admin_id);
}
