/* it_forged_commands.c — issue 13, "anyone who can write to a command
 * topic is every user". Commands produced straight to the dev Kafka, the
 * way an attacker on the network would, bypassing the API:
 *   (a) user.create_admin as actor {0, system},
 *   (b) priest.verify as actor {1, admin},
 *   (c) user.change_password of an existing user,
 *   (d) booking.create with issued_at in 2020,
 * each unsigned; then one signed with a wrong key, one with a valid tag
 * and a payload byte changed, and an unsigned copy carrying the id of a
 * real command sent right after it. Every forgery must reach the dlq
 * topic with reason bad_signature and change nothing in PostgreSQL; a
 * signed command copied onto another topic is dead-lettered wrong_topic
 * without taking its id; the
 * signed commands (the real one behind the forged id, the admin's real
 * priest.verify) must still apply. And the processes that sign or verify
 * refuse to start without a valid key. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sodium.h>
#include "common/command_auth.h"
#include "common/envelope.h"
#include "common/mp.h"
#include "tests/support/calls.h"
#include "tests/support/commands.h"
#include "tests/support/db.h"
#include "tests/support/stack_env.h"

#define VICTIM_PASSWORD "victim-pass-1"
#define ATTACKER_PASSWORD "attacker-pass-1"
#define US_2020 INT64_C(1591000000000000)   /* 2020-06-01 */

static PGconn *db;
static char tag[16];

static int64_t now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* A forged message: what was sent, where, and what the dlq must say. */
typedef struct {
    const char *what;
    const char *topic;
    char key[64];
    msgpack_sbuffer value;
} forged;

/* An envelope exactly as the API would encode it, unsigned. */
static void envelope(forged *f, const char *type, int64_t actor_id, const char *role, int64_t issued_at,
                     const pk_uuid *id, it_payload *pl)
{
    pk_envelope e = {.v = PK_ENVELOPE_VERSION, .actor_id = actor_id, .issued_at_us = issued_at ? issued_at : now_us()};
    if (id)
        e.id = *id;
    else
        pk_uuid_v7(&e.id, (uint64_t)(now_us() / 1000));
    snprintf(e.type, sizeof(e.type), "%s", type);
    snprintf(e.actor_role, sizeof(e.actor_role), "%s", role);
    snprintf(e.request_id, sizeof(e.request_id), "forged-%s", f->what);
    msgpack_sbuffer_init(&f->value);
    assert_int_equal(pk_envelope_encode(&e, pl->sb.data, pl->sb.size, &f->value), 0);
    it_payload_free(pl);
}

static void send_forged(const forged *f)
{
    assert_int_equal(it_kafka_produce(f->topic, f->key, f->value.data, f->value.size), 0);
}

/* Lands on the dlq topic as bad_signature. */
static void expect_dead_lettered(long long dlq_from, const forged *f)
{
    char reason[128] = "";
    if (it_dlq_find(dlq_from, f->value.data, f->value.size, reason, sizeof(reason), 10000) != 0)
        fail_msg("%s: not on the dlq topic", f->what);
    if (strcmp(reason, PK_AUTH_DLQ_REASON) != 0)
        fail_msg("%s: dead-lettered with reason '%s', want %s", f->what, reason, PK_AUTH_DLQ_REASON);
}

static void create_admin_payload(it_payload *pl, const char *username)
{
    char email[96];
    snprintf(email, sizeof(email), "%s@example.com", username);
    it_payload_init(pl);
    msgpack_pack_map(&pl->pk, 3);
    pk_mp_kv_str(&pl->pk, "username", username);
    pk_mp_kv_str(&pl->pk, "email", email);
    pk_mp_kv_str(&pl->pk, "password_hash", IT_FORGED_HASH);   /* a forger has no credential key */
}

static void verify_payload(it_payload *pl, int64_t priest_id)
{
    it_payload_init(pl);
    msgpack_pack_map(&pl->pk, 3);
    pk_mp_kv_i64(&pl->pk, "priest_id", priest_id);
    pk_mp_kv_bool(&pl->pk, "verified", true);
    pk_mp_kv_str(&pl->pk, "notes", "documents checked");
}

static void register_payload(it_payload *pl, const char *username)
{
    it_customer_registration(pl, username, IT_PASSWORD_HASH);   /* sealed, as the API sends it */
}

static int login_status(const char *username, const char *password)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"%s\"}", username, password);
    it_response r = it_post_json("/api/auth/login/", body, NULL);
    int status = r.status;
    it_response_free(&r);
    return status;
}

static long long user_count(const char *username)
{
    return it_db_scalar(db, "SELECT count(*) FROM users WHERE username = $1", username, NULL);
}

static it_actor signed_up(const char *base, const char *role, const char *extra)
{
    it_actor a = {0};
    snprintf(a.name, sizeof(a.name), "%s%s", base, tag);
    assert_int_equal(it_sign_up(&a, role, VICTIM_PASSWORD, extra), 201);
    return a;
}

static int64_t signed_service(int64_t admin_id)
{
    char name[64];
    snprintf(name, sizeof(name), "Forgery Check %s", tag);
    it_payload pl;
    it_payload_init(&pl);
    msgpack_pack_map(&pl.pk, 5);
    pk_mp_kv_str(&pl.pk, "name", name);
    pk_mp_kv_str(&pl.pk, "description", "a service to book");
    pk_mp_kv_str(&pl.pk, "service_type", "griha_pravesh");
    pk_mp_kv_i64(&pl.pk, "duration_minutes", 60);
    pk_mp_kv_i64(&pl.pk, "base_price", 150000);
    it_outcome o = it_command(db, "service.create", "catalog", name, admin_id, "admin", &pl);
    it_payload_free(&pl);
    assert_string_equal(o.status, "applied");
    int64_t id = o.entity_id;
    it_outcome_free(&o);
    return id;
}

static void test_forged_commands_change_nothing(void **state)
{
    (void)state;
    char admin_name[64];
    snprintf(admin_name, sizeof(admin_name), "fgadmin%s", tag);
    int64_t admin_id = it_create_admin(db, admin_name);   /* signed, as punyaka-admin signs */
    assert_true(admin_id > 0);
    it_actor victim = signed_up("fgvictim", "customer", NULL);
    it_actor unverified = signed_up("fgpandit", "priest", "\"specializations\":[\"griha_pravesh\"]");
    it_actor bookable = signed_up("fgbooked", "priest", "\"specializations\":[\"griha_pravesh\"]");
    assert_true(unverified.priest_id > 0 && bookable.priest_id > 0);
    char pid[24], victim_id[24], bookable_pid[24];
    snprintf(pid, sizeof(pid), "%lld", (long long)unverified.priest_id);
    snprintf(victim_id, sizeof(victim_id), "%lld", (long long)victim.user_id);
    snprintf(bookable_pid, sizeof(bookable_pid), "%lld", (long long)bookable.priest_id);
    /* The bookable priest verified by a signed command from the real admin: a positive control. */
    it_payload pl;
    verify_payload(&pl, bookable.priest_id);
    it_outcome ok = it_command(db, "priest.verify", "accounts", bookable_pid, admin_id, "admin", &pl);
    it_payload_free(&pl);
    assert_string_equal(ok.status, "applied");
    it_outcome_free(&ok);
    int64_t service = signed_service(admin_id);
    long long users_before = it_db_scalar(db, "SELECT count(*) FROM users", NULL);
    assert_int_equal(login_status(victim.name, VICTIM_PASSWORD), 200);

    char attacker_hash[128];
    it_forged_password_hash(ATTACKER_PASSWORD, attacker_hash);   /* a working hash, in the clear */
    long long dlq_from = it_kafka_high_watermark("dlq", 0);
    assert_true(dlq_from >= 0);

    enum { ADMIN, VERIFY, PASSWORD, BOOKING, WRONG_KEY, TAMPERED, FORGED_ID, N };
    forged f[N] = {
        [ADMIN] = {.what = "unsigned user.create_admin as system", .topic = "accounts"},
        [VERIFY] = {.what = "unsigned priest.verify as {1, admin}", .topic = "accounts"},
        [PASSWORD] = {.what = "unsigned user.change_password", .topic = "accounts"},
        [BOOKING] = {.what = "unsigned booking.create issued in 2020", .topic = "bookings"},
        [WRONG_KEY] = {.what = "user.create_admin signed with a wrong key", .topic = "accounts"},
        [TAMPERED] = {.what = "user.register with a valid tag and a changed byte", .topic = "accounts"},
        [FORGED_ID] = {.what = "unsigned copy of a real command's id", .topic = "accounts"},
    };
    char forged_admin[64], wrong_admin[64], tampered[64], real_user[64];
    snprintf(forged_admin, sizeof(forged_admin), "fgroot%s", tag);
    snprintf(wrong_admin, sizeof(wrong_admin), "fgwrong%s", tag);
    snprintf(tampered, sizeof(tampered), "fgtampa%s", tag);
    snprintf(real_user, sizeof(real_user), "fgreal%s", tag);

    create_admin_payload(&pl, forged_admin);
    envelope(&f[ADMIN], "user.create_admin", 0, "system", 0, NULL, &pl);
    snprintf(f[ADMIN].key, sizeof(f[ADMIN].key), "%s", forged_admin);

    verify_payload(&pl, unverified.priest_id);
    envelope(&f[VERIFY], "priest.verify", 1, "admin", 0, NULL, &pl);
    snprintf(f[VERIFY].key, sizeof(f[VERIFY].key), "%s", pid);

    it_payload_init(&pl);
    msgpack_pack_map(&pl.pk, 1);
    pk_mp_kv_str(&pl.pk, "password_hash", attacker_hash);
    envelope(&f[PASSWORD], "user.change_password", victim.user_id, "customer", 0, NULL, &pl);
    snprintf(f[PASSWORD].key, sizeof(f[PASSWORD].key), "%s", victim_id);

    it_payload_init(&pl);
    msgpack_pack_map(&pl.pk, 5);
    pk_mp_kv_i64(&pl.pk, "priest", bookable.priest_id);
    pk_mp_kv_i64(&pl.pk, "service", service);
    pk_mp_kv_str(&pl.pk, "booking_date", "2020-06-10");
    pk_mp_kv_str(&pl.pk, "booking_time", "10:00");
    pk_mp_kv_str(&pl.pk, "location_address", "12 Temple Road, Pune");
    envelope(&f[BOOKING], "booking.create", victim.user_id, "customer", US_2020, NULL, &pl);
    snprintf(f[BOOKING].key, sizeof(f[BOOKING].key), "%s", bookable_pid);

    /* Signed, but with a key the workers do not hold. */
    create_admin_payload(&pl, wrong_admin);
    envelope(&f[WRONG_KEY], "user.create_admin", 0, "system", 0, NULL, &pl);
    snprintf(f[WRONG_KEY].key, sizeof(f[WRONG_KEY].key), "%s", wrong_admin);
    unsigned char raw[PK_AUTH_KEY_BYTES];
    char hex[2 * PK_AUTH_KEY_BYTES + 1];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(hex, sizeof(hex), raw, sizeof(raw));
    pk_command_keys wrong;
    assert_int_equal(pk_command_keys_load(&wrong, hex, NULL, NULL, 0), 0);
    assert_int_equal(pk_command_sign(&wrong, f[WRONG_KEY].value.data, f[WRONG_KEY].value.size, &f[WRONG_KEY].value), 0);
    pk_command_keys_wipe(&wrong);

    /* Signed with the stack's key, then one payload byte changed ("fgtampa…" ⇒ "fgtampb…"). */
    register_payload(&pl, tampered);
    envelope(&f[TAMPERED], "user.register", 0, "", 0, NULL, &pl);
    it_sign(&f[TAMPERED].value);
    char *at = memmem(f[TAMPERED].value.data, f[TAMPERED].value.size, tampered, strlen(tampered));
    assert_non_null(at);
    at[5] = 'b';
    snprintf(f[TAMPERED].key, sizeof(f[TAMPERED].key), "%s", tampered);
    char tampered_to[64];
    snprintf(tampered_to, sizeof(tampered_to), "%s", tampered);
    tampered_to[5] = 'b';

    /* An unsigned forgery under the id of a real command sent right after
     * it on the same partition: it must neither apply nor take the id. */
    pk_uuid real_id;
    char real_id_text[PK_UUID_STR_LEN + 1];
    pk_uuid_v7(&real_id, (uint64_t)(now_us() / 1000));
    pk_uuid_format(&real_id, real_id_text);
    it_payload_init(&pl);
    msgpack_pack_map(&pl.pk, 4);
    pk_mp_kv_str(&pl.pk, "username", real_user);
    pk_mp_kv_str(&pl.pk, "email", "attacker@example.com");
    pk_mp_kv_str(&pl.pk, "password_hash", attacker_hash);
    pk_mp_kv_str(&pl.pk, "role", "customer");
    envelope(&f[FORGED_ID], "user.register", 0, "", 0, &real_id, &pl);
    snprintf(f[FORGED_ID].key, sizeof(f[FORGED_ID].key), "%s", real_user);

    for (int i = 0; i < N; i++)
        send_forged(&f[i]);
    register_payload(&pl, real_user);
    char sent_id[PK_UUID_STR_LEN + 1];
    assert_int_equal(it_send_command("user.register", "accounts", real_user, 0, "", &pl, &real_id, 0, sent_id), 0);
    it_payload_free(&pl);

    /* The real command behind the forged id is applied, with its own payload. */
    it_outcome real = it_wait_outcome(db, real_id_text, 20000);
    assert_string_equal(real.status, "applied");
    it_outcome_free(&real);
    char real_email[96];
    snprintf(real_email, sizeof(real_email), "%s@example.com", real_user);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM users WHERE username = $1 AND email = $2", real_user,
                                  real_email, NULL),
                     1);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM processed_commands WHERE command_id = $1", real_id_text,
                                  NULL),
                     1);

    for (int i = 0; i < N; i++) {
        expect_dead_lettered(dlq_from, &f[i]);
        if (it_db_scalar(db, "SELECT count(*) FROM dead_letters WHERE key = convert_to($1, 'UTF8')"
                             " AND reason = 'bad_signature'", f[i].key, NULL) < 1)
            fail_msg("%s: no dead_letters row", f[i].what);
    }

    /* Nothing changed: no new admin, the priest unverified, the password, no 2020 booking. */
    assert_int_equal(user_count(forged_admin), 0);
    assert_int_equal(user_count(wrong_admin), 0);
    assert_int_equal(user_count(tampered), 0);
    assert_int_equal(user_count(tampered_to), 0);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM users", NULL), users_before + 1);   /* the real one */
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM priest_profiles WHERE id = $1::bigint AND is_verified",
                                  pid, NULL),
                     0);
    assert_int_equal(login_status(victim.name, VICTIM_PASSWORD), 200);
    assert_int_not_equal(login_status(victim.name, ATTACKER_PASSWORD), 200);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM bookings WHERE priest_id = $1::bigint", bookable_pid,
                                  NULL),
                     0);   /* the 2020 booking, or any other, for this run's priest */
    for (int i = 0; i < N; i++)
        msgpack_sbuffer_destroy(&f[i].value);
}

/* Runs `cmd` (bounded: a process that wrongly starts is killed after 10 s)
 * and returns its exit status; its stderr into err. */
static int run_capture(const char *cmd, char *err, size_t cap)
{
    char full[4096];
    snprintf(full, sizeof(full), "timeout 10 %s 2>&1 >/dev/null", cmd);
    FILE *p = popen(full, "r");
    assert_non_null(p);
    size_t n = fread(err, 1, cap - 1, p);
    err[n] = 0;
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A signed command copied to a topic that is not its own before the real
 * one arrives: dead-lettered wrong_topic, undecided, and the real one is
 * applied under its id. */
static void test_copy_on_another_topic_takes_no_id(void **state)
{
    (void)state;
    char user[64];
    snprintf(user, sizeof(user), "fgcopy%s", tag);
    forged copy = {.what = "signed user.register copied to catalog", .topic = "catalog"};
    it_payload pl;
    register_payload(&pl, user);
    pk_uuid id;
    char id_text[PK_UUID_STR_LEN + 1];
    pk_uuid_v7(&id, (uint64_t)(now_us() / 1000));
    pk_uuid_format(&id, id_text);
    envelope(&copy, "user.register", 0, "", 0, &id, &pl);
    it_sign(&copy.value);
    snprintf(copy.key, sizeof(copy.key), "%s", user);
    long long dlq_from = it_kafka_high_watermark("dlq", 0);
    send_forged(&copy);
    char reason[128] = "";
    assert_int_equal(it_dlq_find(dlq_from, copy.value.data, copy.value.size, reason, sizeof(reason), 10000), 0);
    assert_string_equal(reason, "wrong_topic");
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM processed_commands WHERE command_id = $1", id_text, NULL),
                     0);
    assert_int_equal(it_kafka_produce("accounts", user, copy.value.data, copy.value.size), 0);
    it_outcome o = it_wait_outcome(db, id_text, 20000);
    assert_string_equal(o.status, "applied");
    it_outcome_free(&o);
    assert_int_equal(user_count(user), 1);
    msgpack_sbuffer_destroy(&copy.value);
}

static void test_no_key_no_start(void **state)
{
    (void)state;
    const char *build = it_env("PUNYAKA_BUILD_DIR");
    static const char *const envs[] = {"env -u PUNYAKA_COMMAND_KEY", "env PUNYAKA_COMMAND_KEY=abcd",
                                       "env PUNYAKA_COMMAND_KEY_PREVIOUS=nothex"};
    static const char *const bins[] = {"api/punyaka-api", "workers/punyaka-worker",
                                       "workers/punyaka-admin create-admin nokeyadmin nokeyadmin@example.com"};
    for (size_t e = 0; e < sizeof(envs) / sizeof(*envs); e++)
        for (size_t b = 0; b < sizeof(bins) / sizeof(*bins); b++) {
            char cmd[1024], err[4096];
            snprintf(cmd, sizeof(cmd), "%s PUNYAKA_HTTP_PORT=1 PUNYAKA_ADMIN_PASSWORD=nokey-pass-1 %s/%s", envs[e],
                     build, bins[b]);
            int status = run_capture(cmd, err, sizeof(err));
            if (status != 1 || !strstr(err, "PUNYAKA_COMMAND_KEY"))
                fail_msg("%s: exit %d, want 1 naming PUNYAKA_COMMAND_KEY; said: %s", cmd, status, err);
        }
    assert_int_equal(user_count("nokeyadmin"), 0);
}

int main(void)
{
    if (it_start(tag, sizeof(tag)) != 0)
        return 1;
    db = it_db();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forged_commands_change_nothing),
        cmocka_unit_test(test_copy_on_another_topic_takes_no_id),
        cmocka_unit_test(test_no_key_no_start),
    };
    int failed = cmocka_run_group_tests_name("forged_commands", tests, NULL, NULL);
    PQfinish(db);
    return failed;
}
