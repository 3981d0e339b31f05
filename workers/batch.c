/* batch.c — several commands in one transaction (batch.h). */
#include "workers/batch.h"

#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>
#include "common/log.h"
#include "workers/db.h"

int wk_batch_max(void)
{
    const char *v = getenv("PUNYAKA_WORKER_BATCH_MAX");
    int n = v && *v ? atoi(v) : WK_BATCH_MAX_DEFAULT;
    return n < 1 ? 1 : n > WK_BATCH_MAX_LIMIT ? WK_BATCH_MAX_LIMIT : n;
}

static void store_offset(rd_kafka_t *rk, const rd_kafka_message_t *m)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, rd_kafka_topic_name(m->rkt), m->partition)->offset = m->offset + 1;
    rd_kafka_offsets_store(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
}

static bool connected(wk_worker *w)
{
    if (PQstatus(w->ctx.db) != CONNECTION_OK)
        PQreset(w->ctx.db);
    return PQstatus(w->ctx.db) == CONNECTION_OK;
}

/* One message on its own, retrying transient failures with backoff until
 * done or asked to stop (then the offset is not stored: the message comes
 * again). The first attempt is made even when SIGTERM has just arrived: the
 * message in hand is finished, not dropped (DESIGN §3, worker rule 4). */
static int handle_one(wk_worker *w, const rd_kafka_message_t *m, const volatile sig_atomic_t *stopping)
{
    for (int attempt = 0, backoff = 50; attempt == 0 || !*stopping;
         attempt++, backoff = backoff < 5000 ? backoff * 2 : 5000) {
        if (!connected(w)) {
            usleep((useconds_t)backoff * 1000);
            continue;
        }
        wk_result res = wk_process(w, m);
        wk_metrics_postgres_up(w->metrics, PQstatus(w->ctx.db) == CONNECTION_OK);
        if (res == WK_DONE) {
            store_offset(w->consumer, m);
            wk_metrics_batch(w->metrics, 1);
            return 0;
        }
        wk_metrics_retry(w->metrics);
        pk_warn(NULL, "transient failure on %s[%d]@%lld, retrying in %d ms", rd_kafka_topic_name(m->rkt),
                (int)m->partition, (long long)m->offset, backoff);
        usleep((useconds_t)backoff * 1000);
    }
    return -1;
}

/* The messages one by one: how many leading ones were finished. */
static size_t one_by_one(wk_worker *w, rd_kafka_message_t *const *msgs, size_t n,
                         const volatile sig_atomic_t *stopping)
{
    size_t i = 0;
    while (i < n && handle_one(w, msgs[i], stopping) == 0)
        i++;
    return i;
}

/* BEGIN, every command's rows, COMMIT: WK_DONE, or WK_TRANSIENT with the
 * transaction rolled back (or, for a failed COMMIT, perhaps committed). */
static wk_result transaction(wk_worker *w, wk_message *items, size_t n)
{
    wk_result res = wk_txn_begin(&w->ctx);
    for (size_t i = 0; res == WK_DONE && i < n; i++)
        res = wk_message_rows(w, &items[i]);
    if (res == WK_DONE)
        res = wk_txn_commit(&w->ctx);
    if (res != WK_DONE)
        wk_txn_rollback(&w->ctx);
    return res;
}

/* After the COMMIT: confirm in order, store the offsets of the confirmed
 * prefix, then announce it. Returns the prefix's length. */
static size_t after_commit(wk_worker *w, wk_message *items, size_t n)
{
    size_t done = 0;
    while (done < n && wk_message_confirm(w, &items[done]) == WK_DONE)
        done++;
    for (size_t i = 0; i < done; i++)
        store_offset(w->consumer, items[i].m);
    for (size_t i = 0; i < done; i++)
        wk_message_announce(w, &items[i]);
    return done;
}

/* A run of n ≥ 2 batchable messages. The first attempt is one transaction;
 * after anything transient the rest goes one by one (handle_one's backoff):
 * a batch that keeps deadlocking with another worker's would otherwise
 * retry forever, and alone each command's fate is its own. */
static size_t apply_run(wk_worker *w, rd_kafka_message_t *const *msgs, wk_message *items, size_t n,
                        const volatile sig_atomic_t *stopping)
{
    size_t done = 0;
    if (connected(w) && transaction(w, items, n) == WK_DONE) {
        wk_metrics_batch(w->metrics, (unsigned)n);
        done = after_commit(w, items, n);
    } else {
        wk_metrics_retry(w->metrics);
        pk_warn(NULL, "transient failure in a batch of %zu; applying them one by one", n);
    }
    wk_metrics_postgres_up(w->metrics, PQstatus(w->ctx.db) == CONNECTION_OK);
    return done + one_by_one(w, msgs + done, n - done, stopping);
}

/* How many leading messages are batchable, decoded into items. */
static size_t batchable_run(wk_worker *w, rd_kafka_message_t *const *msgs, size_t n, wk_message *items)
{
    size_t k = 0;
    while (k < n && wk_message_prepare(w, msgs[k], &items[k]))
        k++;
    return k;
}

size_t wk_batch_apply(wk_worker *w, rd_kafka_message_t *const *msgs, size_t n, const volatile sig_atomic_t *stopping)
{
    wk_message *items = calloc(n, sizeof(*items));
    size_t i = 0;
    while (i < n) {
        size_t run = items ? batchable_run(w, msgs + i, n - i, items) : 0;
        size_t take = run >= 2 ? run : 1;   /* a run of one is wk_process's own transaction */
        size_t done = run >= 2 ? apply_run(w, msgs + i, items, run, stopping) : one_by_one(w, msgs + i, 1, stopping);
        for (size_t k = 0; k < run; k++)
            wk_message_free(&items[k]);
        i += done;
        if (done < take)
            break;   /* stopping: nothing after an unfinished message */
    }
    free(items);
    return i;
}
