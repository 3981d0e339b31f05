/* kafka.h — the API's Kafka producer, one per loop thread.
 *
 * Idempotent (enable.idempotence=true ⇒ acks=all, ordered, retried). Delivery
 * reports arrive on the loop through a pipe librdkafka writes when its queue
 * becomes non-empty, so a request is completed on its own thread. A message
 * not acknowledged within PUNYAKA_PRODUCE_TIMEOUT_MS fails its report, and
 * the report says how: librdkafka knows whether the message never left this
 * process (or the broker refused it) — not persisted, nothing will happen —
 * or whether it was sent and the answer did not come in time — possibly
 * persisted, a worker may still apply it (rd_kafka_message_status()).
 *
 * A producer that hits a fatal error (librdkafka: the instance can never
 * produce again, e.g. an idempotent producer whose sequence the cluster does
 * not know: a cluster rebuilt empty, like a restarted dev Kafka) is replaced
 * by a new one before the next produce, on the loop thread; the old one's
 * messages get their reports (not persisted / possibly persisted, so the
 * waiters answer 503 or re-send to the new producer) and it is destroyed
 * once the health probe is not using it. No process restart is needed.
 *
 * The local queue is bounded (queue.buffering.max.kbytes = 64 MiB): past
 * that a produce is refused at once, so a Kafka outage costs bounded memory. */
#ifndef PUNYAKA_API_KAFKA_H
#define PUNYAKA_API_KAFKA_H

#include <stddef.h>
#include <librdkafka/rdkafka.h>
#include "api/server.h"

typedef enum {
    API_DELIVERED,            /* acknowledged by every in-sync replica */
    API_NOT_PERSISTED,        /* certainly not in the log: nothing will happen */
    API_POSSIBLY_PERSISTED,   /* sent, not confirmed (timeout): may be in the log */
} api_delivery;

/* err: librdkafka's reason, NULL when delivered. */
typedef void (*api_kafka_delivery_cb)(void *opaque, api_delivery result, const char *err);

api_kafka *api_kafka_create(h2o_evloop_t *loop, const pk_config *cfg, char *errbuf, size_t errcap);
void api_kafka_destroy(api_kafka *k);
/* Serves every queued event now (delivery reports, errors). The loop also
 * calls it on each wake-up as a bound on any missed fd notification. */
void api_kafka_poll(api_kafka *k);   /* flushes up to the produce timeout */

/* Produces value under key with headers type, v and traceparent. Returns 0,
 * or -1 when the local queue refuses it (the callback is then not called). */
int api_kafka_produce(api_kafka *k, const char *topic, const char *key, size_t keylen,
                      const void *value, size_t len, const char *type, const char *traceparent,
                      api_kafka_delivery_cb cb, void *opaque);

/* Blocking metadata probe for the health thread (never on a loop thread). */
int api_kafka_probe(api_kafka *k, int timeout_ms);

#endif
