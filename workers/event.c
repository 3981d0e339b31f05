/* event.c — the events-topic codec (event.h, schemas/events.md). */
#include "workers/event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/mp.h"
#include "workers/fields.h"

/* ---- encoding ---- */

void wk_pack_json(msgpack_packer *pk, const json_t *j)
{
    const char *key;
    json_t *v;
    size_t i;
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        msgpack_pack_map(pk, json_object_size(j));
        json_object_foreach((json_t *)j, key, v) {
            pk_mp_pack_cstr(pk, key);
            wk_pack_json(pk, v);
        }
        break;
    case JSON_ARRAY:
        msgpack_pack_array(pk, json_array_size(j));
        json_array_foreach(j, i, v) wk_pack_json(pk, v);
        break;
    case JSON_INTEGER: msgpack_pack_int64(pk, json_integer_value(j)); break;
    case JSON_REAL:    msgpack_pack_double(pk, json_real_value(j)); break;
    case JSON_STRING:  pk_mp_pack_strn(pk, json_string_value(j), json_string_length(j)); break;
    case JSON_TRUE:    msgpack_pack_true(pk); break;
    case JSON_FALSE:   msgpack_pack_false(pk); break;
    default:           msgpack_pack_nil(pk); break;
    }
}

static void pack_key(msgpack_packer *pk, const char *key)
{
    pk_mp_pack_cstr(pk, key);
}

static void pack_entity(msgpack_packer *pk, const wk_event *e)
{
    pack_key(pk, "entity");
    if (!e->entity_type[0]) {
        msgpack_pack_nil(pk);
        return;
    }
    msgpack_pack_array(pk, 2);
    pk_mp_pack_cstr(pk, e->entity_type);
    msgpack_pack_int64(pk, e->entity_id);
}

int wk_event_encode(const wk_event *e, msgpack_sbuffer *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 14);
    pk_mp_kv_i64(&pk, "v", WK_EVENT_VERSION);
    pk_mp_kv_i64(&pk, "seq", e->seq);
    pack_key(&pk, "id");
    msgpack_pack_bin(&pk, sizeof(e->id.b));
    msgpack_pack_bin_body(&pk, e->id.b, sizeof(e->id.b));
    pk_mp_kv_str(&pk, "type", e->type);
    pk_mp_kv_i64(&pk, "issued_at", e->issued_at_us);
    pack_key(&pk, "actor");
    msgpack_pack_array(&pk, 2);
    msgpack_pack_int64(&pk, e->actor_id);
    pk_mp_pack_cstr(&pk, e->actor_role);
    pk_mp_kv_str(&pk, "status", e->status);
    pk_mp_kv_str(&pk, "code", e->code[0] ? e->code : NULL);
    pk_mp_kv_i64(&pk, "http", e->http_status);
    pack_entity(&pk, e);
    pack_key(&pk, "created");
    if (e->created_ids)
        wk_pack_json(&pk, e->created_ids);
    else
        msgpack_pack_map(&pk, 0);
    pack_key(&pk, "money");
    if (e->money)
        wk_pack_json(&pk, e->money);
    else
        msgpack_pack_array(&pk, 0);
    pack_key(&pk, "src");
    msgpack_pack_array(&pk, 3);
    pk_mp_pack_cstr(&pk, e->src_topic);
    msgpack_pack_int64(&pk, e->src_partition);
    msgpack_pack_int64(&pk, e->src_offset);
    pack_key(&pk, "envelope");
    msgpack_pack_bin(&pk, e->envelope_len);
    msgpack_pack_bin_body(&pk, e->envelope, e->envelope_len);
    return 0;
}

void wk_event_key(const wk_event *e, char *buf, size_t cap)
{
    if (e->entity_type[0] && e->entity_id > 0)
        snprintf(buf, cap, "%s:%lld", e->entity_type, (long long)e->entity_id);
    else
        pk_uuid_format(&e->id, buf);
}

/* ---- decoding ---- */

static int get_text(const msgpack_object *o, char *buf, size_t cap)
{
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size >= cap)
        return -1;
    if (o->via.str.size)   /* msgpack-c may leave an empty str's pointer NULL */
        memcpy(buf, o->via.str.ptr, o->via.str.size);
    buf[o->via.str.size] = 0;
    return memchr(buf, 0, o->via.str.size) ? -1 : 0;
}

static int get_int(const msgpack_object *o, int64_t *v)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= (uint64_t)INT64_MAX)
        *v = (int64_t)o->via.u64;
    else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        *v = o->via.i64;
    else
        return -1;
    return 0;
}

static int decode_actor(const msgpack_object *o, wk_event *e)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 2)
        return -1;
    return get_int(&o->via.array.ptr[0], &e->actor_id) || get_text(&o->via.array.ptr[1], e->actor_role,
                                                                    sizeof(e->actor_role));
}

static int decode_entity(const msgpack_object *o, wk_event *e)
{
    if (o->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 2)
        return -1;
    return get_text(&o->via.array.ptr[0], e->entity_type, sizeof(e->entity_type)) ||
           get_int(&o->via.array.ptr[1], &e->entity_id);
}

static int decode_src(const msgpack_object *o, wk_event *e)
{
    int64_t partition;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 3 ||
        get_text(&o->via.array.ptr[0], e->src_topic, sizeof(e->src_topic)) ||
        get_int(&o->via.array.ptr[1], &partition) || get_int(&o->via.array.ptr[2], &e->src_offset))
        return -1;
    e->src_partition = (int)partition;
    return 0;
}

static int decode_bin(const msgpack_object *o, wk_event *e, int is_id)
{
    if (o->type != MSGPACK_OBJECT_BIN)
        return -1;
    if (is_id) {
        if (o->via.bin.size != sizeof(e->id.b))
            return -1;
        memcpy(e->id.b, o->via.bin.ptr, sizeof(e->id.b));
        return 0;
    }
    e->envelope_owned = malloc(o->via.bin.size ? o->via.bin.size : 1);
    memcpy(e->envelope_owned, o->via.bin.ptr, o->via.bin.size);
    e->envelope = e->envelope_owned;
    e->envelope_len = o->via.bin.size;
    return 0;
}

/* One key of the map; unknown keys are ignored. Bit `seen` tracks required ones. */
static int decode_field(const msgpack_object_kv *kv, wk_event *e, unsigned *seen)
{
    static const char *const KEYS[] = {"v", "seq", "id", "type", "issued_at", "actor", "status",
                                       "code", "http", "entity", "created", "money", "src", "envelope"};
    const msgpack_object *v = &kv->val;
    int64_t n;
    for (unsigned i = 0; i < sizeof(KEYS) / sizeof(KEYS[0]); i++) {
        if (!pk_mp_str_eq(&kv->key, KEYS[i]))
            continue;
        if (*seen & (1u << i))
            return -1;   /* a key twice */
        *seen |= 1u << i;
        switch (i) {
        case 0:  return get_int(v, &n) || n != WK_EVENT_VERSION;
        case 1:  return get_int(v, &e->seq);
        case 2:  return decode_bin(v, e, 1);
        case 3:  return get_text(v, e->type, sizeof(e->type));
        case 4:  return get_int(v, &e->issued_at_us);
        case 5:  return decode_actor(v, e);
        case 6:  return get_text(v, e->status, sizeof(e->status));
        case 7:  return v->type == MSGPACK_OBJECT_NIL ? 0 : get_text(v, e->code, sizeof(e->code));
        case 8:  return get_int(v, &n) || (e->http_status = (int)n) != n;
        case 9:  return decode_entity(v, e);
        case 10: return v->type != MSGPACK_OBJECT_MAP || !(e->created_ids = wf_json_from_mp(v));
        case 11: return v->type != MSGPACK_OBJECT_ARRAY || !(e->money = wf_json_from_mp(v));
        case 12: return decode_src(v, e);
        default: return decode_bin(v, e, 0);
        }
    }
    return 0;
}

int wk_event_decode(const void *buf, size_t len, wk_event *e, char *err, size_t errcap)
{
    memset(e, 0, sizeof(*e));
    size_t end = 0;
    if (!buf || pk_mp_scan(buf, len, 8, &end) != PK_MP_SCAN_OK || end != len) {
        snprintf(err, errcap, "malformed event");
        return -1;
    }
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    int ok = msgpack_unpack_next(&u, buf, len, NULL) == MSGPACK_UNPACK_SUCCESS && u.data.type == MSGPACK_OBJECT_MAP;
    unsigned seen = 0;
    for (uint32_t i = 0; ok && i < u.data.via.map.size; i++)
        ok = decode_field(&u.data.via.map.ptr[i], e, &seen) == 0;
    msgpack_unpacked_destroy(&u);
    if (ok && seen == (1u << 14) - 1)
        return 0;
    snprintf(err, errcap, ok ? "event misses a field" : "bad event field");
    wk_event_free(e);
    return -1;
}

void wk_event_free(wk_event *e)
{
    json_decref(e->created_ids);
    json_decref(e->money);
    free(e->envelope_owned);
    memset(e, 0, sizeof(*e));
}
