/* fields.c — the payload readers and small helpers every command family
 * shares (see fields.h). */
#include "workers/fields.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/booking_rules.h"
#include "common/money.h"
#include "common/mp.h"
#include "common/uuid.h"
#include "common/validate.h"

/* ---- payload readers ---- */

bool wk_field_keys_distinct(const msgpack_object *p)
{
    if (!p || p->type != MSGPACK_OBJECT_MAP)
        return false;
    const msgpack_object_kv *kv = p->via.map.ptr;
    for (uint32_t i = 0; i < p->via.map.size; i++) {
        if (kv[i].key.type != MSGPACK_OBJECT_STR)
            return false;
        for (uint32_t j = 0; j < i; j++)
            if (kv[j].key.via.str.size == kv[i].key.via.str.size &&
                (kv[i].key.via.str.size == 0 ||   /* two "" keys; their pointers may be NULL */
                 memcmp(kv[j].key.via.str.ptr, kv[i].key.via.str.ptr, kv[i].key.via.str.size) == 0))
                return false;
    }
    return true;
}

/* ABSENT or NULL for what is not a value; SET when there is one (*v). */
static wk_field_status lookup(const msgpack_object *p, const char *key, const msgpack_object **v)
{
    *v = pk_mp_get(p, key);
    if (!*v)
        return WK_FIELD_ABSENT;
    return (*v)->type == MSGPACK_OBJECT_NIL ? WK_FIELD_NULL : WK_FIELD_SET;
}

wk_field_status wk_field_int(const msgpack_object *p, const char *key, int64_t min, int64_t max, int64_t *out)
{
    const msgpack_object *v;
    wk_field_status s = lookup(p, key, &v);
    int64_t x;
    if (s != WK_FIELD_SET)
        return s;
    if (pk_mp_get_i64(p, key, &x) != 0 || x < min || x > max)
        return WK_FIELD_BAD;
    *out = x;
    return WK_FIELD_SET;
}

wk_field_status wk_field_id(const msgpack_object *p, const char *key, int64_t *out)
{
    return wk_field_int(p, key, 1, INT64_MAX, out);
}

wk_field_status wk_field_bool(const msgpack_object *p, const char *key, bool *out)
{
    const msgpack_object *v;
    wk_field_status s = lookup(p, key, &v);
    if (s != WK_FIELD_SET)
        return s;
    return pk_mp_get_bool(p, key, out) == 0 ? WK_FIELD_SET : WK_FIELD_BAD;
}

size_t wf_utf8_len(const unsigned char *s, size_t n)
{
    return pk_utf8_decode(s, n, NULL);
}

wk_field_status wk_field_str(const msgpack_object *p, const char *key, char *buf, size_t cap)
{
    const msgpack_object *v;
    wk_field_status s = lookup(p, key, &v);
    if (s != WK_FIELD_SET)
        return s;
    /* strcpy refuses a NUL inside, which would silently cut the C string. */
    return pk_mp_get_strcpy(p, key, buf, cap) == 0 ? WK_FIELD_SET : WK_FIELD_BAD;
}

/* The same rule as the API's for the field (common/validate.h): whatever
 * the API accepts is applied here, and nothing else. */
static wk_field_status read_text(const msgpack_object *p, const char *key, size_t min_len, char *buf, size_t cap,
                                 const char *(*check)(const char *, size_t))
{
    wk_field_status s = wk_field_str(p, key, buf, cap);
    if (s != WK_FIELD_SET)
        return s;
    if (strlen(buf) < min_len || check(buf, cap - 1)) {
        buf[0] = 0;
        return WK_FIELD_BAD;
    }
    return WK_FIELD_SET;
}

wk_field_status wk_field_text(const msgpack_object *p, const char *key, size_t min_len, char *buf, size_t cap)
{
    return read_text(p, key, min_len, buf, cap, pk_check_text);
}

wk_field_status wk_field_line(const msgpack_object *p, const char *key, size_t min_len, char *buf, size_t cap)
{
    return read_text(p, key, min_len, buf, cap, pk_check_line);
}

wk_field_status wk_field_number(const msgpack_object *p, const char *key, double min, double max, double *out)
{
    const msgpack_object *v;
    wk_field_status s = lookup(p, key, &v);
    if (s != WK_FIELD_SET)
        return s;
    double d;
    if (v->type == MSGPACK_OBJECT_FLOAT32 || v->type == MSGPACK_OBJECT_FLOAT64)
        d = v->via.f64;
    else if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 <= 1000000)
        d = (double)v->via.u64;
    else if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER && v->via.i64 >= -1000000)
        d = (double)v->via.i64;
    else
        return WK_FIELD_BAD;
    if (!isfinite(d) || d < min || d > max)
        return WK_FIELD_BAD;
    *out = d;
    return WK_FIELD_SET;
}

/* The bytes of a str object: msgpack-c may leave an empty one's pointer
 * NULL, which neither memcpy nor json_stringn accepts. */
static const char *str_bytes(const msgpack_object_str *s)
{
    return s->size ? s->ptr : "";
}

static json_t *json_from_map(const msgpack_object *o)
{
    if (!wk_field_keys_distinct(o))
        return NULL;
    json_t *j = json_object();
    for (uint32_t i = 0; j && i < o->via.map.size; i++) {
        const msgpack_object_str *k = &o->via.map.ptr[i].key.via.str;
        char key[256];
        json_t *v = wf_json_from_mp(&o->via.map.ptr[i].val);
        if (!v || k->size >= sizeof(key) || !pk_utf8_valid(str_bytes(k), k->size)) {
            json_decref(v);
            json_decref(j);
            return NULL;
        }
        memcpy(key, str_bytes(k), k->size);
        key[k->size] = 0;
        json_object_set_new(j, key, v);
    }
    return j;
}

static json_t *json_from_array(const msgpack_object *o)
{
    json_t *j = json_array();
    for (uint32_t i = 0; j && i < o->via.array.size; i++) {
        json_t *v = wf_json_from_mp(&o->via.array.ptr[i]);
        if (!v) {
            json_decref(j);
            return NULL;
        }
        json_array_append_new(j, v);
    }
    return j;
}

json_t *wf_json_from_mp(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:              return json_null();
    case MSGPACK_OBJECT_BOOLEAN:          return json_boolean(o->via.boolean);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return json_integer(o->via.i64);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return o->via.u64 <= (uint64_t)INT64_MAX ? json_integer((json_int_t)o->via.u64) : NULL;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:          return isfinite(o->via.f64) ? json_real(o->via.f64) : NULL;
    case MSGPACK_OBJECT_STR:
        return pk_utf8_valid(str_bytes(&o->via.str), o->via.str.size)
                   ? json_stringn(str_bytes(&o->via.str), o->via.str.size)
                   : NULL;
    case MSGPACK_OBJECT_ARRAY:            return json_from_array(o);
    case MSGPACK_OBJECT_MAP:              return json_from_map(o);
    default:                              return NULL;
    }
}

/* ---- admin, time zone, ids ---- */

wk_result wf_require_admin_for(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out, const char *message)
{
    if (strcmp(cmd->env.actor_role, "admin") != 0 || cmd->env.actor_id <= 0) {
        wk_reject(out, "forbidden", NULL, message);
        return WK_DONE;
    }
    char id[24];
    wf_itoa(cmd->env.actor_id, id);
    bool admin = false;
    wk_result res = wk_row_exists(ctx, "admin check", "SELECT 1 FROM users WHERE id = $1 AND role = 'admin' AND is_active",
                                  id, &admin);
    if (res == WK_DONE && !admin)
        wk_reject(out, "forbidden", NULL, message);
    return res;
}

wk_result wf_require_admin(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out)
{
    return wf_require_admin_for(ctx, cmd, out, "only an admin may do this");
}

static int tz_minutes = BOOKING_TZ_OFFSET_DEFAULT;
static int tz_loaded;

int wf_tz_offset_init(void)
{
    int m;
    if (booking_tz_offset_parse(getenv("PUNYAKA_TZ_OFFSET_MINUTES"), &m) != 0)
        return -1;
    tz_minutes = m;
    tz_loaded = 1;
    return 0;
}

int wf_tz_offset(void)
{
    if (!tz_loaded)
        wf_tz_offset_init();   /* main() has already refused a malformed value */
    return tz_minutes;
}

void wf_itoa(int64_t v, char buf[24])
{
    snprintf(buf, 24, "%lld", (long long)v);
}

void wf_command_id(const pk_envelope_decoded *cmd, char buf[40])
{
    pk_uuid_format(&cmd->env.id, buf);
}

int64_t wf_col_i64(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

bool wf_col_bool(const PGresult *r, int row, int col)
{
    return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}
