/* batch.h — commands at the database's pace: the messages the consumer
 * already holds, applied in one PostgreSQL transaction (issue 16).
 *
 * The consumer loop (main.c) takes what librdkafka has buffered — the
 * message it waited for plus whatever else is ready, never waiting for
 * more, up to PUNYAKA_WORKER_BATCH_MAX (default 32; 1 turns batching off)
 * — and hands it here in consumption order. Invariants:
 *
 *   order      Messages are finished in the order given, so the commands
 *              of one partition apply in offset order, and an offset is
 *              stored only when every message before it is finished.
 *   one txn    A run of consecutive batchable messages (wk_message_prepare)
 *              is BEGIN, each command's rows (txn.h: its own dedupe row,
 *              savepoint, outcome, journal row), COMMIT. A poison command
 *              rolls back to its own savepoint and commits its rejection
 *              and dead_letters row with its neighbours, which apply.
 *   all/none   Anything transient in the run (a failed statement of class
 *              08/40/53/…, a lost connection, a failed COMMIT) rolls the
 *              whole transaction back and the run is applied again one
 *              message at a time with the usual backoff (main.c's retry
 *              loop via wk_process) — never a rejection. A crash anywhere
 *              leaves all of the run committed or none of it.
 *   offsets    After the COMMIT, in order: each poison command's dlq
 *              message is confirmed (a duplicate's stored outcome
 *              re-published); then the offsets of the confirmed prefix are
 *              stored; then the outcomes are logged, counted and notified.
 *              A message whose confirmation fails is handled again alone
 *              (now a duplicate, so its dead letter is re-sent), and so is
 *              everything after it: nothing is stored past it.
 *   dedupe     Per command, as before: a redelivered command (even twice
 *              in one batch) inserts no processed_commands row and writes
 *              nothing else.
 *   journal    Every seq is drawn by the command's last write, after its
 *              row locks, by a transaction that already owns an xid (its
 *              first dedupe insert): relay_order.h's rules hold unchanged.
 *
 * A message that is not batchable (bad signature, undecodable, unknown
 * type, wrong topic) ends the run before it and is handled alone, as
 * before. A run of one is the one-command transaction of wk_process. */
#ifndef PUNYAKA_WORKER_BATCH_H
#define PUNYAKA_WORKER_BATCH_H

#include <signal.h>
#include <stddef.h>
#include <librdkafka/rdkafka.h>
#include "workers/process.h"

#define WK_BATCH_MAX_DEFAULT 32
#define WK_BATCH_MAX_LIMIT 64   /* PostgreSQL caches 64 subtransactions per backend (txn.c) */

/* PUNYAKA_WORKER_BATCH_MAX, clamped to 1..WK_BATCH_MAX_LIMIT. */
int wk_batch_max(void);

/* Applies msgs[0..n) in order, storing each finished message's offset on
 * w->consumer. Transient failures are retried with backoff until done or
 * *stopping (the first attempt is always made: SIGTERM finishes what is in
 * hand). Returns how many leading messages were finished (n unless
 * stopping): the others' offsets are not stored, so they come again. */
size_t wk_batch_apply(wk_worker *w, rd_kafka_message_t *const *msgs, size_t n, const volatile sig_atomic_t *stopping);

#endif
