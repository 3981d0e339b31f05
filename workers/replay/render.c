/* render.c — events as JSON lines, and which events a filter selects
 * (replay.h). The payload is shown decoded, except what an audit has no
 * business printing: password hashes and sealed KYC blobs are replaced by
 * a marker. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "common/envelope.h"
#include "common/money.h"
#include "common/mp.h"
#include "workers/fields.h"
#include "workers/replay/replay.h"

/* Entity types an operator can name, and the created_ids key of each. */
static const struct {
    const char *type, *created;
} ENTITIES[] = {
    {"user", "user"},           {"priest", "priest"},      {"booking", "booking"},
    {"order", "order"},         {"product", "product"},    {"service", "service"},
    {"category", "category"},   {"payment", "payments"},   {"order_item", "order_items"},
    {"stock_movement", "stock_movements"},
    {"priest_block", "priest_block"},   {"notification", "notification"},
};
#define N_ENTITIES (sizeof(ENTITIES) / sizeof(ENTITIES[0]))

static const char *created_key(const char *type)
{
    for (size_t i = 0; i < N_ENTITIES; i++)
        if (strcmp(ENTITIES[i].type, type) == 0)
            return ENTITIES[i].created;
    return NULL;
}

int rp_parse_entity(const char *text, char type[24], int64_t *id)
{
    const char *colon = strchr(text, ':');
    if (!colon || colon == text || (size_t)(colon - text) >= 24 || !isdigit((unsigned char)colon[1]))
        return -1;
    char *end;
    long long v = strtoll(colon + 1, &end, 10);
    if (*end || v <= 0)
        return -1;
    memcpy(type, text, (size_t)(colon - text));
    type[colon - text] = 0;
    *id = v;
    return created_key(type) ? 0 : -1;
}

/* ---- the payload as JSON ---- */

static int redacted(const msgpack_object_str *key)
{
    static const char *const SECRET[] = {"password_hash", "aadhaar_enc", "pan_enc", "bank_account_enc",
                                         "bank_ifsc_enc", "aadhaar_fp", "pan_fp", "bank_account_fp",
                                         "bank_ifsc_fp"};
    for (size_t i = 0; i < sizeof(SECRET) / sizeof(SECRET[0]); i++)
        if (key->size == strlen(SECRET[i]) && memcmp(key->ptr, SECRET[i], key->size) == 0)
            return 1;
    return 0;
}

static json_t *mp_json(const msgpack_object *o);

static json_t *map_json(const msgpack_object *o)
{
    json_t *j = json_object();
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR)
            continue;
        char key[128];
        snprintf(key, sizeof(key), "%.*s", (int)kv->key.via.str.size, kv->key.via.str.ptr);
        json_object_set_new(j, key, redacted(&kv->key.via.str) ? json_string("[redacted]") : mp_json(&kv->val));
    }
    return j;
}

static json_t *mp_json(const msgpack_object *o)
{
    char note[48];
    switch (o->type) {
    case MSGPACK_OBJECT_MAP: return map_json(o);
    case MSGPACK_OBJECT_ARRAY: {
        json_t *a = json_array();
        for (uint32_t i = 0; i < o->via.array.size; i++)
            json_array_append_new(a, mp_json(&o->via.array.ptr[i]));
        return a;
    }
    case MSGPACK_OBJECT_STR: {
        json_t *s = json_stringn(o->via.str.ptr, o->via.str.size);
        return s ? s : json_string("[invalid UTF-8]");
    }
    case MSGPACK_OBJECT_BIN:
        snprintf(note, sizeof(note), "[%u bytes]", (unsigned)o->via.bin.size);
        return json_string(note);
    default: {
        json_t *v = wf_json_from_mp(o);
        return v ? v : json_string("[unrepresentable]");
    }
    }
}

static json_t *money_json(const json_t *money)
{
    json_t *out = json_array();
    size_t i;
    json_t *row;
    json_array_foreach(money, i, row) {
        char amount[MONEY_FMT_CAP];
        money_format(json_integer_value(json_array_get(row, 2)), amount, sizeof(amount));
        json_array_append_new(out, json_pack("{s:O, s:O, s:s}", "purpose", json_array_get(row, 0), "kind",
                                             json_array_get(row, 1), "amount", amount));
    }
    return out;
}

json_t *rp_event_json(const wk_event *e, int64_t offset)
{
    char id[PK_UUID_STR_LEN + 1], at[40];
    pk_uuid_format(&e->id, id);
    wk_timestamp(e->issued_at_us, at);
    json_t *j = json_pack("{s:I, s:s, s:s, s:s, s:{s:I, s:s}, s:s, s:o, s:i}", "seq", (json_int_t)e->seq,
                          "command_id", id, "type", e->type, "issued_at", at, "actor", "id",
                          (json_int_t)e->actor_id, "role", e->actor_role, "status", e->status, "code",
                          e->code[0] ? json_string(e->code) : json_null(), "http_status", e->http_status);
    if (offset >= 0)
        json_object_set_new(j, "offset", json_integer(offset));
    json_object_set_new(j, "entity", e->entity_type[0] ? json_pack("{s:s, s:I}", "type", e->entity_type, "id",
                                                                    (json_int_t)e->entity_id)
                                                        : json_null());
    json_object_set(j, "created_ids", e->created_ids);
    json_object_set_new(j, "money", money_json(e->money));
    json_object_set_new(j, "source", json_pack("{s:s, s:i, s:I}", "topic", e->src_topic, "partition",
                                               e->src_partition, "offset", (json_int_t)e->src_offset));
    pk_envelope_decoded cmd;
    char err[96];
    /* Shown, not applied: the trailer is set aside unverified (rebuild verifies). */
    size_t envelope_len = pk_command_envelope_len(e->envelope, e->envelope_len);
    if (pk_envelope_decode(e->envelope, envelope_len, &cmd, err, sizeof(err)) == 0) {
        json_object_set_new(j, "request_id", json_string(cmd.env.request_id));
        json_object_set_new(j, "payload", mp_json(cmd.payload));
        pk_envelope_decoded_free(&cmd);
    } else {
        json_object_set_new(j, "payload_error", json_string(err));
    }
    return j;
}

/* ---- selection ---- */

static int id_in(const json_t *v, int64_t id)
{
    size_t i;
    json_t *x;
    if (json_is_integer(v))
        return json_integer_value(v) == id;
    json_array_foreach(v, i, x) if (json_is_integer(x) && json_integer_value(x) == id) return 1;
    return 0;
}

static int mp_id_is(const msgpack_object *map, const char *key, int64_t id)
{
    int64_t v;
    return pk_mp_get_i64(map, key, &v) == 0 && v == id;
}

/* Any element of the array `key` whose product_id is id (cart lines, kit parts). */
static int mp_lines_name(const msgpack_object *payload, const char *key, int64_t id)
{
    const msgpack_object *a = pk_mp_get(payload, key);
    if (!a || a->type != MSGPACK_OBJECT_ARRAY)
        return 0;
    for (uint32_t i = 0; i < a->via.array.size; i++)
        if (mp_id_is(&a->via.array.ptr[i], "product_id", id))
            return 1;
    return 0;
}

static int prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* The payload names the entity (field names of schemas/commands/). */
static int payload_names(const char *cmd_type, const msgpack_object *p, const char *type, int64_t id)
{
    if (!strcmp(type, "booking"))
        return mp_id_is(p, "booking_id", id);
    if (!strcmp(type, "order"))
        return mp_id_is(p, "order_id", id);
    if (!strcmp(type, "priest_block"))
        return mp_id_is(p, "block_id", id);
    if (!strcmp(type, "notification"))
        return prefix(cmd_type, "notification.") && mp_id_is(p, "id", id);
    if (!strcmp(type, "priest"))
        return mp_id_is(p, "priest", id) || mp_id_is(p, "priest_id", id);
    if (!strcmp(type, "service"))
        return mp_id_is(p, "service", id) || mp_id_is(p, "service_id", id);
    if (!strcmp(type, "category"))
        return mp_id_is(p, "category_id", id) || mp_id_is(p, "parent_id", id) ||
               (prefix(cmd_type, "category.") && mp_id_is(p, "id", id));
    if (!strcmp(type, "product"))
        return mp_id_is(p, "product_id", id) || mp_id_is(p, "kit_id", id) || mp_lines_name(p, "lines", id) ||
               mp_lines_name(p, "components", id) || (prefix(cmd_type, "product.") && mp_id_is(p, "id", id));
    return 0;
}

int rp_touches(const wk_event *e, const char *type, int64_t id)
{
    if (!strcmp(e->entity_type, type) && e->entity_id == id)
        return 1;
    if (id_in(json_object_get(e->created_ids, created_key(type)), id))
        return 1;
    if (!strcmp(type, "user") && e->actor_id == id)
        return 1;   /* everything a user did */
    pk_envelope_decoded cmd;
    char err[96];
    if (pk_envelope_decode(e->envelope, pk_command_envelope_len(e->envelope, e->envelope_len), &cmd, err,
                           sizeof(err)) != 0)
        return 0;
    int named = payload_names(e->type, cmd.payload, type, id);
    pk_envelope_decoded_free(&cmd);
    return named;
}

static int type_matches(const char *pattern, const char *type)
{
    size_t n = strlen(pattern);
    if (n >= 2 && strcmp(pattern + n - 2, ".*") == 0)
        return strncmp(pattern, type, n - 1) == 0;
    return strcmp(pattern, type) == 0;
}

int rp_filter_match(const rp_filter *f, const wk_event *e)
{
    if (f->type && !type_matches(f->type, e->type))
        return 0;
    if (f->has_actor && e->actor_id != f->actor)
        return 0;
    if (f->outcome && strcmp(f->outcome, e->status) != 0 && strcmp(f->outcome, e->code) != 0)
        return 0;
    return !f->entity_type[0] || rp_touches(e, f->entity_type, f->entity_id);
}
