#include "workers/shop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/log.h"
#include "common/money.h"
#include "common/mp.h"
#include "common/uuid.h"
#include "common/validate.h"

int wk_field_check_keys(const msgpack_object *p)
{
    if (!p || p->type != MSGPACK_OBJECT_MAP)
        return -1;
    const msgpack_object_kv *kv = p->via.map.ptr;
    for (uint32_t i = 0; i < p->via.map.size; i++) {
        if (kv[i].key.type != MSGPACK_OBJECT_STR)
            return -1;
        for (uint32_t j = 0; j < i; j++)
            if (kv[j].key.via.str.size == kv[i].key.via.str.size &&
                memcmp(kv[j].key.via.str.ptr, kv[i].key.via.str.ptr, kv[i].key.via.str.size) == 0)
                return -1;
    }
    return 0;
}

/* Length of the UTF-8 sequence at s (at most n bytes), or 0 when invalid:
 * overlong forms, surrogates and code points above U+10FFFF are refused. */
static size_t utf8_char(const unsigned char *s, size_t n)
{
    size_t len = s[0] < 0x80             ? 1
                 : (s[0] & 0xE0) == 0xC0 ? 2
                 : (s[0] & 0xF0) == 0xE0 ? 3
                 : (s[0] & 0xF8) == 0xF0 ? 4
                                         : 0;
    if (len == 0 || len > n)
        return 0;
    uint32_t cp = len == 1 ? s[0] : s[0] & (0xFF >> (len + 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    static const uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

static bool utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        size_t len = utf8_char(p + i, n - i);
        if (!len)
            return false;
        i += len;
    }
    return true;
}

wk_field wk_field_text(const msgpack_object *p, const char *key, size_t min_len, char *buf, size_t cap)
{
    const msgpack_object *v = pk_mp_get(p, key);
    if (!v)
        return WK_FIELD_ABSENT;
    if (v->type == MSGPACK_OBJECT_NIL)
        return WK_FIELD_NULL;
    if (pk_mp_get_strcpy(p, key, buf, cap) != 0 || strlen(buf) < min_len || pk_check_text(buf, cap - 1) ||
        !utf8_valid(buf))
        return WK_FIELD_BAD;
    return WK_FIELD_SET;
}

wk_field wk_field_int(const msgpack_object *p, const char *key, int64_t min, int64_t max, int64_t *out)
{
    const msgpack_object *v = pk_mp_get(p, key);
    if (!v)
        return WK_FIELD_ABSENT;
    if (v->type == MSGPACK_OBJECT_NIL)
        return WK_FIELD_NULL;
    int64_t x;
    if (pk_mp_get_i64(p, key, &x) != 0 || x < min || x > max)
        return WK_FIELD_BAD;
    *out = x;
    return WK_FIELD_SET;
}

wk_field wk_field_bool(const msgpack_object *p, const char *key, bool *out)
{
    const msgpack_object *v = pk_mp_get(p, key);
    if (!v)
        return WK_FIELD_ABSENT;
    if (v->type == MSGPACK_OBJECT_NIL)
        return WK_FIELD_NULL;
    return pk_mp_get_bool(p, key, out) == 0 ? WK_FIELD_SET : WK_FIELD_BAD;
}

PGresult *wk_shop_exec(wk_ctx *ctx, const char *sql, int n, const char *const *params)
{
    PGresult *r = wk_exec(ctx, sql, n, params);
    if (PQresultStatus(r) == PGRES_FATAL_ERROR)
        pk_warn(NULL, "statement failed (%s): %s", wk_sqlstate(r), PQresultErrorMessage(r));
    return r;
}

int wk_shop_require_admin(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out)
{
    int admin = 0;
    if (strcmp(cmd->env.actor_role, "admin") == 0 && cmd->env.actor_id > 0) {
        char id[24];
        wk_i64_text(cmd->env.actor_id, id);
        const char *params[] = {id};
        PGresult *r =
            wk_shop_exec(ctx, "SELECT 1 FROM users WHERE id = $1 AND role = 'admin' AND is_active", 1, params);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            PQclear(r);
            return -1;
        }
        admin = PQntuples(r) == 1;
        PQclear(r);
    }
    if (!admin)
        wk_reject(out, "forbidden", NULL, "only an admin may change the catalog or an order's status");
    return admin;
}

int wk_stock_apply(wk_ctx *ctx, const int64_t *product_ids, const int64_t *deltas, size_t n, const char *reason,
                   int64_t order_id, const pk_envelope_decoded *cmd)
{
    char ts[40], command_id[40], order[24];
    wk_timestamp(cmd->env.issued_at_us, ts);
    wk_command_id_text(cmd, command_id);
    wk_i64_text(order_id, order);
    char *ids = wk_int_array(product_ids, n), *ds = wk_int_array(deltas, n);
    const char *params[] = {ids, ds, ts, reason, command_id, order_id > 0 ? order : NULL};
    /* updated_at never moves backwards: commands of different partitions
     * may carry issued_at out of order, and readers derive ETags from it. */
    PGresult *r = wk_shop_exec(ctx,
                               "WITH d AS (SELECT * FROM unnest($1::bigint[], $2::int[]) AS d(id, delta)"
                               "   WHERE delta <> 0),"
                               " u AS (UPDATE products p SET stock = p.stock + d.delta,"
                               "   updated_at = greatest(p.updated_at, $3::timestamptz) FROM d WHERE p.id = d.id)"
                               " INSERT INTO stock_movements (product_id, delta, reason, command_id, created_at,"
                               "   order_id)"
                               " SELECT id, delta, $4, $5::uuid, $3::timestamptz, $6::bigint FROM d ORDER BY id",
                               6, params);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : strcmp(wk_sqlstate(r), "23514") == 0 ? 1 : -1;
    PQclear(r);
    free(ids);
    free(ds);
    return rc;
}

void wk_utf8_trim(char *s)
{
    size_t n = strlen(s), start = n;
    while (start > 0 && ((unsigned char)s[start - 1] & 0xC0) == 0x80 && n - start < 3)
        start--;
    if (start > 0 && ((unsigned char)s[start - 1] & 0x80))
        start--;   /* the lead byte of the last sequence */
    else
        return;    /* ends in ASCII */
    if (utf8_char((const unsigned char *)s + start, n - start) != n - start)
        s[start] = 0;
}

char *wk_int_array(const int64_t *values, size_t n)
{
    char *s = malloc(n * 21 + 3), *p = s;
    *p++ = '{';
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s%lld", i ? "," : "", (long long)values[i]);
    *p++ = '}';
    *p = 0;
    return s;
}

void wk_i64_text(int64_t v, char buf[24])
{
    snprintf(buf, 24, "%lld", (long long)v);
}

json_t *wk_money_json(int64_t paise)
{
    char buf[MONEY_FMT_CAP];
    money_format(paise, buf, sizeof(buf));
    return json_string(buf);
}

void wk_command_id_text(const pk_envelope_decoded *cmd, char buf[40])
{
    pk_uuid_format(&cmd->env.id, buf);
}

int64_t wk_col_i64(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}
