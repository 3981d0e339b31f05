/* kafka_util.h — librdkafka glue shared by every process. */
#ifndef PUNYAKA_KAFKA_UTIL_H
#define PUNYAKA_KAFKA_UTIL_H

#include <librdkafka/rdkafka.h>

/* Routes librdkafka's own log lines into our JSON-lines log (instead of its
 * "%4|…" format on stderr). Install with rd_kafka_conf_set_log_cb. */
void pk_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf);

#endif
