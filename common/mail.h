/* mail.h — the pure parts of punyaka-mailer (workers/mail/, issue 17
 * "E-mail"): rendering a notification through a template, encoding header
 * values, building the MIME message, the retry backoff. No I/O, so every
 * rule here is unit-tested without servers (tests/unit/test_mail.c).
 *
 * Everything that ends up in a header comes from users (a name, a title
 * built from a product name) or the operator, so nothing is copied into a
 * header verbatim: control characters (CR and LF above all) become spaces,
 * non-ASCII text is RFC 2047 encoded, addresses that could carry a second
 * header or a second recipient are refused. Bodies are quoted-printable
 * with CRLF line ends, so no line is too long for SMTP, 8-bit text needs
 * no 8BITMIME, and no line starts with the "." that ends an SMTP DATA. */
#ifndef PUNYAKA_MAIL_H
#define PUNYAKA_MAIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* A growing byte buffer; `failed` sticks once an allocation failed (or the
 * buffer would pass PK_MAIL_BUF_MAX), and the text is then incomplete. */
#define PK_MAIL_BUF_MAX (4u << 20)
typedef struct {
    char *data;     /* NUL-terminated while len < cap */
    size_t len, cap;
    int failed;
} pk_buf;

void pk_buf_put(pk_buf *b, const char *s, size_t n);
void pk_buf_puts(pk_buf *b, const char *s);
void pk_buf_free(pk_buf *b);

/* ---- templates ---- */

/* The values a template can name: {{title}}, {{body}}, {{first_name}},
 * {{link}} (any may be NULL ⇒ ""). */
typedef struct {
    const char *title, *body, *first_name, *link;
} pk_mail_vars;

/* A placeholder the renderer does not know ("{{titel}}"), or NULL when the
 * template only names known ones; name[cap] gets it. Lets the mailer refuse
 * a mistyped template at start-up instead of sending mails with holes. */
const char *pk_mail_template_unknown(const char *tmpl, char *name, size_t cap);

/* Appends tmpl with its placeholders replaced. html: values are
 * HTML-escaped (& < > " '). Either way control characters other than
 * newline and tab are dropped from the values, and a value's newlines
 * become <br> in HTML. Unknown placeholders render as "". */
void pk_mail_render(const char *tmpl, const pk_mail_vars *v, int html, pk_buf *out);

/* A text template starts with "Subject: …" and a blank line (the subject's
 * template, then the body's); *subject and *body point into tmpl (the
 * subject's end is written into *subject_len). -1 without that head. */
int pk_mail_template_split(const char *tmpl, const char **subject, size_t *subject_len, const char **body);

/* ---- headers and addresses ---- */

/* 1 when addr is a plain addr-spec we can put in To: and RCPT TO: one '@',
 * a non-empty local part and domain, ≤ 254 bytes, printable ASCII without
 * spaces, quotes, angle brackets, commas, semicolons, parentheses or
 * backslashes. Anything else could smuggle a header or a recipient. */
int pk_mail_address_ok(const char *addr);

/* "Name <addr>" or "addr" (PUNYAKA_MAIL_FROM) ⇒ name (may be "") and addr;
 * -1 when the address is not pk_mail_address_ok or the name holds a
 * control character or '<', '>' or '"'. */
int pk_mail_from_parse(const char *from, char *name, size_t name_cap, char *addr, size_t addr_cap);

/* Appends a header value: control characters become spaces and runs of
 * spaces one; printable ASCII is copied; anything else makes the whole
 * value RFC 2047 "=?UTF-8?B?…?=" words of ≤ 75 bytes, folded with CRLF SP,
 * never splitting a UTF-8 sequence. `used` is how much of the first line
 * the header's name already takes. */
void pk_mail_header_value(pk_buf *out, const char *value, size_t used);

/* Appends s quoted-printable (RFC 2045) with CRLF line ends: lines ≤ 76
 * bytes, "\n" and "\r\n" both become CRLF, a leading "." is =2E. */
void pk_mail_qp(pk_buf *out, const char *s);

/* Appends v HTML-escaped. */
void pk_mail_html_escape(pk_buf *out, const char *v);

/* ---- the message ---- */

typedef struct {
    const char *from;           /* "Punyaka <no-reply@punyaka.local>": checked by pk_mail_from_parse */
    const char *to;             /* addr-spec, pk_mail_address_ok */
    const char *subject;        /* raw text (may be UTF-8, may hold anything) */
    const char *text, *html;    /* the two parts, UTF-8 */
    const char *message_id;     /* "<…@…>", made by pk_mail_message_id */
    const char *boundary;       /* unique, [A-Za-z0-9=_.-], ≤ 60 bytes */
    time_t date;
} pk_mail_msg;

/* Appends the whole message (RFC 5322, MIME multipart/alternative,
 * text/plain then text/html, UTF-8, quoted-printable, CRLF). -1 when from
 * or to is refused (nothing appended). */
int pk_mail_build(const pk_mail_msg *m, pk_buf *out);

/* "<notification-ID@DOMAIN>" where DOMAIN is from_addr's domain: the same
 * notification always gets the same Message-ID, so a copy sent again after
 * a crash between SMTP's answer and our commit is recognisable as one. */
void pk_mail_message_id(int64_t notification_id, const char *from_addr, char *out, size_t cap);

/* RFC 5322 date in UTC: "Wed, 02 Dec 2026 19:30:00 +0000". */
void pk_mail_date(time_t t, char *out, size_t cap);

/* ---- retries ---- */

/* Seconds before the next try after the attempts-th failure (1, 2, …):
 * base_s doubling, capped at cap_s. */
int64_t pk_mail_backoff_s(int attempts, int64_t base_s, int64_t cap_s);

#endif
