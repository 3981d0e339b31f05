/* catalog.c — the catalog family: category.create/update, product.create/
 * update, product.set_kit, stock.adjust. Admin only (`forbidden` else).
 *
 * Topic "catalog", key = the entity id as decimal text; creates have no id
 * yet and use the slug, so two creates of one slug apply one after the
 * other and the second meets `slug_taken` (the unique index decides should
 * anything bypass that order).
 *
 * Updates are partial: a key that is absent keeps the stored value; nil
 * clears the nullable ones (parent_id, category_id, discount_price, image).
 * Stock changes only through stock.adjust (and checkout/cancel), each with
 * a stock_movements row; a product's initial stock is recorded the same way.
 * A kit's stock is derived from its components, so a kit's own stock column
 * stays 0, and a product never turns into or out of a kit (that would
 * strand kit_components rows or nest kits).
 *
 * Every step returns a wk_result: WK_DONE goes on unless wk_rejected(out);
 * a failed statement answers with its class from wk_db_failure (db.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/money.h"
#include "common/mp.h"
#include "common/shop_rules.h"
#include "workers/db.h"
#include "workers/resource.h"
#include "workers/shop.h"
#include "workers/worker.h"

#define NAME_CAP 256
#define DESCRIPTION_CAP 8192
#define IMAGE_CAP 1024
#define STOCK_MAX 1000000000        /* stock is an int column; adjustments keep far below it */
#define STOCK_DELTA_MAX 1000000
#define SORT_ORDER_MAX 1000000

/* A present field that is nil where nil means nothing: malformed. */
static bool bad(wk_field_status f)
{
    return f == WK_FIELD_BAD;
}

static bool bad_or_null(wk_field_status f)
{
    return f == WK_FIELD_BAD || f == WK_FIELD_NULL;
}

/* Rejects with slug_taken when a row of `sql` ($1 = slug) exists. */
static wk_result check_slug_free(wk_ctx *ctx, const char *sql, const char *slug, wk_outcome *out)
{
    bool taken = false;
    wk_result res = wk_row_exists(ctx, "slug check", sql, slug, &taken);
    if (res == WK_DONE && taken)
        wk_reject(out, "slug_taken", "slug", "that slug is already in use");
    return res;
}

/* A write failed: a unique violation (on the slug — someone got there
 * first) is the business answer slug_taken; anything else is classified. */
static wk_result write_failed(wk_ctx *ctx, PGresult *r, const char *what, wk_outcome *out)
{
    if (!wk_sqlstate_is(r, "23505"))
        return wk_db_failure(ctx, r, what);
    PQclear(r);
    wk_reject(out, "slug_taken", "slug", "that slug is already in use");
    return WK_DONE;
}

/* ===================================================================== */
/* categories                                                             */
/* ===================================================================== */

typedef struct {
    char name[NAME_CAP], slug[SHOP_SLUG_MAX + 1], description[DESCRIPTION_CAP];
    bool has_parent, is_active;
    int64_t parent_id, sort_order;
} category_fields;

/* Lays the payload's fields over `c` (defaults or the stored row). */
static int overlay_category(const msgpack_object *p, category_fields *c)
{
    if (!wk_field_keys_distinct(p))
        return -1;
    wk_field_status parent = wk_field_int(p, "parent_id", 1, INT64_MAX, &c->parent_id);
    wk_field_status slug = wk_field_text(p, "slug", 1, c->slug, sizeof(c->slug));
    if (bad_or_null(wk_field_line(p, "name", 1, c->name, sizeof(c->name))) || bad_or_null(slug) ||
        (slug == WK_FIELD_SET && !shop_slug_valid(c->slug)) ||
        bad_or_null(wk_field_text(p, "description", 0, c->description, sizeof(c->description))) || bad(parent) ||
        bad_or_null(wk_field_bool(p, "is_active", &c->is_active)) ||
        bad_or_null(wk_field_int(p, "sort_order", -SORT_ORDER_MAX, SORT_ORDER_MAX, &c->sort_order)))
        return -1;
    if (parent != WK_FIELD_ABSENT)
        c->has_parent = parent == WK_FIELD_SET;
    return 0;
}

/* The category as the API shows it (PK_CATEGORY_JSON, resource.h). */
static wk_result applied_category(wk_ctx *ctx, int64_t id, int http_status, wk_outcome *out)
{
    return wk_applied_resource(ctx, out, http_status, WK_RES_CATEGORY, id, id);
}

/* A new parent must exist and must not be the category or one of its
 * descendants. Tree changes are serialized by a transaction-scoped advisory
 * lock: two moves checked concurrently could otherwise close a cycle. */
static wk_result check_parent(wk_ctx *ctx, int64_t self_id, int64_t parent_id, wk_outcome *out)
{
    wk_result fail = WK_DONE;
    PGresult *r = wk_query(ctx, "category tree lock",
                           "SELECT pg_advisory_xact_lock(hashtext('punyaka.categories.tree'))", 0, NULL, &fail);
    if (!r)
        return fail;
    PQclear(r);
    char self[24], parent[24];
    wf_itoa(self_id, self);
    wf_itoa(parent_id, parent);
    const char *params[] = {parent, self};
    r = wk_query(ctx, "category ancestors",
                 "WITH RECURSIVE up(id, parent_id, depth) AS ("
                 "  SELECT id, parent_id, 0 FROM categories WHERE id = $1"
                 "  UNION ALL SELECT c.id, c.parent_id, up.depth + 1"
                 "  FROM categories c JOIN up ON c.id = up.parent_id"
                 "  WHERE up.depth < 1000)"
                 " SELECT count(*), count(*) FILTER (WHERE id = $2::bigint) FROM up",
                 2, params, &fail);
    if (!r)
        return fail;
    int found = wf_col_i64(r, 0, 0) > 0, cycle = wf_col_i64(r, 0, 1) > 0;
    PQclear(r);
    if (!found || cycle)
        wk_reject(out, "invalid_parent", "parent_id",
                  found ? "a category cannot be placed under itself or its own sub-category" : "no such category");
    return WK_DONE;
}

static wk_result insert_category(wk_ctx *ctx, const category_fields *c, wk_outcome *out)
{
    char parent[24], sort[24], replay[24];
    wf_itoa(c->parent_id, parent);
    wf_itoa(c->sort_order, sort);
    const char *params[] = {c->name, c->slug, c->description, c->has_parent ? parent : NULL,
                            c->is_active ? "true" : "false", sort, wk_new_id(ctx, "category", replay)};
    PGresult *r = wk_exec(ctx,
                          "INSERT INTO categories (id, name, slug, description, parent_id, is_active, sort_order)"
                          " VALUES (" WK_NEW_ID("$7", "categories") ", $1, $2, $3, $4, $5, $6) RETURNING id",
                          7, params);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return write_failed(ctx, r, "insert category", out);
    int64_t id = wf_col_i64(r, 0, 0);
    PQclear(r);
    wk_created(out, "category", id);
    return applied_category(ctx, id, 201, out);
}

wk_result wk_category_create(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out)
{
    category_fields c = {.is_active = true};
    if (overlay_category(cmd->payload, &c) != 0 || !c.name[0] || !c.slug[0])
        return WK_POISON;
    wk_result res = wf_require_admin_for(ctx, cmd, out, WK_SHOP_ADMIN_ONLY);
    if (res == WK_DONE && !wk_rejected(out))
        res = check_slug_free(ctx, "SELECT 1 FROM categories WHERE slug = $1", c.slug, out);
    if (res == WK_DONE && !wk_rejected(out) && c.has_parent)
        res = check_parent(ctx, 0, c.parent_id, out);
    if (res != WK_DONE || wk_rejected(out))
        return res;
    return insert_category(ctx, &c, out);
}

/* Locks the row and loads it into `c`; rejects not_found when missing. */
static wk_result lock_category(wk_ctx *ctx, int64_t id, category_fields *c, wk_outcome *out)
{
    char text[24];
    wf_itoa(id, text);
    const char *params[] = {text};
    wk_result fail = WK_DONE;
    PGresult *r = wk_query(ctx, "lock category",
                           "SELECT name, slug, description, parent_id, is_active, sort_order"
                           " FROM categories WHERE id = $1 FOR UPDATE",
                           1, params, &fail);
    if (!r)
        return fail;
    if (PQntuples(r) != 1) {
        wk_reject(out, "not_found", NULL, "no such category");
    } else {
        snprintf(c->name, sizeof(c->name), "%s", PQgetvalue(r, 0, 0));
        snprintf(c->slug, sizeof(c->slug), "%s", PQgetvalue(r, 0, 1));
        snprintf(c->description, sizeof(c->description), "%s", PQgetvalue(r, 0, 2));
        c->has_parent = !PQgetisnull(r, 0, 3);
        c->parent_id = wf_col_i64(r, 0, 3);
        c->is_active = PQgetvalue(r, 0, 4)[0] == 't';
        c->sort_order = wf_col_i64(r, 0, 5);
    }
    PQclear(r);
    return WK_DONE;
}

static wk_result update_category(wk_ctx *ctx, int64_t id, const category_fields *c, wk_outcome *out)
{
    char text[24], parent[24], sort[24];
    wf_itoa(id, text);
    wf_itoa(c->parent_id, parent);
    wf_itoa(c->sort_order, sort);
    const char *params[] = {text, c->name, c->slug, c->description, c->has_parent ? parent : NULL,
                            c->is_active ? "true" : "false", sort};
    PGresult *r = wk_exec(ctx,
                          "UPDATE categories SET name = $2, slug = $3, description = $4, parent_id = $5,"
                          " is_active = $6, sort_order = $7 WHERE id = $1",
                          7, params);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        return write_failed(ctx, r, "update category", out);
    PQclear(r);
    return applied_category(ctx, id, 200, out);
}

wk_result wk_category_update(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out)
{
    int64_t id;
    category_fields c = {0};
    if (wk_field_int(cmd->payload, "id", 1, INT64_MAX, &id) != WK_FIELD_SET || overlay_category(cmd->payload, &c))
        return WK_POISON;
    category_fields old;
    wk_result res = wf_require_admin_for(ctx, cmd, out, WK_SHOP_ADMIN_ONLY);
    if (res == WK_DONE && !wk_rejected(out))
        res = lock_category(ctx, id, &old, out);
    if (res != WK_DONE || wk_rejected(out))
        return res;
    c = old;
    overlay_category(cmd->payload, &c);   /* validated above, cannot fail now */
    if (strcmp(c.slug, old.slug) != 0)
        res = check_slug_free(ctx, "SELECT 1 FROM categories WHERE slug = $1", c.slug, out);
    bool moved = c.has_parent && (!old.has_parent || c.parent_id != old.parent_id);
    if (res == WK_DONE && !wk_rejected(out) && moved)
        res = check_parent(ctx, id, c.parent_id, out);
    if (res != WK_DONE || wk_rejected(out))
        return res;
    return update_category(ctx, id, &c, out);
}

/* ===================================================================== */
/* products                                                               */
/* ===================================================================== */

typedef struct {
    char slug[SHOP_SLUG_MAX + 1], name[NAME_CAP], description[DESCRIPTION_CAP], product_type[16], image[IMAGE_CAP];
    bool has_category, has_discount, has_image, is_active, is_featured;
    int64_t category_id, price, discount;
} product;

static bool product_type_valid(const char *t)
{
    return !strcmp(t, "samagri") || !strcmp(t, "gift") || !strcmp(t, "kit") || !strcmp(t, "other");
}

/* Nullable fields: set ⇒ has = true, nil ⇒ has = false, absent ⇒ unchanged. */
static void nullable(wk_field_status f, bool *has)
{
    if (f != WK_FIELD_ABSENT)
        *has = f == WK_FIELD_SET;
}

static int overlay_product(const msgpack_object *p, product *x)
{
    if (!wk_field_keys_distinct(p))
        return -1;
    wk_field_status slug = wk_field_text(p, "slug", 1, x->slug, sizeof(x->slug));
    wk_field_status type = wk_field_text(p, "product_type", 1, x->product_type, sizeof(x->product_type));
    wk_field_status category = wk_field_int(p, "category_id", 1, INT64_MAX, &x->category_id);
    wk_field_status discount = wk_field_int(p, "discount_price", 0, MONEY_MAX_PAISE, &x->discount);
    wk_field_status image = wk_field_line(p, "image", 1, x->image, sizeof(x->image));
    if (bad_or_null(slug) || (slug == WK_FIELD_SET && !shop_slug_valid(x->slug)) || bad_or_null(type) ||
        (type == WK_FIELD_SET && !product_type_valid(x->product_type)) || bad(category) || bad(discount) ||
        bad(image) || bad_or_null(wk_field_line(p, "name", 1, x->name, sizeof(x->name))) ||
        bad_or_null(wk_field_text(p, "description", 0, x->description, sizeof(x->description))) ||
        bad_or_null(wk_field_int(p, "price", 0, MONEY_MAX_PAISE, &x->price)) ||
        bad_or_null(wk_field_bool(p, "is_active", &x->is_active)) ||
        bad_or_null(wk_field_bool(p, "is_featured", &x->is_featured)))
        return -1;
    nullable(category, &x->has_category);
    nullable(discount, &x->has_discount);
    nullable(image, &x->has_image);
    return 0;
}

/* A newly named category must exist. */
static wk_result check_category(wk_ctx *ctx, int64_t category_id, wk_outcome *out)
{
    char text[24];
    wf_itoa(category_id, text);
    bool found = false;
    wk_result res = wk_row_exists(ctx, "category check", "SELECT 1 FROM categories WHERE id = $1", text, &found);
    if (res == WK_DONE && !found)
        wk_reject(out, "invalid_category", "category_id", "no such category");
    return res;
}

/* Rules that need the merged product (old: the stored one, NULL for a create). */
static wk_result check_product(wk_ctx *ctx, const product *x, const product *old, wk_outcome *out)
{
    if (x->has_discount && x->discount >= x->price) {
        wk_reject(out, "invalid_discount", "discount_price", "the discount price must be below the price");
        return WK_DONE;
    }
    if (old && (strcmp(old->product_type, "kit") == 0) != (strcmp(x->product_type, "kit") == 0)) {
        wk_reject(out, "invalid_kit", "product_type", "a product cannot become a kit or stop being one");
        return WK_DONE;
    }
    wk_result res = WK_DONE;
    if (!old || strcmp(old->slug, x->slug) != 0)
        res = check_slug_free(ctx, "SELECT 1 FROM products WHERE slug = $1", x->slug, out);
    bool new_category = x->has_category && !(old && old->has_category && old->category_id == x->category_id);
    if (res == WK_DONE && !wk_rejected(out) && new_category)
        res = check_category(ctx, x->category_id, out);
    return res;
}

/* ---- the product as the API shows it ---- */

/* PK_PRODUCT_JSON (resource.h): a kit's stock is derived from its
 * components there, as every read derives it. */
static wk_result applied_product(wk_ctx *ctx, int64_t id, int http_status, wk_outcome *out)
{
    return wk_applied_resource(ctx, out, http_status, WK_RES_PRODUCT, id, id);
}

/* ---- product.create ---- */

/* $12 is the id a replay must reuse (WK_NEW_ID); the opening stock is 0
 * and arrives as a movement. */
#define INSERT_PRODUCT_SQL                                                                                      \
    "INSERT INTO products (id, slug, name, description, product_type, category_id, price_paise,"             \
    " discount_price_paise, stock, is_active, is_featured, image, created_at, updated_at) VALUES ("          \
    WK_NEW_ID("$12", "products") ", $1, $2, $3, $4, $5, $6, $7, 0, $8, $9, $10, $11, $11) RETURNING id"

static wk_result insert_product(wk_ctx *ctx, const pk_envelope_decoded *cmd, const product *x, int64_t stock,
                                wk_outcome *out)
{
    char category[24], price[24], discount[24], ts[40], replay[24];
    wf_itoa(x->category_id, category);
    wf_itoa(x->price, price);
    wf_itoa(x->discount, discount);
    wk_timestamp(cmd->env.issued_at_us, ts);
    const char *params[] = {x->slug, x->name, x->description, x->product_type, x->has_category ? category : NULL,
                            price, x->has_discount ? discount : NULL, x->is_active ? "true" : "false",
                            x->is_featured ? "true" : "false", x->has_image ? x->image : NULL, ts,
                            wk_new_id(ctx, "product", replay)};
    PGresult *r = wk_exec(ctx, INSERT_PRODUCT_SQL, 12, params);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return write_failed(ctx, r, "insert product", out);
    int64_t id = wf_col_i64(r, 0, 0);
    PQclear(r);
    /* The opening stock is a movement like any other, so stock is explained. */
    wk_created(out, "product", id);
    bool short_of_stock = false;   /* cannot be: stock is only added */
    wk_result res = stock > 0 ? wk_stock_apply(ctx, &id, &stock, 1, "initial stock", 0, cmd, out, &short_of_stock)
                              : WK_DONE;
    if (res != WK_DONE)
        return res;
    return applied_product(ctx, id, 201, out);
}

wk_result wk_product_create(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out)
{
    product x = {.is_active = true};
    strcpy(x.product_type, "samagri");
    int64_t stock = 0, price = -1;
    if (overlay_product(cmd->payload, &x) != 0 || !x.slug[0] || !x.name[0] ||
        wk_field_int(cmd->payload, "price", 0, MONEY_MAX_PAISE, &price) != WK_FIELD_SET ||
        bad_or_null(wk_field_int(cmd->payload, "stock", 0, STOCK_MAX, &stock)))
        return WK_POISON;
    wk_result res = wf_require_admin_for(ctx, cmd, out, WK_SHOP_ADMIN_ONLY);
    if (res != WK_DONE || wk_rejected(out))
        return res;
    if (strcmp(x.product_type, "kit") == 0 && stock > 0) {
        wk_reject(out, "invalid_kit", "stock", "a kit's stock comes from its components");
        return WK_DONE;
    }
    res = check_product(ctx, &x, NULL, out);
    if (res != WK_DONE || wk_rejected(out))
        return res;
    return insert_product(ctx, cmd, &x, stock, out);
}

/* ---- product.update ---- */

#define LOCK_PRODUCT_SQL                                                                                        \
    "SELECT slug, name, description, product_type, category_id, price_paise, discount_price_paise,"          \
    " is_active, is_featured, image FROM products WHERE id = $1 FOR UPDATE"

/* Locks the row and loads it into `x`; rejects not_found when missing. */
static wk_result lock_product(wk_ctx *ctx, int64_t id, product *x, wk_outcome *out)
{
    char text[24];
    wf_itoa(id, text);
    const char *params[] = {text};
    wk_result fail = WK_DONE;
    PGresult *r = wk_query(ctx, "lock product", LOCK_PRODUCT_SQL, 1, params, &fail);
    if (!r)
        return fail;
    if (PQntuples(r) != 1) {
        wk_reject(out, "not_found", NULL, "no such product");
    } else {
        snprintf(x->slug, sizeof(x->slug), "%s", PQgetvalue(r, 0, 0));
        snprintf(x->name, sizeof(x->name), "%s", PQgetvalue(r, 0, 1));
        snprintf(x->description, sizeof(x->description), "%s", PQgetvalue(r, 0, 2));
        snprintf(x->product_type, sizeof(x->product_type), "%s", PQgetvalue(r, 0, 3));
        x->has_category = !PQgetisnull(r, 0, 4);
        x->category_id = wf_col_i64(r, 0, 4);
        x->price = wf_col_i64(r, 0, 5);
        x->has_discount = !PQgetisnull(r, 0, 6);
        x->discount = wf_col_i64(r, 0, 6);
        x->is_active = PQgetvalue(r, 0, 7)[0] == 't';
        x->is_featured = PQgetvalue(r, 0, 8)[0] == 't';
        x->has_image = !PQgetisnull(r, 0, 9);
        snprintf(x->image, sizeof(x->image), "%s", PQgetvalue(r, 0, 9));
    }
    PQclear(r);
    return WK_DONE;
}

static wk_result update_product(wk_ctx *ctx, const pk_envelope_decoded *cmd, int64_t id, const product *x,
                                wk_outcome *out)
{
    char text[24], category[24], price[24], discount[24], ts[40];
    wf_itoa(id, text);
    wf_itoa(x->category_id, category);
    wf_itoa(x->price, price);
    wf_itoa(x->discount, discount);
    wk_timestamp(cmd->env.issued_at_us, ts);
    const char *params[] = {text, x->slug, x->name, x->description, x->product_type, x->has_category ? category : NULL,
                            price, x->has_discount ? discount : NULL, x->is_active ? "true" : "false",
                            x->is_featured ? "true" : "false", x->has_image ? x->image : NULL, ts};
    PGresult *r = wk_exec(ctx,
                          "UPDATE products SET slug = $2, name = $3, description = $4, product_type = $5,"
                          " category_id = $6, price_paise = $7, discount_price_paise = $8, is_active = $9,"
                          " is_featured = $10, image = $11, updated_at = greatest(updated_at, $12::timestamptz)"
                          " WHERE id = $1",
                          12, params);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        return write_failed(ctx, r, "update product", out);
    PQclear(r);
    return applied_product(ctx, id, 200, out);
}

wk_result wk_product_update(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out)
{
    int64_t id;
    product x = {0}, old;
    if (wk_field_int(cmd->payload, "id", 1, INT64_MAX, &id) != WK_FIELD_SET || overlay_product(cmd->payload, &x))
        return WK_POISON;
    wk_result res = wf_require_admin_for(ctx, cmd, out, WK_SHOP_ADMIN_ONLY);
    if (res == WK_DONE && !wk_rejected(out))
        res = lock_product(ctx, id, &old, out);
    if (res != WK_DONE || wk_rejected(out))
        return res;
    x = old;
    overlay_product(cmd->payload, &x);   /* validated above */
    res = check_product(ctx, &x, &old, out);
    if (res != WK_DONE || wk_rejected(out))
        return res;
    return update_product(ctx, cmd, id, &x, out);
}

/* ---- product.set_kit ---- */

typedef struct {
    int64_t kit_id;
    int64_t ids[SHOP_KIT_MAX_COMPONENTS], qty[SHOP_KIT_MAX_COMPONENTS];
    size_t n;
} kit_cmd;

static int decode_kit(const msgpack_object *p, kit_cmd *k)
{
    memset(k, 0, sizeof(*k));
    const msgpack_object *a = pk_mp_get(p, "components");
    if (!wk_field_keys_distinct(p) || wk_field_int(p, "kit_id", 1, INT64_MAX, &k->kit_id) != WK_FIELD_SET || !a ||
        a->type != MSGPACK_OBJECT_ARRAY || a->via.array.size > SHOP_KIT_MAX_COMPONENTS)
        return -1;
    for (uint32_t i = 0; i < a->via.array.size; i++) {
        const msgpack_object *c = &a->via.array.ptr[i];
        if (!wk_field_keys_distinct(c) || wk_field_int(c, "product_id", 1, INT64_MAX, &k->ids[i]) != WK_FIELD_SET ||
            wk_field_int(c, "quantity", SHOP_QTY_MIN, SHOP_QTY_MAX, &k->qty[i]) != WK_FIELD_SET ||
            k->ids[i] == k->kit_id)
            return -1;
        for (uint32_t j = 0; j < i; j++)
            if (k->ids[j] == k->ids[i])
                return -1;
    }
    k->n = a->via.array.size;
    return 0;
}

/* Components must exist and be plain products (kits do not nest). */
static wk_result check_components(wk_ctx *ctx, const kit_cmd *k, wk_outcome *out)
{
    char *ids = wk_int_array(k->ids, k->n);
    const char *params[] = {ids};
    wk_result fail = WK_DONE;
    PGresult *r = wk_query(ctx, "kit components check",
                           "SELECT count(*), count(*) FILTER (WHERE product_type = 'kit') FROM products"
                           " WHERE id = ANY($1::bigint[])",
                           1, params, &fail);
    free(ids);
    if (!r)
        return fail;
    int64_t found = wf_col_i64(r, 0, 0), kits = wf_col_i64(r, 0, 1);
    PQclear(r);
    if (found != (int64_t)k->n || kits != 0)
        wk_reject(out, "invalid_kit", "components",
                  kits ? "a kit cannot contain another kit" : "every component must be an existing product");
    return WK_DONE;
}

static wk_result replace_components(wk_ctx *ctx, const pk_envelope_decoded *cmd, const kit_cmd *k, wk_outcome *out)
{
    char kit[24], ts[40];
    wf_itoa(k->kit_id, kit);
    wk_timestamp(cmd->env.issued_at_us, ts);
    char *ids = wk_int_array(k->ids, k->n), *qty = wk_int_array(k->qty, k->n);
    const char *params[] = {kit, ids, qty, ts};
    /* Two statements: within one, the insert's unique check would still see
     * the rows the delete removes. */
    wk_result res = wk_write(ctx, "clear kit", "DELETE FROM kit_components WHERE kit_id = $1", 1, params);
    if (res == WK_DONE)
        res = wk_write(ctx, "fill kit",
                         "WITH touched AS (UPDATE products SET updated_at = greatest(updated_at, $4::timestamptz)"
                         "   WHERE id = $1)"
                         " INSERT INTO kit_components (kit_id, component_id, quantity)"
                         " SELECT $1, c, q FROM unnest($2::bigint[], $3::int[]) AS u(c, q)",
                         4, params);
    free(ids);
    free(qty);
    return res == WK_DONE ? applied_product(ctx, k->kit_id, 200, out) : res;
}

/* Locks the kit and its new components in ascending id order, the one lock
 * order of every command that touches several products (checkout, order
 * cancel): the kit before its components would deadlock with a checkout
 * that holds a component and waits for the kit. */
static wk_result lock_kit(wk_ctx *ctx, const kit_cmd *k, wk_outcome *out)
{
    int64_t ids[SHOP_KIT_MAX_COMPONENTS + 1];
    ids[0] = k->kit_id;
    memcpy(ids + 1, k->ids, k->n * sizeof(ids[0]));
    char *list = wk_int_array(ids, k->n + 1), kit[24];
    wf_itoa(k->kit_id, kit);
    const char *params[] = {list, kit};
    wk_result fail = WK_DONE;
    PGresult *r = wk_query(ctx, "lock kit",
                           "SELECT bool_or(id = $2::bigint AND product_type = 'kit'), bool_or(id = $2::bigint)"
                           " FROM (SELECT id, product_type FROM products WHERE id = ANY($1::bigint[])"
                           " ORDER BY id FOR UPDATE) locked",
                           2, params, &fail);
    free(list);
    if (!r)
        return fail;
    if (PQgetvalue(r, 0, 1)[0] != 't')
        wk_reject(out, "not_found", NULL, "no such product");
    else if (PQgetvalue(r, 0, 0)[0] != 't')
        wk_reject(out, "invalid_kit", "kit_id", "only a product of type kit has components");
    PQclear(r);
    return WK_DONE;
}

wk_result wk_product_set_kit(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out)
{
    kit_cmd k;
    if (decode_kit(cmd->payload, &k) != 0)
        return WK_POISON;
    wk_result res = wf_require_admin_for(ctx, cmd, out, WK_SHOP_ADMIN_ONLY);
    if (res == WK_DONE && !wk_rejected(out))
        res = lock_kit(ctx, &k, out);
    if (res == WK_DONE && !wk_rejected(out) && k.n)
        res = check_components(ctx, &k, out);
    if (res != WK_DONE || wk_rejected(out))
        return res;
    return replace_components(ctx, cmd, &k, out);
}

/* ---- stock.adjust ---- */

/* Locks the row and reads its stock; rejects a missing product or a kit. */
static wk_result lock_stock(wk_ctx *ctx, int64_t id, int64_t *stock, wk_outcome *out)
{
    char text[24];
    wf_itoa(id, text);
    const char *params[] = {text};
    wk_result fail = WK_DONE;
    PGresult *r = wk_query(ctx, "lock stock", "SELECT stock, product_type = 'kit' FROM products WHERE id = $1 FOR UPDATE",
                           1, params, &fail);
    if (!r)
        return fail;
    if (PQntuples(r) != 1)
        wk_reject(out, "not_found", NULL, "no such product");
    else if (PQgetvalue(r, 0, 1)[0] == 't')
        wk_reject(out, "invalid_kit", "product_id", "a kit's stock comes from its components; adjust those");
    else
        *stock = wf_col_i64(r, 0, 0);
    PQclear(r);
    return WK_DONE;
}

static void reject_stock(wk_outcome *out, int64_t stock, int64_t delta)
{
    char msg[160];
    if (stock + delta < 0)
        snprintf(msg, sizeof(msg), "only %lld in stock; cannot remove %lld", (long long)stock, (long long)-delta);
    else
        snprintf(msg, sizeof(msg), "stock cannot exceed %d", STOCK_MAX);
    wk_reject(out, stock + delta < 0 ? "insufficient_stock" : "invalid_command", "delta", msg);
}

wk_result wk_stock_adjust(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out)
{
    int64_t id, delta, stock = 0;
    char reason[256];
    if (!wk_field_keys_distinct(cmd->payload) ||
        wk_field_int(cmd->payload, "product_id", 1, INT64_MAX, &id) != WK_FIELD_SET ||
        wk_field_int(cmd->payload, "delta", -STOCK_DELTA_MAX, STOCK_DELTA_MAX, &delta) != WK_FIELD_SET ||
        delta == 0 || wk_field_text(cmd->payload, "reason", 1, reason, sizeof(reason)) != WK_FIELD_SET)
        return WK_POISON;
    wk_result res = wf_require_admin_for(ctx, cmd, out, WK_SHOP_ADMIN_ONLY);
    if (res == WK_DONE && !wk_rejected(out))
        res = lock_stock(ctx, id, &stock, out);
    if (res != WK_DONE || wk_rejected(out))
        return res;
    bool refused = stock + delta < 0 || stock + delta > STOCK_MAX;
    if (!refused)   /* the stock CHECK may still refuse: the same answer */
        res = wk_stock_apply(ctx, &id, &delta, 1, reason, 0, cmd, out, &refused);
    if (res != WK_DONE)
        return res;
    if (refused) {
        reject_stock(out, stock, delta);
        return WK_DONE;
    }
    return applied_product(ctx, id, 200, out);
}
