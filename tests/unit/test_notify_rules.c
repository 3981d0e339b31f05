/* test_notify_rules.c — events ⇒ notifications (common/notify_rules.h):
 * who is told, with which kind, text and data; who is never told. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "common/notify_rules.h"

#define CUSTOMER 11
#define PRIEST_USER 22

static nr_facts booking(const char *type, int64_t actor)
{
    return (nr_facts){.type = type, .actor_id = actor, .entity_id = 42, .customer_id = CUSTOMER,
                      .priest_user_id = PRIEST_USER, .service_name = "Satyanarayan Puja",
                      .booking_date = "2026-12-20", .booking_time = "09:30", .payment_status = "partial"};
}

static const char *data_str(const nr_note *n, const char *key)
{
    const char *v = json_string_value(json_object_get(n->data, key));
    return v ? v : "(missing)";
}

/* One note, for `user`, of `kind`, about entity_type 42. */
static void expect_one(const nr_facts *f, int64_t user, const char *kind, const char *entity_type, nr_note *out)
{
    assert_int_equal(nr_derive(f, out), 1);
    assert_int_equal(out[0].user_id, user);
    assert_string_equal(out[0].kind, kind);
    assert_string_equal(out[0].entity_type, entity_type);
    assert_int_equal(out[0].entity_id, 42);
    assert_true(out[0].title[0] && out[0].body[0]);
}

static void test_only_applied_events_of_the_table(void **state)
{
    (void)state;
    assert_int_equal(nr_entity_for("booking.create", "applied"), NR_ENTITY_BOOKING);
    assert_int_equal(nr_entity_for("order.cancel", "applied"), NR_ENTITY_ORDER);
    assert_int_equal(nr_entity_for("priest.verify", "applied"), NR_ENTITY_PRIEST);
    assert_int_equal(nr_entity_for("booking.create", "rejected"), NR_ENTITY_NONE);
    assert_int_equal(nr_entity_for("booking.customer_confirm", "applied"), NR_ENTITY_NONE);
    assert_int_equal(nr_entity_for("notification.read", "applied"), NR_ENTITY_NONE);
    assert_int_equal(nr_entity_for("notification.read_all", "applied"), NR_ENTITY_NONE);
    assert_int_equal(nr_entity_for("user.register", "applied"), NR_ENTITY_NONE);
    assert_int_equal(nr_entity_for(NULL, NULL), NR_ENTITY_NONE);
    nr_facts f = {.type = "product.create", .entity_id = 42, .customer_id = CUSTOMER};
    nr_note out[NR_MAX_NOTES];
    assert_int_equal(nr_derive(&f, out), 0);
}

static void test_new_booking_tells_the_priest(void **state)
{
    (void)state;
    nr_facts f = booking("booking.create", CUSTOMER);
    nr_note out[NR_MAX_NOTES];
    expect_one(&f, PRIEST_USER, "booking_created", "booking", out);
    assert_string_equal(out[0].title, "New booking: Satyanarayan Puja on 2026-12-20 at 09:30");
    assert_string_equal(data_str(&out[0], "status"), "pending");
    assert_string_equal(data_str(&out[0], "booking_time"), "09:30");
    nr_notes_free(out, 1);
}

static void test_confirm_complete_tell_the_customer(void **state)
{
    (void)state;
    nr_note out[NR_MAX_NOTES];
    nr_facts f = booking("booking.confirm", PRIEST_USER);
    expect_one(&f, CUSTOMER, "booking_confirmed", "booking", out);
    assert_string_equal(data_str(&out[0], "status"), "confirmed");
    nr_notes_free(out, 1);
    f = booking("booking.complete", PRIEST_USER);
    expect_one(&f, CUSTOMER, "booking_completed", "booking", out);
    assert_string_equal(data_str(&out[0], "status"), "completed");
    nr_notes_free(out, 1);
}

static void test_customer_cancel_tells_both_with_the_refund(void **state)
{
    (void)state;
    nr_note out[NR_MAX_NOTES];
    nr_facts f = booking("booking.cancel", CUSTOMER);
    f.payment_status = "advance_retained";
    assert_int_equal(nr_derive(&f, out), 2);
    assert_int_equal(out[0].user_id, CUSTOMER);
    assert_string_equal(out[0].kind, "booking_cancelled");
    assert_string_equal(data_str(&out[0], "refund"), "advance_kept");
    assert_string_equal(data_str(&out[0], "cancelled_by"), "customer");
    assert_non_null(strstr(out[0].body, "cancellation fee"));
    assert_int_equal(out[1].user_id, PRIEST_USER);
    assert_string_equal(out[1].kind, "booking_cancelled");
    assert_null(json_object_get(out[1].data, "refund"));   /* the customer's money is not the priest's business */
    nr_notes_free(out, 2);
}

static void test_priest_cancel_tells_the_customer_only(void **state)
{
    (void)state;
    nr_note out[NR_MAX_NOTES];
    nr_facts f = booking("booking.cancel", PRIEST_USER);
    f.refunded = true;   /* from the event's money rows, whatever the row says now */
    expect_one(&f, CUSTOMER, "booking_cancelled", "booking", out);
    assert_string_equal(data_str(&out[0], "refund"), "refunded");
    assert_string_equal(data_str(&out[0], "cancelled_by"), "priest");
    nr_notes_free(out, 1);
    f.refunded = false;
    f.payment_status = "refunded";
    assert_string_equal(nr_refund_decision(&f), "refunded");
}

static void test_rating_tells_the_priest(void **state)
{
    (void)state;
    nr_note out[NR_MAX_NOTES];
    nr_facts f = booking("booking.rate", CUSTOMER);
    f.rating = 4;
    expect_one(&f, PRIEST_USER, "booking_rated", "booking", out);
    assert_int_equal(json_integer_value(json_object_get(out[0].data, "rating")), 4);
    assert_string_equal(out[0].title, "New rating: 4/5 for Satyanarayan Puja");
    nr_notes_free(out, 1);
}

static void test_orders_tell_their_user(void **state)
{
    (void)state;
    nr_note out[NR_MAX_NOTES];
    nr_facts f = {.type = "order.checkout", .actor_id = 5, .entity_id = 42, .order_user_id = 5,
                  .order_number = "PNY-1"};
    expect_one(&f, 5, "order_placed", "order", out);
    assert_string_equal(data_str(&out[0], "order_number"), "PNY-1");
    nr_notes_free(out, 1);
    f.type = "order.set_status";
    f.actor_id = 1;   /* the admin: the order's user is told, not the actor */
    f.order_status = "shipped";
    expect_one(&f, 5, "order_status", "order", out);
    assert_string_equal(data_str(&out[0], "status"), "shipped");
    assert_string_equal(out[0].title, "Order PNY-1: shipped");
    nr_notes_free(out, 1);
    f.type = "order.cancel";
    f.order_status = NULL;
    expect_one(&f, 5, "order_status", "order", out);
    assert_string_equal(data_str(&out[0], "status"), "cancelled");
    nr_notes_free(out, 1);
}

static void test_verification_tells_the_priest(void **state)
{
    (void)state;
    nr_note out[NR_MAX_NOTES];
    nr_facts f = {.type = "priest.verify", .actor_id = 1, .entity_id = 42, .priest_user_id = PRIEST_USER,
                  .verified = true};
    expect_one(&f, PRIEST_USER, "priest_verified", "priest", out);
    assert_true(json_is_true(json_object_get(out[0].data, "verified")));
    nr_notes_free(out, 1);
    f.verified = false;
    expect_one(&f, PRIEST_USER, "priest_verified", "priest", out);
    assert_true(json_is_false(json_object_get(out[0].data, "verified")));
    nr_notes_free(out, 1);
}

static void test_unknown_recipient_is_nobody(void **state)
{
    (void)state;
    nr_note out[NR_MAX_NOTES];
    nr_facts f = booking("booking.create", CUSTOMER);
    f.priest_user_id = 0;   /* the row was not found */
    assert_int_equal(nr_derive(&f, out), 0);
    f = booking("booking.cancel", CUSTOMER);
    f.customer_id = 0;
    f.actor_id = 0;
    assert_int_equal(nr_derive(&f, out), 0);   /* nobody known cancelled: nobody is told */
}

static void test_long_names_are_cut_not_overrun(void **state)
{
    (void)state;
    char name[600];
    memset(name, 'x', sizeof(name) - 1);
    name[sizeof(name) - 1] = 0;
    nr_note out[NR_MAX_NOTES];
    nr_facts f = booking("booking.create", CUSTOMER);
    f.service_name = name;
    assert_int_equal(nr_derive(&f, out), 1);
    assert_int_equal(strlen(out[0].title), NR_TITLE_MAX - 1);
    assert_int_equal(strlen(out[0].body), NR_BODY_MAX - 1);
    assert_string_equal(data_str(&out[0], "service"), name);
    nr_notes_free(out, 1);
}

static void test_cut_keeps_whole_characters(void **state)
{
    (void)state;
    char name[600] = "";
    while (strlen(name) + 3 < sizeof(name))
        strcat(name, "\xe0\xa4\xaa");   /* प: three bytes each */
    nr_note out[NR_MAX_NOTES];
    nr_facts f = booking("booking.create", CUSTOMER);
    f.service_name = name;
    assert_int_equal(nr_derive(&f, out), 1);
    size_t tl = strlen(out[0].title), bl = strlen(out[0].body);
    assert_true(tl < NR_TITLE_MAX && tl >= NR_TITLE_MAX - 3);
    /* "New booking: " is 13 bytes; the rest are whole characters */
    assert_int_equal((tl - 13) % 3, 0);
    assert_true(bl < NR_BODY_MAX && bl >= NR_BODY_MAX - 3);
    assert_int_equal((bl - strlen("A customer booked ")) % 3, 0);
    nr_notes_free(out, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_only_applied_events_of_the_table),
        cmocka_unit_test(test_new_booking_tells_the_priest),
        cmocka_unit_test(test_confirm_complete_tell_the_customer),
        cmocka_unit_test(test_customer_cancel_tells_both_with_the_refund),
        cmocka_unit_test(test_priest_cancel_tells_the_customer_only),
        cmocka_unit_test(test_rating_tells_the_priest),
        cmocka_unit_test(test_orders_tell_their_user),
        cmocka_unit_test(test_verification_tells_the_priest),
        cmocka_unit_test(test_unknown_recipient_is_nobody),
        cmocka_unit_test(test_long_names_are_cut_not_overrun),
        cmocka_unit_test(test_cut_keeps_whole_characters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
