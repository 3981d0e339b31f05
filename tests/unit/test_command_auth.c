/* test_command_auth.c — the envelope's authentication trailer
 * (common/command_auth.h): a good tag verifies and names the envelope
 * inside; a tampered byte anywhere, a wrong key, a missing or truncated
 * trailer do not; the previous key verifies during a rotation but never
 * signs; malformed keys are refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/command_auth.h"
#include "common/envelope.h"
#include "common/mp.h"

#define KEY_A "0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0"
#define KEY_B "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"

/* A real envelope (booking.create with a small payload), signed with `hex`. */
static void signed_message(const char *hex, msgpack_sbuffer *out, size_t *envelope_len)
{
    pk_command_keys k;
    assert_int_equal(pk_command_keys_load(&k, hex, NULL, NULL, 0), 0);
    msgpack_sbuffer payload;
    msgpack_sbuffer_init(&payload);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &payload, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    pk_mp_kv_str(&pk, "booking_date", "2026-12-24");
    pk_mp_kv_i64(&pk, "priest", 7);
    pk_envelope e = {.v = PK_ENVELOPE_VERSION, .issued_at_us = INT64_C(1764094297123456), .actor_id = 12};
    snprintf(e.type, sizeof(e.type), "booking.create");
    snprintf(e.actor_role, sizeof(e.actor_role), "customer");
    pk_uuid_v7(&e.id, 1764094297123);
    msgpack_sbuffer_init(out);
    assert_int_equal(pk_envelope_encode(&e, payload.data, payload.size, out), 0);
    *envelope_len = out->size;
    assert_int_equal(pk_command_sign(&k, out->data, out->size, out), 0);
    assert_int_equal(out->size, *envelope_len + PK_AUTH_TRAILER_BYTES);
    msgpack_sbuffer_destroy(&payload);
    pk_command_keys_wipe(&k);
}

static pk_auth_result verify_with(const char *cur, const char *prev, const void *msg, size_t len, size_t *env_len)
{
    pk_command_keys k;
    assert_int_equal(pk_command_keys_load(&k, cur, prev, NULL, 0), 0);
    pk_auth_result r = pk_command_verify(&k, msg, len, env_len, NULL);
    pk_command_keys_wipe(&k);
    return r;
}

static void test_good_tag(void **state)
{
    (void)state;
    msgpack_sbuffer m;
    size_t n, got = 99;
    signed_message(KEY_A, &m, &n);
    pk_command_keys k;
    assert_int_equal(pk_command_keys_load(&k, KEY_A, NULL, NULL, 0), 0);
    unsigned char id[PK_AUTH_KEY_ID_BYTES];
    assert_int_equal(pk_command_verify(&k, m.data, m.size, &got, id), PK_AUTH_OK);
    assert_int_equal(got, n);
    assert_memory_equal(id, k.current.id, sizeof(id));
    /* What the worker then decodes is exactly the signed envelope. */
    pk_envelope_decoded d;
    assert_int_equal(pk_envelope_decode(m.data, got, &d, NULL, 0), 0);
    assert_string_equal(d.env.type, "booking.create");
    assert_int_equal(d.env.actor_id, 12);
    pk_envelope_decoded_free(&d);
    /* The signed message as a whole is not an envelope: nobody can skip the check by accident. */
    assert_int_equal(pk_envelope_decode(m.data, m.size, &d, NULL, 0), -1);
    assert_int_equal(pk_command_envelope_len(m.data, m.size), n);
    pk_command_keys_wipe(&k);
    msgpack_sbuffer_destroy(&m);
}

/* Every single byte of the envelope and of the tag is covered. */
static void test_tampered_byte(void **state)
{
    (void)state;
    msgpack_sbuffer m;
    size_t n, got;
    signed_message(KEY_A, &m, &n);
    for (size_t i = 0; i < m.size; i++) {
        if (i >= n && i < n + 3 + PK_AUTH_KEY_ID_BYTES)
            continue;   /* trailer head, version and key id: their own results below */
        m.data[i] ^= 0x01;
        assert_int_equal(verify_with(KEY_A, NULL, m.data, m.size, &got), PK_AUTH_BAD_TAG);
        assert_int_equal(got, 0);
        m.data[i] ^= 0x01;
    }
    m.data[n + 2] = 2;   /* a trailer version this code does not know */
    assert_int_equal(verify_with(KEY_A, NULL, m.data, m.size, &got), PK_AUTH_BAD_VERSION);
    m.data[n + 2] = PK_AUTH_VERSION;
    m.data[n + 3] ^= 0x80;   /* the key id */
    assert_int_equal(verify_with(KEY_A, NULL, m.data, m.size, &got), PK_AUTH_UNKNOWN_KEY);
    m.data[n + 3] ^= 0x80;
    assert_int_equal(verify_with(KEY_A, NULL, m.data, m.size, &got), PK_AUTH_OK);
    msgpack_sbuffer_destroy(&m);
}

static void test_wrong_key(void **state)
{
    (void)state;
    msgpack_sbuffer m;
    size_t n, got;
    signed_message(KEY_B, &m, &n);
    assert_int_equal(verify_with(KEY_A, NULL, m.data, m.size, &got), PK_AUTH_UNKNOWN_KEY);
    /* A forger who copies the real key id still needs the key. */
    pk_command_keys a;
    assert_int_equal(pk_command_keys_load(&a, KEY_A, NULL, NULL, 0), 0);
    memcpy(m.data + n + 3, a.current.id, PK_AUTH_KEY_ID_BYTES);
    assert_int_equal(pk_command_verify(&a, m.data, m.size, &got, NULL), PK_AUTH_BAD_TAG);
    assert_int_equal(pk_command_verify(NULL, m.data, m.size, &got, NULL), PK_AUTH_UNKNOWN_KEY);
    pk_command_keys_wipe(&a);
    msgpack_sbuffer_destroy(&m);
}

/* Rotation: B is the new key, A the previous one. A-signed messages in
 * flight still verify; new ones are signed with B; once A is dropped its
 * messages are refused. */
static void test_previous_key(void **state)
{
    (void)state;
    msgpack_sbuffer old, fresh;
    size_t n_old, n_fresh, got;
    signed_message(KEY_A, &old, &n_old);
    assert_int_equal(verify_with(KEY_B, KEY_A, old.data, old.size, &got), PK_AUTH_OK);
    assert_int_equal(got, n_old);
    signed_message(KEY_B, &fresh, &n_fresh);
    assert_int_equal(verify_with(KEY_B, KEY_A, fresh.data, fresh.size, &got), PK_AUTH_OK);
    assert_int_equal(verify_with(KEY_B, NULL, old.data, old.size, &got), PK_AUTH_UNKNOWN_KEY);
    /* The previous key only verifies: signing uses the current one. */
    pk_command_keys k;
    assert_int_equal(pk_command_keys_load(&k, KEY_B, KEY_A, NULL, 0), 0);
    msgpack_sbuffer s;
    msgpack_sbuffer_init(&s);
    assert_int_equal(pk_command_sign(&k, fresh.data, n_fresh, &s), 0);
    assert_memory_equal(s.data + 3, k.current.id, PK_AUTH_KEY_ID_BYTES);
    assert_memory_equal(s.data, fresh.data + n_fresh, PK_AUTH_TRAILER_BYTES);   /* deterministic */
    msgpack_sbuffer_destroy(&s);
    pk_command_keys_wipe(&k);
    msgpack_sbuffer_destroy(&old);
    msgpack_sbuffer_destroy(&fresh);
}

static void test_missing_tag(void **state)
{
    (void)state;
    msgpack_sbuffer m;
    size_t n, got;
    signed_message(KEY_A, &m, &n);
    assert_int_equal(verify_with(KEY_A, NULL, m.data, n, &got), PK_AUTH_MISSING);   /* the bare envelope */
    assert_int_equal(pk_command_envelope_len(m.data, n), n);
    assert_int_equal(verify_with(KEY_A, NULL, m.data + n, PK_AUTH_TRAILER_BYTES, &got), PK_AUTH_MISSING);
    assert_int_equal(verify_with(KEY_A, NULL, "", 0, &got), PK_AUTH_MISSING);
    assert_int_equal(verify_with(KEY_A, NULL, NULL, 0, &got), PK_AUTH_MISSING);
    msgpack_sbuffer_destroy(&m);
}

/* Cut anywhere — inside the tag, the key id or the envelope — the message
 * never verifies. */
static void test_truncated_tag(void **state)
{
    (void)state;
    msgpack_sbuffer m;
    size_t n, got;
    signed_message(KEY_A, &m, &n);
    for (size_t len = 0; len < m.size; len++) {
        pk_auth_result r = verify_with(KEY_A, NULL, m.data, len, &got);
        assert_int_not_equal(r, PK_AUTH_OK);
        assert_int_equal(got, 0);
    }
    /* A byte appended after the tag moves the trailer: not signed. */
    char extra = 0;
    msgpack_sbuffer_write(&m, &extra, 1);
    assert_int_not_equal(verify_with(KEY_A, NULL, m.data, m.size, &got), PK_AUTH_OK);
    msgpack_sbuffer_destroy(&m);
}

static void test_key_parsing(void **state)
{
    (void)state;
    pk_command_keys k;
    char err[160];
    assert_int_equal(pk_command_keys_load(&k, NULL, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "PUNYAKA_COMMAND_KEY is not set"));
    assert_int_equal(pk_command_keys_load(&k, "", NULL, err, sizeof(err)), -1);
    assert_int_equal(pk_command_keys_load(&k, "abcd", NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "malformed"));
    assert_int_equal(pk_command_keys_load(&k, KEY_A "0", NULL, err, sizeof(err)), -1);
    assert_int_equal(
        pk_command_keys_load(&k, "0000000000000000000000000000000000000000000000000000000000000000", NULL, err,
                             sizeof(err)),
        -1);
    assert_int_equal(pk_command_keys_load(&k, KEY_A, "zz", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "PUNYAKA_COMMAND_KEY_PREVIOUS"));
    assert_false(k.current.set);   /* wiped */
    assert_int_equal(pk_command_keys_load(&k, KEY_A, "", err, sizeof(err)), 0);
    assert_true(k.current.set);
    assert_false(k.previous.set);
    char hex[PK_AUTH_KEY_ID_HEX];
    pk_command_key_id_hex(&k.current, hex);
    assert_int_equal(strlen(hex), 16);
    msgpack_sbuffer s;
    msgpack_sbuffer_init(&s);
    pk_command_keys none;
    memset(&none, 0, sizeof(none));
    assert_int_equal(pk_command_sign(&none, "x", 1, &s), -1);   /* no key, no signature */
    assert_int_equal(s.size, 0);
    msgpack_sbuffer_destroy(&s);
    pk_command_keys_wipe(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_tag),     cmocka_unit_test(test_tampered_byte),
        cmocka_unit_test(test_wrong_key),    cmocka_unit_test(test_previous_key),
        cmocka_unit_test(test_missing_tag),  cmocka_unit_test(test_truncated_tag),
        cmocka_unit_test(test_key_parsing),
    };
    return cmocka_run_group_tests_name("command_auth", tests, NULL, NULL);
}
