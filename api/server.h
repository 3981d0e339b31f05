/* server.h — the API process: one h2o event loop per thread, each owning its
 * own PostgreSQL connections, Redis connections and Kafka producer, so a
 * request is served start to finish on one thread with no locks.
 *
 * Ownership: api_thread lives for the process; everything a request starts
 * asynchronously holds an api_async (below) that learns when the client went
 * away, so callbacks never touch a freed h2o_req_t. */
#ifndef PUNYAKA_API_SERVER_H
#define PUNYAKA_API_SERVER_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <h2o.h>
#include "common/command_auth.h"
#include "common/config.h"
#include "common/envelope.h"

typedef struct api_pg api_pg;
typedef struct api_redis api_redis;
typedef struct api_kafka api_kafka;
typedef struct api_waiters api_waiters;
typedef struct api_metrics api_metrics;
typedef struct api_live api_live;
typedef struct api_replica api_replica;

typedef struct api_thread {
    int index;
    h2o_evloop_t *loop;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_socket_t *listener;
    /* The metrics port (thread 0 only, when PUNYAKA_API_METRICS_PORT is
     * set): a context of its own over g_api.metrics_h2o, so nothing of the
     * public host is reachable there and /metrics nowhere else. */
    h2o_context_t metrics_ctx;
    h2o_accept_ctx_t metrics_accept;
    h2o_socket_t *metrics_listener;
    bool serves_metrics;
    api_pg *pg;
    api_pg *pg_read;                        /* the read replica's pool, or NULL (api/replica.h) */
    api_replica *replica;                   /* its probe */
    api_redis *redis;
    api_kafka *kafka;
    api_waiters *waiters;
    api_live *live;                         /* this loop's live streams (stream.h) */
    api_metrics *metrics;                   /* this thread's counters (metrics.c) */
    h2o_multithread_receiver_t hash_done;   /* password hashes computed off-loop */
    char reply_to[PK_REPLY_TO_MAX];          /* this loop's outcome channel suffix */
    h2o_timeout_t timeout_1s;               /* periodic housekeeping */
    h2o_timeout_entry_t tick;
    pthread_t tid;
} api_thread;

typedef struct {
    pk_config cfg;
    pk_command_keys command_keys;   /* signs every command (common/command_auth.h); read-only after start */
    h2o_globalconf_t h2o;
    h2o_globalconf_t metrics_h2o;   /* GET /metrics, on its own (loopback) port */
    api_thread *threads;
    int nthreads;
    h2o_multithread_queue_t **queues;
    atomic_int kafka_up;        /* set by the health thread (metadata calls block) */
    volatile sig_atomic_t stopping;
} api_server;

extern api_server g_api;

/* The thread serving the current request (every handler runs on one). */
api_thread *api_thread_of(h2o_req_t *req);

/* ---- async lifetime guard ------------------------------------------------
 * Put `api_async` first in any struct that outlives a handler call. `req`
 * becomes NULL when the client disconnects (h2o frees the request pool);
 * after answering call api_async_detach() so the pool no longer points back. */
typedef struct api_async {
    h2o_req_t *req;
    struct api_async_sentinel *sentinel;
    atomic_int gone;   /* 1 once the client left; other threads (the hasher) may read it */
} api_async;

void *api_async_new(h2o_req_t *req, size_t size);   /* calloc'd; api_async_free() frees */
void api_async_detach(api_async *a);
/* Detach, then free the struct api_async_new() made (the usual ending). */
void api_async_free(api_async *a);

#endif
