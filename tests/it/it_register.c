/* it_register.c — user.register through the whole pipeline:
 * HTTP → h2o → Kafka (dev cluster) → worker → PostgreSQL → Redis → HTTP. */
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
#include <unistd.h>
#include <sodium.h>
#include "common/envelope.h"
#include "common/mp.h"
#include "tests/support/commands.h"
#include "tests/support/db.h"
#include "tests/support/http.h"
#include "tests/support/stack_env.h"

static PGconn *db;
static char run_tag[16];   /* keeps names unique across runs against one database */

static void unique_name(char *buf, size_t cap, const char *base)
{
    static int counter;
    snprintf(buf, cap, "%s%s%d", base, run_tag, ++counter);
}

static char *registration_json(const char *username, const char *email)
{
    static char body[512];
    snprintf(body, sizeof(body),
             "{\"username\":\"%s\",\"email\":\"%s\",\"password\":\"correct-horse-1\","
             "\"password_confirm\":\"correct-horse-1\",\"first_name\":\"Test\",\"role\":\"customer\"}",
             username, email);
    return body;
}

/* The "Cookie:" header line naming the owner token a registration answer set:
 * an anonymous command's status is its submitter's only (api/commands.c). */
static const char *owner_cookie(const it_response *r, char *line, size_t cap)
{
    char token[256];   /* a signed list of up to 8 ids: 200 characters */
    assert_non_null(it_cookie(r, "punyaka_cmd", token, sizeof(token), NULL, 0));
    snprintf(line, cap, "Cookie: punyaka_cmd=%s\r\n", token);
    return line;
}

static void test_register_applied_and_row_present(void **state)
{
    (void)state;
    char user[64], email[96];
    unique_name(user, sizeof(user), "ravi");
    snprintf(email, sizeof(email), "%s@example.com", user);
    it_response r = it_post_json("/api/auth/register/", registration_json(user, email), NULL);
    assert_int_equal(r.status, 201);
    assert_non_null(r.json);
    json_t *created = json_object_get(r.json, "user");   /* {user, csrf_token}: registered and logged in */
    assert_string_equal(json_string_value(json_object_get(created, "username")), user);
    assert_string_equal(json_string_value(json_object_get(created, "role")), "customer");
    assert_null(json_object_get(created, "password_hash"));
    assert_int_equal(strlen(json_string_value(json_object_get(r.json, "csrf_token"))), 43);
    long long id = json_integer_value(json_object_get(created, "id"));
    char ids[24];
    snprintf(ids, sizeof(ids), "%lld", id);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM users WHERE id = $1 AND username = $2", ids, user, NULL), 1);
    /* Argon2id, never the plaintext. */
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM users WHERE id = $1 AND password_hash LIKE '$argon2id$%'"
                                      " AND password_hash NOT LIKE '%correct-horse%'", ids, NULL), 1);
    char cmd[64];
    assert_non_null(it_header(&r, "x-command-id", cmd, sizeof(cmd)));
    char path[128];
    snprintf(path, sizeof(path), "/api/commands/%s", cmd);
    char owner[320];
    it_response s = it_http("GET", path, owner_cookie(&r, owner, sizeof(owner)), NULL, 0);
    assert_int_equal(s.status, 200);
    assert_string_equal(json_string_value(json_object_get(s.json, "status")), "applied");
    it_response_free(&s);
    it_response_free(&r);
}

static void test_duplicate_username_is_409_with_field(void **state)
{
    (void)state;
    char user[64], email[96], upper[64];
    unique_name(user, sizeof(user), "dup");
    snprintf(email, sizeof(email), "%s@example.com", user);
    it_response a = it_post_json("/api/auth/register/", registration_json(user, email), NULL);
    assert_int_equal(a.status, 201);
    snprintf(upper, sizeof(upper), "DUP%s", user + 3);   /* same name, other case */
    snprintf(email, sizeof(email), "other.%s@example.com", user);
    it_response b = it_post_json("/api/auth/register/", registration_json(upper, email), NULL);
    assert_int_equal(b.status, 409);
    assert_string_equal(json_string_value(json_object_get(b.json, "code")), "username_taken");
    assert_non_null(json_object_get(json_object_get(b.json, "errors"), "username"));
    char ctype[96];
    assert_string_equal(it_header(&b, "content-type", ctype, sizeof(ctype)), "application/problem+json");
    it_response_free(&a);
    it_response_free(&b);
}

static void test_respond_async_then_poll(void **state)
{
    (void)state;
    char user[64], email[96], loc[128];
    unique_name(user, sizeof(user), "async");
    snprintf(email, sizeof(email), "%s@example.com", user);
    it_response r = it_post_json("/api/auth/register/", registration_json(user, email), "Prefer: respond-async\r\n");
    assert_int_equal(r.status, 202);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "accepted");
    assert_non_null(it_header(&r, "location", loc, sizeof(loc)));
    char owner[320];
    owner_cookie(&r, owner, sizeof(owner));
    const char *status = "accepted";
    it_response s = {0};
    for (int i = 0; i < 200 && strcmp(status, "applied") != 0; i++) {
        it_response_free(&s);
        usleep(50 * 1000);
        s = it_http("GET", loc, owner, NULL, 0);
        assert_int_equal(s.status, 200);
        status = json_string_value(json_object_get(s.json, "status"));
    }
    assert_string_equal(status, "applied");
    assert_string_equal(json_string_value(json_object_get(json_object_get(s.json, "resource"), "username")), user);
    /* A rejected one, polled, names the reason and the field. */
    char again[384];
    snprintf(again, sizeof(again), "Prefer: respond-async\r\n%s", owner);   /* the same client */
    it_response dup = it_post_json("/api/auth/register/", registration_json(user, email), again);
    assert_int_equal(dup.status, 202);
    it_header(&dup, "location", loc, sizeof(loc));
    owner_cookie(&dup, owner, sizeof(owner));   /* as a browser keeps it: it now lists both commands */
    it_response_free(&dup);
    status = "accepted";
    for (int i = 0; i < 200 && strcmp(status, "accepted") == 0; i++) {
        it_response_free(&s);
        usleep(50 * 1000);
        s = it_http("GET", loc, owner, NULL, 0);
        assert_int_equal(s.status, 200);
        status = json_string_value(json_object_get(s.json, "status"));
    }
    assert_string_equal(status, "rejected");
    assert_string_equal(json_string_value(json_object_get(s.json, "code")), "username_taken");
    assert_non_null(json_string_value(json_object_get(s.json, "detail")));
    assert_non_null(json_object_get(json_object_get(s.json, "errors"), "username"));
    it_response_free(&s);
    it_response_free(&r);
}

static void test_idempotency_key_maps_retries_to_one_command(void **state)
{
    (void)state;
    char user[64], email[96], key[96], c1[64], c2[64];
    unique_name(user, sizeof(user), "idem");
    snprintf(email, sizeof(email), "%s@example.com", user);
    snprintf(key, sizeof(key), "Idempotency-Key: reg-%s\r\n", user);
    it_response a = it_post_json("/api/auth/register/", registration_json(user, email), key);
    it_response b = it_post_json("/api/auth/register/", registration_json(user, email), key);
    assert_int_equal(a.status, 201);
    assert_int_equal(b.status, 201);   /* the stored outcome, not a username_taken */
    assert_string_equal(it_header(&a, "x-command-id", c1, sizeof(c1)), it_header(&b, "x-command-id", c2, sizeof(c2)));
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM users WHERE username = $1", user, NULL), 1);
    it_response_free(&a);
    it_response_free(&b);
}

/* A registration envelope as the API would build it, for producing directly. */
static size_t build_envelope(msgpack_sbuffer *out, const pk_uuid *id, const char *username)
{
    msgpack_sbuffer payload;
    msgpack_packer pk;
    char email[96];
    snprintf(email, sizeof(email), "%s@example.com", username);
    msgpack_sbuffer_init(&payload);
    msgpack_packer_init(&pk, &payload, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    pk_mp_kv_str(&pk, "username", username);
    pk_mp_kv_str(&pk, "email", email);
    it_pack_password_hash(&pk, IT_PASSWORD_HASH);
    pk_mp_kv_str(&pk, "role", "customer");
    pk_envelope env = {.v = PK_ENVELOPE_VERSION, .id = *id, .issued_at_us = (int64_t)time(NULL) * 1000000};
    strcpy(env.type, "user.register");
    strcpy(env.request_id, "it-register");
    msgpack_sbuffer_init(out);
    assert_int_equal(pk_envelope_encode(&env, payload.data, payload.size, out), 0);
    it_sign(out);
    msgpack_sbuffer_destroy(&payload);
    return out->size;
}

static void test_same_envelope_twice_applies_once(void **state)
{
    (void)state;
    char user[64], idstr[40];
    unique_name(user, sizeof(user), "twice");
    pk_uuid id;
    pk_uuid_v7(&id, (uint64_t)time(NULL) * 1000);
    pk_uuid_format(&id, idstr);
    msgpack_sbuffer env;
    build_envelope(&env, &id, user);
    assert_int_equal(it_kafka_produce("accounts", user, env.data, env.size), 0);
    assert_int_equal(it_kafka_produce("accounts", user, env.data, env.size), 0);
    msgpack_sbuffer_destroy(&env);
    assert_int_equal(it_db_wait_for(db, 1, 20000, "SELECT count(*) FROM command_outcomes WHERE command_id = $1", idstr, NULL), 1);
    /* Let the second copy be consumed too: a later command on the same key is applied after it. */
    char after[64], after_id[40];
    snprintf(after, sizeof(after), "%s", user);
    pk_uuid id2;
    pk_uuid_v7(&id2, (uint64_t)time(NULL) * 1000 + 1);
    pk_uuid_format(&id2, after_id);
    build_envelope(&env, &id2, after);   /* same username ⇒ same partition, after both copies */
    assert_int_equal(it_kafka_produce("accounts", user, env.data, env.size), 0);
    msgpack_sbuffer_destroy(&env);
    assert_int_equal(it_db_wait_for(db, 1, 20000, "SELECT count(*) FROM command_outcomes WHERE command_id = $1", after_id, NULL), 1);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM users WHERE username = $1", user, NULL), 1);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM processed_commands WHERE command_id = $1", idstr, NULL), 1);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM journal WHERE command_id = $1", idstr, NULL), 1);
    /* The third command (same username, new id) is a real conflict. */
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM command_outcomes WHERE command_id = $1 AND code = 'username_taken'", after_id, NULL), 1);
}

static void test_garbage_goes_to_dlq_and_next_command_applies(void **state)
{
    (void)state;
    long long dlq_before = it_kafka_high_watermark("dlq", 0);
    long long dead_before = it_db_scalar(db, "SELECT count(*) FROM dead_letters WHERE topic LIKE '%accounts'", NULL);
    const char garbage[] = "\xc1\xff not msgpack at all \x00\x01";
    char user[64];
    unique_name(user, sizeof(user), "afterdlq");
    /* Same key as the next good command: same partition, so it must not stall it. */
    assert_int_equal(it_kafka_produce("accounts", user, garbage, sizeof(garbage) - 1), 0);
    char email[96];
    snprintf(email, sizeof(email), "%s@example.com", user);
    it_response r = it_post_json("/api/auth/register/", registration_json(user, email), NULL);
    assert_int_equal(r.status, 201);
    it_response_free(&r);
    /* The partition moved past the garbage only once its dead letter was
     * recorded and the dlq topic had acknowledged it: both are there now. */
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM dead_letters WHERE topic LIKE '%accounts'", NULL),
                     dead_before + 1);
    assert_true(it_db_scalar(db, "SELECT count(*) FROM dead_letters WHERE topic LIKE '%accounts' AND reason <> ''"
                                 " AND payload IS NOT NULL", NULL) >= 1);
    assert_true(it_kafka_high_watermark("dlq", 0) > dlq_before);
}

typedef struct {
    const char *body;
    int status;
    char code[48];
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    it_response res = it_post_json("/api/auth/register/", r->body, "Prefer: wait=10\r\n");
    r->status = res.status;
    const char *code = res.json ? json_string_value(json_object_get(res.json, "code")) : NULL;
    snprintf(r->code, sizeof(r->code), "%s", code ? code : "");
    it_response_free(&res);
    return NULL;
}

static void test_twenty_concurrent_registrations_one_winner(void **state)
{
    (void)state;
    enum { N = 20 };
    char user[64];
    unique_name(user, sizeof(user), "race");
    racer racers[N];
    pthread_t threads[N];
    char bodies[N][512];
    for (int i = 0; i < N; i++) {
        char email[96];
        snprintf(email, sizeof(email), "%s.%d@example.com", user, i);
        snprintf(bodies[i], sizeof(bodies[i]), "%s", registration_json(user, email));
        racers[i] = (racer){.body = bodies[i]};
        pthread_create(&threads[i], NULL, race, &racers[i]);
    }
    int created = 0, taken = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(threads[i], NULL);
        created += racers[i].status == 201;
        taken += racers[i].status == 409 && strcmp(racers[i].code, "username_taken") == 0;
    }
    assert_int_equal(created, 1);
    assert_int_equal(taken, N - 1);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM users WHERE lower(username) = lower($1)", user, NULL), 1);
}

static void test_validation_errors_change_nothing(void **state)
{
    (void)state;
    long long before = it_db_scalar(db, "SELECT count(*) FROM processed_commands", NULL);
    const char *bad[] = {
        "{\"username\":\"ab\",\"email\":\"x@example.com\",\"password\":\"long-enough-1\"}",
        "{\"username\":\"okname\",\"email\":\"not-an-email\",\"password\":\"long-enough-1\"}",
        "{\"username\":\"okname\",\"email\":\"x@example.com\",\"password\":\"short\"}",
        "{\"username\":\"okname\",\"email\":\"x@example.com\",\"password\":\"long-enough-1\",\"role\":\"admin\"}",
        "{\"username\":\"okname\",\"email\":\"x@example.com\",\"password\":\"long-enough-1\",\"password_confirm\":\"nope-nope-1\"}",
        "{\"username\":42,\"email\":\"x@example.com\",\"password\":\"long-enough-1\"}",
    };
    const char *field[] = {"username", "email", "password", "role", "password_confirm", "username"};
    /* A 10 KB username and a 129-character password name their fields too. */
    char *long_user = malloc(10300), *long_password = malloc(512);
    memset(long_user, 'u', 10240);
    snprintf(long_user + 10240, 60, "\",\"email\":\"x@example.com\",\"password\":\"long-enough-1\"}");
    char *body = malloc(10400);
    snprintf(body, 10400, "{\"username\":\"%s", long_user);
    memset(long_password, 'p', 129);
    long_password[129] = 0;
    char body2[512];
    snprintf(body2, sizeof(body2), "{\"username\":\"okname\",\"email\":\"x@example.com\",\"password\":\"%s\"}",
             long_password);
    const char *extra[] = {body, body2};
    const char *extra_field[] = {"username", "password"};
    for (size_t i = 0; i < 2; i++) {
        it_response r = it_post_json("/api/auth/register/", extra[i], NULL);
        assert_int_equal(r.status, 422);
        assert_non_null(json_object_get(json_object_get(r.json, "errors"), extra_field[i]));
        it_response_free(&r);
    }
    free(long_user);
    free(long_password);
    free(body);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        it_response r = it_post_json("/api/auth/register/", bad[i], NULL);
        assert_int_equal(r.status, 422);
        assert_non_null(json_object_get(json_object_get(r.json, "errors"), field[i]));
        it_response_free(&r);
    }
    usleep(300 * 1000);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM processed_commands", NULL), before);
}

int main(void)
{
    if (it_start(run_tag, sizeof(run_tag)) != 0)
        return 1;
    db = it_db();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_applied_and_row_present),
        cmocka_unit_test(test_duplicate_username_is_409_with_field),
        cmocka_unit_test(test_respond_async_then_poll),
        cmocka_unit_test(test_idempotency_key_maps_retries_to_one_command),
        cmocka_unit_test(test_same_envelope_twice_applies_once),
        cmocka_unit_test(test_garbage_goes_to_dlq_and_next_command_applies),
        cmocka_unit_test(test_twenty_concurrent_registrations_one_winner),
        cmocka_unit_test(test_validation_errors_change_nothing),
    };
    int failed = cmocka_run_group_tests_name("register", tests, NULL, NULL);
    PQfinish(db);
    return failed;
}
