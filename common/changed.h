/* changed.h — "public reads may have changed": the broadcast that keeps
 * every API process's catalog cache (api/cache.h) current.
 *
 * Each API loop caches public catalog answers for PUNYAKA_CACHE_MS (500 ms)
 * and drops them when it hears an applied outcome — but it hears only the
 * outcomes of its own commands. With several API processes an admin's
 * change made through one would show stale through the others for up to a
 * TTL. So a worker that applied commands also PUBLISHes on this one channel,
 * coalesced (at most one message per burst its notifier thread drains,
 * workers/notifier.h), and every API loop subscribes to it beside its own
 * outcome channel and bumps its cache generation on any message.
 *
 * The message carries nothing the API reads: a forged one costs a cache
 * miss, a lost one is covered by the TTL. The name lies under
 * punyaka:outcome:*, the channels the Redis ACLs already grant both sides
 * (docker-compose.yml); no API instance's channel can take it, as those are
 * "<instance>.<thread>". */
#ifndef PUNYAKA_CHANGED_H
#define PUNYAKA_CHANGED_H

#define PK_CHANGED_CHANNEL "punyaka:outcome:changed"

#endif
