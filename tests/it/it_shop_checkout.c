/* it_shop_checkout.c — the shop's orders through the workers: checkout
 * (200 customers racing for 50 units, all-or-nothing, prices the customer
 * saw, totals and free shipping, the same command twice, inactive and
 * unknown products, poison payloads), then cancel and status commands.
 * Commands go straight to Kafka (as the API would, tests/support/shop.h)
 * and the money and stock invariants are checked in the database, not only
 * in the outcomes. Kits: it_shop_kits; the catalog: it_shop_catalog. */
#include "tests/support/shop.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "common/mp.h"
#include "tests/support/commands.h"
#include "tests/support/db.h"

#define HASH IT_PASSWORD_HASH
#define WAIT_MS SHOP_WAIT_MS

static PGconn *db;           /* shop_db, shop_admin_id: set by shop_main */
static long long admin_id;

/* ===================================================================== */
/* order commands and what they leave in the database                     */
/* ===================================================================== */

static it_outcome update_price(long long id, long long price)
{
    it_payload p;
    it_payload_init(&p);
    msgpack_pack_map(&p.pk, 2);
    pk_mp_kv_i64(&p.pk, "id", id);
    pk_mp_kv_i64(&p.pk, "price", price);
    char key[24];
    return run("product.update", "catalog", text(key, id), admin_id, "admin", &p);
}

static it_outcome order_command(const char *type, long long order, long long owner, long long actor,
                                const char *role, const char *status)
{
    it_payload p;
    it_payload_init(&p);
    msgpack_pack_map(&p.pk, status ? 2 : 1);
    pk_mp_kv_i64(&p.pk, "order_id", order);
    if (status)
        pk_mp_kv_str(&p.pk, "status", status);
    char key[24];
    return run(type, "orders", text(key, owner), actor, role, &p);
}

static long long ledger_net(long long order)
{
    char t[24];
    return it_db_scalar(db,
                        "SELECT coalesce(sum(CASE kind WHEN 'captured' THEN amount_paise ELSE -amount_paise END), 0)"
                        " FROM payments WHERE order_id = $1",
                        text(t, order), NULL);
}

static long long orders_of(long long user)
{
    char t[24];
    return it_db_scalar(db, "SELECT count(*) FROM orders WHERE user_id = $1", text(t, user), NULL);
}

/* ===================================================================== */
/* the race: 200 customers, 50 units                                      */
/* ===================================================================== */

enum { RACERS = 200, RACE_STOCK = 50, SENDERS = 8 };

typedef struct {
    long long product;
    const long long *users;
    char (*ids)[PK_UUID_STR_LEN + 1];
    int from, to;
} sender;

static void *send_checkouts(void *arg)
{
    sender *s = arg;
    for (int i = s->from; i < s->to; i++) {
        line l = {s->product, 1, 10000};
        it_payload p;
        checkout_payload(&p, &l, 1);
        char key[24];
        enqueue("order.checkout", "orders", text(key, s->users[i]), s->users[i], "customer", &p, NULL, s->ids[i]);
        it_payload_free(&p);
    }
    return NULL;
}

/* Registers n customers at once (one batch on the accounts topic). */
static void customers(long long *ids, int n, const char *base)
{
    char (*cmd)[PK_UUID_STR_LEN + 1] = calloc((size_t)n, sizeof(*cmd));
    for (int i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof(name), "%s_%s_%d", base, shop_tag, i);
        it_payload p;
        it_customer_registration(&p, name, HASH);
        enqueue("user.register", "accounts", name, 0, "", &p, NULL, cmd[i]);
        it_payload_free(&p);
    }
    flush();
    for (int i = 0; i < n; i++) {
        it_outcome o = it_wait_outcome(db, cmd[i], WAIT_MS);
        assert_string_equal(o.status, "applied");
        ids[i] = o.entity_id;
        it_outcome_free(&o);
    }
    free(cmd);
}

/* "{id,id,...}" of the command ids, for = ANY($1::uuid[]). */
static char *uuid_array(char (*ids)[PK_UUID_STR_LEN + 1], int n)
{
    char *s = malloc((size_t)n * (PK_UUID_STR_LEN + 1) + 3), *p = s;
    *p++ = '{';
    for (int i = 0; i < n; i++)
        p += sprintf(p, "%s%s", i ? "," : "", ids[i]);
    strcpy(p, "}");
    return s;
}

#define OUTCOMES_AMONG "SELECT count(*) FROM command_outcomes WHERE command_id = ANY($1::uuid[])"

static void test_200_customers_race_for_50_units(void **state)
{
    (void)state;
    long long users[RACERS];
    customers(users, RACERS, "racer");
    long long item = product("lamp", "samagri", 10000, RACE_STOCK);
    char (*ids)[PK_UUID_STR_LEN + 1] = calloc(RACERS, sizeof(*ids));
    pthread_t threads[SENDERS];
    sender senders[SENDERS];
    for (int t = 0; t < SENDERS; t++) {
        senders[t] = (sender){item, users, ids, t * RACERS / SENDERS, (t + 1) * RACERS / SENDERS};
        pthread_create(&threads[t], NULL, send_checkouts, &senders[t]);
    }
    for (int t = 0; t < SENDERS; t++)
        pthread_join(threads[t], NULL);
    flush();
    char *all = uuid_array(ids, RACERS), p[24];
    text(p, item);
    assert_int_equal(it_db_wait_for(db, RACERS, 120000, OUTCOMES_AMONG, all, NULL), RACERS);
    assert_int_equal(it_db_scalar(db, OUTCOMES_AMONG " AND status = 'applied'", all, NULL), RACE_STOCK);
    assert_int_equal(it_db_scalar(db, OUTCOMES_AMONG " AND code = 'out_of_stock'", all, NULL), RACERS - RACE_STOCK);
    /* The rejections name the product, in the detail and per line. */
    assert_int_equal(it_db_scalar(db, OUTCOMES_AMONG " AND code = 'out_of_stock' AND detail LIKE '%lamp-%'"
                                      " AND errors ? ('items.' || $2 || '.quantity')", all, p, NULL),
                     RACERS - RACE_STOCK);
    assert_int_equal(stock_of(item), 0);
    assert_int_equal(it_db_scalar(db, "SELECT sum(quantity) FROM order_items WHERE product_id = $1", p, NULL),
                     RACE_STOCK);
    /* 50 orders from 50 different customers, each paid once. */
    assert_int_equal(it_db_scalar(db, "SELECT count(DISTINCT o.user_id) FROM orders o"
                                      " JOIN order_items i ON i.order_id = o.id WHERE i.product_id = $1", p, NULL),
                     RACE_STOCK);
    assert_int_equal(
        it_db_scalar(db, "SELECT count(DISTINCT order_id) FROM order_items WHERE product_id = $1", p, NULL),
        RACE_STOCK);
    assert_int_equal(it_db_scalar(db, "SELECT sum(amount_paise) FROM payments p JOIN order_items i"
                                      " ON i.order_id = p.order_id WHERE i.product_id = $1 AND kind = 'captured'",
                                  p, NULL),
                     RACE_STOCK * (10000 + 5000));
    /* The movements explain the stock, and their running sum never dipped below zero. */
    assert_int_equal(it_db_scalar(db, "SELECT sum(delta) FROM stock_movements WHERE product_id = $1", p, NULL), 0);
    assert_int_equal(it_db_scalar(db, "SELECT min(running) FROM (SELECT sum(delta) OVER (ORDER BY id) AS running"
                                      " FROM stock_movements WHERE product_id = $1) m", p, NULL),
                     0);
    free(all);
    free(ids);
}

/* ===================================================================== */
/* all-or-nothing, prices, totals                                         */
/* ===================================================================== */

static void test_last_line_short_changes_nothing(void **state)
{
    (void)state;
    long long user = customer("shortline");
    long long a = product("incense", "samagri", 2000, 5), b = product("ghee", "samagri", 3000, 5),
              c = product("camphor", "samagri", 1000, 1);
    line lines[] = {{a, 1, 2000}, {b, 2, 3000}, {c, 2, 1000}};
    it_outcome o = checkout(user, lines, 3);
    char *errors = outcome_field(o.id, "errors"), *detail = outcome_field(o.id, "detail"), key[48];
    snprintf(key, sizeof(key), "items.%lld.quantity", c);
    assert_non_null(strstr(errors, key));
    assert_non_null(strstr(detail, "camphor-"));
    free(errors);
    free(detail);
    expect_rejected(o, "out_of_stock");
    assert_int_equal(orders_of(user), 0);
    assert_int_equal(stock_of(a), 5);
    assert_int_equal(stock_of(b), 5);
    assert_int_equal(stock_of(c), 1);
}

static void test_price_raised_rejects_lowered_charges_less(void **state)
{
    (void)state;
    long long user = customer("prices");
    long long item = product("bell", "samagri", 10000, 10);
    json_decref(expect_applied(update_price(item, 12000)));
    line shown_old = {item, 1, 10000};
    expect_rejected(checkout(user, &shown_old, 1), "price_changed");
    assert_int_equal(stock_of(item), 10);
    json_decref(expect_applied(update_price(item, 8000)));
    line shown_high = {item, 2, 12000};   /* the customer saw 120.00; it is 80.00 now */
    json_t *order = expect_applied(checkout(user, &shown_high, 1));
    json_t *it = json_array_get(json_object_get(order, "items"), 0);
    assert_string_equal(json_string_value(json_object_get(it, "unit_price")), "80.00");
    assert_string_equal(json_string_value(json_object_get(it, "line_total")), "160.00");
    assert_string_equal(json_string_value(json_object_get(order, "subtotal")), "160.00");
    assert_string_equal(json_string_value(json_object_get(order, "total_amount")), "210.00");
    long long id = id_of(order);
    assert_int_equal(ledger_net(id), 16000 + 5000);
    assert_int_equal(stock_of(item), 8);
}

static void test_totals_exact_and_free_shipping_from_500(void **state)
{
    (void)state;
    long long user = customer("totals");
    long long a = product("thali", "samagri", 12345, 20), b = product("wick", "samagri", 999, 20),
              c = product("idol", "gift", 49999, 5), d = product("shawl", "gift", 25000, 5);
    line mixed[] = {{a, 3, 12345}, {b, 2, 999}};
    json_t *o = expect_applied(checkout(user, mixed, 2));
    assert_string_equal(json_string_value(json_object_get(o, "subtotal")), "390.33");
    assert_string_equal(json_string_value(json_object_get(o, "shipping_charge")), "50.00");
    assert_string_equal(json_string_value(json_object_get(o, "total_amount")), "440.33");
    assert_string_equal(json_string_value(json_object_get(o, "status")), "pending");
    assert_string_equal(json_string_value(json_object_get(o, "payment_status")), "paid");
    assert_non_null(strstr(json_string_value(json_object_get(o, "order_number")), "PUN-"));
    char t[24];
    long long id = id_of(o);
    text(t, id);
    assert_int_equal(it_db_scalar(db, "SELECT total_paise FROM orders WHERE id = $1 AND subtotal_paise = 39033"
                                      " AND shipping_paise = 5000", t, NULL), 44033);
    assert_int_equal(it_db_scalar(db, "SELECT sum(line_total_paise) FROM order_items WHERE order_id = $1", t, NULL),
                     39033);
    assert_int_equal(ledger_net(id), 44033);
    line below[] = {{c, 1, 49999}};   /* 499.99: shipping charged */
    o = expect_applied(checkout(user, below, 1));
    assert_string_equal(json_string_value(json_object_get(o, "shipping_charge")), "50.00");
    assert_string_equal(json_string_value(json_object_get(o, "total_amount")), "549.99");
    json_decref(o);
    line at[] = {{d, 2, 25000}};      /* exactly 500.00: free */
    o = expect_applied(checkout(user, at, 1));
    assert_string_equal(json_string_value(json_object_get(o, "shipping_charge")), "0.00");
    assert_string_equal(json_string_value(json_object_get(o, "total_amount")), "500.00");
    /* The items carry what the API removes from the cart. */
    json_t *item = json_array_get(json_object_get(o, "items"), 0);
    assert_int_equal(json_integer_value(json_object_get(item, "product")), d);
    assert_int_equal(json_integer_value(json_object_get(item, "quantity")), 2);
    json_decref(o);
}

/* Issue 16 "one write for an order": the row is inserted with its final
 * status (pending, paid), not inserted pending and then updated paid. The
 * live row version tells: one written by the INSERT is older, within the
 * command's transaction (cmin, the command counter), than the ledger row
 * the capture writes after it; an UPDATE after the capture would have made
 * a newer version. The ledger and the answer are as before. */
static void test_checkout_writes_the_order_once(void **state)
{
    (void)state;
    long long user = customer("onewrite");
    long long item = product("camphor", "samagri", 2500, 10);
    line l = {item, 2, 2500};
    json_t *o = expect_applied(checkout(user, &l, 1));
    assert_string_equal(json_string_value(json_object_get(o, "status")), "pending");
    assert_string_equal(json_string_value(json_object_get(o, "payment_status")), "paid");
    char t[24];
    long long id = id_of(o);
    text(t, id);
    assert_int_equal(ledger_net(id), 5000 + 5000);   /* 50.00 of goods + 50.00 shipping */
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM orders o JOIN payments p ON p.order_id = o.id"
                                  " WHERE o.id = $1 AND p.xmin = o.xmin"   /* one transaction */
                                  " AND o.cmin::text::int < p.cmin::text::int",
                                  t, NULL),
                     1);
}

static void test_same_command_twice_one_order(void **state)
{
    (void)state;
    long long user = customer("twice");
    long long item = product("kumkum", "samagri", 500, 10);
    line l = {item, 3, 500};
    it_payload p;
    checkout_payload(&p, &l, 1);
    pk_uuid id;
    pk_uuid_v7(&id, (uint64_t)(it_now_us() / 1000));
    char key[24], first[PK_UUID_STR_LEN + 1], second[PK_UUID_STR_LEN + 1];
    enqueue("order.checkout", "orders", text(key, user), user, "customer", &p, &id, first);
    enqueue("order.checkout", "orders", key, user, "customer", &p, &id, second);
    flush();
    it_payload_free(&p);
    assert_string_equal(first, second);
    it_outcome o = it_wait_outcome(db, first, WAIT_MS);
    assert_string_equal(o.status, "applied");
    it_outcome_free(&o);
    /* A later command on the same key applies after both copies. */
    line none = {item, 1, 1};   /* shown 0.01: price_changed, changes nothing */
    expect_rejected(checkout(user, &none, 1), "price_changed");
    assert_int_equal(orders_of(user), 1);
    assert_int_equal(stock_of(item), 7);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM processed_commands WHERE command_id = $1", first, NULL), 1);
}

static void test_inactive_unknown_and_empty(void **state)
{
    (void)state;
    long long user = customer("inactive");
    long long item = product("sindoor", "samagri", 700, 10);
    deactivate(item);
    line l = {item, 1, 700};
    expect_rejected(checkout(user, &l, 1), "inactive_product");
    line missing = {999999999, 1, 700};
    expect_rejected(checkout(user, &missing, 1), "inactive_product");
    expect_rejected(checkout(user, NULL, 0), "empty_cart");
    assert_int_equal(stock_of(item), 10);
    assert_int_equal(orders_of(user), 0);
}

/* A 255-byte Devanagari name cut inside a character by the detail buffer:
 * the rejection must still be stored (valid UTF-8), not retried forever. */
static void test_long_unicode_name_in_rejection(void **state)
{
    (void)state;
    char slug[64], name[256] = "";
    unique(slug, sizeof(slug), "deep");
    for (int i = 0; i < 85; i++)
        strcat(name, "\xe0\xa4\xa6");   /* U+0926 DEVANAGARI LETTER DA */
    it_payload p;
    it_payload_init(&p);
    msgpack_pack_map(&p.pk, 4);
    pk_mp_kv_str(&p.pk, "slug", slug);
    pk_mp_kv_str(&p.pk, "name", name);
    pk_mp_kv_i64(&p.pk, "price", 100);
    pk_mp_kv_i64(&p.pk, "stock", 1);
    long long item = id_of(expect_applied(run("product.create", "catalog", slug, admin_id, "admin", &p)));
    long long user = customer("unicode");
    line l = {item, 2, 100};
    it_outcome o = checkout(user, &l, 1);
    char *detail = outcome_field(o.id, "detail");
    assert_true(strlen(detail) > 200 && strlen(detail) < 256);
    free(detail);
    expect_rejected(o, "out_of_stock");
}

/* A payload the API would never send is poison: rejected, dead-lettered,
 * and the customer's next command (same key, same partition) still applies. */
static void test_malformed_checkout_is_poison(void **state)
{
    (void)state;
    long long user = customer("poison");
    long long item = product("tilak", "samagri", 400, 5);
    line too_many = {item, 100, 400};
    expect_rejected(checkout(user, &too_many, 1), "invalid_command");
    it_payload p;
    it_payload_init(&p);
    msgpack_pack_map(&p.pk, 6);
    pk_mp_pack_cstr(&p.pk, "lines");
    msgpack_pack_array(&p.pk, 1);
    msgpack_pack_map(&p.pk, 3);
    pk_mp_kv_i64(&p.pk, "product_id", item);
    pk_mp_kv_i64(&p.pk, "quantity", 1);
    pk_mp_kv_i64(&p.pk, "unit_price", 400);
    pk_mp_kv_str(&p.pk, "shipping_address", "12 Temple Road");
    pk_mp_kv_strn(&p.pk, "shipping_city", "Pu\xff\xfene", 6);   /* not UTF-8 */
    pk_mp_kv_str(&p.pk, "shipping_state", "Maharashtra");
    pk_mp_kv_str(&p.pk, "shipping_pincode", "411001");
    pk_mp_kv_str(&p.pk, "shipping_phone", "+91 98765 43210");
    char key[24];
    it_outcome o = run("order.checkout", "orders", text(key, user), user, "customer", &p);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM dead_letters WHERE reason = 'invalid_command'"
                                      " AND position(decode(replace($1, '-', ''), 'hex') in payload) > 0",
                                  o.id, NULL),
                     1);
    expect_rejected(o, "invalid_command");
    line fine = {item, 1, 400};
    json_decref(expect_applied(checkout(user, &fine, 1)));
    assert_int_equal(stock_of(item), 4);
}


/* ===================================================================== */
/* cancel and status                                                      */
/* ===================================================================== */

static void test_cancel_before_shipping_restocks_and_refunds(void **state)
{
    (void)state;
    long long user = customer("canceller"), stranger = customer("stranger");
    long long x = product("flower", "samagri", 300, 10), y = product("rice", "samagri", 200, 10);
    long long kit = product("flower-kit", "kit", 1000, 0);
    const long long parts[][2] = {{x, 2}, {y, 1}};
    json_decref(expect_applied(set_kit(kit, parts, 2)));
    line lines[] = {{x, 1, 300}, {kit, 2, 1000}};
    long long order = id_of(expect_applied(checkout(user, lines, 2)));
    assert_int_equal(stock_of(x), 10 - 1 - 4);
    assert_int_equal(stock_of(y), 10 - 2);
    /* The kit changes after the sale: the restock still follows what was taken. */
    const long long changed[][2] = {{y, 5}};
    json_decref(expect_applied(set_kit(kit, changed, 1)));
    expect_rejected(order_command("order.cancel", order, user, stranger, "customer", NULL), "not_found");
    json_t *o = expect_applied(order_command("order.cancel", order, user, user, "customer", NULL));
    assert_string_equal(json_string_value(json_object_get(o, "status")), "cancelled");
    assert_string_equal(json_string_value(json_object_get(o, "payment_status")), "refunded");
    json_decref(o);
    assert_int_equal(stock_of(x), 10);
    assert_int_equal(stock_of(y), 10);
    assert_int_equal(ledger_net(order), 0);
    char t[24];
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM payments WHERE order_id = $1 AND kind = 'refunded'"
                                      " AND amount_paise = 2300 + 5000", text(t, order), NULL), 1);
    expect_rejected(order_command("order.cancel", order, user, user, "customer", NULL), "invalid_transition");
}

static void test_status_steps_and_no_cancel_after_shipping(void **state)
{
    (void)state;
    long long user = customer("shipped");
    long long item = product("conch", "gift", 40000, 3);
    line l = {item, 1, 40000};
    long long order = id_of(expect_applied(checkout(user, &l, 1)));
    expect_rejected(order_command("order.set_status", order, user, user, "customer", "confirmed"), "forbidden");
    expect_rejected(order_command("order.set_status", order, user, admin_id, "admin", "shipped"), "invalid_transition");
    json_t *o = expect_applied(order_command("order.set_status", order, user, admin_id, "admin", "confirmed"));
    assert_string_equal(json_string_value(json_object_get(o, "status")), "confirmed");
    json_decref(o);
    json_decref(expect_applied(order_command("order.set_status", order, user, admin_id, "admin", "shipped")));
    expect_rejected(order_command("order.cancel", order, user, user, "customer", NULL), "invalid_transition");
    expect_rejected(order_command("order.set_status", order, user, admin_id, "admin", "cancelled"),
                    "invalid_transition");
    o = expect_applied(order_command("order.set_status", order, user, admin_id, "admin", "delivered"));
    assert_string_equal(json_string_value(json_object_get(o, "status")), "delivered");
    assert_string_equal(json_string_value(json_object_get(o, "payment_status")), "paid");
    json_decref(o);
    assert_int_equal(stock_of(item), 2);
    assert_int_equal(ledger_net(order), 45000);
    expect_rejected(order_command("order.set_status", 999999999, user, admin_id, "admin", "confirmed"), "not_found");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_200_customers_race_for_50_units),
        cmocka_unit_test(test_last_line_short_changes_nothing),
        cmocka_unit_test(test_price_raised_rejects_lowered_charges_less),
        cmocka_unit_test(test_totals_exact_and_free_shipping_from_500),
        cmocka_unit_test(test_checkout_writes_the_order_once),
        cmocka_unit_test(test_same_command_twice_one_order),
        cmocka_unit_test(test_inactive_unknown_and_empty),
        cmocka_unit_test(test_malformed_checkout_is_poison),
        cmocka_unit_test(test_long_unicode_name_in_rejection),
        cmocka_unit_test(test_cancel_before_shipping_restocks_and_refunds),
        cmocka_unit_test(test_status_steps_and_no_cancel_after_shipping),
    };
    return shop_main("shop_checkout", tests, sizeof(tests) / sizeof(tests[0]), &db, &admin_id);
}
