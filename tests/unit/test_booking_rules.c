/* test_booking_rules.c — the pure booking rules (common/booking_rules.h):
 * payment split, local time, slot overlap with the buffer, the whole state
 * machine as a written-out table, the refund rule, and the availability grid. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/booking_rules.h"
#include "common/money.h"

#define MIN BOOKING_US_PER_MIN
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define IST 330

static void assert_reason(const char *got, const char *want, const char *what)
{
    /* Compared as rendered strings: GCC 12 at -O3 cannot see that a
     * strcmp(got, want) guarded by the NULL checks never gets a NULL and
     * stops a Release build with a false -Wnonnull. */
    const char *got_s = got ? got : "allowed", *want_s = want ? want : "allowed";
    if ((got == NULL) != (want == NULL) || strcmp(got_s, want_s) != 0)
        fail_msg("%s: got %s, want %s", what, got_s, want_s);
}

/* ---- payment split ---- */

static void test_split(void **state)
{
    (void)state;
    static const struct {
        int64_t price, advance;
    } cases[] = {
        {0, 0},           {1, 0},        /* 0.25 ⇒ 0 */
        {2, 1},                          /* 0.50 ⇒ 1: half rounds up */
        {3, 1},                          /* 0.75 ⇒ 1 */
        {99, 25},                        /* 24.75 ⇒ 25 */
        {100001, 25000},                 /* 25000.25 ⇒ 25000 */
        {100002, 25001},                 /* 25000.50 ⇒ 25001 */
        {1500000, 375000},               /* ₹15,000.00 ⇒ ₹3,750.00 */
        {MONEY_MAX_PAISE, MONEY_MAX_PAISE / 4},
        {MONEY_MAX_PAISE - 1, MONEY_MAX_PAISE / 4},   /* …9999 ⇒ x.75 ⇒ up */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t advance = -1, balance = -1, price = cases[i].price;
        money_split(price, &advance, &balance);
        assert_int_equal(advance, cases[i].advance);
        assert_int_equal(advance, (price * 25 + 50) / 100);   /* the definition, exact below 2^63/25 */
        assert_int_equal(advance + balance, price);
        assert_true(balance >= 0);
    }
}

/* ---- local time ---- */

static void test_tz_offset_parse(void **state)
{
    (void)state;
    int m = 0;
    assert_int_equal(booking_tz_offset_parse(NULL, &m), 0);
    assert_int_equal(m, 330);
    assert_int_equal(booking_tz_offset_parse("", &m), 0);
    assert_int_equal(m, 330);
    assert_int_equal(booking_tz_offset_parse("-300", &m), 0);
    assert_int_equal(m, -300);
    assert_int_equal(booking_tz_offset_parse("0", &m), 0);
    assert_int_equal(m, 0);
    assert_int_equal(booking_tz_offset_parse("840", &m), 0);
    assert_int_equal(booking_tz_offset_parse("-720", &m), 0);
    const char *bad[] = {"841", "-721", "abc", "33O", " 330", "330 ", "+330", "5.5", "99999999999999999999", "-"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        m = 7;
        assert_int_equal(booking_tz_offset_parse(bad[i], &m), -1);
        assert_int_equal(m, 7);
    }
}

static void test_parse_date_time(void **state)
{
    (void)state;
    booking_date d;
    int m;
    assert_int_equal(booking_parse_date("2024-02-29", &d), 0);
    assert_int_equal(d.year, 2024);
    assert_int_equal(d.month, 2);
    assert_int_equal(d.day, 29);
    assert_int_equal(booking_parse_date("2025-02-29", &d), -1);
    assert_int_equal(booking_parse_date("2026-1-01", &d), -1);
    assert_int_equal(booking_parse_date("01-12-2026", &d), -1);
    assert_int_equal(booking_parse_time("09:30", &m), 0);
    assert_int_equal(m, 570);
    assert_int_equal(booking_parse_time("09:30:00", &m), 0);
    assert_int_equal(m, 570);
    assert_int_equal(booking_parse_time("00:00", &m), 0);
    assert_int_equal(m, 0);
    assert_int_equal(booking_parse_time("23:59", &m), 0);
    assert_int_equal(m, 1439);
    const char *bad[] = {"09:30:15", "9:30", "24:00", "12:60", "ab:cd", "0930", "", "09:30 ", "09-30"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(booking_parse_time(bad[i], &m), -1);
    char text[11], hm[6];
    booking_format_date((booking_date){2026, 3, 9}, text);
    assert_string_equal(text, "2026-03-09");
    booking_format_time(570, hm);
    assert_string_equal(hm, "09:30");
}

static void test_local_to_instant(void **state)
{
    (void)state;
    /* 2026-12-01 09:30 IST is 04:00 UTC. */
    assert_int_equal(booking_local_to_us((booking_date){2026, 12, 1}, 570, IST), INT64_C(1796097600) * 1000000);
    /* Local midnight of 2026-03-10 in IST is still 2026-03-09 in UTC. */
    assert_int_equal(booking_local_to_us((booking_date){2026, 3, 10}, 0, IST), INT64_C(1773081000) * 1000000);
    assert_int_equal(booking_days_from_civil((booking_date){1970, 1, 1}), 0);
    assert_int_equal(booking_days_from_civil((booking_date){2024, 2, 29}), 19782);
    assert_int_equal(booking_days_from_civil((booking_date){1900, 1, 1}), -25567);
    assert_int_equal(booking_days_from_civil((booking_date){2200, 12, 31}), 84370);

    booking_date d;
    int m;
    booking_us_to_local(INT64_C(1773081000) * 1000000, IST, &d, &m);
    assert_int_equal(d.year, 2026);
    assert_int_equal(d.month, 3);
    assert_int_equal(d.day, 10);
    assert_int_equal(m, 0);
    booking_us_to_local(INT64_C(1773081000) * 1000000 - 1, IST, &d, &m);   /* one µs earlier: the day before */
    assert_int_equal(d.day, 9);
    assert_int_equal(m, 1439);
    booking_us_to_local(-1, 0, &d, &m);   /* floor, not truncation, before the epoch */
    assert_int_equal(d.year, 1969);
    assert_int_equal(d.month, 12);
    assert_int_equal(d.day, 31);
    assert_int_equal(m, 1439);
}

/* Every day 1900–2200 (leap years, century rules), several offsets and
 * minutes, survives the round trip. */
static void test_round_trip_every_day(void **state)
{
    (void)state;
    static const int offsets[] = {IST, 0, -300, 345, 840, -720};
    static const int minutes[] = {0, 1, 570, 1439};
    for (int64_t day = -25567; day <= 84370; day++) {
        booking_date d;
        int m;
        booking_us_to_local(day * DAY, 0, &d, &m);
        assert_int_equal(booking_days_from_civil(d), day);
        for (size_t o = 0; o < sizeof(offsets) / sizeof(offsets[0]); o++)
            for (size_t k = 0; k < sizeof(minutes) / sizeof(minutes[0]); k++) {
                booking_date back;
                int bm;
                booking_us_to_local(booking_local_to_us(d, minutes[k], offsets[o]), offsets[o], &back, &bm);
                if (back.year != d.year || back.month != d.month || back.day != d.day || bm != minutes[k])
                    fail_msg("round trip of day %lld minute %d offset %d", (long long)day, minutes[k], offsets[o]);
            }
    }
}

/* ---- start rules ---- */

static void test_check_start(void **state)
{
    (void)state;
    int64_t now = INT64_C(1796097600) * 1000000;
    assert_reason(booking_check_start(now - 1, now), "in_past", "1 µs ago");
    assert_reason(booking_check_start(now, now), "in_past", "exactly now");
    assert_reason(booking_check_start(now + 1, now), NULL, "1 µs ahead");
    assert_reason(booking_check_start(now + 180 * DAY, now), NULL, "exactly 180 days ahead");
    assert_reason(booking_check_start(now + 180 * DAY + 1, now), "too_far_ahead", "180 days + 1 µs");
    assert_reason(booking_check_start(now + 730 * DAY, now), "too_far_ahead", "2 years ahead");
}

static void test_check_hours_and_values(void **state)
{
    (void)state;
    assert_reason(booking_check_hours(360, 60, 360, 1260), NULL, "06:00 opening");
    assert_reason(booking_check_hours(359, 60, 360, 1260), "outside_working_hours", "05:59");
    assert_reason(booking_check_hours(1200, 60, 360, 1260), NULL, "ends exactly at 21:00");
    assert_reason(booking_check_hours(1201, 60, 360, 1260), "outside_working_hours", "ends 21:01");
    assert_reason(booking_check_hours(360, 901, 360, 1260), "outside_working_hours", "longer than the day");
    for (int64_t r = -1; r <= 7; r++)
        assert_true((booking_check_rating(r) == NULL) == (r >= 1 && r <= 5));
    assert_null(booking_check_dakshina(0));
    assert_null(booking_check_dakshina(MONEY_MAX_PAISE));
    assert_non_null(booking_check_dakshina(MONEY_MAX_PAISE + 1));
    assert_non_null(booking_check_dakshina(-1));
    assert_null(booking_check_duration(1));
    assert_null(booking_check_duration(1440));
    assert_non_null(booking_check_duration(0));
    assert_non_null(booking_check_duration(1441));
}

/* ---- overlap with the buffer ---- */

static void test_overlap_buffer(void **state)
{
    (void)state;
    int64_t s = booking_local_to_us((booking_date){2026, 12, 1}, 600, IST);   /* 10:00, 60 min service */
    booking_range first = booking_occupancy(s, 60);
    assert_int_equal(first.end_us - first.start_us, 75 * MIN);
    /* Starting exactly at the previous end + 15 min buffer is allowed … */
    assert_false(booking_ranges_overlap(first, booking_occupancy(s + 75 * MIN, 30)));
    /* … one minute earlier is not. */
    assert_true(booking_ranges_overlap(first, booking_occupancy(s + 74 * MIN, 30)));
    /* The same from the other side: a booking before ours must end (with its buffer) by our start. */
    assert_false(booking_ranges_overlap(booking_occupancy(s - 75 * MIN, 60), first));
    assert_true(booking_ranges_overlap(booking_occupancy(s - 74 * MIN, 60), first));
    assert_true(booking_ranges_overlap(first, first));
    assert_true(booking_ranges_overlap(first, booking_occupancy(s + 10 * MIN, 5)));   /* inside */
    assert_true(booking_ranges_overlap(booking_occupancy(s - HOUR, 240), first));     /* around */
}

/* ---- the state machine, written out ---- */

#define OK NULL
#define NF "not_found"
#define FB "forbidden"
#define IT "invalid_transition"
#define NC "not_completed"
#define AR "already_rated"
#define AC "already_confirmed_by_customer"

typedef struct {
    booking_stage stage;
    booking_action action;
    /* own customer, own priest, other customer, other priest, admin */
    const char *want[BOOKING_ACTOR_COUNT];
} sm_row;

#define P BOOKING_STAGE_PENDING
#define C BOOKING_STAGE_CONFIRMED
#define D BOOKING_STAGE_COMPLETED
#define DP BOOKING_STAGE_COMPLETED_PAID
#define DR BOOKING_STAGE_COMPLETED_RATED
#define DPR BOOKING_STAGE_COMPLETED_PAID_RATED
#define X BOOKING_STAGE_CANCELLED

static const sm_row SM[] = {
    /* stage  action                      own cust  own priest  other cust  other priest  admin */
    {P,   BOOKING_CONFIRM,          {FB, OK, NF, NF, FB}},
    {P,   BOOKING_COMPLETE,         {FB, IT, NF, NF, FB}},
    {P,   BOOKING_CUSTOMER_CONFIRM, {NC, FB, NF, NF, FB}},
    {P,   BOOKING_CANCEL,           {OK, OK, NF, NF, OK}},
    {P,   BOOKING_RATE,             {NC, FB, NF, NF, FB}},

    {C,   BOOKING_CONFIRM,          {FB, IT, NF, NF, FB}},
    {C,   BOOKING_COMPLETE,         {FB, OK, NF, NF, FB}},
    {C,   BOOKING_CUSTOMER_CONFIRM, {NC, FB, NF, NF, FB}},
    {C,   BOOKING_CANCEL,           {OK, OK, NF, NF, OK}},
    {C,   BOOKING_RATE,             {NC, FB, NF, NF, FB}},

    {D,   BOOKING_CONFIRM,          {FB, IT, NF, NF, FB}},
    {D,   BOOKING_COMPLETE,         {FB, IT, NF, NF, FB}},
    {D,   BOOKING_CUSTOMER_CONFIRM, {OK, FB, NF, NF, FB}},
    {D,   BOOKING_CANCEL,           {IT, IT, NF, NF, IT}},
    {D,   BOOKING_RATE,             {OK, FB, NF, NF, FB}},

    {DP,  BOOKING_CONFIRM,          {FB, IT, NF, NF, FB}},
    {DP,  BOOKING_COMPLETE,         {FB, IT, NF, NF, FB}},
    {DP,  BOOKING_CUSTOMER_CONFIRM, {AC, FB, NF, NF, FB}},
    {DP,  BOOKING_CANCEL,           {IT, IT, NF, NF, IT}},
    {DP,  BOOKING_RATE,             {OK, FB, NF, NF, FB}},

    {DR,  BOOKING_CONFIRM,          {FB, IT, NF, NF, FB}},
    {DR,  BOOKING_COMPLETE,         {FB, IT, NF, NF, FB}},
    {DR,  BOOKING_CUSTOMER_CONFIRM, {OK, FB, NF, NF, FB}},
    {DR,  BOOKING_CANCEL,           {IT, IT, NF, NF, IT}},
    {DR,  BOOKING_RATE,             {AR, FB, NF, NF, FB}},

    {DPR, BOOKING_CONFIRM,          {FB, IT, NF, NF, FB}},
    {DPR, BOOKING_COMPLETE,         {FB, IT, NF, NF, FB}},
    {DPR, BOOKING_CUSTOMER_CONFIRM, {AC, FB, NF, NF, FB}},
    {DPR, BOOKING_CANCEL,           {IT, IT, NF, NF, IT}},
    {DPR, BOOKING_RATE,             {AR, FB, NF, NF, FB}},

    {X,   BOOKING_CONFIRM,          {FB, IT, NF, NF, FB}},
    {X,   BOOKING_COMPLETE,         {FB, IT, NF, NF, FB}},
    {X,   BOOKING_CUSTOMER_CONFIRM, {IT, FB, NF, NF, FB}},
    {X,   BOOKING_CANCEL,           {IT, IT, NF, NF, IT}},
    {X,   BOOKING_RATE,             {IT, FB, NF, NF, FB}},
};

static void test_state_machine_table(void **state)
{
    (void)state;
    int seen[BOOKING_STAGE_COUNT][BOOKING_ACTION_COUNT] = {{0}};
    for (size_t i = 0; i < sizeof(SM) / sizeof(SM[0]); i++) {
        for (int who = 0; who < BOOKING_ACTOR_COUNT; who++) {
            char what[64];
            snprintf(what, sizeof(what), "stage %d action %d actor %d", (int)SM[i].stage, (int)SM[i].action, who);
            assert_reason(booking_decide(SM[i].stage, SM[i].action, (booking_actor)who), SM[i].want[who], what);
        }
        seen[SM[i].stage][SM[i].action]++;
    }
    /* The table above covers every from-stage × action exactly once. */
    for (int s = 0; s < BOOKING_STAGE_COUNT; s++)
        for (int a = 0; a < BOOKING_ACTION_COUNT; a++)
            assert_int_equal(seen[s][a], 1);
    assert_int_equal(sizeof(SM) / sizeof(SM[0]), BOOKING_STAGE_COUNT * BOOKING_ACTION_COUNT);
}

static void test_state_helpers(void **state)
{
    (void)state;
    booking_status s;
    for (int i = 0; i < BOOKING_STATUS_COUNT; i++) {
        assert_int_equal(booking_status_parse(booking_status_name((booking_status)i), &s), 0);
        assert_int_equal(s, i);
    }
    assert_int_equal(booking_status_parse("Pending", &s), -1);
    assert_int_equal(booking_status_parse(NULL, &s), -1);
    assert_int_equal(booking_stage_of(BOOKING_PENDING, true, true), BOOKING_STAGE_PENDING);
    assert_int_equal(booking_stage_of(BOOKING_COMPLETED, false, false), BOOKING_STAGE_COMPLETED);
    assert_int_equal(booking_stage_of(BOOKING_COMPLETED, true, false), BOOKING_STAGE_COMPLETED_PAID);
    assert_int_equal(booking_stage_of(BOOKING_COMPLETED, false, true), BOOKING_STAGE_COMPLETED_RATED);
    assert_int_equal(booking_stage_of(BOOKING_COMPLETED, true, true), BOOKING_STAGE_COMPLETED_PAID_RATED);
    assert_int_equal(booking_stage_of(BOOKING_CANCELLED, false, false), BOOKING_STAGE_CANCELLED);
    assert_int_equal(booking_next_status(BOOKING_PENDING, BOOKING_CONFIRM), BOOKING_CONFIRMED);
    assert_int_equal(booking_next_status(BOOKING_CONFIRMED, BOOKING_COMPLETE), BOOKING_COMPLETED);
    assert_int_equal(booking_next_status(BOOKING_CONFIRMED, BOOKING_CANCEL), BOOKING_CANCELLED);
    assert_int_equal(booking_next_status(BOOKING_COMPLETED, BOOKING_RATE), BOOKING_COMPLETED);
    assert_int_equal(booking_next_status(BOOKING_COMPLETED, BOOKING_CUSTOMER_CONFIRM), BOOKING_COMPLETED);
    /* customer 10, priest user 20 */
    assert_int_equal(booking_actor_of(10, "customer", 10, 20), BOOKING_OWN_CUSTOMER);
    assert_int_equal(booking_actor_of(11, "customer", 10, 20), BOOKING_OTHER_CUSTOMER);
    assert_int_equal(booking_actor_of(20, "priest", 10, 20), BOOKING_OWN_PRIEST);
    assert_int_equal(booking_actor_of(21, "priest", 10, 20), BOOKING_OTHER_PRIEST);
    assert_int_equal(booking_actor_of(10, "priest", 10, 20), BOOKING_OTHER_PRIEST);     /* role must match too */
    assert_int_equal(booking_actor_of(20, "customer", 10, 20), BOOKING_OTHER_CUSTOMER);
    assert_int_equal(booking_actor_of(1, "admin", 10, 20), BOOKING_ADMIN);
    assert_int_equal(booking_actor_of(0, "", 10, 20), BOOKING_OTHER_CUSTOMER);
}

/* ---- refund rule ---- */

static void test_refund_rule(void **state)
{
    (void)state;
    int64_t start = booking_local_to_us((booking_date){2026, 12, 1}, 600, IST);
    assert_string_equal(booking_cancel_payment_status(BOOKING_OWN_CUSTOMER, start, start - 30 * DAY), "refunded");
    assert_string_equal(booking_cancel_payment_status(BOOKING_OWN_CUSTOMER, start, start - DAY), "refunded");
    assert_string_equal(booking_cancel_payment_status(BOOKING_OWN_CUSTOMER, start, start - DAY + 1),
                        "advance_retained");
    assert_string_equal(booking_cancel_payment_status(BOOKING_OWN_CUSTOMER, start, start - MIN), "advance_retained");
    assert_string_equal(booking_cancel_payment_status(BOOKING_OWN_CUSTOMER, start, start + HOUR), "advance_retained");
    assert_string_equal(booking_cancel_payment_status(BOOKING_OWN_PRIEST, start, start - MIN), "refunded");
    assert_string_equal(booking_cancel_payment_status(BOOKING_OWN_PRIEST, start, start + HOUR), "refunded");
    assert_string_equal(booking_cancel_payment_status(BOOKING_ADMIN, start, start - MIN), "refunded");
}

/* ---- availability ---- */

/* A query for day d as seen from the previous day's local midnight. */
static booking_day_query day(booking_date d, int duration)
{
    return (booking_day_query){.date = d, .tz_offset_min = IST, .open_min = BOOKING_OPEN_MIN,
                               .close_min = BOOKING_CLOSE_MIN, .duration_min = duration,
                               .now_us = booking_local_to_us(d, 0, IST) - DAY};
}

/* Writes "06:00 06:30 …" for failure messages and comparisons. */
static const char *grid_text(const booking_day_query *q, char *buf, size_t cap)
{
    int starts[BOOKING_SLOTS_PER_DAY];
    int n = booking_free_starts(q, starts, BOOKING_SLOTS_PER_DAY);
    size_t len = 0;
    buf[0] = 0;
    if (n < 0)
        snprintf(buf, cap, "malformed");
    for (int i = 0; i < n && len + 7 < cap; i++) {
        char hm[6];
        booking_format_time(starts[i], hm);
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? " " : "", hm);
    }
    return buf;
}

static void assert_grid(const booking_day_query *q, const char *want)
{
    char got[512];
    assert_string_equal(grid_text(q, got, sizeof(got)), want);
}

static int count(const booking_day_query *q)
{
    int starts[BOOKING_SLOTS_PER_DAY];
    return booking_free_starts(q, starts, BOOKING_SLOTS_PER_DAY);
}

static const booking_date DAY1 = {2026, 12, 1};

static void test_grid_empty_day_and_hours(void **state)
{
    (void)state;
    booking_day_query q = day(DAY1, 60);
    assert_int_equal(count(&q), 29);   /* 06:00 … 20:00: the service must end by 21:00 */
    char got[512];
    grid_text(&q, got, sizeof(got));
    assert_true(strncmp(got, "06:00 06:30 07:00", 17) == 0);
    assert_non_null(strstr(got, "19:30 20:00"));
    assert_null(strstr(got, "20:30"));
    q.duration_min = 30;
    assert_int_equal(count(&q), 30);   /* last start 20:30 ends at 21:00 exactly */
    q.duration_min = 90;
    assert_int_equal(count(&q), 28);   /* last start 19:30 */
    q.duration_min = 900;              /* exactly the working day */
    assert_grid(&q, "06:00");
    q.duration_min = 901;              /* longer than the working day */
    assert_int_equal(count(&q), 0);
    q.duration_min = 1441;             /* longer than any day: malformed */
    assert_int_equal(count(&q), -1);
    q = day(DAY1, 60);
    q.open_min = 375;                  /* 06:15: the grid stays on :00/:30 */
    q.close_min = 480;
    assert_grid(&q, "06:30 07:00");
}

static void test_grid_partially_taken(void **state)
{
    (void)state;
    booking_day_query q = day(DAY1, 60);
    /* A 60-minute booking at 10:00 occupies 10:00–11:15. */
    booking_range busy[] = {booking_occupancy(booking_local_to_us(DAY1, 600, IST), 60)};
    q.busy = busy;
    q.busy_count = 1;
    q.open_min = 480;
    q.close_min = 780;
    /* 09:00 would run (with its buffer) to 10:15; 11:00 starts inside the buffer. */
    assert_grid(&q, "08:00 08:30 11:30 12:00");
    /* A 45-minute service at 09:00 ends with its buffer exactly at 10:00: allowed. */
    q.duration_min = 45;
    assert_grid(&q, "08:00 08:30 09:00 11:30 12:00");
    /* Two bookings leave one gap that fits exactly. */
    booking_range two[] = {booking_occupancy(booking_local_to_us(DAY1, 480, IST), 45),    /* 08:00–09:00 */
                           booking_occupancy(booking_local_to_us(DAY1, 600, IST), 45)};   /* 10:00–11:00 */
    q.busy = two;
    q.busy_count = 2;
    assert_grid(&q, "09:00 11:00 11:30 12:00");
}

static void test_grid_fully_taken(void **state)
{
    (void)state;
    booking_day_query q = day(DAY1, 30);
    booking_range all[] = {{booking_local_to_us(DAY1, 0, IST), booking_local_to_us(DAY1, 1440, IST)}};
    q.busy = all;
    q.busy_count = 1;
    assert_int_equal(count(&q), 0);
    /* Busy only during working hours is just as full. */
    all[0] = (booking_range){booking_local_to_us(DAY1, 360, IST), booking_local_to_us(DAY1, 1260, IST)};
    assert_int_equal(count(&q), 0);
}

static void test_grid_local_vs_utc_day(void **state)
{
    (void)state;
    booking_date d = {2026, 3, 10};
    booking_day_query q = day(d, 60);
    q.open_min = 360;
    q.close_min = 540;
    /* 2026-03-09 23:00 UTC – 2026-03-10 00:45 UTC is 04:30–06:15 local on the 10th:
     * booked on what is still the 9th in UTC, it blocks the 10th's 06:00. */
    booking_range early[] = {{INT64_C(1773081000) * 1000000 + 270 * MIN, INT64_C(1773081000) * 1000000 + 375 * MIN}};
    q.busy = early;
    q.busy_count = 1;
    assert_grid(&q, "06:30 07:00 07:30 08:00");
    /* The same local clock times on the 9th are unaffected by the 10th's bookings. */
    q.date = (booking_date){2026, 3, 9};
    assert_grid(&q, "06:00 06:30 07:00 07:30 08:00");

    /* Whole-day working hours: the first start is local midnight (18:30 UTC the
     * day before), and the last 30-minute start's buffer runs into the next
     * day, where a booking at 00:00 blocks it. */
    q = day(d, 30);
    q.open_min = 0;
    q.close_min = 1440;
    assert_int_equal(count(&q), 48);
    booking_range next_midnight[] = {booking_occupancy(booking_local_to_us((booking_date){2026, 3, 11}, 0, IST), 30)};
    q.busy = next_midnight;
    q.busy_count = 1;
    char got[512];
    grid_text(&q, got, sizeof(got));
    assert_true(strncmp(got, "00:00 ", 6) == 0);
    assert_non_null(strstr(got, " 23:00"));
    assert_null(strstr(got, "23:30"));
    assert_int_equal(count(&q), 47);

    /* A fixed negative offset works the same way. */
    q = day(d, 60);
    q.tz_offset_min = -300;
    q.open_min = 600;
    q.close_min = 750;
    booking_range local[] = {booking_occupancy(booking_local_to_us(d, 630, -300), 30)};   /* 10:30–11:15 local */
    q.busy = local;
    q.busy_count = 1;
    assert_grid(&q, "11:30");
}

static void test_grid_now_and_horizon(void **state)
{
    (void)state;
    booking_day_query q = day(DAY1, 60);
    q.open_min = 600;
    q.close_min = 840;
    q.now_us = booking_local_to_us(DAY1, 720, IST);   /* it is 12:00 on that day */
    assert_grid(&q, "12:30 13:00");                   /* 12:00 itself is not in the future */
    q.now_us += 1;
    assert_grid(&q, "12:30 13:00");
    q.now_us = booking_local_to_us(DAY1, 0, IST) + DAY;   /* the day is over */
    assert_int_equal(count(&q), 0);
    /* 180 days ahead: 11:00 exactly at the horizon is bookable, 11:30 is not. */
    q.now_us = booking_local_to_us(DAY1, 660, IST) - 180 * DAY;
    assert_grid(&q, "10:00 10:30 11:00");
}

static void test_grid_malformed_and_cap(void **state)
{
    (void)state;
    booking_day_query q = day(DAY1, 60);
    q.open_min = 600;
    q.close_min = 600;
    assert_int_equal(count(&q), -1);
    q.close_min = 1441;
    assert_int_equal(count(&q), -1);
    q = day((booking_date){2026, 2, 29}, 60);
    assert_int_equal(count(&q), -1);
    q = day(DAY1, 60);
    q.tz_offset_min = 900;
    assert_int_equal(count(&q), -1);
    q = day(DAY1, 60);
    q.busy_count = 1;   /* with no array */
    assert_int_equal(count(&q), -1);
    q = day(DAY1, 60);
    int few[3] = {0};
    assert_int_equal(booking_free_starts(&q, few, 3), 29);   /* tells the full count, writes 3 */
    assert_int_equal(few[0], 360);
    assert_int_equal(few[2], 420);
}

/* issue 14: a booking starts only on the 30-minute grid (10:07 was accepted
 * by the API and the worker alike). */
static void test_slot_time_on_the_grid(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int minute;   /* -1: refused */
    } cases[] = {
        {"00:00", 0},   {"06:30", 390},  {"10:00", 600},  {"10:00:00", 600}, {"23:30", 1410},
        {"10:07", -1},  {"10:15", -1},   {"10:29", -1},   {"10:31", -1},     {"23:59", -1},
        {"10:30:30", -1}, {"24:00", -1}, {"9:30", -1},    {"", -1},          {"10:0a", -1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int m = -7;
        int rc = booking_parse_slot_time(cases[i].text, &m);
        if (cases[i].minute < 0) {
            assert_int_equal(rc, -1);
            assert_int_equal(m, -7);   /* untouched */
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(m, cases[i].minute);
        }
    }
}

/* issue 14: a priest completes a booking once it has started, not before. */
static void test_complete_not_before_start(void **state)
{
    (void)state;
    const int64_t start = INT64_C(1800000000) * 1000000;
    assert_reason(booking_check_complete(start, start - DAY), "not_started", "a day early");
    assert_reason(booking_check_complete(start, start - 1), "not_started", "a microsecond early");
    assert_reason(booking_check_complete(start, start), NULL, "at the start");
    assert_reason(booking_check_complete(start, start + HOUR), NULL, "an hour in");
    assert_reason(booking_check_complete(start, start + 30 * DAY), NULL, "a month later");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_tz_offset_parse),
        cmocka_unit_test(test_parse_date_time),
        cmocka_unit_test(test_local_to_instant),
        cmocka_unit_test(test_round_trip_every_day),
        cmocka_unit_test(test_check_start),
        cmocka_unit_test(test_check_hours_and_values),
        cmocka_unit_test(test_overlap_buffer),
        cmocka_unit_test(test_state_machine_table),
        cmocka_unit_test(test_state_helpers),
        cmocka_unit_test(test_refund_rule),
        cmocka_unit_test(test_grid_empty_day_and_hours),
        cmocka_unit_test(test_grid_partially_taken),
        cmocka_unit_test(test_grid_fully_taken),
        cmocka_unit_test(test_grid_local_vs_utc_day),
        cmocka_unit_test(test_grid_now_and_horizon),
        cmocka_unit_test(test_grid_malformed_and_cap),
        cmocka_unit_test(test_slot_time_on_the_grid),
        cmocka_unit_test(test_complete_not_before_start),
    };
    return cmocka_run_group_tests_name("booking_rules", tests, NULL, NULL);
}
