/* calls.h — HTTP calls as a signed-in (or anonymous) caller, and the
 * assertions the endpoint tests share. */
#ifndef PUNYAKA_TEST_CALLS_H
#define PUNYAKA_TEST_CALLS_H

#include <stdint.h>
#include <jansson.h>
#include "tests/support/http.h"

typedef struct {
    char name[64];
    int64_t user_id;
    int64_t priest_id;     /* priests only */
    char headers[320];     /* Cookie + X-CSRF-Token, ready for it_http */
} it_actor;

/* One request as `who` (NULL or a zeroed actor: no session), with
 * Prefer: wait=10 so commands answer with their outcome. */
it_response it_call(const char *method, const char *path, const it_actor *who, const char *body);
it_response it_callf(const char *method, const it_actor *who, const char *body, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The session a register or login answer opened: fills who->headers and
 * returns 0, or -1 when the answer set no session cookie. */
int it_actor_session(it_actor *who, const it_response *r);

/* Registers who->name over HTTP (email <name>@example.com) with `role`,
 * `password` and optional extra JSON members ("\"first_name\":\"A\""),
 * waiting for the outcome; on 201 fills user_id, priest_id and the
 * session. Returns the HTTP status. A 503 "overloaded" (the API's hashing
 * queue is full) is retried after its Retry-After, as a client should.
 * No cmocka assertions: thread safe. */
int it_sign_up(it_actor *who, const char *role, const char *password, const char *extra);

/* An admin made with the punyaka-admin CLI (as an operator would), then
 * signed in over HTTP: fills who (name must be set) and returns the login's
 * HTTP status (200). */
int it_sign_in_admin(it_actor *who, const char *password);

/* A string member or "(not a string)"; an integer member or 0. */
const char *it_str(const json_t *obj, const char *key);
long long it_num(const json_t *obj, const char *key);

/* Fail the running cmocka test unless the status (and, for problems, the
 * code and the field named in `errors`) is as expected. */
void it_expect_status(const it_response *r, int status);
void it_expect_problem(const it_response *r, int status, const char *code, const char *field);

#endif
