/* test_envelope.c — the command envelope codec: round trips, every way a
 * message can be wrong, and that hostile bytes never crash the decoder
 * (this file also runs under ASan + UBSan). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/envelope.h"
#include "common/mp.h"

/* ---- building blocks ------------------------------------------------------ */

static const pk_uuid sample_id = {{0x01, 0x93, 0x8f, 0x2a, 0x11, 0x22, 0x73, 0x44,
                                   0x85, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc}};

static pk_envelope sample_envelope(void)
{
    pk_envelope e;
    memset(&e, 0, sizeof(e));
    e.v = PK_ENVELOPE_VERSION;
    e.id = sample_id;
    snprintf(e.type, sizeof(e.type), "booking.create");
    e.issued_at_us = INT64_C(1764094297123456);
    e.actor_id = 12;
    snprintf(e.actor_role, sizeof(e.actor_role), "customer");
    snprintf(e.request_id, sizeof(e.request_id), "3f2a9c0d1e");
    snprintf(e.reply_to, sizeof(e.reply_to), "api-host-4242.0");
    return e;
}

/* A payload with every kind of value a command carries. */
static void pack_sample_payload(msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 6);
    pk_mp_kv_str(&pk, "location_address", "12 Temple Road, Pune");
    pk_mp_kv_i64(&pk, "priest", 7);
    pk_mp_kv_i64(&pk, "delta", -3);
    pk_mp_kv_bool(&pk, "urgent", true);
    pk_mp_kv_nil(&pk, "special_instructions");
    pk_mp_pack_cstr(&pk, "lines");
    msgpack_pack_array(&pk, 2);
    msgpack_pack_map(&pk, 2);
    pk_mp_kv_i64(&pk, "product_id", 5);
    pk_mp_kv_i64(&pk, "quantity", 2);
    pk_mp_pack_cstr(&pk, "मंत्र");   /* non-ASCII text survives */
}

/* Encoded sample envelope; the caller msgpack_sbuffer_destroy()s it. */
static msgpack_sbuffer encode_sample(void)
{
    msgpack_sbuffer payload, out;
    msgpack_sbuffer_init(&payload);
    msgpack_sbuffer_init(&out);
    pack_sample_payload(&payload);
    pk_envelope e = sample_envelope();
    assert_int_equal(pk_envelope_encode(&e, payload.data, payload.size, &out), 0);
    msgpack_sbuffer_destroy(&payload);
    return out;
}

/* Decodes and expects failure with a reason starting with want (NULL: any). */
static void assert_decode_fails(const void *buf, size_t len, const char *want)
{
    pk_envelope_decoded d;
    char err[128] = "";
    int rc = pk_envelope_decode(buf, len, &d, err, sizeof(err));
    if (rc == 0) {
        pk_envelope_decoded_free(&d);
        fail_msg("decode of %zu bytes succeeded, wanted \"%s\"", len, want ? want : "an error");
    }
    assert_int_equal(rc, -1);
    assert_true(err[0] != '\0');
    assert_null(d.payload);
    if (want && strncmp(err, want, strlen(want)) != 0)
        fail_msg("error \"%s\", wanted \"%s\"", err, want);
}

/* ---- hand-made envelopes (things the encoder refuses to write) ------------- */

typedef void (*packfn)(msgpack_packer *);

typedef struct {
    const char *drop;       /* key left out */
    const char *swap;       /* key whose value `value` packs instead */
    packfn value;
    const char *extra;      /* key added again at the end, value `extra_value` */
    packfn extra_value;
} variant;

static const char *const keys[] = {"v", "id", "type", "issued_at", "actor", "request_id", "reply_to", "payload"};

static void default_value(msgpack_packer *pk, const char *key)
{
    if (!strcmp(key, "v")) {
        msgpack_pack_uint8(pk, 1);
    } else if (!strcmp(key, "id")) {
        msgpack_pack_bin(pk, 16);
        msgpack_pack_bin_body(pk, sample_id.b, 16);
    } else if (!strcmp(key, "type")) {
        pk_mp_pack_cstr(pk, "order.checkout");
    } else if (!strcmp(key, "issued_at")) {
        msgpack_pack_int64(pk, 1764094297123456);
    } else if (!strcmp(key, "actor")) {
        msgpack_pack_map(pk, 2);
        pk_mp_kv_i64(pk, "id", 3);
        pk_mp_kv_str(pk, "role", "admin");
    } else if (!strcmp(key, "payload")) {
        msgpack_pack_map(pk, 1);
        pk_mp_kv_i64(pk, "n", 1);
    } else {
        pk_mp_pack_cstr(pk, "");
    }
}

static void pack_variant(msgpack_sbuffer *sb, const variant *v)
{
    msgpack_packer pk;
    size_t n = 8 - (v->drop ? 1 : 0) + (v->extra ? 1 : 0);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, n);
    for (size_t i = 0; i < 8; i++) {
        if (v->drop && !strcmp(v->drop, keys[i]))
            continue;
        pk_mp_pack_cstr(&pk, keys[i]);
        if (v->swap && !strcmp(v->swap, keys[i]))
            v->value(&pk);
        else
            default_value(&pk, keys[i]);
    }
    if (v->extra) {
        pk_mp_pack_cstr(&pk, v->extra);
        v->extra_value(&pk);
    }
}

static void assert_variant_fails(variant v, const char *want)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    pack_variant(&sb, &v);
    assert_decode_fails(sb.data, sb.size, want);
    msgpack_sbuffer_destroy(&sb);
}

static void assert_variant_decodes(variant v)
{
    msgpack_sbuffer sb;
    pk_envelope_decoded d;
    char err[128] = "";
    msgpack_sbuffer_init(&sb);
    pack_variant(&sb, &v);
    if (pk_envelope_decode(sb.data, sb.size, &d, err, sizeof(err)) != 0)
        fail_msg("decode failed: %s", err);
    pk_envelope_decoded_free(&d);
    msgpack_sbuffer_destroy(&sb);
}

/* Value packers for the variants. */
static void v_two(msgpack_packer *pk) { msgpack_pack_uint8(pk, 2); }
static void v_minus_one(msgpack_packer *pk) { msgpack_pack_int8(pk, -1); }
static void v_str_one(msgpack_packer *pk) { pk_mp_pack_cstr(pk, "1"); }
static void v_nil(msgpack_packer *pk) { msgpack_pack_nil(pk); }
static void v_true(msgpack_packer *pk) { msgpack_pack_true(pk); }
static void v_double(msgpack_packer *pk) { msgpack_pack_double(pk, 1.0); }
static void v_huge(msgpack_packer *pk) { msgpack_pack_uint64(pk, (uint64_t)INT64_MAX + 1); }
static void v_int_max(msgpack_packer *pk) { msgpack_pack_int64(pk, INT64_MAX); }
static void v_zero(msgpack_packer *pk) { msgpack_pack_uint8(pk, 0); }
static void v_bin15(msgpack_packer *pk) { msgpack_pack_bin(pk, 15); msgpack_pack_bin_body(pk, sample_id.b, 15); }
static void v_bin17(msgpack_packer *pk)
{
    msgpack_pack_bin(pk, 17);
    msgpack_pack_bin_body(pk, "0123456789abcdefg", 17);
}
static void v_str16(msgpack_packer *pk) { pk_mp_pack_cstr(pk, "0123456789abcdef"); }
static void v_empty_str(msgpack_packer *pk) { pk_mp_pack_cstr(pk, ""); }
static void v_upper(msgpack_packer *pk) { pk_mp_pack_cstr(pk, "Booking.Create"); }
static void v_space(msgpack_packer *pk) { pk_mp_pack_cstr(pk, "booking create"); }
static void v_dash(msgpack_packer *pk) { pk_mp_pack_cstr(pk, "booking-create"); }
static void v_nul_inside(msgpack_packer *pk) { pk_mp_pack_strn(pk, "ab\0cd", 5); }
static void v_newline(msgpack_packer *pk) { pk_mp_pack_cstr(pk, "abc\ndef"); }
static void v_type_bin(msgpack_packer *pk) { msgpack_pack_bin(pk, 4); msgpack_pack_bin_body(pk, "user", 4); }
static void v_array(msgpack_packer *pk) { msgpack_pack_array(pk, 1); msgpack_pack_int(pk, 1); }
static void v_empty_map(msgpack_packer *pk) { msgpack_pack_map(pk, 0); }

static void v_len(msgpack_packer *pk, size_t n, char c)
{
    char buf[256];
    memset(buf, c, n);
    pk_mp_pack_strn(pk, buf, n);
}
static void v_type_48(msgpack_packer *pk) { v_len(pk, PK_TYPE_MAX, 'a'); }
static void v_type_47(msgpack_packer *pk) { v_len(pk, PK_TYPE_MAX - 1, 'a'); }
static void v_rid_64(msgpack_packer *pk) { v_len(pk, PK_REQUEST_ID_MAX, 'r'); }
static void v_rid_63(msgpack_packer *pk) { v_len(pk, PK_REQUEST_ID_MAX - 1, 'r'); }
static void v_reply_96(msgpack_packer *pk) { v_len(pk, PK_REPLY_TO_MAX, 'q'); }
static void v_reply_95(msgpack_packer *pk) { v_len(pk, PK_REPLY_TO_MAX - 1, 'q'); }

static void actor_with(msgpack_packer *pk, packfn id, packfn role, bool with_id, bool with_role)
{
    msgpack_pack_map(pk, (with_id ? 1 : 0) + (with_role ? 1 : 0));
    if (with_id) {
        pk_mp_pack_cstr(pk, "id");
        id(pk);
    }
    if (with_role) {
        pk_mp_pack_cstr(pk, "role");
        role(pk);
    }
}
static void role_admin(msgpack_packer *pk) { pk_mp_pack_cstr(pk, "admin"); }
static void role_16(msgpack_packer *pk) { v_len(pk, PK_ROLE_MAX, 'r'); }
static void role_15(msgpack_packer *pk) { v_len(pk, PK_ROLE_MAX - 1, 'r'); }
static void actor_no_id(msgpack_packer *pk) { actor_with(pk, v_zero, role_admin, false, true); }
static void actor_no_role(msgpack_packer *pk) { actor_with(pk, v_zero, role_admin, true, false); }
static void actor_neg_id(msgpack_packer *pk) { actor_with(pk, v_minus_one, role_admin, true, true); }
static void actor_str_id(msgpack_packer *pk) { actor_with(pk, v_str_one, role_admin, true, true); }
static void actor_int_role(msgpack_packer *pk) { actor_with(pk, v_zero, v_zero, true, true); }
static void actor_long_role(msgpack_packer *pk) { actor_with(pk, v_zero, role_16, true, true); }
static void actor_max_role(msgpack_packer *pk) { actor_with(pk, v_zero, role_15, true, true); }
static void actor_anonymous(msgpack_packer *pk) { actor_with(pk, v_zero, v_empty_str, true, true); }
static void actor_extra_key(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 3);
    pk_mp_kv_i64(pk, "id", 1);
    pk_mp_kv_str(pk, "role", "priest");
    pk_mp_kv_str(pk, "tenant", "future field");
}
static void actor_dup_role(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 3);
    pk_mp_kv_i64(pk, "id", 1);
    pk_mp_kv_str(pk, "role", "customer");
    pk_mp_kv_str(pk, "role", "admin");
}

/* ---- round trips ---------------------------------------------------------- */

static void test_round_trip_every_field(void **state)
{
    (void)state;
    msgpack_sbuffer sb = encode_sample();
    pk_envelope want = sample_envelope();
    pk_envelope_decoded d;
    char err[128] = "";
    assert_int_equal(pk_envelope_decode(sb.data, sb.size, &d, err, sizeof(err)), 0);
    assert_int_equal(d.env.v, PK_ENVELOPE_VERSION);
    assert_memory_equal(d.env.id.b, want.id.b, 16);
    assert_string_equal(d.env.type, "booking.create");
    assert_true(d.env.issued_at_us == want.issued_at_us);
    assert_int_equal(d.env.actor_id, 12);
    assert_string_equal(d.env.actor_role, "customer");
    assert_string_equal(d.env.request_id, "3f2a9c0d1e");
    assert_string_equal(d.env.reply_to, "api-host-4242.0");

    const msgpack_object *p = d.payload;
    const char *s;
    size_t n;
    int64_t i;
    bool b;
    assert_int_equal(p->type, MSGPACK_OBJECT_MAP);
    assert_int_equal(pk_mp_get_str(p, "location_address", &s, &n), 0);
    assert_memory_equal(s, "12 Temple Road, Pune", n);
    assert_int_equal(pk_mp_get_i64(p, "priest", &i), 0);
    assert_int_equal(i, 7);
    assert_int_equal(pk_mp_get_i64(p, "delta", &i), 0);
    assert_int_equal(i, -3);
    assert_int_equal(pk_mp_get_bool(p, "urgent", &b), 0);
    assert_true(b);
    assert_int_equal(pk_mp_get_str(p, "special_instructions", &s, &n), -1);
    assert_non_null(pk_mp_get(p, "special_instructions"));
    const msgpack_object *lines = pk_mp_get(p, "lines");
    assert_non_null(lines);
    assert_int_equal(lines->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(lines->via.array.size, 2);
    assert_int_equal(pk_mp_get_i64(&lines->via.array.ptr[0], "quantity", &i), 0);
    assert_int_equal(i, 2);
    assert_true(pk_mp_str_eq(&lines->via.array.ptr[1], "मंत्र"));
    pk_envelope_decoded_free(&d);
    pk_envelope_decoded_free(&d);   /* idempotent */
    msgpack_sbuffer_destroy(&sb);
}

static void fill(char *buf, size_t n, char c)
{
    memset(buf, c, n);
    buf[n] = '\0';
}

static void test_round_trip_max_lengths(void **state)
{
    (void)state;
    pk_envelope e = sample_envelope();
    fill(e.type, PK_TYPE_MAX - 1, 'z');
    e.type[0] = 'a';
    e.type[1] = '.';
    e.type[2] = '_';
    e.type[3] = '9';
    fill(e.actor_role, PK_ROLE_MAX - 1, 'p');
    fill(e.request_id, PK_REQUEST_ID_MAX - 1, 'r');
    fill(e.reply_to, PK_REPLY_TO_MAX - 1, 'q');
    e.issued_at_us = INT64_MAX;
    e.actor_id = INT64_MAX;
    e.v = 0;   /* "current version" */
    const uint8_t payload[] = {0x80};
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    assert_int_equal(pk_envelope_encode(&e, payload, sizeof(payload), &sb), 0);
    pk_envelope_decoded d;
    char err[128];
    assert_int_equal(pk_envelope_decode(sb.data, sb.size, &d, err, sizeof(err)), 0);
    assert_string_equal(d.env.type, e.type);
    assert_string_equal(d.env.actor_role, e.actor_role);
    assert_string_equal(d.env.request_id, e.request_id);
    assert_string_equal(d.env.reply_to, e.reply_to);
    assert_true(d.env.issued_at_us == INT64_MAX);
    assert_true(d.env.actor_id == INT64_MAX);
    assert_int_equal(d.env.v, PK_ENVELOPE_VERSION);
    assert_int_equal(d.payload->via.map.size, 0);
    pk_envelope_decoded_free(&d);
    msgpack_sbuffer_destroy(&sb);
}

static void test_round_trip_empty_optional_strings(void **state)
{
    (void)state;
    pk_envelope e = sample_envelope();
    e.actor_id = 0;
    e.actor_role[0] = e.request_id[0] = e.reply_to[0] = '\0';
    e.issued_at_us = 0;
    const uint8_t payload[] = {0x80};
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    assert_int_equal(pk_envelope_encode(&e, payload, sizeof(payload), &sb), 0);
    pk_envelope_decoded d;
    assert_int_equal(pk_envelope_decode(sb.data, sb.size, &d, NULL, 0), 0);
    assert_string_equal(d.env.actor_role, "");
    assert_string_equal(d.env.request_id, "");
    assert_string_equal(d.env.reply_to, "");
    pk_envelope_decoded_free(&d);
    msgpack_sbuffer_destroy(&sb);
}

/* The payload is read long after the Kafka message buffer is released. */
static void test_payload_outlives_input(void **state)
{
    (void)state;
    msgpack_sbuffer sb = encode_sample();
    char *copy = malloc(sb.size);
    assert_non_null(copy);
    memcpy(copy, sb.data, sb.size);
    pk_envelope_decoded d;
    assert_int_equal(pk_envelope_decode(copy, sb.size, &d, NULL, 0), 0);
    memset(copy, 0xee, sb.size);
    free(copy);   /* ASan would flag any read through the old buffer */
    const char *s;
    size_t n;
    assert_int_equal(pk_mp_get_str(d.payload, "location_address", &s, &n), 0);
    assert_memory_equal(s, "12 Temple Road, Pune", n);
    pk_envelope_decoded_free(&d);
    msgpack_sbuffer_destroy(&sb);
}

static void test_unknown_keys_ignored(void **state)
{
    (void)state;
    assert_variant_decodes((variant){.extra = "trace", .extra_value = v_str16});
    assert_variant_decodes((variant){.swap = "actor", .value = actor_extra_key});
    assert_variant_decodes((variant){.swap = "actor", .value = actor_anonymous});
    assert_variant_decodes((variant){.swap = "actor", .value = actor_max_role});
    assert_variant_decodes((variant){.swap = "type", .value = v_type_47});
    assert_variant_decodes((variant){.swap = "request_id", .value = v_rid_63});
    assert_variant_decodes((variant){.swap = "reply_to", .value = v_reply_95});
    assert_variant_decodes((variant){.swap = "issued_at", .value = v_int_max});
    assert_variant_decodes((variant){.swap = "issued_at", .value = v_zero});
    assert_variant_decodes((variant){.swap = "payload", .value = v_empty_map});
}

/* ---- hostile input ----------------------------------------------------- */

static void test_every_prefix_is_an_error(void **state)
{
    (void)state;
    msgpack_sbuffer sb = encode_sample();
    for (size_t len = 0; len < sb.size; len++)
        assert_decode_fails(sb.data, len, NULL);
    msgpack_sbuffer_destroy(&sb);
}

/* Flips every byte to several values: each result is either an error or a
 * well-formed envelope, never a crash, leak or sanitizer report. */
static void test_every_single_byte_corruption(void **state)
{
    (void)state;
    msgpack_sbuffer sb = encode_sample();
    uint8_t *buf = malloc(sb.size);
    assert_non_null(buf);
    size_t decoded = 0, rejected = 0;
    for (size_t pos = 0; pos < sb.size; pos++) {
        const uint8_t orig = (uint8_t)sb.data[pos];
        const uint8_t values[] = {0x00, 0xff, 0x7f, 0x80, 0xc0, 0xc1, 0xc4, 0xd9, 0xdb, 0xdc, 0xdd,
                                  0xde, 0xdf, 0xc6, 0xc9, 0x9f, 0x8f, 0xbf, (uint8_t)(orig ^ 0x01),
                                  (uint8_t)(orig ^ 0x80), (uint8_t)(orig + 1), (uint8_t)(orig - 1)};
        for (size_t k = 0; k < sizeof(values); k++) {
            memcpy(buf, sb.data, sb.size);
            buf[pos] = values[k];
            pk_envelope_decoded d;
            char err[128] = "";
            if (pk_envelope_decode(buf, sb.size, &d, err, sizeof(err)) != 0) {
                assert_true(err[0] != '\0');
                assert_null(d.payload);
                rejected++;
                continue;
            }
            /* Whatever got through still obeys the envelope's rules. */
            assert_int_equal(d.env.v, PK_ENVELOPE_VERSION);
            assert_true(d.env.type[0] != '\0');
            assert_true(strlen(d.env.type) < PK_TYPE_MAX);
            assert_true(d.env.issued_at_us >= 0 && d.env.actor_id >= 0);
            assert_int_equal(d.payload->type, MSGPACK_OBJECT_MAP);
            pk_envelope_decoded_free(&d);
            decoded++;
        }
    }
    assert_true(rejected > 0 && decoded > 0);   /* both paths were exercised */
    free(buf);
    msgpack_sbuffer_destroy(&sb);
}

static void test_oversized(void **state)
{
    (void)state;
    size_t len = PK_ENVELOPE_MAX_BYTES + 1;
    uint8_t *big = calloc(1, len);
    assert_non_null(big);
    big[0] = 0x80;   /* would be an (empty) map if the size were ignored */
    assert_decode_fails(big, len, "message too large");
    free(big);
}

/* Right at the limit the codec still works; one byte past it, neither side does. */
static void test_size_limit_boundary(void **state)
{
    (void)state;
    msgpack_sbuffer small = encode_sample();
    pk_envelope e = sample_envelope();
    /* Envelope overhead with an empty payload map: */
    msgpack_sbuffer probe;
    msgpack_sbuffer_init(&probe);
    const uint8_t empty_map[] = {0x80};
    assert_int_equal(pk_envelope_encode(&e, empty_map, 1, &probe), 0);
    size_t overhead = probe.size - 1;
    msgpack_sbuffer_destroy(&probe);
    msgpack_sbuffer_destroy(&small);

    /* payload = {"x": str32 of n bytes}: 1 + 2 + 5 + n bytes */
    for (int over = 0; over <= 1; over++) {
        size_t n = PK_ENVELOPE_MAX_BYTES - overhead - 8 + (size_t)over;
        msgpack_sbuffer payload, out;
        msgpack_sbuffer_init(&payload);
        msgpack_sbuffer_init(&out);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &payload, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, 1);
        pk_mp_pack_cstr(&pk, "x");
        msgpack_pack_str(&pk, n);
        char *body = calloc(1, n);
        assert_non_null(body);
        memset(body, 'x', n);
        msgpack_pack_str_body(&pk, body, n);
        free(body);
        int rc = pk_envelope_encode(&e, payload.data, payload.size, &out);
        if (!over) {
            assert_int_equal(rc, 0);
            assert_int_equal(out.size, PK_ENVELOPE_MAX_BYTES);
            pk_envelope_decoded d;
            assert_int_equal(pk_envelope_decode(out.data, out.size, &d, NULL, 0), 0);
            pk_envelope_decoded_free(&d);
        } else {
            assert_int_equal(rc, -1);
            assert_int_equal(out.size, 0);
        }
        msgpack_sbuffer_destroy(&payload);
        msgpack_sbuffer_destroy(&out);
    }
}

static void test_wrong_version(void **state)
{
    (void)state;
    assert_variant_fails((variant){.swap = "v", .value = v_two}, "unsupported version: 2");
    assert_variant_fails((variant){.swap = "v", .value = v_zero}, "unsupported version: 0");
    assert_variant_fails((variant){.swap = "v", .value = v_minus_one}, "bad field: v");
    assert_variant_fails((variant){.swap = "v", .value = v_str_one}, "bad field: v");
    assert_variant_fails((variant){.swap = "v", .value = v_double}, "bad field: v");
    assert_variant_fails((variant){.swap = "v", .value = v_nil}, "bad field: v");
    /* A v2 message is reported as a version problem, whatever else changed. */
    assert_variant_fails((variant){.swap = "v", .value = v_two, .drop = "actor"}, "unsupported version: 2");
}

static void test_bad_id(void **state)
{
    (void)state;
    assert_variant_fails((variant){.swap = "id", .value = v_bin15}, "bad field: id");
    assert_variant_fails((variant){.swap = "id", .value = v_bin17}, "bad field: id");
    assert_variant_fails((variant){.swap = "id", .value = v_str16}, "bad field: id");
    assert_variant_fails((variant){.swap = "id", .value = v_nil}, "bad field: id");
}

static void test_missing_keys(void **state)
{
    (void)state;
    for (size_t i = 0; i < 8; i++) {
        char want[64];
        snprintf(want, sizeof(want), "missing field: %s", keys[i]);
        assert_variant_fails((variant){.drop = keys[i]}, want);
    }
    assert_variant_fails((variant){.swap = "actor", .value = actor_no_id}, "missing field: actor.id");
    assert_variant_fails((variant){.swap = "actor", .value = actor_no_role}, "missing field: actor.role");
}

static void test_wrong_types_and_limits(void **state)
{
    (void)state;
    const struct { const char *key; packfn value; const char *want; } cases[] = {
        {"type", v_zero, "bad field: type"},
        {"type", v_empty_str, "bad field: type"},
        {"type", v_upper, "bad field: type"},
        {"type", v_space, "bad field: type"},
        {"type", v_dash, "bad field: type"},
        {"type", v_nul_inside, "bad field: type"},
        {"type", v_type_bin, "bad field: type"},
        {"type", v_type_48, "bad field: type"},
        {"issued_at", v_minus_one, "bad field: issued_at"},
        {"issued_at", v_str_one, "bad field: issued_at"},
        {"issued_at", v_double, "bad field: issued_at"},
        {"issued_at", v_huge, "bad field: issued_at"},
        {"issued_at", v_true, "bad field: issued_at"},
        {"actor", v_array, "bad field: actor"},
        {"actor", v_str16, "bad field: actor"},
        {"actor", actor_neg_id, "bad field: actor.id"},
        {"actor", actor_str_id, "bad field: actor.id"},
        {"actor", actor_int_role, "bad field: actor.role"},
        {"actor", actor_long_role, "bad field: actor.role"},
        {"request_id", v_rid_64, "bad field: request_id"},
        {"request_id", v_zero, "bad field: request_id"},
        {"request_id", v_nil, "bad field: request_id"},
        {"request_id", v_newline, "bad field: request_id"},
        {"reply_to", v_reply_96, "bad field: reply_to"},
        {"reply_to", v_nul_inside, "bad field: reply_to"},
        {"reply_to", v_true, "bad field: reply_to"},
        {"payload", v_array, "bad field: payload"},
        {"payload", v_nil, "bad field: payload"},
        {"payload", v_str16, "bad field: payload"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_variant_fails((variant){.swap = cases[i].key, .value = cases[i].value}, cases[i].want);
}

static void test_duplicates_and_key_types(void **state)
{
    (void)state;
    assert_variant_fails((variant){.extra = "type", .extra_value = v_upper}, "duplicate field: type");
    assert_variant_fails((variant){.extra = "payload", .extra_value = v_empty_map}, "duplicate field: payload");
    assert_variant_fails((variant){.swap = "actor", .value = actor_dup_role}, "duplicate field: actor.role");
    /* A non-str key anywhere in the envelope map. */
    const uint8_t int_key[] = {0x81, 0x01, 0x02};
    assert_decode_fails(int_key, sizeof(int_key), "bad key");
}

static void test_trailing_garbage(void **state)
{
    (void)state;
    msgpack_sbuffer sb = encode_sample();
    msgpack_sbuffer_write(&sb, "\x00", 1);
    assert_decode_fails(sb.data, sb.size, "trailing bytes");
    msgpack_sbuffer_destroy(&sb);
    /* Two envelopes back to back are one message too many. */
    sb = encode_sample();
    msgpack_sbuffer second = encode_sample();
    msgpack_sbuffer_write(&sb, second.data, second.size);
    assert_decode_fails(sb.data, sb.size, "trailing bytes");
    msgpack_sbuffer_destroy(&second);
    msgpack_sbuffer_destroy(&sb);
}

static void test_non_map_top_level(void **state)
{
    (void)state;
    const uint8_t array[] = {0x91, 0x01};
    const uint8_t str[] = {0xa1, 'v'};
    const uint8_t integer[] = {0x01};
    const uint8_t nil[] = {0xc0};
    assert_decode_fails(array, sizeof(array), "not a map");
    assert_decode_fails(str, sizeof(str), "not a map");
    assert_decode_fails(integer, sizeof(integer), "not a map");
    assert_decode_fails(nil, sizeof(nil), "not a map");
    assert_decode_fails("", 0, "empty message");
    assert_decode_fails(NULL, 0, "empty message");
    const uint8_t reserved[] = {0xc1};
    assert_decode_fails(reserved, 1, "malformed msgpack");
    const uint8_t bomb[] = {0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 'v', 0x01};
    assert_decode_fails(bomb, sizeof(bomb), "truncated msgpack");
}

/* Builds {"v":1,...,"payload": p} where p nests `depth` maps. */
static void pack_deep_payload(msgpack_sbuffer *sb, int depth)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    for (int i = 0; i < depth - 1; i++) {
        msgpack_pack_map(&pk, 1);
        pk_mp_pack_cstr(&pk, "k");
    }
    msgpack_pack_map(&pk, 0);
}

static void test_nesting_limit(void **state)
{
    (void)state;
    pk_envelope e = sample_envelope();
    for (int depth = PK_ENVELOPE_MAX_DEPTH - 1; depth <= PK_ENVELOPE_MAX_DEPTH + 20; depth++) {
        msgpack_sbuffer p, out;
        msgpack_sbuffer_init(&p);
        msgpack_sbuffer_init(&out);
        pack_deep_payload(&p, depth);
        int rc = pk_envelope_encode(&e, p.data, p.size, &out);
        assert_int_equal(rc, depth <= PK_ENVELOPE_MAX_DEPTH - 1 ? 0 : -1);
        if (rc == 0) {
            pk_envelope_decoded d;
            assert_int_equal(pk_envelope_decode(out.data, out.size, &d, NULL, 0), 0);
            pk_envelope_decoded_free(&d);
        }
        msgpack_sbuffer_destroy(&out);
        msgpack_sbuffer_destroy(&p);
    }
    /* A hand-made envelope whose payload is too deep is refused on decode. */
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    variant v = {.drop = "payload"};
    pack_variant(&sb, &v);
    sb.data[0]++;   /* fixmap of 7 -> 8 entries */
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pk_mp_pack_cstr(&pk, "payload");
    pack_deep_payload(&sb, PK_ENVELOPE_MAX_DEPTH);
    assert_decode_fails(sb.data, sb.size, "nested too deep");
    msgpack_sbuffer_destroy(&sb);
}

static void test_error_buffer_handling(void **state)
{
    (void)state;
    const uint8_t array[] = {0x91, 0x01};
    pk_envelope_decoded d;
    char tiny[4] = "zzz";
    assert_int_equal(pk_envelope_decode(array, sizeof(array), &d, NULL, 0), -1);
    assert_int_equal(pk_envelope_decode(array, sizeof(array), &d, tiny, sizeof(tiny)), -1);
    assert_string_equal(tiny, "not");
    pk_envelope_decoded_free(&d);   /* harmless after a failure */
}

/* ---- encoder refusals ----------------------------------------------------- */

static void assert_encode_fails(const pk_envelope *e, const void *payload, size_t len)
{
    msgpack_sbuffer out;
    msgpack_sbuffer_init(&out);
    msgpack_sbuffer_write(&out, "abc", 3);
    assert_int_equal(pk_envelope_encode(e, payload, len, &out), -1);
    assert_int_equal(out.size, 3);   /* left as it was */
    assert_memory_equal(out.data, "abc", 3);
    msgpack_sbuffer_destroy(&out);
}

static void test_encode_rejects_bad_payload(void **state)
{
    (void)state;
    pk_envelope e = sample_envelope();
    const uint8_t array[] = {0x91, 0x01};
    const uint8_t two_maps[] = {0x80, 0x80};
    const uint8_t map_and_byte[] = {0x80, 0x01};
    const uint8_t truncated[] = {0x81, 0xa1, 'k'};
    const uint8_t integer[] = {0x05};
    const uint8_t nil[] = {0xc0};
    const uint8_t bomb[] = {0xdf, 0xff, 0xff, 0xff, 0xff};
    const uint8_t reserved[] = {0x81, 0xa1, 'k', 0xc1};
    const uint8_t map16_empty[] = {0xde, 0x00, 0x00};
    assert_encode_fails(&e, NULL, 0);
    assert_encode_fails(&e, "", 0);
    assert_encode_fails(&e, array, sizeof(array));
    assert_encode_fails(&e, two_maps, sizeof(two_maps));
    assert_encode_fails(&e, map_and_byte, sizeof(map_and_byte));
    assert_encode_fails(&e, truncated, sizeof(truncated));
    assert_encode_fails(&e, integer, sizeof(integer));
    assert_encode_fails(&e, nil, sizeof(nil));
    assert_encode_fails(&e, bomb, sizeof(bomb));
    assert_encode_fails(&e, reserved, sizeof(reserved));
    msgpack_sbuffer out;
    msgpack_sbuffer_init(&out);
    assert_int_equal(pk_envelope_encode(&e, map16_empty, sizeof(map16_empty), &out), 0);
    msgpack_sbuffer_destroy(&out);
}

static void test_encode_rejects_bad_fields(void **state)
{
    (void)state;
    const uint8_t payload[] = {0x80};
    pk_envelope e;
    e = sample_envelope(); e.type[0] = '\0';
    assert_encode_fails(&e, payload, 1);
    e = sample_envelope(); snprintf(e.type, sizeof(e.type), "Booking.create");
    assert_encode_fails(&e, payload, 1);
    e = sample_envelope(); memset(e.type, 'a', sizeof(e.type));   /* not terminated */
    assert_encode_fails(&e, payload, 1);
    e = sample_envelope(); memset(e.actor_role, 'a', sizeof(e.actor_role));
    assert_encode_fails(&e, payload, 1);
    e = sample_envelope(); memset(e.request_id, 'a', sizeof(e.request_id));
    assert_encode_fails(&e, payload, 1);
    e = sample_envelope(); memset(e.reply_to, 'a', sizeof(e.reply_to));
    assert_encode_fails(&e, payload, 1);
    e = sample_envelope(); snprintf(e.request_id, sizeof(e.request_id), "a\tb");
    assert_encode_fails(&e, payload, 1);
    e = sample_envelope(); e.v = 2;
    assert_encode_fails(&e, payload, 1);
    e = sample_envelope(); e.issued_at_us = -1;
    assert_encode_fails(&e, payload, 1);
    e = sample_envelope(); e.actor_id = -1;
    assert_encode_fails(&e, payload, 1);
    assert_int_equal(pk_envelope_encode(NULL, payload, 1, NULL), -1);
}

/* The encoder appends: whatever the caller had in the buffer stays in front. */
static void test_encode_appends(void **state)
{
    (void)state;
    pk_envelope e = sample_envelope();
    const uint8_t payload[] = {0x80};
    msgpack_sbuffer out;
    msgpack_sbuffer_init(&out);
    msgpack_sbuffer_write(&out, "abc", 3);
    assert_int_equal(pk_envelope_encode(&e, payload, 1, &out), 0);
    assert_memory_equal(out.data, "abc", 3);
    pk_envelope_decoded d;
    assert_int_equal(pk_envelope_decode(out.data + 3, out.size - 3, &d, NULL, 0), 0);
    assert_string_equal(d.env.type, "booking.create");
    pk_envelope_decoded_free(&d);
    msgpack_sbuffer_destroy(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_field),
        cmocka_unit_test(test_round_trip_max_lengths),
        cmocka_unit_test(test_round_trip_empty_optional_strings),
        cmocka_unit_test(test_payload_outlives_input),
        cmocka_unit_test(test_unknown_keys_ignored),
        cmocka_unit_test(test_every_prefix_is_an_error),
        cmocka_unit_test(test_every_single_byte_corruption),
        cmocka_unit_test(test_oversized),
        cmocka_unit_test(test_size_limit_boundary),
        cmocka_unit_test(test_wrong_version),
        cmocka_unit_test(test_bad_id),
        cmocka_unit_test(test_missing_keys),
        cmocka_unit_test(test_wrong_types_and_limits),
        cmocka_unit_test(test_duplicates_and_key_types),
        cmocka_unit_test(test_trailing_garbage),
        cmocka_unit_test(test_non_map_top_level),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test(test_error_buffer_handling),
        cmocka_unit_test(test_encode_rejects_bad_payload),
        cmocka_unit_test(test_encode_rejects_bad_fields),
        cmocka_unit_test(test_encode_appends),
    };
    return cmocka_run_group_tests_name("envelope", tests, NULL, NULL);
}
