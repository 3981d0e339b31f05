/* it_notifier.c — issue 17's notifier over the real stack: bookings and
 * priest verification driven through the API ⇒ punyaka-notifier (the
 * events topic's second consumer) writes exactly one notification per
 * recipient and kind; the REST API shows each user only their own and
 * marks them read through commands; each notification reaches the SMTP
 * sink as exactly one e-mail (the stack's punyaka-mailer, tests/support/
 * mail_sink.h), none for a user who turned e-mail off; re-consuming the
 * log from offset 0 notifies and mails nobody twice; a booking's status
 * change reaches the customer's open live stream (GET /api/stream/) within
 * a second of being applied, through the real notifier.
 * The shop's events are it_notifier_shop.c. */
#include "tests/support/bookings_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "tests/support/calls.h"
#include "tests/support/commands.h"
#include "tests/support/db.h"
#include "tests/support/http.h"
#include "tests/support/mail_sink.h"
#include "tests/support/sse.h"
#include "tests/support/stack_env.h"

/* Bounds on how long the notifier may take: it may still be working off
 * the suite's earlier load, and in a new group it reads the whole log. */
#define WAIT_MS 30000
#define RECONSUME_WAIT_MS 120000

static PGconn *db;   /* set by bookings_http_main, with admin and service_id */
static it_actor admin;
static int64_t service_id;

/* Waits (≤ wait_ms) until `user` has exactly one notification of `kind`
 * about entity_type:id; fails the test otherwise. */
static void expect_note_within(const it_actor *user, const char *kind, const char *entity_type, int64_t id,
                               int wait_ms)
{
    char u[24], e[24];
    snprintf(u, sizeof(u), "%lld", (long long)user->user_id);
    snprintf(e, sizeof(e), "%lld", (long long)id);
    long long n = it_db_wait_for(db, 1, wait_ms,
                                 "SELECT count(*) FROM notifications WHERE user_id = $1 AND kind = $2"
                                 " AND entity_type = $3 AND entity_id = $4",
                                 u, kind, entity_type, e, NULL);
    if (n != 1)
        fail_msg("%s: %lld notifications %s about %s %s, want 1", user->name, n, kind, entity_type, e);
    int64_t note = it_db_scalar(db, "SELECT id FROM notifications WHERE user_id = $1 AND kind = $2"
                                    " AND entity_type = $3 AND entity_id = $4", u, kind, entity_type, e, NULL);
    const char *wrong = it_sink_check_note(db, note, WAIT_MS);
    if (wrong)
        fail_msg("%s: notification %lld (%s about %s %s): %s", user->name, (long long)note, kind, entity_type, e, wrong);
}

static void expect_note(const it_actor *user, const char *kind, const char *entity_type, int64_t id)
{
    expect_note_within(user, kind, entity_type, id, WAIT_MS);
}

static long long notes_of(const it_actor *user, const char *kind, const char *entity_type, int64_t id)
{
    char u[24], e[24];
    snprintf(u, sizeof(u), "%lld", (long long)user->user_id);
    snprintf(e, sizeof(e), "%lld", (long long)id);
    return it_db_scalar(db,
                        "SELECT count(*) FROM notifications WHERE user_id = $1 AND kind = $2"
                        " AND entity_type = $3 AND entity_id = $4",
                        u, kind, entity_type, e, NULL);
}

static long long total_of(const it_actor *user)
{
    char u[24];
    snprintf(u, sizeof(u), "%lld", (long long)user->user_id);
    return it_db_scalar(db, "SELECT count(*) FROM notifications WHERE user_id = $1", u, NULL);
}

/* The data member `key` of user's one notification of kind about booking id. */
static char *data_of(const it_actor *user, const char *kind, int64_t id, const char *key)
{
    static char out[64];
    char u[24], e[24];
    snprintf(u, sizeof(u), "%lld", (long long)user->user_id);
    snprintf(e, sizeof(e), "%lld", (long long)id);
    const char *params[] = {u, kind, e, key};
    PGresult *r = PQexecParams(db,
                               "SELECT data->>$4 FROM notifications WHERE user_id = $1 AND kind = $2"
                               " AND entity_id = $3",
                               4, NULL, params, NULL, NULL, 0);
    snprintf(out, sizeof(out), "%s",
             PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "(none)");
    PQclear(r);
    return out;
}

static json_t *list(const it_actor *who, const char *query, int *count)
{
    it_response r = it_callf("GET", who, NULL, "/api/notifications/%s", query);
    it_expect_status(&r, 200);
    *count = (int)json_integer_value(json_object_get(r.json, "count"));
    json_t *results = json_incref(json_object_get(r.json, "results"));
    it_response_free(&r);
    return results;
}

static long long unread_count(const it_actor *who)
{
    it_response r = it_call("GET", "/api/notifications/unread_count/", who, NULL);
    it_expect_status(&r, 200);
    long long n = it_num(r.json, "count");
    it_response_free(&r);
    return n;
}

/* Every booking event and priest.verify: one note each, for the right party. */
static void test_booking_life_notifies_each_party(void **state)
{
    (void)state;
    it_actor p = priest(), c = customer();
    expect_note(&p, "priest_verified", "priest", p.priest_id);
    assert_string_equal(data_of(&p, "priest_verified", p.priest_id, "verified"), "true");
    char date[11], later[11];
    local_date(3, date);
    local_date(4, later);

    int64_t id = book(&c, &p, date, "10:00");
    expect_note(&p, "booking_created", "booking", id);
    act_ok(&p, id, "confirm", NULL);
    expect_note(&c, "booking_confirmed", "booking", id);

    /* the customer cancels ≥ 24 h ahead: refunded, and the priest is told */
    int64_t by_customer = book(&c, &p, later, "10:00");
    act_ok(&c, by_customer, "cancel", "{\"reason\":\"travel\"}");
    expect_note(&c, "booking_cancelled", "booking", by_customer);
    expect_note(&p, "booking_cancelled", "booking", by_customer);
    assert_string_equal(data_of(&c, "booking_cancelled", by_customer, "refund"), "refunded");
    assert_string_equal(data_of(&c, "booking_cancelled", by_customer, "cancelled_by"), "customer");

    /* the priest cancels: the customer is told, the priest is not */
    int64_t by_priest = book(&c, &p, later, "14:00");
    act_ok(&p, by_priest, "cancel", "{\"reason\":\"ill\"}");
    expect_note(&c, "booking_cancelled", "booking", by_priest);
    assert_string_equal(data_of(&c, "booking_cancelled", by_priest, "cancelled_by"), "priest");

    int64_t done = it_book_started(db, c.user_id, p.priest_id, service_id, 0);
    assert_true(done > 0);
    act_ok(&p, done, "confirm", NULL);
    act_ok(&p, done, "complete", NULL);
    expect_note(&c, "booking_completed", "booking", done);
    act_ok(&c, done, "customer_confirm", NULL);   /* notifies nobody */
    act_ok(&c, done, "rate", "{\"rating\":4}");
    expect_note(&p, "booking_rated", "booking", done);
    assert_string_equal(data_of(&p, "booking_rated", done, "rating"), "4");

    /* Events are notified in log order: the rating was the last, so every
     * earlier one is done, and nobody got anything twice or extra. */
    assert_int_equal(notes_of(&p, "booking_cancelled", "booking", by_priest), 0);
    assert_int_equal(total_of(&c), 5);   /* 2 × confirmed, 2 × cancelled, completed */
    assert_int_equal(total_of(&p), 7);   /* verified, 4 × created, cancelled, rated */

    /* What the API shows: newest first, the documented shape. */
    int count = 0;
    json_t *results = list(&p, "", &count);
    assert_int_equal(count, 7);
    json_t *newest = json_array_get(results, 0);
    assert_string_equal(it_str(newest, "kind"), "booking_rated");
    json_t *entity = json_object_get(newest, "entity");
    assert_string_equal(it_str(entity, "type"), "booking");
    assert_int_equal(it_num(entity, "id"), done);
    assert_true(json_is_false(json_object_get(newest, "read")));
    assert_true(json_is_null(json_object_get(newest, "read_at")));
    assert_non_null(strstr(it_str(newest, "title"), "4/5"));
    assert_true(json_integer_value(json_object_get(json_object_get(newest, "data"), "rating")) == 4);
    json_t *oldest = json_array_get(results, 6);
    assert_string_equal(it_str(oldest, "kind"), "priest_verified");
    assert_string_equal(it_str(json_object_get(oldest, "entity"), "type"), "priest");
    json_decref(results);
}

/* Nobody sees or marks another user's notifications; read, read_all and
 * unread_count through the API. */
static void test_reading_is_private(void **state)
{
    (void)state;
    it_actor p = priest(), c = customer(), other = customer();
    char date[11];
    local_date(5, date);
    int64_t id = book(&c, &p, date, "09:30");
    expect_note(&p, "booking_created", "booking", id);
    assert_int_equal(unread_count(&p), 2);   /* verified + created */

    int count = -1;
    json_t *results = list(&p, "", &count);
    int64_t created = it_num(json_array_get(results, 0), "id"), verified = it_num(json_array_get(results, 1), "id");
    assert_string_equal(it_str(json_array_get(results, 0), "kind"), "booking_created");
    json_decref(results);
    json_decref(list(&other, "", &count));
    assert_int_equal(count, 0);
    assert_int_equal(unread_count(&other), 0);

    /* someone else's id and one that never was: both 404, nothing changes */
    it_response r = it_callf("POST", &other, NULL, "/api/notifications/%lld/read/", (long long)created);
    it_expect_problem(&r, 404, "not_found", NULL);
    it_response_free(&r);
    r = it_call("POST", "/api/notifications/999999999999/read/", &p, NULL);
    it_expect_problem(&r, 404, "not_found", NULL);
    it_response_free(&r);
    r = it_call("GET", "/api/notifications/", NULL, NULL);
    it_expect_status(&r, 401);
    it_response_free(&r);
    assert_int_equal(unread_count(&p), 2);

    r = it_callf("POST", &p, NULL, "/api/notifications/%lld/read/", (long long)created);
    it_expect_status(&r, 200);
    assert_true(json_is_true(json_object_get(r.json, "read")));
    it_response_free(&r);
    assert_int_equal(unread_count(&p), 1);
    results = list(&p, "?unread=true", &count);
    assert_int_equal(count, 1);
    assert_int_equal(it_num(json_array_get(results, 0), "id"), verified);
    json_decref(results);
    results = list(&p, "?page_size=1", &count);
    assert_int_equal(count, 2);
    assert_true(json_is_true(json_object_get(json_array_get(results, 0), "read")));
    assert_true(json_is_string(json_object_get(json_array_get(results, 0), "read_at")));
    json_decref(results);

    r = it_call("POST", "/api/notifications/read_all/", &p, "{\"up_to_id\":\"x\"}");
    it_expect_problem(&r, 422, "validation_error", "up_to_id");
    it_response_free(&r);
    r = it_call("POST", "/api/notifications/read_all/", &p, NULL);
    it_expect_status(&r, 200);
    assert_int_equal(it_num(r.json, "up_to_id"), created);
    it_response_free(&r);
    assert_int_equal(unread_count(&p), 0);
    r = it_call("POST", "/api/notifications/read_all/", &other, NULL);   /* nothing to mark */
    it_expect_status(&r, 200);
    it_response_free(&r);
}

/* One notification_emails row per notification of a user with e-mail on,
 * none for a user who turned it off. */
static void test_email_outbox_follows_the_preference(void **state)
{
    (void)state;
    it_actor p = priest(), c = customer();
    char uid[24], date[11];
    snprintf(uid, sizeof(uid), "%lld", (long long)c.user_id);
    it_response r = it_call("PATCH", "/api/auth/me/", &c, "{\"email_notifications\": false}");
    it_expect_status(&r, 200);
    it_response_free(&r);
    local_date(6, date);
    int64_t id = book(&c, &p, date, "09:30");
    act_ok(&p, id, "confirm", NULL);
    expect_note(&c, "booking_confirmed", "booking", id);
    char bid[24], pid[24];
    snprintf(bid, sizeof(bid), "%lld", (long long)id);
    snprintf(pid, sizeof(pid), "%lld", (long long)p.user_id);
    const char *sql = "SELECT count(*) FROM notification_emails e JOIN notifications n ON n.id = e.notification_id"
                      " WHERE n.user_id = $1 AND n.entity_id = $2"
                      " AND e.to_address = (SELECT email FROM users WHERE id = $1)";
    assert_int_equal(it_db_scalar(db, sql, pid, bid, NULL), 1);   /* booking_created, e-mail on (the default) */
    assert_int_equal(it_db_scalar(db, sql, uid, bid, NULL), 0);
    assert_int_equal(total_of(&c), 1);   /* in-app notifications always exist */
    r = it_call("PATCH", "/api/auth/me/", &c, "{\"email_notifications\": true}");
    it_expect_status(&r, 200);
    it_response_free(&r);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM users WHERE id = $1 AND email_notifications", uid, NULL), 1);
}

/* The value of one sample on the notifier's /metrics, or -1. */
static long long notifier_metric(const char *sample)
{
    it_response r = it_http_port(it_env("PUNYAKA_NOTIFIER_METRICS_PORT"), "GET", "/metrics", NULL);
    long long v = -1;
    char needle[160];
    snprintf(needle, sizeof(needle), "\n%s ", sample);
    const char *at = r.status == 200 && r.body ? strstr(r.body, needle) : NULL;
    if (at)
        v = strtoll(at + strlen(needle), NULL, 10);
    it_response_free(&r);
    return v;
}

static void restart_notifier(const char *group)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s%s %s/scripts/lib/stack.sh restart %s notifier >/dev/null 2>&1",
             group ? "PUNYAKA_NOTIFIER_GROUP_ID=" : "", group ? group : "", it_env("PUNYAKA_SOURCE_DIR"),
             it_env("PUNYAKA_STACK_DIR"));
    assert_int_equal(system(cmd), 0);
}

/* A notifier in a new consumer group reads the whole log again from the
 * first offset: notified_events makes every old event a no-op. */
static void test_reconsuming_notifies_nobody_twice(void **state)
{
    (void)state;
    it_actor p = priest(), c = customer();
    char date[11], group[64];
    local_date(7, date);
    expect_note(&p, "priest_verified", "priest", p.priest_id);
    assert_int_equal(it_sink_wait_idle(db, WAIT_MS), 0);
    int dup = 0, sent = it_sink_total(&dup);
    assert_int_equal(dup, 0);
    long long notes = it_db_scalar(db, "SELECT count(*) FROM notifications", NULL);
    long long mails = it_db_scalar(db, "SELECT count(*) FROM notification_emails", NULL);
    assert_true(notes > 0);
    assert_true(sent > 0);
    snprintf(group, sizeof(group), "punyaka-notifier-again-%s", bookings_http_tag);
    restart_notifier(group);
    /* The log has one partition: once this new event is notified, every
     * older one has been consumed again. */
    int64_t id = book(&c, &p, date, "09:30");
    expect_note_within(&p, "booking_created", "booking", id, RECONSUME_WAIT_MS);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM notifications", NULL), notes + 1);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM notification_emails", NULL), mails + 1);
    /* …and the SMTP sink got that one mail more: nothing old went out again */
    assert_int_equal(it_sink_wait_idle(db, WAIT_MS), 0);
    assert_int_equal(it_sink_total(&dup), sent + 1);
    assert_int_equal(dup, 0);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM notification_emails WHERE status = 'sent'", NULL), sent + 1);
    /* this notifier saw the old events again and wrote nothing for them */
    assert_true(notifier_metric("punyaka_notifier_events_total{result=\"duplicate\"}") > 0);
    assert_true(notifier_metric("punyaka_notifier_notifications_total") >= 1);
    char lag[160];
    snprintf(lag, sizeof(lag), "punyaka_worker_consumer_lag{topic=\"%sevents\",partition=\"0\"}",
             it_env("PUNYAKA_TOPIC_PREFIX"));
    assert_true(notifier_metric(lag) >= 0);
    restart_notifier(NULL);   /* back in its own group, from its committed offset */
}

/* The whole live path: the priest confirms ⇒ worker ⇒ journal ⇒ relay ⇒
 * events topic ⇒ punyaka-notifier ⇒ PUBLISH ⇒ the customer's open stream,
 * within a second of the command being applied (the API answered). */
static void test_status_change_reaches_an_open_stream(void **state)
{
    (void)state;
    it_actor p = priest(), c = customer();
    char date[11];
    local_date(9, date);
    int64_t id = book(&c, &p, date, "11:30");
    expect_note(&p, "booking_created", "booking", id);   /* the notifier is caught up */
    sse s;
    assert_int_equal(sse_open(&s, &c, "/api/stream/", NULL), 200);
    sse_event ev;
    assert_int_equal(sse_next(&s, 3000, &ev), 1);
    assert_string_equal(ev.event, "hello");
    act_ok(&p, id, "confirm", NULL);
    long long applied = sse_now_ms();
    assert_int_equal(sse_next(&s, 1000, &ev), 1);
    long long took = sse_now_ms() - applied;
    assert_string_equal(ev.event, "notification");
    json_t *n = json_loads(ev.data, 0, NULL);
    assert_non_null(n);
    assert_int_equal(it_num(n, "id"), ev.id);
    assert_string_equal(it_str(n, "kind"), "booking_confirmed");
    assert_int_equal(it_num(json_object_get(n, "entity"), "id"), id);
    assert_true(json_is_false(json_object_get(n, "read")));
    json_decref(n);
    print_message("booking confirmed ⇒ the customer's stream: %lld ms\n", took);
    assert_true(took <= 1000);
    sse_close(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_booking_life_notifies_each_party),
        cmocka_unit_test(test_reading_is_private),
        cmocka_unit_test(test_email_outbox_follows_the_preference),
        cmocka_unit_test(test_status_change_reaches_an_open_stream),
        cmocka_unit_test(test_reconsuming_notifies_nobody_twice),
    };
    return bookings_http_main("notifier", tests, sizeof(tests) / sizeof(tests[0]), &db, &admin, &service_id);
}
