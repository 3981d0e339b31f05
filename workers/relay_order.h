/* relay_order.h — which journal rows the outbox relay may publish now: the
 * pure rule behind relay.h, with no I/O, unit-tested on its own.
 *
 * The relay publishes the journal in seq order without ever making a writer
 * wait. Seq order is not commit order, so the committed rows it sees can
 * have holes: a seq drawn by a transaction still running (its row will
 * appear), or by one that rolled back or by a sequence that jumped after a
 * crash (its row never will). A hole is waited for until it cannot be
 * filled any more, and PostgreSQL's snapshots say when that is:
 *
 *   the transaction that drew seq G started before the one that drew G+1
 *   (sequences are monotonic, and a command transaction writes — so owns
 *   an xid — before it draws its seq). If row G+1 was visible in snapshot
 *   S, the owner of G had an xid below xmax(S). Once a later snapshot's
 *   xmin is at least xmax(S), every such transaction has ended, so if row G
 *   is still not visible it never will be: the hole is skipped.
 *
 * So a stuck writer delays only the publication of rows after its own seq
 * (and only until idle_in_transaction_session_timeout ends it); nobody
 * queues behind the relay. */
#ifndef PUNYAKA_WORKER_RELAY_ORDER_H
#define PUNYAKA_WORKER_RELAY_ORDER_H

#include <stdint.h>

/* A snapshot's bounds (pg_snapshot_xmin / pg_snapshot_xmax, as xid8). */
typedef struct {
    uint64_t xmin;   /* every xid below it has ended */
    uint64_t xmax;   /* every xid from it on had not started */
} wk_snapshot;

/* The hole the relay is waiting on; seq 0 = none. */
typedef struct {
    int64_t seq;           /* the first missing seq */
    uint64_t wait_xmax;    /* xmax of the snapshot that first saw it */
} wk_relay_hole;

/* Given the unpublished rows' seqs in ascending order (seqs[0..n)), the next
 * seq due (one past the last published or skipped), and the snapshot they
 * were read in: how many leading rows may be published now. Updates *hole:
 * a hole seen for the first time is remembered (and stops the prefix); one
 * whose wait is over is skipped; a new `next` past the hole clears it. A
 * row below `next` (published out of order by an older relay) is taken. */
int wk_relay_publishable(const int64_t *seqs, int n, int64_t next, wk_snapshot snap, wk_relay_hole *hole);

#endif
