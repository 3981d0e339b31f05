/* stream.h — GET /api/stream/: a signed-in user's live updates as
 * Server-Sent Events (common/live.h has the contract).
 *
 * What a stream sends is read from PostgreSQL's notifications table, never
 * from Redis: each row of the user's newer than what the stream sent is
 *     id: <notification id>\nevent: notification\ndata: <JSON, one line>\n\n
 * A new stream without Last-Event-ID (or ?last_event_id=) starts at the
 * user's newest row and first sends `event: hello` {"unread": N} (its id is
 * that newest row's, so the browser's reconnect resumes from there); with
 * one it sends every row with a greater id, in batches of
 * API_LIVE_BATCH, then carries on.
 *
 * Per loop thread: the streams are grouped by user, and the group reads
 * once for all its streams (from the smallest id any of them sent), so a
 * wake-up costs one indexed query per user, not per stream. Wake-ups come
 * on the loop's Redis subscriber connection (api/redis.c subscribes it to
 * PK_LIVE_CHANNEL as well as the outcome channel): the payload names a user
 * id and nothing else is read from it; a user with no stream on this loop,
 * or a malformed payload, is ignored. Every API_LIVE_RECHECK_MS (env
 * PUNYAKA_LIVE_RECHECK_MS, default PK_LIVE_RECHECK_MS) each group reads
 * anyway, which bounds a lost wake-up's delay, and each stream's session is
 * loaded again: logged out or expired ⇒ the stream ends. A comment line
 * `: ping` goes out after 15 s of silence (PUNYAKA_LIVE_HEARTBEAT_MS).
 *
 * Bounds: PUNYAKA_LIVE_MAX_PER_USER (4) open streams per user in the
 * process: one more ends the oldest, on whichever loop holds it (a message
 * through the loops' queues), after `event: closed` {"reason":
 * "too_many_streams"} so the client does not reconnect (and end another in
 * turn). Ending the oldest rather than refusing the newest, because over
 * HTTP/1 h2o does not read while it answers, so a stream whose tab was
 * closed holds its slot until a write fails (the next heartbeats): a user
 * moving through pages must not be locked out by his own dead streams.
 * PUNYAKA_LIVE_MAX_STREAMS (10000) per process ⇒ 503; at most
 * API_LIVE_BUFFER_MAX bytes queued for a client that does not read: beyond
 * it nothing more is queued and the stream ends as soon as h2o takes the
 * bytes in hand (the client reconnects with Last-Event-ID and loses nothing).
 *
 * A re-check loads the session as a request does (api_session_load), so it
 * also slides the session's idle expiry, like any page that polls; its
 * small guard (api_async) lives in the request's pool until the stream
 * ends — about 100 bytes per re-check, a few hundred KB for a stream open
 * a whole day at the default period.
 *
 * The response is `text/event-stream`, `Cache-Control: no-store`, never
 * compressed (each event must reach the client when sent). At shutdown
 * (api/main.c's DRAINING phase) every stream is ended. */
#ifndef PUNYAKA_API_STREAM_H
#define PUNYAKA_API_STREAM_H

#include <stddef.h>
#include "api/server.h"

#define API_LIVE_BATCH 100
#define API_LIVE_BUFFER_MAX (256 * 1024)

typedef struct api_live api_live;

/* Reads the PUNYAKA_LIVE_* settings once, before the loop threads start. */
void api_live_init(void);
api_live *api_live_create(api_thread *t);
/* A wake-up from PK_LIVE_CHANNEL (the subscriber's callback; data is the
 * api_thread). */
void api_live_on_wakeup(void *data, const char *msg, size_t len);
/* Ends every stream of the loop (shutdown); no new reads start after it. */
void api_live_shutdown(api_live *l);
/* After the loop's PostgreSQL pool is gone (its callbacks have run). */
void api_live_destroy(api_live *l);

#endif
