/* metrics.h — the worker's Prometheus endpoint: HTTP/1.1 GET /metrics on
 * PUNYAKA_METRICS_PORT (0 = off), text exposition format 0.0.4.
 *
 *   punyaka_worker_commands_total{type,outcome}   counter; outcome = applied |
 *       rejected | dead_lettered | duplicate. type is a command of the table
 *       (commands.c), "(unknown)" for other types and "(undecodable)" for
 *       messages that are no envelope: client-made strings never become
 *       label values, so the series stay bounded.
 *   punyaka_worker_retries_total                  counter; transient failures retried
 *   punyaka_worker_transactions_total            counter; command transactions committed
 *   punyaka_worker_transaction_commands_total    counter; messages they finished (the
 *       ratio is the mean batch size, batch.h)
 *   punyaka_worker_batch_size_max                gauge; the most commands one transaction held
 *   punyaka_worker_events_published_total        counter; journal rows the relay published
 *   punyaka_worker_consumer_lag{topic,partition}  gauge; high watermark − position
 *   punyaka_worker_postgres_up, punyaka_worker_redis_up   gauges, 1 | 0
 *
 * Counters are atomics: the consumer loop and the relay thread only add,
 * the HTTP thread only reads, so the hot path takes no lock. The lag is
 * computed at scrape time on the HTTP thread from librdkafka's cached
 * watermarks and positions (thread-safe calls); only a partition that has
 * no position yet costs a committed-offset lookup, and that waits on the
 * HTTP thread, never in the consumer loop. */
#ifndef PUNYAKA_WORKER_METRICS_H
#define PUNYAKA_WORKER_METRICS_H

#include <stdio.h>
#include <librdkafka/rdkafka.h>

typedef enum {
    WK_M_APPLIED,
    WK_M_REJECTED,
    WK_M_DEAD_LETTERED,
    WK_M_DUPLICATE,
    WK_M_OUTCOMES
} wk_metric_outcome;

typedef struct wk_metrics wk_metrics;

wk_metrics *wk_metrics_create(void);
/* Stops the HTTP thread (if any) and frees. NULL is fine. */
void wk_metrics_destroy(wk_metrics *m);

/* Every recorder accepts m == NULL (metrics off). type NULL = undecodable. */
void wk_metrics_command(wk_metrics *m, const char *type, wk_metric_outcome o);
void wk_metrics_retry(wk_metrics *m);
void wk_metrics_published(wk_metrics *m, unsigned n);
/* A transaction of the consumer loop committed with n messages (batch.h). */
void wk_metrics_batch(wk_metrics *m, unsigned n);
void wk_metrics_postgres_up(wk_metrics *m, int up);
void wk_metrics_redis_up(wk_metrics *m, int up);

/* Another consumer of the workers' family (punyaka-notifier) serving this
 * endpoint: fn writes its own series in place of the command, batch and
 * relay series; the lag, connection, build and process series stay. fn runs
 * on the HTTP thread at scrape time and must only read atomics. */
typedef void (*wk_metrics_series_fn)(FILE *f, void *arg);
void wk_metrics_set_series(wk_metrics *m, wk_metrics_series_fn fn, void *arg);

/* The exposition text (malloc'd). consumer may be NULL (no lag series). */
char *wk_metrics_render(wk_metrics *m, rd_kafka_t *consumer);

/* Starts the HTTP thread on 0.0.0.0:port; the consumer is read at scrape
 * time. 0, or -1 when the port cannot be bound. */
int wk_metrics_serve(wk_metrics *m, int port, rd_kafka_t *consumer);

#endif
