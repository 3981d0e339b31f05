/* accounts_profile.c — the accounts family, continued: users editing their
 * own account (user.update, user.change_password), priests their profile and
 * KYC ciphertext (priest.update_profile), and the operators' CLI creating
 * admins (user.create_admin). Payloads: schemas/commands/accounts.md.
 *
 * Who may do what is decided from the envelope's actor, which only the API
 * (from the session) or punyaka-admin (role "system") fills in: the first
 * three act on actor.id itself, never on an id from the payload, so a user
 * can only ever change their own rows.
 *
 * KYC fields arrive sealed (common/kyc.h): this worker holds no key, stores
 * the blobs as they came and never returns them — resources only say which
 * fields are on file. Each comes with a keyed fingerprint of its value; a
 * verified priest whose Aadhaar, PAN or bank details change is put back to
 * pending verification in the same transaction (pk_kyc_changed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/kyc.h"
#include "common/log.h"
#include "common/mp.h"
#include "common/validate.h"
#include "workers/accounts_profile.h"
#include "workers/credentials.h"
#include "workers/db.h"
#include "workers/fields.h"
#include "workers/resource.h"

#define NAME_MAX_BYTES 500
#define BIO_MAX_BYTES 2000
#define LIST_MAX_ITEMS 20
#define LIST_ITEM_MAX_BYTES 100

/* ---- reading payloads ---- */

/* Optional string: 1 present (copied into buf), 0 absent or nil, -1 invalid
 * (wrong type, too long for buf, NUL or control characters): wk_field_text. */
static int opt_text(const msgpack_object *p, const char *key, char *buf, size_t cap)
{
    wk_field_status s = wk_field_text(p, key, 0, buf, cap);
    if (s == WK_FIELD_ABSENT || s == WK_FIELD_NULL)
        buf[0] = 0;
    return s == WK_FIELD_BAD ? -1 : s == WK_FIELD_SET;
}

/* Optional list of strings ⇒ JSON array text (malloc'd) for
 * jsonb_array_elements_text, so no array-literal escaping is needed.
 * *out stays NULL when absent or nil. 0 ok, -1 invalid (not an array of
 * 1–100-byte UTF-8 strings without control characters, or over 20 items). */
static int opt_list(const msgpack_object *p, const char *key, char **out)
{
    *out = NULL;
    const msgpack_object *a = pk_mp_get(p, key);
    if (!a || a->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (a->type != MSGPACK_OBJECT_ARRAY || a->via.array.size > LIST_MAX_ITEMS)
        return -1;
    json_t *list = json_array();
    for (uint32_t i = 0; i < a->via.array.size; i++) {
        const msgpack_object *s = &a->via.array.ptr[i];
        char item[LIST_ITEM_MAX_BYTES + 1];
        if (s->type != MSGPACK_OBJECT_STR || s->via.str.size == 0 || s->via.str.size > LIST_ITEM_MAX_BYTES ||
            memchr(s->via.str.ptr, 0, s->via.str.size)) {
            json_decref(list);
            return -1;
        }
        memcpy(item, s->via.str.ptr, s->via.str.size);
        item[s->via.str.size] = 0;
        /* Checked before the string is made: a refused item must not leak it. */
        json_t *js = pk_check_list_item(item) ? NULL : json_string(item);   /* NULL: not UTF-8 */
        if (!js || json_array_append_new(list, js) != 0) {
            json_decref(list);
            return -1;
        }
    }
    *out = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    return *out ? 0 : -1;
}

/* Optional integer in [lo, hi] as decimal text; buf = "" when absent. */
static int opt_int(const msgpack_object *p, const char *key, int64_t lo, int64_t hi, char buf[24])
{
    int64_t v;
    wk_field_status s = wk_field_int(p, key, lo, hi, &v);
    buf[0] = 0;
    if (s == WK_FIELD_SET)
        snprintf(buf, 24, "%lld", (long long)v);
    return s == WK_FIELD_BAD ? -1 : 0;
}

/* ---- KYC ciphertext ---- */

static const struct {
    const char *enc, *fp, *name;   /* payload keys; the name in a re-verification note */
} KYC[] = {
    {"aadhaar_enc", "aadhaar_fp", "aadhaar"},
    {"pan_enc", "pan_fp", "pan"},
    {"bank_account_enc", "bank_account_fp", "bank_account"},
    {"bank_ifsc_enc", "bank_ifsc_fp", "bank_ifsc"},
};
enum { KYC_N = 4 };

/* The submitted fields: blob and fingerprint per field (NULL when absent).
 * -1 when a blob is not a bin of plausible sealed size or a fingerprint is
 * not a bin of PK_KYC_FP_BYTES. */
static int kyc_submitted(const msgpack_object *payload, const msgpack_object *blob[KYC_N],
                         const msgpack_object *fp[KYC_N], int *n)
{
    *n = 0;
    for (int i = 0; i < KYC_N; i++) {
        blob[i] = fp[i] = NULL;
        const msgpack_object *o = pk_mp_get(payload, KYC[i].enc);
        if (!o || o->type == MSGPACK_OBJECT_NIL)
            continue;   /* absent ⇒ keep what is on file */
        /* Only sealed blobs (nonce || box of a short value) are accepted: the
         * API never sends plaintext, and nothing else fits these bounds. */
        if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size < PK_KYC_BLOB_MIN || o->via.bin.size > PK_KYC_BLOB_MAX)
            return -1;
        const msgpack_object *f = pk_mp_get(payload, KYC[i].fp);
        if (f && f->type != MSGPACK_OBJECT_NIL) {
            if (f->type != MSGPACK_OBJECT_BIN || f->via.bin.size != PK_KYC_FP_BYTES)
                return -1;
            fp[i] = f;
        }
        blob[i] = o;
        (*n)++;
    }
    return 0;
}

/* The profile's verification flag and KYC fingerprints, locked: a
 * concurrent verification waits for this command's decision. */
#define LOCK_KYC_FINGERPRINTS_SQL                                                                               \
    "SELECT is_verified, encode(aadhaar_fp, 'hex'), encode(pan_fp, 'hex'),"                                  \
    " encode(bank_account_fp, 'hex'), encode(bank_ifsc_fp, 'hex')"                                           \
    " FROM priest_profiles WHERE user_id = $1 FOR UPDATE"

/* Locks the profile and decides: when it is verified and a submitted field
 * differs from the one on file (pk_kyc_changed), *note names the changed
 * fields and *unverify = 1. */
static wk_result kyc_recheck(wk_ctx *ctx, const char *uid, const msgpack_object *fp[KYC_N],
                             const msgpack_object *blob[KYC_N], int *unverify, char *note, size_t notecap)
{
    const char *params[] = {uid};
    *unverify = 0;
    wk_result fail = WK_DONE;
    PGresult *res = wk_query(ctx, "loading KYC fingerprints", LOCK_KYC_FINGERPRINTS_SQL, 1, params, &fail);
    if (!res)
        return fail;
    const char *changed[KYC_N];
    size_t n = 0;
    if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0) {
        for (int i = 0; i < KYC_N; i++) {
            if (!blob[i])
                continue;
            unsigned char on_file[PK_KYC_FP_BYTES];
            size_t len = 0;
            const char *hex = PQgetvalue(res, 0, 1 + i);
            int have = !PQgetisnull(res, 0, 1 + i) &&
                       sodium_hex2bin(on_file, sizeof(on_file), hex, strlen(hex), NULL, &len, NULL) == 0;
            if (pk_kyc_changed(have ? on_file : NULL, len, fp[i] ? (const unsigned char *)fp[i]->via.bin.ptr : NULL,
                               fp[i] ? fp[i]->via.bin.size : 0))
                changed[n++] = KYC[i].name;
        }
    }
    PQclear(res);
    *unverify = n > 0 && pk_kyc_change_note(changed, n, note, notecap) > 0;
    return WK_DONE;
}

wk_result wk_priest_kyc_store(wk_ctx *ctx, const msgpack_object *payload, int64_t user_id, int64_t issued_at_us,
                              int *stored)
{
    const msgpack_object *blob[KYC_N], *fp[KYC_N];
    if (kyc_submitted(payload, blob, fp, stored) != 0)
        return WK_POISON;
    if (!*stored)
        return WK_DONE;
    char uid[24], ts[40], note[160];
    int unverify;
    snprintf(uid, sizeof(uid), "%lld", (long long)user_id);
    wk_timestamp(issued_at_us, ts);
    wk_result r = kyc_recheck(ctx, uid, fp, blob, &unverify, note, sizeof(note));
    if (r != WK_DONE)
        return r;
    enum { NPARAMS = 1 + 2 * KYC_N + 3 };
    const char *params[NPARAMS] = {uid};
    int lengths[NPARAMS] = {0}, formats[NPARAMS] = {0};
    Oid types[NPARAMS] = {0};
    for (int i = 0; i < KYC_N; i++) {
        const msgpack_object *o[2] = {blob[i], fp[i]};
        for (int k = 0; k < 2; k++) {
            int at = 1 + i + k * KYC_N;
            types[at] = 17;   /* bytea, binary */
            formats[at] = 1;
            params[at] = o[k] ? o[k]->via.bin.ptr : NULL;
            lengths[at] = o[k] ? (int)o[k]->via.bin.size : 0;
        }
    }
    params[1 + 2 * KYC_N] = unverify ? "t" : "f";
    params[2 + 2 * KYC_N] = unverify ? note : NULL;
    params[3 + 2 * KYC_N] = ts;
    /* A stored blob always sits beside its own fingerprint (NULL when the
     * command carried none), so the next comparison is against this value.
     * Back to pending in the same transaction as the change: verified_at and
     * verified_by record this decision (by nobody: the rule) like an admin's. */
    PGresult *res = PQexecParams(
        ctx->db,
        "UPDATE priest_profiles SET aadhaar_enc = coalesce($2, aadhaar_enc), pan_enc = coalesce($3, pan_enc),"
        " bank_account_enc = coalesce($4, bank_account_enc), bank_ifsc_enc = coalesce($5, bank_ifsc_enc),"
        " aadhaar_fp = CASE WHEN $2 IS NULL THEN aadhaar_fp ELSE $6 END,"
        " pan_fp = CASE WHEN $3 IS NULL THEN pan_fp ELSE $7 END,"
        " bank_account_fp = CASE WHEN $4 IS NULL THEN bank_account_fp ELSE $8 END,"
        " bank_ifsc_fp = CASE WHEN $5 IS NULL THEN bank_ifsc_fp ELSE $9 END,"
        " is_verified = is_verified AND NOT $10::boolean,"
        " verification_notes = CASE WHEN $10::boolean THEN $11::text ELSE verification_notes END,"
        " verified_at = CASE WHEN $10::boolean THEN $12::timestamptz ELSE verified_at END,"
        " verified_by = CASE WHEN $10::boolean THEN NULL ELSE verified_by END,"
        " updated_at = greatest(updated_at, $12::timestamptz) WHERE user_id = $1",
        NPARAMS, types, params, lengths, formats, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        return wk_db_failure(ctx, res, "storing KYC ciphertext");
    PQclear(res);
    if (unverify)
        pk_info(NULL, "priest of user %s back to pending verification: %s", uid, note);
    return WK_DONE;
}

/* ---- the acting user ---- */

/* The actor must be a signed-in user whose row exists, is active and has the
 * role the session claimed (a stale session after a role change must not act
 * with the old role). Locks the row. Rejections fill `out`; *ok says whether
 * to go on. */
static wk_result check_actor(wk_ctx *ctx, const pk_envelope *env, const char *required_role, char uid[24],
                             wk_outcome *out, int *ok)
{
    *ok = 0;
    int known_role = !strcmp(env->actor_role, "customer") || !strcmp(env->actor_role, "priest") ||
                     !strcmp(env->actor_role, "admin");
    if (env->actor_id <= 0 || !known_role || (required_role && strcmp(env->actor_role, required_role) != 0)) {
        wk_reject(out, "forbidden", NULL, "this account may not do that");
        return WK_DONE;
    }
    snprintf(uid, 24, "%lld", (long long)env->actor_id);
    const char *params[] = {uid};
    PGresult *res = wk_exec(ctx, "SELECT role, is_active FROM users WHERE id = $1 FOR UPDATE", 1, params);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return wk_db_failure(ctx, res, "loading the actor");
    if (PQntuples(res) == 0)
        wk_reject(out, "not_found", NULL, "no such user");
    else if (strcmp(PQgetvalue(res, 0, 0), env->actor_role) != 0 || strcmp(PQgetvalue(res, 0, 1), "t") != 0)
        wk_reject(out, "forbidden", NULL, "this account may not do that");
    else
        *ok = 1;
    PQclear(res);
    return WK_DONE;
}

/* Applied with the user as GET /api/auth/me/ shows it (resource.h: never
 * the hash, never KYC data). */
static wk_result applied_user(wk_ctx *ctx, const char *uid, int http_status, wk_outcome *out)
{
    int64_t id = strtoll(uid, NULL, 10);
    return wk_applied_resource(ctx, out, http_status, WK_RES_USER, id, id);
}

/* ---- user.update ---- */

/* The user.update fields of a payload, checked with the API's rules
 * (common/validate.h): a payload that breaks them is not from the API. */
typedef struct {
    char first[NAME_MAX_BYTES + 1], last[NAME_MAX_BYTES + 1], phone[64], address[NAME_MAX_BYTES + 1];
    int has_first, has_last;
    bool email_notifications;   /* the opt-out (issue 17): absent or nil ⇒ unchanged */
    int has_email_notifications;
} user_fields;

static int read_user_fields(const msgpack_object *p, user_fields *f)
{
    f->has_first = opt_text(p, "first_name", f->first, sizeof(f->first));
    f->has_last = opt_text(p, "last_name", f->last, sizeof(f->last));
    int has_phone = opt_text(p, "phone", f->phone, sizeof(f->phone));
    int has_address = opt_text(p, "address", f->address, sizeof(f->address));
    wk_field_status mail = wk_field_bool(p, "email_notifications", &f->email_notifications);
    f->has_email_notifications = mail == WK_FIELD_SET;
    if (mail == WK_FIELD_BAD || f->has_first < 0 || f->has_last < 0 || has_phone < 0 || has_address < 0 ||
        pk_check_account_field("first_name", f->first) || pk_check_account_field("last_name", f->last) ||
        pk_check_account_field("phone", f->phone) || pk_check_account_field("address", f->address))
        return -1;
    return 0;
}

/* The user.update fields of payload p, applied to user uid (the caller checked
 * the actor). WK_POISON when a field breaks the rules. */
static wk_result update_user_fields(wk_ctx *ctx, const msgpack_object *p, const char *uid, int64_t issued_at_us)
{
    user_fields f;
    if (read_user_fields(p, &f) != 0)
        return WK_POISON;
    int has_first = f.has_first, has_last = f.has_last;
    const char *first = f.first, *last = f.last, *phone = f.phone, *address = f.address;
    /* phone/address: a key sent as nil or "" clears the field; a missing key keeps it. */
    int set_phone = pk_mp_get(p, "phone") != NULL, set_address = pk_mp_get(p, "address") != NULL;
    char ts[40];
    wk_timestamp(issued_at_us, ts);
    const char *mail = !f.has_email_notifications ? NULL : f.email_notifications ? "t" : "f";
    const char *params[] = {uid, has_first ? first : NULL, has_last ? last : NULL, set_phone ? "t" : "f",
                            *phone ? phone : NULL, set_address ? "t" : "f", *address ? address : NULL, ts, mail};
    return wk_write(ctx, "user.update",
                    "UPDATE users SET first_name = coalesce($2, first_name), last_name = coalesce($3, last_name),"
                    " phone = CASE WHEN $4::boolean THEN $5 ELSE phone END,"
                    " address = CASE WHEN $6::boolean THEN $7 ELSE address END,"
                    " email_notifications = coalesce($9::boolean, email_notifications),"
                    " updated_at = greatest(updated_at, $8::timestamptz) WHERE id = $1",
                    9, params);
}

wk_result wk_user_update(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out)
{
    char uid[24];
    int ok;
    wk_result r = check_actor(ctx, &cmd->env, NULL, uid, out, &ok);
    if (r != WK_DONE || !ok)
        return r;
    r = update_user_fields(ctx, cmd->payload, uid, cmd->env.issued_at_us);
    return r == WK_DONE ? applied_user(ctx, uid, 200, out) : r;
}

/* ---- user.change_password ---- */

wk_result wk_user_change_password(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out)
{
    char hash[crypto_pwhash_STRBYTES];
    if (wk_password_hash(cmd->payload, hash, sizeof(hash)) != 0)   /* sealed only: credentials.h */
        return WK_POISON;
    char uid[24], ts[40];
    int ok;
    wk_result r = check_actor(ctx, &cmd->env, NULL, uid, out, &ok);
    if (r != WK_DONE || !ok)
        return r;
    wk_timestamp(cmd->env.issued_at_us, ts);
    const char *params[] = {uid, hash, ts};
    r = wk_write(ctx, "user.change_password",
                 "UPDATE users SET password_hash = $2, updated_at = greatest(updated_at, $3::timestamptz) WHERE id = $1",
                 3, params);
    if (r != WK_DONE)
        return r;
    return applied_user(ctx, uid, 200, out);
}

/* ---- priest.update_profile ---- */

wk_result wk_priest_update_profile(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out)
{
    const msgpack_object *p = cmd->payload;
    char *specializations = NULL, *languages = NULL, years[24], radius[24], bio[BIO_MAX_BYTES + 1];
    wk_result r = WK_POISON;
    if (opt_list(p, "specializations", &specializations) || opt_list(p, "languages", &languages) ||
        opt_int(p, "experience_years", 0, 80, years) || opt_int(p, "service_radius_km", 0, 500, radius))
        goto done;
    int has_bio = opt_text(p, "bio", bio, sizeof(bio));
    if (has_bio < 0)
        goto done;
    char uid[24], ts[40];
    int ok;
    r = check_actor(ctx, &cmd->env, "priest", uid, out, &ok);
    if (r != WK_DONE || !ok)
        goto done;
    wk_timestamp(cmd->env.issued_at_us, ts);
    const char *params[] = {uid, specializations, languages, *years ? years : NULL, *radius ? radius : NULL,
                            has_bio ? bio : NULL, ts};
    PGresult *res = wk_exec(
        ctx,
        "UPDATE priest_profiles SET"
        " specializations = CASE WHEN $2::jsonb IS NULL THEN specializations"
        "   ELSE ARRAY(SELECT jsonb_array_elements_text($2::jsonb)) END,"
        " languages = CASE WHEN $3::jsonb IS NULL THEN languages ELSE ARRAY(SELECT jsonb_array_elements_text($3::jsonb)) END,"
        " experience_years = coalesce($4::int, experience_years),"
        " service_radius_km = coalesce($5::int, service_radius_km), bio = coalesce($6, bio),"
        " updated_at = greatest(updated_at, $7::timestamptz) WHERE user_id = $1",
        7, params);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        r = wk_db_failure(ctx, res, "priest.update_profile");
        goto done;
    }
    int updated = strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    if (!updated) {   /* a priest account without a profile: nothing to edit */
        wk_reject(out, "not_found", NULL, "no priest profile for this account");
        r = WK_DONE;
        goto done;
    }
    int stored;
    r = wk_priest_kyc_store(ctx, p, cmd->env.actor_id, cmd->env.issued_at_us, &stored);
    if (r != WK_DONE)
        goto done;
    /* The priest's own view of the profile (me's priest_profile): which
     * KYC fields are on file, never what they hold. */
    json_t *profile = wk_resource(ctx, WK_RES_PRIEST_OWN, cmd->env.actor_id, &r);
    if (profile) {
        wk_applied(out, 200, "priest", json_integer_value(json_object_get(profile, "id")), profile);
        r = WK_DONE;
    }
done:
    free(specializations);
    free(languages);
    return r;
}

/* ---- priest.update_account ---- */

/* The profile part first: it is the one that may be refused (no profile
 * row, a KYC rule), and a refusal is the whole command's — the transaction
 * then commits only the rejection, so the user fields are not applied
 * either. Poison anywhere (either part) rolls back both. */
wk_result wk_priest_update_account(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out)
{
    const msgpack_object *user = pk_mp_get(cmd->payload, "user");
    const msgpack_object *profile = pk_mp_get(cmd->payload, "profile");
    user_fields checked;   /* before anything is written */
    if (!user || user->type != MSGPACK_OBJECT_MAP || !profile || profile->type != MSGPACK_OBJECT_MAP ||
        read_user_fields(user, &checked) != 0)
        return WK_POISON;
    pk_envelope_decoded part = *cmd;
    part.payload = profile;
    wk_result r = wk_priest_update_profile(ctx, &part, out);
    if (r != WK_DONE || wk_rejected(out))
        return r;
    char uid[24];
    snprintf(uid, sizeof(uid), "%lld", (long long)cmd->env.actor_id);   /* the actor check_actor accepted */
    r = update_user_fields(ctx, user, uid, cmd->env.issued_at_us);
    return r == WK_DONE ? applied_user(ctx, uid, 200, out) : r;
}

/* ---- user.create_admin ---- */

/* The one wording of a taken username or email, whether the pre-check or
 * the unique index found it. */
static void reject_taken(wk_outcome *out, bool by_email)
{
    if (by_email)
        wk_reject(out, "email_taken", "email", "a user with that email already exists");
    else
        wk_reject(out, "username_taken", "username", "a user with that username already exists");
}

wk_result wk_check_account_free(wk_ctx *ctx, const char *username, const char *email, wk_outcome *out)
{
    bool taken = false;
    wk_result res = wk_row_exists(ctx, "username check", "SELECT 1 FROM users WHERE lower(username) = lower($1)",
                                  username, &taken);
    if (res == WK_DONE && taken) {
        reject_taken(out, false);
        return WK_DONE;
    }
    if (res == WK_DONE)
        res = wk_row_exists(ctx, "email check", "SELECT 1 FROM users WHERE lower(email) = lower($1)", email, &taken);
    if (res == WK_DONE && taken)
        reject_taken(out, true);
    return res;
}

wk_result wk_user_inserted(wk_ctx *ctx, PGresult *res, const char *what, wk_outcome *out, char uid[24])
{
    uid[0] = '\0';
    if (PQresultStatus(res) == PGRES_TUPLES_OK) {
        snprintf(uid, 24, "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        return WK_DONE;
    }
    if (!wk_sqlstate_is(res, "23505"))
        return wk_db_failure(ctx, res, what);
    /* Should the partition order ever be bypassed, the index still decides. */
    const char *constraint = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
    bool by_email = constraint && strstr(constraint, "email");
    PQclear(res);
    reject_taken(out, by_email);
    return WK_DONE;
}

wk_result wk_user_create_admin(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out)
{
    /* Only punyaka-admin speaks as "system"; the API's actors are
     * customer|priest|admin or anonymous "", so no HTTP request reaches this. */
    if (strcmp(cmd->env.actor_role, "system") != 0) {
        wk_reject(out, "forbidden", NULL, "admins are created only with punyaka-admin");
        return WK_DONE;
    }
    char username[160], email[260], hash[crypto_pwhash_STRBYTES];
    if (wk_field_str(cmd->payload, "username", username, sizeof(username)) != WK_FIELD_SET ||
        wk_field_str(cmd->payload, "email", email, sizeof(email)) != WK_FIELD_SET ||
        wk_password_hash(cmd->payload, hash, sizeof(hash)) || pk_check_username(username) || pk_check_email(email))
        return WK_POISON;
    wk_result free_res = wk_check_account_free(ctx, username, email, out);
    if (free_res != WK_DONE || wk_rejected(out))
        return free_res;
    char ts[40], replay[24];
    wk_timestamp(cmd->env.issued_at_us, ts);
    const char *params[] = {username, email, hash, ts, wk_new_id(ctx, "user", replay)};
    PGresult *res = wk_exec(ctx,
                            "INSERT INTO users (id, username, email, password_hash, role, created_at, updated_at)"
                            " VALUES (" WK_NEW_ID("$5", "users") ", $1, $2, $3, 'admin', $4, $4) RETURNING id",
                            5, params);
    char uid[24];
    wk_result inserted = wk_user_inserted(ctx, res, "user.create_admin", out, uid);
    if (inserted != WK_DONE || wk_rejected(out))
        return inserted;
    wk_created(out, "user", strtoll(uid, NULL, 10));
    return applied_user(ctx, uid, 201, out);
}
