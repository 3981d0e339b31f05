/* event.h — one message of the `events` topic: a journal row with its
 * outcome, as the outbox relay (relay.c) publishes it and punyaka-replay
 * reads it back. Normative description: schemas/events.md.
 *
 * A msgpack map (version WK_EVENT_VERSION), compact on purpose: the dev
 * Kafka keeps only ~5 MiB per partition and `events` has one partition.
 *   v          1
 *   seq        int     journal seq (total order of the journal)
 *   id         bin16   command id
 *   type       str     command type
 *   issued_at  int     µs since the epoch (the envelope's)
 *   actor      [id, role]
 *   status     str     applied | rejected
 *   code       str|nil rejection reason
 *   http       int     the outcome's HTTP status
 *   entity     [type, id] | nil
 *   created    map     created_ids: {"booking": 42, "payments": [7, 8], …}
 *   money      [[purpose, kind, paise], …]  payments rows the command wrote
 *   src        [topic, partition, offset]   where the command was consumed
 *   envelope   bin     the command envelope exactly as the worker received it
 * A decoder ignores unknown keys (additive changes keep v = 1). */
#ifndef PUNYAKA_WORKER_EVENT_H
#define PUNYAKA_WORKER_EVENT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <msgpack.h>
#include "common/envelope.h"
#include "common/uuid.h"

#define WK_EVENT_VERSION 1

typedef struct {
    int64_t seq;
    pk_uuid id;
    char type[PK_TYPE_MAX];
    int64_t issued_at_us;
    int64_t actor_id;
    char actor_role[PK_ROLE_MAX];
    char status[16];
    char code[48];              /* "" = none */
    int http_status;
    char entity_type[24];       /* "" = none */
    int64_t entity_id;
    json_t *created_ids;        /* object; owned */
    json_t *money;              /* array of [purpose, kind, amount]; owned */
    char src_topic[128];
    int src_partition;
    int64_t src_offset;
    const unsigned char *envelope;   /* borrowed (encode) or envelope_owned (decode) */
    size_t envelope_len;
    unsigned char *envelope_owned;   /* freed by wk_event_free */
} wk_event;

/* Appends the event to out. 0, or -1 when a field does not fit the format. */
int wk_event_encode(const wk_event *e, msgpack_sbuffer *out);

/* Decodes one event; on success the caller frees it with wk_event_free.
 * -1 with a reason in err when the bytes are not a version-1 event. */
int wk_event_decode(const void *buf, size_t len, wk_event *e, char *err, size_t errcap);
void wk_event_free(wk_event *e);

/* The Kafka key of an event: "booking:42", or the command id when the
 * command names no entity. */
void wk_event_key(const wk_event *e, char *buf, size_t cap);

/* JSON -> msgpack for created_ids-like values (objects, arrays, integers,
 * strings, booleans, null). */
void wk_pack_json(msgpack_packer *pk, const json_t *j);

#endif
