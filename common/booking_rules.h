/* booking_rules.h — the booking rules of DESIGN §4 as pure functions.
 *
 * No I/O, no clock, no allocation: callers pass "now" in (the worker passes
 * the command's issued_at, the API its request time), so the same inputs
 * always give the same answer and a replay of the journal decides exactly as
 * the live run did. The API uses these functions to answer early (and to list
 * availability); the worker uses them again because it never trusts the wire.
 *
 * Reason codes: rule checks return NULL when the input is acceptable, else a
 * stable code from common/reasons.c ("in_past", "invalid_transition", …), so
 * both processes turn a decision into the same problem+json.
 *
 * Time zone. The platform runs on one fixed UTC offset,
 * PUNYAKA_TZ_OFFSET_MINUTES, default +330 (Asia/Kolkata). India has had no
 * daylight saving time since 1945, so a fixed offset is exact for the default
 * zone and needs no tz database; a deployment in a zone with DST would need a
 * real zone table (not supported: the offset must then be changed by hand,
 * and bookings already stored keep the instant they were given). Clients
 * speak local dates and times ("2026-12-01", "09:30"); the database keeps
 * both the local pair and the absolute instant (bookings.starts_at). */
#ifndef PUNYAKA_BOOKING_RULES_H
#define PUNYAKA_BOOKING_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BOOKING_US_PER_MIN INT64_C(60000000)
#define BOOKING_BUFFER_MIN 15            /* travel/preparation after every service */
#define BOOKING_MAX_AHEAD_DAYS 180       /* start ≤ issued_at + 180 days */
#define BOOKING_REFUND_NOTICE_MIN (24 * 60)   /* customer cancels ≥ 24 h ahead ⇒ refund */
#define BOOKING_SLOT_STEP_MIN 30         /* availability grid, aligned to local midnight */
#define BOOKING_OPEN_MIN (6 * 60)        /* default working hours 06:00–21:00 local */
#define BOOKING_CLOSE_MIN (21 * 60)
#define BOOKING_MAX_DURATION_MIN (24 * 60)   /* a service lasts at most a day */
#define BOOKING_SLOTS_PER_DAY (24 * 60 / BOOKING_SLOT_STEP_MIN)

/* Text limits (bytes) shared by the API's validation and the worker's. */
#define BOOKING_ADDRESS_MAX 500          /* location_address */
#define BOOKING_NOTE_MAX 2000            /* special_instructions, feedback, cancel reason, verification notes */
#define BOOKING_CHECKLIST_MAX 16384      /* completion checklist, as compact JSON text */

#define BOOKING_TZ_OFFSET_DEFAULT 330    /* minutes east of UTC: Asia/Kolkata (+05:30) */
#define BOOKING_TZ_OFFSET_MIN_ALLOWED (-12 * 60)
#define BOOKING_TZ_OFFSET_MAX_ALLOWED (14 * 60)

/* ---- local calendar time ⇔ instants ---- */

typedef struct {
    int year, month, day;   /* proleptic Gregorian, month 1–12 */
} booking_date;

/* Parses the value of PUNYAKA_TZ_OFFSET_MINUTES: NULL or "" ⇒ the default;
 * otherwise a decimal integer (optional '-') within the allowed range.
 * Returns 0, or -1 when malformed (the process should refuse to start). */
int booking_tz_offset_parse(const char *s, int *minutes);

/* "YYYY-MM-DD", a real calendar date (years 1900–2200, as pk_check_date).
 * Returns 0 or -1. */
int booking_parse_date(const char *s, booking_date *out);
/* "HH:MM" (or "HH:MM:00", which some clients send); seconds other than 00
 * are refused, because bookings are made to the minute. Returns 0 or -1. */
int booking_parse_time(const char *s, int *minute_of_day);
/* A booking's start: booking_parse_time, and on the availability grid (a
 * multiple of BOOKING_SLOT_STEP_MIN after local midnight) — the only
 * starts booking_free_starts ever offers. The API and the worker both read
 * booking_time with it. Returns 0 or -1. */
int booking_parse_slot_time(const char *s, int *minute_of_day);
/* Writes "YYYY-MM-DD" / "HH:MM" and a NUL. */
void booking_format_date(booking_date d, char out[11]);
void booking_format_time(int minute_of_day, char out[6]);

/* Days since 1970-01-01 of a date (negative before). */
int64_t booking_days_from_civil(booking_date d);
/* Local date + minute of day (may be 0–1440) ⇒ µs since the epoch (UTC). */
int64_t booking_local_to_us(booking_date d, int minute_of_day, int tz_offset_min);
/* µs since the epoch ⇒ local date and minute of day (the second and µs
 * within the minute are dropped). */
void booking_us_to_local(int64_t us, int tz_offset_min, booking_date *d, int *minute_of_day);

/* ---- occupancy and overlap ---- */

/* Half-open [start_us, end_us): [a,b) and [b,c) touch but do not overlap,
 * which is exactly PostgreSQL's tstzrange && with '[)' bounds. */
typedef struct {
    int64_t start_us, end_us;
} booking_range;

/* What a booking blocks in the priest's day: [start, start + duration + 15 min). */
booking_range booking_occupancy(int64_t start_us, int duration_min);
bool booking_ranges_overlap(booking_range a, booking_range b);

/* ---- start, working hours, amounts ---- */

/* "in_past" when start ≤ now (a start must be strictly in the future),
 * "too_far_ahead" when start > now + 180 days, else NULL. */
const char *booking_check_start(int64_t start_us, int64_t now_us);
/* The service (not the trailing buffer, which is the priest's travel time)
 * must lie within working hours: open ≤ start and start + duration ≤ close,
 * all in local minutes of the booking's day. "outside_working_hours" or NULL. */
const char *booking_check_hours(int start_minute, int duration_min, int open_min, int close_min);
/* Value checks in the style of common/validate.h: NULL when acceptable,
 * else a short message for the problem+json `errors` map (a command that
 * breaks them is malformed, so the worker answers invalid_command). */
/* rating: an integer 1–5. */
const char *booking_check_rating(int64_t rating);
/* dakshina: 0 ≤ paise ≤ MONEY_MAX_PAISE. */
const char *booking_check_dakshina(int64_t paise);
/* service duration: 1 ≤ minutes ≤ BOOKING_MAX_DURATION_MIN. */
const char *booking_check_duration(int64_t minutes);

/* ---- the state machine ---- */

typedef enum {
    BOOKING_PENDING,
    BOOKING_CONFIRMED,
    BOOKING_COMPLETED,
    BOOKING_CANCELLED,
    BOOKING_STATUS_COUNT
} booking_status;

/* A status plus the two facts that matter once a booking is completed: has
 * the customer confirmed (and paid the balance), has the customer rated.
 * The two are independent: a customer may rate before paying or after. */
typedef enum {
    BOOKING_STAGE_PENDING,
    BOOKING_STAGE_CONFIRMED,
    BOOKING_STAGE_COMPLETED,              /* awaiting customer confirmation, unrated */
    BOOKING_STAGE_COMPLETED_PAID,         /* customer confirmed, unrated */
    BOOKING_STAGE_COMPLETED_RATED,        /* rated, customer not yet confirmed */
    BOOKING_STAGE_COMPLETED_PAID_RATED,
    BOOKING_STAGE_CANCELLED,
    BOOKING_STAGE_COUNT
} booking_stage;

typedef enum {
    BOOKING_CONFIRM,            /* pending → confirmed */
    BOOKING_COMPLETE,           /* confirmed → completed */
    BOOKING_CUSTOMER_CONFIRM,   /* completed: balance (+ dakshina) captured, payment full */
    BOOKING_CANCEL,             /* pending|confirmed → cancelled */
    BOOKING_RATE,               /* completed, once */
    BOOKING_ACTION_COUNT
} booking_action;

/* Who acts, relative to the booking. */
typedef enum {
    BOOKING_OWN_CUSTOMER,       /* the booking's customer */
    BOOKING_OWN_PRIEST,         /* the booking's priest */
    BOOKING_OTHER_CUSTOMER,     /* any other non-admin user (also anonymous) */
    BOOKING_OTHER_PRIEST,
    BOOKING_ADMIN,
    BOOKING_ACTOR_COUNT
} booking_actor;

/* "pending" ⇔ BOOKING_PENDING …; parse returns -1 for an unknown name. */
const char *booking_status_name(booking_status s);
int booking_status_parse(const char *name, booking_status *out);
booking_stage booking_stage_of(booking_status s, bool customer_confirmed, bool rated);
/* Who the acting user (id, role) is for a booking of customer_user_id with
 * a priest whose *user* id is priest_user_id. Role "admin" wins. */
booking_actor booking_actor_of(int64_t actor_id, const char *actor_role, int64_t customer_user_id,
                               int64_t priest_user_id);

/* May `who` do `action` on a booking in `stage`? NULL when allowed, else the
 * reason code. Table-driven; the actor is checked before the state, so
 * whoever may not act on the booking at all learns nothing of its state:
 *   - other customers and other priests get "not_found" for every action —
 *     a user never learns that someone else's booking exists (DESIGN §5);
 *   - a party to the booking (or an admin) asking for an action that is not
 *     theirs gets "forbidden";
 * then the state decides:
 *   confirm           own priest;              pending only, else invalid_transition
 *   complete          own priest;              confirmed only, else invalid_transition
 *   customer_confirm  own customer;            completed ⇒ ok, already paid ⇒
 *                     already_confirmed_by_customer, pending|confirmed ⇒
 *                     not_completed, cancelled ⇒ invalid_transition
 *   cancel            own customer, own priest, admin; pending|confirmed,
 *                     else invalid_transition
 *   rate              own customer;            completed and unrated ⇒ ok,
 *                     rated ⇒ already_rated, pending|confirmed ⇒ not_completed,
 *                     cancelled ⇒ invalid_transition
 * Admins may only cancel (e.g. a priest who can no longer serve); they do not
 * act for priests or customers, so every other action is "forbidden". An
 * admin's cancellation refunds like a priest's (the customer is not at fault). */
const char *booking_decide(booking_stage stage, booking_action action, booking_actor who);

/* The status after an allowed action (customer_confirm and rate keep it). */
booking_status booking_next_status(booking_status current, booking_action action);

/* Payment status after an allowed cancellation: "refunded" (the captured
 * advance goes back) when a priest or an admin cancels, or the customer
 * cancels at least 24 h before the start; "advance_retained" (the advance is
 * kept as the cancellation fee) when the customer cancels later. */
const char *booking_cancel_payment_status(booking_actor who, int64_t start_us, int64_t now_us);

/* A priest completes a service that has begun: "not_started" when
 * now < start, else NULL (checked after booking_decide, so who may not act
 * learns nothing of the booking's time). */
const char *booking_check_complete(int64_t start_us, int64_t now_us);

/* ---- availability ---- */

typedef struct {
    booking_date date;           /* the local day asked about */
    int tz_offset_min;
    int open_min, close_min;     /* working hours, local minutes, 0 ≤ open < close ≤ 1440 */
    int duration_min;            /* the service's duration */
    int64_t now_us;              /* starts must be strictly after this (and ≤ 180 days ahead) */
    const booking_range *busy;   /* occupied ranges of the priest's live bookings */
    size_t busy_count;
} booking_day_query;

/* Free start times of one local day, as local minutes of the day, ascending:
 * every multiple of 30 minutes after local midnight such that the service
 * fits the working hours (booking_check_hours), the start passes
 * booking_check_start, and its occupancy (with the 15-minute buffer, which
 * may run past closing time and into the next day) overlaps no busy range.
 * Writes at most cap entries (BOOKING_SLOTS_PER_DAY always suffices) and
 * returns how many there are; -1 when the query is malformed (bad hours,
 * duration, offset or date). */
int booking_free_starts(const booking_day_query *q, int *starts, size_t cap);

#endif
