#include "tests/support/commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include <pthread.h>
#include <librdkafka/rdkafka.h>
#include "common/booking_rules.h"
#include "common/command_auth.h"
#include "common/envelope.h"
#include "common/mp.h"
#include "common/sealed.h"
#include "tests/support/db.h"
#include "tests/support/stack_env.h"

char it_reply_to[64];

int64_t it_now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

void it_payload_init(it_payload *p)
{
    msgpack_sbuffer_init(&p->sb);
    msgpack_packer_init(&p->pk, &p->sb, msgpack_sbuffer_write);
}

void it_payload_free(it_payload *p)
{
    msgpack_sbuffer_destroy(&p->sb);
}

static pk_command_keys stack_keys;
static pthread_once_t stack_keys_once = PTHREAD_ONCE_INIT;

static void load_stack_keys(void)
{
    char err[256];
    if (pk_command_keys_from_env(&stack_keys, err, sizeof(err)) != 0) {
        fprintf(stderr, "it_sign: %s (is the stack's env loaded?)\n", err);
        abort();
    }
}

void it_sign(msgpack_sbuffer *sb)
{
    pthread_once(&stack_keys_once, load_stack_keys);
    if (pk_command_sign(&stack_keys, sb->data, sb->size, sb) != 0) {
        fprintf(stderr, "it_sign: could not sign\n");
        abort();
    }
}

/* The envelope as the API builds it, signed, into out (initialized here). */
static int encode(const char *type, int64_t actor_id, const char *actor_role, const it_payload *payload,
                  const pk_uuid *id, int64_t issued_at_us, char id_out[PK_UUID_STR_LEN + 1], msgpack_sbuffer *out)
{
    pk_envelope env = {.v = PK_ENVELOPE_VERSION, .actor_id = actor_id};
    env.issued_at_us = issued_at_us ? issued_at_us : it_now_us();
    if (id)
        env.id = *id;
    else
        pk_uuid_v7(&env.id, (uint64_t)(it_now_us() / 1000));
    snprintf(env.type, sizeof(env.type), "%s", type);
    snprintf(env.actor_role, sizeof(env.actor_role), "%s", actor_role ? actor_role : "");
    snprintf(env.request_id, sizeof(env.request_id), "it-%s", type);
    snprintf(env.reply_to, sizeof(env.reply_to), "%s", it_reply_to);
    pk_uuid_format(&env.id, id_out);
    msgpack_sbuffer_init(out);
    int rc = pk_envelope_encode(&env, payload->sb.data, payload->sb.size, out);
    if (rc == 0)
        it_sign(out);
    return rc;
}

int it_send_command(const char *type, const char *topic, const char *key, int64_t actor_id,
                    const char *actor_role, const it_payload *payload, const pk_uuid *id,
                    int64_t issued_at_us, char id_out[PK_UUID_STR_LEN + 1])
{
    msgpack_sbuffer out;
    int rc = encode(type, actor_id, actor_role, payload, id, issued_at_us, id_out, &out);
    if (rc == 0)
        rc = it_kafka_produce(topic, key, out.data, out.size);
    msgpack_sbuffer_destroy(&out);
    return rc;
}

it_outcome it_wait_outcome(PGconn *db, const char *id, int timeout_ms)
{
    it_outcome o = {0};
    snprintf(o.id, sizeof(o.id), "%s", id);
    const char *params[] = {id};
    for (int waited = 0; waited <= timeout_ms; waited += 25) {
        PGresult *r = PQexecParams(db,
                                   "SELECT status, coalesce(code, ''), coalesce(entity_id, 0), resource::text"
                                   " FROM command_outcomes WHERE command_id = $1",
                                   1, NULL, params, NULL, NULL, 0);
        int found = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
        if (found) {
            snprintf(o.status, sizeof(o.status), "%s", PQgetvalue(r, 0, 0));
            snprintf(o.code, sizeof(o.code), "%s", PQgetvalue(r, 0, 1));
            o.entity_id = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
            o.resource = PQgetisnull(r, 0, 3) ? NULL : strdup(PQgetvalue(r, 0, 3));
        }
        PQclear(r);
        if (found)
            break;
        usleep(25 * 1000);
    }
    return o;
}

void it_outcome_free(it_outcome *o)
{
    free(o->resource);
    o->resource = NULL;
}

void it_pack_password_hash(msgpack_packer *pk, const char *hash)
{
    unsigned char key[crypto_secretbox_KEYBYTES];
    char sealed[PK_SEALED_STR_MAX], err[160];
    if (pk_sealed_key_from_env(PK_CREDENTIAL_KEY_ENV, key, err, sizeof(err)) != 0 ||
        pk_seal_text(key, hash, sealed, sizeof(sealed)) < 0) {
        fprintf(stderr, "it_pack_password_hash: %s\n", err);
        exit(2);
    }
    pk_mp_kv_str(pk, "password_hash", sealed);
}

void it_customer_registration(it_payload *pl, const char *username, const char *hash)
{
    char email[256];
    snprintf(email, sizeof(email), "%s@example.com", username);
    it_payload_init(pl);
    msgpack_pack_map(&pl->pk, 4);
    pk_mp_kv_str(&pl->pk, "username", username);
    pk_mp_kv_str(&pl->pk, "email", email);
    it_pack_password_hash(&pl->pk, hash);
    pk_mp_kv_str(&pl->pk, "role", "customer");
}

void it_forged_password_hash(const char *password, char out[128])
{
    static const unsigned char salt[crypto_pwhash_SALTBYTES] = "forged-unsealed!";
    unsigned char h[32];
    char salt64[32], h64[64];
    if (crypto_pwhash(h, sizeof(h), password, strlen(password), salt, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                      crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0) {
        fprintf(stderr, "it_forged_password_hash: out of memory\n");
        exit(2);
    }
    sodium_bin2base64(salt64, sizeof(salt64), salt, sizeof(salt), sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
    sodium_bin2base64(h64, sizeof(h64), h, sizeof(h), sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
    snprintf(out, 128, "$argon2id$v=19$m=%zu,t=%llu,p=1$%s$%s", (size_t)crypto_pwhash_MEMLIMIT_INTERACTIVE / 1024,
             (unsigned long long)crypto_pwhash_OPSLIMIT_INTERACTIVE, salt64, h64);
}

int64_t it_create_admin(PGconn *db, const char *username)
{
    char email[160];
    snprintf(email, sizeof(email), "%s@example.com", username);
    it_payload pl;
    it_payload_init(&pl);
    msgpack_pack_map(&pl.pk, 3);
    pk_mp_kv_str(&pl.pk, "username", username);
    pk_mp_kv_str(&pl.pk, "email", email);
    it_pack_password_hash(&pl.pk, IT_PASSWORD_HASH);
    it_outcome o = it_command(db, "user.create_admin", "accounts", username, 0, "system", &pl);
    it_payload_free(&pl);
    int64_t id = strcmp(o.status, "applied") == 0 ? o.entity_id : 0;
    it_outcome_free(&o);
    return id;
}

it_outcome it_command(PGconn *db, const char *type, const char *topic, const char *key, int64_t actor_id,
                      const char *actor_role, const it_payload *payload)
{
    char id[PK_UUID_STR_LEN + 1];
    if (it_send_command(type, topic, key, actor_id, actor_role, payload, NULL, 0, id) != 0) {
        it_outcome o = {0};
        return o;
    }
    return it_wait_outcome(db, id, 20000);
}

/* ---- a long-lived producer ---- */

struct it_producer {
    rd_kafka_t *rk;
    int failed;   /* delivery reports with an error */
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    if (m->err)
        __atomic_add_fetch(&((it_producer *)opaque)->failed, 1, __ATOMIC_RELAXED);
}

it_producer *it_producer_new(void)
{
    char err[256];
    it_producer *p = calloc(1, sizeof(*p));
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "bootstrap.servers", it_env("KAFKA_BROKERS"), err, sizeof(err));
    rd_kafka_conf_set(c, "enable.idempotence", "true", err, sizeof(err));
    rd_kafka_conf_set(c, "linger.ms", "2", err, sizeof(err));
    rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
    rd_kafka_conf_set_opaque(c, p);
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
    return p;
}

int it_producer_send(it_producer *p, const char *type, const char *topic, const char *key, int64_t actor_id,
                     const char *actor_role, const it_payload *payload, char id_out[PK_UUID_STR_LEN + 1])
{
    return it_producer_send_at(p, type, topic, key, actor_id, actor_role, payload, 0, id_out);
}

int it_producer_send_at(it_producer *p, const char *type, const char *topic, const char *key, int64_t actor_id,
                        const char *actor_role, const it_payload *payload, int64_t issued_at_us,
                        char id_out[PK_UUID_STR_LEN + 1])
{
    msgpack_sbuffer out;
    char name[128];
    snprintf(name, sizeof(name), "%s%s", it_env("PUNYAKA_TOPIC_PREFIX"), topic);
    int rc = encode(type, actor_id, actor_role, payload, NULL, issued_at_us, id_out, &out);
    for (int attempt = 0; rc == 0 && attempt < 100; attempt++) {
        rd_kafka_resp_err_t e = rd_kafka_producev(p->rk, RD_KAFKA_V_TOPIC(name), RD_KAFKA_V_KEY(key, strlen(key)),
                                                  RD_KAFKA_V_VALUE(out.data, out.size),
                                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                                  RD_KAFKA_V_HEADER("type", type, -1), RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rc = e ? -1 : 0;
            break;
        }
        rd_kafka_poll(p->rk, 10);   /* local queue full: let deliveries drain */
    }
    msgpack_sbuffer_destroy(&out);
    rd_kafka_poll(p->rk, 0);
    return rc;
}

int it_producer_flush(it_producer *p)
{
    int rc = rd_kafka_flush(p->rk, 30000) == 0 && rd_kafka_outq_len(p->rk) == 0 ? 0 : -1;
    return rc == 0 && __atomic_load_n(&p->failed, __ATOMIC_RELAXED) == 0 ? 0 : -1;
}

void it_producer_free(it_producer *p)
{
    if (!p)
        return;
    rd_kafka_flush(p->rk, 30000);
    rd_kafka_destroy(p->rk);
    free(p);
}

int64_t it_book_started(PGconn *db, int64_t customer_user_id, int64_t priest_id, int64_t service_id, int n)
{
    const int64_t day = INT64_C(86400) * 1000000;
    int tz = BOOKING_TZ_OFFSET_DEFAULT, minute;
    const char *env = getenv("PUNYAKA_TZ_OFFSET_MINUTES");
    if (booking_tz_offset_parse(env, &tz) != 0)
        return 0;
    booking_date d;
    booking_us_to_local(it_now_us() - (int64_t)(n + 1) * day, tz, &d, &minute);
    int64_t start = booking_local_to_us(d, 10 * 60, tz);
    char date[11], key[24];
    booking_format_date(d, date);
    snprintf(key, sizeof(key), "%lld", (long long)priest_id);
    it_payload pl;
    it_payload_init(&pl);
    msgpack_pack_map(&pl.pk, 5);
    pk_mp_kv_i64(&pl.pk, "priest", priest_id);
    pk_mp_kv_i64(&pl.pk, "service", service_id);
    pk_mp_kv_str(&pl.pk, "booking_date", date);
    pk_mp_kv_str(&pl.pk, "booking_time", "10:00");
    pk_mp_kv_str(&pl.pk, "location_address", "12 Temple Road, Pune");
    char id[PK_UUID_STR_LEN + 1];
    int rc = it_send_command("booking.create", "bookings", key, customer_user_id, "customer", &pl, NULL, start - day, id);
    it_payload_free(&pl);
    if (rc != 0)
        return 0;
    it_outcome o = it_wait_outcome(db, id, 30000);
    int64_t booking = strcmp(o.status, "applied") == 0 ? o.entity_id : 0;
    if (!booking)
        fprintf(stderr, "it_book_started: %s %s\n", o.status, o.code);
    it_outcome_free(&o);
    return booking;
}
