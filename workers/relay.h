/* relay.h — the outbox relay: publishes every journal row to the `events`
 * topic (DESIGN §3), from a thread inside each worker with its own
 * PostgreSQL connection and its own idempotent producer.
 *
 * Journal seq order is not commit order: a transaction draws its seq, then
 * may commit after a transaction that drew a later one. The relay never
 * publishes past a hole in seq order until the hole can no longer be filled
 * (relay_order.h explains how snapshots tell), and it takes no lock a
 * command transaction could queue behind: a stuck writer delays only the
 * publication of later rows, never another writer. One lock remains:
 *
 *  - the publisher (WK_RELAY_PUBLISHER_LOCK): a session lock a relay tries
 *    (never waits for) from its SELECT until its rows are marked published,
 *    so only one relay publishes at a time and two relays never send the
 *    same rows. The other relay skips the round; its rows are in the next.
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

/* Advisory lock key (bigint), beside punyaka-migrate's 31654314734873441
 * (…442 was the writers' barrier, retired: see above). */
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
