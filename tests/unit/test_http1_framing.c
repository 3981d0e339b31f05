/* test_http1_framing.c — the request-head scanner that keeps a request's
 * length unambiguous (common/http1_framing.h): conflicting, listed,
 * non-numeric and folded Content-Length, Transfer-Encoding with
 * Content-Length, where a head ends (as h2o's parser ends it), heads in
 * pieces, the bound, and the HTTP/2 preface. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/http1_framing.h"

#define MAX_HEAD 1024

static pk_framing scan_all(const char *head, pk_framing_scan *s)
{
    *s = (pk_framing_scan){0};
    return pk_http1_framing(head, strlen(head), MAX_HEAD, s);
}

static void assert_bad(const char *head, const char *why)
{
    pk_framing_scan s;
    pk_framing v = scan_all(head, &s);
    if (v != PK_FRAMING_BAD)
        fail_msg("accepted (%d): %s", (int)v, head);
    assert_string_equal(s.why, why);
}

static void assert_ok(const char *head, size_t head_len)
{
    pk_framing_scan s;
    pk_framing v = scan_all(head, &s);
    if (v != PK_FRAMING_OK)
        fail_msg("refused (%d, %s): %s", (int)v, v == PK_FRAMING_BAD ? s.why : "", head);
    assert_int_equal(s.head_len, head_len);
}

static void test_conflicting_lengths_are_bad(void **state)
{
    (void)state;
    assert_bad("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", "conflicting Content-Length headers");
    assert_bad("POST / HTTP/1.1\r\ncontent-length: 0\r\nHost: x\r\nCONTENT-LENGTH:\t12\r\n\r\n",
               "conflicting Content-Length headers");
    assert_bad("POST / HTTP/1.0\nContent-Length: 1\nContent-Length: 10\n\n", "conflicting Content-Length headers");
}

static void test_lists_and_non_numbers_are_bad(void **state)
{
    (void)state;
    static const char *const values[] = {"5, 6", "5,5", "0x10", "+5", "-1", "", "  ", "5 6", "1e3", "١",
                                         "12345678901234567890"};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        char head[128];
        snprintf(head, sizeof(head), "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %s\r\n\r\n", values[i]);
        assert_bad(head, "Content-Length is not a single decimal number");
    }
}

static void test_transfer_encoding_with_length_is_bad(void **state)
{
    (void)state;
    assert_bad("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
               "both Transfer-Encoding and Content-Length");
    assert_bad("POST / HTTP/1.1\r\nContent-Length: 3\r\ntransfer-encoding: chunked\r\n\r\n",
               "both Transfer-Encoding and Content-Length");
    assert_bad("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
               "Transfer-Encoding on more than one line");
}

static void test_folded_lines_are_bad(void **state)
{
    (void)state;
    assert_bad("POST / HTTP/1.1\r\nContent-Length: 5\r\n 6\r\n\r\n", "a folded header line (obs-fold)");
    assert_bad("GET / HTTP/1.1\r\nX-A: b\r\n\tc\r\n\r\n", "a folded header line (obs-fold)");
}

/* What is fine stays fine, and head_len is where h2o's body starts. */
static void test_unambiguous_heads_are_ok(void **state)
{
    (void)state;
    static const char get[] = "GET /api/priests/ HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_ok(get, strlen(get));
    static const char same[] = "POST / HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 005\r\n\r\n";
    assert_ok(same, strlen(same));   /* identical duplicates: one length */
    static const char ows[] = "POST / HTTP/1.1\r\nContent-Length: \t42 \r\n\r\n";
    assert_ok(ows, strlen(ows));
    static const char tab[] = "POST / HTTP/1.1\r\ncontent-length: 007\r\nCONTENT-LENGTH: 7\t\n\r\n";
    assert_ok(tab, strlen(tab));   /* whitespace around a value is not part of it */
    static const char te[] = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert_ok(te, strlen(te));
    static const char lf[] = "GET / HTTP/1.0\nHost: x\n\n";
    assert_ok(lf, strlen(lf));
    static const char mixed[] = "GET / HTTP/1.1\r\nHost: x\n\r\n";
    assert_ok(mixed, strlen(mixed));
    /* picohttpparser skips one empty line before the request line */
    static const char lead[] = "\r\nGET / HTTP/1.1\r\n\r\n";
    assert_ok(lead, strlen(lead));
    /* names that only look alike are other fields */
    static const char alike[] = "GET / HTTP/1.1\r\nContent-Length-X: 1\r\nX-Content-Length: 2\r\nContent-Length: 3\r\n\r\n";
    assert_ok(alike, strlen(alike));
}

/* Only the head is read: a body (even one that looks like a bad head)
 * and a pipelined request after it are not. */
static void test_the_body_is_not_scanned(void **state)
{
    (void)state;
    static const char head[] = "POST / HTTP/1.1\r\nContent-Length: 44\r\n\r\n";
    char buf[256];
    snprintf(buf, sizeof(buf), "%sX\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", head);
    pk_framing_scan s = {0};
    assert_int_equal(pk_http1_framing(buf, strlen(buf), MAX_HEAD, &s), PK_FRAMING_OK);
    assert_int_equal(s.head_len, strlen(head));
}

/* A head in pieces: INCOMPLETE until its empty line, then the verdict;
 * resume only moves forward and never past a line still open. */
static void test_heads_in_pieces(void **state)
{
    (void)state;
    static const char head[] = "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\n";
    size_t len = strlen(head);
    for (size_t step = 1; step <= 7; step++) {
        pk_framing_scan s = {0};
        size_t last_resume = 0;
        pk_framing v = PK_FRAMING_INCOMPLETE;
        size_t have = 0;
        while (v == PK_FRAMING_INCOMPLETE && have < len) {
            have = have + step < len ? have + step : len;
            v = pk_http1_framing(head, have, MAX_HEAD, &s);
            if (v == PK_FRAMING_INCOMPLETE) {
                assert_true(s.resume >= last_resume);
                assert_true(s.resume <= have);
                last_resume = s.resume;
            }
        }
        assert_int_equal(have, len);   /* no verdict before the empty line */
        assert_int_equal(v, PK_FRAMING_BAD);
        assert_string_equal(s.why, "conflicting Content-Length headers");
    }
    pk_framing_scan s = {0};
    assert_int_equal(pk_http1_framing("\r", 1, MAX_HEAD, &s), PK_FRAMING_INCOMPLETE);
    assert_int_equal(pk_http1_framing("", 0, MAX_HEAD, &s), PK_FRAMING_INCOMPLETE);
}

/* No end within the bound: TOO_LARGE (431), whether or not more would come. */
static void test_the_bound(void **state)
{
    (void)state;
    char big[MAX_HEAD + 64];
    memset(big, 'a', sizeof(big));
    memcpy(big, "GET / HTTP/1.1\r\nX-Pad: ", 23);
    pk_framing_scan s = {0};
    assert_int_equal(pk_http1_framing(big, MAX_HEAD - 1, MAX_HEAD, &s), PK_FRAMING_INCOMPLETE);
    assert_int_equal(pk_http1_framing(big, MAX_HEAD, MAX_HEAD, &s), PK_FRAMING_TOO_LARGE);
    memcpy(big + MAX_HEAD + 10, "\r\n\r\n", 4);   /* an end past the bound does not count */
    s = (pk_framing_scan){0};
    assert_int_equal(pk_http1_framing(big, sizeof(big), MAX_HEAD, &s), PK_FRAMING_TOO_LARGE);
    static const char fits[] = "GET / HTTP/1.1\r\n\r\n";
    s = (pk_framing_scan){0};
    assert_int_equal(pk_http1_framing(fits, strlen(fits), strlen(fits), &s), PK_FRAMING_OK);
}

/* h2c with prior knowledge is HTTP/2's business (h2o frames it by DATA
 * frames and checks content-length itself). */
static void test_http2_preface_is_not_http1(void **state)
{
    (void)state;
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    pk_framing_scan s = {0};
    assert_int_equal(pk_http1_framing(preface, strlen(preface), MAX_HEAD, &s), PK_FRAMING_NOT_HTTP1);
    assert_int_equal(pk_http1_framing(preface, 5, MAX_HEAD, &s), PK_FRAMING_INCOMPLETE);
    assert_int_equal(pk_http1_framing("PRX", 3, MAX_HEAD, &s), PK_FRAMING_INCOMPLETE);   /* a request line, unfinished */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conflicting_lengths_are_bad),
        cmocka_unit_test(test_lists_and_non_numbers_are_bad),
        cmocka_unit_test(test_transfer_encoding_with_length_is_bad),
        cmocka_unit_test(test_folded_lines_are_bad),
        cmocka_unit_test(test_unambiguous_heads_are_ok),
        cmocka_unit_test(test_the_body_is_not_scanned),
        cmocka_unit_test(test_heads_in_pieces),
        cmocka_unit_test(test_the_bound),
        cmocka_unit_test(test_http2_preface_is_not_http1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
