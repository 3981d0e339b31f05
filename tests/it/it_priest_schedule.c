/* it_priest_schedule.c — a priest's own schedule over real HTTP (issue 17):
 * weekly hours narrow availability and bookings (409 priest_unavailable),
 * a blocked day empties availability and lists the booking already inside
 * it without cancelling it, unblocking makes the day bookable again; only
 * the priest himself reads and changes his schedule (403 for other roles,
 * 404 for another priest's block); bad input is 422 naming the field and
 * publishes nothing. Helpers and the group setup (an admin, a 60-minute
 * service): tests/support/bookings_http.h. */
#include "tests/support/bookings_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "common/booking_rules.h"
#include "common/schedule_rules.h"
#include "tests/support/calls.h"
#include "tests/support/http.h"

static PGconn *db;
static it_actor admin;
static int64_t service_id;   /* 60 minutes */

static const it_actor ANONYMOUS = {0};

/* The availability of priest p on date for the group's service, as a
 * comma-joined list of starts ("09:00,09:30"). */
static void slots_of(const it_actor *p, const char *date, char *out, size_t cap)
{
    it_response r = it_callf("GET", NULL, NULL, "/api/priests/%lld/availability/?date=%s&service=%lld",
                             (long long)p->priest_id, date, (long long)service_id);
    it_expect_status(&r, 200);
    json_t *slots = json_object_get(r.json, "slots");
    size_t i, n = 0;
    json_t *s;
    out[0] = 0;
    json_array_foreach(slots, i, s) {
        n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? "," : "", json_string_value(s));
        if (n >= cap)
            fail_msg("too many slots");
    }
    it_response_free(&r);
}

/* The weekday name ("mon") of a local date text. */
static const char *weekday_of(const char *date)
{
    booking_date d;
    assert_int_equal(booking_parse_date(date, &d), 0);
    return schedule_day_name(schedule_weekday(d));
}

/* A week with `day` set to `on_day` and every other day to `others`. */
static void week_json(char *out, size_t cap, const char *day, const char *on_day, const char *others)
{
    size_t n = (size_t)snprintf(out, cap, "{\"hours\":{");
    for (int d = 0; d < SCHEDULE_DAYS; d++)
        n += (size_t)snprintf(out + n, cap - n, "%s\"%s\":%s", d ? "," : "", schedule_day_name(d),
                              strcmp(schedule_day_name(d), day) == 0 ? on_day : others);
    snprintf(out + n, cap - n, "}}");
}

static void expect_booking_status(const it_actor *c, const it_actor *p, const char *date, const char *time,
                                  int status, const char *code)
{
    it_response r = book_with(c, p->priest_id, service_id, date, time);
    if (code)
        it_expect_problem(&r, status, code, "booking_time");
    else
        it_expect_status(&r, status);
    it_response_free(&r);
}

/* ---- tests ---- */

static void test_hours_narrow_availability_and_bookings(void **state)
{
    (void)state;
    it_actor c = customer(), p = priest();
    char date[11], next[11], body[1024], slots[1024];
    local_date(3, date);
    local_date(4, next);

    it_response r = it_call("GET", "/api/priest/schedule/", &p, NULL);
    it_expect_status(&r, 200);
    assert_true(json_is_true(json_object_get(r.json, "is_default")));
    char *text = json_dumps(json_object_get(r.json, "hours"), JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(text, SCHEDULE_DEFAULT_HOURS_JSON);
    free(text);
    it_response_free(&r);

    /* Mornings and one evening hour on the day; the next day off. */
    week_json(body, sizeof(body), weekday_of(next), "[]", "[[\"09:00\",\"11:00\"],[\"16:00\",\"17:00\"]]");
    if (strcmp(weekday_of(date), weekday_of(next)) == 0)
        fail_msg("two days, one weekday");
    r = it_call("PUT", "/api/priest/schedule/", &p, body);
    it_expect_status(&r, 200);
    assert_false(json_is_true(json_object_get(r.json, "is_default")));
    assert_int_equal(json_array_size(json_object_get(json_object_get(r.json, "hours"), weekday_of(date))), 2);
    /* The command's answer is the object the next GET shows. */
    it_response again = it_call("GET", "/api/priest/schedule/", &p, NULL);
    it_expect_status(&again, 200);
    if (!json_equal(r.json, again.json))
        fail_msg("PUT answered %s, GET shows %s", r.body, again.body);
    it_response_free(&again);
    it_response_free(&r);

    slots_of(&p, date, slots, sizeof(slots));
    assert_string_equal(slots, "09:00,09:30,10:00,16:00");
    slots_of(&p, next, slots, sizeof(slots));
    assert_string_equal(slots, "");

    expect_booking_status(&c, &p, date, "10:30", 409, "priest_unavailable");   /* runs past 11:00 */
    expect_booking_status(&c, &p, date, "13:00", 409, "priest_unavailable");
    expect_booking_status(&c, &p, next, "10:00", 409, "priest_unavailable");   /* day off */
    expect_booking_status(&c, &p, date, "16:00", 201, NULL);

    r = it_call("GET", "/api/priest/schedule/", &p, NULL);
    it_expect_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(json_object_get(r.json, "hours"), weekday_of(next))), 0);
    it_response_free(&r);
}

static void test_block_a_day_lists_conflicts_and_unblocks(void **state)
{
    (void)state;
    it_actor c = customer(), p = priest();
    char date[11], next[11], body[512], slots[1024];
    local_date(5, date);
    local_date(6, next);
    int64_t existing = book(&c, &p, date, "10:00");

    snprintf(body, sizeof(body), "{\"start\":\"%sT00:00\",\"end\":\"%sT00:00+05:30\",\"reason\":\"family wedding\"}",
             date, next);
    it_response r = it_call("POST", "/api/priest/blocks/", &p, body);
    it_expect_status(&r, 201);
    int64_t block = it_num(r.json, "id");
    assert_true(block > 0);
    assert_string_equal(it_str(r.json, "reason"), "family wedding");
    json_t *conflicts = json_object_get(r.json, "conflicting_bookings");
    assert_int_equal(json_array_size(conflicts), 1);
    assert_int_equal(json_integer_value(json_array_get(conflicts, 0)), existing);
    json_t *created = json_incref(r.json);
    it_response_free(&r);

    slots_of(&p, date, slots, sizeof(slots));
    assert_string_equal(slots, "");
    expect_booking_status(&c, &p, date, "15:00", 409, "priest_unavailable");
    /* The booking inside the block stays booked. */
    assert_int_equal(booking_sql("SELECT (status = 'pending')::int FROM bookings WHERE id = $1", existing), 1);

    r = it_call("GET", "/api/priest/blocks/", &p, NULL);
    it_expect_status(&r, 200);
    assert_int_equal(it_num(r.json, "count"), 1);
    json_t *first = json_array_get(json_object_get(r.json, "results"), 0);
    if (!json_equal(first, created))   /* the list shows what POST answered */
        fail_msg("GET lists %s", r.body);
    json_decref(created);
    it_response_free(&r);

    r = it_callf("DELETE", &p, NULL, "/api/priest/blocks/%lld/", (long long)block);
    it_expect_status(&r, 200);
    assert_int_equal(it_num(r.json, "id"), block);
    it_response_free(&r);
    r = it_callf("DELETE", &p, NULL, "/api/priest/blocks/%lld/", (long long)block);
    it_expect_problem(&r, 404, "not_found", NULL);
    it_response_free(&r);

    slots_of(&p, date, slots, sizeof(slots));
    assert_non_null(strstr(slots, "15:00"));
    assert_null(strstr(slots, "10:00"));   /* the existing booking still holds its slot */
    expect_booking_status(&c, &p, date, "15:00", 201, NULL);
}

/* A part-of-day block: the buffer counts, a start right after the block is free. */
static void test_block_part_of_a_day(void **state)
{
    (void)state;
    it_actor c = customer(), p = priest();
    char date[11], body[512], slots[1024];
    local_date(7, date);
    snprintf(body, sizeof(body), "{\"start\":\"%sT12:00\",\"end\":\"%sT14:00\"}", date, date);
    it_response r = it_call("POST", "/api/priest/blocks/", &p, body);
    it_expect_status(&r, 201);
    assert_string_equal(it_str(r.json, "reason"), "");
    assert_int_equal(json_array_size(json_object_get(r.json, "conflicting_bookings")), 0);
    it_response_free(&r);
    slots_of(&p, date, slots, sizeof(slots));
    assert_non_null(strstr(slots, "10:30,14:00"));   /* 11:00 + 60 + 15 reaches 12:15 */
    expect_booking_status(&c, &p, date, "11:00", 409, "priest_unavailable");
    expect_booking_status(&c, &p, date, "14:00", 201, NULL);
}

static const char *body_for(const char *method)
{
    return strcmp(method, "PUT") == 0 || strcmp(method, "POST") == 0 ? "{}" : NULL;
}

static void test_roles_and_ownership(void **state)
{
    (void)state;
    it_actor c = customer(), p = priest(), other = priest();
    char date[11], body[512];
    local_date(8, date);
    static const char *const PATHS[][2] = {
        {"GET", "/api/priest/schedule/"}, {"PUT", "/api/priest/schedule/"}, {"GET", "/api/priest/blocks/"},
        {"POST", "/api/priest/blocks/"},  {"DELETE", "/api/priest/blocks/1/"},
    };
    for (size_t i = 0; i < sizeof(PATHS) / sizeof(PATHS[0]); i++) {
        const it_actor *who[] = {&c, &admin};
        for (size_t j = 0; j < 2; j++) {
            it_response r = it_call(PATHS[i][0], PATHS[i][1], who[j], body_for(PATHS[i][0]));
            it_expect_problem(&r, 403, NULL, NULL);
            it_response_free(&r);
        }
        it_response r = it_call(PATHS[i][0], PATHS[i][1], &ANONYMOUS, body_for(PATHS[i][0]));
        it_expect_status(&r, 401);
        it_response_free(&r);
    }
    snprintf(body, sizeof(body), "{\"start\":\"%sT08:00\",\"end\":\"%sT09:00\",\"reason\":\"puja at home\"}", date, date);
    it_response r = it_call("POST", "/api/priest/blocks/", &p, body);
    it_expect_status(&r, 201);
    int64_t block = it_num(r.json, "id");
    it_response_free(&r);
    /* Another priest: the block does not exist for him. */
    r = it_callf("DELETE", &other, NULL, "/api/priest/blocks/%lld/", (long long)block);
    it_expect_problem(&r, 404, "not_found", NULL);
    it_response_free(&r);
    r = it_call("GET", "/api/priest/blocks/", &other, NULL);
    it_expect_status(&r, 200);
    assert_int_equal(it_num(r.json, "count"), 0);
    it_response_free(&r);
    assert_int_equal(booking_sql("SELECT count(*) FROM priest_blocks WHERE id = $1", block), 1);
}

static void test_bad_input_is_422_and_publishes_nothing(void **state)
{
    (void)state;
    it_actor p = priest();
    char date[11], far[11];
    local_date(2, date);
    local_date(400, far);
    long long before = processed();
    static const struct {
        const char *method, *path, *body, *field;
    } CASES[] = {
        {"PUT", "/api/priest/schedule/", "{}", "hours"},
        {"PUT", "/api/priest/schedule/", "{\"hours\":{\"mon\":[]}}", "hours.tue"},
        {"PUT", "/api/priest/schedule/",
         "{\"hours\":{\"mon\":[[\"09:15\",\"10:00\"]],\"tue\":[],\"wed\":[],\"thu\":[],\"fri\":[],\"sat\":[],\"sun\":[]}}",
         "hours.mon"},
        {"PUT", "/api/priest/schedule/",
         "{\"hours\":{\"mon\":[],\"tue\":[[\"05:00\",\"10:00\"]],\"wed\":[],\"thu\":[],\"fri\":[],\"sat\":[],\"sun\":[]}}",
         "hours.tue"},
        {"PUT", "/api/priest/schedule/",
         "{\"hours\":{\"mon\":[],\"tue\":[],\"wed\":[[\"12:00\",\"14:00\"],[\"13:00\",\"15:00\"]],\"thu\":[],\"fri\":[],"
         "\"sat\":[],\"sun\":[]}}",
         "hours.wed"},
        {"POST", "/api/priest/blocks/", "{\"end\":\"2030-01-01T10:00\"}", "start"},
        {"POST", "/api/priest/blocks/", "{\"start\":\"tomorrow\",\"end\":\"2030-01-01T10:00\"}", "start"},
        {"POST", "/api/priest/blocks/", "{\"start\":\"%sT10:00\",\"end\":\"%sT10:00\"}", "end"},
        {"POST", "/api/priest/blocks/", "{\"start\":\"%sT10:00\",\"end\":\"%sT09:00\"}", "end"},
        {"POST", "/api/priest/blocks/", "{\"start\":\"%sT10:00\",\"end\":\"%sT09:00\",\"reason\":7}", "reason"},
    };
    for (size_t i = 0; i < sizeof(CASES) / sizeof(CASES[0]); i++) {
        char body[1024];
        snprintf(body, sizeof(body), CASES[i].body, date, date);
        it_response r = it_call(CASES[i].method, CASES[i].path, &p, body);
        it_expect_problem(&r, 422, "validation_error", CASES[i].field);
        it_response_free(&r);
    }
    char body[1024], reason[600];
    memset(reason, 'x', 501), reason[501] = 0;
    snprintf(body, sizeof(body), "{\"start\":\"%sT10:00\",\"end\":\"%sT11:00\",\"reason\":\"%s\"}", date, date, reason);
    it_response r = it_call("POST", "/api/priest/blocks/", &p, body);
    it_expect_problem(&r, 422, "validation_error", "reason");
    it_response_free(&r);
    snprintf(body, sizeof(body), "{\"start\":\"%sT10:00\",\"end\":\"%sT11:00\"}", date, far);   /* > 366 days ahead */
    r = it_call("POST", "/api/priest/blocks/", &p, body);
    it_expect_problem(&r, 422, "validation_error", "end");
    it_response_free(&r);
    assert_int_equal(processed(), before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hours_narrow_availability_and_bookings),
        cmocka_unit_test(test_block_a_day_lists_conflicts_and_unblocks),
        cmocka_unit_test(test_block_part_of_a_day),
        cmocka_unit_test(test_roles_and_ownership),
        cmocka_unit_test(test_bad_input_is_422_and_publishes_nothing),
    };
    return bookings_http_main("priest_schedule", tests, sizeof(tests) / sizeof(tests[0]), &db, &admin, &service_id);
}
