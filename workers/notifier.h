/* notifier.h — outcome notifications to the waiting API loop, off the
 * consumer's path (DESIGN §3: the worker publishes the outcome on the API
 * instance's Redis channel).
 *
 * The consumer hands a finished outcome to a bounded queue and goes on to
 * store its offset and take the next message; a thread of its own publishes
 * the queue on Redis. A slow, hung or absent Redis therefore never slows a
 * partition: the queue fills and further notifications are dropped
 * (counted, logged once per outage). A lost notification only means the
 * API answers 202 and the client polls GET /api/commands/{id}, whose truth
 * is the outcome row, not Redis.
 *
 * The thread also PINGs Redis every few seconds when idle, so the
 * punyaka_worker_redis_up gauge stays true. */
#ifndef PUNYAKA_WORKER_NOTIFIER_H
#define PUNYAKA_WORKER_NOTIFIER_H

#include <jansson.h>
#include "common/config.h"
#include "workers/metrics.h"

#define WK_NOTIFY_QUEUE_MAX 4096   /* notifications waiting for Redis at most */

typedef struct wk_notifier wk_notifier;

/* Starts the thread (it connects lazily, 1 s timeouts, and sends AUTH on
 * each connection when addr has a password; addr is copied). NULL on failure. */
wk_notifier *wk_notifier_start(const pk_redis_addr *addr, wk_metrics *metrics);
/* Queues `msg` for channel punyaka:outcome:<reply_to>. Never blocks on
 * Redis; drops it when the queue is full. msg is borrowed. NULL n: no-op. */
void wk_notifier_post(wk_notifier *n, const char *reply_to, const json_t *msg);
/* Queues `text` for `channel` as is (punyaka-notifier's live wake-ups,
 * common/live.h), with the same bounds and dropping as wk_notifier_post.
 * Both are copied. */
void wk_notifier_publish(wk_notifier *n, const char *channel, const char *text);
/* Marks "an applied command may have changed public reads": the thread
 * PUBLISHes once on PK_CHANGED_CHANNEL (common/changed.h) after the
 * outcomes queued before it, however many marks came meanwhile — one
 * message per burst, so N API loops hear of a change within milliseconds
 * at a cost that does not grow with the command rate. NULL n: no-op. */
void wk_notifier_changed(wk_notifier *n);
/* Sends what it can within about a second, drops the rest, stops, frees. */
void wk_notifier_stop(wk_notifier *n);
/* Notifications dropped so far (queue full or Redis down). */
unsigned long wk_notifier_dropped(wk_notifier *n);

#endif
