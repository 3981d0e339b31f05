/* process.h — applying one Kafka message, effectively once (DESIGN §3):
 *
 *   decode ─ undecodable ⇒ dead letter (dlq topic + dead_letters table)
 *   the command transaction (txn.h) ─ duplicate ⇒ re-publish the stored outcome
 *                                   ─ poison ⇒ committed as rejected, then dead-lettered
 *   then queue the outcome notification (never blocks), kick the outbox
 *   relay, and let the caller store the Kafka offset.
 * Transient failures return WK_TRANSIENT: the caller backs off and retries
 * the same message; nothing is skipped. Every log line written while a
 * message is handled carries its request_id and the trace id of its
 * `traceparent` header (pk_log_context). */
#ifndef PUNYAKA_WORKER_PROCESS_H
#define PUNYAKA_WORKER_PROCESS_H

#include <librdkafka/rdkafka.h>
#include "workers/metrics.h"
#include "workers/notifier.h"
#include "workers/relay.h"
#include "workers/worker.h"

typedef struct {
    wk_ctx ctx;
    rd_kafka_t *consumer;
    rd_kafka_t *producer;    /* dead letters */
    wk_notifier *notifier;   /* outcome notifications, off this thread (notifier.h) */
    wk_metrics *metrics;     /* NULL: metrics off */
    wk_relay *relay;         /* NULL: no relay in this process */
} wk_worker;

/* WK_DONE when the message is finished with (its offset may be stored). */
wk_result wk_process(wk_worker *w, const rd_kafka_message_t *m);

#endif
