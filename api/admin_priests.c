/* admin_priests.c — the admin's priest queue and decisions:
 *   GET  /api/admin/priests/?verified=false   profiles with KYC masked (last 4): the
 *        admin's priest shape (common/shapes.h, also the priest.verify
 *        outcome) plus `kyc`, which only the API can open
 *   POST /api/admin/priests/{id}/verify/      {verified, notes} ⇒ priest.verify
 *   POST /api/admin/priests/{id}/kyc/         the full KYC, only after a
 *        priest.kyc_reveal command recorded who looked (workers/kyc_audit.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "api/command.h"
#include "api/http.h"
#include "api/kyc.h"
#include "api/pg.h"
#include "api/query.h"
#include "api/reads.h"
#include "api/routes.h"
#include "api/users.h"
#include "common/mp.h"
#include "common/validate.h"

static const char *const KYC_KEYS[] = {"aadhaar_number", "pan_number", "bank_account_number", "bank_ifsc_code"};

#define KYC_HEX_SQL(p)                                                                                         \
    "json_build_object('aadhaar_number', encode(" p ".aadhaar_enc, 'hex'), 'pan_number', encode(" p           \
    ".pan_enc, 'hex'), 'bank_account_number', encode(" p ".bank_account_enc, 'hex'), 'bank_ifsc_code', encode(" p \
    ".bank_ifsc_enc, 'hex'))"

/* Replaces each hex blob of kyc{} by its opened value (masked or not). */
static void open_kyc(json_t *kyc, bool masked)
{
    for (size_t i = 0; i < sizeof(KYC_KEYS) / sizeof(KYC_KEYS[0]); i++) {
        const char *hex = json_string_value(json_object_get(kyc, KYC_KEYS[i]));
        unsigned char blob[128];
        size_t len = 0;
        if (!hex || sodium_hex2bin(blob, sizeof(blob), hex, strlen(hex), NULL, &len, NULL) != 0)
            len = 0;
        json_object_set_new(kyc, KYC_KEYS[i], api_kyc_show(len ? blob : NULL, len, masked));
    }
}

/* Both queries here answer in one row (the list: count and page; the
 * reveal: the blobs). Whether res is that row; when not, the waiting
 * request is answered 503. */
static bool one_row_or_503(h2o_req_t *req, const PGresult *res, const char *err)
{
    if (err || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        api_reply_db_unavailable(req);
        return false;
    }
    return true;
}

typedef struct {
    api_async async;
    api_page page;
} list_ctx;

static void on_list(void *ctx, const PGresult *res, const char *err)
{
    list_ctx *l = ctx;
    h2o_req_t *req = l->async.req;
    if (req && one_row_or_503(req, res, err)) {
        json_error_t e;
        json_t *results = json_loads(PQgetvalue(res, 0, 1), 0, &e);
        size_t i;
        json_t *item;
        json_array_foreach(results, i, item) open_kyc(json_object_get(item, "kyc"), true);
        char *text = json_dumps(results ? results : json_array(), JSON_COMPACT);
        api_reply_page(req, &l->page, strtoll(PQgetvalue(res, 0, 0), NULL, 10), text);
        free(text);
        json_decref(results);
    }
    api_async_free(&l->async);
}

int api_admin_priests_list(h2o_req_t *req, const api_match *m)
{
    (void)m;
    char verified[6];
    api_page page;
    if (api_query_bool_or_reply(req, "verified", verified) || api_page_or_reply(req, &page))
        return 0;
    list_ctx *l = api_async_new(req, sizeof(*l));
    l->page = page;
    char limit[24], offset[24];
    snprintf(limit, sizeof(limit), "%lld", (long long)page.size);
    snprintf(offset, sizeof(offset), "%lld", (long long)page.offset);
    const char *params[] = {verified, limit, offset};
    if (api_pg_query(api_thread_of(req)->pg,
                     "WITH f AS (SELECT p.id, p.created_at FROM priest_profiles p"
                     "  WHERE $1 = '' OR p.is_verified = ($1 = 'true')),"
                     " pg AS (SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM f"
                     "  ORDER BY created_at, id LIMIT $2::bigint OFFSET $3::bigint)"
                     " SELECT (SELECT count(*) FROM f), coalesce((SELECT json_agg(json_build_object("
                     PK_PRIEST_ADMIN_FIELDS("p", "u") ", 'kyc', " KYC_HEX_SQL("p") ") ORDER BY pg.n)"
                     "  FROM pg JOIN priest_profiles p ON p.id = pg.id JOIN users u ON u.id = p.user_id), '[]')::text",
                     3, params, on_list, l) != 0) {
        api_reply_problem(req, 503, "overloaded", "Service unavailable", NULL, NULL);
        api_async_free(&l->async);
    }
    return 0;
}

static void submit_priest_command(h2o_req_t *req, const api_match *m, const char *type, const msgpack_sbuffer *sb,
                                  api_applied_hook hook)
{
    api_command cmd = {.type = type, .key_ids = {.priest_id = api_param_id(m, 0)}, .actor_id = m->session->user_id,
                       .actor_role = m->session->role, .payload = sb, .on_applied = hook};
    api_command_submit(req, &cmd);
}

int api_admin_priest_verify(h2o_req_t *req, const api_match *m)
{
    json_t *body = api_json_body_or_reply(req);
    if (!body)
        return 0;
    json_t *verified = json_object_get(body, "verified"), *notes = json_object_get(body, "notes");
    if (!json_is_boolean(verified)) {
        api_reply_field_error(req, "verified", "must be true or false");
    } else if (notes && !json_is_null(notes) &&
               (!json_is_string(notes) || pk_check_text(json_string_value(notes), 2000))) {
        api_reply_field_error(req, "notes", "must be text of at most 2000 bytes");
    } else {
        msgpack_sbuffer sb;
        msgpack_packer pk;
        pk_mp_start_map(&sb, &pk, 3);
        pk_mp_kv_i64(&pk, "priest_id", api_param_id(m, 0));
        pk_mp_kv_bool(&pk, "verified", json_is_true(verified));
        pk_mp_kv_str(&pk, "notes", json_is_string(notes) ? json_string_value(notes) : "");
        submit_priest_command(req, m, "priest.verify", &sb, NULL);
        msgpack_sbuffer_destroy(&sb);
    }
    json_decref(body);
    return 0;
}

/* ---- the audited reveal ---- */

typedef struct {
    api_async async;
    int64_t priest_id;
} reveal_ctx;

static void on_blobs(void *ctx, const PGresult *res, const char *err)
{
    reveal_ctx *r = ctx;
    h2o_req_t *req = r->async.req;
    if (req && one_row_or_503(req, res, err)) {
        json_error_t e;
        json_t *kyc = json_loads(PQgetvalue(res, 0, 0), 0, &e);
        open_kyc(kyc, false);
        json_object_set_new(kyc, "priest_id", json_integer(r->priest_id));
        api_reply_json(req, 200, kyc);
    }
    api_async_free(&r->async);
}

static void on_reveal_recorded(h2o_req_t *req, json_t *resource, int status, void *data)
{
    (void)status;
    (void)data;
    reveal_ctx *r = api_async_new(req, sizeof(*r));
    r->priest_id = json_integer_value(json_object_get(resource, "priest_id"));
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)r->priest_id);
    const char *params[] = {id};
    if (api_pg_query(api_thread_of(req)->pg, "SELECT " KYC_HEX_SQL("p") "::text FROM priest_profiles p WHERE p.id = $1",
                     1, params, on_blobs, r) != 0) {
        api_reply_problem(req, 503, "overloaded", "Service unavailable", NULL, NULL);
        api_async_free(&r->async);
    }
}

int api_admin_priest_kyc(h2o_req_t *req, const api_match *m)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    pk_mp_start_map(&sb, &pk, 1);
    pk_mp_kv_i64(&pk, "priest_id", api_param_id(m, 0));
    submit_priest_command(req, m, "priest.kyc_reveal", &sb, on_reveal_recorded);
    msgpack_sbuffer_destroy(&sb);
    return 0;
}
