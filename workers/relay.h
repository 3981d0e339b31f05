/* relay.h — the outbox relay: publishes every journal row to the `events`
 * topic (DESIGN §3), from a thread inside each worker with its own
 * PostgreSQL connection and its own idempotent producer.
 *
 * Journal seq order is not commit order: a transaction draws its seq, then
 * may commit after a transaction that drew a later one. A relay that
 * published "everything committed so far" could therefore publish seq 11
 * before seq 10 commits. Two advisory locks prevent that:
 *
 *  - the barrier (WK_RELAY_BARRIER_LOCK): every command transaction takes
 *    it in shared mode just before it draws its journal seq (txn.c) and
 *    holds it until commit; the relay takes it exclusively, in a
 *    transaction of its own, only around the SELECT of unpublished rows.
 *    Once the relay holds it, every seq drawn so far belongs to a
 *    transaction that has committed or rolled back, and every later seq is
 *    larger, so the rows it selects are a gap-free prefix in seq order. The
 *    exclusive hold lasts one SELECT, so writers wait a moment at most;
 *  - the publisher (WK_RELAY_PUBLISHER_LOCK): a session lock a relay holds
 *    from that SELECT until its rows are marked published, so only one
 *    relay publishes at a time and two relays never send the same rows.
 *    The other relay skips the round; its rows are in the next batch.
 *
 * A batch: select unpublished rows in seq order (journal_unpublished_idx),
 * produce them (key "booking:42" or the command id, headers `type` and `v`,
 * Kafka timestamp = issued_at), wait for every delivery report, then mark
 * the delivered prefix published. A row is marked only after Kafka has
 * acknowledged it, so nothing is lost; a crash between the two re-sends it,
 * so readers dedupe by seq (at-least-once). Runs after each commit (kick)
 * and on a timer, with bounded batches, rounds and waits. */
#ifndef PUNYAKA_WORKER_RELAY_H
#define PUNYAKA_WORKER_RELAY_H

#include "common/config.h"
#include "workers/metrics.h"

/* Advisory lock keys (bigint), beside punyaka-migrate's 31654314734873441. */
#define WK_RELAY_BARRIER_LOCK "31654314734873442"
#define WK_RELAY_PUBLISHER_LOCK "31654314734873443"

typedef struct wk_relay wk_relay;

/* Starts the relay thread. NULL when its producer cannot be made. The
 * database connection is (re)made by the thread itself, with backoff. */
wk_relay *wk_relay_start(const pk_config *cfg, wk_metrics *metrics);
/* A command committed: publish soon. Never blocks. NULL is fine. */
void wk_relay_kick(wk_relay *r);
/* One last bounded round, then stops the thread and frees. NULL is fine. */
void wk_relay_stop(wk_relay *r);

#endif
