/* fuzz_command — every command type's payload decoding in the workers, as
 * dispatched from the command table (workers/commands.c).
 *
 * Input: the first byte picks the command type (modulo the table size); the
 * next byte is the actor's role and id; the rest is the payload, msgpack,
 * checked and unpacked as pk_envelope_decode does (pk_mp_scan first). The
 * apply function then runs against no database at all (ctx.db = NULL): each
 * family decodes and checks its whole payload before its first statement,
 * so everything up to that statement — the readers of fields.c and shop.c
 * and each family's own decode functions — runs on the fuzzed payload, and
 * the first statement fails as a lost connection would (WK_TRANSIENT).
 * A payload the decoders refuse is WK_POISON; nothing may crash, leak or
 * read out of bounds either way. The readers are also run directly on the
 * payload's own keys (wf_json_from_mp, wk_field_keys_distinct, wk_field_text, …). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/mp.h"
#include "workers/fields.h"
#include "workers/shop.h"
#include "workers/worker.h"
#include "tests/fuzz/fuzz_support.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_init();
    return 0;
}

/* Every reader on one key of the payload, with the limits the families use. */
static void readers(const msgpack_object *p, const char *key)
{
    int64_t i;
    bool b;
    double d;
    char text[2049];
    (void)wk_field_int(p, key, INT64_MIN, INT64_MAX, &i);
    (void)wk_field_id(p, key, &i);
    (void)wk_field_bool(p, key, &b);
    (void)wk_field_number(p, key, -180.0, 180.0, &d);
    (void)wk_field_text(p, key, 0, text, sizeof(text));
    (void)wk_field_text(p, key, 1, text, sizeof(text));
    (void)wk_field_text(p, key, 0, text, 9);
    (void)wk_field_line(p, key, 0, text, 4);
    (void)wk_field_int(p, key, 1, 1000, &i);
    (void)wk_field_str(p, key, text, 16);
    (void)pk_mp_get_strcpy(p, key, text, 16);
}

static void run_readers(const msgpack_object *p)
{
    (void)wk_field_keys_distinct(p);
    json_t *j = wf_json_from_mp(p);
    json_decref(j);
    char key[64];
    for (uint32_t k = 0; k < p->via.map.size && k < 32; k++) {
        const msgpack_object *name = &p->via.map.ptr[k].key;
        if (name->type != MSGPACK_OBJECT_STR || name->via.str.size >= sizeof(key))
            continue;
        if (name->via.str.size)   /* msgpack-c leaves ptr NULL for "" */
            memcpy(key, name->via.str.ptr, name->via.str.size);
        key[name->via.str.size] = 0;
        readers(p, key);
    }
}

static const char *const ROLES[] = {"", "customer", "priest", "admin"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > PK_ENVELOPE_MAX_BYTES)
        return 0;
    const wk_command *c = wk_command_at(data[0] % wk_command_count());
    uint8_t actor = data[1];
    data += 2, size -= 2;
    size_t end = 0;
    if (pk_mp_scan(data, size, PK_ENVELOPE_MAX_DEPTH - 1, &end) != PK_MP_SCAN_OK || end != size)
        return 0;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    if (msgpack_unpack_next(&u, (const char *)data, size, &off) != MSGPACK_UNPACK_SUCCESS ||
        u.data.type != MSGPACK_OBJECT_MAP) {
        msgpack_unpacked_destroy(&u);
        return 0;
    }
    run_readers(&u.data);

    pk_envelope_decoded cmd;
    memset(&cmd, 0, sizeof(cmd));
    cmd.env.v = PK_ENVELOPE_VERSION;
    snprintf(cmd.env.type, sizeof(cmd.env.type), "%s", c->type);
    cmd.env.issued_at_us = INT64_C(1796083200000000);   /* 2026-12-01 */
    cmd.env.actor_id = actor >> 2;
    snprintf(cmd.env.actor_role, sizeof(cmd.env.actor_role), "%s", ROLES[actor & 3]);
    cmd.payload = &u.data;
    if (wk_command_find(cmd.env.type) != c)
        abort();

    wk_ctx ctx = {.db = NULL, .cfg = fuzz_config()};
    wk_outcome out;
    wk_outcome_init(&out);
    wk_result r = c->apply(&ctx, &cmd, &out);
    if (r != WK_DONE && r != WK_TRANSIENT && r != WK_POISON)
        abort();
    wk_outcome_free(&out);
    msgpack_unpacked_destroy(&u);
    return 0;
}
