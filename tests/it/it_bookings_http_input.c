/* it_bookings_http_input.c — bad booking input over real HTTP (issue 4):
 * every malformed or impossible request is a 422 naming its field before
 * anything is published (no command reaches a worker), including text one
 * byte over its limit. Helpers and the group setup: tests/support/
 * bookings_http.h. */
#include "tests/support/bookings_http.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include "common/booking_rules.h"
#include "tests/support/calls.h"
#include "tests/support/commands.h"
#include "tests/support/db.h"
#include "tests/support/http.h"
#include "tests/support/stack_env.h"

static it_actor admin;       /* set by bookings_http_main */
static int64_t service_id;

/* One bad request: its target, body, and the answer it must get. */
typedef struct {
    const char *what;
    const char *path;   /* "" = POST /api/bookings/ */
    char body[256];
    int status;
    const char *field;
    const char *code;
    int by_priest;      /* sent by the booking's priest (complete/), else its customer */
} bad_case;

static void test_bad_input_is_422_before_publishing(void **state)
{
    (void)state;
    it_actor c = customer(), p = priest();
    it_actor unverified = register_as("pandit", "priest", NULL);
    char in3[11], yesterday[11], far[11], path[64];
    local_date(3, in3);
    local_date(-1, yesterday);
    local_date(730, far);
    int64_t id = book(&c, &p, in3, "10:00");
    int64_t retired = create_service("Retired puja", "retired", "100.00", 30);
    it_response r = it_callf("PATCH", &admin, "{\"is_active\":false}", "/api/admin/services/%lld/", (long long)retired);
    it_expect_status(&r, 200);
    it_response_free(&r);
    /* Retired: gone from the public list, still in the admin's. */
    r = it_call("GET", "/api/services/?service_type=retired&page_size=100", NULL, NULL);
    it_expect_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "results")), 0);   /* every "retired" is retired */
    it_response_free(&r);
    r = it_call("GET", "/api/admin/services/?service_type=retired&is_active=false&page_size=100", &admin, NULL);
    it_expect_status(&r, 200);
    json_t *listed = NULL, *sv;
    size_t at;
    json_array_foreach(json_object_get(r.json, "results"), at, sv) {
        assert_true(json_is_false(json_object_get(sv, "is_active")));
        if (it_num(sv, "id") == retired)
            listed = sv;
    }
    assert_non_null(listed);
    it_response_free(&r);
    snprintf(path, sizeof(path), "/api/bookings/%lld/", (long long)id);
    long long P = p.priest_id, S = service_id;

    bad_case cases[] = {
        {"past date", "", "", 422, "booking_date", "in_past", 0},
        {"two years ahead", "", "", 422, "booking_date", "too_far_ahead", 0},
        {"no such date", "", "", 422, "booking_date", "validation_error", 0},
        {"malformed time", "", "", 422, "booking_time", "validation_error", 0},
        {"seconds", "", "", 422, "booking_time", "validation_error", 0},
        {"before opening", "", "", 422, "booking_time", "outside_working_hours", 0},
        {"past closing", "", "", 422, "booking_time", "outside_working_hours", 0},
        {"unknown service", "", "", 422, "service", "unknown_service", 0},
        {"retired service", "", "", 422, "service", "service_inactive", 0},
        {"unknown priest", "", "", 422, "priest", "unknown_priest", 0},
        {"unverified priest", "", "", 422, "priest", "not_verified", 0},
        {"latitude", "", "", 422, "location_latitude", "validation_error", 0},
        {"12-hour time (with a client price, never read)", "", "", 422, "booking_time", "validation_error", 0},
        {"rating 0", "rate/", "{\"rating\":0}", 422, "rating", "validation_error", 0},
        {"rating 6", "rate/", "{\"rating\":6}", 422, "rating", "validation_error", 0},
        {"rating \"5\"", "rate/", "{\"rating\":\"5\"}", 422, "rating", "validation_error", 0},
        {"rating 4.5", "rate/", "{\"rating\":4.5}", 422, "rating", "validation_error", 0},
        {"no rating", "rate/", "{\"feedback\":\"nice\"}", 422, "rating", "validation_error", 0},
        {"dakshina negative", "customer_confirm/", "{\"dakshina\":\"-1.00\"}", 422, "dakshina", "validation_error", 0},
        {"dakshina precision", "customer_confirm/", "{\"dakshina\":\"1.234\"}", 422, "dakshina", "validation_error", 0},
        {"checklist text", "complete/", "{\"checklist\":\"done\"}", 422, "checklist", "validation_error", 1},
        {"reason type", "cancel/", "{\"reason\":42}", 422, "reason", "validation_error", 0},
    };
    const char *create_bodies[] = {
        "{\"location_address\":\"1 Ghat Road\",\"priest\":%lld,\"service\":%lld,\"booking_date\":\"%s\",\"booking_time\":\"10:00\"}",
        "{\"location_address\":\"1 Ghat Road\",\"priest\":%lld,\"service\":%lld,\"booking_date\":\"%s\",\"booking_time\":\"10:00\"}",
        "{\"location_address\":\"1 Ghat Road\",\"priest\":%lld,\"service\":%lld,\"booking_date\":\"2030-02-30\",\"booking_time\":\"10:00\"%s}",
        "{\"location_address\":\"1 Ghat Road\",\"priest\":%lld,\"service\":%lld,\"booking_date\":\"%s\",\"booking_time\":\"25:00\"}",
        "{\"location_address\":\"1 Ghat Road\",\"priest\":%lld,\"service\":%lld,\"booking_date\":\"%s\",\"booking_time\":\"10:00:30\"}",
        "{\"location_address\":\"1 Ghat Road\",\"priest\":%lld,\"service\":%lld,\"booking_date\":\"%s\",\"booking_time\":\"05:30\"}",
        "{\"location_address\":\"1 Ghat Road\",\"priest\":%lld,\"service\":%lld,\"booking_date\":\"%s\",\"booking_time\":\"20:30\"}",
    };
    const char *create_dates[] = {yesterday, far, "", in3, in3, in3, in3};
    for (size_t i = 0; i < sizeof(create_bodies) / sizeof(create_bodies[0]); i++)
        snprintf(cases[i].body, sizeof(cases[i].body), create_bodies[i], P, S, create_dates[i]);
    snprintf(cases[7].body, sizeof(cases[7].body),
             "{\"location_address\":\"1 Ghat Road\",\"priest\":%lld,\"service\":999999999,\"booking_date\":\"%s\",\"booking_time\":\"10:00\"}", P, in3);
    snprintf(cases[8].body, sizeof(cases[8].body),
             "{\"location_address\":\"1 Ghat Road\",\"priest\":%lld,\"service\":%lld,\"booking_date\":\"%s\",\"booking_time\":\"10:00\"}", P,
             (long long)retired, in3);
    snprintf(cases[9].body, sizeof(cases[9].body),
             "{\"location_address\":\"1 Ghat Road\",\"priest\":999999999,\"service\":%lld,\"booking_date\":\"%s\",\"booking_time\":\"10:00\"}", S, in3);
    snprintf(cases[10].body, sizeof(cases[10].body),
             "{\"location_address\":\"1 Ghat Road\",\"priest\":%lld,\"service\":%lld,\"booking_date\":\"%s\",\"booking_time\":\"10:00\"}",
             (long long)unverified.priest_id, S, in3);
    snprintf(cases[11].body, sizeof(cases[11].body),
             "{\"location_address\":\"1 Ghat Road\",\"priest\":%lld,\"service\":%lld,\"booking_date\":\"%s\",\"booking_time\":\"11:30\","
             "\"location_latitude\":91}", P, S, in3);
    snprintf(cases[12].body, sizeof(cases[12].body),
             "{\"priest\":%lld,\"service\":%lld,\"booking_date\":\"%s\",\"booking_time\":\"7pm\","
             "\"service_price\":\"1.00\"}", P, S, in3);

    long long before = processed();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char target[96];
        snprintf(target, sizeof(target), "%s%s", *cases[i].path ? path : "/api/bookings/", cases[i].path);
        r = it_call("POST", target, cases[i].by_priest ? &p : &c, cases[i].body);
        if (r.status != cases[i].status || !json_object_get(json_object_get(r.json, "errors"), cases[i].field) ||
            strcmp(it_str(r.json, "code"), cases[i].code) != 0)
            fail_msg("%s: got %d %s, want %d %s naming %s", cases[i].what, r.status, r.body, cases[i].status,
                     cases[i].code, cases[i].field);
        it_response_free(&r);
    }

    /* Text limits: one byte over ⇒ 422 naming the field; 100 KB is also over
     * the 64 KiB body limit (DESIGN §5), and still names the field. */
    size_t big = 100 * 1024;
    char *body = malloc(big + 64), *text = malloc(big + 1);
    size_t sizes[] = {BOOKING_NOTE_MAX + 1, 60 * 1024, big};
    for (size_t i = 0; i < 3; i++) {
        memset(text, 'a', sizes[i]);
        text[sizes[i]] = 0;
        snprintf(body, big + 64, "{\"rating\":5,\"feedback\":\"%s\"}", text);
        r = act(&c, id, "rate", body);
        it_expect_problem(&r, 422, "validation_error", "feedback");
        it_response_free(&r);
    }
    memset(text, 'a', BOOKING_NOTE_MAX + 1);
    text[BOOKING_NOTE_MAX + 1] = 0;
    snprintf(body, big + 64,
             "{\"priest\":%lld,\"service\":%lld,\"booking_date\":\"%s\",\"booking_time\":\"10:00\","
             "\"special_instructions\":\"%s\"}", P, S, in3, text);
    r = it_call("POST", "/api/bookings/", &c, body);
    it_expect_problem(&r, 422, "validation_error", "special_instructions");
    it_response_free(&r);
    free(body);
    free(text);

    usleep(500 * 1000);   /* anything published would have been processed by now */
    assert_int_equal(processed(), before);
    assert_int_equal(booking_sql("SELECT count(*) FROM bookings WHERE customer_id = $1", c.user_id), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_input_is_422_before_publishing),
    };
    return bookings_http_main("bookings_http_input", tests, sizeof(tests) / sizeof(tests[0]),
                              NULL, &admin, &service_id);
}
