/* it_compression.c — compressed answers (issue 16, api/compress.h): a JSON
 * list and a static file of 1 KiB or more come gzip-encoded to a client
 * that accepts gzip, and gunzip to exactly the identity body; every answer
 * of both (identity, HEAD, 304, small) says Vary: Accept-Encoding; a
 * client without Accept-Encoding, or with only br (Debian's h2o has no
 * brotli), gets identity; small answers and already-compressed files are
 * sent as they are; cached catalog lists carry their stored gzip, other
 * answers are compressed on the fly; ETags and 304s still work (weak on gzip-capable API
 * answers); security headers stay; HTTP/2 (nghttp, prior knowledge) too.
 * The catalog is this test's own: a category with products whose list is
 * over 1 KiB (helpers: tests/support/shop_http.h). */
#include "tests/support/shop_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tests/support/http.h"
#include "tests/support/stack_env.h"

#define GZIP "Accept-Encoding: gzip, deflate\r\n"
#define STATIC_FILE "/js/api.js"    /* > 1 KiB of JavaScript */
#define SMALL_FILE "/img/favicon.svg"   /* < 1 KiB of SVG: compressible type, too small */

static char list_path[128];   /* this test's category's product list, > 1 KiB */
static char one_path[128];    /* one of its products, < 1 KiB */

static void expect_header(const it_response *r, const char *name, const char *value, const char *what)
{
    char v[512];
    if (!it_header(r, name, v, sizeof(v)))
        fail_msg("%s: no %s (status %d)", what, name, r->status);
    if (strcasecmp(v, value) != 0)
        fail_msg("%s: %s is \"%s\", expected \"%s\"", what, name, v, value);
}

static void expect_no_header(const it_response *r, const char *name, const char *what)
{
    char v[512];
    if (it_header(r, name, v, sizeof(v)))
        fail_msg("%s: unexpected %s: %s", what, name, v);
}

/* An identity answer that a cache must still key on Accept-Encoding. */
static void expect_identity(const it_response *r, const char *what)
{
    expect_no_header(r, "content-encoding", what);
    expect_header(r, "vary", "accept-encoding", what);
}

/* r's body gunzips to exactly `identity`. */
static void expect_gzip_of(const it_response *r, const it_response *identity, const char *what)
{
    expect_header(r, "content-encoding", "gzip", what);
    expect_header(r, "vary", "accept-encoding", what);
    size_t n = 0;
    char *plain = it_gunzip(r->body, r->body_len, &n);
    if (!plain)
        fail_msg("%s: the body (%zu bytes) is not one gzip stream", what, r->body_len);
    if (n != identity->body_len || memcmp(plain, identity->body, n) != 0)
        fail_msg("%s: gunzipped %zu bytes differ from the %zu of the identity answer", what, n, identity->body_len);
    free(plain);
    if (r->body_len >= identity->body_len)
        fail_msg("%s: %zu gzip bytes for %zu identity bytes", what, r->body_len, identity->body_len);
}

static void test_json_list(void **state)
{
    (void)state;
    char etag[128], weak[160], inm[256], v[64];
    it_response id = it_http("GET", list_path, NULL, NULL, 0);
    it_expect_status(&id, 200);
    if (id.body_len < 1024)
        fail_msg("precondition: the list is %zu bytes, not over 1 KiB", id.body_len);
    expect_identity(&id, "JSON list, no Accept-Encoding");
    assert_non_null(it_header(&id, "etag", etag, sizeof(etag)));
    assert_int_equal(etag[0], '"');   /* no gzip asked: the strong validator */

    it_response gz = it_http("GET", list_path, GZIP, NULL, 0);
    it_expect_status(&gz, 200);
    expect_gzip_of(&gz, &id, "JSON list, gzip");
    /* The cached list's stored gzip has a Content-Length; on-the-fly gzip none. */
    if (it_header(&gz, "content-length", v, sizeof(v)) && (size_t)atol(v) != gz.body_len)
        fail_msg("JSON list, gzip: Content-Length %s for %zu bytes", v, gz.body_len);
    expect_header(&gz, "content-security-policy", "default-src 'none'; frame-ancestors 'none'", "JSON list, gzip");
    expect_header(&gz, "x-content-type-options", "nosniff", "JSON list, gzip");
    snprintf(weak, sizeof(weak), "W/%s", etag);
    expect_header(&gz, "etag", weak, "JSON list, gzip: the identity ETag, weak");

    /* Revalidation by the gzip client: 304 with the same validator and Vary. */
    snprintf(inm, sizeof(inm), GZIP "If-None-Match: %s\r\n", weak);
    it_response nm = it_http("GET", list_path, inm, NULL, 0);
    it_expect_status(&nm, 304);
    expect_identity(&nm, "JSON list, gzip, 304");
    expect_header(&nm, "etag", weak, "JSON list, gzip, 304");
    assert_int_equal(nm.body_len, 0);

    /* HEAD is never compressed by h2o: the identity length, and Vary. */
    it_response head = it_http("HEAD", list_path, GZIP, NULL, 0);
    it_expect_status(&head, 200);
    expect_identity(&head, "JSON list, HEAD with gzip");
    snprintf(v, sizeof(v), "%zu", id.body_len);
    expect_header(&head, "content-length", v, "JSON list, HEAD with gzip");

    /* Only br accepted: Debian's h2o cannot, so identity. */
    it_response br = it_http("GET", list_path, "Accept-Encoding: br\r\n", NULL, 0);
    it_expect_status(&br, 200);
    expect_identity(&br, "JSON list, br only");
    assert_int_equal(br.body_len, id.body_len);
    it_response_free(&br);
    it_response_free(&head);
    it_response_free(&nm);
    it_response_free(&gz);
    it_response_free(&id);
}

/* The admin's list is per caller, never cached: h2o's filter compresses it
 * as it goes (level 1), so no Content-Length; the bytes must be the same. */
static void test_json_on_the_fly(void **state)
{
    (void)state;
    char path[160];
    snprintf(path, sizeof(path), "/api/admin%s", list_path + 4);
    it_response id = shop_http_call_with("GET", path, &shop_http_admin, NULL, NULL);
    it_expect_status(&id, 200);
    if (id.body_len < 1024)
        fail_msg("precondition: the admin list is %zu bytes, not over 1 KiB", id.body_len);
    expect_identity(&id, "admin list, no Accept-Encoding");
    it_response gz = shop_http_call_with("GET", path, &shop_http_admin, NULL, GZIP);
    it_expect_status(&gz, 200);
    expect_gzip_of(&gz, &id, "admin list, gzip");
    expect_no_header(&gz, "content-length", "admin list, gzip (compressed as it is sent)");
    expect_header(&gz, "transfer-encoding", "chunked", "admin list, gzip");
    it_response_free(&gz);
    it_response_free(&id);
}

static void test_small_json(void **state)
{
    (void)state;
    it_response r = it_http("GET", one_path, GZIP, NULL, 0);
    it_expect_status(&r, 200);
    if (r.body_len >= 1024)
        fail_msg("precondition: one product is %zu bytes, not under 1 KiB", r.body_len);
    expect_identity(&r, "one product, gzip");
    assert_non_null(r.json);
    it_response e = it_http("GET", "/api/no-such-thing/", GZIP, NULL, 0);   /* a problem+json */
    it_expect_status(&e, 404);
    expect_identity(&e, "404, gzip");
    it_response_free(&e);
    it_response_free(&r);
}

static void test_static_file(void **state)
{
    (void)state;
    char etag[128], gz_etag[128], inm[512], v[64];
    it_response id = it_http("GET", STATIC_FILE, NULL, NULL, 0);
    it_expect_status(&id, 200);
    if (id.body_len < 1024)
        fail_msg("precondition: %s is %zu bytes, not over 1 KiB", STATIC_FILE, id.body_len);
    expect_identity(&id, "static, no Accept-Encoding");
    assert_non_null(it_header(&id, "etag", etag, sizeof(etag)));

    it_response gz = it_http("GET", STATIC_FILE, GZIP, NULL, 0);
    it_expect_status(&gz, 200);
    expect_gzip_of(&gz, &id, "static, gzip");
    snprintf(v, sizeof(v), "%zu", gz.body_len);   /* precompressed: its length is known */
    expect_header(&gz, "content-length", v, "static, gzip");
    expect_header(&gz, "content-type", "application/javascript", "static, gzip");
    expect_header(&gz, "x-content-type-options", "nosniff", "static, gzip");
    if (!it_header(&gz, "content-security-policy", inm, sizeof(inm)) || !strstr(inm, "frame-ancestors 'none'"))
        fail_msg("static, gzip: no page Content-Security-Policy");
    assert_non_null(it_header(&gz, "etag", gz_etag, sizeof(gz_etag)));
    if (strcmp(etag, gz_etag) == 0)
        fail_msg("static: the gzip and identity representations share the ETag %s", etag);

    snprintf(inm, sizeof(inm), GZIP "If-None-Match: %s\r\n", gz_etag);
    it_response nm = it_http("GET", STATIC_FILE, inm, NULL, 0);
    it_expect_status(&nm, 304);
    expect_identity(&nm, "static, gzip, 304");

    it_response head = it_http("HEAD", STATIC_FILE, GZIP, NULL, 0);
    it_expect_status(&head, 200);
    expect_header(&head, "content-encoding", "gzip", "static, HEAD with gzip");
    expect_header(&head, "content-length", v, "static, HEAD with gzip");
    assert_int_equal(head.body_len, 0);

    it_response br = it_http("GET", STATIC_FILE, "Accept-Encoding: br\r\n", NULL, 0);
    it_expect_status(&br, 200);
    expect_identity(&br, "static, br only");
    assert_int_equal(br.body_len, id.body_len);
    it_response_free(&br);
    it_response_free(&head);
    it_response_free(&nm);
    it_response_free(&gz);
    it_response_free(&id);
}

/* The contract's JSON rendering (138 KB): its build-time .gz, with a
 * Content-Length; the YAML has none, so identity, but Vary all the same. */
static void test_openapi_documents(void **state)
{
    (void)state;
    char v[64];
    it_response id = it_http("GET", "/api/openapi.json", NULL, NULL, 0);
    it_expect_status(&id, 200);
    expect_identity(&id, "openapi.json, no Accept-Encoding");
    it_response gz = it_http("GET", "/api/openapi.json", GZIP, NULL, 0);
    it_expect_status(&gz, 200);
    expect_gzip_of(&gz, &id, "openapi.json, gzip");
    snprintf(v, sizeof(v), "%zu", gz.body_len);
    expect_header(&gz, "content-length", v, "openapi.json, gzip");
    it_response yaml = it_http("GET", "/api/openapi.yaml", GZIP, NULL, 0);
    it_expect_status(&yaml, 200);
    expect_identity(&yaml, "openapi.yaml, gzip");
    it_response_free(&yaml);
    it_response_free(&gz);
    it_response_free(&id);
}

static void test_static_not_compressed(void **state)
{
    (void)state;
    it_response small = it_http("GET", SMALL_FILE, GZIP, NULL, 0);
    it_expect_status(&small, 200);
    if (small.body_len >= 1024)
        fail_msg("precondition: %s is %zu bytes, not under 1 KiB", SMALL_FILE, small.body_len);
    expect_identity(&small, "small static, gzip");
    /* Already compressed: the .gz itself is sent as it is, not gzipped again. */
    it_response gz = it_http("GET", STATIC_FILE ".gz", GZIP, NULL, 0);
    it_expect_status(&gz, 200);
    expect_no_header(&gz, "content-encoding", "a .gz file, gzip");
    size_t n = 0;
    char *plain = it_gunzip(gz.body, gz.body_len, &n);
    assert_non_null(plain);
    free(plain);
    it_response_free(&gz);
    it_response_free(&small);
}

/* nghttp speaks HTTP/2 over cleartext (prior knowledge) and inflates a
 * gzip body itself: the headers from -v, the decoded body from a second run. */
static char *nghttp(const char *args, const char *path, size_t *len)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "nghttp %s -H 'accept-encoding: gzip' http://127.0.0.1:%s%s", args,
             it_env("PUNYAKA_HTTP_PORT"), path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 20;
    char *out = malloc(cap + 1);
    *len = fread(out, 1, cap, p);
    out[*len] = 0;
    if (pclose(p) != 0)
        fail_msg("%s failed", cmd);
    return out;
}

static void expect_h2_gzip(const char *path)
{
    size_t hlen, blen;
    char *heads = nghttp("-v -n", path, &hlen);
    if (!strstr(heads, ":status: 200") || !strstr(heads, "content-encoding: gzip") ||
        !strstr(heads, "vary: accept-encoding"))
        fail_msg("HTTP/2 %s: not a gzip 200 with Vary:\n%.1500s", path, heads);
    char *body = nghttp("", path, &blen);
    it_response id = it_http("GET", path, NULL, NULL, 0);
    if (blen != id.body_len || memcmp(body, id.body, blen) != 0)
        fail_msg("HTTP/2 %s: the inflated body (%zu bytes) is not the identity one (%zu)", path, blen, id.body_len);
    it_response_free(&id);
    free(body);
    free(heads);
}

static void test_http2(void **state)
{
    (void)state;
    expect_h2_gzip(list_path);
    expect_h2_gzip(STATIC_FILE);
}

static int make_catalog(void **state)
{
    (void)state;
    int64_t cat = shop_http_create_category("gzip", 0);
    /* Descriptions of a few hundred bytes: five products make a list well over 1 KiB. */
    const char *extra = "\"description\":\"Pure cow ghee for the lamp, poured in brass; "
                        "enough for eleven evenings of aarti, packed in a glass jar that keeps the aroma.\"";
    int64_t id = 0;
    for (int i = 0; i < 5; i++)
        id = shop_http_create_product_in("ghee", "120.00", 10, cat, extra, NULL);
    snprintf(list_path, sizeof(list_path), "/api/products/?category=%lld", (long long)cat);
    snprintf(one_path, sizeof(one_path), "/api/products/%lld/", (long long)id);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_json_list, make_catalog),
        cmocka_unit_test(test_json_on_the_fly),
        cmocka_unit_test(test_small_json),
        cmocka_unit_test(test_static_file),
        cmocka_unit_test(test_openapi_documents),
        cmocka_unit_test(test_static_not_compressed),
        cmocka_unit_test(test_http2),
    };
    return shop_http_main("compression", tests, sizeof(tests) / sizeof(tests[0]), NULL, NULL, NULL, NULL);
}
