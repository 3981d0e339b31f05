/* users.h — how a user is shown by the API, built by PostgreSQL itself
 * (json_build_object) so the read path copies one text column to the wire.
 * Never includes the password hash or KYC data. Use as
 *   "SELECT u.id, u.role, u.is_active, u.password_hash, " API_USER_JSON " FROM users u "
 *   API_USER_JOINS " WHERE …". */
#ifndef PUNYAKA_API_USERS_H
#define PUNYAKA_API_USERS_H

#define API_TIMESTAMP_SQL(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

#define API_USER_JSON                                                                                        \
    "json_build_object('id', u.id, 'username', u.username, 'email', u.email, 'first_name', u.first_name,"    \
    " 'last_name', u.last_name, 'role', u.role, 'phone', u.phone, 'address', u.address,"                     \
    " 'date_of_birth', u.date_of_birth, 'time_of_birth', to_char(u.time_of_birth, 'HH24:MI'),"               \
    " 'place_of_birth', u.place_of_birth, 'is_active', u.is_active,"                                         \
    " 'created_at', " API_TIMESTAMP_SQL("u.created_at") ","                                                  \
    " 'priest_profile', CASE WHEN p.id IS NULL THEN NULL ELSE json_build_object('id', p.id,"                 \
    " 'specializations', p.specializations, 'languages', p.languages, 'experience_years', p.experience_years," \
    " 'service_radius_km', p.service_radius_km, 'bio', p.bio, 'is_verified', p.is_verified,"                 \
    " 'average_rating', p.average_rating::text, 'total_ratings', p.rating_count) END)::text"

#define API_USER_JOINS " LEFT JOIN priest_profiles p ON p.user_id = u.id"

#include <stdint.h>
#include <h2o.h>
#include <jansson.h>

/* {"user": <user_json>, "csrf_token": csrf} — what login and register answer
 * (the seed's {user, message} shape plus the token). */
void api_reply_user_with_csrf(h2o_req_t *req, int status, const char *user_json, const char *csrf);

/* The caller's own account (GET /api/auth/me/ shape, with csrf_token). */
void api_reply_me(h2o_req_t *req, int64_t user_id, const char *csrf);
/* The same right after a command changed the account: when PostgreSQL
 * cannot be read, `applied` (the outcome's resource, copied) is the answer
 * instead of a 503 — the change happened, and a 503 would say it did not. */
void api_reply_me_applied(h2o_req_t *req, int64_t user_id, const char *csrf, const json_t *applied);

/* A priest's specializations or languages (a JSON array): at most
 * PK_LIST_MAX_ITEMS strings, each passing pk_check_list_item — the rule the
 * worker applies. NULL when acceptable, else the message. (api/auth.c) */
const char *api_check_string_list(json_t *items);

#endif
