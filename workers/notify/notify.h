/* notify.h — punyaka-notifier: the events log's second consumer (issue 17;
 * docs/notifications.md). main.c consumes `<prefix>events` in its own
 * consumer group; apply.c turns one event into notifications in one
 * PostgreSQL transaction:
 *
 *   BEGIN
 *     INSERT notified_events (seq) ON CONFLICT DO NOTHING   ─ there ⇒ ROLLBACK, done
 *     SELECT the journal row with this seq, command id and envelope
 *                                                          ─ none ⇒ ROLLBACK, done
 *     read the entity (booking + priest + service, order, priest profile)
 *     derive the notes (common/notify_rules.h)
 *     INSERT notifications (+ notification_emails when the user wants mail)
 *   COMMIT
 *
 * Effectively once: the seq is recorded in the transaction that writes the
 * notes, so re-consuming the topic from offset 0 notifies nobody twice.
 *
 * Trust: the event is only a pointer into the journal. What is derived —
 * type, status, actor, entity — comes from the journal row whose seq,
 * command id and envelope bytes all equal the event's, so a forged or
 * foreign event (another environment's topic, a guessed seq) finds no row
 * and notifies nobody; the payload fields read (an order's new status,
 * priest.verify's verdict) come from that proven envelope. */
#ifndef PUNYAKA_NOTIFY_H
#define PUNYAKA_NOTIFY_H

#include <stdint.h>
#include "common/notify_rules.h"
#include "workers/event.h"
#include "workers/worker.h"

typedef struct {
    int64_t users[NR_MAX_NOTES];   /* recipients of new rows: the wake-ups to publish after COMMIT */
    int nusers;
    int duplicate;                 /* the seq was notified before */
    int foreign;                   /* no journal row matches the event */
} nf_outcome;

/* One event, one transaction (above). WK_DONE: committed or deliberately
 * skipped (out says which); WK_TRANSIENT: rolled back, retry the same
 * event; WK_POISON: rolled back, a statement fails deterministically for
 * this event (logged by wk_db_failure) and retrying cannot help. */
wk_result nf_notify_event(wk_ctx *ctx, const wk_event *e, nf_outcome *out);

#endif
