#include "tests/support/calls.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tests/support/stack_env.h"

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

int it_actor_session(it_actor *who, const it_response *r)
{
    char token[64];
    if (!r->json || !it_cookie(r, "punyaka_session", token, sizeof(token), NULL, 0))
        return -1;
    snprintf(who->headers, sizeof(who->headers), "Cookie: punyaka_session=%s\r\nX-CSRF-Token: %s\r\n", token,
             it_str(r->json, "csrf_token"));
    return 0;
}

int it_sign_up(it_actor *who, const char *role, const char *password, const char *extra)
{
    char body[2048];
    snprintf(body, sizeof(body),
             "{\"username\":\"%s\",\"email\":\"%s@example.com\",\"password\":\"%s\",\"role\":\"%s\"%s%s}",
             who->name, who->name, password, role, extra ? "," : "", extra ? extra : "");
    it_response r = it_post_json("/api/auth/register/", body, "Prefer: wait=10\r\n");
    /* A full hashing queue sheds with 503 + Retry-After (api/hasher.h): a
     * well-behaved client waits and tries again, a bounded number of times. */
    for (int tries = 0; r.status == 503 && strcmp(it_str(r.json, "code"), "overloaded") == 0 && tries < 60; tries++) {
        char retry[16];
        int wait_s = it_header(&r, "retry-after", retry, sizeof(retry)) ? atoi(retry) : 1;
        it_response_free(&r);
        sleep((unsigned)(wait_s > 0 && wait_s < 5 ? wait_s : 1));
        r = it_post_json("/api/auth/register/", body, "Prefer: wait=10\r\n");
    }
    int status = r.status;
    if (status == 201) {
        json_t *user = json_object_get(r.json, "user");
        who->user_id = it_num(user, "id");
        who->priest_id = it_num(json_object_get(user, "priest_profile"), "id");
        if (it_actor_session(who, &r) != 0)
            status = -1;
    }
    it_response_free(&r);
    return status;
}

int it_sign_in_admin(it_actor *who, const char *password)
{
    char cmd[8192], body[256], token[64];
    snprintf(cmd, sizeof(cmd), "PUNYAKA_ADMIN_PASSWORD='%s' %s/workers/punyaka-admin create-admin %s %s@example.com >/dev/null",
             password, it_env("PUNYAKA_BUILD_DIR"), who->name, who->name);
    if (system(cmd) != 0)
        return -1;
    snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"%s\"}", who->name, password);
    it_response r = it_post_json("/api/auth/login/", body, NULL);
    int status = r.status;
    who->user_id = it_num(json_object_get(r.json, "user"), "id");
    if (!it_cookie(&r, "punyaka_session", token, sizeof(token), NULL, 0))
        status = -1;
    else
        snprintf(who->headers, sizeof(who->headers), "Cookie: punyaka_session=%s\r\nX-CSRF-Token: %s\r\n", token,
                 it_str(r.json, "csrf_token"));
    it_response_free(&r);
    return status;
}
