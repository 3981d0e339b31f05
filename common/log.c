#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Set once by pk_log_init() before any thread starts, read-only afterwards. */
static pk_log_level threshold = PK_LOG_INFO;
static char proc_name[32] = "punyaka";

static const char *const level_names[] = {"debug", "info", "warn", "error"};

/* Per-thread: the request or command this thread is working on. */
static _Thread_local char context_request_id[96];
static _Thread_local char context_trace_id[48];

void pk_log_context(const char *request_id, const char *trace_id)
{
    snprintf(context_request_id, sizeof(context_request_id), "%s", request_id ? request_id : "");
    snprintf(context_trace_id, sizeof(context_trace_id), "%s", trace_id ? trace_id : "");
}

void pk_log_init(const char *proc)
{
    const char *lvl = getenv("PUNYAKA_LOG_LEVEL");
    if (proc)
        snprintf(proc_name, sizeof(proc_name), "%s", proc);
    threshold = PK_LOG_INFO;
    for (int i = PK_LOG_DEBUG; lvl && i <= PK_LOG_ERROR; i++)
        if (strcasecmp(lvl, level_names[i]) == 0)
            threshold = (pk_log_level)i;
}

/* A line is assembled in a fixed buffer and written with one write(2), so
 * lines from different threads never interleave (pipes and files keep a
 * single write together). Messages longer than the buffer are cut at a
 * character boundary and marked, rather than allocating on a path that must
 * work when memory is short. */
#define LINE_CAP 8192
#define MSG_CAP 4096
#define TAIL_RESERVE 32   /* room kept for finish(): …","truncated":true}\n */

typedef struct {
    char buf[LINE_CAP];
    size_t len;
    bool cut;         /* out of room: nothing more is appended */
    bool in_string;   /* the last byte written is inside a JSON string */
} line;

/* Appends all n bytes or none, so a cut never splits an escape sequence or
 * a UTF-8 character. */
static void put(line *l, const char *s, size_t n)
{
    if (l->cut || l->len + n > LINE_CAP - TAIL_RESERVE) {
        l->cut = true;
        return;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void puts_raw(line *l, const char *s)
{
    put(l, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if the bytes there
 * are not one (stray continuation, overlong form, surrogate, > U+10FFFF,
 * cut short). RFC 3629 table 4 spells the allowed second bytes. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        need = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        need = 3;
        if (c == 0xe0) lo = 0xa0;        /* overlong */
        if (c == 0xed) hi = 0x9f;        /* UTF-16 surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4;
        if (c == 0xf0) lo = 0x90;        /* overlong */
        if (c == 0xf4) hi = 0x8f;        /* beyond U+10FFFF */
    } else
        return 0;
    if (n < need || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < need; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return need;
}

/* Appends s as the body of a JSON string: quotes, backslashes and control
 * characters escaped, invalid UTF-8 bytes replaced by U+FFFD one by one. */
static void put_escaped(line *l, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t n = strlen(str);
    for (size_t i = 0; i < n && !l->cut;) {
        unsigned char c = s[i];
        char esc[8];
        size_t k = utf8_seq_len(s + i, n - i);
        if (k == 0) {
            puts_raw(l, "\\ufffd");
            i++;
            continue;
        }
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put(l, esc, 2);
        } else if (c == '\n') {
            puts_raw(l, "\\n");
        } else if (c == '\r') {
            puts_raw(l, "\\r");
        } else if (c == '\t') {
            puts_raw(l, "\\t");
        } else if (c < 0x20) {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            put(l, esc, 6);
        } else {
            put(l, (const char *)s + i, k);
        }
        i += k;
    }
}

static void put_field(line *l, const char *name, const char *value)
{
    char head[40];
    snprintf(head, sizeof(head), ",\"%s\":\"", name);
    puts_raw(l, head);
    if (l->cut)
        return;
    l->in_string = true;
    put_escaped(l, value);
    puts_raw(l, "\"");
    if (!l->cut)
        l->in_string = false;
}

/* "2026-11-25T18:11:37.123Z" */
static void put_timestamp(line *l)
{
    struct timespec ts;
    struct tm tm;
    char buf[40];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, sizeof(buf) - n, ".%03ldZ", ts.tv_nsec / 1000000L);
    puts_raw(l, "{\"ts\":\"");
    puts_raw(l, buf);
    puts_raw(l, "\"");
}

static void write_all(const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(STDERR_FILENO, buf, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;   /* nowhere left to report a logging failure */
        buf += w;
        len -= (size_t)w;
    }
}

/* Closes the object. A cut line still ends as valid JSON: the string we
 * were in is closed and "truncated":true tells the reader. */
static void finish(line *l, bool msg_cut)
{
    static const char ellipsis_quote[] = "\xe2\x80\xa6\"";   /* …" */
    static const char truncated[] = ",\"truncated\":true";
    char *p = l->buf + l->len;   /* TAIL_RESERVE guarantees the room */
    if (l->cut && l->in_string) {
        memcpy(p, ellipsis_quote, sizeof(ellipsis_quote) - 1);
        p += sizeof(ellipsis_quote) - 1;
    }
    if (l->cut || msg_cut) {
        memcpy(p, truncated, sizeof(truncated) - 1);
        p += sizeof(truncated) - 1;
    }
    memcpy(p, "}\n", 2);
    l->len = (size_t)(p + 2 - l->buf);
}

void pk_log(pk_log_level level, const char *request_id, const char *fmt, ...)
{
    char msg[MSG_CAP];
    line l;
    va_list ap;
    if (level < PK_LOG_DEBUG || level > PK_LOG_ERROR)
        level = PK_LOG_ERROR;
    if (level < threshold)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0)
        snprintf(msg, sizeof(msg), "(unformattable log message)");
    l.len = 0;
    l.cut = l.in_string = false;
    put_timestamp(&l);
    put_field(&l, "level", level_names[level]);
    put_field(&l, "proc", proc_name);
    if (!request_id || !*request_id)
        request_id = context_request_id;
    if (*request_id)
        put_field(&l, "request_id", request_id);
    if (*context_trace_id)
        put_field(&l, "trace_id", context_trace_id);
    put_field(&l, "msg", msg);
    finish(&l, n >= (int)sizeof(msg));
    write_all(l.buf, l.len);
}
