/* it_shop.c — the shop's worker half end to end: catalog, checkout, kits,
 * cancel and status commands produced straight to Kafka (as the API would)
 * and applied by the stack's two workers to PostgreSQL. The money and stock
 * invariants are checked in the database, not only in the outcomes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/time.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <sodium.h>
#include "common/envelope.h"
#include "common/mp.h"
#include "tests/support/commands.h"
#include "tests/support/db.h"
#include "tests/support/http.h"
#include "tests/support/stack_env.h"

#define HASH "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2g"
#define WAIT_MS 30000

static PGconn *db;
static char tag[16];          /* keeps names unique across runs against one database */
static long long admin_id;
static rd_kafka_t *producer;  /* one idempotent producer, shared by the sending threads */

/* ===================================================================== */
/* sending commands                                                       */
/* ===================================================================== */

static int64_t now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

static void producer_start(void)
{
    char err[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "bootstrap.servers", it_env("KAFKA_BROKERS"), err, sizeof(err));
    rd_kafka_conf_set(c, "enable.idempotence", "true", err, sizeof(err));
    rd_kafka_conf_set(c, "linger.ms", "1", err, sizeof(err));
    producer = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
    assert_non_null(producer);
}

/* Encodes and enqueues one command (thread-safe, no flush). `id` may be
 * NULL (a new UUIDv7) or a fixed id to deliver the same command again. */
static void enqueue(const char *type, const char *topic, const char *key, long long actor, const char *role,
                    const it_payload *p, const pk_uuid *id, char id_out[PK_UUID_STR_LEN + 1])
{
    pk_envelope env = {.v = PK_ENVELOPE_VERSION, .actor_id = actor, .issued_at_us = now_us()};
    if (id)
        env.id = *id;
    else
        pk_uuid_v7(&env.id, (uint64_t)(now_us() / 1000));
    snprintf(env.type, sizeof(env.type), "%s", type);
    snprintf(env.actor_role, sizeof(env.actor_role), "%s", role);
    snprintf(env.request_id, sizeof(env.request_id), "it-shop");
    pk_uuid_format(&env.id, id_out);
    msgpack_sbuffer out;
    msgpack_sbuffer_init(&out);
    assert_int_equal(pk_envelope_encode(&env, p->sb.data, p->sb.size, &out), 0);
    it_sign(&out);
    char name[128];
    snprintf(name, sizeof(name), "%s%s", it_env("PUNYAKA_TOPIC_PREFIX"), topic);
    rd_kafka_resp_err_t e;
    while ((e = rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(name), RD_KAFKA_V_KEY(key, strlen(key)),
                                  RD_KAFKA_V_VALUE(out.data, out.size), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(producer, 10);
    assert_int_equal(e, 0);
    msgpack_sbuffer_destroy(&out);
}

static void flush(void)
{
    assert_int_equal(rd_kafka_flush(producer, 20000), 0);
}

/* Send one command and wait for its outcome. */
static it_outcome run(const char *type, const char *topic, const char *key, long long actor, const char *role,
                      it_payload *p)
{
    char id[PK_UUID_STR_LEN + 1];
    enqueue(type, topic, key, actor, role, p, NULL, id);
    flush();
    it_payload_free(p);
    it_outcome o = it_wait_outcome(db, id, WAIT_MS);
    if (!o.status[0])
        fail_msg("%s %s: no outcome", type, id);
    return o;
}

static void expect_rejected(it_outcome o, const char *code)
{
    if (strcmp(o.status, "rejected") != 0 || strcmp(o.code, code) != 0)
        fail_msg("expected rejected/%s, got %s/%s", code, o.status, o.code);
    it_outcome_free(&o);
}

/* The applied outcome's resource (caller json_decref()s it). */
static json_t *expect_applied(it_outcome o)
{
    if (strcmp(o.status, "applied") != 0)
        fail_msg("expected applied, got %s/%s", o.status, o.code);
    json_error_t e;
    json_t *j = json_loads(o.resource, 0, &e);
    assert_non_null(j);
    it_outcome_free(&o);
    return j;
}

static long long id_of(json_t *j)
{
    long long id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    return id;
}

static const char *text(char *buf, long long v)
{
    sprintf(buf, "%lld", v);
    return buf;
}

/* A column of the command's stored outcome, as text ("" when NULL). */
static char *outcome_field(const char *command_id, const char *column)
{
    char sql[160];
    snprintf(sql, sizeof(sql), "SELECT coalesce(%s::text, '') FROM command_outcomes WHERE command_id = $1", column);
    const char *params[] = {command_id};
    PGresult *r = PQexecParams(db, sql, 1, NULL, params, NULL, NULL, 0);
    char *s = strdup(PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    return s;
}

/* ===================================================================== */
/* building payloads                                                      */
/* ===================================================================== */

static void unique(char *buf, size_t cap, const char *base)
{
    static int counter;
    snprintf(buf, cap, "%s-%s-%d", base, tag, ++counter);
}

static long long customer(const char *base)
{
    char name[64], email[96];
    unique(name, sizeof(name), base);
    for (char *c = name; *c; c++)
        if (*c == '-')
            *c = '_';
    snprintf(email, sizeof(email), "%s@example.com", name);
    it_payload p;
    it_payload_init(&p);
    msgpack_pack_map(&p.pk, 4);
    pk_mp_kv_str(&p.pk, "username", name);
    pk_mp_kv_str(&p.pk, "email", email);
    it_pack_password_hash(&p.pk, HASH);
    pk_mp_kv_str(&p.pk, "role", "customer");
    it_outcome o = run("user.register", "accounts", name, 0, "", &p);
    assert_string_equal(o.status, "applied");
    long long id = o.entity_id;
    it_outcome_free(&o);
    return id;
}

/* product.create as the admin; returns the outcome. */
static it_outcome create_product_outcome(const char *slug, const char *type, long long price, long long stock,
                                         long long actor, const char *role)
{
    it_payload p;
    it_payload_init(&p);
    msgpack_pack_map(&p.pk, 5);
    pk_mp_kv_str(&p.pk, "slug", slug);
    pk_mp_kv_str(&p.pk, "name", slug);
    pk_mp_kv_str(&p.pk, "product_type", type);
    pk_mp_kv_i64(&p.pk, "price", price);
    pk_mp_kv_i64(&p.pk, "stock", stock);
    return run("product.create", "catalog", slug, actor, role, &p);
}

static long long product(const char *base, const char *type, long long price, long long stock)
{
    char slug[64];
    unique(slug, sizeof(slug), base);
    return id_of(expect_applied(create_product_outcome(slug, type, price, stock, admin_id, "admin")));
}

static it_outcome set_kit(long long kit, const long long (*parts)[2], int n)
{
    it_payload p;
    it_payload_init(&p);
    msgpack_pack_map(&p.pk, 2);
    pk_mp_kv_i64(&p.pk, "kit_id", kit);
    pk_mp_pack_cstr(&p.pk, "components");
    msgpack_pack_array(&p.pk, (size_t)n);
    for (int i = 0; i < n; i++) {
        msgpack_pack_map(&p.pk, 2);
        pk_mp_kv_i64(&p.pk, "product_id", parts[i][0]);
        pk_mp_kv_i64(&p.pk, "quantity", parts[i][1]);
    }
    char key[24];
    return run("product.set_kit", "catalog", text(key, kit), admin_id, "admin", &p);
}

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

typedef struct {
    long long product, quantity, unit_price;
} line;

static void checkout_payload(it_payload *p, const line *lines, int n)
{
    it_payload_init(p);
    msgpack_pack_map(&p->pk, 6);
    pk_mp_pack_cstr(&p->pk, "lines");
    msgpack_pack_array(&p->pk, (size_t)n);
    for (int i = 0; i < n; i++) {
        msgpack_pack_map(&p->pk, 3);
        pk_mp_kv_i64(&p->pk, "product_id", lines[i].product);
        pk_mp_kv_i64(&p->pk, "quantity", lines[i].quantity);
        pk_mp_kv_i64(&p->pk, "unit_price", lines[i].unit_price);
    }
    pk_mp_kv_str(&p->pk, "shipping_address", "12 Temple Road");
    pk_mp_kv_str(&p->pk, "shipping_city", "Pune");
    pk_mp_kv_str(&p->pk, "shipping_state", "Maharashtra");
    pk_mp_kv_str(&p->pk, "shipping_pincode", "411001");
    pk_mp_kv_str(&p->pk, "shipping_phone", "+91 98765 43210");
}

static it_outcome checkout(long long user, const line *lines, int n)
{
    it_payload p;
    checkout_payload(&p, lines, n);
    char key[24];
    return run("order.checkout", "orders", text(key, user), user, "customer", &p);
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

static long long stock_of(long long id)
{
    char t[24];
    return it_db_scalar(db, "SELECT stock FROM products WHERE id = $1", text(t, id), NULL);
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
        char name[64], email[96];
        snprintf(name, sizeof(name), "%s_%s_%d", base, tag, i);
        snprintf(email, sizeof(email), "%s@example.com", name);
        it_payload p;
        it_payload_init(&p);
        msgpack_pack_map(&p.pk, 4);
        pk_mp_kv_str(&p.pk, "username", name);
        pk_mp_kv_str(&p.pk, "email", email);
        it_pack_password_hash(&p.pk, HASH);
        pk_mp_kv_str(&p.pk, "role", "customer");
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

static void test_same_command_twice_one_order(void **state)
{
    (void)state;
    long long user = customer("twice");
    long long item = product("kumkum", "samagri", 500, 10);
    line l = {item, 3, 500};
    it_payload p;
    checkout_payload(&p, &l, 1);
    pk_uuid id;
    pk_uuid_v7(&id, (uint64_t)(now_us() / 1000));
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

static void deactivate(long long id)
{
    it_payload p;
    it_payload_init(&p);
    msgpack_pack_map(&p.pk, 2);
    pk_mp_kv_i64(&p.pk, "id", id);
    pk_mp_kv_bool(&p.pk, "is_active", false);
    char key[24];
    json_decref(expect_applied(run("product.update", "catalog", text(key, id), admin_id, "admin", &p)));
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
    if (it_start(tag, sizeof(tag)) != 0)
        return 1;
    db = it_db();
    char name[64];
    snprintf(name, sizeof(name), "shopadmin_%s", tag);
    admin_id = it_create_admin(db, name);   /* through a command, as the CLI does */
    if (admin_id <= 0)
        return 1;
    producer_start();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_200_customers_race_for_50_units),
        cmocka_unit_test(test_last_line_short_changes_nothing),
        cmocka_unit_test(test_price_raised_rejects_lowered_charges_less),
        cmocka_unit_test(test_totals_exact_and_free_shipping_from_500),
        cmocka_unit_test(test_same_command_twice_one_order),
        cmocka_unit_test(test_inactive_unknown_and_empty),
        cmocka_unit_test(test_malformed_checkout_is_poison),
        cmocka_unit_test(test_long_unicode_name_in_rejection),
        cmocka_unit_test(test_kit_stock_and_sale_decrements_components),
        cmocka_unit_test(test_kit_and_component_checked_against_summed_need),
        cmocka_unit_test(test_kit_rules),
        cmocka_unit_test(test_kit_with_inactive_component_is_not_for_sale),
        cmocka_unit_test(test_set_kit_locks_in_id_order),
        cmocka_unit_test(test_cancel_before_shipping_restocks_and_refunds),
        cmocka_unit_test(test_status_steps_and_no_cancel_after_shipping),
        cmocka_unit_test(test_catalog_is_admin_only),
        cmocka_unit_test(test_stock_adjust_never_below_zero),
        cmocka_unit_test(test_slugs_categories_and_discounts),
    };
    int failed = cmocka_run_group_tests_name("shop", tests, NULL, NULL);
    rd_kafka_destroy(producer);
    PQfinish(db);
    return failed;
}
