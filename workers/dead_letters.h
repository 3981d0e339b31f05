/* dead_letters.h — poison messages, kept where operators find them, and
 * never lost (DESIGN §3 rule 2; docs/operations.md "dlq"). A dead letter is
 * two things:
 *
 *   a dead_letters row   one per Kafka message (topic, partition, offset),
 *                        however often it is delivered. For a command that
 *                        is rejected as poison it is written in the
 *                        rejection's own transaction (txn.c), so the two
 *                        commit together or not at all; for a message with
 *                        no command to reject — undecodable, or of a type
 *                        no worker knows — it is written on its own.
 *   the dlq message      the original bytes and key, with reason and origin
 *                        headers, produced after that commit and confirmed:
 *                        the worker waits (bounded) for the broker's
 *                        acknowledgement, and only then is the Kafka offset
 *                        stored. Unconfirmed ⇒ WK_TRANSIENT: the consumer
 *                        loop backs off and handles the message again, which
 *                        finds the row and sends again — so the dlq topic
 *                        holds every dead letter at least once.
 *
 * The producer must have wk_dead_letter_on_delivery as its delivery report
 * callback, and be polled only by the thread that sends (the consumer
 * loop): the wait serves the callback. */
#ifndef PUNYAKA_WORKER_DEAD_LETTERS_H
#define PUNYAKA_WORKER_DEAD_LETTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <librdkafka/rdkafka.h>
#include "workers/txn.h"

/* How long one send waits for the acknowledgement. The producer's
 * message.timeout.ms must be shorter (main.c), so the report always comes
 * within the wait, delivered or failed. */
#define WK_DEAD_LETTER_ACK_WAIT_MS 10000

typedef struct {
    wk_source src;             /* the message's topic, partition, offset and key */
    const void *payload;       /* its bytes as received */
    size_t len;
    const char *reason;        /* why: "truncated msgpack", "unknown_command", "db_error 22003: …" */
} wk_dead_letter;

/* Writes the dead_letters row unless this message already has one. Runs on
 * ctx->db, in whatever transaction is open. WK_DONE, or WK_TRANSIENT when
 * the insert failed (logged): the row holds only bytes and a cleaned
 * reason, so a failure is the database's, and dropping it would lose the
 * dead letter. */
wk_result wk_dead_letter_record(wk_ctx *ctx, const wk_dead_letter *d);

/* The reason stored for this message's dead_letters row, if it has one
 * (*found). WK_DONE, or a failed statement's class. */
wk_result wk_dead_letter_find(wk_ctx *ctx, const wk_source *src, char reason[WK_DEAD_LETTER_REASON_MAX],
                              bool *found);

/* Produces the message to the dlq topic and waits for the acknowledgement:
 * WK_DONE when the broker has it, WK_TRANSIENT when not (logged). */
wk_result wk_dead_letter_send(rd_kafka_t *producer, const pk_config *cfg, const wk_dead_letter *d);

/* The delivery report callback of the dead-letter producer. */
void wk_dead_letter_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);

/* A reason as it is stored and sent: valid UTF-8, no control characters
 * (decoder messages may quote payload bytes), at most cap - 1 bytes. */
void wk_dead_letter_clean_reason(const char *reason, char *out, size_t cap);

#endif
