/* kafka_util.h — librdkafka glue shared by every process. */
#ifndef PUNYAKA_KAFKA_UTIL_H
#define PUNYAKA_KAFKA_UTIL_H

#include <stddef.h>
#include <librdkafka/rdkafka.h>
#include "common/config.h"

/* Routes librdkafka's own log lines into our JSON-lines log (instead of its
 * "%4|…" format on stderr). Install with rd_kafka_conf_set_log_cb. */
void pk_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf);

/* Applies the Kafka security settings of the environment to conf, so every
 * client (API, workers, punyaka-admin, punyaka-replay) authenticates the same
 * way (docs/kafka.md "Security"). Each variable, when set and non-empty, is
 * passed to librdkafka as is:
 *   KAFKA_SECURITY_PROTOCOL  security.protocol  (plaintext | ssl | sasl_plaintext | sasl_ssl)
 *   KAFKA_SASL_MECHANISM     sasl.mechanisms    (e.g. SCRAM-SHA-512)
 *   KAFKA_SASL_USERNAME      sasl.username
 *   KAFKA_SASL_PASSWORD      sasl.password
 *   KAFKA_SSL_CA_LOCATION    ssl.ca.location    (CA bundle that signed the brokers' certificates)
 * None set: librdkafka's default, plaintext without authentication (the dev
 * Kafka). Returns 0, or -1 with librdkafka's message in err (the value of
 * the password is never copied into it). */
int pk_kafka_conf_security(rd_kafka_conf_t *conf, char *err, size_t errcap);

/* Routes the consumer rk's events to its consumer queue and subscribes it
 * to the topics of the n families in names (pk_topic: with the prefix).
 * Returns rk, or NULL (logged, rk destroyed) when the subscription fails.
 * The workers and punyaka-notifier start their consumers with it. */
rd_kafka_t *pk_kafka_subscribe(rd_kafka_t *rk, const pk_config *cfg, const char *const *names, size_t n);

#endif
