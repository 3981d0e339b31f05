/* test_mail.c — the mailer's pure parts (common/mail.h): templates,
 * HTML escaping, header encoding and injection, quoted-printable, the MIME
 * message, backoff. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mail.h"

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decodes quoted-printable (soft breaks removed, CRLF ⇒ "\n") into out. */
static void qp_decode(const char *s, pk_buf *out)
{
    for (const char *p = s; *p; p++) {
        if (p[0] == '=' && p[1] == '\r' && p[2] == '\n') {
            p += 2;
        } else if (p[0] == '=' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
            char c = (char)(hexval(p[1]) * 16 + hexval(p[2]));
            pk_buf_put(out, &c, 1);
            p += 2;
        } else if (p[0] == '\r' && p[1] == '\n') {
            pk_buf_puts(out, "\n");
            p++;
        } else
            pk_buf_put(out, p, 1);
    }
}

static void assert_lines_at_most(const char *s, size_t max)
{
    size_t line = 0;
    for (const char *p = s; *p; p++) {
        if (*p == '\n') {
            line = 0;
            continue;
        }
        if (++line > max + 1)   /* +1: the CR */
            fail_msg("line longer than %zu in:\n%s", max, s);
    }
}

static void test_render_text_and_html(void **state)
{
    (void)state;
    pk_mail_vars v = {.title = "Booking <confirmed>", .body = "Tom & \"Jerry\"'s puja\nat 09:00\r",
                      .first_name = "Asha", .link = "http://x/dashboard/"};
    const char *tmpl = "Hi {{first_name}}: {{ title }} | {{body}} | {{link}} | {{nope}}.";
    pk_buf t = {0}, h = {0};
    pk_mail_render(tmpl, &v, 0, &t);
    pk_mail_render(tmpl, &v, 1, &h);
    assert_string_equal(t.data, "Hi Asha: Booking <confirmed> | Tom & \"Jerry\"'s puja\nat 09:00 | http://x/dashboard/ | .");
    assert_string_equal(h.data, "Hi Asha: Booking &lt;confirmed&gt; | Tom &amp; &quot;Jerry&quot;&#39;s puja<br>\nat 09:00"
                                " | http://x/dashboard/ | .");
    pk_buf_free(&t);
    pk_buf_free(&h);

    pk_buf s = {0};
    pk_mail_vars x = {.body = "<script>alert(1)</script>"};
    pk_mail_render("<p>{{body}}</p>", &x, 1, &s);
    assert_string_equal(s.data, "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>");
    assert_null(strstr(s.data, "<script"));
    pk_buf_free(&s);
}

static void test_template_unknown_and_split(void **state)
{
    (void)state;
    char name[32];
    assert_null(pk_mail_template_unknown("{{title}} {{ body }} {{link}}{{first_name}} {{ unclosed", name, sizeof(name)));
    assert_string_equal(pk_mail_template_unknown("{{title}} {{titel}}", name, sizeof(name)), "titel");

    const char *subject, *body;
    size_t len;
    assert_int_equal(pk_mail_template_split("Subject: {{title}}\r\n\r\nHello\n", &subject, &len, &body), 0);
    assert_int_equal(len, strlen("{{title}}"));
    assert_memory_equal(subject, "{{title}}", len);
    assert_string_equal(body, "Hello\n");
    assert_int_equal(pk_mail_template_split("Subject: x\nbody", &subject, &len, &body), 0);
    assert_string_equal(body, "body");
    assert_int_equal(pk_mail_template_split("Hello {{title}}\n", &subject, &len, &body), -1);
}

static void test_addresses(void **state)
{
    (void)state;
    assert_true(pk_mail_address_ok("asha@example.com"));
    assert_true(pk_mail_address_ok("a.b+tag@sub.example.in"));
    const char *bad[] = {"", "asha", "@x.com", "asha@", "a@b@c", "a b@x.com", "a@x.com\r\nBcc: e@vil.com",
                         "a@x.com,b@y.com", "<a@x.com>", "a@x.com\n", "\"a\"@x.com", "ä@x.com"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (pk_mail_address_ok(bad[i]))
            fail_msg("accepted %s", bad[i]);

    char name[64], addr[64];
    assert_int_equal(pk_mail_from_parse("Punyaka <no-reply@punyaka.local>", name, 64, addr, 64), 0);
    assert_string_equal(name, "Punyaka");
    assert_string_equal(addr, "no-reply@punyaka.local");
    assert_int_equal(pk_mail_from_parse("ops@punyaka.in", name, 64, addr, 64), 0);
    assert_string_equal(name, "");
    assert_string_equal(addr, "ops@punyaka.in");
    assert_int_equal(pk_mail_from_parse("Evil\r\nBcc: x@y <a@b.c>", name, 64, addr, 64), -1);
    assert_int_equal(pk_mail_from_parse("X <a@b.c> trailing", name, 64, addr, 64), -1);
    assert_int_equal(pk_mail_from_parse("X <a@b.c", name, 64, addr, 64), -1);
}

static void test_header_values(void **state)
{
    (void)state;
    pk_buf b = {0};
    pk_mail_header_value(&b, "  Booking\r\nBcc: evil@x.com  confirmed ", 9);
    assert_string_equal(b.data, "Booking Bcc: evil@x.com confirmed");
    pk_buf_free(&b);

    /* Non-ASCII: encoded words of ≤ 75 bytes, folded, whole UTF-8 sequences
     * each (ई is 3 bytes: 40 of them never fit one word). */
    char hindi[200] = "";
    for (int i = 0; i < 40; i++)
        strcat(hindi, "ई");
    pk_mail_header_value(&b, hindi, 9);
    assert_non_null(strstr(b.data, "=?UTF-8?B?"));
    assert_null(strchr(b.data, '\n') ? strstr(b.data, "\n\n") : NULL);
    assert_non_null(strstr(b.data, "?=\r\n =?UTF-8?B?"));
    for (char *w = b.data; (w = strstr(w, "=?UTF-8?B?")) != NULL; w++) {
        char *e = strstr(w, "?=");
        assert_true(e - w + 2 <= 75);
        assert_int_equal(((e - w) - 10) % 4, 0);
        /* 45 raw bytes per word at most, cut at a sequence's start: 15 ई = 45 */
    }
    assert_lines_at_most(b.data, 76);
    pk_buf_free(&b);

    /* "=?" in plain ASCII would be read as an encoded word: encoded itself */
    pk_mail_header_value(&b, "a =?x?Q?y?= b", 9);
    assert_int_equal(strncmp(b.data, "=?UTF-8?B?", 10), 0);
    pk_buf_free(&b);

    /* Long ASCII folds at spaces. */
    char words[512] = "";
    for (int i = 0; i < 40; i++)
        strcat(words, "puja-word ");
    pk_mail_header_value(&b, words, 9);
    assert_non_null(strstr(b.data, "\r\n "));
    assert_lines_at_most(b.data, 78);
    pk_buf_free(&b);
}

static void test_quoted_printable(void **state)
{
    (void)state;
    char long_line[400];
    memset(long_line, 'x', sizeof(long_line) - 1);
    long_line[sizeof(long_line) - 1] = 0;
    const char *cases[] = {"plain", "a=b", "trailing space \nnext", "तिथि: मंगलवार, 09:00 – ₹1,500.00\n",
                           ".\nline\n.starts with dot", long_line, "tab\tin\r\nCRLF\rCR", ""};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pk_buf q = {0}, d = {0}, want = {0};
        pk_mail_qp(&q, cases[i]);
        assert_lines_at_most(q.data ? q.data : "", 76);
        if (q.data) {
            for (const char *p = q.data; *p; p++)
                assert_true((unsigned char)*p < 0x80);
            assert_null(strstr(q.data, "\r\n."));
            assert_true(q.data[0] != '.');
        }
        qp_decode(q.data ? q.data : "", &d);
        /* the decoded text is the input with every line end as "\n" */
        for (const char *p = cases[i]; *p; p++) {
            if (*p == '\r') {
                pk_buf_puts(&want, "\n");
                if (p[1] == '\n')
                    p++;
            } else
                pk_buf_put(&want, p, 1);
        }
        assert_string_equal(d.data ? d.data : "", want.data ? want.data : "");
        pk_buf_free(&q);
        pk_buf_free(&d);
        pk_buf_free(&want);
    }
    pk_buf q = {0};
    pk_mail_qp(&q, "end \n");
    assert_string_equal(q.data, "end=20\r\n");
    pk_buf_free(&q);
}

static void test_message(void **state)
{
    (void)state;
    char id[128];
    pk_mail_message_id(42, "no-reply@punyaka.local", id, sizeof(id));
    assert_string_equal(id, "<notification-42@punyaka.local>");
    pk_mail_msg m = {.from = "Punyaka <no-reply@punyaka.local>", .to = "asha@example.com",
                     .subject = "Booking confirmed — पूजा\r\nBcc: evil@x.com", .text = "Hello\nworld",
                     .html = "<p>Hello</p>", .message_id = id, .boundary = "=_punyaka_abc", .date = 1795555200};
    pk_buf b = {0};
    assert_int_equal(pk_mail_build(&m, &b), 0);
    const char *s = b.data;
    assert_int_equal(strncmp(s, "Date: Tue, 24 Nov 2026 21:20:00 +0000\r\n", 39), 0);
    assert_non_null(strstr(s, "\r\nFrom: \"Punyaka\" <no-reply@punyaka.local>\r\n"));
    assert_non_null(strstr(s, "\r\nTo: asha@example.com\r\n"));
    assert_non_null(strstr(s, "\r\nSubject: =?UTF-8?B?"));
    assert_non_null(strstr(s, "\r\nMessage-ID: <notification-42@punyaka.local>\r\n"));
    assert_non_null(strstr(s, "\r\nMIME-Version: 1.0\r\n"));
    assert_non_null(strstr(s, "Content-Type: multipart/alternative; boundary=\"=_punyaka_abc\"\r\n\r\n"));
    assert_non_null(strstr(s, "--=_punyaka_abc\r\nContent-Type: text/plain; charset=UTF-8\r\n"
                              "Content-Transfer-Encoding: quoted-printable\r\n\r\nHello\r\nworld\r\n"));
    assert_non_null(strstr(s, "--=_punyaka_abc\r\nContent-Type: text/html; charset=UTF-8\r\n"));
    assert_non_null(strstr(s, "\r\n--=_punyaka_abc--\r\n"));
    /* No injected header: every line of the head is one of ours or a fold. */
    const char *end = strstr(s, "\r\n\r\n");
    assert_null(strstr(s, "\nBcc:"));
    for (const char *p = s; p && p < end; p = strstr(p, "\r\n"), p = p ? p + 2 : NULL) {
        if (p >= end)
            break;
        assert_true(*p == ' ' || !strncmp(p, "Date:", 5) || !strncmp(p, "From:", 5) || !strncmp(p, "To:", 3) ||
                    !strncmp(p, "Subject:", 8) || !strncmp(p, "Message-ID:", 11) || !strncmp(p, "MIME-", 5) ||
                    !strncmp(p, "Auto-Submitted:", 15) || !strncmp(p, "Content-Type:", 13));
    }
    for (const char *p = s; *p; p++)   /* bare LF or CR never appear */
        if (*p == '\n')
            assert_true(p > s && p[-1] == '\r');
    pk_buf_free(&b);

    pk_mail_msg bad = m;
    bad.to = "a@x.com\r\nBcc: e@x.com";
    assert_int_equal(pk_mail_build(&bad, &b), -1);
    bad = m;
    bad.from = "nobody";
    assert_int_equal(pk_mail_build(&bad, &b), -1);
    pk_buf_free(&b);
}

static void test_date_and_backoff(void **state)
{
    (void)state;
    char d[64];
    pk_mail_date(0, d, sizeof(d));
    assert_string_equal(d, "Thu, 01 Jan 1970 00:00:00 +0000");
    assert_int_equal(pk_mail_backoff_s(1, 10, 3600), 10);
    assert_int_equal(pk_mail_backoff_s(2, 10, 3600), 20);
    assert_int_equal(pk_mail_backoff_s(3, 10, 3600), 40);
    assert_int_equal(pk_mail_backoff_s(9, 10, 3600), 2560);
    assert_int_equal(pk_mail_backoff_s(10, 10, 3600), 3600);
    assert_int_equal(pk_mail_backoff_s(1000, 10, 3600), 3600);
    assert_int_equal(pk_mail_backoff_s(0, 10, 3600), 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_text_and_html), cmocka_unit_test(test_template_unknown_and_split),
        cmocka_unit_test(test_addresses),            cmocka_unit_test(test_header_values),
        cmocka_unit_test(test_quoted_printable),     cmocka_unit_test(test_message),
        cmocka_unit_test(test_date_and_backoff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
