/* it_bookings_http_reads.c — the public reads over real HTTP (issue 4): a
 * priest's availability, the priest list's filters, ordering and paging
 * (never KYC or contact data), services, ETags, and the admin's service
 * writes they reflect at once. Helpers and the group setup: tests/support/
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

static PGconn *db;   /* set by bookings_http_main, with admin and service_id */
static it_actor admin;
static int64_t service_id;
static const char *const tag = bookings_http_tag;

/* Completed, then rated `stars` by its customer: a booking that has begun
 * (it_book_started), confirmed and completed by its priest over HTTP. */
static void rated_booking(const it_actor *c, const it_actor *p, int stars)
{
    static int n;
    char body[128];
    int64_t id = it_book_started(db, c->user_id, p->priest_id, service_id, n++);
    assert_true(id > 0);
    act_ok(p, id, "confirm", NULL);
    act_ok(p, id, "complete", NULL);
    snprintf(body, sizeof(body), "{\"rating\":%d,\"feedback\":\"%d stars\"}", stars, stars);
    act_ok(c, id, "rate", body);
}

static void test_availability(void **state)
{
    (void)state;
    it_actor c = customer(), p = priest();
    char date[11], yesterday[11];
    local_date(3, date);
    local_date(-1, yesterday);

    it_response r = it_callf("GET", NULL, NULL, "/api/priests/%lld/availability/?date=%s&service=%lld",
                          (long long)p.priest_id, date, (long long)service_id);
    it_expect_status(&r, 200);
    json_t *slots = json_object_get(r.json, "slots");
    assert_int_equal(json_array_size(slots), 29);   /* 06:00 … 20:00, every 30 minutes */
    assert_string_equal(json_string_value(json_array_get(slots, 0)), "06:00");
    assert_string_equal(json_string_value(json_array_get(slots, 28)), "20:00");
    assert_string_equal(it_str(r.json, "date"), date);
    assert_int_equal(it_num(r.json, "service"), service_id);
    assert_int_equal(it_num(r.json, "priest"), p.priest_id);
    it_response_free(&r);

    book(&c, &p, date, "10:00");   /* occupies 10:00–11:15 */
    r = it_callf("GET", NULL, NULL, "/api/priests/%lld/availability/?date=%s&service=%lld", (long long)p.priest_id,
              date, (long long)service_id);
    it_expect_status(&r, 200);
    slots = json_object_get(r.json, "slots");
    assert_int_equal(json_array_size(slots), 24);
    char listed[256] = "";
    size_t i;
    json_t *s;
    json_array_foreach(slots, i, s) {
        strcat(listed, json_string_value(s));
        strcat(listed, " ");
    }
    assert_non_null(strstr(listed, "08:30 "));   /* ends 09:45 (with buffer): free */
    assert_null(strstr(listed, "09:00 "));       /* would run into 10:00 */
    assert_null(strstr(listed, "10:00 "));
    assert_null(strstr(listed, "11:00 "));       /* inside 10:00–11:15 */
    assert_non_null(strstr(listed, "11:30 "));
    it_response_free(&r);

    /* A past day has no free start (documented: 200 with an empty list). */
    r = it_callf("GET", NULL, NULL, "/api/priests/%lld/availability/?date=%s&service=%lld", (long long)p.priest_id,
              yesterday, (long long)service_id);
    it_expect_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "slots")), 0);
    it_response_free(&r);

    const char *bad[][2] = {
        {"?date=2030-02-30&service=%lld", "date"},
        {"?service=%lld", "date"},
        {"?date=2030-01-01", "service"},
        {"?date=2030-01-01&service=abc%lld", "service"},
        {"?date=2030-01-01&service=999999999", "service"},
    };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        char query[128], target[256];
        snprintf(query, sizeof(query), bad[k][0], (long long)service_id);
        snprintf(target, sizeof(target), "/api/priests/%lld/availability/%s", (long long)p.priest_id, query);
        r = it_call("GET", target, NULL, NULL);
        it_expect_problem(&r, 422, NULL, bad[k][1]);
        it_response_free(&r);
    }
    r = it_callf("GET", NULL, NULL, "/api/priests/999999999/availability/?date=%s&service=%lld", date,
              (long long)service_id);
    it_expect_status(&r, 404);
    it_response_free(&r);
}

/* The ids of a list page's results, "a,b,c". */
static void ids_of(const it_response *r, char *out, size_t cap)
{
    size_t i, n = 0;
    json_t *item;
    out[0] = 0;
    json_array_foreach(json_object_get(r->json, "results"), i, item) n +=
        (size_t)snprintf(out + n, cap - n, "%s%lld", i ? "," : "", it_num(item, "id"));
}

static void expect_ids(const char *query, const char *want)
{
    char path[512], got[256];
    snprintf(path, sizeof(path), "/api/priests/?%s", query);
    it_response r = it_call("GET", path, NULL, NULL);
    it_expect_status(&r, 200);
    ids_of(&r, got, sizeof(got));
    if (strcmp(got, want) != 0)
        fail_msg("%s: got [%s], want [%s]", query, got, want);
    it_response_free(&r);
}

static void test_priest_list_filters_and_ordering(void **state)
{
    (void)state;
    char spec[64], extra[512], date[11];
    snprintf(spec, sizeof(spec), "veda%s", tag);
    local_date(2, date);
    /* five (rated 5, exp 5), three (rated 3, exp 20), none (unrated, exp 10), hidden (unverified, exp 30) */
    snprintf(extra, sizeof(extra), "\"specializations\":[\"%s\"],\"languages\":[\"Hindi\"],\"experience_years\":5,"
             "\"aadhaar_number\":\"2341 2341 2346\",\"pan_number\":\"ABCPE1234F\"", spec);
    it_actor five = priest_with(extra);
    snprintf(extra, sizeof(extra), "\"specializations\":[\"Rudra %s\"],\"languages\":[\"Tamil\",\"Sanskrit\"],"
             "\"experience_years\":20", spec);
    it_actor three = priest_with(extra);
    snprintf(extra, sizeof(extra), "\"specializations\":[\"%s\"],\"languages\":[\"hindi\",\"Marathi\"],"
             "\"experience_years\":10", spec);
    it_actor none = priest_with(extra);
    snprintf(extra, sizeof(extra), "\"specializations\":[\"%s\"],\"languages\":[\"Hindi\"],\"experience_years\":30", spec);
    it_actor hidden = register_as("pandit", "priest", extra);
    it_actor c = customer();
    rated_booking(&c, &five, 5);
    rated_booking(&c, &three, 3);

    char f[24], t[24], n[24], q[512], want[128];
    snprintf(f, sizeof(f), "%lld", (long long)five.priest_id);
    snprintf(t, sizeof(t), "%lld", (long long)three.priest_id);
    snprintf(n, sizeof(n), "%lld", (long long)none.priest_id);
    (void)hidden;
#define EXPECT(query_fmt, a, b, c_)                                                                  \
    do {                                                                                              \
        snprintf(q, sizeof(q), query_fmt, spec);                                                      \
        snprintf(want, sizeof(want), "%s%s%s%s%s", a, *b ? "," : "", b, *c_ ? "," : "", c_);          \
        expect_ids(q, want);                                                                          \
    } while (0)
    EXPECT("specialization=%s", f, t, n);                       /* default: best rated first */
    EXPECT("specialization=%s&ordering=-rating", f, t, n);
    EXPECT("specialization=%s&ordering=rating", n, t, f);
    EXPECT("specialization=%s&ordering=-experience", t, n, f);
    EXPECT("specialization=%s&ordering=experience", f, n, t);
    EXPECT("specialization=RUDRA+%s", t, "", "");               /* case-insensitive, inside the element */
    EXPECT("specialization=%s&language=HINDI", f, n, "");
    EXPECT("specialization=%s&language=sansk", t, "", "");
    EXPECT("specialization=%s&min_rating=4", f, "", "");
    EXPECT("specialization=%s&min_rating=3.00", f, t, "");
    EXPECT("specialization=%s&q=%%25", "", "", "");             /* a literal %, not a wildcard */
    EXPECT("specialization=%s&q=_", "", "", "");
    snprintf(q, sizeof(q), "q=%s", three.name);                   /* last name "Ln<username>" */
    expect_ids(q, t);
    snprintf(q, sizeof(q), "q=rudra+%s", spec);                   /* a specialization */
    expect_ids(q, t);
#undef EXPECT

    snprintf(q, sizeof(q), "/api/priests/?specialization=%s&page_size=2", spec);
    it_response r = it_call("GET", q, NULL, NULL);
    it_expect_status(&r, 200);
    assert_int_equal(it_num(r.json, "count"), 3);
    assert_int_equal(json_array_size(json_object_get(r.json, "results")), 2);
    assert_true(json_is_string(json_object_get(r.json, "next")));
    assert_true(json_is_null(json_object_get(r.json, "previous")));
    json_t *first = json_array_get(json_object_get(r.json, "results"), 0);
    assert_string_equal(it_str(first, "average_rating"), "5.00");
    assert_int_equal(it_num(first, "total_ratings"), 1);
    char display[96];
    snprintf(display, sizeof(display), "Pandit Ln%s", five.name);
    assert_string_equal(it_str(first, "name"), display);   /* first + last name */
    assert_string_equal(it_str(json_object_get(first, "user"), "last_name"), strchr(display, ' ') + 1);
    it_response_free(&r);
    snprintf(q, sizeof(q), "/api/priests/?specialization=%s&page_size=2&page=2", spec);
    r = it_call("GET", q, NULL, NULL);
    assert_int_equal(json_array_size(json_object_get(r.json, "results")), 1);
    assert_true(json_is_string(json_object_get(r.json, "previous")));
    /* Public: never KYC, contact data or verification notes. */
    assert_null(strstr(r.body, "2346"));
    assert_null(strstr(r.body, "aadhaar"));
    assert_null(strstr(r.body, "email"));
    assert_null(strstr(r.body, "verification_notes"));
    it_response_free(&r);
    r = it_callf("GET", NULL, NULL, "/api/priests/%lld/", (long long)five.priest_id);
    it_expect_status(&r, 200);
    assert_null(strstr(r.body, "2346"));
    assert_null(strstr(r.body, "ABCPE"));
    assert_null(strstr(r.body, "_enc"));
    it_response_free(&r);
    r = it_callf("GET", NULL, NULL, "/api/priests/%lld/", (long long)hidden.priest_id);
    it_expect_status(&r, 404);
    it_response_free(&r);

    const char *bad[][2] = {{"ordering=name", "ordering"}, {"min_rating=6", "min_rating"},
                            {"min_rating=abc", "min_rating"}, {"page_size=101", "page_size"}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(q, sizeof(q), "/api/priests/?%s", bad[i][0]);
        r = it_call("GET", q, NULL, NULL);
        it_expect_problem(&r, 422, "validation_error", bad[i][1]);
        it_response_free(&r);
    }
}

/* 200 with an ETag, then 304 with no body for the same If-None-Match. */
static void expect_revalidates(const char *path, char etag_out[80])
{
    char etag[80], headers[160];
    it_response r = it_call("GET", path, NULL, NULL);
    it_expect_status(&r, 200);
    assert_non_null(it_header(&r, "etag", etag, sizeof(etag)));
    it_response_free(&r);
    snprintf(headers, sizeof(headers), "If-None-Match: %s\r\n", etag);
    r = it_http("GET", path, headers, NULL, 0);
    it_expect_status(&r, 304);
    assert_int_equal(r.body_len, 0);
    it_response_free(&r);
    if (etag_out)
        snprintf(etag_out, 80, "%s", etag);
}

static void test_etag_and_services(void **state)
{
    (void)state;
    it_actor p = priest();
    char path[256], type[64], name[64], etag[80], headers[160], date[11];
    snprintf(type, sizeof(type), "havan-%s", tag);
    snprintf(name, sizeof(name), "Navagraha Havan %s", tag);
    local_date(3, date);
    int64_t svc = create_service(name, type, "2100.50", 90);

    snprintf(path, sizeof(path), "/api/services/%lld/", (long long)svc);
    expect_revalidates(path, etag);
    snprintf(path, sizeof(path), "/api/services/?service_type=%s", type);
    expect_revalidates(path, NULL);
    it_response r = it_call("GET", path, NULL, NULL);
    assert_int_equal(it_num(r.json, "count"), 1);
    json_t *s = json_array_get(json_object_get(r.json, "results"), 0);
    assert_string_equal(it_str(s, "base_price"), "2100.50");
    assert_int_equal(it_num(s, "duration_minutes"), 90);
    it_response_free(&r);
    snprintf(path, sizeof(path), "/api/priests/%lld/", (long long)p.priest_id);
    expect_revalidates(path, NULL);
    snprintf(path, sizeof(path), "/api/priests/?specialization=griha_pravesh&page_size=5");
    expect_revalidates(path, NULL);
    snprintf(path, sizeof(path), "/api/priests/%lld/availability/?date=%s&service=%lld", (long long)p.priest_id,
             date, (long long)svc);
    expect_revalidates(path, NULL);

    /* A change shows at once: the old ETag no longer matches. */
    r = it_callf("PATCH", &admin, "{\"base_price\":\"2200\",\"description\":\"nine planets\"}", "/api/admin/services/%lld/",
              (long long)svc);
    it_expect_status(&r, 200);
    assert_string_equal(it_str(r.json, "base_price"), "2200.00");
    assert_string_equal(it_str(r.json, "name"), name);   /* untouched */
    it_response_free(&r);
    snprintf(path, sizeof(path), "/api/services/%lld/", (long long)svc);
    snprintf(headers, sizeof(headers), "If-None-Match: %s\r\n", etag);
    r = it_http("GET", path, headers, NULL, 0);
    it_expect_status(&r, 200);
    assert_string_equal(it_str(r.json, "description"), "nine planets");
    it_response_free(&r);

    /* Admin input is validated before publishing. */
    long long before = processed();
    const char *bad[][3] = {
        {"POST", "{\"name\":\"x\",\"service_type\":\"x\",\"duration_minutes\":60}", "base_price"},
        {"POST", "{\"name\":\"\",\"service_type\":\"x\",\"duration_minutes\":60,\"base_price\":\"1\"}", "name"},
        {"POST", "{\"name\":\"x\",\"service_type\":\"Not A Slug\",\"duration_minutes\":60,\"base_price\":\"1\"}",
         "service_type"},
        {"POST", "{\"name\":\"x\",\"service_type\":\"x\",\"duration_minutes\":0,\"base_price\":\"1\"}",
         "duration_minutes"},
        {"PATCH", "{\"base_price\":\"12.345\"}", "base_price"},
        {"PATCH", "{\"base_price\":12.5}", "base_price"},
        {"PATCH", "{}", "non_field_errors"},
        {"PATCH", "{\"is_active\":\"no\"}", "is_active"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = strcmp(bad[i][0], "POST") == 0 ? it_call("POST", "/api/admin/services/", &admin, bad[i][1])
                                           : it_callf("PATCH", &admin, bad[i][1], "/api/admin/services/%lld/",
                                                   (long long)svc);
        it_expect_problem(&r, 422, "validation_error", bad[i][2]);
        it_response_free(&r);
    }
    usleep(300 * 1000);
    assert_int_equal(processed(), before);
    r = it_call("PATCH", "/api/admin/services/999999999/", &admin, "{\"name\":\"Ghost\"}");
    it_expect_problem(&r, 404, "not_found", "service_id");
    it_response_free(&r);

    /* Retiring hides it from the public reads. */
    r = it_callf("PATCH", &admin, "{\"is_active\":false}", "/api/admin/services/%lld/", (long long)svc);
    it_expect_status(&r, 200);
    it_response_free(&r);
    r = it_callf("GET", NULL, NULL, "/api/services/%lld/", (long long)svc);
    it_expect_status(&r, 404);
    it_response_free(&r);
    snprintf(path, sizeof(path), "/api/services/?service_type=%s", type);
    r = it_call("GET", path, NULL, NULL);
    assert_int_equal(it_num(r.json, "count"), 0);
    it_response_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_availability),
        cmocka_unit_test(test_priest_list_filters_and_ordering),
        cmocka_unit_test(test_etag_and_services),
    };
    return bookings_http_main("bookings_http_reads", tests, sizeof(tests) / sizeof(tests[0]), &db, &admin, &service_id);
}
