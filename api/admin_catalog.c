/* admin_catalog.c — the admin runs the shop's catalog, all through commands
 * on topic "catalog" (schemas/commands/shop.md has the payloads and keys):
 *   POST  /api/admin/categories/             category.create   key: the slug
 *   PATCH /api/admin/categories/{id}/        category.update   key: the id
 *   POST  /api/admin/products/               product.create    key: the slug
 *   PATCH /api/admin/products/{id}/          product.update    key: the id
 *   POST  /api/admin/products/{id}/stock/    stock.adjust      key: the id   {delta, reason}
 *   POST  /api/admin/products/{id}/kit/      product.set_kit   key: the id   {components}
 *
 * Everything the API can judge alone is judged before publishing, answered
 * 422 naming each bad field, so a bad request never reaches the log: types,
 * lengths, slugs, money ("1500.00" ⇒ paise), ranges, the discount below the
 * price when both are sent. What needs the database (slug taken, parent
 * cycle, unknown category, kit rules, stock below zero) the worker decides
 * and the answer carries its reason code.
 *
 * Stock is never patched: it changes only by stock.adjust (a delta with a
 * reason, recorded as a movement), or at product creation (initial stock).
 * Deactivating (is_active false) is an update; nothing is ever deleted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api/command.h"
#include "api/http.h"
#include "api/routes.h"
#include "api/shop.h"
#include "common/json_util.h"
#include "common/mp.h"
#include "common/validate.h"

/* ---- field rules: one table per resource ---- */

/* F_LINE: single-line text (pk_check_line), F_TEXT: multi-line (pk_check_text). */
typedef enum { F_TEXT, F_LINE, F_SLUG, F_INT, F_BOOL, F_MONEY, F_TYPE } field_type;

typedef struct {
    const char *name;    /* in the JSON body */
    const char *alias;   /* also accepted (the seed's / the worker's name), or NULL */
    const char *wire;    /* in the command payload */
    field_type type;
    bool nullable;       /* JSON null (and "" for text) clears it */
    int64_t min, max;    /* text: bytes; int: value */
} field_rule;

typedef struct {
    bool present, is_null, b;
    const char *s;
    int64_t i;
} field_value;

#define MAX_FIELDS 12

static const field_rule CATEGORY_FIELDS[] = {
    {"name", NULL, "name", F_LINE, false, 1, 255},
    {"slug", NULL, "slug", F_SLUG, false, 1, SHOP_SLUG_MAX},
    {"description", NULL, "description", F_TEXT, false, 0, 8191},
    {"parent", "parent_id", "parent_id", F_INT, true, 1, INT64_MAX},
    {"is_active", NULL, "is_active", F_BOOL, false, 0, 0},
    {"sort_order", NULL, "sort_order", F_INT, false, -1000000, 1000000},
};

static const field_rule PRODUCT_FIELDS[] = {
    {"slug", NULL, "slug", F_SLUG, false, 1, SHOP_SLUG_MAX},
    {"name", NULL, "name", F_LINE, false, 1, 255},
    {"description", NULL, "description", F_TEXT, false, 0, 8191},
    {"product_type", NULL, "product_type", F_TYPE, false, 1, 16},
    {"category", "category_id", "category_id", F_INT, true, 1, INT64_MAX},
    {"price", NULL, "price", F_MONEY, false, 0, MONEY_MAX_PAISE},
    {"discount_price", NULL, "discount_price", F_MONEY, true, 0, MONEY_MAX_PAISE},
    {"is_active", NULL, "is_active", F_BOOL, false, 0, 0},
    {"is_featured", NULL, "is_featured", F_BOOL, false, 0, 0},
    {"image", NULL, "image", F_LINE, true, 1, 1023},
    {"stock", NULL, "stock", F_INT, false, 0, 1000000000},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))


static const char *check_text(const field_rule *r, json_t *v, field_value *out)
{
    if (!json_is_string(v))
        return "must be a string";
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (r->type == F_SLUG && !shop_slug_valid(s))
        return "must be 1-100 characters of a-z, 0-9, _ and -, not all digits";
    if (r->type == F_TYPE && strcmp(s, "samagri") && strcmp(s, "gift") && strcmp(s, "kit") && strcmp(s, "other"))
        return "must be samagri, gift, kit or other";
    const char *why = strlen(s) != len     ? "contains control characters"
                      : r->type == F_LINE ? pk_check_line(s, (size_t)r->max)
                                          : pk_check_text(s, (size_t)r->max);
    if ((int64_t)len < r->min || (int64_t)len > r->max || why)
        return why && strcmp(why, "is too long") != 0 ? why
               : r->min ? "must be non-empty text without control characters, not too long"
                        : "must be text without control characters, not too long";
    out->s = s;
    return NULL;
}

static const char *check_value(const field_rule *r, json_t *v, field_value *out)
{
    money_err why = MONEY_OK;
    switch (r->type) {
    case F_BOOL:
        out->b = json_is_true(v);
        return json_is_boolean(v) ? NULL : "must be true or false";
    case F_INT:
        out->i = json_integer_value(v);
        return json_is_integer(v) && out->i >= r->min && out->i <= r->max ? NULL : "must be an integer in range";
    case F_MONEY: {
        json_t *wrap = json_pack("{s:O}", "v", v);
        int rc = pk_json_get_money(wrap, "v", &out->i, &why);
        json_decref(wrap);
        return rc == 0 ? NULL : why != MONEY_OK ? money_strerror(why) : "must be a decimal string like \"150.00\"";
    }
    default:
        return check_text(r, v, out);
    }
}

/* Reads every rule's field that the body has (name, else alias). */
static void read_fields(json_t *body, const field_rule *rules, size_t n, field_value *vals, json_t *errors)
{
    for (size_t k = 0; k < n; k++) {
        const field_rule *r = &rules[k];
        json_t *v = json_object_get(body, r->name);
        if (!v && r->alias)
            v = json_object_get(body, r->alias);
        vals[k] = (field_value){0};
        if (!v)
            continue;
        vals[k].present = true;
        if (json_is_null(v) || (r->nullable && json_is_string(v) && json_string_length(v) == 0)) {
            vals[k].is_null = true;
            if (!r->nullable)
                api_field_error(errors, r->name, "may not be null");
            continue;
        }
        const char *msg = check_value(r, v, &vals[k]);
        if (msg)
            api_field_error(errors, r->name, msg);
    }
}

static const field_value *value_of(const field_rule *rules, size_t n, const field_value *vals, const char *name)
{
    for (size_t k = 0; k < n; k++)
        if (strcmp(rules[k].name, name) == 0)
            return &vals[k];
    return NULL;
}

static void require(const field_rule *rules, size_t n, const field_value *vals, json_t *errors,
                    const char *const *names)
{
    for (; *names; names++)
        if (!value_of(rules, n, vals, *names)->present)
            api_field_error(errors, *names, "this field is required");
}

static size_t count_present(const field_value *vals, size_t n)
{
    size_t c = 0;
    for (size_t k = 0; k < n; k++)
        c += vals[k].present;
    return c;
}

static void pack_fields(msgpack_packer *pk, const field_rule *rules, size_t n, const field_value *vals)
{
    for (size_t k = 0; k < n; k++) {
        if (!vals[k].present)
            continue;
        if (vals[k].is_null)
            pk_mp_kv_nil(pk, rules[k].wire);
        else if (rules[k].type == F_BOOL)
            pk_mp_kv_bool(pk, rules[k].wire, vals[k].b);
        else if (rules[k].type == F_INT || rules[k].type == F_MONEY)
            pk_mp_kv_i64(pk, rules[k].wire, vals[k].i);
        else
            pk_mp_kv_str(pk, rules[k].wire, vals[k].s);
    }
}

/* ---- publishing ---- */

static void reply_errors(h2o_req_t *req, json_t *errors)
{
    api_reply_problem(req, 422, "validation_error", "Invalid request", "some fields are invalid", errors);
}

/* ids: the command's identifiers; commands.def picks its key among them. */
static void submit(h2o_req_t *req, const api_match *m, const char *type, pk_command_key_ids ids,
                   const msgpack_sbuffer *sb)
{
    api_command cmd = {.type = type, .key_ids = ids, .actor_id = m->session->user_id,
                       .actor_role = m->session->role, .payload = sb};
    api_command_submit(req, &cmd);
}

/* Create (id 0) or update (id: the row's, also in ids) from a rule table;
 * the slug, when sent, is one more identifier (creates are keyed by it). */
static void submit_fields(h2o_req_t *req, const api_match *m, const char *type, int64_t id, pk_command_key_ids ids,
                          const field_rule *rules, size_t n, const field_value *vals)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    pk_mp_start_map(&sb, &pk, count_present(vals, n) + (id > 0));
    if (id > 0)
        pk_mp_kv_i64(&pk, "id", id);
    pack_fields(&pk, rules, n, vals);
    const field_value *slug = value_of(rules, n, vals, "slug");
    ids.slug = slug->present && !slug->is_null ? slug->s : NULL;
    submit(req, m, type, ids, &sb);
    msgpack_sbuffer_destroy(&sb);
}

/* Validates a create (required names) or an update (at least one field),
 * then publishes, or answers 422. `extra` adds resource-specific checks. */
typedef void (*extra_check)(const field_value *vals, int is_create, json_t *errors);

static int write_resource(h2o_req_t *req, const api_match *m, const char *type, int is_create, pk_command_key_ids ids,
                          const field_rule *rules, size_t n, const char *const *required, extra_check extra)
{
    json_t *body = api_json_body_or_reply(req);
    if (!body)
        return 0;
    json_t *errors = json_object();
    field_value vals[MAX_FIELDS];
    read_fields(body, rules, n, vals, errors);
    if (is_create)
        require(rules, n, vals, errors, required);
    else if (!count_present(vals, n) && !json_object_size(errors))
        api_field_error(errors, "non_field_errors", "send at least one field to change");
    if (extra)
        extra(vals, is_create, errors);
    if (json_object_size(errors)) {
        reply_errors(req, errors);
    } else {
        json_decref(errors);
        submit_fields(req, m, type, is_create ? 0 : api_param_id(m, 0), ids, rules, n, vals);
    }
    json_decref(body);
    return 0;
}

/* ---- categories ---- */

int api_admin_categories_create(h2o_req_t *req, const api_match *m)
{
    static const char *const required[] = {"name", "slug", NULL};
    return write_resource(req, m, "category.create", 1, (pk_command_key_ids){0}, CATEGORY_FIELDS, N(CATEGORY_FIELDS),
                          required, NULL);
}

int api_admin_categories_update(h2o_req_t *req, const api_match *m)
{
    return write_resource(req, m, "category.update", 0, (pk_command_key_ids){.category_id = api_param_id(m, 0)},
                          CATEGORY_FIELDS, N(CATEGORY_FIELDS), NULL, NULL);
}

/* ---- products ---- */

enum { P_TYPE = 3, P_PRICE = 5, P_DISCOUNT = 6, P_STOCK = 10 };   /* indexes into PRODUCT_FIELDS */

static void product_checks(const field_value *v, int is_create, json_t *errors)
{
    if (!is_create && v[P_STOCK].present)
        api_field_error(errors, "stock", "stock is not patched: POST /api/admin/products/{id}/stock/ {delta, reason}");
    if (is_create && v[P_STOCK].present && !v[P_STOCK].is_null && v[P_STOCK].i > 0 && v[P_TYPE].present &&
        v[P_TYPE].s && strcmp(v[P_TYPE].s, "kit") == 0)
        api_field_error(errors, "stock", "a kit's stock is derived from its components; leave it out");
    if (v[P_PRICE].present && v[P_DISCOUNT].present && !v[P_DISCOUNT].is_null && !json_object_get(errors, "price") &&
        v[P_DISCOUNT].i >= v[P_PRICE].i)
        api_field_error(errors, "discount_price", "must be below the price");
}

int api_admin_products_create(h2o_req_t *req, const api_match *m)
{
    static const char *const required[] = {"slug", "name", "price", NULL};
    return write_resource(req, m, "product.create", 1, (pk_command_key_ids){0}, PRODUCT_FIELDS, N(PRODUCT_FIELDS),
                          required, product_checks);
}

int api_admin_products_update(h2o_req_t *req, const api_match *m)
{
    return write_resource(req, m, "product.update", 0, (pk_command_key_ids){.product_id = api_param_id(m, 0)},
                          PRODUCT_FIELDS, N(PRODUCT_FIELDS), NULL, product_checks);
}

/* ---- stock.adjust ---- */

int api_admin_products_stock(h2o_req_t *req, const api_match *m)
{
    json_t *body = api_json_body_or_reply(req);
    if (!body)
        return 0;
    json_t *errors = json_object();
    int64_t delta = 0;
    const char *reason = NULL;
    if (pk_json_get_int(body, "delta", &delta) != 0 || delta == 0 || delta < -1000000 || delta > 1000000)
        api_field_error(errors, "delta", "must be a non-zero integer from -1000000 to 1000000");
    if (pk_json_get_str(body, "reason", &reason) != 0 || !*reason || strlen(reason) > 255 || pk_check_text(reason, 255))
        api_field_error(errors, "reason", "must be text of 1 to 255 bytes");
    if (json_object_size(errors)) {
        reply_errors(req, errors);
    } else {
        json_decref(errors);
        msgpack_sbuffer sb;
        msgpack_packer pk;
        pk_mp_start_map(&sb, &pk, 3);
        pk_mp_kv_i64(&pk, "product_id", api_param_id(m, 0));
        pk_mp_kv_i64(&pk, "delta", delta);
        pk_mp_kv_str(&pk, "reason", reason);
        submit(req, m, "stock.adjust", (pk_command_key_ids){.product_id = api_param_id(m, 0)}, &sb);
        msgpack_sbuffer_destroy(&sb);
    }
    json_decref(body);
    return 0;
}

/* ---- product.set_kit ---- */

/* NULL when components is a valid composition for kit `kit_id`. */
static const char *check_components(json_t *components, int64_t kit_id)
{
    if (!json_is_array(components) || json_array_size(components) > SHOP_KIT_MAX_COMPONENTS)
        return "must be a list of at most 20 {product_id, quantity}";
    size_t i, j;
    json_t *c;
    json_array_foreach(components, i, c) {
        int64_t pid, qty;
        if (pk_json_get_int(c, "product_id", &pid) != 0 || pid < 1)
            return "each needs an integer product_id";
        if (pk_json_get_int(c, "quantity", &qty) != 0 || !shop_qty_valid(qty))
            return "each needs an integer quantity from 1 to 99";
        if (pid == kit_id)
            return "a kit cannot contain itself";
        for (j = 0; j < i; j++) {
            int64_t other = 0;
            pk_json_get_int(json_array_get(components, j), "product_id", &other);
            if (other == pid)
                return "each product at most once";
        }
    }
    return NULL;
}

int api_admin_products_kit(h2o_req_t *req, const api_match *m)
{
    json_t *body = api_json_body_or_reply(req);
    if (!body)
        return 0;
    json_t *components = json_object_get(body, "components");
    const char *msg = check_components(components, api_param_id(m, 0));
    if (msg) {
        api_reply_field_error(req, "components", msg);
        json_decref(body);
        return 0;
    }
    msgpack_sbuffer sb;
    msgpack_packer pk;
    pk_mp_start_map(&sb, &pk, 2);
    pk_mp_kv_i64(&pk, "kit_id", api_param_id(m, 0));
    pk_mp_pack_cstr(&pk, "components");
    msgpack_pack_array(&pk, json_array_size(components));
    size_t i;
    json_t *c;
    json_array_foreach(components, i, c) {
        msgpack_pack_map(&pk, 2);
        pk_mp_kv_i64(&pk, "product_id", json_integer_value(json_object_get(c, "product_id")));
        pk_mp_kv_i64(&pk, "quantity", json_integer_value(json_object_get(c, "quantity")));
    }
    submit(req, m, "product.set_kit", (pk_command_key_ids){.product_id = api_param_id(m, 0)}, &sb);
    msgpack_sbuffer_destroy(&sb);
    json_decref(body);
    return 0;
}
