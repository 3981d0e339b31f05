#include "common/booking_rules.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/money.h"
#include "common/validate.h"

/* Instants are µs since the epoch of dates between 1900 and 2200 (what the
 * date parser accepts) and issued_at ≥ 0, so every sum and difference below
 * stays far inside int64. */

/* ---- local calendar time ---- */

int booking_tz_offset_parse(const char *s, int *minutes)
{
    if (!s || !*s) {
        *minutes = BOOKING_TZ_OFFSET_DEFAULT;
        return 0;
    }
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || (*s != '-' && (*s < '0' || *s > '9')) || v < BOOKING_TZ_OFFSET_MIN_ALLOWED ||
        v > BOOKING_TZ_OFFSET_MAX_ALLOWED)
        return -1;
    *minutes = (int)v;
    return 0;
}

/* Two or four ASCII digits already checked by validate.c. */
static int number(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

int booking_parse_date(const char *s, booking_date *out)
{
    if (!s || pk_check_date(s))
        return -1;
    *out = (booking_date){number(s, 4), number(s + 5, 2), number(s + 8, 2)};
    return 0;
}

int booking_parse_time(const char *s, int *minute_of_day)
{
    if (!s || pk_check_time(s) || (strlen(s) == 8 && strcmp(s + 5, ":00") != 0))
        return -1;
    *minute_of_day = number(s, 2) * 60 + number(s + 3, 2);
    return 0;
}

int booking_parse_slot_time(const char *s, int *minute_of_day)
{
    int m;
    if (booking_parse_time(s, &m) != 0 || m % BOOKING_SLOT_STEP_MIN != 0)
        return -1;
    *minute_of_day = m;
    return 0;
}

void booking_format_date(booking_date d, char out[11])
{
    /* The modulos only bound the width for the compiler; valid dates are unchanged. */
    snprintf(out, 11, "%04u-%02u-%02u", (unsigned)d.year % 10000u, (unsigned)d.month % 100u, (unsigned)d.day % 100u);
}

void booking_format_time(int minute_of_day, char out[6])
{
    int m = ((minute_of_day % 1440) + 1440) % 1440;
    snprintf(out, 6, "%02d:%02d", m / 60, m % 60);
}

/* Howard Hinnant's days_from_civil / civil_from_days: exact for the whole
 * proleptic Gregorian calendar, no tables, no libc time zone state. */
int64_t booking_days_from_civil(booking_date d)
{
    int64_t y = d.year - (d.month <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (d.month + (d.month > 2 ? -3 : 9)) + 2) / 5 + d.day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static booking_date civil_from_days(int64_t z)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int day = (int)(doy - (153 * mp + 2) / 5 + 1);
    int month = (int)(mp < 10 ? mp + 3 : mp - 9);
    return (booking_date){(int)(yoe + era * 400 + (month <= 2)), month, day};
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int64_t booking_local_to_us(booking_date d, int minute_of_day, int tz_offset_min)
{
    int64_t minutes = booking_days_from_civil(d) * 1440 + minute_of_day - tz_offset_min;
    return minutes * BOOKING_US_PER_MIN;
}

void booking_us_to_local(int64_t us, int tz_offset_min, booking_date *d, int *minute_of_day)
{
    int64_t local_min = floor_div(us, BOOKING_US_PER_MIN) + tz_offset_min;
    int64_t days = floor_div(local_min, 1440);
    *d = civil_from_days(days);
    *minute_of_day = (int)(local_min - days * 1440);
}

/* ---- occupancy ---- */

booking_range booking_occupancy(int64_t start_us, int duration_min)
{
    return (booking_range){start_us, start_us + (int64_t)(duration_min + BOOKING_BUFFER_MIN) * BOOKING_US_PER_MIN};
}

bool booking_ranges_overlap(booking_range a, booking_range b)
{
    return a.start_us < b.end_us && b.start_us < a.end_us;
}

/* ---- start, hours, values ---- */

const char *booking_check_start(int64_t start_us, int64_t now_us)
{
    if (start_us <= now_us)
        return "in_past";
    if (start_us - now_us > (int64_t)BOOKING_MAX_AHEAD_DAYS * 1440 * BOOKING_US_PER_MIN)
        return "too_far_ahead";
    return NULL;
}

const char *booking_check_hours(int start_minute, int duration_min, int open_min, int close_min)
{
    if (start_minute < open_min || duration_min < 1 || start_minute + duration_min > close_min)
        return "outside_working_hours";
    return NULL;
}

const char *booking_check_rating(int64_t rating)
{
    return rating >= 1 && rating <= 5 ? NULL : "must be an integer from 1 to 5";
}

const char *booking_check_dakshina(int64_t paise)
{
    if (paise < 0)
        return "must not be negative";
    return paise <= MONEY_MAX_PAISE ? NULL : "is too large";
}

const char *booking_check_duration(int64_t minutes)
{
    return minutes >= 1 && minutes <= BOOKING_MAX_DURATION_MIN ? NULL : "must be 1 to 1440 minutes";
}

/* ---- the state machine ---- */

static const char *const STATUS_NAMES[BOOKING_STATUS_COUNT] = {"pending", "confirmed", "completed", "cancelled"};

const char *booking_status_name(booking_status s)
{
    return (unsigned)s < BOOKING_STATUS_COUNT ? STATUS_NAMES[s] : "unknown";
}

int booking_status_parse(const char *name, booking_status *out)
{
    for (int i = 0; name && i < BOOKING_STATUS_COUNT; i++)
        if (strcmp(name, STATUS_NAMES[i]) == 0) {
            *out = (booking_status)i;
            return 0;
        }
    return -1;
}

booking_stage booking_stage_of(booking_status s, bool customer_confirmed, bool rated)
{
    switch (s) {
    case BOOKING_PENDING:   return BOOKING_STAGE_PENDING;
    case BOOKING_CONFIRMED: return BOOKING_STAGE_CONFIRMED;
    case BOOKING_COMPLETED:
        if (customer_confirmed)
            return rated ? BOOKING_STAGE_COMPLETED_PAID_RATED : BOOKING_STAGE_COMPLETED_PAID;
        return rated ? BOOKING_STAGE_COMPLETED_RATED : BOOKING_STAGE_COMPLETED;
    default:                return BOOKING_STAGE_CANCELLED;
    }
}

booking_actor booking_actor_of(int64_t actor_id, const char *actor_role, int64_t customer_user_id,
                               int64_t priest_user_id)
{
    if (strcmp(actor_role, "admin") == 0)
        return BOOKING_ADMIN;
    if (strcmp(actor_role, "priest") == 0)
        return actor_id > 0 && actor_id == priest_user_id ? BOOKING_OWN_PRIEST : BOOKING_OTHER_PRIEST;
    if (strcmp(actor_role, "customer") == 0 && actor_id > 0 && actor_id == customer_user_id)
        return BOOKING_OWN_CUSTOMER;
    return BOOKING_OTHER_CUSTOMER;
}

#define NF "not_found"
#define FB "forbidden"
#define IT "invalid_transition"
#define NC "not_completed"
#define AR "already_rated"
#define AC "already_confirmed_by_customer"

/* Who may ask for an action at all. Columns: own customer, own priest,
 * other customer, other priest, admin. */
static const char *const ACTOR_RULE[BOOKING_ACTION_COUNT][BOOKING_ACTOR_COUNT] = {
    [BOOKING_CONFIRM]          = {FB,   NULL, NF, NF, FB},
    [BOOKING_COMPLETE]         = {FB,   NULL, NF, NF, FB},
    [BOOKING_CUSTOMER_CONFIRM] = {NULL, FB,   NF, NF, FB},
    [BOOKING_CANCEL]           = {NULL, NULL, NF, NF, NULL},
    [BOOKING_RATE]             = {NULL, FB,   NF, NF, FB},
};

/* What the booking's stage allows, once the actor may ask. Columns:
 * pending, confirmed, completed, completed+paid, completed+rated,
 * completed+paid+rated, cancelled. */
static const char *const STAGE_RULE[BOOKING_ACTION_COUNT][BOOKING_STAGE_COUNT] = {
    [BOOKING_CONFIRM]          = {NULL, IT,   IT,   IT, IT,   IT, IT},
    [BOOKING_COMPLETE]         = {IT,   NULL, IT,   IT, IT,   IT, IT},
    [BOOKING_CUSTOMER_CONFIRM] = {NC,   NC,   NULL, AC, NULL, AC, IT},
    [BOOKING_CANCEL]           = {NULL, NULL, IT,   IT, IT,   IT, IT},
    [BOOKING_RATE]             = {NC,   NC,   NULL, NULL, AR, AR, IT},
};

const char *booking_decide(booking_stage stage, booking_action action, booking_actor who)
{
    if ((unsigned)stage >= BOOKING_STAGE_COUNT || (unsigned)action >= BOOKING_ACTION_COUNT ||
        (unsigned)who >= BOOKING_ACTOR_COUNT)
        return IT;
    const char *reason = ACTOR_RULE[action][who];
    return reason ? reason : STAGE_RULE[action][stage];
}

booking_status booking_next_status(booking_status current, booking_action action)
{
    switch (action) {
    case BOOKING_CONFIRM:  return BOOKING_CONFIRMED;
    case BOOKING_COMPLETE: return BOOKING_COMPLETED;
    case BOOKING_CANCEL:   return BOOKING_CANCELLED;
    default:               return current;
    }
}

const char *booking_cancel_payment_status(booking_actor who, int64_t start_us, int64_t now_us)
{
    int late = start_us - now_us < (int64_t)BOOKING_REFUND_NOTICE_MIN * BOOKING_US_PER_MIN;
    return who == BOOKING_OWN_CUSTOMER && late ? "advance_retained" : "refunded";
}

/* ---- availability ---- */

static int date_ok(booking_date d)
{
    char text[11];
    if (d.year < 1900 || d.year > 2200 || d.month < 1 || d.month > 12 || d.day < 1 || d.day > 31)
        return 0;
    booking_format_date(d, text);
    return pk_check_date(text) == NULL;
}

static int query_ok(const booking_day_query *q)
{
    return date_ok(q->date) &&
           q->tz_offset_min >= BOOKING_TZ_OFFSET_MIN_ALLOWED && q->tz_offset_min <= BOOKING_TZ_OFFSET_MAX_ALLOWED &&
           q->open_min >= 0 && q->open_min < q->close_min && q->close_min <= 1440 &&
           booking_check_duration(q->duration_min) == NULL && (q->busy || q->busy_count == 0);
}

static bool overlaps_any(booking_range r, const booking_range *busy, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (booking_ranges_overlap(r, busy[i]))
            return true;
    return false;
}

int booking_free_starts(const booking_day_query *q, int *starts, size_t cap)
{
    if (!query_ok(q))
        return -1;
    int n = 0;
    for (int m = 0; m < 1440; m += BOOKING_SLOT_STEP_MIN) {
        int64_t start = booking_local_to_us(q->date, m, q->tz_offset_min);
        if (booking_check_hours(m, q->duration_min, q->open_min, q->close_min) ||
            booking_check_start(start, q->now_us) ||
            overlaps_any(booking_occupancy(start, q->duration_min), q->busy, q->busy_count))
            continue;
        if ((size_t)n < cap)
            starts[n] = m;
        n++;
    }
    return n;
}

const char *booking_check_complete(int64_t start_us, int64_t now_us)
{
    return now_us < start_us ? "not_started" : NULL;
}
