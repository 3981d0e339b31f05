/* it_shop_http_catalog.c — the catalog over real HTTP (issue 5): product
 * lists with their filters, ordering and paging, one product by id and by
 * slug, the category tree, ETags, and what the admin catalog endpoints
 * refuse (422 before publishing, the worker's 409s). Helpers and the group
 * setup (an admin, categories root > child): tests/support/shop_http.h. */
#include "tests/support/shop_http.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include "tests/support/calls.h"
#include "tests/support/db.h"
#include "tests/support/http.h"
#include "tests/support/stack_env.h"

static PGconn *db;   /* set by shop_http_main, with admin and the categories */
static it_actor admin;
static int64_t root_category, child_category;
static const char *const tag = shop_http_tag;

/* ---- tests: catalog reads ---- */

static int list_has_as(const it_actor *who, const char *query, int64_t id)
{
    it_response r = it_call("GET", query, who, NULL);
    it_expect_status(&r, 200);
    size_t i;
    json_t *p;
    int found = 0;
    json_array_foreach(json_object_get(r.json, "results"), i, p) found |= it_num(p, "id") == id;
    it_response_free(&r);
    return found;
}

static int list_has(const char *query, int64_t id)
{
    return list_has_as(NULL, query, id);
}

static void test_catalog_reads(void **state)
{
    (void)state;
    char q[512], slug[128];
    int64_t grand = create_category("grand", child_category);   /* root > child > grand */
    int64_t in_root = create_product_in("rootitem", "100.00", 5, root_category, NULL, NULL);
    int64_t in_grand = create_product_in("granditem", "250.50", 0, grand, "\"product_type\":\"gift\"", slug);
    int64_t featured = create_product_in("featureditem", "75.00", 3, child_category,
                                         "\"is_featured\":true,\"discount_price\":\"60.00\"", NULL);
    /* The category filter walks down the tree. */
    snprintf(q, sizeof(q), "/api/products/?category=root-%s&page_size=100", tag);
    assert_true(list_has(q, in_root) && list_has(q, in_grand) && list_has(q, featured));
    snprintf(q, sizeof(q), "/api/products/?category=child-%s&page_size=100", tag);
    assert_true(!list_has(q, in_root) && list_has(q, in_grand) && list_has(q, featured));
    snprintf(q, sizeof(q), "/api/products/?category=%lld&page_size=100", (long long)grand);
    assert_true(!list_has(q, in_root) && list_has(q, in_grand) && !list_has(q, featured));
    assert_false(list_has("/api/products/?category=no-such-category&page_size=100", in_root));
    /* type, featured, in_stock, q, prices */
    snprintf(q, sizeof(q), "/api/products/?category=root-%s&type=gift&page_size=100", tag);
    assert_true(list_has(q, in_grand) && !list_has(q, in_root));
    snprintf(q, sizeof(q), "/api/products/?category=root-%s&featured=true&page_size=100", tag);
    assert_true(list_has(q, featured) && !list_has(q, in_root));
    snprintf(q, sizeof(q), "/api/products/?category=root-%s&in_stock=true&page_size=100", tag);
    assert_true(list_has(q, in_root) && !list_has(q, in_grand));
    snprintf(q, sizeof(q), "/api/products/?category=root-%s&in_stock=false&page_size=100", tag);
    assert_true(!list_has(q, in_root) && list_has(q, in_grand));
    snprintf(q, sizeof(q), "/api/products/?q=GRANDITEM-%s&page_size=100", tag);
    assert_true(list_has(q, in_grand) && !list_has(q, in_root));
    /* price bounds apply to the price paid (the discount: 60.00) */
    snprintf(q, sizeof(q), "/api/products/?category=root-%s&min_price=60&max_price=60.00&page_size=100", tag);
    assert_true(list_has(q, featured) && !list_has(q, in_root) && !list_has(q, in_grand));
    snprintf(q, sizeof(q), "/api/products/?category=root-%s&min_price=100.00&page_size=100", tag);
    assert_true(list_has(q, in_root) && list_has(q, in_grand) && !list_has(q, featured));
    /* ordering by the price paid, both ways, and paging */
    snprintf(q, sizeof(q), "/api/products/?category=root-%s&ordering=price&page_size=2", tag);
    it_response r = it_call("GET", q, NULL, NULL);
    it_expect_status(&r, 200);
    assert_int_equal(it_num(r.json, "count"), 3);
    json_t *results = json_object_get(r.json, "results");
    assert_int_equal(json_array_size(results), 2);
    assert_int_equal(it_num(json_array_get(results, 0), "id"), featured);
    assert_int_equal(it_num(json_array_get(results, 1), "id"), in_root);
    assert_true(json_is_string(json_object_get(r.json, "next")));
    it_response_free(&r);
    snprintf(q, sizeof(q), "/api/products/?category=root-%s&ordering=-price", tag);
    r = it_call("GET", q, NULL, NULL);
    assert_int_equal(it_num(json_array_get(json_object_get(r.json, "results"), 0), "id"), in_grand);
    it_response_free(&r);
    snprintf(q, sizeof(q), "/api/products/?category=root-%s&ordering=newest", tag);
    r = it_call("GET", q, NULL, NULL);
    assert_int_equal(it_num(json_array_get(json_object_get(r.json, "results"), 0), "id"), featured);
    it_response_free(&r);
    /* one product by id and by slug: the same document */
    r = it_callf("GET", NULL, NULL, "/api/products/%lld/", (long long)in_grand);
    it_expect_status(&r, 200);
    assert_string_equal(it_str(r.json, "price"), "250.50");
    assert_true(json_is_null(json_object_get(r.json, "discount_price")));
    assert_int_equal(it_num(r.json, "stock"), 0);
    assert_true(json_is_false(json_object_get(r.json, "is_in_stock")));
    assert_int_equal(it_num(r.json, "category"), grand);
    it_response r2 = it_callf("GET", NULL, NULL, "/api/products/%s/", slug);
    it_expect_status(&r2, 200);
    assert_string_equal(r.body, r2.body);
    it_response_free(&r);
    it_response_free(&r2);
    expect_call("GET", "/api/products/999999999/", NULL, NULL, 404);
    expect_call("GET", "/api/products/no-such-product/", NULL, NULL, 404);
    /* bad parameters: 422 naming the parameter */
    const char *bad[][2] = {{"ordering=cheapest", "ordering"}, {"min_price=abc", "min_price"},
                            {"max_price=1.234", "max_price"}, {"type=toy", "type"}, {"in_stock=yes", "in_stock"}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(q, sizeof(q), "/api/products/?%s", bad[i][0]);
        r = it_call("GET", q, NULL, NULL);
        it_expect_problem(&r, 422, NULL, bad[i][1]);
        it_response_free(&r);
    }
    /* A deactivated product leaves the catalog. */
    patch_product(in_root, "{\"is_active\":false}");
    r = it_callf("GET", NULL, NULL, "/api/products/%lld/", (long long)in_root);
    it_expect_status(&r, 404);
    it_response_free(&r);
    snprintf(q, sizeof(q), "/api/products/?category=root-%s&page_size=100", tag);
    assert_false(list_has(q, in_root));
    /* The admin list keeps it (so it can be activated again), filtered by
     * is_active; nobody else may read that list. */
    snprintf(q, sizeof(q), "/api/admin/products/?category=root-%s&page_size=100", tag);
    assert_true(list_has_as(&admin, q, in_root));
    snprintf(q, sizeof(q), "/api/admin/products/?category=root-%s&is_active=false&page_size=100", tag);
    assert_true(list_has_as(&admin, q, in_root));
    snprintf(q, sizeof(q), "/api/admin/products/?category=root-%s&is_active=true&page_size=100", tag);
    assert_false(list_has_as(&admin, q, in_root));
    r = it_call("GET", "/api/admin/products/?is_active=maybe", &admin, NULL);
    it_expect_problem(&r, 422, NULL, "is_active");
    it_response_free(&r);
    expect_call("GET", "/api/admin/products/", NULL, NULL, 401);
    patch_product(in_root, "{\"is_active\":true}");
    snprintf(q, sizeof(q), "/api/products/?category=root-%s&page_size=100", tag);
    assert_true(list_has(q, in_root));
}

static json_t *category_node(json_t *list, int64_t id)
{
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c) {
        if (it_num(c, "id") == id)
            return c;
        json_t *deeper = category_node(json_object_get(c, "children"), id);
        if (deeper)
            return deeper;
    }
    return NULL;
}

static void test_category_tree(void **state)
{
    (void)state;
    int64_t leaf = create_category("leaf", child_category);
    it_response r = it_call("GET", "/api/categories/", NULL, NULL);
    it_expect_status(&r, 200);
    json_t *root = category_node(r.json, root_category);
    assert_non_null(root);
    assert_true(json_is_null(json_object_get(root, "parent")));
    json_t *child = category_node(json_object_get(root, "children"), child_category);
    assert_non_null(child);
    assert_non_null(category_node(json_object_get(child, "children"), leaf));
    it_response_free(&r);
    /* A deactivated category hides its subtree. */
    it_response p = it_callf("PATCH", &admin, "{\"is_active\":false}", "/api/admin/categories/%lld/", (long long)leaf);
    it_expect_status(&p, 200);
    it_response_free(&p);
    r = it_call("GET", "/api/categories/", NULL, NULL);
    assert_null(category_node(r.json, leaf));
    assert_non_null(category_node(r.json, child_category));
    it_response_free(&r);
    /* The admin tree still shows it, marked inactive. */
    r = it_call("GET", "/api/admin/categories/", &admin, NULL);
    it_expect_status(&r, 200);
    json_t *hidden = category_node(r.json, leaf);
    assert_non_null(hidden);
    assert_true(json_is_false(json_object_get(hidden, "is_active")));
    it_response_free(&r);
}

static void test_etag(void **state)
{
    (void)state;
    int64_t id = create_product("etagged", "99.00", 7);
    char path[64], etag[80], etag2[80], inm[128];
    snprintf(path, sizeof(path), "/api/products/%lld/", (long long)id);
    const char *paths[] = {path, "/api/products/?page_size=100", "/api/categories/"};
    for (size_t i = 0; i < 3; i++) {
        it_response r = it_call("GET", paths[i], NULL, NULL);
        it_expect_status(&r, 200);
        assert_non_null(it_header(&r, "etag", etag, sizeof(etag)));
        snprintf(inm, sizeof(inm), "If-None-Match: %s\r\n", etag);
        it_response again = call_with("GET", paths[i], NULL, NULL, inm);
        it_expect_status(&again, 304);
        assert_int_equal(again.body_len, 0);
        it_response_free(&r);
        it_response_free(&again);
    }
    /* A change is visible at once (well within the 1 s allowed): 200 with a new ETag. */
    it_response r = it_call("GET", path, NULL, NULL);
    assert_non_null(it_header(&r, "etag", etag, sizeof(etag)));
    it_response_free(&r);
    patch_product(id, "{\"price\":\"101.00\"}");
    snprintf(inm, sizeof(inm), "If-None-Match: %s\r\n", etag);
    r = call_with("GET", path, NULL, NULL, inm);
    it_expect_status(&r, 200);
    assert_string_equal(it_str(r.json, "price"), "101.00");
    assert_non_null(it_header(&r, "etag", etag2, sizeof(etag2)));
    assert_string_not_equal(etag, etag2);
    it_response_free(&r);
}

/* ---- tests: admin catalog ---- */

static void test_admin_catalog_validation(void **state)
{
    (void)state;
    const char *bad[][3] = {
        {"/api/admin/products/", "{\"slug\":\"no-price\",\"name\":\"x\"}", "price"},
        {"/api/admin/products/", "{\"slug\":\"Bad Slug\",\"name\":\"x\",\"price\":\"1.00\"}", "slug"},
        {"/api/admin/products/", "{\"slug\":\"12345\",\"name\":\"x\",\"price\":\"1.00\"}", "slug"},
        {"/api/admin/products/", "{\"slug\":\"cheap-x\",\"name\":\"x\",\"price\":\"1.005\"}", "price"},
        {"/api/admin/products/", "{\"slug\":\"disc-x\",\"name\":\"x\",\"price\":\"10.00\",\"discount_price\":\"10.00\"}",
         "discount_price"},
        {"/api/admin/products/", "{\"slug\":\"kit-x\",\"name\":\"x\",\"price\":\"10.00\",\"product_type\":\"kit\",\"stock\":3}",
         "stock"},
        {"/api/admin/products/", "{\"slug\":\"type-x\",\"name\":\"x\",\"price\":\"10.00\",\"product_type\":\"toy\"}",
         "product_type"},
        {"/api/admin/categories/", "{\"slug\":\"c-x\"}", "name"},
        {"/api/admin/categories/", "{\"slug\":\"c-x\",\"name\":\"C\",\"sort_order\":\"1\"}", "sort_order"},
    };
    long long before = it_db_scalar(db, "SELECT count(*) FROM processed_commands", NULL);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        it_response r = it_call("POST", bad[i][0], &admin, bad[i][1]);
        it_expect_problem(&r, 422, NULL, bad[i][2]);
        it_response_free(&r);
    }
    int64_t p = create_product("adjusted", "10.00", 2);
    it_response r = it_callf("PATCH", &admin, "{\"stock\":5}", "/api/admin/products/%lld/", (long long)p);
    it_expect_problem(&r, 422, NULL, "stock");
    it_response_free(&r);
    r = it_callf("PATCH", &admin, "{}", "/api/admin/products/%lld/", (long long)p);
    it_expect_status(&r, 422);
    it_response_free(&r);
    r = it_callf("POST", &admin, "{\"delta\":0,\"reason\":\"x\"}", "/api/admin/products/%lld/stock/", (long long)p);
    it_expect_problem(&r, 422, NULL, "delta");
    it_response_free(&r);
    r = it_callf("POST", &admin, "{\"delta\":1}", "/api/admin/products/%lld/stock/", (long long)p);
    it_expect_problem(&r, 422, NULL, "reason");
    it_response_free(&r);
    char body[128];
    snprintf(body, sizeof(body), "{\"components\":[{\"product_id\":%lld,\"quantity\":1}]}", (long long)p);
    r = it_callf("POST", &admin, body, "/api/admin/products/%lld/kit/", (long long)p);
    it_expect_problem(&r, 422, NULL, "components");
    it_response_free(&r);
    usleep(300 * 1000);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM processed_commands", NULL), before + 1);   /* the create */
    /* what only the worker knows comes back with its reason code */
    r = it_callf("POST", &admin, "{\"delta\":-3,\"reason\":\"breakage\"}", "/api/admin/products/%lld/stock/",
              (long long)p);
    it_expect_problem(&r, 409, "insufficient_stock", NULL);
    it_response_free(&r);
    r = it_callf("POST", &admin, "{\"delta\":5,\"reason\":\"restock\"}", "/api/admin/products/%lld/stock/", (long long)p);
    it_expect_status(&r, 200);
    assert_int_equal(it_num(r.json, "stock"), 7);
    it_response_free(&r);
    r = it_callf("POST", &admin, "{\"components\":[]}", "/api/admin/products/%lld/kit/", (long long)p);
    it_expect_problem(&r, 422, "invalid_kit", NULL);   /* not a kit */
    it_response_free(&r);
    r = it_callf("GET", NULL, NULL, "/api/products/%lld/", (long long)p);
    char slugged[256];
    snprintf(slugged, sizeof(slugged), "{\"slug\":\"%s\",\"name\":\"again\",\"price\":\"1.00\"}", it_str(r.json, "slug"));
    it_response_free(&r);
    r = it_call("POST", "/api/admin/products/", &admin, slugged);
    it_expect_problem(&r, 409, "slug_taken", NULL);
    it_response_free(&r);
    snprintf(body, sizeof(body), "{\"parent\":999999999}");
    r = it_callf("PATCH", &admin, body, "/api/admin/categories/%lld/", (long long)child_category);
    it_expect_problem(&r, 422, "invalid_parent", NULL);
    it_response_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_catalog_reads),
        cmocka_unit_test(test_category_tree),
        cmocka_unit_test(test_etag),
        cmocka_unit_test(test_admin_catalog_validation),
    };
    return shop_http_main("shop_http_catalog", tests, sizeof(tests) / sizeof(tests[0]),
                          &db, &admin, &root_category, &child_category);
}
