/* metrics.h — Prometheus text exposition of the API (GET /metrics).
 *
 * Served on a port of its own (PUNYAKA_API_METRICS_PORT, bound to
 * PUNYAKA_API_METRICS_ADDR, 127.0.0.1 by default; 0 = off), never on the
 * public port: the counters (login failures per route among them) are for
 * the operator's scraper. The metrics port answers nothing else (404).
 *
 * Counters live per loop thread (each thread writes only its own, with
 * relaxed atomics so the scrape may read them from another thread) and are
 * summed at scrape time: no lock and no shared cache line on the hot path.
 *   punyaka_http_requests_total{route,method,status}: method is the standard
 *     one asked for (else "other"), status the code or its class ("4xx")
 *   punyaka_http_request_duration_seconds{route} (histogram, 1 ms … 10 s)
 *   punyaka_kafka_produce_total{result}, punyaka_kafka_produce_duration_seconds (histogram)
 *   punyaka_commands_published_total{type}
 *   punyaka_postgres_connections_ready, punyaka_redis_ready, punyaka_kafka_up
 *   punyaka_api_reads_total{target="primary|replica"}, punyaka_api_replica_fallbacks_total,
 *   punyaka_api_replica_usable, punyaka_api_replica_lag_seconds (api/replica.h)
 *   punyaka_api_cache_hits_total{kind="public|own"} (api/cache.h, api/reads.h)
 *   punyaka_build_info{version,revision}
 * Every series has HELP and TYPE: `promtool check metrics` passes
 * (tests/sh/test_metrics_lint.sh). */
#ifndef PUNYAKA_API_METRICS_H
#define PUNYAKA_API_METRICS_H

#include <stdbool.h>
#include <stdint.h>
#include <h2o.h>

#define API_METRICS_ROUTES 96   /* route index; the last slot is "unmatched" */

typedef struct api_metrics api_metrics;

api_metrics *api_metrics_create(void);
void api_metrics_destroy(api_metrics *m);

/* Records the request when h2o frees it (its final status is known then). */
void api_metrics_track(h2o_req_t *req, int route, const char *method);
/* A Kafka delivery report for a command of `type` after `seconds`. */
void api_metrics_produced(api_metrics *m, const char *type, bool ok, double seconds);

/* A read answered from the per-loop cache: public, or the caller's own. */
void api_metrics_cache_hit(api_metrics *m, bool own);

/* The route names for labels, registered once by routes.c. */
void api_metrics_set_route_names(const char *const *patterns, int n);

/* Configures `conf` (a globalconf of its own, served by the metrics
 * listener in main.c) to answer GET /metrics and 404 for anything else. */
void api_metrics_register(h2o_globalconf_t *conf);


#endif
