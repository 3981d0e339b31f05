/* mail.c — templates, header encoding, MIME building, backoff (mail.h). */
#include "common/mail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUBJECT_MAX 250      /* bytes of subject text kept (on a UTF-8 boundary) */
#define LINE_SOFT_MAX 76     /* header and quoted-printable lines */
#define WORD_RAW_MAX 45      /* bytes per encoded word: base64 of 45 = 60, + 12 of =?UTF-8?B??= ≤ 75 */

/* ---- buffer ---- */

void pk_buf_put(pk_buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = cap > PK_MAIL_BUF_MAX ? NULL : realloc(b->data, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
}

void pk_buf_puts(pk_buf *b, const char *s)
{
    pk_buf_put(b, s, strlen(s));
}

void pk_buf_free(pk_buf *b)
{
    free(b->data);
    *b = (pk_buf){0};
}

static void put_char(pk_buf *b, char c)
{
    pk_buf_put(b, &c, 1);
}

static int is_ctl(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

/* ---- templates ---- */

static const char *const VAR_NAMES[] = {"title", "body", "first_name", "link"};
#define N_VARS (sizeof(VAR_NAMES) / sizeof(VAR_NAMES[0]))

static const char *var_value(const pk_mail_vars *v, size_t i)
{
    const char *vals[N_VARS] = {v->title, v->body, v->first_name, v->link};
    return vals[i] ? vals[i] : "";
}

/* The placeholder at p ("{{ name }}"): its name's index, or N_VARS when
 * unknown; *end is after the "}}". -1 when p does not open one. */
static int placeholder(const char *p, const char **name, size_t *name_len, const char **end)
{
    if (p[0] != '{' || p[1] != '{')
        return -1;
    const char *close = strstr(p + 2, "}}");
    if (!close)
        return -1;
    const char *s = p + 2, *e = close;
    while (s < e && *s == ' ')
        s++;
    while (e > s && e[-1] == ' ')
        e--;
    *name = s;
    *name_len = (size_t)(e - s);
    *end = close + 2;
    for (size_t i = 0; i < N_VARS; i++)
        if (strlen(VAR_NAMES[i]) == *name_len && memcmp(VAR_NAMES[i], s, *name_len) == 0)
            return (int)i;
    return (int)N_VARS;
}

const char *pk_mail_template_unknown(const char *tmpl, char *name, size_t cap)
{
    for (const char *p = tmpl; (p = strstr(p, "{{")) != NULL;) {
        const char *n, *end;
        size_t len;
        int i = placeholder(p, &n, &len, &end);
        if (i < 0)
            return NULL;   /* no closing "}}" anywhere after: plain text */
        if (i == (int)N_VARS) {
            snprintf(name, cap, "%.*s", (int)len, n);
            return name;
        }
        p = end;
    }
    return NULL;
}

static void put_value(pk_buf *out, const char *v, int html)
{
    for (const char *p = v; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '\n') {
            pk_buf_puts(out, html ? "<br>\n" : "\n");
        } else if (is_ctl(c) && c != '\t') {
            continue;   /* CR, escapes and the like say nothing to a reader */
        } else if (html) {
            char one[2] = {(char)c, 0};
            pk_mail_html_escape(out, one);
        } else
            put_char(out, (char)c);
    }
}

void pk_mail_render(const char *tmpl, const pk_mail_vars *v, int html, pk_buf *out)
{
    const char *p = tmpl;
    while (*p) {
        const char *open = strstr(p, "{{"), *n, *end;
        size_t len;
        int i = open ? placeholder(open, &n, &len, &end) : -1;
        if (i < 0) {
            pk_buf_puts(out, p);
            return;
        }
        pk_buf_put(out, p, (size_t)(open - p));
        if (i < (int)N_VARS)
            put_value(out, var_value(v, (size_t)i), html);
        p = end;
    }
}

int pk_mail_template_split(const char *tmpl, const char **subject, size_t *subject_len, const char **body)
{
    static const char head[] = "Subject:";
    if (strncmp(tmpl, head, sizeof(head) - 1) != 0)
        return -1;
    const char *s = tmpl + sizeof(head) - 1;
    while (*s == ' ')
        s++;
    const char *nl = strchr(s, '\n');
    if (!nl)
        return -1;
    size_t len = (size_t)(nl - s);
    if (len && s[len - 1] == '\r')
        len--;
    const char *b = nl + 1;
    if (b[0] == '\r' && b[1] == '\n')
        b += 2;
    else if (b[0] == '\n')
        b++;
    *subject = s;
    *subject_len = len;
    *body = b;
    return 0;
}

/* ---- headers and addresses ---- */

int pk_mail_address_ok(const char *addr)
{
    size_t n = strlen(addr);
    const char *at = strchr(addr, '@');
    if (n == 0 || n > 254 || !at || at == addr || !at[1] || strchr(at + 1, '@'))
        return 0;
    for (const char *p = addr; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= ' ' || c >= 0x7f || strchr("<>()[],;:\\\"", c))
            return 0;
    }
    return 1;
}

int pk_mail_from_parse(const char *from, char *name, size_t name_cap, char *addr, size_t addr_cap)
{
    const char *lt = strchr(from, '<');
    const char *a = from;
    size_t alen = strlen(from), nlen = 0;
    if (lt) {
        const char *gt = strchr(lt, '>');
        if (!gt || gt[1])
            return -1;
        a = lt + 1;
        alen = (size_t)(gt - a);
        nlen = (size_t)(lt - from);
        while (nlen && from[nlen - 1] == ' ')
            nlen--;
    }
    if (alen + 1 > addr_cap || nlen + 1 > name_cap)
        return -1;
    memcpy(addr, a, alen);
    addr[alen] = 0;
    memcpy(name, from, nlen);
    name[nlen] = 0;
    for (const char *p = name; *p; p++)
        if (is_ctl((unsigned char)*p) || strchr("<>\"\\", *p))
            return -1;
    return pk_mail_address_ok(addr) ? 0 : -1;
}

static void b64(pk_buf *out, const unsigned char *s, size_t n)
{
    static const char T[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) | (i + 2 < n ? s[i + 2] : 0);
        char q[4] = {T[v >> 18 & 63], T[v >> 12 & 63], i + 1 < n ? T[v >> 6 & 63] : '=', i + 2 < n ? T[v & 63] : '='};
        pk_buf_put(out, q, 4);
    }
}

/* v with control characters as spaces, runs of spaces as one, trimmed. */
static void header_clean(const char *v, pk_buf *clean)
{
    int space = 1;   /* drops leading spaces */
    for (const char *p = v; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (is_ctl(c) || c == ' ') {
            if (!space)
                put_char(clean, ' ');
            space = 1;
        } else {
            put_char(clean, (char)c);
            space = 0;
        }
    }
    while (clean->len && clean->data[clean->len - 1] == ' ')
        clean->data[--clean->len] = 0;
}

static int needs_encoding(const char *s)
{
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p >= 0x7f)
            return 1;
    return strstr(s, "=?") != NULL;   /* would read as an encoded word */
}

void pk_mail_header_value(pk_buf *out, const char *value, size_t used)
{
    pk_buf clean = {0};
    header_clean(value, &clean);
    const char *s = clean.data ? clean.data : "";
    size_t line = used;
    if (!needs_encoding(s)) {   /* words, folded before one that would pass the line's soft limit */
        for (const char *w = s; *w;) {
            const char *sp = strchr(w, ' ');
            size_t n = sp ? (size_t)(sp - w) : strlen(w);
            if (w != s) {
                if (line + 1 + n > LINE_SOFT_MAX) {
                    pk_buf_puts(out, "\r\n");
                    line = 0;
                }
                put_char(out, ' ');
                line++;
            }
            pk_buf_put(out, w, n);
            line += n;
            w += n + (sp != NULL);
        }
    } else {
        size_t n = strlen(s);
        for (size_t i = 0; i < n;) {
            size_t k = n - i < WORD_RAW_MAX ? n - i : WORD_RAW_MAX;
            while (i + k < n && k > 1 && ((unsigned char)s[i + k] & 0xC0) == 0x80)
                k--;   /* never split a UTF-8 sequence across two words */
            if (i)
                pk_buf_puts(out, "\r\n ");
            pk_buf_puts(out, "=?UTF-8?B?");
            b64(out, (const unsigned char *)s + i, k);
            pk_buf_puts(out, "?=");
            i += k;
        }
    }
    if (clean.failed)
        out->failed = 1;
    pk_buf_free(&clean);
}

void pk_mail_qp(pk_buf *out, const char *s)
{
    static const char HEX[] = "0123456789ABCDEF";
    size_t line = 0;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '\r' || c == '\n') {
            if (c == '\r' && p[1] == '\n')
                p++;
            pk_buf_puts(out, "\r\n");
            line = 0;
            continue;
        }
        int at_end = p[1] == 0 || p[1] == '\r' || p[1] == '\n';
        int literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_end);
        if (c == '.' && line == 0)
            literal = 0;   /* a "." alone on a line ends an SMTP DATA */
        char tok[3] = {(char)c, 0, 0};
        size_t k = 1;
        if (!literal) {
            tok[0] = '=';
            tok[1] = HEX[c >> 4];
            tok[2] = HEX[c & 15];
            k = 3;
        }
        if (line + k > LINE_SOFT_MAX - 1) {   /* room for the soft break's "=" */
            pk_buf_puts(out, "=\r\n");
            line = 0;
            if (c == '.') {   /* now at a line's start after all */
                tok[0] = '=', tok[1] = '2', tok[2] = 'E';
                k = 3;
            }
        }
        pk_buf_put(out, tok, k);
        line += k;
    }
}

void pk_mail_html_escape(pk_buf *out, const char *v)
{
    for (const char *p = v; *p; p++) {
        switch (*p) {
        case '&': pk_buf_puts(out, "&amp;"); break;
        case '<': pk_buf_puts(out, "&lt;"); break;
        case '>': pk_buf_puts(out, "&gt;"); break;
        case '"': pk_buf_puts(out, "&quot;"); break;
        case '\'': pk_buf_puts(out, "&#39;"); break;
        default: put_char(out, *p);
        }
    }
}

/* ---- the message ---- */

void pk_mail_date(time_t t, char *out, size_t cap)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    static const char *const D[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const M[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    snprintf(out, cap, "%s, %02d %s %04d %02d:%02d:%02d +0000", D[tm.tm_wday % 7], tm.tm_mday, M[tm.tm_mon % 12],
             tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void pk_mail_message_id(int64_t notification_id, const char *from_addr, char *out, size_t cap)
{
    const char *at = strchr(from_addr, '@');
    snprintf(out, cap, "<notification-%lld@%s>", (long long)notification_id, at ? at + 1 : "punyaka.local");
}

/* The first SUBJECT_MAX bytes of s, never ending inside a UTF-8 sequence. */
static void subject_cut(const char *s, char *out, size_t cap)
{
    size_t n = strlen(s), max = cap - 1 < SUBJECT_MAX ? cap - 1 : SUBJECT_MAX;
    if (n > max) {
        n = max;
        while (n && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(out, s, n);
    out[n] = 0;
}

static void put_part(pk_buf *out, const char *boundary, const char *type, const char *content)
{
    pk_buf_puts(out, "--");
    pk_buf_puts(out, boundary);
    pk_buf_puts(out, "\r\nContent-Type: ");
    pk_buf_puts(out, type);
    pk_buf_puts(out, "; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n");
    pk_mail_qp(out, content);
    pk_buf_puts(out, "\r\n");
}

static int boundary_ok(const char *b)
{
    size_t n = strlen(b);
    if (n == 0 || n > 60)
        return 0;
    for (const char *p = b; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("=_.-", *p)))
            return 0;
    return 1;
}

int pk_mail_build(const pk_mail_msg *m, pk_buf *out)
{
    char name[256], addr[256], date[64], subject[SUBJECT_MAX + 1];
    if (pk_mail_from_parse(m->from, name, sizeof(name), addr, sizeof(addr)) != 0 || !pk_mail_address_ok(m->to) ||
        !boundary_ok(m->boundary) || strpbrk(m->message_id, "\r\n"))
        return -1;
    pk_mail_date(m->date, date, sizeof(date));
    subject_cut(m->subject, subject, sizeof(subject));
    pk_buf_puts(out, "Date: ");
    pk_buf_puts(out, date);
    pk_buf_puts(out, "\r\nFrom: ");
    if (*name && !needs_encoding(name)) {
        put_char(out, '"');
        pk_buf_puts(out, name);
        pk_buf_puts(out, "\" ");
    } else if (*name) {
        pk_mail_header_value(out, name, 6);
        put_char(out, ' ');
    }
    pk_buf_puts(out, "<");
    pk_buf_puts(out, addr);
    pk_buf_puts(out, ">\r\nTo: ");
    pk_buf_puts(out, m->to);
    pk_buf_puts(out, "\r\nSubject: ");
    pk_mail_header_value(out, subject, 9);
    pk_buf_puts(out, "\r\nMessage-ID: ");
    pk_buf_puts(out, m->message_id);
    pk_buf_puts(out, "\r\nMIME-Version: 1.0\r\nAuto-Submitted: auto-generated\r\n"
                     "Content-Type: multipart/alternative; boundary=\"");
    pk_buf_puts(out, m->boundary);
    pk_buf_puts(out, "\"\r\n\r\n");
    put_part(out, m->boundary, "text/plain", m->text);
    put_part(out, m->boundary, "text/html", m->html);
    pk_buf_puts(out, "--");
    pk_buf_puts(out, m->boundary);
    pk_buf_puts(out, "--\r\n");
    return out->failed ? -1 : 0;
}

/* ---- retries ---- */

int64_t pk_mail_backoff_s(int attempts, int64_t base_s, int64_t cap_s)
{
    int64_t s = base_s;
    for (int i = 1; i < attempts && s < cap_s; i++)
        s *= 2;
    return s < cap_s ? s : cap_s;
}
