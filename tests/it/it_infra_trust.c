/* it_infra_trust.c — the infrastructure is no back door (issue 13):
 *  - Redis refuses a client without the stack's password (NOAUTH);
 *  - whoever can write to Redis still cannot mint a session: a forged
 *    record (`HSET punyaka:sess:<hash> uid 1 role admin …`, the finding), a
 *    real record copied under another key, or a real record whose role was
 *    edited are no session (401), and the API logs them; real logins work;
 *  - the services' PostgreSQL roles are no superusers and own nothing: DDL,
 *    TRUNCATE and (for the API's read-only role) writes are refused, and
 *    the owner cannot be reached over TCP without its password. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <sodium.h>
#include "common/config.h"
#include "tests/support/calls.h"
#include "tests/support/http.h"
#include "tests/support/stack_env.h"

#define PASSWORD "Infra-Trust-4711"

static char tag[16];
static pk_redis_addr redis_addr;

/* A connection to the stack's Redis, authenticated when `auth`. */
static redisContext *redis_open(bool auth)
{
    struct timeval tv = {3, 0};
    redisContext *c = redisConnectWithTimeout(redis_addr.host, redis_addr.port, tv);
    assert_non_null(c);
    assert_int_equal(c->err, 0);
    if (auth) {
        redisReply *r = redisCommand(c, "AUTH %s", redis_addr.password);
        assert_non_null(r);
        assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
        freeReplyObject(r);
    }
    return c;
}

static void redis_ok(redisContext *c, redisReply *r)
{
    (void)c;
    assert_non_null(r);
    if (r->type == REDIS_REPLY_ERROR)
        fail_msg("redis: %s", r->str);
    freeReplyObject(r);
}

/* A fresh session token as the API makes them, and the key Redis files it under. */
static void new_token(char token[64], char key[128])
{
    unsigned char raw[32], h[32];
    char hex[65];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(token, 64, raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    crypto_generichash(h, sizeof(h), (const unsigned char *)token, strlen(token), NULL, 0);
    sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
    snprintf(key, 128, "punyaka:sess:%s", hex);
}

static void key_of(const char *token, char key[128])
{
    unsigned char h[32];
    char hex[65];
    crypto_generichash(h, sizeof(h), (const unsigned char *)token, strlen(token), NULL, 0);
    sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
    snprintf(key, 128, "punyaka:sess:%s", hex);
}

static int status_of(const char *method, const char *path, const char *headers)
{
    it_response r = it_http(method, path, headers, NULL, 0);
    int s = r.status;
    it_response_free(&r);
    return s;
}

/* How many times the API has logged a refused session record so far. */
static int refusals_logged(void)
{
    char path[4096], line[8192];
    snprintf(path, sizeof(path), "%s/logs/api.log", it_env("PUNYAKA_STACK_DIR"));
    FILE *f = fopen(path, "r");
    int n = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        n += strstr(line, "missing or bad MAC") != NULL;
    fclose(f);
    return n;
}

/* The log is written asynchronously: wait (bounded) until it shows `want`. */
static int refusals_logged_at_least(int want)
{
    for (int i = 0; i < 50 && refusals_logged() < want; i++)
        usleep(100 * 1000);
    return refusals_logged();
}

/* The cookie token of an actor's headers ("Cookie: punyaka_session=…\r\n…"). */
static void token_of(const it_actor *who, char token[64])
{
    const char *p = strstr(who->headers, "punyaka_session=");
    assert_non_null(p);
    p += strlen("punyaka_session=");
    size_t n = strcspn(p, ";\r\n");
    assert_true(n < 64);
    memcpy(token, p, n);
    token[n] = 0;
}

static void test_redis_refuses_a_client_without_the_password(void **state)
{
    (void)state;
    assert_true(strlen(redis_addr.password) >= 32);   /* REDIS_URL carries a generated password */
    redisContext *c = redis_open(false);
    redisReply *r = redisCommand(c, "HSET punyaka:sess:x uid 1 role admin");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    assert_non_null(strstr(r->str, "NOAUTH"));
    freeReplyObject(r);
    r = redisCommand(c, "AUTH %s", "not-the-password");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    freeReplyObject(r);
    redisFree(c);
}

/* Bounded wait until `key` is gone (the API deletes refused records). */
static void wait_deleted(redisContext *c, const char *key)
{
    for (int i = 0; i < 100; i++) {
        redisReply *r = redisCommand(c, "EXISTS %s", key);
        long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
        freeReplyObject(r);
        if (n == 0)
            return;
        usleep(20 * 1000);
    }
}

/* The finding, as the attacker did it: a record for a token of one's own. */
static void test_forged_admin_session_is_no_session(void **state)
{
    (void)state;
    char token[64], key[128], csrf[64], hdr[256];
    new_token(token, key);
    new_token(csrf, hdr);   /* any 43-character string will do for the csrf field */
    redisContext *c = redis_open(true);
    int before = refusals_logged();
    snprintf(hdr, sizeof(hdr), "Cookie: punyaka_session=%s\r\nX-CSRF-Token: %s\r\n", token, csrf);
    /* The API deletes a refused record (after answering, on its own Redis
     * connection): wait until it has, then forge it again for the next request. */
#define FORGE() (wait_deleted(c, key), redis_ok(c, redisCommand(c, "HSET %s uid 1 role admin csrf %s", key, csrf)), \
                 redis_ok(c, redisCommand(c, "EXPIRE %s 600", key)))
    FORGE();
    assert_int_equal(status_of("GET", "/api/auth/me/", hdr), 401);
    FORGE();
    assert_int_equal(status_of("GET", "/api/admin/priests/?verified=false", hdr), 401);
    FORGE();
    it_response r = it_http("POST", "/api/admin/categories/", hdr, "{\"name\":\"forged\"}", 17);
    assert_int_equal(r.status, 401);
    it_response_free(&r);
    /* …even with a made-up exp and mac */
    FORGE();
    redis_ok(c, redisCommand(c, "HSET %s exp 9999999999 mac %064d%064d", key, 0, 0));
    assert_int_equal(status_of("GET", "/api/auth/me/", hdr), 401);
#undef FORGE
    assert_true(refusals_logged_at_least(before + 4) >= before + 4);   /* each one logged */
    wait_deleted(c, key);
    redisReply *gone = redisCommand(c, "EXISTS %s", key);
    assert_non_null(gone);
    assert_int_equal(gone->integer, 0);                                  /* and deleted */
    freeReplyObject(gone);
    redisFree(c);
}

/* A real record moved to another key, or edited, is no session either;
 * the untouched real sessions keep working. */
static void test_real_records_cannot_be_moved_or_edited(void **state)
{
    (void)state;
    it_actor admin = {0}, cust = {0};
    snprintf(admin.name, sizeof(admin.name), "trustadm%s", tag);
    snprintf(cust.name, sizeof(cust.name), "trustcust%s", tag);
    assert_int_equal(it_sign_in_admin(&admin, PASSWORD), 200);
    assert_int_equal(it_sign_up(&cust, "customer", PASSWORD, NULL), 201);
    assert_int_equal(status_of("GET", "/api/admin/priests/?verified=false", admin.headers), 200);
    assert_int_equal(status_of("GET", "/api/auth/me/", cust.headers), 200);

    char admin_token[64], admin_key[128], cust_token[64], cust_key[128], token[64], key[128], hdr[256];
    token_of(&admin, admin_token);
    token_of(&cust, cust_token);
    key_of(admin_token, admin_key);
    key_of(cust_token, cust_key);
    redisContext *c = redis_open(true);

    /* The admin's whole record, MAC included, under a key whose token the attacker holds. */
    redisReply *rec = redisCommand(c, "HGETALL %s", admin_key);
    assert_non_null(rec);
    assert_int_equal(rec->type, REDIS_REPLY_ARRAY);
    assert_true(rec->elements >= 6);    /* uid, role, csrf (and exp, mac) */
    new_token(token, key);
    const char *argv[32] = {"HSET", key};
    size_t n = 2;
    const char *csrf = "";
    for (size_t i = 0; i + 1 < rec->elements && n + 2 < 32; i += 2) {
        argv[n++] = rec->element[i]->str;
        argv[n++] = rec->element[i + 1]->str;
        if (strcmp(rec->element[i]->str, "csrf") == 0)
            csrf = rec->element[i + 1]->str;
    }
    snprintf(hdr, sizeof(hdr), "Cookie: punyaka_session=%s\r\nX-CSRF-Token: %s\r\n", token, csrf);
    redis_ok(c, redisCommandArgv(c, (int)n, argv, NULL));
    assert_int_equal(status_of("GET", "/api/admin/priests/?verified=false", hdr), 401);
    redis_ok(c, redisCommandArgv(c, (int)n, argv, NULL));
    assert_int_equal(status_of("GET", "/api/auth/me/", hdr), 401);
    freeReplyObject(rec);

    /* The customer promoted in place: the record is refused (and deleted), so
     * the customer is signed out rather than promoted. */
    redis_ok(c, redisCommand(c, "HSET %s role admin", cust_key));
    assert_int_equal(status_of("GET", "/api/admin/priests/?verified=false", cust.headers), 401);
    assert_int_equal(status_of("GET", "/api/auth/me/", cust.headers), 401);

    /* The real admin session was not disturbed, and logs in again fine. */
    assert_int_equal(status_of("GET", "/api/admin/priests/?verified=false", admin.headers), 200);
    it_response me = it_http("GET", "/api/auth/me/", admin.headers, NULL, 0);
    assert_int_equal(me.status, 200);
    assert_string_equal(it_str(me.json, "role"), "admin");
    it_response_free(&me);
    redisFree(c);
}

/* Without its key the API would have to trust Redis: it does not start. */
static void test_api_refuses_to_start_without_the_session_key(void **state)
{
    (void)state;
    const char *keys[] = {"", "00112233", "zz" /* not hex */,
                          "0000000000000000000000000000000000000000000000000000000000000000"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char cmd[4096];
        snprintf(cmd, sizeof(cmd),
                 "PUNYAKA_SESSION_KEY='%s' PUNYAKA_HTTP_PORT=1 timeout 10 %s/api/punyaka-api 2>&1"
                 " | grep -q 'PUNYAKA_SESSION_KEY must be 64 hexadecimal characters'",
                 keys[i], it_env("PUNYAKA_BUILD_DIR"));
        if (system(cmd) != 0)
            fail_msg("the API did not refuse PUNYAKA_SESSION_KEY='%s'", keys[i]);
    }
}

/* ---- PostgreSQL ---- */

static PGconn *pg_open(const char *dsn)
{
    PGconn *c = PQconnectdb(dsn);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("cannot connect: %s", PQerrorMessage(c));
    return c;
}

/* The SQLSTATE the statement failed with ("" when it succeeded). */
static const char *sqlstate(PGconn *c, const char *sql, char out[8])
{
    PGresult *r = PQexec(c, sql);
    const char *s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    ExecStatusType st = PQresultStatus(r);
    snprintf(out, 8, "%s", st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? "" : s ? s : "?");
    PQclear(r);
    return out;
}

static void expect_refused(PGconn *c, const char *sql)
{
    char state[8];
    sqlstate(c, sql, state);
    if (strcmp(state, "42501") != 0)   /* insufficient_privilege (and "must be owner") */
        fail_msg("%s as %s: SQLSTATE '%s', want 42501", sql, PQuser(c), state);
}

static void test_service_roles_are_no_superusers_and_own_nothing(void **state)
{
    (void)state;
    const char *dsns[] = {it_env("DATABASE_URL"), it_env("PUNYAKA_API_DATABASE_URL")};
    char st[8];
    for (int i = 0; i < 2; i++) {
        PGconn *c = pg_open(dsns[i]);
        assert_string_not_equal(PQuser(c), "postgres");
        PGresult *r = PQexec(c, "SELECT rolsuper::text, rolcreaterole::text, rolcreatedb::text FROM pg_roles"
                                " WHERE rolname = current_user");
        assert_int_equal(PQntuples(r), 1);
        assert_string_equal(PQgetvalue(r, 0, 0), "false");
        assert_string_equal(PQgetvalue(r, 0, 1), "false");
        assert_string_equal(PQgetvalue(r, 0, 2), "false");
        PQclear(r);
        assert_int_equal(PQntuples(r = PQexec(c, "SELECT 1 FROM pg_tables WHERE schemaname = 'public'"
                                                 " AND tableowner = current_user")), 0);
        PQclear(r);
        expect_refused(c, "DROP TABLE users");
        expect_refused(c, "ALTER TABLE users ADD COLUMN backdoor int");
        expect_refused(c, "TRUNCATE journal");
        expect_refused(c, "CREATE TABLE backdoor (a int)");
        expect_refused(c, "UPDATE schema_migrations SET checksum = 'x'");
        assert_string_equal(sqlstate(c, "SELECT count(*) FROM users", st), "");
        PQfinish(c);
    }
    /* The API reads only; the workers' role may write rows. */
    PGconn *api = pg_open(dsns[1]);
    expect_refused(api, "UPDATE users SET role = 'admin' WHERE id = 0");
    expect_refused(api, "DELETE FROM journal WHERE seq = 0");
    PQfinish(api);
    PGconn *worker = pg_open(dsns[0]);
    assert_string_equal(sqlstate(worker, "UPDATE users SET role = role WHERE id = 0", st), "");
    PQfinish(worker);
}

/* The owner's DSN without its password is refused over TCP. */
static void test_owner_needs_its_password(void **state)
{
    (void)state;
    PQconninfoOption *opts = PQconninfoParse(it_owner_dsn(), NULL);
    assert_non_null(opts);
    char dsn[512] = "";
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (o->val && strcmp(o->keyword, "password") != 0 && strlen(dsn) + strlen(o->val) + 64 < sizeof(dsn))
            snprintf(dsn + strlen(dsn), sizeof(dsn) - strlen(dsn), "%s='%s' ", o->keyword, o->val);
    PQconninfoFree(opts);
    strcat(dsn, "password='' connect_timeout=5");
    setenv("PGPASSFILE", "/nonexistent", 1);
    PGconn *c = PQconnectdb(dsn);
    assert_int_not_equal(PQstatus(c), CONNECTION_OK);
    PQfinish(c);
}

int main(void)
{
    if (it_start(tag, sizeof(tag)) != 0)
        return 1;
    if (pk_redis_addr_parse(it_env("REDIS_URL"), &redis_addr) != 0) {
        fprintf(stderr, "REDIS_URL does not parse\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redis_refuses_a_client_without_the_password),
        cmocka_unit_test(test_forged_admin_session_is_no_session),
        cmocka_unit_test(test_real_records_cannot_be_moved_or_edited),
        cmocka_unit_test(test_api_refuses_to_start_without_the_session_key),
        cmocka_unit_test(test_service_roles_are_no_superusers_and_own_nothing),
        cmocka_unit_test(test_owner_needs_its_password),
    };
    return cmocka_run_group_tests_name("infra_trust", tests, NULL, NULL);
}
