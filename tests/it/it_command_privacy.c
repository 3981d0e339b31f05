/* it_command_privacy.c — issue 13 "private command status": GET
 * /api/commands/{id} shows a command's resource (a registration's contact
 * details, a checkout's address and phone, a booking's address and
 * instructions), so it answers the command's actor and admins only:
 * another signed-in user gets the 404 of an unknown id, no session 401; an
 * anonymous registration belongs to the client holding the owner cookie its
 * answer set. Ids derived from an Idempotency-Key are keyed with the
 * server's PUNYAKA_IDEMPOTENCY_KEY (the old unkeyed derivation no longer
 * names them), the same key keeps mapping to the same id (another API
 * process sharing the key), and a key reused for another request is 422
 * idempotency_key_reused, also when both arrive at once. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <hiredis.h>
#include <sodium.h>
#include "tests/support/calls.h"
#include "tests/support/db.h"
#include "tests/support/http.h"
#include "tests/support/procs.h"
#include "tests/support/stack_env.h"

#define PASSWORD "Tulsi-leaf-42"
#define ADDRESS                                                                                               \
    "{\"shipping_address\":\"12 Temple Road\",\"shipping_city\":\"Pune\",\"shipping_state\":\"Maharashtra\"," \
    "\"shipping_pincode\":\"411001\",\"shipping_phone\":\"+91 98765 43210\"}"
#define OTHER_ADDRESS                                                                                         \
    "{\"shipping_address\":\"7 River Ghat\",\"shipping_city\":\"Nashik\",\"shipping_state\":\"Maharashtra\"," \
    "\"shipping_pincode\":\"422001\",\"shipping_phone\":\"+91 91234 56789\"}"

static PGconn *db;
static char tag[16];
static it_actor admin, buyer, stranger;

/* ---- helpers ---- */

static it_actor sign_up(const char *base, const char *role, const char *extra)
{
    static int n;
    it_actor a = {0};
    snprintf(a.name, sizeof(a.name), "%s%s%d", base, tag, ++n);
    assert_int_equal(it_sign_up(&a, role, PASSWORD, extra), 201);
    return a;
}

/* A request as `who` with extra header lines (Idempotency-Key, Prefer). */
static it_response call_with(const char *method, const char *path, const it_actor *who, const char *body,
                             const char *extra)
{
    char headers[1024];
    snprintf(headers, sizeof(headers), "%s%s%s", who ? who->headers : "",
             body ? "Content-Type: application/json\r\n" : "", extra ? extra : "Prefer: wait=10\r\n");
    return it_http(method, path, headers, body, body ? strlen(body) : 0);
}

static int status_as(const it_actor *who, const char *extra, const char *id, it_response *out)
{
    char path[160], headers[1024];
    snprintf(path, sizeof(path), "/api/commands/%s", id);
    snprintf(headers, sizeof(headers), "%s%s", who ? who->headers : "", extra ? extra : "");
    it_response r = it_http("GET", path, headers, NULL, 0);
    int status = r.status;
    if (out)
        *out = r;
    else
        it_response_free(&r);
    return status;
}

/* Another user's or nobody's read of `id`: the same 404 as an unknown id, 401. */
static void expect_private(const char *id)
{
    it_response r;
    assert_int_equal(status_as(&stranger, NULL, id, &r), 404);
    assert_string_equal(it_str(r.json, "code"), "not_found");
    assert_string_equal(it_str(r.json, "detail"), "no such command");
    assert_null(strstr(r.body, "shipping"));
    assert_null(strstr(r.body, "email"));
    it_response_free(&r);
    assert_int_equal(status_as(NULL, NULL, id, &r), 401);
    assert_string_equal(it_str(r.json, "code"), "not_authenticated");
    it_response_free(&r);
}

/* The actor's (and an admin's) read: 200 with the decided resource. */
static json_t *expect_readable(const it_actor *who, const char *extra, const char *id)
{
    it_response r;
    for (int i = 0; i < 100; i++) {   /* decided within 10 s */
        assert_int_equal(status_as(who, extra, id, &r), 200);
        if (strcmp(it_str(r.json, "status"), "applied") == 0)
            break;
        it_response_free(&r);
        r.json = NULL;
        usleep(100 * 1000);
    }
    assert_non_null(r.json);
    assert_string_equal(it_str(r.json, "status"), "applied");
    json_t *resource = json_incref(json_object_get(r.json, "resource"));
    it_response_free(&r);
    return resource;
}

static void add_to_cart(const it_actor *a, int64_t product)
{
    char body[96];
    snprintf(body, sizeof(body), "{\"product_id\":%lld,\"quantity\":1}", (long long)product);
    it_response r = it_call("POST", "/api/cart/add_item/", a, body);
    it_expect_status(&r, 200);
    it_response_free(&r);
}

static int64_t create_product(void)
{
    static int n;
    char body[256];
    n++;
    snprintf(body, sizeof(body), "{\"slug\":\"lamp-%s-%d\",\"name\":\"Lamp %s %d\",\"price\":\"40.00\",\"stock\":50}",
             tag, n, tag, n);
    it_response r = it_call("POST", "/api/admin/products/", &admin, body);
    it_expect_status(&r, 201);
    int64_t id = it_num(r.json, "id");
    it_response_free(&r);
    return id;
}

/* The id the API derived before issue 13: BLAKE2b-128(scope 0x00 key), v8. */
static void old_derivation(int64_t user_id, const char *type, const char *key, char out[37])
{
    char scope[128];
    int n = snprintf(scope, sizeof(scope), "user:%lld:%s", (long long)user_id, type);
    unsigned char h[16];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof(h));
    crypto_generichash_update(&st, (const unsigned char *)scope, (size_t)n + 1);   /* with its NUL */
    crypto_generichash_update(&st, (const unsigned char *)key, strlen(key));
    crypto_generichash_final(&st, h, sizeof(h));
    h[6] = (unsigned char)((h[6] & 0x0f) | 0x80);
    h[8] = (unsigned char)((h[8] & 0x3f) | 0x80);
    char hex[33];
    sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

/* ---- tests ---- */

/* A checkout with Idempotency-Key `key`, as `extra` asks (wait or respond-async). */
static it_response checkout_with_key(const char *key, const char *body, const char *prefer)
{
    char header[160];
    snprintf(header, sizeof(header), "Idempotency-Key: %s\r\n%s\r\n", key, prefer);
    return call_with("POST", "/api/orders/checkout/", &buyer, body, header);
}

static void test_checkout_status_is_the_buyers(void **state)
{
    (void)state;
    add_to_cart(&buyer, create_product());
    char key[64], id[64];
    snprintf(key, sizeof(key), "co-%s", tag);
    /* 202 at once: the marker (not decided yet) already names its actor. */
    it_response r = checkout_with_key(key, ADDRESS, "Prefer: respond-async");
    it_expect_status(&r, 202);
    snprintf(id, sizeof(id), "%s", it_str(r.json, "command_id"));
    it_response_free(&r);
    expect_private(id);
    /* Decided: the outcome row's actor is the journal's. */
    json_t *order = expect_readable(&buyer, NULL, id);
    assert_string_equal(it_str(order, "shipping_phone"), "+91 98765 43210");
    json_decref(order);
    expect_private(id);
    order = expect_readable(&admin, NULL, id);
    json_decref(order);
}

/* blake2b("user:<id>:order.checkout\0" + key) no longer names the command. */
static void test_old_derivation_names_nothing(void **state)
{
    (void)state;
    add_to_cart(&buyer, create_product());
    char key[64], id[64], derived[37];
    snprintf(key, sizeof(key), "1%s", tag);
    it_response r = checkout_with_key(key, ADDRESS, "Prefer: wait=10");
    it_expect_status(&r, 201);
    assert_non_null(it_header(&r, "x-command-id", id, sizeof(id)));
    it_response_free(&r);
    old_derivation(buyer.user_id, "order.checkout", key, derived);
    assert_string_not_equal(derived, id);
    assert_int_equal(status_as(&buyer, NULL, derived, NULL), 404);   /* not even its actor finds it */
    assert_int_equal(status_as(&stranger, NULL, derived, NULL), 404);
}

/* The same key: the same body is the same command, another body 422. */
static void test_key_reused_for_another_body_is_422(void **state)
{
    (void)state;
    add_to_cart(&buyer, create_product());
    char key[64], id[64], again[64], uid[24];
    snprintf(key, sizeof(key), "reuse-%s", tag);
    snprintf(uid, sizeof(uid), "%lld", (long long)buyer.user_id);
    it_response r = checkout_with_key(key, ADDRESS, "Prefer: wait=10");
    it_expect_status(&r, 201);
    assert_non_null(it_header(&r, "x-command-id", id, sizeof(id)));
    it_response_free(&r);
    long long orders = it_db_scalar(db, "SELECT count(*) FROM orders WHERE user_id = $1", uid, NULL);
    r = checkout_with_key(key, ADDRESS, "Prefer: wait=10");   /* a retry */
    it_expect_status(&r, 201);
    assert_non_null(it_header(&r, "x-command-id", again, sizeof(again)));
    assert_string_equal(again, id);
    it_response_free(&r);
    long long before = it_db_scalar(db, "SELECT count(*) FROM journal WHERE actor_id = $1", uid, NULL);
    r = checkout_with_key(key, OTHER_ADDRESS, "Prefer: wait=10");
    it_expect_problem(&r, 422, "idempotency_key_reused", NULL);
    assert_null(it_header(&r, "x-command-id", again, sizeof(again)));
    it_response_free(&r);
    usleep(300 * 1000);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM journal WHERE actor_id = $1", uid, NULL), before);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM orders WHERE user_id = $1", uid, NULL), orders);
}

static void test_registration_status_is_the_registrants(void **state)
{
    (void)state;
    char body[512], name[64], id[64], token[128], owner[192];
    snprintf(name, sizeof(name), "reg%s", tag);
    snprintf(body, sizeof(body),
             "{\"username\":\"%s\",\"email\":\"%s@example.com\",\"password\":\"%s\",\"password_confirm\":\"%s\","
             "\"role\":\"customer\",\"place_of_birth\":\"Varanasi\",\"address\":\"3 Ghat Lane\"}",
             name, name, PASSWORD, PASSWORD);
    it_response r = it_post_json("/api/auth/register/", body, NULL);
    it_expect_status(&r, 201);
    assert_non_null(it_header(&r, "x-command-id", id, sizeof(id)));
    assert_non_null(it_cookie(&r, "punyaka_cmd", token, sizeof(token), NULL, 0));
    it_response_free(&r);
    snprintf(owner, sizeof(owner), "Cookie: punyaka_cmd=%s\r\n", token);
    expect_private(id);
    /* The client that registered: its owner cookie. */
    json_t *user = expect_readable(NULL, owner, id);
    assert_string_equal(it_str(user, "username"), name);
    json_decref(user);
    user = expect_readable(&admin, NULL, id);
    json_decref(user);
    /* Another anonymous client's owner cookie is nobody's session: 401. */
    char other[192];
    snprintf(other, sizeof(other), "Cookie: punyaka_cmd=%s\r\n", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert_int_equal(status_as(NULL, other, id, NULL), 401);
    /* and a signed-in stranger holding it still gets 404 */
    assert_int_equal(status_as(&stranger, other, id, NULL), 404);
}

static void test_booking_status_is_the_customers(void **state)
{
    (void)state;
    it_actor priest = sign_up("cppandit", "priest", "\"experience_years\":3");
    it_response r = it_callf("POST", &admin, "{\"verified\":true}", "/api/admin/priests/%lld/verify/",
                             (long long)priest.priest_id);
    it_expect_status(&r, 200);
    it_response_free(&r);
    char body[1024], date[16], id[64];
    snprintf(body, sizeof(body),
             "{\"name\":\"Puja %s\",\"description\":\"d\",\"service_type\":\"puja\",\"duration_minutes\":60,"
             "\"base_price\":\"500.00\"}",
             tag);
    r = it_call("POST", "/api/admin/services/", &admin, body);
    it_expect_status(&r, 201);
    long long service = it_num(r.json, "id");
    it_response_free(&r);
    time_t when = time(NULL) + 3 * 86400;
    struct tm tm;
    gmtime_r(&when, &tm);
    strftime(date, sizeof(date), "%Y-%m-%d", &tm);
    snprintf(body, sizeof(body),
             "{\"priest\":%lld,\"service\":%lld,\"booking_date\":\"%s\",\"booking_time\":\"10:00\","
             "\"location_address\":\"12 Temple Road, Pune\",\"special_instructions\":\"Gate code 4711\"}",
             (long long)priest.priest_id, service, date);
    r = it_call("POST", "/api/bookings/", &buyer, body);
    it_expect_status(&r, 201);
    assert_non_null(it_header(&r, "x-command-id", id, sizeof(id)));
    it_response_free(&r);
    expect_private(id);
    json_t *booking = expect_readable(&buyer, NULL, id);
    assert_string_equal(it_str(booking, "special_instructions"), "Gate code 4711");
    json_decref(booking);
}

/* A connection to the stack's Redis, authenticated. REDIS_URL is
 * redis://[[user]:password@]host:port. */
static redisContext *redis_connect(void)
{
    const char *url = it_env("REDIS_URL"), *at = strrchr(url, '@');
    const char *hostport = at ? at + 1 : url + strlen("redis://");
    char host[128], password[256] = "";
    int port = 6379;
    if (sscanf(hostport, "%127[^:]:%d", host, &port) < 1)
        fail_msg("REDIS_URL %s", url);
    if (at) {
        const char *colon = memchr(url + 8, ':', (size_t)(at - url - 8));
        snprintf(password, sizeof(password), "%.*s", colon ? (int)(at - colon - 1) : 0, colon ? colon + 1 : "");
    }
    redisContext *c = redisConnect(host, port);
    assert_true(c && !c->err);
    if (password[0])
        freeReplyObject(redisCommand(c, "AUTH %s", password));
    return c;
}

/* Drops a command's status marker, as its TTL would. */
static void expire_marker(const char *id)
{
    redisContext *c = redis_connect();
    redisReply *r = redisCommand(c, "DEL punyaka:cmd:%s", id);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    assert_int_equal(r->integer, 1);
    freeReplyObject(r);
    redisFree(c);
}

/* Once the marker is gone the decided outcome still has its actor (the
 * journal's); an anonymous one is then the admins' only. */
static void test_expired_marker(void **state)
{
    (void)state;
    char id[64], token[128], owner[192], body[512], name[64];
    it_response r = call_with("PATCH", "/api/auth/me/", &buyer, "{\"first_name\":\"Kept\"}", NULL);
    it_expect_status(&r, 200);
    assert_non_null(it_header(&r, "x-command-id", id, sizeof(id)));
    it_response_free(&r);
    expire_marker(id);
    json_decref(expect_readable(&buyer, NULL, id));
    expect_private(id);

    snprintf(name, sizeof(name), "late%s", tag);
    snprintf(body, sizeof(body),
             "{\"username\":\"%s\",\"email\":\"%s@example.com\",\"password\":\"%s\",\"password_confirm\":\"%s\","
             "\"role\":\"customer\"}",
             name, name, PASSWORD, PASSWORD);
    r = it_post_json("/api/auth/register/", body, NULL);
    it_expect_status(&r, 201);
    assert_non_null(it_header(&r, "x-command-id", id, sizeof(id)));
    assert_non_null(it_cookie(&r, "punyaka_cmd", token, sizeof(token), NULL, 0));
    it_response_free(&r);
    snprintf(owner, sizeof(owner), "Cookie: punyaka_cmd=%s\r\n", token);
    json_decref(expect_readable(NULL, owner, id));
    expire_marker(id);
    json_decref(expect_readable(NULL, owner, id));   /* the cookie itself proves it (issue 11) */
    expect_private(id);
    json_decref(expect_readable(&admin, NULL, id));
}

/* An anonymous registration, its answer's owner cookie as a "Cookie:" line.
 * `cookie` (NULL: none) is sent with it, as a browser would. */
static void register_anonymously(const char *prefix, const char *cookie, char id[64], char owner[512])
{
    static int n;
    char body[512], name[64], value[400], headers[600];
    snprintf(name, sizeof(name), "%s%s%d", prefix, tag, ++n);
    snprintf(body, sizeof(body),
             "{\"username\":\"%s\",\"email\":\"%s@example.com\",\"password\":\"%s\",\"password_confirm\":\"%s\","
             "\"role\":\"customer\"}",
             name, name, PASSWORD, PASSWORD);
    snprintf(headers, sizeof(headers), "Content-Type: application/json\r\nPrefer: wait=10\r\n%s", cookie ? cookie : "");
    it_response r = it_http("POST", "/api/auth/register/", headers, body, strlen(body));
    it_expect_status(&r, 201);
    assert_non_null(it_header(&r, "x-command-id", id, 64));
    assert_non_null(it_cookie(&r, "punyaka_cmd", value, sizeof(value), NULL, 0));
    it_response_free(&r);
    snprintf(owner, 512, "Cookie: punyaka_cmd=%s\r\n", value);
}

/* Issue 11 for anonymous commands: the owner cookie is a signed list of
 * the client's command ids, so its proof needs no Redis. The registrant
 * reads its applied command after the marker is gone; a cookie altered in
 * one byte proves nothing (401, or a signed-in stranger's 404); another
 * client's valid cookie does not list the id (404); a second command from
 * the same client keeps the first one readable. */
static void test_anonymous_owner_without_marker(void **state)
{
    (void)state;
    char first[64], owner[512], other_id[64], other[512], second[64], both[512];
    register_anonymously("anon", NULL, first, owner);
    json_decref(expect_readable(NULL, owner, first));
    expire_marker(first);
    json_t *user = expect_readable(NULL, owner, first);
    assert_non_null(strstr(json_string_value(json_object_get(user, "username")), "anon"));
    json_decref(user);
    expect_private(first);

    /* One byte of the value flipped (the value starts after "punyaka_cmd="). */
    char flipped[512];
    snprintf(flipped, sizeof(flipped), "%s", owner);
    char *c = flipped + strlen("Cookie: punyaka_cmd=") + 10;
    *c = *c == 'A' ? 'B' : 'A';
    assert_string_not_equal(flipped, owner);
    assert_int_equal(status_as(NULL, flipped, first, NULL), 401);
    assert_int_equal(status_as(&stranger, flipped, first, NULL), 404);

    /* Another anonymous client: its cookie is valid, but not for `first`. */
    register_anonymously("anonother", NULL, other_id, other);
    it_response r;
    assert_int_equal(status_as(NULL, other, first, &r), 404);
    assert_string_equal(it_str(r.json, "code"), "not_found");
    assert_null(strstr(r.body, "email"));
    it_response_free(&r);
    json_decref(expect_readable(NULL, other, other_id));
    assert_int_equal(status_as(NULL, owner, other_id, NULL), 404);

    /* The same client again: the new cookie lists both commands. */
    register_anonymously("anonagain", owner, second, both);
    assert_string_not_equal(both, owner);
    json_decref(expect_readable(NULL, both, second));
    expire_marker(second);
    json_decref(expect_readable(NULL, both, second));
    json_decref(expect_readable(NULL, both, first));
    assert_int_equal(status_as(NULL, both, other_id, NULL), 404);
}

/* Redis loses an undecided command's marker (a restart without its AOF, an
 * eviction): the marker's SET may still be on its way when the 202 arrives,
 * so wait for it, then delete it. */
static void lose_marker(const char *id)
{
    redisContext *c = redis_connect();
    for (int i = 0; i < 50; i++) {
        redisReply *r = redisCommand(c, "EXISTS punyaka:cmd:%s", id);
        int found = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
        freeReplyObject(r);
        if (found)
            break;
        usleep(20 * 1000);
    }
    redisReply *r = redisCommand(c, "DEL punyaka:cmd:%s", id);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    assert_int_equal(r->integer, 1);
    freeReplyObject(r);
    redisFree(c);
}

/* "A command's status never depends on Redis alone" (issue 11): accepted,
 * not yet decided (the workers paused), its marker lost. Before, its owner
 * read 404 until a worker applied it. The id itself now carries a tag only
 * the API can make for this user (api/command.h), so the owner reads
 * "unknown" (and once decided, the outcome); anyone else still reads the 404
 * of an unknown id, no session 401. Both kinds of id: drawn (v7) and
 * derived from an Idempotency-Key. */
static int resume_workers(void **state)   /* also the teardown: a failed assertion leaves none paused */
{
    (void)state;
    it_worker("worker-signal", 1, "CONT");
    it_worker("worker-signal", 2, "CONT");
    return 0;
}

static void test_status_without_marker(void **state)
{
    (void)state;
    char ids[2][64];
    it_worker("worker-signal", 1, "STOP");
    it_worker("worker-signal", 2, "STOP");
    for (int k = 0; k < 2; k++) {
        char extra[160], body[64];
        snprintf(extra, sizeof(extra), "Prefer: respond-async\r\n%s%s%s", k ? "Idempotency-Key: lost-marker-" : "",
                 k ? tag : "", k ? "\r\n" : "");
        snprintf(body, sizeof(body), "{\"last_name\":\"Unmarked%d\"}", k);
        it_response r = call_with("PATCH", "/api/auth/me/", &buyer, body, extra);
        it_expect_status(&r, 202);
        assert_non_null(it_header(&r, "x-command-id", ids[k], sizeof(ids[k])));
        it_response_free(&r);
        lose_marker(ids[k]);

        assert_int_equal(status_as(&buyer, NULL, ids[k], &r), 200);
        assert_string_equal(it_str(r.json, "command_id"), ids[k]);
        assert_string_equal(it_str(r.json, "status"), "unknown");
        assert_true(json_is_null(json_object_get(r.json, "resource")));
        it_response_free(&r);
        expect_private(ids[k]);
        assert_int_equal(status_as(&admin, NULL, ids[k], NULL), 404);   /* an admin is no owner: nothing to show */
    }
    resume_workers(NULL);
    for (int k = 0; k < 2; k++) {
        json_t *user = expect_readable(&buyer, NULL, ids[k]);
        json_decref(user);
        expect_private(ids[k]);
    }
}

/* The same for an anonymous command: undecided (workers paused), marker
 * lost, its owner cookie still names it: "unknown", then the outcome. */
static void test_anonymous_status_without_marker(void **state)
{
    (void)state;
    char body[512], name[64], id[64], value[400], owner[512], other_id[64], other[512];
    register_anonymously("anonpeer", NULL, other_id, other);
    it_worker("worker-signal", 1, "STOP");
    it_worker("worker-signal", 2, "STOP");
    snprintf(name, sizeof(name), "paused%s", tag);
    snprintf(body, sizeof(body),
             "{\"username\":\"%s\",\"email\":\"%s@example.com\",\"password\":\"%s\",\"password_confirm\":\"%s\","
             "\"role\":\"customer\"}",
             name, name, PASSWORD, PASSWORD);
    it_response r = it_post_json("/api/auth/register/", body, "Prefer: respond-async\r\n");
    it_expect_status(&r, 202);
    assert_non_null(it_header(&r, "x-command-id", id, sizeof(id)));
    assert_non_null(it_cookie(&r, "punyaka_cmd", value, sizeof(value), NULL, 0));
    it_response_free(&r);
    snprintf(owner, sizeof(owner), "Cookie: punyaka_cmd=%s\r\n", value);
    lose_marker(id);

    assert_int_equal(status_as(NULL, owner, id, &r), 200);
    assert_string_equal(it_str(r.json, "command_id"), id);
    assert_string_equal(it_str(r.json, "status"), "unknown");
    assert_true(json_is_null(json_object_get(r.json, "resource")));
    it_response_free(&r);
    assert_int_equal(status_as(NULL, other, id, NULL), 404);   /* another client's valid cookie */
    expect_private(id);
    resume_workers(NULL);
    json_t *user = expect_readable(NULL, owner, id);
    assert_string_equal(it_str(user, "username"), name);
    json_decref(user);
    assert_int_equal(status_as(NULL, other, id, NULL), 404);
}

/* Two requests with one key and different bodies at the same instant:
 * exactly one is a command, the other 422; with the same body, both are
 * the same command. */
typedef struct {
    const char *body;
    const char *key;
    pthread_barrier_t *start;
    int status;
    char id[64];
} racer;

static void *race(void *arg)
{
    racer *k = arg;
    char header[160];
    snprintf(header, sizeof(header), "Idempotency-Key: %s\r\nPrefer: respond-async\r\n", k->key);
    pthread_barrier_wait(k->start);
    it_response r = call_with("PATCH", "/api/auth/me/", &buyer, k->body, header);
    k->status = r.status;
    if (!it_header(&r, "x-command-id", k->id, sizeof(k->id)))
        k->id[0] = 0;
    it_response_free(&r);
    return NULL;
}

static void test_concurrent_reuse_is_one_command(void **state)
{
    (void)state;
    for (int round = 0; round < 5; round++) {
        char key[64];
        snprintf(key, sizeof(key), "race-%s-%d", tag, round);
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, 2);
        racer a = {.body = "{\"first_name\":\"Asha\"}", .key = key, .start = &start};
        racer b = {.body = "{\"first_name\":\"Bela\"}", .key = key, .start = &start};
        pthread_t ta, tb;
        pthread_create(&ta, NULL, race, &a);
        pthread_create(&tb, NULL, race, &b);
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
        pthread_barrier_destroy(&start);
        int accepted = (a.status == 202) + (b.status == 202), refused = (a.status == 422) + (b.status == 422);
        if (accepted != 1 || refused != 1)
            fail_msg("round %d: HTTP %d and %d, want one 202 and one 422", round, a.status, b.status);
        assert_true(a.id[0] || b.id[0]);
        assert_false(a.id[0] && b.id[0]);
    }
    /* The same body twice at once: both are the one command. */
    char key[64];
    snprintf(key, sizeof(key), "twice-%s", tag);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, 2);
    racer a = {.body = "{\"first_name\":\"Chandra\"}", .key = key, .start = &start};
    racer b = {.body = "{\"first_name\":\"Chandra\"}", .key = key, .start = &start};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, race, &a);
    pthread_create(&tb, NULL, race, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_barrier_destroy(&start);
    assert_int_equal(a.status, 202);
    assert_int_equal(b.status, 202);
    assert_string_equal(a.id, b.id);
}

/* The key is the stack's: another API process sharing it (as after a
 * restart, or behind a load balancer) maps a key to the same id. */
static void test_same_key_same_id_in_another_api_process(void **state)
{
    (void)state;
    char key[64], header[160], first[64], second[64];
    snprintf(key, sizeof(key), "twin-%s", tag);
    snprintf(header, sizeof(header), "Idempotency-Key: %s\r\nPrefer: respond-async\r\n", key);
    it_response r = call_with("PATCH", "/api/auth/me/", &buyer, "{\"last_name\":\"Twin\"}", header);
    it_expect_status(&r, 202);
    assert_non_null(it_header(&r, "x-command-id", first, sizeof(first)));
    it_response_free(&r);
    pid_t pid = it_api_spawn("api-privacy", NULL);
    assert_true(pid > 0);
    r = call_with("PATCH", "/api/auth/me/", &buyer, "{\"last_name\":\"Twin\"}", header);
    int status = r.status;
    const char *got = it_header(&r, "x-command-id", second, sizeof(second));
    it_response_free(&r);
    it_api_stop(pid);
    assert_int_equal(status, 202);
    assert_non_null(got);
    assert_string_equal(first, second);
}

/* Without a usable PUNYAKA_IDEMPOTENCY_KEY the API does not start. */
static int start_api_with_key(const char *value, char *log, size_t cap)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/api/punyaka-api", it_env("PUNYAKA_BUILD_DIR"));
        dup2(fds[1], 2);
        close(fds[0]);
        if (value)
            setenv("PUNYAKA_IDEMPOTENCY_KEY", value, 1);
        else
            unsetenv("PUNYAKA_IDEMPOTENCY_KEY");
        setenv("PUNYAKA_HTTP_PORT", "1", 1);   /* never reached: refused before listening */
        execl(path, path, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    int st = 0, exited = 0;
    for (int i = 0; i < 100 && !exited; i++) {   /* it must refuse at once: 5 s at most */
        exited = waitpid(pid, &st, WNOHANG) == pid;
        if (!exited)
            usleep(50 * 1000);
    }
    if (!exited) {   /* it started: stop it */
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
    }
    size_t len = 0;
    ssize_t n;
    while (len + 1 < cap && (n = read(fds[0], log + len, cap - len - 1)) > 0)
        len += (size_t)n;
    log[len] = 0;
    close(fds[0]);
    return exited && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_api_refuses_to_start_without_key(void **state)
{
    (void)state;
    char log[4096];
    assert_int_equal(start_api_with_key(NULL, log, sizeof(log)), 1);
    assert_non_null(strstr(log, "PUNYAKA_IDEMPOTENCY_KEY is not set"));
    assert_int_equal(start_api_with_key("abc", log, sizeof(log)), 1);
    assert_non_null(strstr(log, "PUNYAKA_IDEMPOTENCY_KEY must be"));
}

static int setup(void **state)
{
    (void)state;
    snprintf(admin.name, sizeof(admin.name), "cpadmin%s", tag);
    assert_int_equal(it_sign_in_admin(&admin, PASSWORD), 200);
    buyer = sign_up("cpbuyer", "customer", NULL);
    stranger = sign_up("cpstranger", "customer", NULL);
    return 0;
}

int main(void)
{
    if (it_start(tag, sizeof(tag)) != 0 || sodium_init() < 0)
        return 1;
    db = it_db();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checkout_status_is_the_buyers),
        cmocka_unit_test(test_old_derivation_names_nothing),
        cmocka_unit_test(test_key_reused_for_another_body_is_422),
        cmocka_unit_test(test_registration_status_is_the_registrants),
        cmocka_unit_test(test_booking_status_is_the_customers),
        cmocka_unit_test(test_expired_marker),
        cmocka_unit_test(test_anonymous_owner_without_marker),
        cmocka_unit_test_teardown(test_status_without_marker, resume_workers),
        cmocka_unit_test_teardown(test_anonymous_status_without_marker, resume_workers),
        cmocka_unit_test(test_concurrent_reuse_is_one_command),
        cmocka_unit_test(test_same_key_same_id_in_another_api_process),
        cmocka_unit_test(test_api_refuses_to_start_without_key),
    };
    int failed = cmocka_run_group_tests_name("command_privacy", tests, setup, NULL);
    PQfinish(db);
    return failed;
}
