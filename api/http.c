#include "api/http.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include "api/server.h"
#include "common/json_util.h"

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return status < 400 ? "OK" : "Error";
    }
}

static void send_body(h2o_req_t *req, int status, const char *ctype, h2o_iovec_t body)
{
    req->res.status = status;
    req->res.reason = reason_phrase(status);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, ctype, strlen(ctype));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    req->res.content_length = body.len;   /* else h2o_send_inline goes chunked */
    h2o_send_inline(req, body.base, body.len);
}

void api_reply_raw(h2o_req_t *req, int status, const char *content_type, const char *body, size_t len)
{
    send_body(req, status, content_type, h2o_strdup(&req->pool, body, len));
}

void api_reply_json_etag(h2o_req_t *req, const char *body, size_t len)
{
    api_reply_json_etag_gzip(req, body, len, NULL, 0, NULL);
}

void api_etag(const char *body, size_t len, char out[API_ETAG_SIZE])
{
    unsigned char h[16];
    char hex[33];
    crypto_generichash(h, sizeof(h), (const unsigned char *)body, len, NULL, 0);
    sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
    snprintf(out, API_ETAG_SIZE, "\"%s\"", hex);
}

static void reply_etag(h2o_req_t *req, const char *body, size_t len, const char *gz, size_t gz_len,
                       h2o_iovec_t cache_control, const char *etag)
{
    char own[API_ETAG_SIZE];
    if (!etag) {
        api_etag(body, len, own);
        etag = own;
    }
    api_add_header(req, "etag", etag);
    h2o_iovec_t inm = api_header(req, "if-none-match");
    if (inm.len && (h2o_strstr(inm.base, inm.len, etag, strlen(etag)) != SIZE_MAX ||
                    h2o_memis(inm.base, inm.len, H2O_STRLIT("*")))) {
        req->res.status = 304;
        req->res.reason = "Not Modified";
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, cache_control.base, cache_control.len);
        req->res.content_length = 0;
        h2o_send_inline(req, "", 0);
        return;
    }
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/json"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, cache_control.base, cache_control.len);
    if (gz) {   /* h2o's compress filter leaves an answer that has a Content-Encoding alone */
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_ENCODING, NULL, H2O_STRLIT("gzip"));
        body = gz;
        len = gz_len;
    }
    req->res.content_length = len;
    h2o_send_inline(req, body, len);   /* copies body into the request's pool */
}

void api_reply_json_etag_gzip(h2o_req_t *req, const char *body, size_t len, const char *gz, size_t gz_len,
                              const char *etag)
{
    reply_etag(req, body, len, gz, gz_len, h2o_iovec_init(H2O_STRLIT("no-cache")), etag);
}

void api_reply_json_private_gzip(h2o_req_t *req, const char *body, size_t len, const char *gz, size_t gz_len,
                                 const char *etag)
{
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) &&
        !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"))) {
        api_reply_raw(req, 200, "application/json", body, len);
        return;
    }
    reply_etag(req, body, len, gz, gz_len, h2o_iovec_init(H2O_STRLIT("private, no-cache")), etag);
}

void api_reply_json_private(h2o_req_t *req, const char *body, size_t len)
{
    api_reply_json_private_gzip(req, body, len, NULL, 0, NULL);
}

void api_reply_json_private_doc(h2o_req_t *req, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text) {
        send_body(req, 500, "text/plain", h2o_iovec_init(H2O_STRLIT("internal error")));
        return;
    }
    api_reply_json_private(req, text, strlen(text));
    free(text);
}

void api_reply_json(h2o_req_t *req, int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text) {
        send_body(req, 500, "text/plain", h2o_iovec_init(H2O_STRLIT("internal error")));
        return;
    }
    api_reply_raw(req, status, "application/json", text, strlen(text));
    free(text);
}

static void slug_of(const char *code, char *out, size_t cap)
{
    size_t i = 0;
    for (; code[i] && i + 1 < cap; i++)
        out[i] = code[i] == '_' ? '-' : code[i];
    out[i] = 0;
}

void api_reply_problem(h2o_req_t *req, int status, const char *code, const char *title,
                       const char *detail, json_t *errors)
{
    char type[160], slug[96];
    slug_of(code, slug, sizeof(slug));
    snprintf(type, sizeof(type), "https://punyaka.dev/problems/%s", slug);
    json_t *p = json_pack("{s:s, s:s, s:i, s:s}", "type", type, "title", title, "status", status, "code", code);
    json_object_set_new(p, "detail", detail ? json_string(detail) : json_null());
    /* The seed frontend shows `message` (Django's habit) where we have
     * `detail`: the same words under both names (issue 15). */
    json_object_set_new(p, "message", json_string(detail ? detail : title));
    json_object_set_new(p, "errors", errors ? errors : json_object());
    char *text = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    send_body(req, status, "application/problem+json", h2o_strdup(&req->pool, text, strlen(text)));
    free(text);
}

void api_field_error(json_t *errors, const char *field, const char *message)
{
    if (!json_object_get(errors, field))
        json_object_set_new(errors, field, json_pack("[s]", message));
}

void api_reply_field_error(h2o_req_t *req, const char *field, const char *message)
{
    json_t *errors = json_pack("{s:[s]}", field, message);
    char detail[256];
    snprintf(detail, sizeof(detail), "%s: %s", field, message);
    api_reply_problem(req, 422, "validation_error", "Invalid request", detail, errors);
}

h2o_iovec_t api_header(h2o_req_t *req, const char *name)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, name, strlen(name), -1);
    if (i < 0)
        return h2o_iovec_init(NULL, 0);
    return req->headers.entries[i].value;
}

void api_add_header(h2o_req_t *req, const char *name, const char *value)
{
    /* h2o keeps the pointer: copy the value into the request's pool so
     * callers may pass stack buffers or memory they free before the reply. */
    h2o_iovec_t v = h2o_strdup(&req->pool, value, strlen(value));
    h2o_add_header_by_str(&req->pool, &req->res.headers, name, strlen(name), 1, NULL, v.base, v.len);
}

static int is_json_type(h2o_iovec_t ct)
{
    static const char json[] = "application/json";
    if (ct.len < sizeof(json) - 1 || strncasecmp(ct.base, json, sizeof(json) - 1) != 0)
        return 0;
    return ct.len == sizeof(json) - 1 || ct.base[sizeof(json) - 1] == ';' || ct.base[sizeof(json) - 1] == ' ';
}

/* Bodies over the limit but within this multiple of it are still parsed, so
 * the client learns which field made the body too large; bigger ones are
 * refused unread (h2o itself stops at max_request_entity_size). */
#define OVERSIZE_DIAGNOSE_FACTOR 4

size_t api_body_read_limit(void)
{
    return (size_t)g_api.cfg.max_body_bytes * OVERSIZE_DIAGNOSE_FACTOR;
}

/* The top-level member of an over-limit object without which the body would
 * fit (NULL when no single member is to blame), and its encoded size. */
static const char *member_to_blame(json_t *body, size_t body_len, size_t limit, size_t *member_len)
{
    const char *worst = NULL;
    size_t worst_len = 0;
    const char *key;
    json_t *value;
    json_object_foreach(body, key, value) {
        char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
        size_t len = (text ? strlen(text) : 0) + strlen(key) + 3; /* "key": */
        free(text);
        if (len > worst_len) {
            worst = key;
            worst_len = len;
        }
    }
    *member_len = worst_len;
    return worst && worst_len < body_len && body_len - worst_len <= limit ? worst : NULL;
}

/* An over-limit body never reaches a handler. If it is a JSON object with
 * one member to blame (a 100 KB `feedback`), the answer is the usual 422
 * naming that field; otherwise 413. Either way nothing is published. */
static void reply_oversize(h2o_req_t *req, size_t limit)
{
    char detail[128];
    snprintf(detail, sizeof(detail), "request bodies are limited to %zu bytes", limit);
    json_t *body = NULL;
    if (req->entity.len <= limit * OVERSIZE_DIAGNOSE_FACTOR && is_json_type(api_header(req, "content-type")))
        body = pk_json_parse(req->entity.base, req->entity.len, NULL, 0);
    size_t member_len = 0;
    const char *field = json_is_object(body) ? member_to_blame(body, req->entity.len, limit, &member_len) : NULL;
    if (field) {
        char message[192];
        snprintf(message, sizeof(message), "too long (%zu bytes); %s", member_len, detail);
        api_reply_field_error(req, field, message);
    } else {
        api_reply_problem(req, 413, "body_too_large", "Request body too large", detail, NULL);
    }
    json_decref(body);
}

json_t *api_json_body_or_reply(h2o_req_t *req)
{
    size_t limit = (size_t)g_api.cfg.max_body_bytes;
    if (req->entity.len > limit) {
        reply_oversize(req, limit);
        return NULL;
    }
    if (!is_json_type(api_header(req, "content-type"))) {
        api_reply_problem(req, 415, "unsupported_media_type", "Unsupported media type",
                          "send Content-Type: application/json", NULL);
        return NULL;
    }
    char err[160];
    json_t *body = pk_json_parse(req->entity.base ? req->entity.base : "", req->entity.len, err, sizeof(err));
    if (!body) {
        api_reply_problem(req, 400, "malformed_json", "Malformed JSON", err, NULL);
        return NULL;
    }
    return body;
}

static int sane_request_id(h2o_iovec_t v)
{
    if (v.len == 0 || v.len > 63)
        return 0;
    for (size_t i = 0; i < v.len; i++)
        if (!isalnum((unsigned char)v.base[i]) && v.base[i] != '-' && v.base[i] != '_' && v.base[i] != '.')
            return 0;
    return 1;
}

/* Computed once per request: the first call records it as the response's
 * X-Request-Id, later calls read it back, so a request is logged and
 * answered under one id. */
const char *api_request_id(h2o_req_t *req)
{
    ssize_t at = h2o_find_header_by_str(&req->res.headers, H2O_STRLIT("x-request-id"), -1);
    if (at >= 0)
        return req->res.headers.entries[at].value.base;   /* NUL-terminated: it was made below */
    h2o_iovec_t given = api_header(req, "x-request-id");
    const char *id;
    if (sane_request_id(given)) {
        id = h2o_strdup(&req->pool, given.base, given.len).base;
    } else {
        unsigned char raw[12];
        char *hex = h2o_mem_alloc_pool(&req->pool, 25);
        randombytes_buf(raw, sizeof(raw));
        sodium_bin2hex(hex, 25, raw, sizeof(raw));
        id = hex;
    }
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-request-id"), 0, NULL, id, strlen(id));
    return id;
}

uint64_t api_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
