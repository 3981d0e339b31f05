/* db.h — integration-test access to the stack's PostgreSQL and Kafka, and
 * control of its worker processes. */
#ifndef PUNYAKA_TEST_DB_H
#define PUNYAKA_TEST_DB_H

#include <stddef.h>
#include <libpq-fe.h>

PGconn *it_db(void);   /* connects to DATABASE_URL or fails the program */
/* First column of the first row as an integer; params are text (NULL-terminated list). */
long long it_db_scalar(PGconn *db, const char *sql, ...);
/* Polls `sql` (single integer) every 50 ms until it equals `want` or timeout_ms
 * passes; returns the last value seen. */
long long it_db_wait_for(PGconn *db, long long want, int timeout_ms, const char *sql, ...);

/* Produces one message synchronously to "<prefix><topic>"; returns 0 when acked. */
int it_kafka_produce(const char *topic, const char *key, const void *value, size_t len);
/* High watermark of partition 0 of "<prefix><topic>", or -1. */
long long it_kafka_high_watermark(const char *topic, int partition);

/* Reads every message of every partition of "<prefix><topic>" (from the
 * beginning to the current end) and counts those whose key, value or
 * headers contain `needle`; -1 when the topic could not be read. */
int it_kafka_topic_scan(const char *topic, const char *needle);
/* The same, counting only messages that do not also contain `except`
 * (NULL: none excluded) — for a test that forged some messages itself. */
int it_kafka_topic_scan_except(const char *topic, const char *needle, const char *except);

/* The stack's topics: every topic whose name starts with
 * PUNYAKA_TOPIC_PREFIX, written without the prefix into names[0..cap)
 * (command topics, events, dlq and whatever else the cluster holds for this
 * stack). Returns how many, or -1 when the cluster did not answer. */
int it_kafka_topics(char names[][128], int cap);
/* Waits (≤ timeout_ms) for a message on "<prefix>dlq" partition 0, at or
 * after offset `from`, whose value is exactly value[0..len); copies its
 * `reason` header into reason[cap]. 0 when found, -1 otherwise. */
int it_dlq_find(long long from, const void *value, size_t len, char *reason, size_t cap, int timeout_ms);
/* scripts/lib/stack.sh worker-start|worker-stop for worker n; signal may be NULL. */
void it_worker(const char *action, int n, const char *signal);
/* Waits (bounded) until worker n has joined its group (its ready file exists). */
int it_worker_wait_ready(int n, int timeout_ms);

#endif
