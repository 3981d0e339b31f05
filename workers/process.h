/* process.h — applying one Kafka message, effectively once (DESIGN §3):
 *
 *   decode ─ undecodable ⇒ dead letter (dlq topic + dead_letters table)
 *   the command transaction (txn.h) ─ duplicate ⇒ re-publish the stored outcome
 *                                   ─ poison ⇒ committed as rejected, then dead-lettered
 *   then publish the outcome on Redis, kick the outbox relay, and let the
 *   caller store the Kafka offset.
 * Transient failures return WK_TRANSIENT: the caller backs off and retries
 * the same message; nothing is skipped. Every log line written while a
 * message is handled carries its request_id and the trace id of its
 * `traceparent` header (pk_log_context). */
#ifndef PUNYAKA_WORKER_PROCESS_H
#define PUNYAKA_WORKER_PROCESS_H

#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>
#include "workers/metrics.h"
#include "workers/relay.h"
#include "workers/worker.h"

typedef struct {
    wk_ctx ctx;
    rd_kafka_t *consumer;
    rd_kafka_t *producer;    /* dead letters */
    redisContext *redis;     /* outcome notifications; reconnected on demand */
    char redis_host[256];
    int redis_port;
    wk_metrics *metrics;     /* NULL: metrics off */
    wk_relay *relay;         /* NULL: no relay in this process */
} wk_worker;

/* WK_DONE when the message is finished with (its offset may be stored). */
wk_result wk_process(wk_worker *w, const rd_kafka_message_t *m);

/* Connects to Redis now if not connected (bounded: 1 s timeout) and
 * updates the metrics gauge; the consumer loop calls it on its timer. */
void wk_redis_check(wk_worker *w);

#endif
