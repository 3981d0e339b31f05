#include "tests/support/calls.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

it_response it_call(const char *method, const char *path, const it_actor *who, const char *body)
{
    char headers[512];
    snprintf(headers, sizeof(headers), "%s%sPrefer: wait=10\r\n", who ? who->headers : "",
             body ? "Content-Type: application/json\r\n" : "");
    return it_http(method, path, headers, body, body ? strlen(body) : 0);
}

it_response it_callf(const char *method, const it_actor *who, const char *body, const char *fmt, ...)
{
    char path[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    return it_call(method, path, who, body);
}

const char *it_str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "(not a string)";
}

long long it_num(const json_t *obj, const char *key)
{
    return (long long)json_integer_value(json_object_get(obj, key));
}

void it_expect_status(const it_response *r, int status)
{
    if (r->status != status)
        fail_msg("got HTTP %d, want %d: %s", r->status, status, r->body ? r->body : "");
}

void it_expect_problem(const it_response *r, int status, const char *code, const char *field)
{
    it_expect_status(r, status);
    if (code && strcmp(it_str(r->json, "code"), code) != 0)
        fail_msg("code %s, want %s: %s", it_str(r->json, "code"), code, r->body);
    if (field && !json_object_get(json_object_get(r->json, "errors"), field))
        fail_msg("errors lack %s: %s", field, r->body);
}
