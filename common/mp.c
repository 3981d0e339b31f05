#include "common/mp.h"

#include <string.h>

/* ---- structural scan ------------------------------------------------ */

/* What one msgpack header announces: `hdr` header bytes, then either `body`
 * raw bytes (scalars, str, bin, ext) or `items` child objects (containers;
 * a map of n pairs has 2n items). */
typedef struct {
    size_t hdr;
    uint64_t body;
    uint64_t items;
    bool container;
} mp_head;

static uint64_t read_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Header whose length field of `lenbytes` follows the type byte. The caller
 * has checked that 1 + lenbytes bytes are available. */
static void sized(mp_head *h, const uint8_t *p, size_t lenbytes, size_t extra_hdr)
{
    h->hdr = 1 + lenbytes + extra_hdr;
    h->body = read_be(p + 1, lenbytes);
}

static void container(mp_head *h, const uint8_t *p, size_t lenbytes, unsigned per_entry)
{
    h->container = true;
    h->hdr = 1 + lenbytes;
    h->items = read_be(p + 1, lenbytes) * per_entry;
}

/* Bytes needed after the type byte to know the size of the object. */
static size_t length_field_bytes(uint8_t t)
{
    switch (t) {
    case 0xc4: case 0xc7: case 0xd9: return 1;            /* bin8 ext8 str8 */
    case 0xc5: case 0xc8: case 0xda:
    case 0xdc: case 0xde: return 2;                       /* *16 */
    case 0xc6: case 0xc9: case 0xdb:
    case 0xdd: case 0xdf: return 4;                       /* *32 */
    default: return 0;
    }
}

/* Decodes the header at p (avail >= 1 bytes). Returns -1 for the reserved
 * byte, -2 when the length field itself is cut off, else 0. */
static int read_head(const uint8_t *p, size_t avail, mp_head *h)
{
    uint8_t t = p[0];
    memset(h, 0, sizeof(*h));
    h->hdr = 1;
    if (length_field_bytes(t) >= avail)
        return -2;
    if (t <= 0x7f || t >= 0xe0)                           /* fixint */
        return 0;
    if (t <= 0x8f) {                                      /* fixmap */
        h->container = true;
        h->items = 2u * (t & 0x0f);
        return 0;
    }
    if (t <= 0x9f) {                                      /* fixarray */
        h->container = true;
        h->items = t & 0x0f;
        return 0;
    }
    if (t <= 0xbf) {                                      /* fixstr */
        h->body = t & 0x1f;
        return 0;
    }
    switch (t) {
    case 0xc0: case 0xc2: case 0xc3: return 0;            /* nil false true */
    case 0xc1: return -1;                                 /* never used */
    case 0xc4: case 0xd9: sized(h, p, 1, 0); return 0;    /* bin8 str8 */
    case 0xc5: case 0xda: sized(h, p, 2, 0); return 0;
    case 0xc6: case 0xdb: sized(h, p, 4, 0); return 0;
    case 0xc7: sized(h, p, 1, 1); return 0;               /* ext: + type byte */
    case 0xc8: sized(h, p, 2, 1); return 0;
    case 0xc9: sized(h, p, 4, 1); return 0;
    case 0xca: h->body = 4; return 0;                     /* float32 */
    case 0xcb: h->body = 8; return 0;                     /* float64 */
    case 0xcc: case 0xd0: h->body = 1; return 0;
    case 0xcd: case 0xd1: h->body = 2; return 0;
    case 0xce: case 0xd2: h->body = 4; return 0;
    case 0xcf: case 0xd3: h->body = 8; return 0;
    case 0xd4: h->body = 2; return 0;                     /* fixext: type + data */
    case 0xd5: h->body = 3; return 0;
    case 0xd6: h->body = 5; return 0;
    case 0xd7: h->body = 9; return 0;
    case 0xd8: h->body = 17; return 0;
    case 0xdc: container(h, p, 2, 1); return 0;           /* array16/32 */
    case 0xdd: container(h, p, 4, 1); return 0;
    case 0xde: container(h, p, 2, 2); return 0;           /* map16/32 */
    case 0xdf: container(h, p, 4, 2); return 0;
    }
    return -1;   /* unreachable: every byte value is covered above */
}

pk_mp_scan_result pk_mp_scan(const void *buf, size_t len, unsigned max_depth, size_t *end)
{
    const uint8_t *p = buf;
    uint64_t left[PK_MP_SCAN_MAX_DEPTH];   /* items still owed per open container */
    unsigned depth = 0;
    size_t pos = 0;
    if (max_depth > PK_MP_SCAN_MAX_DEPTH)
        max_depth = PK_MP_SCAN_MAX_DEPTH;
    for (;;) {
        mp_head h;
        if (pos >= len)
            return PK_MP_SCAN_TRUNCATED;
        int r = read_head(p + pos, len - pos, &h);
        if (r == -1)
            return PK_MP_SCAN_MALFORMED;
        if (r == -2 || h.hdr > len - pos || h.body > len - pos - h.hdr)
            return PK_MP_SCAN_TRUNCATED;
        if (h.container && depth >= max_depth)
            return PK_MP_SCAN_TOO_DEEP;
        pos += h.hdr + (size_t)h.body;
        if (h.container && h.items > 0) {
            if (h.items > len - pos)       /* each item needs >= 1 byte */
                return PK_MP_SCAN_TRUNCATED;
            left[depth++] = h.items;
            continue;
        }
        /* One object completed; it may complete its parents too. */
        while (depth > 0 && --left[depth - 1] == 0)
            depth--;
        if (depth == 0) {
            *end = pos;
            return PK_MP_SCAN_OK;
        }
    }
}

/* ---- readers --------------------------------------------------------- */

bool pk_mp_str_eq(const msgpack_object *o, const char *s)
{
    size_t n = strlen(s);
    return o && o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
           (n == 0 || memcmp(o->via.str.ptr, s, n) == 0);
}

const msgpack_object *pk_mp_get(const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];
        if (pk_mp_str_eq(&kv->key, key))
            return &kv->val;
    }
    return NULL;
}

/* The value of key, or NULL when it is missing or nil (both mean "absent"). */
static const msgpack_object *get_present(const msgpack_object *map, const char *key)
{
    const msgpack_object *v = pk_mp_get(map, key);
    return (v && v->type != MSGPACK_OBJECT_NIL) ? v : NULL;
}

int pk_mp_get_str(const msgpack_object *map, const char *key, const char **s, size_t *len)
{
    const msgpack_object *v = get_present(map, key);
    if (!v)
        return -1;
    if (v->type != MSGPACK_OBJECT_STR)
        return -2;
    /* msgpack-c may leave an empty str's pointer NULL: callers get "". */
    *s = v->via.str.size ? v->via.str.ptr : "";
    *len = v->via.str.size;
    return 0;
}

int pk_mp_get_strcpy(const msgpack_object *map, const char *key, char *buf, size_t cap)
{
    const char *s;
    size_t n;
    int r = pk_mp_get_str(map, key, &s, &n);
    if (r)
        return r;
    if (n >= cap || (n && memchr(s, '\0', n)))
        return -2;
    if (n)
        memcpy(buf, s, n);
    buf[n] = '\0';
    return 0;
}

int pk_mp_get_i64(const msgpack_object *map, const char *key, int64_t *out)
{
    const msgpack_object *v = get_present(map, key);
    if (!v)
        return -1;
    if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = v->via.i64;
        return 0;
    }
    if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 <= (uint64_t)INT64_MAX) {
        *out = (int64_t)v->via.u64;
        return 0;
    }
    return -2;
}

int pk_mp_get_bool(const msgpack_object *map, const char *key, bool *out)
{
    const msgpack_object *v = get_present(map, key);
    if (!v)
        return -1;
    if (v->type != MSGPACK_OBJECT_BOOLEAN)
        return -2;
    *out = v->via.boolean;
    return 0;
}

/* ---- packers ------------------------------------------------------------ */

void pk_mp_pack_strn(msgpack_packer *pk, const char *s, size_t len)
{
    if (!s) {
        msgpack_pack_nil(pk);
        return;
    }
    msgpack_pack_str(pk, len);
    msgpack_pack_str_body(pk, s, len);
}

void pk_mp_start_map(msgpack_sbuffer *sb, msgpack_packer *pk, uint32_t n)
{
    msgpack_sbuffer_init(sb);
    msgpack_packer_init(pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(pk, n);
}

void pk_mp_pack_cstr(msgpack_packer *pk, const char *s)
{
    pk_mp_pack_strn(pk, s, s ? strlen(s) : 0);
}

void pk_mp_kv_str(msgpack_packer *pk, const char *key, const char *val)
{
    pk_mp_pack_cstr(pk, key);
    pk_mp_pack_cstr(pk, val);
}

void pk_mp_kv_strn(msgpack_packer *pk, const char *key, const char *val, size_t len)
{
    pk_mp_pack_cstr(pk, key);
    pk_mp_pack_strn(pk, val, len);
}

void pk_mp_kv_i64(msgpack_packer *pk, const char *key, int64_t val)
{
    pk_mp_pack_cstr(pk, key);
    msgpack_pack_int64(pk, val);
}

void pk_mp_kv_bool(msgpack_packer *pk, const char *key, bool val)
{
    pk_mp_pack_cstr(pk, key);
    if (val)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
}

void pk_mp_kv_nil(msgpack_packer *pk, const char *key)
{
    pk_mp_pack_cstr(pk, key);
    msgpack_pack_nil(pk);
}
