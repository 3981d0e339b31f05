/* it_http_errors.c — bad requests get a clear problem+json and the server
 * keeps serving. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include "tests/support/http.h"
#include "tests/support/stack_env.h"

static void assert_problem(it_response *r, int status, const char *code)
{
    char ctype[96];
    assert_int_equal(r->status, status);
    assert_non_null(it_header(r, "content-type", ctype, sizeof(ctype)));
    assert_string_equal(ctype, "application/problem+json");
    assert_non_null(r->json);
    assert_int_equal(json_integer_value(json_object_get(r->json, "status")), status);
    assert_string_equal(json_string_value(json_object_get(r->json, "code")), code);
    assert_non_null(json_string_value(json_object_get(r->json, "type")));
    assert_non_null(json_string_value(json_object_get(r->json, "title")));
    it_response_free(r);
}

static void assert_still_serving(void)
{
    it_response r = it_http("GET", "/healthz", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    it_response_free(&r);
}

static void test_malformed_json_is_400(void **state)
{
    (void)state;
    const char *bodies[] = {"{bad", "", "[1,2]", "{\"a\":1,\"a\":2}", "{\"username\":\"\xff\xfe\"}", "{\"a\":1} trailing"};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        it_response r = it_post_json("/api/auth/register/", bodies[i], NULL);
        assert_problem(&r, 400, "malformed_json");
    }
    assert_still_serving();
}

static void test_one_mebibyte_body_is_413(void **state)
{
    (void)state;
    size_t n = 1 << 20;
    char *big = malloc(n);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    it_response r = it_http("POST", "/api/auth/register/", "Content-Type: application/json\r\n", big, n);
    free(big);
    /* over the read bound (PUNYAKA_MAX_BODY × 4): h2o's own 413, from the
     * headers, before the body is read */
    assert_int_equal(r.status, 413);
    it_response_free(&r);
    assert_still_serving();
}

/* Over the 64 KiB limit: one top-level member without which the body would
 * fit is named in a 422; a body spread over many members gets 413. */
static void test_oversize_body_names_the_member_to_blame(void **state)
{
    (void)state;
    size_t n = 100 * 1024;
    char *big = malloc(n + 128);
    int at = snprintf(big, n + 128, "{\"username\":\"someone\",\"email\":\"");
    memset(big + at, 'a', n);
    snprintf(big + at + n, 128, "@example.com\",\"password\":\"long-enough-1\"}");
    it_response r = it_post_json("/api/auth/register/", big, NULL);
    assert_int_equal(r.status, 422);
    assert_non_null(json_object_get(json_object_get(r.json, "errors"), "email"));
    assert_int_equal(json_object_size(json_object_get(r.json, "errors")), 1);
    assert_problem(&r, 422, "validation_error");

    /* 40 members of 2 KiB each: no single one is to blame. */
    size_t len = 0;
    len += (size_t)snprintf(big + len, n + 128 - len, "{");
    for (int i = 0; i < 40; i++) {
        len += (size_t)snprintf(big + len, n + 128 - len, "%s\"f%d\":\"", i ? "," : "", i);
        memset(big + len, 'b', 2048);
        len += 2048;
        big[len++] = '"';
    }
    big[len++] = '}';
    big[len] = 0;
    r = it_post_json("/api/auth/register/", big, NULL);
    assert_problem(&r, 413, "body_too_large");
    free(big);
    assert_still_serving();
}

static void test_wrong_content_type_is_415(void **state)
{
    (void)state;
    it_response r = it_http("POST", "/api/auth/register/", "Content-Type: text/plain\r\n", "{}", 2);
    assert_problem(&r, 415, "unsupported_media_type");
    r = it_http("POST", "/api/auth/register/", NULL, "{}", 2);
    assert_problem(&r, 415, "unsupported_media_type");
    assert_still_serving();
}

static void test_unknown_route_is_404(void **state)
{
    (void)state;
    it_response r = it_http("GET", "/api/no/such/thing/", NULL, NULL, 0);
    assert_problem(&r, 404, "not_found");
    r = it_http("GET", "/api/commands/not-a-uuid", NULL, NULL, 0);
    assert_problem(&r, 404, "not_found");
    /* A well-formed id is a route, and command status is private: 401 without
     * a session (it_command_privacy: 404 to a signed-in stranger). */
    r = it_http("GET", "/api/commands/01234567-89ab-7def-8123-456789abcdef", NULL, NULL, 0);
    assert_problem(&r, 401, "not_authenticated");
    assert_still_serving();
}

static void test_wrong_method_is_405_with_allow(void **state)
{
    (void)state;
    it_response r = it_http("DELETE", "/api/auth/register/", NULL, NULL, 0);
    char allow[64];
    assert_non_null(it_header(&r, "allow", allow, sizeof(allow)));
    assert_string_equal(allow, "POST");
    assert_problem(&r, 405, "method_not_allowed");
    r = it_http("GET", "/api/auth/register/", NULL, NULL, 0);
    assert_problem(&r, 405, "method_not_allowed");
    assert_still_serving();
}

static void test_readyz_reports_every_dependency(void **state)
{
    (void)state;
    it_response r = it_http("GET", "/readyz", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_true(json_is_true(json_object_get(r.json, "postgres")));
    assert_true(json_is_true(json_object_get(r.json, "redis")));
    assert_true(json_is_true(json_object_get(r.json, "kafka")));
    it_response_free(&r);
}

static void test_metrics_count_requests_by_route_and_status(void **state)
{
    (void)state;
    it_response r = it_http("GET", "/healthz", NULL, NULL, 0);
    it_response_free(&r);
    r = it_http("GET", "/api/no/such/thing/", NULL, NULL, 0);
    it_response_free(&r);
    r = it_http_port(it_env("PUNYAKA_API_METRICS_PORT"), "GET", "/metrics", NULL);   /* not on the public port */
    char ctype[64];
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(it_header(&r, "content-type", ctype, sizeof(ctype)), "text/plain"));
    assert_non_null(strstr(r.body, "punyaka_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"}"));
    assert_non_null(strstr(r.body, "punyaka_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"}"));
    assert_non_null(strstr(r.body, "punyaka_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"+Inf\"}"));
    assert_non_null(strstr(r.body, "punyaka_kafka_up 1"));
    it_response_free(&r);
}

/* One id per request, echoed once: the client's when sane, else made. */
static void test_request_id_is_echoed_once(void **state)
{
    (void)state;
    char id[80];
    it_response r = it_http("GET", "/api/no-such-endpoint/", "X-Request-Id: trace-me-42\r\n", NULL, 0);
    assert_string_equal(it_header(&r, "x-request-id", id, sizeof(id)), "trace-me-42");
    assert_null(strstr(strstr(r.headers, "x-request-id") + 1, "x-request-id"));
    it_response_free(&r);
    r = it_http("GET", "/api/categories/", "X-Request-Id: bad id with spaces\r\n", NULL, 0);
    assert_non_null(it_header(&r, "x-request-id", id, sizeof(id)));
    assert_int_equal(strlen(id), 24);
    it_response_free(&r);
}

static void test_web_ui_served_with_revalidation(void **state)
{
    (void)state;
    char v[128], etag[128], headers[256];
    it_response r = it_http("GET", "/", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(it_header(&r, "content-type", v, sizeof(v)), "text/html"));
    assert_string_equal(it_header(&r, "cache-control", v, sizeof(v)), "no-cache");
    assert_non_null(it_header(&r, "etag", etag, sizeof(etag)));
    it_response_free(&r);
    snprintf(headers, sizeof(headers), "If-None-Match: %s\r\n", etag);
    r = it_http("GET", "/", headers, NULL, 0);
    assert_int_equal(r.status, 304);
    it_response_free(&r);
}

int main(void)
{
    it_load_stack_env();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_malformed_json_is_400),
        cmocka_unit_test(test_one_mebibyte_body_is_413),
        cmocka_unit_test(test_oversize_body_names_the_member_to_blame),
        cmocka_unit_test(test_wrong_content_type_is_415),
        cmocka_unit_test(test_unknown_route_is_404),
        cmocka_unit_test(test_wrong_method_is_405_with_allow),
        cmocka_unit_test(test_readyz_reports_every_dependency),
        cmocka_unit_test(test_metrics_count_requests_by_route_and_status),
        cmocka_unit_test(test_web_ui_served_with_revalidation),
        cmocka_unit_test(test_request_id_is_echoed_once),
    };
    return cmocka_run_group_tests_name("http_errors", tests, NULL, NULL);
}
