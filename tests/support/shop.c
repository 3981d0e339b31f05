/* shop.c — the shop family's worker-level helpers (tests/support/shop.h). */
#include "tests/support/shop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <librdkafka/rdkafka.h>
#include "common/envelope.h"
#include "common/mp.h"
#include "tests/support/db.h"
#include "tests/support/stack_env.h"

PGconn *shop_db;
char shop_tag[16];
long long shop_admin_id;
static rd_kafka_t *producer;  /* one idempotent producer, shared by the sending threads */

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
void enqueue(const char *type, const char *topic, const char *key, long long actor, const char *role,
             const it_payload *p, const pk_uuid *id, char id_out[PK_UUID_STR_LEN + 1])
{
    pk_envelope env = {.v = PK_ENVELOPE_VERSION, .actor_id = actor, .issued_at_us = it_now_us()};
    if (id)
        env.id = *id;
    else
        pk_uuid_v7(&env.id, (uint64_t)(it_now_us() / 1000));
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

void flush(void)
{
    assert_int_equal(rd_kafka_flush(producer, 20000), 0);
}

/* Send one command and wait for its outcome. */
it_outcome run(const char *type, const char *topic, const char *key, long long actor, const char *role,
               it_payload *p)
{
    char id[PK_UUID_STR_LEN + 1];
    enqueue(type, topic, key, actor, role, p, NULL, id);
    flush();
    it_payload_free(p);
    it_outcome o = it_wait_outcome(shop_db, id, SHOP_WAIT_MS);
    if (!o.status[0])
        fail_msg("%s %s: no outcome", type, id);
    return o;
}

void expect_rejected(it_outcome o, const char *code)
{
    if (strcmp(o.status, "rejected") != 0 || strcmp(o.code, code) != 0)
        fail_msg("expected rejected/%s, got %s/%s", code, o.status, o.code);
    it_outcome_free(&o);
}

/* The applied outcome's resource (caller json_decref()s it). */
json_t *expect_applied(it_outcome o)
{
    if (strcmp(o.status, "applied") != 0)
        fail_msg("expected applied, got %s/%s", o.status, o.code);
    json_error_t e;
    json_t *j = json_loads(o.resource, 0, &e);
    assert_non_null(j);
    it_outcome_free(&o);
    return j;
}

long long id_of(json_t *j)
{
    long long id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    return id;
}

const char *text(char *buf, long long v)
{
    sprintf(buf, "%lld", v);
    return buf;
}

/* A column of the command's stored outcome, as text ("" when NULL). */
char *outcome_field(const char *command_id, const char *column)
{
    char sql[160];
    snprintf(sql, sizeof(sql), "SELECT coalesce(%s::text, '') FROM command_outcomes WHERE command_id = $1", column);
    const char *params[] = {command_id};
    PGresult *r = PQexecParams(shop_db, sql, 1, NULL, params, NULL, NULL, 0);
    char *s = strdup(PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    return s;
}

void unique(char *buf, size_t cap, const char *base)
{
    static int counter;
    snprintf(buf, cap, "%s-%s-%d", base, shop_tag, ++counter);
}

long long customer(const char *base)
{
    char name[64];
    unique(name, sizeof(name), base);
    for (char *c = name; *c; c++)
        if (*c == '-')
            *c = '_';
    it_payload p;
    it_customer_registration(&p, name, IT_PASSWORD_HASH);
    it_outcome o = run("user.register", "accounts", name, 0, "", &p);
    assert_string_equal(o.status, "applied");
    long long id = o.entity_id;
    it_outcome_free(&o);
    return id;
}

/* product.create as the admin; returns the outcome. */
it_outcome create_product_outcome(const char *slug, const char *type, long long price, long long stock,
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

long long product(const char *base, const char *type, long long price, long long stock)
{
    char slug[64];
    unique(slug, sizeof(slug), base);
    return id_of(expect_applied(create_product_outcome(slug, type, price, stock, shop_admin_id, "admin")));
}

it_outcome set_kit(long long kit, const long long (*parts)[2], int n)
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
    return run("product.set_kit", "catalog", text(key, kit), shop_admin_id, "admin", &p);
}

void checkout_payload(it_payload *p, const line *lines, int n)
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

it_outcome checkout(long long user, const line *lines, int n)
{
    it_payload p;
    checkout_payload(&p, lines, n);
    char key[24];
    return run("order.checkout", "orders", text(key, user), user, "customer", &p);
}

long long stock_of(long long id)
{
    char t[24];
    return it_db_scalar(shop_db, "SELECT stock FROM products WHERE id = $1", text(t, id), NULL);
}

void deactivate(long long id)
{
    it_payload p;
    it_payload_init(&p);
    msgpack_pack_map(&p.pk, 2);
    pk_mp_kv_i64(&p.pk, "id", id);
    pk_mp_kv_bool(&p.pk, "is_active", false);
    char key[24];
    json_decref(expect_applied(run("product.update", "catalog", text(key, id), shop_admin_id, "admin", &p)));
}

static int shop_start(void)
{
    if (it_start(shop_tag, sizeof(shop_tag)) != 0)
        return -1;
    shop_db = it_db();
    char name[64];
    snprintf(name, sizeof(name), "shopadmin_%s", shop_tag);
    shop_admin_id = it_create_admin(shop_db, name);   /* through a command, as the CLI does */
    if (shop_admin_id <= 0)
        return -1;
    producer_start();
    return 0;
}

int shop_main(const char *group, const struct CMUnitTest *tests, size_t n, PGconn **db, long long *admin_id)
{
    if (shop_start() != 0)
        return 1;
    *db = shop_db;
    *admin_id = shop_admin_id;
    int failed = _cmocka_run_group_tests(group, tests, n, NULL, NULL);
    rd_kafka_destroy(producer);
    PQfinish(shop_db);
    return failed;
}
