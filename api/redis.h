/* redis.h — hiredis async inside one h2o loop (hiredis ships no h2o adapter;
 * this is ours: h2o watches a dup of the fd, hiredis does the I/O).
 *
 * Each loop thread has two connections: one for commands (sessions, carts,
 * command markers) and one subscribed to this loop's outcome channel, where
 * workers publish the outcome of the commands this loop is waiting for, and
 * to PK_CHANGED_CHANNEL (common/changed.h), whose messages drop the catalog
 * cache (api/cache.h) whichever process's command changed it (and, with
 * api_redis_on_live, to the live streams' wake-up channel).
 * Both reconnect with backoff; commands issued while disconnected fail fast. */
#ifndef PUNYAKA_API_REDIS_H
#define PUNYAKA_API_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include "api/server.h"

typedef void (*api_redis_message_cb)(void *data, const char *msg, size_t len);

/* `channel`: what the subscriber connection SUBSCRIBEs to; each message is
 * passed to on_message on the loop thread. */
api_redis *api_redis_create(h2o_evloop_t *loop, const char *url, const char *channel,
                            api_redis_message_cb on_message, void *data);
void api_redis_destroy(api_redis *r);
/* The subscriber also SUBSCRIBEs to PK_LIVE_CHANNEL (common/live.h) and
 * passes its messages to on_live instead (api/stream.h). Call it right
 * after api_redis_create, before the loop runs. */
void api_redis_on_live(api_redis *r, api_redis_message_cb on_live, void *data);

/* Sends a command (argv form, binary safe). The callback gets reply == NULL
 * when the connection drops. Returns -1 (callback not called) when down. */
int api_redis_argv(api_redis *r, redisCallbackFn *cb, void *privdata, int argc,
                   const char **argv, const size_t *argvlen);

/* Both connections are up and the subscription is confirmed. */
bool api_redis_ready(api_redis *r);

#endif
