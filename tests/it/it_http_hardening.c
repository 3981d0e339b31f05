/* it_http_hardening.c — what every response tells a browser (issue 13,
 * "hardened responses"): nosniff on every answer (JSON, problem+json, static
 * files, h2o's own errors, 304s, preflights), a Content-Security-Policy with
 * frame-ancestors 'none' and Referrer-Policy on pages, no server version;
 * the API's /metrics only on its own (loopback) port; the headers a frontend
 * on another site may read (CORS expose list) and the cookies' SameSite. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "tests/support/http.h"
#include "tests/support/procs.h"
#include "tests/support/stack_env.h"

/* Headers every response must carry, whatever answered it. */
static void assert_hardened(const it_response *r, const char *what)
{
    char v[512];
    if (r->status == 0)
        fail_msg("%s: no answer", what);
    if (!it_header(r, "x-content-type-options", v, sizeof(v)) || strcmp(v, "nosniff") != 0)
        fail_msg("%s (status %d): X-Content-Type-Options is not nosniff", what, r->status);
    /* No product/version banner: absent, or a bare name without "/x.y". */
    if (it_header(r, "server", v, sizeof(v)) && (strchr(v, '/') || strstr(v, "h2o")))
        fail_msg("%s: Server announces \"%s\"", what, v);
}

static void assert_page_policy(const it_response *r, const char *what)
{
    char csp[512], ref[64];
    assert_hardened(r, what);
    if (!it_header(r, "content-security-policy", csp, sizeof(csp)))
        fail_msg("%s: no Content-Security-Policy", what);
    if (!strstr(csp, "default-src 'self'") || !strstr(csp, "frame-ancestors 'none'") ||
        !strstr(csp, "script-src 'self'") || strstr(csp, "unsafe-inline") || strstr(csp, "unsafe-eval"))
        fail_msg("%s: weak Content-Security-Policy \"%s\"", what, csp);
    if (!it_header(r, "referrer-policy", ref, sizeof(ref)) || strcmp(ref, "same-origin") != 0)
        fail_msg("%s: Referrer-Policy is not same-origin", what);
}

static void check(const char *method, const char *path, const char *headers, int status, int page)
{
    char what[256];
    snprintf(what, sizeof(what), "%s %s", method, path);
    it_response r = it_http(method, path, headers, NULL, 0);
    if (r.status != status)
        fail_msg("%s: status %d, expected %d", what, r.status, status);
    if (page)
        assert_page_policy(&r, what);
    else
        assert_hardened(&r, what);
    it_response_free(&r);
}

static void test_every_kind_of_response_is_hardened(void **state)
{
    (void)state;
    check("GET", "/healthz", NULL, 200, 0);
    check("GET", "/api/categories/", NULL, 200, 0);             /* JSON with an ETag */
    check("GET", "/api/no/such/thing/", NULL, 404, 0);          /* problem+json */
    check("GET", "/api/auth/me/", NULL, 401, 0);
    check("DELETE", "/api/categories/", NULL, 405, 0);
    check("POST", "/api/auth/login/", "Content-Type: text/plain\r\n", 415, 0);
    check("GET", "/js/ui.js", NULL, 200, 0);                    /* static module */
    check("GET", "/css/app.css", NULL, 200, 0);
    check("GET", "/img/favicon.svg", NULL, 200, 0);
    check("GET", "/no-such-page.html", NULL, 404, 0);           /* h2o's own 404 */
    check("OPTIONS", "/api/categories/",
          "Origin: http://localhost:3000\r\nAccess-Control-Request-Method: GET\r\n", 204, 0);
    check("GET", "/", NULL, 200, 1);                            /* pages */
    check("GET", "/login.html", NULL, 200, 1);
    check("GET", "/dashboard.html", NULL, 200, 1);

    /* 304s: a page and an API answer revalidated. */
    char etag[128], headers[256];
    const char *paths[] = {"/login.html", "/api/categories/"};
    for (int i = 0; i < 2; i++) {
        it_response r = it_http("GET", paths[i], NULL, NULL, 0);
        assert_non_null(it_header(&r, "etag", etag, sizeof(etag)));
        it_response_free(&r);
        snprintf(headers, sizeof(headers), "If-None-Match: %s\r\n", etag);
        check("GET", paths[i], headers, 304, 0);
    }
}

/* The API's counters (login failures per route among them) are not for the
 * public: /metrics is a 404 there and answers on the metrics port only. */
static void test_metrics_only_on_the_metrics_port(void **state)
{
    (void)state;
    it_response r = it_http("GET", "/metrics", NULL, NULL, 0);
    assert_int_equal(r.status, 404);
    assert_null(strstr(r.body ? r.body : "", "punyaka_http_requests_total"));
    assert_hardened(&r, "GET /metrics on the public port");
    it_response_free(&r);

    const char *port = it_env("PUNYAKA_API_METRICS_PORT");
    r = it_http_port(port, "GET", "/metrics", NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "punyaka_http_requests_total{route=\"/healthz\""));
    assert_hardened(&r, "GET /metrics on the metrics port");
    it_response_free(&r);
    /* The metrics port serves nothing else. */
    r = it_http_port(port, "GET", "/api/categories/", NULL);
    assert_int_equal(r.status, 404);
    it_response_free(&r);
    r = it_http_port(port, "GET", "/login.html", NULL);
    assert_int_equal(r.status, 404);
    it_response_free(&r);
}

/* Connects to addr:port; 0 when something accepted. */
static int reachable(struct in_addr addr, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr = addr};
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* Loopback by default: another interface of this host gets no answer. */
static void test_metrics_port_is_loopback_only(void **state)
{
    (void)state;
    struct ifaddrs *ifs, *i;
    struct in_addr other = {0};
    assert_int_equal(getifaddrs(&ifs), 0);
    for (i = ifs; i; i = i->ifa_next)
        if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
            (ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr) >> 24) != 127) {
            other = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;
            break;
        }
    freeifaddrs(ifs);
    if (!other.s_addr)
        skip();   /* a host with loopback only: nothing to compare */
    assert_true(reachable(other, atoi(it_env("PUNYAKA_HTTP_PORT"))));   /* the public port is */
    assert_false(reachable(other, atoi(it_env("PUNYAKA_API_METRICS_PORT"))));
}

static void assert_exposes(const it_response *r)
{
    char v[256];
    assert_non_null(it_header(r, "access-control-expose-headers", v, sizeof(v)));
    const char *names[] = {"Location", "Retry-After", "ETag", "X-Command-Id"};
    for (int i = 0; i < 4; i++)
        if (!strstr(v, names[i]))
            fail_msg("Access-Control-Expose-Headers \"%s\" lacks %s", v, names[i]);
}

/* A frontend on an allowed origin may read the headers the API's answers
 * depend on (202's Location and X-Command-Id, 429/503's Retry-After, ETag). */
static void test_cors_exposes_the_headers_clients_need(void **state)
{
    (void)state;
    char v[256];
    it_response r = it_http("GET", "/api/categories/", "Origin: http://localhost:3000\r\n", NULL, 0);
    assert_int_equal(r.status, 200);
    assert_exposes(&r);
    it_response_free(&r);
    r = it_http("GET", "/api/no/such/", "Origin: http://localhost:3000\r\n", NULL, 0);
    assert_int_equal(r.status, 404);
    assert_exposes(&r);
    it_response_free(&r);
    /* Any other origin learns nothing. */
    r = it_http("GET", "/api/categories/", "Origin: https://evil.example\r\n", NULL, 0);
    assert_null(it_header(&r, "access-control-allow-origin", v, sizeof(v)));
    assert_null(it_header(&r, "access-control-expose-headers", v, sizeof(v)));
    it_response_free(&r);
}

/* The attributes of the cookie `name` as served by the API that it_http
 * points at now, or "" (no answer, no such cookie). The anonymous CSRF
 * handshake sets `csrftoken`; a session cookie comes with a registration
 * (anonymous visitors get no session). */
static void cookie_attrs(const char *name, char *attrs, size_t cap)
{
    static int n;
    char value[160], body[256];
    it_response r;
    if (strcmp(name, "csrftoken") == 0) {
        r = it_http("GET", "/api/auth/csrf/", NULL, NULL, 0);
    } else {
        snprintf(body, sizeof(body),
                 "{\"username\":\"cookie%d_%ld\",\"email\":\"cookie%d_%ld@example.com\",\"password\":"
                 "\"Cookie-pass-7\",\"role\":\"customer\"}",
                 n, (long)getpid(), n, (long)getpid());
        n++;
        r = it_post_json("/api/auth/register/", body, "Prefer: wait=10\r\n");
    }
    attrs[0] = 0;
    if ((r.status != 200 && r.status != 201) || !it_cookie(&r, name, value, sizeof(value), attrs, cap))
        attrs[0] = 0;
    it_response_free(&r);
}

static const char *const COOKIES[] = {"punyaka_session", "csrftoken"};

static void test_cookies_are_samesite_lax_by_default(void **state)
{
    (void)state;
    char attrs[256];
    for (int i = 0; i < 2; i++) {
        cookie_attrs(COOKIES[i], attrs, sizeof(attrs));
        if (!strstr(attrs, "; SameSite=Lax"))
            fail_msg("cookie %s has \"%s\"", COOKIES[i], attrs);
    }
}

/* A frontend on another site needs SameSite=None, which browsers accept
 * only with Secure; Strict is there for a site that wants it. The spare
 * API is stopped before anything is asserted, so a failure leaves none. */
static void test_cookie_samesite_is_configurable(void **state)
{
    (void)state;
    struct {
        const char *env, *want;
        int secure;
    } cases[] = {{"PUNYAKA_COOKIE_SAMESITE=None", "; SameSite=None", 1},
                 {"PUNYAKA_COOKIE_SAMESITE=Strict", "; SameSite=Strict", 0}};
    for (int i = 0; i < 2; i++) {
        const char *env[] = {cases[i].env, "PUNYAKA_COOKIE_SECURE=0", NULL};
        char attrs[2][256];
        pid_t api = it_api_spawn("api-samesite", env);
        assert_true(api > 0);   /* it_api_spawn kills one that did not come up */
        for (int n = 0; n < 2; n++)
            cookie_attrs(COOKIES[n], attrs[n], sizeof(attrs[n]));
        assert_int_equal(it_api_stop(api), 0);
        for (int n = 0; n < 2; n++)
            if (!strstr(attrs[n], cases[i].want) || (strstr(attrs[n], "; Secure") != NULL) != cases[i].secure)
                fail_msg("%s: cookie %s has \"%s\"", cases[i].env, COOKIES[n], attrs[n]);
    }
}

/* The metrics listener has a context of its own: an API with one serves a
 * scrape, then stops cleanly (exit 0; under the sanitizers, nothing leaked). */
static void test_api_with_a_metrics_port_stops_cleanly(void **state)
{
    (void)state;
    char env_port[64], port[16];
    snprintf(port, sizeof(port), "%d", it_unused_port());
    snprintf(env_port, sizeof(env_port), "PUNYAKA_API_METRICS_PORT=%s", port);
    const char *env[] = {env_port, "PUNYAKA_API_METRICS_ADDR=127.0.0.1", NULL};
    pid_t api = it_api_spawn("api-metrics", env);
    assert_true(api > 0);
    it_response pub = it_http("GET", "/metrics", NULL, NULL, 0);
    it_response scrape = it_http_port(port, "GET", "/metrics", NULL);
    it_response post = it_http_port(port, "POST", "/metrics", NULL);
    assert_int_equal(it_api_stop(api), 0);   /* first: a failure below leaves no process */
    assert_int_equal(pub.status, 404);
    assert_int_equal(scrape.status, 200);
    assert_non_null(strstr(scrape.body, "punyaka_kafka_up"));
    assert_int_equal(post.status, 405);
    it_response_free(&pub);
    it_response_free(&scrape);
    it_response_free(&post);
}

int main(void)
{
    it_load_stack_env();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_kind_of_response_is_hardened),
        cmocka_unit_test(test_metrics_only_on_the_metrics_port),
        cmocka_unit_test(test_metrics_port_is_loopback_only),
        cmocka_unit_test(test_cors_exposes_the_headers_clients_need),
        cmocka_unit_test(test_cookies_are_samesite_lax_by_default),
        cmocka_unit_test(test_cookie_samesite_is_configurable),
        cmocka_unit_test(test_api_with_a_metrics_port_stops_cleanly),
    };
    return cmocka_run_group_tests_name("http_hardening", tests, NULL, NULL);
}
