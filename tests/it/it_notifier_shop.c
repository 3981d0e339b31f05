/* it_notifier_shop.c — issue 17's notifier for the shop's events: a
 * checkout, an admin's status change and the customer's cancellation each
 * give the order's user exactly one notification (order_placed,
 * order_status with data.status) and its one e-mail in the SMTP sink, and
 * nobody else anything. The booking
 * events are it_notifier.c. */
#include "tests/support/shop_http.h"

#include <stdio.h>
#include <string.h>
#include <jansson.h>
#include "tests/support/calls.h"
#include "tests/support/db.h"
#include "tests/support/http.h"
#include "tests/support/mail_sink.h"

#define WAIT_MS 30000   /* the notifier may still be working off the suite's earlier load */

static PGconn *db;   /* set by shop_http_main, with admin */
static it_actor admin;

/* How many notifications user has of kind about order id whose data.status
 * is `status` (NULL: any), after waiting (bounded) for `want`. */
static long long wait_notes(const it_actor *user, const char *kind, int64_t id, const char *status, long long want)
{
    char u[24], e[24];
    snprintf(u, sizeof(u), "%lld", (long long)user->user_id);
    snprintf(e, sizeof(e), "%lld", (long long)id);
    long long n = it_db_wait_for(db, want, WAIT_MS,
                                 "SELECT count(*) FROM notifications WHERE user_id = $1 AND kind = $2"
                                 " AND entity_type = 'order' AND entity_id = $3 AND ($4 = '' OR data->>'status' = $4)",
                                 u, kind, e, status ? status : "", NULL);
    if (n == 1) {   /* …and its one e-mail reached the SMTP sink (tests/support/mail_sink.h) */
        int64_t note = it_db_scalar(db, "SELECT id FROM notifications WHERE user_id = $1 AND kind = $2"
                                        " AND entity_type = 'order' AND entity_id = $3 AND ($4 = '' OR data->>'status' = $4)",
                                        u, kind, e, status ? status : "", NULL);
        const char *wrong = it_sink_check_note(db, note, WAIT_MS);
        if (wrong)
            fail_msg("%s: notification %lld (%s about order %s): %s", user->name, (long long)note, kind, e, wrong);
    }
    return n;
}

static long long total_of(const it_actor *user)
{
    char u[24];
    snprintf(u, sizeof(u), "%lld", (long long)user->user_id);
    return it_db_scalar(db, "SELECT count(*) FROM notifications WHERE user_id = $1", u, NULL);
}

static int64_t place_order(const it_actor *c, int64_t product)
{
    add_ok(c, product, 1);
    it_response r = checkout(c);
    it_expect_status(&r, 201);
    int64_t id = it_num(r.json, "id");
    it_response_free(&r);
    return id;
}

static void set_status(int64_t order, const char *status)
{
    char body[64];
    snprintf(body, sizeof(body), "{\"status\":\"%s\"}", status);
    it_response r = it_callf("POST", &admin, body, "/api/admin/orders/%lld/status/", (long long)order);
    it_expect_status(&r, 200);
    it_response_free(&r);
}

static void test_orders_notify_their_user(void **state)
{
    (void)state;
    it_actor c = customer(), other = customer();
    int64_t product = create_product("bell", "120.00", 10);

    int64_t shipped = place_order(&c, product);
    assert_int_equal(wait_notes(&c, "order_placed", shipped, "pending", 1), 1);
    set_status(shipped, "confirmed");
    set_status(shipped, "shipped");
    assert_int_equal(wait_notes(&c, "order_status", shipped, "shipped", 1), 1);
    assert_int_equal(wait_notes(&c, "order_status", shipped, "confirmed", 1), 1);

    int64_t cancelled = place_order(&c, product);
    it_response r = it_callf("POST", &c, NULL, "/api/orders/%lld/cancel/", (long long)cancelled);
    it_expect_status(&r, 200);
    it_response_free(&r);
    assert_int_equal(wait_notes(&c, "order_status", cancelled, "cancelled", 1), 1);

    /* cancelling again is rejected: rejections notify nobody */
    r = it_callf("POST", &c, NULL, "/api/orders/%lld/cancel/", (long long)cancelled);
    it_expect_status(&r, 409);
    it_response_free(&r);
    int64_t last = place_order(&other, product);   /* after the rejection in the log */
    assert_int_equal(wait_notes(&other, "order_placed", last, NULL, 1), 1);

    assert_int_equal(total_of(&c), 5);   /* 2 × placed, confirmed, shipped, cancelled */
    assert_int_equal(total_of(&other), 1);
    assert_int_equal(total_of(&admin), 0);   /* the actor of a status change is not told */

    /* the API shows the order's notification with its number */
    r = it_call("GET", "/api/notifications/?page_size=1", &other, NULL);
    it_expect_status(&r, 200);
    json_t *note = json_array_get(json_object_get(r.json, "results"), 0);
    assert_string_equal(it_str(note, "kind"), "order_placed");
    assert_int_equal(it_num(json_object_get(note, "entity"), "id"), last);
    assert_non_null(strstr(it_str(note, "title"), it_str(json_object_get(note, "data"), "order_number")));
    it_response_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_orders_notify_their_user),
    };
    return shop_http_main("notifier_shop", tests, sizeof(tests) / sizeof(tests[0]), &db, &admin, NULL, NULL);
}
