#include "common/kafka_util.h"

#include <stdio.h>
#include <stdlib.h>
#include "common/log.h"

int pk_kafka_conf_security(rd_kafka_conf_t *conf, char *err, size_t errcap)
{
    static const char *const MAP[][2] = {
        {"KAFKA_SECURITY_PROTOCOL", "security.protocol"},
        {"KAFKA_SASL_MECHANISM", "sasl.mechanisms"},
        {"KAFKA_SASL_USERNAME", "sasl.username"},
        {"KAFKA_SASL_PASSWORD", "sasl.password"},
        {"KAFKA_SSL_CA_LOCATION", "ssl.ca.location"},
    };
    for (size_t i = 0; i < sizeof(MAP) / sizeof(MAP[0]); i++) {
        const char *v = getenv(MAP[i][0]);
        if (!v || !*v)
            continue;
        char why[256];
        if (rd_kafka_conf_set(conf, MAP[i][1], v, why, sizeof(why)) != RD_KAFKA_CONF_OK) {
            snprintf(err, errcap, "%s: %s", MAP[i][0], why);
            return -1;
        }
    }
    return 0;
}

void pk_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    /* syslog levels: 0-3 error, 4 warning, 5-6 info, 7 debug */
    pk_log_level l = level <= 3 ? PK_LOG_ERROR : level == 4 ? PK_LOG_WARN : level <= 6 ? PK_LOG_INFO : PK_LOG_DEBUG;
    pk_log(l, NULL, "kafka %s %s: %s", rk ? rd_kafka_name(rk) : "", fac, buf);
}

rd_kafka_t *pk_kafka_subscribe(rd_kafka_t *rk, const pk_config *cfg, const char *const *names, size_t n)
{
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new((int)n);
    char name[128];
    for (size_t i = 0; i < n; i++)
        rd_kafka_topic_partition_list_add(topics, pk_topic(cfg, names[i], name, sizeof(name)),
                                          RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (e) {
        pk_error(NULL, "subscribe: %s", rd_kafka_err2str(e));
        rd_kafka_destroy(rk);
        return NULL;
    }
    return rk;
}
