/* command.h — how every write leaves the API (DESIGN §3 "Writes").
 *
 *   handler validates ⇒ api_command_submit():
 *     id   = derived from Idempotency-Key (same key ⇒ same id), else from
 *            the handler's intent key, else UUIDv7; derived ids are a
 *            BLAKE2b keyed with PUNYAKA_IDEMPOTENCY_KEY, so nobody can
 *            compute another user's id offline; a signed-in actor's id
 *            ends in an owner tag (common/uuid.h, keyed with the same
 *            secret), so GET /api/commands/{id} knows its owner from the
 *            id alone when Redis lost the marker (api_command_id_issued_to);
 *            an anonymous submit instead adds the id to the client's signed
 *            owner cookie (API_OWNER_COOKIE), which the id does not depend on;
 *     a signed-in actor's Idempotency-Key is claimed first (Redis, one Lua
 *     step): punyaka:idem:<id> = keyed hash of method, path and body for a
 *     week; another request under the same key ⇒ 422 idempotency_key_reused,
 *     nothing published (the same request ⇒ the same id, as a retry);
 *     envelope (common/envelope.h) ⇒ Kafka topic and partition key, both
 *     chosen by common/commands.def from the type and the command's
 *     identifiers (pk_command_key), never by the handler;
 *     delivery report (this loop) ⇒ not persisted: 503 + Retry-After, nothing happened
 *                                 ⇒ possibly persisted (sent, no confirmation in
 *                                   time): 202 {status: unknown} + Location, and
 *                                   the same message (same id) is sent again,
 *                                   up to 5 times, until Kafka confirms it; the
 *                                   workers' dedupe makes a second copy harmless
 *                                 ⇒ acked: Prefer: respond-async ⇒ 202 now, else
 *     wait on this loop's Redis outcome channel up to Prefer: wait=N
 *     (default PUNYAKA_WAIT_DEFAULT_MS, max PUNYAKA_WAIT_MAX_MS):
 *       outcome applied  ⇒ its status (201/200) with the resource,
 *       outcome rejected ⇒ problem+json with its status and reason code,
 *       timeout          ⇒ 202 {command_id, status: accepted, links} + Location. */
#ifndef PUNYAKA_API_COMMAND_H
#define PUNYAKA_API_COMMAND_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include <msgpack.h>
#include "api/server.h"
#include "common/commands.h"
#include "common/envelope.h"

/* Status marker punyaka:cmd:<id> (a day), what GET /api/commands/{id}
 * reads until the outcome row exists, for the command's type and whether
 * Kafka confirmed it:
 *   "<type> <actor_id> <owner token hash | -> <accepted | unknown>"
 * This release writes "-" as the owner: an anonymous command (actor 0)
 * belongs to the client whose HttpOnly cookie API_OWNER_COOKIE lists its id,
 * signed (common/owner_list.h), which every anonymous submit renews, so
 * the owner is known without Redis. An older release's marker names the
 * hash of a random token cookie instead; that token still reads its
 * command while the marker lasts (a day at most), until the client's next
 * anonymous command replaces the token with a list. */
#define API_OWNER_COOKIE "punyaka_cmd"
#define API_MARKER_MAX (PK_TYPE_MAX + 24 + 65 + 10)

/* What the request's owner cookie proves about the command `id`: nothing
 * (none, the old token shape, altered, expired, another key), that the
 * client is the anonymous owner of other commands, or of this one. */
typedef enum { API_OWNER_NONE, API_OWNER_OTHER, API_OWNER_LISTED } api_owner_proof;
api_owner_proof api_command_owner_proof(h2o_req_t *req, const char *id);

/* True when this API (any process sharing PUNYAKA_IDEMPOTENCY_KEY) issued
 * the command id `id` (text) to the signed-in user `user_id`: its owner tag
 * checks. Says nothing about whether the command was recorded. */
bool api_command_id_issued_to(const char *id, int64_t user_id);

/* Loads PUNYAKA_IDEMPOTENCY_KEY (64 hex characters). The API refuses to
 * start without it: -1 with the reason in err. */
int api_command_keys_load(char *err, size_t cap);

/* Optional: answers an applied outcome itself (e.g. register logs the new
 * user in, PATCH me chains a second command). `resource` is borrowed; `data`
 * is api_command.hook_data (allocate it from req->pool: the hook only runs
 * while the request lives). Must answer the request. */
typedef void (*api_applied_hook)(h2o_req_t *req, json_t *resource, int http_status, void *data);

/* Optional: runs before a rejection is answered (checkout starts a new cart
 * generation). `outcome` is the outcome message, borrowed: incref it to
 * keep it. Must answer, eventually with api_command_reply_rejected(). */
typedef void (*api_rejected_hook)(h2o_req_t *req, json_t *outcome, void *data);

typedef struct {
    const char *type;         /* "user.register": a row of common/commands.def, which names its topic */
    /* The command's identifiers (priest id, user id, slug, …): commands.def's
     * key rule picks the partition key among them (pk_command_key). One the
     * rule needs missing ⇒ nothing is published (503, logged). */
    pk_command_key_ids key_ids;
    int64_t actor_id;         /* 0 = anonymous */
    const char *actor_role;   /* "" when anonymous */
    const msgpack_sbuffer *payload;   /* one packed msgpack map */
    /* The business intent when the client sent no Idempotency-Key (NULL:
     * none): two requests with the same intent are one command, so a double
     * submit cannot happen twice (e.g. "check out this cart as it is"). */
    const char *intent_key;
    api_applied_hook on_applied;      /* NULL: answer with the resource */
    api_rejected_hook on_rejected;    /* NULL: answer the problem */
    void *hook_data;
    /* Optional: receives the command id once the command is published
     * (left "" when api_command_submit answered at once, e.g. 503), or,
     * under a signed-in actor's Idempotency-Key, once the id is known: the
     * key's command is this one or its first use. */
    char *id_out;                     /* PK_UUID_STR_LEN + 1 bytes */
} api_command;

/* The detail of a command of the caller's with no outcome and no marker
 * (Redis lost it, or is down). */
#define API_UNRECORDED_DETAIL                                                                           \
    "No decision on this command yet, and no note of it at hand: it may still be applied. Poll the " \
    "Location; if its request was answered 503 it was not recorded and never will be"

/* The detail of a command whose fate Kafka did not confirm. */
#define API_UNKNOWN_DETAIL                                                                             \
    "Kafka did not confirm the command in time: it may or may not have been recorded. Poll the "  \
    "Location; retry only with the same Idempotency-Key"

/* A rejected outcome message as problem+json: its status, code, detail and
 * per-field errors. */
void api_command_reply_rejected(h2o_req_t *req, const json_t *outcome);

/* Publishes and answers the request (always, one way or another). */
void api_command_submit(h2o_req_t *req, const api_command *cmd);

/* Per-thread registry of requests waiting for outcomes. */
api_waiters *api_waiters_create(api_thread *t);
void api_waiters_destroy(api_waiters *w);   /* answers 503 to whoever still waits */
/* Redis subscriber callback: one outcome JSON message. */
void api_waiters_on_outcome(void *thread, const char *msg, size_t len);

/* Renders a stored or published outcome as the command status document. */
json_t *api_command_status_doc(const char *id, const char *type, const char *status,
                               const char *code, json_t *resource, const char *location);

#endif
