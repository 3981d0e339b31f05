/* auth.c — accounts: POST /api/auth/register/ (user.register).
 *
 * The password is hashed with Argon2id here, off the loop (hasher.c), so no
 * plaintext password ever reaches Kafka, a log or the database. Uniqueness
 * of username/email is decided by the worker (the accounts topic is keyed by
 * the lower-cased username, so one username's registrations serialize). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "api/command.h"
#include "api/hasher.h"
#include "api/http.h"
#include "api/kyc.h"
#include "api/routes.h"
#include "api/session.h"
#include "api/throttle.h"
#include "api/users.h"
#include "common/mp.h"
#include "common/validate.h"

typedef struct {
    api_async async;
    api_thread *thread;
    api_bucket address;   /* registrations from this client address */
    json_t *body;
    api_kyc_set kyc;   /* sealed KYC fields of a priest */
} registration;

static void registration_free(registration *r)
{
    json_decref(r->body);
    api_kyc_free(&r->kyc);
    api_async_free(&r->async);
}

static const char *const TEXT_FIELDS[] = {"first_name", "last_name", "phone", "date_of_birth",
                                          "time_of_birth", "place_of_birth", "address"};
#define NTEXT (sizeof(TEXT_FIELDS) / sizeof(TEXT_FIELDS[0]))


/* A string field: absent/null ⇒ "" (optional) or an error (required). */
static const char *str_field(json_t *body, json_t *errors, const char *name, int required)
{
    json_t *v = json_object_get(body, name);
    if (!v || json_is_null(v)) {
        if (required)
            api_field_error(errors, name, "this field is required");
        return "";
    }
    if (!json_is_string(v)) {
        api_field_error(errors, name, "must be a string");
        return "";
    }
    return json_string_value(v);
}

static void check(json_t *errors, const char *field, const char *msg)
{
    if (msg)
        api_field_error(errors, field, msg);
}

/* specializations / languages as the worker will store them: a list of
 * strings as sent, or a comma-separated string split into trimmed,
 * non-empty items; absent or null ⇒ empty. NULL when neither. */
static json_t *list_items(json_t *v)
{
    json_t *items = json_array();
    if (!v || json_is_null(v))
        return items;
    if (json_is_array(v)) {
        json_array_extend(items, v);
        return items;
    }
    if (!json_is_string(v)) {
        json_decref(items);
        return NULL;
    }
    char *copy = strdup(json_string_value(v)), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*tok))
            tok++;
        size_t n = strlen(tok);
        while (n && isspace((unsigned char)tok[n - 1]))
            tok[--n] = 0;
        if (n)
            json_array_append_new(items, json_string(tok));   /* a split never breaks a UTF-8 sequence */
    }
    free(copy);
    return items;
}

const char *api_check_string_list(json_t *items)
{
    if (!json_is_array(items) || json_array_size(items) > PK_LIST_MAX_ITEMS)
        return "must be a list of at most 20 strings";
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item)
    {
        if (!json_is_string(item) || strlen(json_string_value(item)) != json_string_length(item))
            return "must be a list of strings";
        if (pk_check_list_item(json_string_value(item)))
            return "each item must be one line of 1 to 100 bytes without control or formatting characters";
    }
    return NULL;
}

/* The check runs on exactly what pack_list will send, so a 50 KB string
 * cannot pass here as "a string" and be refused by the worker. */
static void check_string_list(json_t *body, json_t *errors, const char *name)
{
    json_t *items = list_items(json_object_get(body, name));
    const char *msg = items ? api_check_string_list(items) : "must be a list of strings or a comma-separated string";
    if (msg)
        api_field_error(errors, name, msg);
    json_decref(items);
}

static void check_int_range(json_t *body, json_t *errors, const char *name, int min, int max)
{
    json_t *v = json_object_get(body, name);
    if (!v || json_is_null(v))
        return;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        char msg[64];
        snprintf(msg, sizeof(msg), "must be an integer from %d to %d", min, max);
        api_field_error(errors, name, msg);
    }
}

static json_t *validate(json_t *body, api_kyc_set *kyc)
{
    json_t *errors = json_object();
    const char *username = str_field(body, errors, "username", 1);
    const char *email = str_field(body, errors, "email", 1);
    const char *password = str_field(body, errors, "password", 1);
    const char *confirm = str_field(body, errors, "password_confirm", 0);
    const char *role = str_field(body, errors, "role", 0);
    if (*username)
        check(errors, "username", pk_check_username(username));
    if (*email)
        check(errors, "email", pk_check_email(email));
    if (*password)
        check(errors, "password", pk_check_password(password));
    if (*confirm && strcmp(confirm, password) != 0)
        api_field_error(errors, "password_confirm", "passwords do not match");
    if (*role && strcmp(role, "customer") != 0 && strcmp(role, "priest") != 0)
        api_field_error(errors, "role", "must be customer or priest");
    for (size_t i = 0; i < NTEXT; i++) {
        const char *v = str_field(body, errors, TEXT_FIELDS[i], 0);
        if (*v)
            check(errors, TEXT_FIELDS[i], pk_check_account_field(TEXT_FIELDS[i], v));
    }
    if (strcmp(role, "priest") == 0) {
        check_string_list(body, errors, "specializations");
        check_string_list(body, errors, "languages");
        check_int_range(body, errors, "experience_years", 0, 80);
        check_int_range(body, errors, "service_radius_km", 0, 500);
        api_kyc_collect(body, errors, kyc);
    }
    return errors;
}

/* Packs a list field as list_items gives it (validated before). */
static void pack_list(msgpack_packer *pk, json_t *body, const char *name)
{
    json_t *items = list_items(json_object_get(body, name));
    if (!items)
        items = json_array();
    pk_mp_pack_cstr(pk, name);
    msgpack_pack_array(pk, json_array_size(items));
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item) pk_mp_pack_cstr(pk, json_string_value(item));
    json_decref(items);
}

static const char *str_or_empty(json_t *body, const char *name)
{
    const char *s = json_string_value(json_object_get(body, name));
    return s ? s : "";
}

static void pack_payload(msgpack_packer *pk, json_t *body, const api_kyc_set *kyc, const char *hash)
{
    const char *role = str_or_empty(body, "role");
    int priest = strcmp(role, "priest") == 0;
    msgpack_pack_map(pk, 4 + NTEXT + (priest ? 4 + api_kyc_pairs(kyc) : 0));
    pk_mp_kv_str(pk, "username", str_or_empty(body, "username"));
    pk_mp_kv_str(pk, "email", str_or_empty(body, "email"));
    pk_mp_kv_str(pk, "password_hash", hash);
    pk_mp_kv_str(pk, "role", priest ? "priest" : "customer");
    for (size_t i = 0; i < NTEXT; i++)
        pk_mp_kv_str(pk, TEXT_FIELDS[i], str_or_empty(body, TEXT_FIELDS[i]));
    if (priest) {
        pack_list(pk, body, "specializations");
        pack_list(pk, body, "languages");
        pk_mp_kv_i64(pk, "experience_years", json_integer_value(json_object_get(body, "experience_years")));
        pk_mp_kv_i64(pk, "service_radius_km", json_integer_value(json_object_get(body, "service_radius_km")));
        api_kyc_pack(pk, kyc);
    }
}

/* A new account is logged in at once, like the seed's register. */
typedef struct {
    api_async async;
    char *user_json;
    int status;
} welcome;

static void on_welcome_session(void *ctx, const api_session *s)
{
    welcome *w = ctx;
    if (w->async.req)
        api_reply_user_with_csrf(w->async.req, w->status, w->user_json, s ? s->csrf : "");
    free(w->user_json);
    api_async_free(&w->async);
}

static void on_registered(h2o_req_t *req, json_t *resource, int http_status, void *data)
{
    (void)data;
    welcome *w = api_async_new(req, sizeof(*w));
    w->user_json = json_dumps(resource, JSON_COMPACT);
    w->status = http_status;
    api_session_create(req, json_integer_value(json_object_get(resource, "id")),
                       json_string_value(json_object_get(resource, "role")), on_welcome_session, w);
}

static void on_hashed(api_hash_job *job, const char *hash)
{
    registration *r = job->data;
    h2o_req_t *req = r->async.req;
    if (req && !hash) {
        api_reply_problem(req, 503, "overloaded", "Service unavailable", "could not hash the password", NULL);
    } else if (req) {
        msgpack_sbuffer sb;
        msgpack_packer pk;
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        pack_payload(&pk, r->body, &r->kyc, hash);
        api_command cmd = {.type = "user.register", .key_ids = {.username = str_or_empty(r->body, "username")},
                           .actor_role = "",
                           .payload = &sb, .on_applied = on_registered};
        api_command_submit(req, &cmd);
        msgpack_sbuffer_destroy(&sb);
    } else if (job->skipped) {
        api_throttle_refund(r->thread, r->address.key);   /* nothing was hashed */
    }
    registration_free(r);
}

/* The address's registrations are counted before the hash, whatever the
 * outcome: a flood of registrations (or of probes for taken names and
 * e-mails) costs the flooder its own budget, not everyone's hashing time. */
static void on_reserved(void *ctx, int admitted, long long retry_after_s)
{
    registration *r = ctx;
    h2o_req_t *req = r->async.req;
    if (!req) {
        if (admitted == 1)
            api_throttle_refund(r->thread, r->address.key);
    } else if (admitted < 0) {
        api_reply_problem(req, 503, "redis_unavailable", "Service unavailable", NULL, NULL);
    } else if (admitted == 0) {
        api_reply_throttled(req, retry_after_s, g_api.cfg.register_window_s,
                            "too many registrations from this address; try again later");
    } else if (api_hash_password(req, &r->async, json_string_value(json_object_get(r->body, "password")),
                                 on_hashed, r) == 0) {
        return;
    } else {
        api_throttle_refund(r->thread, r->address.key);
        api_reply_hasher_busy(req);
    }
    registration_free(r);
}

int api_auth_register(h2o_req_t *req, const api_match *m)
{
    (void)m;
    json_t *body = api_json_body_or_reply(req);
    if (!body)
        return 0;
    api_kyc_set kyc;
    memset(&kyc, 0, sizeof(kyc));
    json_t *errors = validate(body, &kyc);
    if (json_object_size(errors)) {
        api_reply_problem(req, 422, "validation_error", "Invalid registration", "some fields are invalid", errors);
        api_kyc_free(&kyc);
        json_decref(body);
        return 0;
    }
    json_decref(errors);
    registration *r = api_async_new(req, sizeof(*r));
    char ip[64];
    r->thread = api_thread_of(req);
    r->body = body;
    r->kyc = kyc;
    api_client_address(req, ip, sizeof(ip));
    snprintf(r->address.key, sizeof(r->address.key), "punyaka:rl:register:ip:%s", ip);
    r->address.limit = g_api.cfg.register_max_per_ip;
    if (api_throttle_reserve(r->thread, &r->address, 1, g_api.cfg.register_window_s, on_reserved, r) != 0) {
        api_reply_problem(req, 503, "redis_unavailable", "Service unavailable", NULL, NULL);
        registration_free(r);
    }
    return 0;
}
