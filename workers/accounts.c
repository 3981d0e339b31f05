/* accounts.c — the accounts family: user.register.
 * Topic "accounts" is keyed by the lower-cased username, so registrations of
 * one username are applied one after another; the unique indexes on
 * lower(username)/lower(email) are the last line of defence. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "common/mp.h"
#include "common/validate.h"
#include "workers/accounts_profile.h"
#include "workers/credentials.h"
#include "workers/db.h"
#include "workers/fields.h"
#include "workers/resource.h"
#include "workers/worker.h"

#define TEXT_MAX 512

typedef struct {
    char username[160], email[260], password_hash[crypto_pwhash_STRBYTES], role[16];
    char first_name[TEXT_MAX], last_name[TEXT_MAX], phone[64], address[TEXT_MAX];
    char date_of_birth[16], time_of_birth[16], place_of_birth[TEXT_MAX];
    char *specializations, *languages;   /* PostgreSQL array literals, malloc'd */
    int64_t experience_years, service_radius_km;
} registration;

/* Optional string: missing or nil ⇒ "", wrong type or too long ⇒ -1. */
static int opt_str(const msgpack_object *p, const char *key, char *buf, size_t cap)
{
    wk_field_status s = wk_field_str(p, key, buf, cap);
    if (s != WK_FIELD_SET)
        buf[0] = 0;
    return s == WK_FIELD_BAD ? -1 : 0;
}

/* msgpack array of strings ⇒ '{"a","b"}' with quotes and backslashes escaped. */
static char *text_array_literal(const msgpack_object *p, const char *key)
{
    const msgpack_object *a = pk_mp_get(p, key);
    if (!a || a->type == MSGPACK_OBJECT_NIL)
        return strdup("{}");
    if (a->type != MSGPACK_OBJECT_ARRAY || a->via.array.size > 20)
        return NULL;
    size_t cap = 3, len = 0;
    for (uint32_t i = 0; i < a->via.array.size; i++) {
        const msgpack_object_str *item = &a->via.array.ptr[i].via.str;
        char text[PK_LIST_ITEM_MAX + 1];
        if (a->via.array.ptr[i].type != MSGPACK_OBJECT_STR || item->size > PK_LIST_ITEM_MAX ||
            memchr(item->ptr, 0, item->size))
            return NULL;
        memcpy(text, item->ptr, item->size);
        text[item->size] = 0;
        if (pk_check_list_item(text))   /* the API's rule for an item */
            return NULL;
        cap += a->via.array.ptr[i].via.str.size * 2 + 3;
    }
    char *out = malloc(cap);
    out[len++] = '{';
    for (uint32_t i = 0; i < a->via.array.size; i++) {
        const msgpack_object_str *s = &a->via.array.ptr[i].via.str;
        if (i)
            out[len++] = ',';
        out[len++] = '"';
        for (uint32_t j = 0; j < s->size; j++) {
            if (s->ptr[j] == '"' || s->ptr[j] == '\\')
                out[len++] = '\\';
            out[len++] = s->ptr[j];
        }
        out[len++] = '"';
    }
    out[len++] = '}';
    out[len] = 0;
    return out;
}

static int decode(const msgpack_object *p, registration *r)
{
    memset(r, 0, sizeof(*r));
    if (wk_field_str(p, "username", r->username, sizeof(r->username)) != WK_FIELD_SET ||
        wk_field_str(p, "email", r->email, sizeof(r->email)) != WK_FIELD_SET ||
        wk_password_hash(p, r->password_hash, sizeof(r->password_hash)) ||
        wk_field_str(p, "role", r->role, sizeof(r->role)) != WK_FIELD_SET)
        return -1;
    if (opt_str(p, "first_name", r->first_name, TEXT_MAX) || opt_str(p, "last_name", r->last_name, TEXT_MAX) ||
        opt_str(p, "phone", r->phone, sizeof(r->phone)) || opt_str(p, "address", r->address, TEXT_MAX) ||
        opt_str(p, "date_of_birth", r->date_of_birth, sizeof(r->date_of_birth)) ||
        opt_str(p, "time_of_birth", r->time_of_birth, sizeof(r->time_of_birth)) ||
        opt_str(p, "place_of_birth", r->place_of_birth, TEXT_MAX))
        return -1;
    if (pk_check_username(r->username) || pk_check_email(r->email) ||
        (strcmp(r->role, "customer") != 0 && strcmp(r->role, "priest") != 0) ||
        pk_check_account_field("first_name", r->first_name) || pk_check_account_field("last_name", r->last_name) ||
        pk_check_account_field("phone", r->phone) || pk_check_account_field("address", r->address) ||
        pk_check_account_field("date_of_birth", r->date_of_birth) ||
        pk_check_account_field("time_of_birth", r->time_of_birth) ||
        pk_check_account_field("place_of_birth", r->place_of_birth))
        return -1;   /* the API's rules, field by field (common/validate.h) */
    if (strcmp(r->role, "priest") == 0) {
        r->specializations = text_array_literal(p, "specializations");
        r->languages = text_array_literal(p, "languages");
        /* Absent or nil: 0, as memset left them. */
        if (!r->specializations || !r->languages ||
            wk_field_int(p, "experience_years", 0, 80, &r->experience_years) == WK_FIELD_BAD ||
            wk_field_int(p, "service_radius_km", 0, 500, &r->service_radius_km) == WK_FIELD_BAD)
            return -1;
    }
    return 0;
}

static void registration_free(registration *r)
{
    free(r->specializations);
    free(r->languages);
}

static const char *or_null(const char *s)
{
    return *s ? s : NULL;
}

static wk_result insert_priest_profile(wk_ctx *ctx, const registration *r, const char *user_id, const char *ts,
                                       int64_t *profile_id)
{
    char years[24], radius[24], replay[24];
    snprintf(years, sizeof(years), "%lld", (long long)r->experience_years);
    snprintf(radius, sizeof(radius), "%lld", (long long)r->service_radius_km);
    const char *params[] = {user_id, r->specializations, r->languages, years, radius, ts,
                            wk_new_id(ctx, "priest", replay)};
    wk_result fail = WK_DONE;
    PGresult *res = wk_query(ctx, "insert priest profile",
                             "INSERT INTO priest_profiles (id, user_id, specializations, languages, experience_years,"
                             " service_radius_km, created_at, updated_at)"
                             " VALUES (" WK_NEW_ID("$7", "priest_profiles") ", $1, $2, $3, $4, $5, $6, $6) RETURNING id",
                             7, params, &fail);
    if (!res)
        return fail;
    *profile_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return WK_DONE;
}

/* $13 is the id a replay must reuse (WK_NEW_ID). */
#define INSERT_USER_SQL                                                                                         \
    "INSERT INTO users (id, username, email, password_hash, first_name, last_name, role, phone, address,"    \
    " date_of_birth, time_of_birth, place_of_birth, created_at, updated_at) VALUES ("                         \
    WK_NEW_ID("$13", "users") ", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id"

/* Inserts the user (and a priest's profile); *user_id stays 0 when rejected. */
static wk_result insert_user(wk_ctx *ctx, const registration *r, const char *ts, wk_outcome *out, int64_t *user_id)
{
    char replay[24];
    const char *params[] = {r->username, r->email, r->password_hash, r->first_name, r->last_name, r->role,
                            or_null(r->phone), or_null(r->address), or_null(r->date_of_birth),
                            or_null(r->time_of_birth), or_null(r->place_of_birth), ts, wk_new_id(ctx, "user", replay)};
    PGresult *res = wk_exec(ctx, INSERT_USER_SQL, 13, params);
    char uid[24];
    wk_result inserted = wk_user_inserted(ctx, res, "insert user", out, uid);
    if (inserted != WK_DONE || wk_rejected(out))
        return inserted;
    int64_t id = strtoll(uid, NULL, 10), profile_id = 0;
    if (strcmp(r->role, "priest") == 0) {
        wk_result profile = insert_priest_profile(ctx, r, uid, ts, &profile_id);
        if (profile != WK_DONE)
            return profile;
        wk_created(out, "priest", profile_id);
    }
    wk_created(out, "user", id);
    *user_id = id;
    return WK_DONE;
}

wk_result wk_user_register(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out)
{
    registration r;
    if (decode(cmd->payload, &r) != 0) {
        registration_free(&r);
        return WK_POISON;
    }
    char ts[40];
    wk_timestamp(cmd->env.issued_at_us, ts);
    int64_t user_id = 0;
    wk_result result = wk_check_account_free(ctx, r.username, r.email, out);
    if (result == WK_DONE && !wk_rejected(out))
        result = insert_user(ctx, &r, ts, out, &user_id);
    /* KYC ciphertext of a registering priest (accounts_profile.c): stored in
     * the profile just inserted; a malformed blob makes the whole command
     * poison, and the savepoint undoes the user row with it. */
    if (result == WK_DONE && user_id && strcmp(r.role, "priest") == 0) {
        int stored = 0;
        result = wk_priest_kyc_store(ctx, cmd->payload, user_id, cmd->env.issued_at_us, &stored);
    }
    /* The user as GET /api/auth/me/ shows it (PK_USER_JSON), read back
     * after every write, so a priest's profile says which KYC is on file. */
    if (result == WK_DONE && user_id)
        result = wk_applied_resource(ctx, out, 201, WK_RES_USER, user_id, user_id);
    registration_free(&r);
    return result;
}
