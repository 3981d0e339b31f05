/* fuzz_envelope — common/envelope.c: pk_envelope_decode on any bytes, as a
 * worker receives them from Kafka. On success the decoded envelope must
 * encode again (the rules are the same on both sides) and decode to the same
 * fields, and it is dispatched as the worker does: its type looked up in the
 * command table (workers/commands.c) and, when known, applied with no
 * database (fuzz_command explains why that reaches the payload decoders). */
#include <stdlib.h>
#include <string.h>
#include "common/envelope.h"
#include "workers/worker.h"
#include "tests/fuzz/fuzz_support.h"

static void same_or_abort(const pk_envelope *a, const pk_envelope *b)
{
    if (a->v != b->v || memcmp(&a->id, &b->id, sizeof(a->id)) != 0 || strcmp(a->type, b->type) != 0 ||
        a->issued_at_us != b->issued_at_us || a->actor_id != b->actor_id ||
        strcmp(a->actor_role, b->actor_role) != 0 || strcmp(a->request_id, b->request_id) != 0 ||
        strcmp(a->reply_to, b->reply_to) != 0)
        abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pk_envelope_decoded d;
    char err[128];
    if (pk_envelope_decode(data, size, &d, err, sizeof(err)) != 0) {
        if (!memchr(err, 0, sizeof(err)) || !err[0])
            abort();
        return 0;
    }
    if (!d.payload || d.payload->type != MSGPACK_OBJECT_MAP)
        abort();
    msgpack_sbuffer payload, again;
    msgpack_sbuffer_init(&payload);
    msgpack_sbuffer_init(&again);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &payload, msgpack_sbuffer_write);
    msgpack_pack_object(&pk, *d.payload);
    if (pk_envelope_encode(&d.env, payload.data, payload.size, &again) != 0)
        abort();
    pk_envelope_decoded d2;
    if (pk_envelope_decode(again.data, again.size, &d2, err, sizeof(err)) != 0)
        abort();
    same_or_abort(&d.env, &d2.env);
    const wk_command *c = wk_command_find(d.env.type);
    if (c) {
        wk_ctx ctx = {.db = NULL, .cfg = fuzz_config()};
        wk_outcome out;
        wk_outcome_init(&out);
        wk_result r = c->apply(&ctx, &d, &out);
        if (r != WK_DONE && r != WK_TRANSIENT && r != WK_POISON)
            abort();
        wk_outcome_free(&out);
    }
    pk_envelope_decoded_free(&d2);
    pk_envelope_decoded_free(&d);
    msgpack_sbuffer_destroy(&payload);
    msgpack_sbuffer_destroy(&again);
    return 0;
}
