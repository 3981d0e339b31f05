#include "common/kafka_util.h"

#include "common/log.h"

void pk_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    /* syslog levels: 0-3 error, 4 warning, 5-6 info, 7 debug */
    pk_log_level l = level <= 3 ? PK_LOG_ERROR : level == 4 ? PK_LOG_WARN : level <= 6 ? PK_LOG_INFO : PK_LOG_DEBUG;
    pk_log(l, NULL, "kafka %s %s: %s", rk ? rd_kafka_name(rk) : "", fac, buf);
}
