/* me.c — the caller's own account: PATCH /api/auth/me/ (user.update; for a
 * priest sending profile fields, priest.update_account: account and profile
 * in one command, so one transaction applies all of it or none, and the
 * answer — 200, 4xx, 503 or 202 — is about the whole request) and
 * POST /api/auth/change_password/
 * (user.change_password). Both are commands on the accounts topic keyed by
 * the caller's id; the worker acts on the envelope's actor, never on an id
 * from the body, so nobody can edit someone else's account. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "api/command.h"
#include "api/hasher.h"
#include "api/http.h"
#include "api/kyc.h"
#include "api/pg.h"
#include "api/routes.h"
#include "api/session.h"
#include "api/throttle.h"
#include "api/users.h"
#include "common/mp.h"
#include "common/validate.h"

static const char *const USER_FIELDS[] = {"first_name", "last_name", "phone", "address"};
static const char *const PROFILE_FIELDS[] = {"specializations", "languages", "experience_years", "service_radius_km",
                                             "bio", "aadhaar_number", "pan_number", "bank_account_number",
                                             "bank_ifsc_code"};
#define N(a) (sizeof(a) / sizeof((a)[0]))

typedef struct {
    api_session session;      /* copy: the hooks run after the handler returned */
    msgpack_sbuffer user;     /* user.update's payload */
    msgpack_sbuffer profile;  /* the profile part, when there is one */
    int has_profile;
} patch_ctx;

static int present(json_t *body, const char *const *fields, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (json_object_get(body, fields[i]))
            return 1;
    return 0;
}


/* user.update payload: only the keys sent (absent ⇒ unchanged, null/"" clears
 * phone/address; email_notifications is a boolean, null ⇒ unchanged). */
static void pack_user_update(json_t *body, json_t *errors, msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    size_t n = 0;
    for (size_t i = 0; i < N(USER_FIELDS); i++)
        n += json_object_get(body, USER_FIELDS[i]) != NULL;
    json_t *mail = json_object_get(body, "email_notifications");
    if (mail && !json_is_boolean(mail) && !json_is_null(mail))
        api_field_error(errors, "email_notifications", "must be true or false");
    msgpack_pack_map(&pk, n + (mail && json_is_boolean(mail)));
    if (mail && json_is_boolean(mail))
        pk_mp_kv_bool(&pk, "email_notifications", json_is_true(mail));
    for (size_t i = 0; i < N(USER_FIELDS); i++) {
        json_t *v = json_object_get(body, USER_FIELDS[i]);
        if (!v)
            continue;
        const char *msg = NULL;
        if (json_is_null(v)) {
            pk_mp_kv_nil(&pk, USER_FIELDS[i]);
            continue;
        }
        if (!json_is_string(v))
            msg = "must be a string";
        else   /* the worker's rule for the field (common/validate.h) */
            msg = pk_check_account_field(USER_FIELDS[i], json_string_value(v));
        if (msg)
            api_field_error(errors, USER_FIELDS[i], msg);
        pk_mp_kv_str(&pk, USER_FIELDS[i], json_is_string(v) ? json_string_value(v) : "");
    }
}

static void pack_list(msgpack_packer *pk, const char *key, json_t *v)
{
    pk_mp_pack_cstr(pk, key);
    msgpack_pack_array(pk, json_array_size(v));
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item) pk_mp_pack_cstr(pk, json_string_value(item));
}

/* priest.update_profile payload: lists, numbers, bio, sealed KYC. */
static void pack_profile_update(json_t *body, json_t *errors, msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    json_t *spec = json_object_get(body, "specializations"), *lang = json_object_get(body, "languages");
    json_t *years = json_object_get(body, "experience_years"), *radius = json_object_get(body, "service_radius_km");
    json_t *bio = json_object_get(body, "bio");
    const char *msg;
    if (spec && (msg = api_check_string_list(spec)))
        api_field_error(errors, "specializations", msg);
    if (lang && (msg = api_check_string_list(lang)))
        api_field_error(errors, "languages", msg);
    if (years && (!json_is_integer(years) || json_integer_value(years) < 0 || json_integer_value(years) > 80))
        api_field_error(errors, "experience_years", "must be an integer from 0 to 80");
    if (radius && (!json_is_integer(radius) || json_integer_value(radius) < 0 || json_integer_value(radius) > 500))
        api_field_error(errors, "service_radius_km", "must be an integer from 0 to 500");
    if (bio && (!json_is_string(bio) || pk_check_text(json_string_value(bio), PK_BIO_MAX)))
        api_field_error(errors, "bio", json_is_string(bio) ? pk_check_text(json_string_value(bio), PK_BIO_MAX)
                                                           : "must be a string");
    api_kyc_set kyc;
    api_kyc_collect(body, errors, &kyc);
    if (json_object_size(errors)) {
        api_kyc_free(&kyc);
        return;
    }
    msgpack_pack_map(&pk, (spec != NULL) + (lang != NULL) + (years != NULL) + (radius != NULL) + (bio != NULL) +
                              api_kyc_pairs(&kyc));
    if (spec)
        pack_list(&pk, "specializations", spec);
    if (lang)
        pack_list(&pk, "languages", lang);
    if (years)
        pk_mp_kv_i64(&pk, "experience_years", json_integer_value(years));
    if (radius)
        pk_mp_kv_i64(&pk, "service_radius_km", json_integer_value(radius));
    if (bio)
        pk_mp_kv_str(&pk, "bio", json_string_value(bio));
    api_kyc_pack(&pk, &kyc);
    api_kyc_free(&kyc);
}

static void submit(h2o_req_t *req, const api_session *s, const char *type, const msgpack_sbuffer *payload,
                   api_applied_hook hook, void *data)
{
    api_command cmd = {.type = type, .key_ids = {.user_id = s->user_id}, .actor_id = s->user_id,
                       .actor_role = s->role, .payload = payload, .on_applied = hook, .hook_data = data};
    api_command_submit(req, &cmd);
}

static void on_user_updated(h2o_req_t *req, json_t *resource, int status, void *data)
{
    patch_ctx *c = data;
    (void)status;
    api_reply_me_applied(req, c->session.user_id, c->session.csrf, resource);   /* the pool's dispose frees c's buffers */
}

/* priest.update_account's payload: {user: <user.update's map>, profile:
 * <priest.update_profile's map>}, both packed and validated already. */
static void pack_account_update(const patch_ctx *c, msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    pk_mp_pack_cstr(&pk, "user");
    msgpack_sbuffer_write(sb, c->user.data, c->user.size);
    pk_mp_pack_cstr(&pk, "profile");
    msgpack_sbuffer_write(sb, c->profile.data, c->profile.size);
}

static void free_buffers(void *p)
{
    patch_ctx *c = p;
    msgpack_sbuffer_destroy(&c->user);
    msgpack_sbuffer_destroy(&c->profile);
}

int api_auth_me_update(h2o_req_t *req, const api_match *m)
{
    json_t *body = api_json_body_or_reply(req);
    if (!body)
        return 0;
    json_t *errors = json_object();
    int is_priest = strcmp(m->session->role, "priest") == 0;
    if (!is_priest && present(body, PROFILE_FIELDS, N(PROFILE_FIELDS)))
        api_field_error(errors, "specializations", "only priests have a profile");
    patch_ctx *c = h2o_mem_alloc_shared(&req->pool, sizeof(*c), free_buffers);
    memset(c, 0, sizeof(*c));
    c->session = *m->session;
    msgpack_sbuffer_init(&c->user);
    msgpack_sbuffer_init(&c->profile);
    c->has_profile = is_priest && present(body, PROFILE_FIELDS, N(PROFILE_FIELDS));
    pack_user_update(body, errors, &c->user);
    if (c->has_profile)
        pack_profile_update(body, errors, &c->profile);
    if (json_object_size(errors))
        api_reply_problem(req, 422, "validation_error", "Invalid profile", "some fields are invalid", errors);
    else {
        json_decref(errors);
        if (c->has_profile) {
            msgpack_sbuffer account;
            msgpack_sbuffer_init(&account);
            pack_account_update(c, &account);
            submit(req, m->session, "priest.update_account", &account, on_user_updated, c);
            msgpack_sbuffer_destroy(&account);   /* the submit copied it into the envelope */
        } else
            submit(req, m->session, "user.update", &c->user, on_user_updated, c);
    }
    json_decref(body);
    return 0;
}

/* ---- password change ---- */

typedef struct {
    api_async async;
    api_thread *thread;
    api_session session;
    api_bucket guesses;      /* checks of the current password for this account */
    char *current_hash;      /* malloc'd */
    char old_password[256];
    char new_password[256];
} password_ctx;

static void password_free(password_ctx *p)
{
    sodium_memzero(p->old_password, sizeof(p->old_password));
    sodium_memzero(p->new_password, sizeof(p->new_password));
    free(p->current_hash);
    api_async_free(&p->async);
}

static void on_new_session(void *ctx, const api_session *s)
{
    h2o_req_t *req = ctx;
    api_reply_json(req, 200, json_pack("{s:s, s:s}", "detail", "password changed; other sessions were logged out",
                                       "csrf_token", s ? s->csrf : ""));
}

/* Applied: every session of the account goes (the Lua script runs before the
 * new session's commands on this connection), then this client gets a new one. */
static void on_password_changed(h2o_req_t *req, json_t *resource, int status, void *data)
{
    api_session *s = data;
    (void)resource;
    (void)status;
    api_session_destroy_all(req, s->user_id, NULL);   /* same connection: ordered before the new session */
    api_session_create(req, s->user_id, s->role, on_new_session, req);
}

static void on_new_hash(api_hash_job *job, const char *hash)
{
    password_ctx *p = job->data;
    h2o_req_t *req = p->async.req;
    if (req && !hash) {
        api_reply_problem(req, 503, "overloaded", "Service unavailable", "could not hash the password", NULL);
    } else if (req) {
        msgpack_sbuffer sb;
        msgpack_packer pk;
        pk_mp_start_map(&sb, &pk, 1);
        pk_mp_kv_str(&pk, "password_hash", hash);
        api_session *s = h2o_mem_alloc_pool(&req->pool, sizeof(*s));
        *s = p->session;
        submit(req, s, "user.change_password", &sb, on_password_changed, s);
        msgpack_sbuffer_destroy(&sb);
    }
    password_free(p);
}

static void on_old_checked(api_hash_job *job, const char *unused)
{
    password_ctx *p = job->data;
    h2o_req_t *req = p->async.req;
    (void)unused;
    if (job->skipped) {
        api_throttle_refund(p->thread, p->guesses.key);   /* no guess was checked */
    } else if (req && !job->ok) {
        api_reply_field_error(req, "old_password", "is not your current password");   /* the guess stays counted */
    } else if (req) {
        api_throttle_forgive(p->thread, p->guesses.key);
        if (api_hash_password(req, &p->async, p->new_password, on_new_hash, p) == 0)
            return;
        api_reply_hasher_busy(req);
    }
    password_free(p);
}

/* A stolen session must not become an oracle for the account's password:
 * checks of the current password are limited per account like logins. */
static void on_guess_reserved(void *ctx, int admitted, long long retry_after_s)
{
    password_ctx *p = ctx;
    h2o_req_t *req = p->async.req;
    if (!req) {
        if (admitted == 1)
            api_throttle_refund(p->thread, p->guesses.key);
    } else if (admitted < 0) {
        api_reply_problem(req, 503, "redis_unavailable", "Service unavailable", NULL, NULL);
    } else if (admitted == 0) {
        api_reply_throttled(req, retry_after_s, g_api.cfg.login_window_s,
                            "too many wrong current passwords; try again later");
    } else if (api_verify_password(req, &p->async, p->old_password, p->current_hash, on_old_checked, p) == 0) {
        return;
    } else {
        api_throttle_refund(p->thread, p->guesses.key);
        api_reply_hasher_busy(req);
    }
    password_free(p);
}

static void on_current_hash(void *ctx, const PGresult *res, const char *err)
{
    password_ctx *p = ctx;
    if (!p->async.req) {
        password_free(p);
        return;
    }
    if (err || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        api_reply_problem(p->async.req, 503, "database_unavailable", "Service unavailable", NULL, NULL);
        password_free(p);
        return;
    }
    p->current_hash = strdup(PQgetvalue(res, 0, 0));
    snprintf(p->guesses.key, sizeof(p->guesses.key), "punyaka:rl:password:user:%lld", (long long)p->session.user_id);
    p->guesses.limit = g_api.cfg.password_change_max;
    if (api_throttle_reserve(p->thread, &p->guesses, 1, g_api.cfg.login_window_s, on_guess_reserved, p) != 0) {
        api_reply_problem(p->async.req, 503, "redis_unavailable", "Service unavailable", NULL, NULL);
        password_free(p);
    }
}

int api_auth_change_password(h2o_req_t *req, const api_match *m)
{
    json_t *body = api_json_body_or_reply(req);
    if (!body)
        return 0;
    const char *old = json_string_value(json_object_get(body, "old_password"));
    const char *new = json_string_value(json_object_get(body, "new_password"));
    json_t *confirm = json_object_get(body, "new_password_confirm");
    const char *msg;
    if (!old || !*old || strlen(old) > 128)
        api_reply_field_error(req, "old_password", "this field is required");
    else if (!new)
        api_reply_field_error(req, "new_password", "this field is required");
    else if ((msg = pk_check_password(new)) != NULL)
        api_reply_field_error(req, "new_password", msg);
    else if (confirm && (!json_is_string(confirm) || strcmp(json_string_value(confirm), new) != 0))
        api_reply_field_error(req, "new_password_confirm", "passwords do not match");
    else {
        password_ctx *p = api_async_new(req, sizeof(*p));
        p->thread = api_thread_of(req);
        p->session = *m->session;
        snprintf(p->old_password, sizeof(p->old_password), "%s", old);
        snprintf(p->new_password, sizeof(p->new_password), "%s", new);
        char id[24];
        snprintf(id, sizeof(id), "%lld", (long long)m->session->user_id);
        const char *params[] = {id};
        if (api_pg_query(api_thread_of(req)->pg, "SELECT password_hash FROM users WHERE id = $1", 1, params,
                         on_current_hash, p) != 0) {
            api_reply_problem(req, 503, "overloaded", "Service unavailable", NULL, NULL);
            password_free(p);
        }
    }
    json_decref(body);
    return 0;
}
