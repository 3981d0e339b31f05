/* process.h — applying one Kafka message, effectively once (DESIGN §3):
 *
 *   verify ─ not signed with PUNYAKA_COMMAND_KEY (or the previous key) ⇒
 *            dead letter `bad_signature`, undecided: nothing is applied,
 *            journaled or put in processed_commands, so a forged copy of
 *            a real command's id cannot block or answer for the real one
 *            (common/command_auth.h)
 *   decode ─ undecodable ⇒ dead letter (no command to decide)
 *   topic  ─ a known type on a topic not its own (a copy: the signature
 *            does not cover the topic) ⇒ dead letter `wrong_topic`,
 *            undecided, so the copy cannot take the command's id
 *   type   ─ no worker knows it ⇒ dead letter, undecided: not journaled, not
 *            in processed_commands, so a redrive after the upgrade applies it
 *   the command transaction (txn.h) ─ duplicate ⇒ re-publish the stored
 *                                     outcome (and re-send its dead letter)
 *                                   ─ poison ⇒ rejected, its dead_letters row
 *                                     in the same transaction
 *   then the dlq message, confirmed (dead_letters.h), the outcome
 *   notification queued (never blocks, notifier.h) — the relays hear of the
 *   commit itself (LISTEN/NOTIFY, relay.h); only
 *   then may the caller store the Kafka offset.
 * Transient failures — the database's (db.h) or an unconfirmed dead letter
 * — return WK_TRANSIENT: the caller backs off and retries the same message;
 * nothing is skipped. Every log line written while a message is handled
 * carries its request_id and the trace id of its `traceparent` header
 * (pk_log_context). */
#ifndef PUNYAKA_WORKER_PROCESS_H
#define PUNYAKA_WORKER_PROCESS_H

#include <librdkafka/rdkafka.h>
#include "common/command_auth.h"
#include "workers/metrics.h"
#include "workers/notifier.h"
#include "workers/relay.h"
#include "workers/txn.h"
#include "workers/worker.h"

typedef struct {
    wk_ctx ctx;
    rd_kafka_t *consumer;
    rd_kafka_t *producer;    /* dead letters: its delivery callback is wk_dead_letter_on_delivery */
    wk_notifier *notifier;   /* outcome notifications, off this thread (notifier.h) */
    wk_metrics *metrics;     /* NULL: metrics off */
    wk_relay *relay;         /* NULL: no relay in this process */
    const pk_command_keys *keys;   /* what a command must be signed with */
} wk_worker;

/* WK_DONE when the message is finished with (its offset may be stored),
 * else WK_TRANSIENT. */
wk_result wk_process(wk_worker *w, const rd_kafka_message_t *m);

/* The same steps, split for a batch (batch.h), which runs several
 * messages' rows in one transaction. */
typedef struct {
    const rd_kafka_message_t *m;
    pk_envelope_decoded cmd;
    const wk_command *command;
    char trace[33];
    wk_outcome out;
    wk_txn_info info;
} wk_message;

/* true when m is a command a batch may take — signed, decodable, of a
 * known type on its own topic — and decoded into msg (free it with
 * wk_message_free). false: nothing to free; wk_process handles m alone
 * (its dead letter is written and confirmed on its own). */
bool wk_message_prepare(wk_worker *w, const rd_kafka_message_t *m, wk_message *msg);
void wk_message_free(wk_message *msg);
/* Its rows inside the open transaction (wk_txn_command). */
wk_result wk_message_rows(wk_worker *w, wk_message *msg);
/* After the COMMIT, before its offset is stored: a poison command's dead
 * letter confirmed; a duplicate's stored outcome re-published. */
wk_result wk_message_confirm(wk_worker *w, wk_message *msg);
/* Then: logged, counted, its outcome notified (never blocks). */
void wk_message_announce(wk_worker *w, wk_message *msg);

#endif
