#include "common/envelope.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/mp.h"

/* Top-level keys, in the order the encoder writes and the decoder checks
 * them (v first, so a v2 message is reported as a version problem rather
 * than as whatever field v2 renamed). */
enum { F_V, F_ID, F_TYPE, F_ISSUED_AT, F_ACTOR, F_REQUEST_ID, F_REPLY_TO, F_PAYLOAD, F_COUNT };
static const char *const field_names[F_COUNT] = {
    "v", "id", "type", "issued_at", "actor", "request_id", "reply_to", "payload",
};

enum { A_ID, A_ROLE, A_COUNT };
static const char *const actor_names[A_COUNT] = {"id", "role"};

static int fail(char *err, size_t errcap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errcap, const char *fmt, ...)
{
    if (err && errcap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errcap, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* ---- character rules shared by encoder and decoder --------------------- */

static bool type_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_';
}

/* Free text that still has to be safe as a C string and a channel name. */
static bool text_char(unsigned char c)
{
    return c >= 0x20 && c != 0x7f;
}

static bool chars_ok(const char *s, size_t n, bool (*ok)(unsigned char))
{
    for (size_t i = 0; i < n; i++)
        if (!ok((unsigned char)s[i]))
            return false;
    return true;
}

/* A NUL-terminated field of a fixed array: its length, or -1 when it is not
 * terminated inside the array or breaks the character rule. */
static long field_len(const char *s, size_t cap, bool (*ok)(unsigned char))
{
    const char *nul = memchr(s, '\0', cap);
    if (!nul || !chars_ok(s, (size_t)(nul - s), ok))
        return -1;
    return (long)(nul - s);
}

/* ---- encode -------------------------------------------------------------- */

static bool envelope_valid(const pk_envelope *e)
{
    return (e->v == 0 || e->v == PK_ENVELOPE_VERSION) &&
           field_len(e->type, sizeof(e->type), type_char) > 0 &&
           field_len(e->actor_role, sizeof(e->actor_role), text_char) >= 0 &&
           field_len(e->request_id, sizeof(e->request_id), text_char) >= 0 &&
           field_len(e->reply_to, sizeof(e->reply_to), text_char) >= 0 &&
           e->issued_at_us >= 0 && e->actor_id >= 0;
}

static bool is_map_header(uint8_t b)
{
    return (b & 0xf0) == 0x80 || b == 0xde || b == 0xdf;
}

/* Exactly one map, shallow enough to stay within the envelope's depth
 * limit once nested under it. */
static bool payload_is_one_map(const void *payload, size_t len)
{
    size_t end;
    if (!payload || len == 0 || !is_map_header(*(const uint8_t *)payload))
        return false;
    return pk_mp_scan(payload, len, PK_ENVELOPE_MAX_DEPTH - 1, &end) == PK_MP_SCAN_OK && end == len;
}

static int pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, s, n);
}

static int pack_key(msgpack_packer *pk, int field)
{
    return pack_str(pk, field_names[field]);
}

/* Everything but the payload: the map header and the first seven pairs. */
static int pack_fields(msgpack_packer *pk, const pk_envelope *e)
{
    return msgpack_pack_map(pk, F_COUNT) ||
           pack_key(pk, F_V) || msgpack_pack_uint32(pk, PK_ENVELOPE_VERSION) ||
           pack_key(pk, F_ID) || msgpack_pack_bin(pk, sizeof(e->id.b)) ||
           msgpack_pack_bin_body(pk, e->id.b, sizeof(e->id.b)) ||
           pack_key(pk, F_TYPE) || pack_str(pk, e->type) ||
           pack_key(pk, F_ISSUED_AT) || msgpack_pack_int64(pk, e->issued_at_us) ||
           pack_key(pk, F_ACTOR) || msgpack_pack_map(pk, A_COUNT) ||
           pack_str(pk, actor_names[A_ID]) || msgpack_pack_int64(pk, e->actor_id) ||
           pack_str(pk, actor_names[A_ROLE]) || pack_str(pk, e->actor_role) ||
           pack_key(pk, F_REQUEST_ID) || pack_str(pk, e->request_id) ||
           pack_key(pk, F_REPLY_TO) || pack_str(pk, e->reply_to) ||
           pack_key(pk, F_PAYLOAD);
}

int pk_envelope_encode(const pk_envelope *e, const void *payload, size_t payload_len,
                       msgpack_sbuffer *out)
{
    if (!e || !out || payload_len > PK_ENVELOPE_MAX_BYTES || !envelope_valid(e) ||
        !payload_is_one_map(payload, payload_len))
        return -1;
    size_t mark = out->size;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    if (pack_fields(&pk, e) || msgpack_sbuffer_write(out, payload, payload_len) ||
        out->size - mark > PK_ENVELOPE_MAX_BYTES) {
        out->size = mark;   /* the caller's buffer is as it was */
        return -1;
    }
    return 0;
}

/* ---- decode -------------------------------------------------------------- */

/* Checks the raw bytes before msgpack-c sees them (see pk_mp_scan). */
static int check_bytes(const void *buf, size_t len, char *err, size_t errcap)
{
    size_t end;
    if (!buf || len == 0)
        return fail(err, errcap, "empty message");
    if (len > PK_ENVELOPE_MAX_BYTES)
        return fail(err, errcap, "message too large");
    switch (pk_mp_scan(buf, len, PK_ENVELOPE_MAX_DEPTH, &end)) {
    case PK_MP_SCAN_OK:
        break;
    case PK_MP_SCAN_TRUNCATED:
        return fail(err, errcap, "truncated msgpack");
    case PK_MP_SCAN_TOO_DEEP:
        return fail(err, errcap, "nested too deep");
    default:
        return fail(err, errcap, "malformed msgpack");
    }
    if (end != len)
        return fail(err, errcap, "trailing bytes");
    return 0;
}

/* msgpack-c's str/bin objects point into the input, so it unpacks a private
 * copy whose lifetime is tied to the zone by a finalizer: the payload then
 * lives exactly as long as the header promises. */
static int unpack_copy(const void *buf, size_t len, msgpack_unpacked *u, char *err, size_t errcap)
{
    size_t off = 0;
    char *copy = malloc(len);
    if (!copy)
        return fail(err, errcap, "out of memory");
    memcpy(copy, buf, len);
    msgpack_unpack_return r = msgpack_unpack_next(u, copy, len, &off);
    /* msgpack-c 4.0 creates the zone lazily (only for containers), so a
     * scalar root comes back without one; give it one to own the copy. */
    if (r == MSGPACK_UNPACK_SUCCESS && !u->zone)
        u->zone = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);
    if (r == MSGPACK_UNPACK_SUCCESS && off == len && u->zone &&
        msgpack_zone_push_finalizer(u->zone, free, copy))
        return 0;
    free(copy);
    msgpack_unpacked_destroy(u);
    bool parsed = r == MSGPACK_UNPACK_SUCCESS && off == len;   /* then a zone allocation failed */
    return fail(err, errcap, parsed || r == MSGPACK_UNPACK_NOMEM_ERROR ? "out of memory" : "malformed msgpack");
}

/* Points found[i] at the value of names[i] (NULL when absent); unknown keys
 * are skipped, non-str keys and repeated known keys are errors. */
static int collect(const msgpack_object *map, const char *const *names, size_t count,
                   const msgpack_object **found, const char *prefix, char *err, size_t errcap)
{
    memset(found, 0, count * sizeof(*found));
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR)
            return fail(err, errcap, "bad key");
        for (size_t f = 0; f < count; f++) {
            if (!pk_mp_str_eq(&kv->key, names[f]))
                continue;
            if (found[f])
                return fail(err, errcap, "duplicate field: %s%s", prefix, names[f]);
            found[f] = &kv->val;
        }
    }
    return 0;
}

static int require(const msgpack_object **found, const char *const *names, size_t count,
                   const char *prefix, char *err, size_t errcap)
{
    for (size_t f = 0; f < count; f++)
        if (!found[f])
            return fail(err, errcap, "missing field: %s%s", prefix, names[f]);
    return 0;
}

static bool get_nonneg_int(const msgpack_object *o, int64_t *out)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > (uint64_t)INT64_MAX)
        return false;
    *out = (int64_t)o->via.u64;
    return true;
}

/* Copies a str object into buf[cap] if it is shorter than cap, at least
 * min_len long and every byte passes ok(). */
static bool copy_str(const msgpack_object *o, char *buf, size_t cap, size_t min_len,
                     bool (*ok)(unsigned char))
{
    if (o->type != MSGPACK_OBJECT_STR)
        return false;
    size_t n = o->via.str.size;
    if (n < min_len || n >= cap || !chars_ok(o->via.str.ptr, n, ok))
        return false;
    if (n)
        memcpy(buf, o->via.str.ptr, n);
    buf[n] = '\0';
    return true;
}

static int decode_version(const msgpack_object *o, pk_envelope *env, char *err, size_t errcap)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return fail(err, errcap, "bad field: v");
    if (o->via.u64 != PK_ENVELOPE_VERSION)
        return fail(err, errcap, "unsupported version: %llu", (unsigned long long)o->via.u64);
    env->v = PK_ENVELOPE_VERSION;
    return 0;
}

static int decode_actor(const msgpack_object *o, pk_envelope *env, char *err, size_t errcap)
{
    const msgpack_object *a[A_COUNT];
    if (o->type != MSGPACK_OBJECT_MAP)
        return fail(err, errcap, "bad field: actor");
    if (collect(o, actor_names, A_COUNT, a, "actor.", err, errcap) ||
        require(a, actor_names, A_COUNT, "actor.", err, errcap))
        return -1;
    if (!get_nonneg_int(a[A_ID], &env->actor_id))
        return fail(err, errcap, "bad field: actor.id");
    if (!copy_str(a[A_ROLE], env->actor_role, sizeof(env->actor_role), 0, text_char))
        return fail(err, errcap, "bad field: actor.role");
    return 0;
}

/* Checks one top-level field into out; -1 with the reason otherwise. */
static int decode_field(int f, const msgpack_object *o, pk_envelope_decoded *out, char *err, size_t errcap)
{
    pk_envelope *env = &out->env;
    bool ok;
    switch (f) {
    case F_V:
        return decode_version(o, env, err, errcap);
    case F_ACTOR:
        return decode_actor(o, env, err, errcap);
    case F_ID:
        ok = o->type == MSGPACK_OBJECT_BIN && o->via.bin.size == sizeof(env->id.b);
        if (ok)
            memcpy(env->id.b, o->via.bin.ptr, sizeof(env->id.b));
        break;
    case F_TYPE:
        ok = copy_str(o, env->type, sizeof(env->type), 1, type_char);
        break;
    case F_ISSUED_AT:
        ok = get_nonneg_int(o, &env->issued_at_us);
        break;
    case F_REQUEST_ID:
        ok = copy_str(o, env->request_id, sizeof(env->request_id), 0, text_char);
        break;
    case F_REPLY_TO:
        ok = copy_str(o, env->reply_to, sizeof(env->reply_to), 0, text_char);
        break;
    case F_PAYLOAD:
        ok = o->type == MSGPACK_OBJECT_MAP;
        if (ok)
            out->payload = o;
        break;
    default:
        ok = false;
    }
    return ok ? 0 : fail(err, errcap, "bad field: %s", field_names[f]);
}

static int decode_object(const msgpack_object *root, pk_envelope_decoded *out, char *err, size_t errcap)
{
    const msgpack_object *fields[F_COUNT];
    if (root->type != MSGPACK_OBJECT_MAP)
        return fail(err, errcap, "not a map");
    if (collect(root, field_names, F_COUNT, fields, "", err, errcap))
        return -1;
    /* The version decides what the other fields mean: check it alone first. */
    if (require(fields, field_names, 1, "", err, errcap) || decode_field(F_V, fields[F_V], out, err, errcap) ||
        require(fields, field_names, F_COUNT, "", err, errcap))
        return -1;
    for (int f = F_V + 1; f < F_COUNT; f++)
        if (decode_field(f, fields[f], out, err, errcap))
            return -1;
    return 0;
}

int pk_envelope_decode(const void *buf, size_t len, pk_envelope_decoded *out,
                       char *err, size_t errcap)
{
    memset(out, 0, sizeof(*out));
    msgpack_unpacked_init(&out->unpacked);
    if (check_bytes(buf, len, err, errcap) || unpack_copy(buf, len, &out->unpacked, err, errcap))
        return -1;
    if (decode_object(&out->unpacked.data, out, err, errcap)) {
        pk_envelope_decoded_free(out);
        memset(out, 0, sizeof(*out));
        return -1;
    }
    return 0;
}

void pk_envelope_decoded_free(pk_envelope_decoded *d)
{
    if (!d)
        return;
    msgpack_unpacked_destroy(&d->unpacked);
    d->payload = NULL;
}
