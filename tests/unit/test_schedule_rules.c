/* test_schedule_rules.c — a priest's weekly hours and blocks
 * (common/schedule_rules.h): parsing and validating a week, the canonical
 * text, whether a service fits the week, whether it hits a block, the block
 * limits, instants as clients send them, and availability under both. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/schedule_rules.h"

#define MIN BOOKING_US_PER_MIN
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define IST 330

static json_t *week_doc(const char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    return j;
}

/* Parses text as {"hours": …}'s value; returns the message (NULL = accepted). */
static const char *parse(const char *text, schedule_week *w, char field[16])
{
    json_t *j = week_doc(text);
    const char *why = schedule_week_parse(j, w, field);
    json_decref(j);
    return why;
}

#define EMPTY_REST "\"wed\":[],\"thu\":[],\"fri\":[],\"sat\":[],\"sun\":[]"

static void test_parse_valid_week(void **state)
{
    (void)state;
    schedule_week w;
    char field[16];
    assert_null(parse("{\"mon\":[[\"09:00\",\"13:00\"],[\"16:00\",\"20:00\"]],\"tue\":[[\"06:00\",\"21:00\"]]," EMPTY_REST
                      "}",
                      &w, field));
    assert_int_equal(w.count[0], 2);
    assert_int_equal(w.iv[0][1].start_min, 16 * 60);
    assert_int_equal(w.iv[0][1].end_min, 20 * 60);
    assert_int_equal(w.count[1], 1);
    assert_int_equal(w.count[6], 0);
    char *text = schedule_week_format(&w);
    assert_string_equal(text, "{\"mon\":[[\"09:00\",\"13:00\"],[\"16:00\",\"20:00\"]],\"tue\":[[\"06:00\",\"21:00\"]],"
                              "\"wed\":[],\"thu\":[],\"fri\":[],\"sat\":[],\"sun\":[]}");
    free(text);
    /* Touching intervals are allowed; four a day is the limit. */
    assert_null(parse("{\"mon\":[[\"06:00\",\"07:00\"],[\"07:00\",\"08:00\"],[\"09:00\",\"10:00\"],[\"20:30\",\"21:00\"]],"
                      "\"tue\":[]," EMPTY_REST "}",
                      &w, field));
}

static void test_default_matches_sql_literal(void **state)
{
    (void)state;
    schedule_week w;
    schedule_week_default(&w);
    char *text = schedule_week_format(&w);
    assert_string_equal(text, SCHEDULE_DEFAULT_HOURS_JSON);
    free(text);
}

static void test_parse_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *json, *field;
    } cases[] = {
        {"[]", "hours"},
        {"{\"mon\":[]}", "hours.tue"},                                                          /* days missing */
        {"{\"mon\":[],\"tue\":[]," EMPTY_REST ",\"xyz\":[]}", "hours"},                         /* extra key */
        {"{\"mon\":[],\"tuesday\":[]," EMPTY_REST "}", "hours.tue"},                             /* unknown name */
        {"{\"mon\":{},\"tue\":[]," EMPTY_REST "}", "hours.mon"},                                /* not a list */
        {"{\"mon\":[[\"09:00\"]],\"tue\":[]," EMPTY_REST "}", "hours.mon"},                      /* not a pair */
        {"{\"mon\":[[\"09:00\",13]],\"tue\":[]," EMPTY_REST "}", "hours.mon"},                   /* not strings */
        {"{\"mon\":[[\"09:15\",\"13:00\"]],\"tue\":[]," EMPTY_REST "}", "hours.mon"},            /* off the grid */
        {"{\"mon\":[[\"9:00\",\"13:00\"]],\"tue\":[]," EMPTY_REST "}", "hours.mon"},             /* not HH:MM */
        {"{\"mon\":[[\"13:00\",\"13:00\"]],\"tue\":[]," EMPTY_REST "}", "hours.mon"},            /* empty */
        {"{\"mon\":[[\"14:00\",\"13:00\"]],\"tue\":[]," EMPTY_REST "}", "hours.mon"},            /* backwards */
        {"{\"mon\":[[\"05:30\",\"09:00\"]],\"tue\":[]," EMPTY_REST "}", "hours.mon"},            /* before 06:00 */
        {"{\"mon\":[[\"20:00\",\"21:30\"]],\"tue\":[]," EMPTY_REST "}", "hours.mon"},            /* after 21:00 */
        {"{\"mon\":[],\"tue\":[[\"12:00\",\"14:00\"],[\"09:00\",\"10:00\"]]," EMPTY_REST "}", "hours.tue"}, /* unsorted */
        {"{\"mon\":[],\"tue\":[[\"09:00\",\"12:00\"],[\"11:30\",\"14:00\"]]," EMPTY_REST "}", "hours.tue"}, /* overlap */
        {"{\"mon\":[],\"tue\":[]," EMPTY_REST ",\"sun\":[]}", NULL},                            /* dup: jansson keeps one */
        {"{\"mon\":[],\"tue\":[],\"wed\":[],\"thu\":[],\"fri\":[],\"sat\":[],\"sun\":[[\"06:00\",\"07:00\"],"
         "[\"08:00\",\"09:00\"],[\"10:00\",\"11:00\"],[\"12:00\",\"13:00\"],[\"14:00\",\"15:00\"]]}",
         "hours.sun"},                                                                          /* five */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        schedule_week w;
        char field[16];
        const char *why = parse(cases[i].json, &w, field);
        if (!cases[i].field) {
            assert_null(why);
            continue;
        }
        if (!why)
            fail_msg("case %zu accepted: %s", i, cases[i].json);
        if (strcmp(field, cases[i].field) != 0)
            fail_msg("case %zu: field %s, want %s", i, field, cases[i].field);
    }
}

static void test_weekday(void **state)
{
    (void)state;
    assert_int_equal(schedule_weekday((booking_date){1970, 1, 1}), 3);    /* Thursday */
    assert_int_equal(schedule_weekday((booking_date){2026, 12, 7}), 0);   /* Monday */
    assert_int_equal(schedule_weekday((booking_date){2026, 12, 13}), 6);  /* Sunday */
    assert_int_equal(schedule_weekday((booking_date){1969, 12, 29}), 0);  /* before the epoch */
    assert_string_equal(schedule_day_name(0), "mon");
    assert_string_equal(schedule_day_name(6), "sun");
    assert_string_equal(schedule_day_name(7), "");
}

static void test_fits_week(void **state)
{
    (void)state;
    schedule_week w;
    char field[16];
    assert_null(parse("{\"mon\":[[\"09:00\",\"13:00\"],[\"16:00\",\"20:00\"]],\"tue\":[]," EMPTY_REST "}", &w, field));
    booking_date mon = {2026, 12, 7}, tue = {2026, 12, 8};
    assert_null(schedule_check_hours(&w, mon, 9 * 60, 60));
    assert_null(schedule_check_hours(&w, mon, 12 * 60, 60));            /* ends exactly at 13:00 */
    assert_string_equal(schedule_check_hours(&w, mon, 12 * 60 + 30, 60), "priest_unavailable");
    assert_string_equal(schedule_check_hours(&w, mon, 8 * 60 + 30, 60), "priest_unavailable");
    /* One interval must hold the whole service: 12:00–17:00 spans the gap. */
    assert_string_equal(schedule_check_hours(&w, mon, 12 * 60, 300), "priest_unavailable");
    assert_string_equal(schedule_check_hours(&w, tue, 9 * 60, 60), "priest_unavailable");   /* day off */
    schedule_week_default(&w);
    assert_null(schedule_check_hours(&w, tue, 6 * 60, 15 * 60));
    assert_string_equal(schedule_check_hours(&w, tue, 20 * 60 + 30, 60), "priest_unavailable");
}

static void test_hits_block(void **state)
{
    (void)state;
    int64_t t = booking_local_to_us((booking_date){2026, 12, 7}, 10 * 60, IST);
    booking_range blocks[] = {{t, t + 2 * HOUR}};
    /* Half-open: a booking whose buffer ends at the block's start is free,
     * one whose buffer reaches into it is not. */
    assert_false(schedule_hits_block(booking_occupancy(t - HOUR + 15 * MIN - 15 * MIN, 45), blocks, 1));
    assert_true(schedule_hits_block(booking_occupancy(t - HOUR, 50), blocks, 1));
    assert_true(schedule_hits_block(booking_occupancy(t + HOUR, 30), blocks, 1));
    assert_false(schedule_hits_block(booking_occupancy(t + 2 * HOUR, 30), blocks, 1));
    assert_false(schedule_hits_block(booking_occupancy(t, 30), blocks, 0));
}

static void test_block_limits(void **state)
{
    (void)state;
    const char *field;
    int64_t now = booking_local_to_us((booking_date){2026, 12, 7}, 12 * 60, IST);
    assert_null(schedule_check_block(now - 6 * HOUR, now + 6 * HOUR, now, &field));   /* the rest of today */
    assert_non_null(schedule_check_block(now + HOUR, now + HOUR, now, &field));
    assert_string_equal(field, "end");
    assert_non_null(schedule_check_block(now + 2 * HOUR, now + HOUR, now, &field));
    assert_null(schedule_check_block(now, now + 366 * DAY, now, &field));
    assert_non_null(schedule_check_block(now, now + 366 * DAY + 1, now, &field));      /* ends too late */
    assert_non_null(schedule_check_block(now - 10 * DAY, now + 357 * DAY, now, &field)); /* too long */
}

static void test_parse_instant(void **state)
{
    (void)state;
    int64_t us, want = booking_local_to_us((booking_date){2026, 12, 7}, 9 * 60, IST);
    assert_int_equal(schedule_parse_instant("2026-12-07T09:00", IST, &us), 0);
    assert_int_equal(us, want);
    assert_int_equal(schedule_parse_instant("2026-12-07T09:00:00+05:30", 0, &us), 0);
    assert_int_equal(us, want);
    assert_int_equal(schedule_parse_instant("2026-12-07T03:30:00.000Z", IST, &us), 0);
    assert_int_equal(us, want);
    assert_int_equal(schedule_parse_instant("2026-12-07T03:30:01.5Z", IST, &us), 0);
    assert_int_equal(us, want + 1500000);
    assert_int_equal(schedule_parse_instant("2026-12-06T22:00-05:00", IST, &us), 0);
    assert_int_equal(us, booking_local_to_us((booking_date){2026, 12, 7}, 3 * 60, 0));
    static const char *const bad[] = {"", "2026-12-07", "2026-12-07 09:00", "2026-13-07T09:00", "2026-12-07T25:00",
                                      "2026-12-07T09:00:60", "2026-12-07T09:00:00.", "2026-12-07T09:00:00.1234567Z",
                                      "2026-12-07T09:00+5:30", "2026-12-07T09:00+05", "2026-12-07T09:00X",
                                      "2026-12-07T09:00+15:00"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (schedule_parse_instant(bad[i], IST, &us) == 0)
            fail_msg("accepted %s", bad[i]);
    assert_int_equal(schedule_parse_instant(NULL, IST, &us), -1);
}

static void test_free_starts_under_schedule(void **state)
{
    (void)state;
    schedule_week w;
    char field[16];
    assert_null(parse("{\"mon\":[[\"09:00\",\"11:00\"],[\"16:00\",\"17:00\"]],\"tue\":[]," EMPTY_REST "}", &w, field));
    booking_date mon = {2026, 12, 7};
    int64_t now = booking_local_to_us((booking_date){2026, 12, 1}, 0, IST);
    booking_day_query q = {.date = mon, .tz_offset_min = IST, .duration_min = 60, .now_us = now};
    int starts[BOOKING_SLOTS_PER_DAY];
    int n = schedule_free_starts(&q, &w, NULL, 0, starts, BOOKING_SLOTS_PER_DAY);
    assert_int_equal(n, 4);   /* 09:00, 09:30, 10:00, 16:00 */
    assert_int_equal(starts[0], 9 * 60);
    assert_int_equal(starts[2], 10 * 60);
    assert_int_equal(starts[3], 16 * 60);
    /* A block 09:30–10:00 local: 09:00 (buffer to 10:15) and 09:30 go; 10:00 stays. */
    int64_t b = booking_local_to_us(mon, 9 * 60 + 30, IST);
    booking_range blocks[] = {{b, b + 30 * MIN}};
    n = schedule_free_starts(&q, &w, blocks, 1, starts, BOOKING_SLOTS_PER_DAY);
    assert_int_equal(n, 2);
    assert_int_equal(starts[0], 10 * 60);
    /* A whole-day block empties the day; the next day is a day off. */
    booking_range day[] = {{booking_local_to_us(mon, 0, IST), booking_local_to_us(mon, 1440, IST)}};
    assert_int_equal(schedule_free_starts(&q, &w, day, 1, starts, BOOKING_SLOTS_PER_DAY), 0);
    q.date = (booking_date){2026, 12, 8};
    assert_int_equal(schedule_free_starts(&q, &w, NULL, 0, starts, BOOKING_SLOTS_PER_DAY), 0);
    /* The default week offers what the platform's hours offer. */
    schedule_week_default(&w);
    q.date = mon;
    int plain[BOOKING_SLOTS_PER_DAY];
    booking_day_query p = q;
    p.open_min = BOOKING_OPEN_MIN, p.close_min = BOOKING_CLOSE_MIN;
    assert_int_equal(schedule_free_starts(&q, &w, NULL, 0, starts, BOOKING_SLOTS_PER_DAY),
                     booking_free_starts(&p, plain, BOOKING_SLOTS_PER_DAY));
    /* Malformed: a block list promised but missing; a bad query. */
    assert_int_equal(schedule_free_starts(&q, &w, NULL, 1, starts, BOOKING_SLOTS_PER_DAY), -1);
    q.duration_min = 0;
    assert_int_equal(schedule_free_starts(&q, &w, NULL, 0, starts, BOOKING_SLOTS_PER_DAY), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid_week),
        cmocka_unit_test(test_default_matches_sql_literal),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_weekday),
        cmocka_unit_test(test_fits_week),
        cmocka_unit_test(test_hits_block),
        cmocka_unit_test(test_block_limits),
        cmocka_unit_test(test_parse_instant),
        cmocka_unit_test(test_free_starts_under_schedule),
    };
    return cmocka_run_group_tests_name("schedule_rules", tests, NULL, NULL);
}
