/* process.h — applying one Kafka message, effectively once (DESIGN §3):
 *
 *   decode ─ undecodable / unknown type ⇒ dead letter (dlq topic + table)
 *   BEGIN
 *     INSERT processed_commands (id)  ─ conflict ⇒ ROLLBACK, re-publish the stored outcome
 *     SAVEPOINT apply; apply the rule  ─ rejected ⇒ ROLLBACK TO SAVEPOINT
 *     INSERT journal (last write: its seq orders conflicting commands), command_outcomes
 *   COMMIT ─ then publish the outcome on Redis, then store the Kafka offset.
 * Transient failures roll back and return WK_TRANSIENT: the caller backs
 * off and retries the same message; nothing is skipped. */
#ifndef PUNYAKA_WORKER_PROCESS_H
#define PUNYAKA_WORKER_PROCESS_H

#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>
#include "workers/worker.h"

typedef struct {
    wk_ctx ctx;
    rd_kafka_t *consumer;
    rd_kafka_t *producer;    /* dead letters */
    redisContext *redis;     /* outcome notifications; reconnected on demand */
    char redis_host[256];
    int redis_port;
} wk_worker;

/* WK_DONE when the message is finished with (its offset may be stored). */
wk_result wk_process(wk_worker *w, const rd_kafka_message_t *m);

#endif
