/* notify_rules.c — events ⇒ notifications (notify_rules.h). */
#include "common/notify_rules.h"

#include <stdio.h>
#include <string.h>

static const char *s(const char *v)
{
    return v ? v : "";
}

static bool is(const char *a, const char *b)
{
    return strcmp(s(a), b) == 0;
}

nr_entity nr_entity_for(const char *type, const char *status)
{
    static const struct {
        const char *type;
        nr_entity entity;
    } TABLE[] = {
        {"booking.create", NR_ENTITY_BOOKING},  {"booking.confirm", NR_ENTITY_BOOKING},
        {"booking.cancel", NR_ENTITY_BOOKING},  {"booking.complete", NR_ENTITY_BOOKING},
        {"booking.rate", NR_ENTITY_BOOKING},    {"order.checkout", NR_ENTITY_ORDER},
        {"order.set_status", NR_ENTITY_ORDER},  {"order.cancel", NR_ENTITY_ORDER},
        {"priest.verify", NR_ENTITY_PRIEST},
    };
    if (!is(status, "applied"))
        return NR_ENTITY_NONE;
    for (size_t i = 0; i < sizeof(TABLE) / sizeof(TABLE[0]); i++)
        if (is(type, TABLE[i].type))
            return TABLE[i].entity;
    return NR_ENTITY_NONE;
}

const char *nr_refund_decision(const nr_facts *f)
{
    return f->refunded || is(f->payment_status, "refunded") ? "refunded" : "advance_kept";
}

/* snprintf cuts at a byte: a service name in Devanagari may lose half a
 * character, which PostgreSQL would refuse. Drop a trailing incomplete
 * UTF-8 sequence. */
static void utf8_trim(char *buf)
{
    size_t len = strlen(buf), i = len;
    while (i > 0 && ((unsigned char)buf[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0)
        return;
    unsigned char lead = (unsigned char)buf[i - 1];
    size_t want = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (len - (i - 1) < want)
        buf[i - 1] = 0;
}

/* A note for user, or NULL when the recipient is unknown (id ≤ 0). */
static nr_note *add(nr_note *out, int *n, int64_t user, const char *kind, const char *entity_type, int64_t id)
{
    if (user <= 0 || *n >= NR_MAX_NOTES)
        return NULL;
    nr_note *x = &out[(*n)++];
    memset(x, 0, sizeof(*x));
    x->user_id = user;
    x->kind = kind;
    x->entity_type = entity_type;
    x->entity_id = id;
    x->data = json_object();
    return x;
}

/* The booking's own data: what every booking note carries. */
static void booking_data(nr_note *x, const nr_facts *f, const char *status)
{
    json_object_set_new(x->data, "status", json_string(status));
    json_object_set_new(x->data, "service", json_string(s(f->service_name)));
    json_object_set_new(x->data, "booking_date", json_string(s(f->booking_date)));
    json_object_set_new(x->data, "booking_time", json_string(s(f->booking_time)));
}

static void booking_cancelled(const nr_facts *f, nr_note *out, int *n)
{
    const char *svc = s(f->service_name), *date = s(f->booking_date), *time = s(f->booking_time);
    bool by_customer = f->customer_id > 0 && f->actor_id == f->customer_id;
    const char *refund = nr_refund_decision(f);
    nr_note *x = add(out, n, f->customer_id, "booking_cancelled", "booking", f->entity_id);
    if (x) {
        booking_data(x, f, "cancelled");
        json_object_set_new(x->data, "refund", json_string(refund));
        json_object_set_new(x->data, "cancelled_by", json_string(by_customer ? "customer" : "priest"));
        snprintf(x->title, sizeof(x->title), "Booking cancelled: %s on %s", svc, date);
        snprintf(x->body, sizeof(x->body), "%s %s on %s at %s. %s",
                 by_customer ? "You cancelled" : "The priest cancelled", svc, date, time,
                 strcmp(refund, "refunded") == 0 ? "Your advance will be refunded."
                                                 : "The advance is kept as the cancellation fee.");
    }
    if (!by_customer || !(x = add(out, n, f->priest_user_id, "booking_cancelled", "booking", f->entity_id)))
        return;
    booking_data(x, f, "cancelled");
    json_object_set_new(x->data, "cancelled_by", json_string("customer"));
    snprintf(x->title, sizeof(x->title), "Booking cancelled: %s on %s", svc, date);
    snprintf(x->body, sizeof(x->body), "The customer cancelled %s on %s at %s.", svc, date, time);
}

static void booking_notes(const nr_facts *f, nr_note *out, int *n)
{
    const char *svc = s(f->service_name), *date = s(f->booking_date), *time = s(f->booking_time);
    nr_note *x;
    if (is(f->type, "booking.cancel")) {
        booking_cancelled(f, out, n);
    } else if (is(f->type, "booking.create") &&
               (x = add(out, n, f->priest_user_id, "booking_created", "booking", f->entity_id))) {
        booking_data(x, f, "pending");
        snprintf(x->title, sizeof(x->title), "New booking: %s on %s at %s", svc, date, time);
        snprintf(x->body, sizeof(x->body), "A customer booked %s on %s at %s. Confirm it from your dashboard.", svc,
                 date, time);
    } else if (is(f->type, "booking.confirm") &&
               (x = add(out, n, f->customer_id, "booking_confirmed", "booking", f->entity_id))) {
        booking_data(x, f, "confirmed");
        snprintf(x->title, sizeof(x->title), "Booking confirmed: %s on %s", svc, date);
        snprintf(x->body, sizeof(x->body), "Your priest confirmed %s on %s at %s.", svc, date, time);
    } else if (is(f->type, "booking.complete") &&
               (x = add(out, n, f->customer_id, "booking_completed", "booking", f->entity_id))) {
        booking_data(x, f, "completed");
        snprintf(x->title, sizeof(x->title), "Puja completed: %s", svc);
        snprintf(x->body, sizeof(x->body),
                 "Your priest completed %s on %s. Please confirm it, pay the balance and rate the service.", svc,
                 date);
    } else if (is(f->type, "booking.rate") &&
               (x = add(out, n, f->priest_user_id, "booking_rated", "booking", f->entity_id))) {
        booking_data(x, f, "completed");
        json_object_set_new(x->data, "rating", json_integer(f->rating));
        snprintf(x->title, sizeof(x->title), "New rating: %d/5 for %s", f->rating, svc);
        snprintf(x->body, sizeof(x->body), "A customer rated %s on %s %d out of 5.", svc, date, f->rating);
    }
}

static void order_notes(const nr_facts *f, nr_note *out, int *n)
{
    const char *number = s(f->order_number);
    bool placed = is(f->type, "order.checkout");
    const char *status = placed ? "pending" : is(f->type, "order.cancel") ? "cancelled" : s(f->order_status);
    nr_note *x = add(out, n, f->order_user_id, placed ? "order_placed" : "order_status", "order", f->entity_id);
    if (!x)
        return;
    json_object_set_new(x->data, "status", json_string(status));
    json_object_set_new(x->data, "order_number", json_string(number));
    if (placed) {
        snprintf(x->title, sizeof(x->title), "Order placed: %s", number);
        snprintf(x->body, sizeof(x->body), "We have your order %s and will tell you when it ships.", number);
    } else {
        snprintf(x->title, sizeof(x->title), "Order %s: %s", number, status);
        snprintf(x->body, sizeof(x->body), "Your order %s is now %s.", number, status);
    }
}

static void priest_notes(const nr_facts *f, nr_note *out, int *n)
{
    nr_note *x = add(out, n, f->priest_user_id, "priest_verified", "priest", f->entity_id);
    if (!x)
        return;
    json_object_set_new(x->data, "verified", json_boolean(f->verified));
    snprintf(x->title, sizeof(x->title), "%s",
             f->verified ? "Your priest profile is verified" : "Your priest profile is no longer verified");
    snprintf(x->body, sizeof(x->body), "%s",
             f->verified ? "Customers can now find and book you."
                         : "Customers cannot book you until an admin verifies your profile again.");
}

int nr_derive(const nr_facts *f, nr_note out[NR_MAX_NOTES])
{
    int n = 0;
    switch (nr_entity_for(f->type, "applied")) {
    case NR_ENTITY_BOOKING: booking_notes(f, out, &n); break;
    case NR_ENTITY_ORDER:   order_notes(f, out, &n); break;
    case NR_ENTITY_PRIEST:  priest_notes(f, out, &n); break;
    default:                break;
    }
    for (int i = 0; i < n; i++) {
        utf8_trim(out[i].title);
        utf8_trim(out[i].body);
    }
    return n;
}

void nr_notes_free(nr_note *notes, int n)
{
    for (int i = 0; i < n; i++) {
        json_decref(notes[i].data);
        notes[i].data = NULL;
    }
}
