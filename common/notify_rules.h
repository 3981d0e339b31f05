/* notify_rules.h — which journal entries notify whom, and what they say
 * (issue 17; docs/notifications.md). Pure: punyaka-notifier
 * (workers/notify/) loads the facts from PostgreSQL in the event's
 * transaction and hands them here; nothing here does I/O or reads a clock.
 *
 *   event (applied only)   recipient                          kind
 *   booking.create         the booking's priest               booking_created
 *   booking.confirm        the customer                       booking_confirmed
 *   booking.cancel         the customer (data.refund:         booking_cancelled
 *                          refunded | advance_kept), and the
 *                          priest when the customer cancelled
 *   booking.complete       the customer                       booking_completed
 *   booking.rate           the priest (data.rating)           booking_rated
 *   order.checkout         the order's user                   order_placed
 *   order.set_status,      the order's user (data.status)     order_status
 *   order.cancel
 *   priest.verify          the priest (data.verified)         priest_verified
 *
 * Everything else (rejections, notification.*, catalog, accounts) notifies
 * nobody. Text is short English; data is a JSON object the UI may use. */
#ifndef PUNYAKA_NOTIFY_RULES_H
#define PUNYAKA_NOTIFY_RULES_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

/* The entity row the notifier must read to derive an event's notes. */
typedef enum {
    NR_ENTITY_NONE,       /* the event notifies nobody */
    NR_ENTITY_BOOKING,    /* bookings ⋈ priest_profiles ⋈ services */
    NR_ENTITY_ORDER,      /* orders */
    NR_ENTITY_PRIEST,     /* priest_profiles */
} nr_entity;

/* What an event of `type` with `status` (applied | rejected) needs loaded;
 * NR_ENTITY_NONE when it notifies nobody. */
nr_entity nr_entity_for(const char *type, const char *status);

/* The event and the facts read for it. Strings are borrowed; NULL reads
 * as "". */
typedef struct {
    const char *type;             /* command type */
    int64_t actor_id;             /* who issued it */
    int64_t entity_id;            /* booking / order / priest profile id */
    /* booking */
    int64_t customer_id;          /* users.id */
    int64_t priest_user_id;       /* users.id of the priest (also priest.verify) */
    const char *service_name;
    const char *booking_date;     /* YYYY-MM-DD */
    const char *booking_time;     /* HH:MM */
    const char *payment_status;   /* bookings.payment_status after the event */
    bool refunded;                /* the event wrote a refund payment row */
    int rating;                   /* booking.rate: 1..5 */
    /* order */
    int64_t order_user_id;
    const char *order_number;
    const char *order_status;     /* order.set_status: the payload's status */
    /* priest.verify */
    bool verified;
} nr_facts;

#define NR_MAX_NOTES 2
#define NR_TITLE_MAX 160
#define NR_BODY_MAX 400

typedef struct {
    int64_t user_id;
    const char *kind;             /* static */
    const char *entity_type;      /* static: booking | order | priest */
    int64_t entity_id;
    char title[NR_TITLE_MAX];
    char body[NR_BODY_MAX];
    json_t *data;                 /* object; owned: nr_notes_free */
} nr_note;

/* Fills out[0..n) and returns n (0..NR_MAX_NOTES). A recipient id ≤ 0
 * (a row the notifier could not find) yields no note. */
int nr_derive(const nr_facts *f, nr_note out[NR_MAX_NOTES]);
void nr_notes_free(nr_note *notes, int n);

/* "refunded" or "advance_kept" for a cancelled booking. */
const char *nr_refund_decision(const nr_facts *f);

#endif
