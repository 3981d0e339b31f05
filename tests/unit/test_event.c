/* test_event.c — the events-topic codec (workers/event.h): round trip,
 * the Kafka key, and that truncated, corrupted or incomplete bytes are
 * refused rather than half-read. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include "common/mp.h"
#include "workers/event.h"

static const unsigned char ENVELOPE[] = {0x81, 0xa1, 'v', 0x01};

static void sample(wk_event *e)
{
    memset(e, 0, sizeof(*e));
    e->seq = 1042;
    for (int i = 0; i < 16; i++)
        e->id.b[i] = (uint8_t)(0xa0 + i);
    strcpy(e->type, "booking.create");
    e->issued_at_us = 1764094297123456;
    e->actor_id = 12;
    strcpy(e->actor_role, "customer");
    strcpy(e->status, "applied");
    e->http_status = 201;
    strcpy(e->entity_type, "booking");
    e->entity_id = 311;
    e->created_ids = json_pack("{s:I, s:[I, I]}", "booking", (json_int_t)311, "payments", (json_int_t)7,
                               (json_int_t)8);
    e->money = json_pack("[[s, s, I]]", "advance", "captured", (json_int_t)37501);
    strcpy(e->src_topic, "punyaka.bookings");
    e->src_partition = 3;
    e->src_offset = 5521;
    e->envelope = ENVELOPE;
    e->envelope_len = sizeof(ENVELOPE);
}

static void encode(const wk_event *e, msgpack_sbuffer *sb)
{
    msgpack_sbuffer_init(sb);
    assert_int_equal(wk_event_encode(e, sb), 0);
}

static void test_round_trip(void **state)
{
    (void)state;
    wk_event in, out;
    sample(&in);
    msgpack_sbuffer sb;
    encode(&in, &sb);
    char err[64];
    assert_int_equal(wk_event_decode(sb.data, sb.size, &out, err, sizeof(err)), 0);
    assert_int_equal(out.seq, 1042);
    assert_memory_equal(out.id.b, in.id.b, 16);
    assert_string_equal(out.type, "booking.create");
    assert_int_equal(out.issued_at_us, in.issued_at_us);
    assert_int_equal(out.actor_id, 12);
    assert_string_equal(out.actor_role, "customer");
    assert_string_equal(out.status, "applied");
    assert_string_equal(out.code, "");
    assert_int_equal(out.http_status, 201);
    assert_string_equal(out.entity_type, "booking");
    assert_int_equal(out.entity_id, 311);
    assert_true(json_equal(out.created_ids, in.created_ids));
    assert_true(json_equal(out.money, in.money));
    assert_string_equal(out.src_topic, "punyaka.bookings");
    assert_int_equal(out.src_partition, 3);
    assert_int_equal(out.src_offset, 5521);
    assert_int_equal(out.envelope_len, sizeof(ENVELOPE));
    assert_memory_equal(out.envelope, ENVELOPE, sizeof(ENVELOPE));
    wk_event_free(&out);
    msgpack_sbuffer_destroy(&sb);
    json_decref(in.created_ids);
    json_decref(in.money);
}

static void test_rejection_without_entity(void **state)
{
    (void)state;
    wk_event in, out;
    sample(&in);
    strcpy(in.status, "rejected");
    strcpy(in.code, "slot_taken");
    in.http_status = 409;
    in.entity_type[0] = 0;
    json_object_clear(in.created_ids);
    json_array_clear(in.money);
    msgpack_sbuffer sb;
    encode(&in, &sb);
    char err[64], key[64];
    assert_int_equal(wk_event_decode(sb.data, sb.size, &out, err, sizeof(err)), 0);
    assert_string_equal(out.code, "slot_taken");
    assert_string_equal(out.entity_type, "");
    assert_int_equal(json_object_size(out.created_ids), 0);
    wk_event_key(&out, key, sizeof(key));
    assert_string_equal(key, "a0a1a2a3-a4a5-a6a7-a8a9-aaabacadaeaf");   /* no entity: the command id */
    strcpy(out.entity_type, "booking");
    out.entity_id = 42;
    wk_event_key(&out, key, sizeof(key));
    assert_string_equal(key, "booking:42");
    wk_event_free(&out);
    msgpack_sbuffer_destroy(&sb);
    json_decref(in.created_ids);
    json_decref(in.money);
}

/* Every prefix and every single-byte corruption either decodes to an
 * event or is refused; none crashes or reads past the buffer (ASan). */
static void test_truncation_and_corruption(void **state)
{
    (void)state;
    wk_event in, out;
    sample(&in);
    msgpack_sbuffer sb;
    encode(&in, &sb);
    char err[64];
    for (size_t n = 0; n < sb.size; n++) {
        unsigned char *copy = malloc(n ? n : 1);
        memcpy(copy, sb.data, n);
        assert_int_equal(wk_event_decode(copy, n, &out, err, sizeof(err)), -1);
        free(copy);
    }
    unsigned char *copy = malloc(sb.size);
    for (size_t i = 0; i < sb.size; i++) {
        memcpy(copy, sb.data, sb.size);
        copy[i] ^= 0x5a;
        if (wk_event_decode(copy, sb.size, &out, err, sizeof(err)) == 0)
            wk_event_free(&out);
    }
    free(copy);
    msgpack_sbuffer_destroy(&sb);
    json_decref(in.created_ids);
    json_decref(in.money);
}

/* Unknown keys are ignored (additive changes); a missing or repeated
 * known key, or another version, is refused. */
static void test_keys_and_version(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    wk_event out;
    char err[64];
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    pk_mp_kv_i64(&pk, "v", 1);
    pk_mp_kv_i64(&pk, "seq", 1);
    assert_int_equal(wk_event_decode(sb.data, sb.size, &out, err, sizeof(err)), -1);
    assert_string_equal(err, "event misses a field");
    msgpack_sbuffer_destroy(&sb);

    wk_event in;
    sample(&in);
    encode(&in, &sb);
    /* Append an unknown key: bump the map's size byte (fixmap 0x8e ⇒ 0x8f). */
    assert_int_equal((unsigned char)sb.data[0], 0x8e);
    sb.data[0] = (char)0x8f;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pk_mp_kv_str(&pk, "future", "ignored");
    assert_int_equal(wk_event_decode(sb.data, sb.size, &out, err, sizeof(err)), 0);
    wk_event_free(&out);
    msgpack_sbuffer_destroy(&sb);

    encode(&in, &sb);
    sb.data[0] = (char)0x8f;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pk_mp_kv_i64(&pk, "seq", 2);   /* seq twice */
    assert_int_equal(wk_event_decode(sb.data, sb.size, &out, err, sizeof(err)), -1);
    msgpack_sbuffer_destroy(&sb);

    encode(&in, &sb);
    assert_int_equal((unsigned char)sb.data[3], 0x01);   /* "v" = 1: fixmap, fixstr "v", fixint */
    sb.data[3] = 0x02;
    assert_int_equal(wk_event_decode(sb.data, sb.size, &out, err, sizeof(err)), -1);
    msgpack_sbuffer_destroy(&sb);
    json_decref(in.created_ids);
    json_decref(in.money);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_rejection_without_entity),
        cmocka_unit_test(test_truncation_and_corruption),
        cmocka_unit_test(test_keys_and_version),
    };
    return cmocka_run_group_tests_name("event", tests, NULL, NULL);
}
