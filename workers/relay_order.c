/* relay_order.c — the publication rule of the outbox relay (relay_order.h). */
#include "workers/relay_order.h"

/* Whether the hole at `seq` can be passed: it was seen before, and every
 * transaction that could fill it has ended since. Otherwise remember it. */
static int hole_passable(wk_relay_hole *hole, int64_t seq, wk_snapshot snap)
{
    if (hole->seq == seq)
        return snap.xmin >= hole->wait_xmax;
    hole->seq = seq;
    hole->wait_xmax = snap.xmax;
    return 0;
}

int wk_relay_publishable(const int64_t *seqs, int n, int64_t next, wk_snapshot snap, wk_relay_hole *hole)
{
    int taken = 0;
    for (; taken < n; taken++) {
        int64_t seq = seqs[taken];
        if (seq > next && !hole_passable(hole, next, snap))
            break;
        if (seq >= next)
            next = seq + 1;
    }
    if (hole->seq && hole->seq < next)
        hole->seq = 0;   /* passed (or filled): nothing to wait on */
    return taken;
}
