/* it_stream.c — issue 17 "live updates": GET /api/stream/ (api/stream.h).
 *
 * Notifications are produced the way punyaka-notifier does (common/live.h):
 * a row INSERTed into `notifications`, then the recipient's user id
 * PUBLISHed on PK_LIVE_CHANNEL. The stream is read over a plain HTTP/1.1
 * socket (chunked, as a browser's EventSource gets it). Checked: a row
 * reaches an open stream within a second; another user's row never does;
 * Last-Event-ID (and ?last_event_id=) resumes with exactly the missed rows;
 * without a wake-up the periodic re-check still delivers (a spare API with
 * PUNYAKA_LIVE_RECHECK_MS=500), logging out ends the stream at the next
 * re-check, and a SIGTERM ends open streams and exits cleanly; HTTP/2 (curl,
 * prior knowledge) resumes the same way; 401 without
 * a session; the per-user bound (a fifth stream ends the oldest); forged
 * wake-ups do nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <sodium.h>
#include "common/config.h"
#include "common/live.h"
#include "tests/support/calls.h"
#include "tests/support/db.h"
#include "tests/support/http.h"
#include "tests/support/procs.h"
#include "tests/support/sse.h"
#include "tests/support/stack_env.h"

#define PASSWORD "Tulsi-leaf-42"

static PGconn *db;
static char tag[16];
static redisContext *redis;
static long long event_seq;

/* ---- people, rows, wake-ups ---- */

static it_actor sign_up(const char *base)
{
    static int n;
    it_actor a = {0};
    snprintf(a.name, sizeof(a.name), "%s%s%d", base, tag, ++n);
    assert_int_equal(it_sign_up(&a, "customer", PASSWORD, NULL), 201);
    return a;
}

/* A notification row for `user` about booking `booking`, as the notifier writes it; its id. */
static long long insert_row(const it_actor *user, long long booking, const char *title)
{
    char uid[24], bid[24], seq[24];
    snprintf(uid, sizeof(uid), "%lld", (long long)user->user_id);
    snprintf(bid, sizeof(bid), "%lld", booking);
    snprintf(seq, sizeof(seq), "%lld", ++event_seq);
    return it_db_scalar(db,
                        "INSERT INTO notifications (user_id, kind, entity_type, entity_id, title, body, data,"
                        " event_seq, created_at) VALUES ($1, 'booking_created', 'booking', $2, $3,"
                        " 'Line one\nline two', '{\"status\": \"pending\"}', $4, now()) RETURNING id",
                        uid, bid, title, seq, NULL);
}

static void publish(const char *payload)
{
    redisReply *r = redisCommand(redis, "PUBLISH %s %b", PK_LIVE_CHANNEL, payload, strlen(payload));
    assert_non_null(r);
    assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
    freeReplyObject(r);
}

static void wake(const it_actor *user)
{
    char uid[24];
    snprintf(uid, sizeof(uid), "%lld", (long long)user->user_id);
    publish(uid);
}

/* Opens `who`'s stream (fresh: hello first) and returns the hello's unread count. */
static long long open_fresh(sse *c, const it_actor *who)
{
    assert_int_equal(sse_open(c, who, "/api/stream/", NULL), 200);
    sse_event ev;
    assert_int_equal(sse_next(c, 3000, &ev), 1);
    assert_string_equal(ev.event, "hello");
    json_t *j = json_loads(ev.data, 0, NULL);
    assert_non_null(j);
    long long unread = it_num(j, "unread");
    json_decref(j);
    return unread;
}

/* The next event must be notification `id` within timeout_ms. */
static void expect_row(sse *c, long long id, int timeout_ms)
{
    sse_event ev;
    int got = sse_next(c, timeout_ms, &ev);
    if (got != 1)
        fail_msg("no event within %d ms (wanted notification %lld)", timeout_ms, id);
    assert_string_equal(ev.event, "notification");
    assert_int_equal(ev.id, id);
    json_t *j = json_loads(ev.data, 0, NULL);
    assert_non_null(j);
    assert_int_equal(it_num(j, "id"), id);
    assert_string_equal(it_str(j, "kind"), "booking_created");
    assert_string_equal(it_str(json_object_get(j, "entity"), "type"), "booking");
    assert_string_equal(it_str(j, "body"), "Line one\nline two");
    assert_string_equal(it_str(json_object_get(j, "data"), "status"), "pending");
    assert_true(json_is_false(json_object_get(j, "read")));
    assert_true(json_is_null(json_object_get(j, "read_at")));
    assert_non_null(strchr(it_str(j, "created_at"), 'T'));
    json_decref(j);
}

static void expect_nothing(sse *c, int ms)
{
    sse_event ev;
    int got = sse_next(c, ms, &ev);
    if (got == 1)
        fail_msg("unexpected event %s id %lld: %s", ev.event, ev.id, ev.data);
    assert_int_equal(got, -1);   /* and the stream is still open */
}

/* ---- tests ---- */

static void test_anonymous_is_401_and_bad_resume_point_422(void **state)
{
    (void)state;
    it_response r = it_http("GET", "/api/stream/", NULL, NULL, 0);
    it_expect_problem(&r, 401, "not_authenticated", NULL);
    it_response_free(&r);
    it_actor a = sign_up("stream");
    r = it_call("GET", "/api/stream/?last_event_id=x1", &a, NULL);
    it_expect_problem(&r, 422, "validation_error", "last_event_id");
    it_response_free(&r);
}

static void test_row_arrives_within_a_second_and_only_its_users(void **state)
{
    (void)state;
    it_actor a = sign_up("streama"), b = sign_up("streamb");
    insert_row(&a, 7, "old one");   /* before the stream: counted, never sent */
    sse c;
    assert_int_equal(open_fresh(&c, &a), 1);
    long long id = insert_row(&a, 42, "New booking");
    long long t0 = sse_now_ms();
    wake(&a);
    expect_row(&c, id, 1000);
    assert_true(sse_now_ms() - t0 < 1000);
    /* b's row, woken for b and (forged) for a: a's stream sends nothing. */
    insert_row(&b, 43, "not yours");
    wake(&b);
    wake(&a);
    expect_nothing(&c, 700);
    sse_close(&c);
}

static void test_resume_sends_exactly_the_missed_rows(void **state)
{
    (void)state;
    it_actor a = sign_up("resume");
    long long r1 = insert_row(&a, 1, "one"), r2 = insert_row(&a, 2, "two"), r3 = insert_row(&a, 3, "three");
    sse c;
    char hdr[64];
    snprintf(hdr, sizeof(hdr), "Last-Event-ID: %lld\r\n", r1);
    assert_int_equal(sse_open(&c, &a, "/api/stream/", hdr), 200);
    expect_row(&c, r2, 2000);   /* no hello on a resume */
    expect_row(&c, r3, 2000);
    expect_nothing(&c, 500);
    sse_close(&c);
    char path[64];
    snprintf(path, sizeof(path), "/api/stream/?last_event_id=%lld", r2);
    assert_int_equal(sse_open(&c, &a, path, NULL), 200);
    expect_row(&c, r3, 2000);
    expect_nothing(&c, 300);
    sse_close(&c);
}

/* More than a batch (100) missed: all of them, in order. */
static void test_resume_after_many_rows(void **state)
{
    (void)state;
    it_actor a = sign_up("many");
    long long first = insert_row(&a, 1, "n"), last = first;
    for (int i = 0; i < 130; i++)
        last = insert_row(&a, 1, "n");
    sse c;
    char hdr[64];
    snprintf(hdr, sizeof(hdr), "Last-Event-ID: %lld\r\n", first);
    assert_int_equal(sse_open(&c, &a, "/api/stream/", hdr), 200);
    long long want = first, count = 0;
    sse_event ev;
    while (want < last && sse_next(&c, 3000, &ev) == 1) {
        assert_true(ev.id > want);
        want = ev.id;
        count++;
    }
    assert_int_equal(want, last);
    assert_int_equal(count, 130);
    sse_close(&c);
}

/* A fifth stream of one user ends the oldest (after `event: closed`); the
 * four left all receive the next row. */
static void test_per_user_bound(void **state)
{
    (void)state;
    it_actor a = sign_up("bound");
    sse c[5], extra;
    for (int i = 0; i < 4; i++)
        open_fresh(&c[i], &a);
    open_fresh(&c[4], &a);
    sse_event ev;
    assert_int_equal(sse_next(&c[0], 3000, &ev), 1);
    assert_string_equal(ev.event, "closed");
    assert_non_null(strstr(ev.data, "too_many_streams"));
    assert_int_equal(sse_next(&c[0], 3000, &ev), 0);   /* and it ended */
    sse_close(&c[0]);
    /* Another user is not limited by a's streams. */
    it_actor b = sign_up("boundb");
    open_fresh(&extra, &b);
    sse_close(&extra);
    long long id = insert_row(&a, 5, "to all four");
    wake(&a);
    for (int i = 1; i < 5; i++) {
        expect_row(&c[i], id, 1000);
        sse_close(&c[i]);
    }
}

/* Forged wake-ups: not a user id, a user without rows, a user with no
 * stream. Nothing reaches the open stream, the API keeps serving, and a
 * real wake-up still works afterwards. */
static void test_forged_wakeups_are_harmless(void **state)
{
    (void)state;
    it_actor a = sign_up("forged"), nobody = sign_up("quiet");
    sse c;
    open_fresh(&c, &a);
    const char *junk[] = {"abc", "", "0", "-1", "012", "99999999999999999999", "1 OR 1=1", "{\"user\":1}"};
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
        publish(junk[i]);
    char uid[24];
    snprintf(uid, sizeof(uid), "%lld", (long long)a.user_id);
    publish(uid);   /* a's id, but a has no new row */
    wake(&nobody);
    expect_nothing(&c, 500);
    it_response h = it_http("GET", "/healthz", NULL, NULL, 0);
    assert_int_equal(h.status, 200);
    it_response_free(&h);
    long long id = insert_row(&a, 9, "real");
    wake(&a);
    expect_row(&c, id, 1000);
    sse_close(&c);
}

/* HTTP/2 (prior knowledge, as h2c): the same stream, read by curl for 2 s. */
static void test_http2(void **state)
{
    (void)state;
    it_actor a = sign_up("h2");
    long long r1 = insert_row(&a, 1, "one"), r2 = insert_row(&a, 2, "two");
    const char *cookie = strstr(a.headers, "Cookie: ");
    assert_non_null(cookie);
    char line[256], cmd[1024];
    snprintf(line, sizeof(line), "%.*s", (int)strcspn(cookie, "\r\n"), cookie);
    snprintf(cmd, sizeof(cmd),
             "curl -sS --http2-prior-knowledge -N --max-time 2 -D - -H '%s' -H 'Last-Event-ID: %lld'"
             " http://127.0.0.1:%s/api/stream/ 2>/dev/null",
             line, r1, it_env("PUNYAKA_HTTP_PORT"));
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    static char out[16384];
    size_t n = fread(out, 1, sizeof(out) - 1, f);
    out[n] = 0;
    pclose(f);   /* curl ends at --max-time: the stream is still open */
    assert_non_null(strstr(out, "HTTP/2 200"));
    assert_non_null(strstr(out, "content-type: text/event-stream"));
    char want[64];
    snprintf(want, sizeof(want), "id: %lld\nevent: notification\n", r2);
    assert_non_null(strstr(out, want));
    snprintf(want, sizeof(want), "id: %lld\n", r1);
    assert_null(strstr(out, want));
}

/* A spare API re-checking every 500 ms: a row without a wake-up arrives;
 * logging out ends the stream; SIGTERM ends the streams and exits 0. */
static void test_recheck_delivers_without_wakeup(void **state)
{
    (void)state;
    it_actor a = sign_up("recheck"), b = sign_up("recheckb");
    const char *env[] = {"PUNYAKA_LIVE_RECHECK_MS=500", NULL};
    pid_t pid = it_api_spawn("api-stream", env);
    assert_true(pid > 0);
    sse c, d;
    open_fresh(&c, &a);
    open_fresh(&d, &b);
    long long id = insert_row(&a, 11, "no wake-up");
    expect_row(&c, id, 2500);
    /* a logs out: the next re-check ends a's stream. */
    it_response r = it_call("POST", "/api/auth/logout/", &a, "{}");
    assert_true(r.status == 200 || r.status == 204);
    it_response_free(&r);
    sse_event ev;
    assert_int_equal(sse_next(&c, 3000, &ev), 0);
    sse_close(&c);
    /* Shutdown ends b's open stream and the API exits cleanly. */
    assert_int_equal(it_api_stop(pid), 0);
    assert_int_equal(sse_next(&d, 3000, &ev), 0);
    sse_close(&d);
}

static int setup(void **state)
{
    (void)state;
    pk_redis_addr addr;
    if (pk_redis_addr_parse(it_env("REDIS_URL"), &addr) != 0)
        return -1;
    redis = redisConnect(addr.host, addr.port);
    if (!redis || redis->err)
        return -1;
    if (addr.password[0]) {
        redisReply *r = addr.user[0] ? redisCommand(redis, "AUTH %s %s", addr.user, addr.password)
                                     : redisCommand(redis, "AUTH %s", addr.password);
        if (!r || r->type == REDIS_REPLY_ERROR)
            return -1;
        freeReplyObject(r);
    }
    /* event_seq is unique per (user, kind): far above any real journal seq. */
    event_seq = 4000000000000000000LL + (long long)randombytes_uniform(1000000000) * 1000;
    return 0;
}

int main(void)
{
    if (it_start(tag, sizeof(tag)) != 0)
        return 1;
    db = it_db();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_anonymous_is_401_and_bad_resume_point_422),
        cmocka_unit_test(test_row_arrives_within_a_second_and_only_its_users),
        cmocka_unit_test(test_resume_sends_exactly_the_missed_rows),
        cmocka_unit_test(test_resume_after_many_rows),
        cmocka_unit_test(test_per_user_bound),
        cmocka_unit_test(test_forged_wakeups_are_harmless),
        cmocka_unit_test(test_http2),
        cmocka_unit_test(test_recheck_delivers_without_wakeup),
    };
    int failed = cmocka_run_group_tests_name("stream", tests, setup, NULL);
    if (redis)
        redisFree(redis);
    PQfinish(db);
    return failed;
}
