/* kafka.h — the API's Kafka producer, one per loop thread.
 *
 * Idempotent (enable.idempotence=true ⇒ acks=all, ordered, retried). Delivery
 * reports arrive on the loop through a pipe librdkafka writes when its queue
 * becomes non-empty, so a request is completed on its own thread. A message
 * not acknowledged within PUNYAKA_PRODUCE_TIMEOUT_MS fails its report: the
 * caller answers 503 and nothing has happened. */
#ifndef PUNYAKA_API_KAFKA_H
#define PUNYAKA_API_KAFKA_H

#include <stddef.h>
#include <librdkafka/rdkafka.h>
#include "api/server.h"

/* err == NULL: acknowledged by every in-sync replica. */
typedef void (*api_kafka_delivery_cb)(void *opaque, const char *err);

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
