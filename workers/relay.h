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
 * so readers dedupe by seq (at-least-once). Batches and rounds are bounded.
 *
 * When it runs (issue 16: an idle system runs ≈ no statements). The relay
 * does not poll the journal: its session LISTENs on WK_RELAY_CHANNEL, which
 * a trigger on the journal insert NOTIFYs (migration 0006); PostgreSQL
 * delivers that at the command's commit, to every worker's relay. The
 * thread sleeps in poll() on the session's socket and runs a round when
 * notified, COALESCE_MS (10 ms) later so that commits arriving together
 * share one round. Notifications heard during a round (libpq keeps them) make
 * another round, so a commit after a round's snapshot is never left
 * behind; a relay that finds the publisher lock taken skips, because the
 * holder hears of the same commit. Three cases hear nothing, and are timed:
 *  - a seq hole is open (relay_order.h): a rollback or a crash fills no
 *    hole and notifies nobody, so rounds repeat every SHORT_MS (250 ms)
 *    until the hole is passed — bounded by idle_in_transaction_session_timeout;
 *  - a round failed (Kafka or PostgreSQL trouble): again after SHORT_MS;
 *    a lost session reconnects with backoff, LISTENs again, then catches up
 *    with a full round before it sleeps;
 *  - anything else (a notification lost with a session, a killed relay that
 *    held the lock): the safety poll, one statement (is any row unpublished?)
 *    per SAFETY_MS (10 s) per worker, a full round only when one is.
 * Idle cost: 2 workers ⇒ 0.2 statements a second (was ≈ 45: seven
 * statements per round every 250 ms in each worker). Busy cost: every
 * command transaction now NOTIFYs, and PostgreSQL serializes the commits
 * of notifying transactions (a database-wide lock in PreCommit_Notify);
 * bench/README.md has the A/B figures. */
#ifndef PUNYAKA_WORKER_RELAY_H
#define PUNYAKA_WORKER_RELAY_H

#include "common/config.h"
#include "workers/metrics.h"

/* Advisory lock key (bigint), beside punyaka-migrate's 31654314734873441
 * (…442 was the writers' barrier, retired: see above). */
#define WK_RELAY_PUBLISHER_LOCK "31654314734873443"
/* The channel the journal trigger notifies (migrations/0006_journal_notify.sql). */
#define WK_RELAY_CHANNEL "punyaka_journal"

typedef struct wk_relay wk_relay;

/* Starts the relay thread. NULL when its producer cannot be made. The
 * database connection is (re)made by the thread itself, with backoff. */
wk_relay *wk_relay_start(const pk_config *cfg, wk_metrics *metrics);
/* One last bounded round, then stops the thread and frees. NULL is fine. */
void wk_relay_stop(wk_relay *r);

#endif
