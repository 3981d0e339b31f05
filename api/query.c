#include "api/query.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api/http.h"
#include "common/clock.h"
#include "common/validate.h"

static h2o_iovec_t query_string(h2o_req_t *req)
{
    if (req->query_at == SIZE_MAX)
        return h2o_iovec_init("", 0);
    return h2o_iovec_init(req->path.base + req->query_at + 1, req->path.len - req->query_at - 1);
}

/* 1, or -1 when too long or the escapes are malformed, -2 when the decoded
 * bytes are not valid UTF-8 or hold a NUL (text that PostgreSQL would refuse
 * with an error that looks like an outage). */
static int decode(const char *s, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (i + 2 >= len)
                return -1;
            int hi = pk_hex_value(s[i + 1]), lo = pk_hex_value(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (c == 0)
            return -2;
        if (n + 1 >= cap)
            return -1;
        out[n++] = c;
    }
    out[n] = 0;
    return pk_utf8_valid(out, n) ? 1 : -2;
}

int api_query_get(h2o_req_t *req, const char *name, char *out, size_t cap)
{
    h2o_iovec_t q = query_string(req);
    size_t nlen = strlen(name);
    const char *p = q.base, *end = q.base + q.len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        size_t klen = (size_t)((eq ? eq : stop) - p);
        if (klen == nlen && memcmp(p, name, nlen) == 0)
            return eq ? decode(eq + 1, (size_t)(stop - eq - 1), out, cap) : (cap ? (out[0] = 0, 1) : -1);
        p = stop + 1;
    }
    return 0;
}

static void reply_param(h2o_req_t *req, const char *name, const char *msg)
{
    api_reply_field_error(req, name, msg);
}

/* Bytes that are not text at all are a malformed request (400, as malformed
 * JSON is), not a wrong value (422). */
static void reply_encoding(h2o_req_t *req, const char *name)
{
    char detail[160];
    snprintf(detail, sizeof(detail), "query parameter %.64s is not valid UTF-8 text", name);
    api_reply_problem(req, 400, "malformed_query", "Malformed query parameter", detail,
                      json_pack("{s:[s]}", name, "is not valid UTF-8 text"));
}

int api_query_int_or_reply(h2o_req_t *req, const char *name, int64_t min, int64_t max, int64_t def, int64_t *out)
{
    char buf[24], msg[96];
    int rc = api_query_get(req, name, buf, sizeof(buf));
    *out = def;
    if (rc == -2) {
        reply_encoding(req, name);
        return -1;
    }
    if (rc == 0 || (rc == 1 && buf[0] == 0))
        return 0;
    char *endp;
    long long v = rc == 1 ? strtoll(buf, &endp, 10) : 0;
    if (rc != 1 || *endp || !isdigit((unsigned char)buf[buf[0] == '-']) || v < min || v > max) {
        snprintf(msg, sizeof(msg), "must be an integer from %lld to %lld", (long long)min, (long long)max);
        reply_param(req, name, msg);
        return -1;
    }
    *out = v;
    return 0;
}

int api_query_text_or_reply(h2o_req_t *req, const char *name, char *out, size_t cap)
{
    int rc = api_query_get(req, name, out, cap);
    if (rc == 0) {
        out[0] = 0;
        return 0;
    }
    if (rc == -2) {
        reply_encoding(req, name);
        return -1;
    }
    if (rc == 1 && pk_check_line(out, cap - 1))
        rc = -1;
    if (rc != 1) {
        reply_param(req, name, "is too long or badly encoded");
        return -1;
    }
    return 0;
}

int api_query_bool_or_reply(h2o_req_t *req, const char *name, char out[6])
{
    if (api_query_text_or_reply(req, name, out, 6))
        return -1;
    if (*out && strcmp(out, "true") != 0 && strcmp(out, "false") != 0) {
        reply_param(req, name, "must be true or false");
        return -1;
    }
    return 0;
}

int api_page_or_reply(h2o_req_t *req, api_page *p)
{
    if (api_query_int_or_reply(req, "page", 1, 1000000, 1, &p->page) ||
        api_query_int_or_reply(req, "page_size", 1, 100, 20, &p->size))
        return -1;
    p->offset = (p->page - 1) * p->size;
    return 0;
}

/* The request's URL with page=N, keeping every other parameter. */
static json_t *page_url(h2o_req_t *req, int64_t page)
{
    h2o_iovec_t q = query_string(req);
    size_t path_len = req->query_at == SIZE_MAX ? req->path.len : req->query_at;
    size_t cap = path_len + q.len + 32;
    char *url = malloc(cap);
    int n = snprintf(url, cap, "%.*s?", (int)path_len, req->path.base);
    const char *p = q.base, *end = q.base + q.len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        if (!(stop - p >= 5 && memcmp(p, "page=", 5) == 0) && !(stop - p == 4 && memcmp(p, "page", 4) == 0) &&
            stop > p)
            n += snprintf(url + n, cap - (size_t)n, "%.*s&", (int)(stop - p), p);
        p = stop + 1;
    }
    snprintf(url + n, cap - (size_t)n, "page=%lld", (long long)page);
    json_t *s = json_string(url);
    free(url);
    return s;
}

/* {count, next, previous}: the page document without its results. */
static json_t *page_head(h2o_req_t *req, const api_page *p, int64_t count)
{
    json_t *doc = json_pack("{s:I}", "count", (json_int_t)count);
    json_object_set_new(doc, "next", p->offset + p->size < count ? page_url(req, p->page + 1) : json_null());
    json_object_set_new(doc, "previous", p->page > 1 ? page_url(req, p->page - 1) : json_null());
    return doc;
}

json_t *api_page_doc(h2o_req_t *req, const api_page *p, int64_t count, const char *results_json)
{
    json_error_t e;
    json_t *results = json_loads(results_json, 0, &e);
    json_t *doc = page_head(req, p, count);
    json_object_set_new(doc, "results", results ? results : json_array());
    return doc;
}

char *api_page_text(h2o_req_t *req, const api_page *p, int64_t count, const char *results_json)
{
    json_t *head = page_head(req, p, count);
    char *text = json_dumps(head, JSON_COMPACT);
    json_decref(head);
    if (!text)
        return NULL;
    const char *results = results_json && *results_json ? results_json : "[]";
    size_t hlen = strlen(text), rlen = strlen(results);
    char *out = realloc(text, hlen + rlen + 13);
    if (!out) {
        free(text);
        return NULL;
    }
    static const char key[] = ",\"results\":";
    size_t at = hlen - 1;   /* over the head's closing brace */
    memcpy(out + at, key, sizeof(key) - 1);
    at += sizeof(key) - 1;
    memcpy(out + at, results, rlen);
    memcpy(out + at + rlen, "}", 2);
    return out;
}

void api_reply_page(h2o_req_t *req, const api_page *p, int64_t count, const char *results_json)
{
    api_reply_json(req, 200, api_page_doc(req, p, count, results_json));
}
