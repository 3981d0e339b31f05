#include "api/command.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include "api/cache.h"
#include "api/http.h"
#include "api/kafka.h"
#include "api/metrics.h"
#include "api/redis.h"
#include "api/session.h"
#include "common/commands.h"
#include "common/envelope.h"
#include "common/kyc.h"
#include "common/log.h"
#include "common/owner_list.h"
#include "common/uuid.h"

#define WAITER_BUCKETS 1024
#define RESENDS_MAX 5     /* re-sends of a possibly persisted command (each bounded by the produce timeout) */
/* A day: the status marker, the Idempotency-Key record, the owner cookie.
 * Hours, not days: a decided command's status is read from PostgreSQL, so
 * the marker only matters while a command is undecided, and a client retries
 * an Idempotency-Key within minutes (Stripe keeps keys 24 h too). At a
 * steady 10 commands/s a week of markers was ≈ 0.8 GB of Redis. */
#define MARKER_TTL_S "86400"

/* PUNYAKA_IDEMPOTENCY_KEY: keys the BLAKE2b that derives command ids from
 * Idempotency-Keys and intents, and the request hash kept with a key. */
static unsigned char idem_secret[crypto_secretbox_KEYBYTES];
/* Its subkey that signs the anonymous owner cookie (common/owner_list.h). */
static unsigned char owner_key[PK_OWNER_LIST_KEYBYTES];

/* The produced message, exactly, so a command whose fate is unknown can be
 * sent again under the same id: workers dedupe on the id, so a second copy
 * in the log is harmless, and once one copy is acknowledged the command is
 * certainly recorded. */
typedef struct {
    char topic[128];
    char *key;
    char *value;
    size_t value_len;
    char traceparent[56];
    int resends;
    bool unknown;             /* a report said "possibly persisted" and none confirmed it since */
} sent_message;
#define WAIT_SLOTS 12   /* timeouts for 0..10 s (Prefer: wait=N) + the default */

typedef struct waiter {
    api_async async;          /* first: req is NULL once the client is gone */
    struct waiter *next;      /* hash chain */
    api_thread *thread;
    pk_uuid id;
    char id_str[PK_UUID_STR_LEN + 1];
    char type[PK_TYPE_MAX];
    char request_id[PK_REQUEST_ID_MAX];   /* a copy: the request may go before the report comes */
    int64_t actor_id;         /* who may read the status (0: anonymous, then the owner cookie's list) */
    int wait_slot;
    api_applied_hook on_applied;
    api_rejected_hook on_rejected;
    void *hook_data;
    bool respond_async;
    bool dr_done;
    bool finished;
    bool in_hash;
    uint64_t published_ms;
    h2o_timeout_entry_t timer;
    sent_message sent;        /* what was produced, kept until it is certainly in the log */
} waiter;

struct api_waiters {
    api_thread *thread;
    waiter *buckets[WAITER_BUCKETS];
    h2o_timeout_t timeouts[WAIT_SLOTS];
};

/* ---- registry ---- */

static unsigned bucket_of(const pk_uuid *id)
{
    return (unsigned)(id->b[15] | id->b[14] << 8) % WAITER_BUCKETS;
}

static void hash_add(api_waiters *ws, waiter *w)
{
    unsigned b = bucket_of(&w->id);
    w->next = ws->buckets[b];
    ws->buckets[b] = w;
    w->in_hash = true;
}

static void hash_remove(api_waiters *ws, waiter *w)
{
    waiter **p = &ws->buckets[bucket_of(&w->id)];
    while (*p && *p != w)
        p = &(*p)->next;
    if (*p)
        *p = w->next;
    w->in_hash = false;
}

static void waiter_free_if_done(waiter *w)
{
    if (w->finished && w->dr_done) {
        free(w->sent.key);
        free(w->sent.value);
        free(w);
    }
}

/* No more answers from this waiter: leave the registry and timers. */
static void waiter_finish(waiter *w)
{
    if (w->in_hash)
        hash_remove(w->thread->waiters, w);
    if (h2o_timeout_is_linked(&w->timer))
        h2o_timeout_unlink(&w->timer);
    api_async_detach(&w->async);
    w->finished = true;
    waiter_free_if_done(w);
}

/* ---- answers ---- */

json_t *api_command_status_doc(const char *id, const char *type, const char *status,
                               const char *code, json_t *resource, const char *location)
{
    char self[96];
    snprintf(self, sizeof(self), "/api/commands/%s", id);
    json_t *links = json_pack("{s:s}", "self", self);
    if (location)
        json_object_set_new(links, "resource", json_string(location));
    json_t *doc = json_pack("{s:s, s:s?, s:s}", "command_id", id, "type", type, "status", status);
    json_object_set_new(doc, "code", code ? json_string(code) : json_null());
    json_object_set_new(doc, "resource", resource ? resource : json_null());
    json_object_set_new(doc, "links", links);
    return doc;
}

static void reply_accepted(waiter *w)
{
    h2o_req_t *req = w->async.req;
    char location[96];
    snprintf(location, sizeof(location), "/api/commands/%s", w->id_str);
    api_add_header(req, "location", location);
    json_t *doc = api_command_status_doc(w->id_str, w->type, w->sent.unknown ? "unknown" : "accepted", NULL, NULL,
                                         NULL);
    if (w->sent.unknown)
        json_object_set_new(doc, "detail", json_string(API_UNKNOWN_DETAIL));
    api_reply_json(req, 202, doc);
}

static void remember(waiter *w);

static void reply_outcome(h2o_req_t *req, json_t *o, const waiter *w)
{
    const char *status = json_string_value(json_object_get(o, "status"));
    int http = (int)json_integer_value(json_object_get(o, "http_status"));
    const char *location = json_string_value(json_object_get(o, "location"));
    if (status && strcmp(status, "applied") == 0) {
        json_t *resource = json_object_get(o, "resource");
        if (location)
            api_add_header(req, "location", location);
        if (w->on_applied) {
            w->on_applied(req, resource, http ? http : 200, w->hook_data);
            return;
        }
        api_reply_json(req, http ? http : 200, json_incref(resource ? resource : json_object()));
        return;
    }
    if (w->on_rejected) {
        w->on_rejected(req, o, w->hook_data);
        return;
    }
    api_command_reply_rejected(req, o);
}

void api_command_reply_rejected(h2o_req_t *req, const json_t *o)
{
    int http = (int)json_integer_value(json_object_get(o, "http_status"));
    const char *code = json_string_value(json_object_get(o, "code"));
    const char *title = json_string_value(json_object_get(o, "title"));
    const char *detail = json_string_value(json_object_get(o, "detail"));
    json_t *errors = json_object_get(o, "errors");
    api_reply_problem(req, http >= 400 ? http : 409, code ? code : "rejected", title ? title : "Command rejected",
                      detail, json_is_object(errors) ? json_incref(errors) : NULL);
}

void api_waiters_on_outcome(void *thread, const char *msg, size_t len)
{
    api_thread *t = thread;
    json_error_t jerr;
    json_t *o = json_loadb(msg, len, 0, &jerr);
    pk_uuid id;
    const char *id_str = o ? json_string_value(json_object_get(o, "command_id")) : NULL;
    if (!id_str || pk_uuid_parse(id_str, strlen(id_str), &id) != 0) {
        pk_warn(NULL, "ignoring malformed outcome message");
        json_decref(o);
        return;
    }
    /* Any applied command may change what public reads show. */
    const char *status = json_string_value(json_object_get(o, "status"));
    if (status && strcmp(status, "applied") == 0)
        api_cache_invalidate();
    /* Every waiter of this id (a retried Idempotency-Key may wait twice). */
    waiter *w = t->waiters->buckets[bucket_of(&id)];
    while (w) {
        waiter *next = w->next;
        /* Prefer: respond-async is answered 202 when Kafka confirms, even
         * if the outcome outruns the delivery report. */
        if (memcmp(w->id.b, id.b, 16) == 0 && !(w->respond_async && !w->dr_done)) {
            /* The outcome outran the delivery report, whose remember() will
             * find the waiter finished: write the marker now, before the
             * answer (a decided command is in the log), so the note of it
             * is there as for any other. */
            if (!w->dr_done)
                remember(w);
            if (w->async.req && status && strcmp(status, "applied") == 0)
                api_session_mark_write(w->async.req);   /* the window runs from the write, not the publish */
            if (w->async.req)
                reply_outcome(w->async.req, o, w);
            waiter_finish(w);
        }
        w = next;
    }
    json_decref(o);
}

static void on_wait_timeout(h2o_timeout_entry_t *e)
{
    waiter *w = H2O_STRUCT_FROM_MEMBER(waiter, timer, e);
    if (w->async.req)
        reply_accepted(w);
    waiter_finish(w);
}

/* GET /api/commands/{id} says "accepted" (or "unknown") until the outcome
 * row exists, to the command's actor only: the marker (api/command.h) holds
 * the type, the actor, the anonymous owner's token hash, and "unknown" while
 * Kafka has not confirmed the command. */
static void remember(waiter *w)
{
    char key[64], value[API_MARKER_MAX];
    snprintf(key, sizeof(key), "punyaka:cmd:%s", w->id_str);
    /* The owner field is "-": the owner cookie proves an anonymous owner
     * now (an older release wrote its token's hash there). */
    snprintf(value, sizeof(value), "%s %lld - %s", w->type, (long long)w->actor_id,
             w->sent.unknown ? "unknown" : "accepted");
    const char *argv[] = {"SET", key, value, "EX", MARKER_TTL_S};
    api_redis_argv(w->thread->redis, NULL, NULL, 5, argv, NULL);
}

static void on_delivery(void *opaque, api_delivery result, const char *err);

/* Sends the same message again; false when that is not possible (stopping,
 * out of re-sends, the queue refuses). */
static bool resend(waiter *w)
{
    if (g_api.stopping || w->sent.resends >= RESENDS_MAX)
        return false;
    w->sent.resends++;
    return api_kafka_produce(w->thread->kafka, w->sent.topic, w->sent.key, strlen(w->sent.key), w->sent.value,
                             w->sent.value_len, w->type, w->sent.traceparent, on_delivery, w) == 0;
}

static void answer_not_recorded(waiter *w, const char *err)
{
    pk_warn(w->request_id, "command %s not recorded by Kafka: %s", w->id_str, err);
    if (w->async.req) {
        api_add_header(w->async.req, "retry-after", "2");
        api_reply_problem(w->async.req, 503, "kafka_unavailable", "Service unavailable",
                          "the command could not be recorded; nothing has happened, retry later", NULL);
    }
    waiter_finish(w);
}

/* The client has its answer (202 unknown, or an outcome); only the fate of
 * a possibly persisted command is still being settled by re-sends. */
static void settle_in_background(waiter *w, api_delivery result, const char *err)
{
    if (result == API_DELIVERED) {
        w->sent.unknown = false;
        remember(w);
        pk_info(w->request_id, "command %s confirmed by Kafka after %d re-send(s)", w->id_str, w->sent.resends);
    } else if (resend(w)) {
        return;
    } else {
        pk_error(w->request_id, "command %s: fate unknown after %d re-send(s): %s", w->id_str, w->sent.resends,
                 err ? err : "");
    }
    w->dr_done = true;
    waiter_free_if_done(w);
}

/* Timed out after it was sent: it may be in the log, so the answer is 202
 * "unknown" (never 503: a retry without the same Idempotency-Key could apply
 * it twice), and the same message goes out again until Kafka confirms it. */
static void on_possibly_persisted(waiter *w, const char *err)
{
    pk_warn(w->request_id, "command %s possibly recorded (no confirmation from Kafka: %s)", w->id_str, err);
    w->sent.unknown = true;
    remember(w);
    if (w->async.req)
        reply_accepted(w);
    waiter_finish(w);   /* answered; the report of the re-send settles the rest */
    if (!resend(w)) {
        w->dr_done = true;
        waiter_free_if_done(w);
    }
}

static void on_delivery(void *opaque, api_delivery result, const char *err)
{
    waiter *w = opaque;
    api_metrics_produced(w->thread->metrics, w->type, result == API_DELIVERED,
                         (double)(api_now_ms() - w->published_ms) / 1000.0);
    if (w->sent.unknown) {
        settle_in_background(w, result, err);
        return;
    }
    if (result == API_POSSIBLY_PERSISTED) {
        on_possibly_persisted(w, err);
        return;
    }
    w->dr_done = true;
    if (w->finished) {
        waiter_free_if_done(w);
        return;
    }
    if (result == API_NOT_PERSISTED) {
        answer_not_recorded(w, err);
        return;
    }
    remember(w);
    if (!w->async.req || w->respond_async) {
        if (w->async.req)
            reply_accepted(w);
        waiter_finish(w);
        return;
    }
    h2o_timeout_link(w->thread->loop, &w->thread->waiters->timeouts[w->wait_slot], &w->timer);
}

/* ---- request parsing ---- */

/* Prefer: respond-async | wait=N (RFC 7240). Returns the timeout slot. */
static int parse_prefer(h2o_req_t *req, bool *respond_async)
{
    h2o_iovec_t p = api_header(req, "prefer");
    char buf[128];
    size_t n = p.len < sizeof(buf) - 1 ? p.len : sizeof(buf) - 1;
    memcpy(buf, p.base ? p.base : "", n);
    buf[n] = 0;
    *respond_async = strstr(buf, "respond-async") != NULL;
    const char *wait = strstr(buf, "wait=");
    if (!wait)
        return WAIT_SLOTS - 1;
    int secs = atoi(wait + 5);
    int max = g_api.cfg.wait_max_ms / 1000;
    if (secs < 0)
        secs = 0;
    if (secs > max)
        secs = max;
    return secs > WAIT_SLOTS - 2 ? WAIT_SLOTS - 2 : secs;
}

int api_command_keys_load(char *err, size_t cap)
{
    const char *hex = getenv("PUNYAKA_IDEMPOTENCY_KEY");
    if (!hex || !*hex) {
        snprintf(err, cap, "PUNYAKA_IDEMPOTENCY_KEY is not set (64 hex characters, the same for every API"
                           " process; scripts/lib/stack.sh makes one)");
        return -1;
    }
    if (pk_kyc_key_load(hex, idem_secret) != 0) {
        snprintf(err, cap, "PUNYAKA_IDEMPOTENCY_KEY must be exactly 64 hexadecimal characters, not all zero");
        return -1;
    }
    pk_owner_list_key(idem_secret, owner_key);
    return 0;
}

/* Keyed, so an id cannot be computed offline from a (sequential) user id
 * and a guessed key; the same secret gives the same id in every API
 * process and after restarts. */
static void keyed_id(pk_uuid *id, const char *scope, const char *key, size_t len)
{
    pk_uuid_from_secret_key(id, idem_secret, sizeof(idem_secret), scope, key, len);
}

/* The owner tag's name for a signed-in user (common/uuid.h). */
static void owner_name(int64_t user_id, char out[32])
{
    snprintf(out, 32, "user:%lld", (long long)user_id);
}

bool api_command_id_issued_to(const char *id_str, int64_t user_id)
{
    pk_uuid id;
    char owner[32];
    if (user_id <= 0 || !id_str || pk_uuid_parse(id_str, strlen(id_str), &id) != 0)
        return false;
    owner_name(user_id, owner);
    return pk_uuid_owner_tagged(&id, idem_secret, sizeof(idem_secret), owner) == 1;
}

/* Returns true when the id comes from the client's Idempotency-Key. */
static bool command_id_for(h2o_req_t *req, const api_command *cmd, pk_uuid *id)
{
    h2o_iovec_t key = api_header(req, "idempotency-key");
    if (key.len == 0 || key.len > 255) {   /* no usable key: the handler's intent, else a fresh id */
        if (cmd->intent_key && cmd->actor_id) {
            char scope[128];
            snprintf(scope, sizeof(scope), "intent:%lld:%s", (long long)cmd->actor_id, cmd->type);
            keyed_id(id, scope, cmd->intent_key, strlen(cmd->intent_key));
        } else {
            pk_uuid_v7(id, api_now_ms());
        }
        return false;
    }
    /* A key names one business intent of one actor on one route; anonymous
     * callers are told apart by what they send. */
    char scope[256];
    if (cmd->actor_id) {
        snprintf(scope, sizeof(scope), "user:%lld:%s", (long long)cmd->actor_id, cmd->type);
    } else {
        unsigned char h[16];
        char hex[33];
        crypto_generichash(h, sizeof(h), (const unsigned char *)req->entity.base, req->entity.len, NULL, 0);
        sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
        snprintf(scope, sizeof(scope), "anon:%s:%s", cmd->type, hex);
    }
    keyed_id(id, scope, key.base, key.len);
    return true;
}

/* ---- the Idempotency-Key record ---- */

/* What the key was first used for: a keyed hash of method, path and body
 * (keyed: a registration's body holds a password, and Redis must not hold
 * anything to test guesses against). */
static void request_hash(h2o_req_t *req, char out[API_HASH_HEX])
{
    static const unsigned char nul = 0;
    unsigned char h[32];
    crypto_generichash_state st;
    crypto_generichash_init(&st, idem_secret, sizeof(idem_secret), sizeof(h));
    crypto_generichash_update(&st, (const unsigned char *)"request", 8);   /* not an id's input */
    crypto_generichash_update(&st, (const unsigned char *)req->method.base, req->method.len);
    crypto_generichash_update(&st, &nul, 1);
    crypto_generichash_update(&st, (const unsigned char *)req->path.base, req->path.len);
    crypto_generichash_update(&st, &nul, 1);
    if (req->entity.len)
        crypto_generichash_update(&st, (const unsigned char *)req->entity.base, req->entity.len);
    crypto_generichash_final(&st, h, sizeof(h));
    sodium_bin2hex(out, API_HASH_HEX, h, sizeof(h));
}

/* One atomic step, so two concurrent requests with one key cannot both
 * claim it with different bodies: 1 = the key is this request's (new, or
 * first used with the same request), 0 = used for another request. */
static const char CLAIM_LUA[] =
    "local v = redis.call('GET', KEYS[1]) "
    "if not v then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) return 1 end "
    "if v == ARGV[1] then return 1 end "
    "return 0";

static int publish(waiter *w);
static void published(waiter *w, int rc);

static void on_claimed(redisAsyncContext *ac, void *reply, void *privdata)
{
    waiter *w = privdata;
    redisReply *r = reply;
    (void)ac;
    if (w->async.req && r && r->type == REDIS_REPLY_INTEGER && r->integer == 1) {
        published(w, publish(w));
        return;
    }
    if (w->async.req && r && r->type == REDIS_REPLY_INTEGER)
        api_reply_problem(w->async.req, 422, "idempotency_key_reused", "Idempotency-Key reused",
                          "this Idempotency-Key was used for another request; use a new key for a new request",
                          NULL);
    else if (w->async.req)
        api_reply_problem(w->async.req, 503, "redis_unavailable", "Service unavailable",
                          "the Idempotency-Key could not be checked; nothing has happened, retry later", NULL);
    w->dr_done = true;   /* nothing was produced */
    waiter_finish(w);
}

/* Claims the client's Idempotency-Key for this request, then publishes.
 * Only a signed-in actor's key has a record: an anonymous id already
 * hashes the body in (command_id_for), so another body is another id. */
static int claim_then_publish(h2o_req_t *req, waiter *w)
{
    char key[64], hash[API_HASH_HEX];
    snprintf(key, sizeof(key), "punyaka:idem:%s", w->id_str);
    request_hash(req, hash);
    const char *argv[] = {"EVAL", CLAIM_LUA, "1", key, hash, MARKER_TTL_S};
    return api_redis_argv(w->thread->redis, on_claimed, w, 6, argv, NULL);
}

/* ---- the owner of an anonymous command ---- */

/* An anonymous command's status is readable by the client that sent it
 * only, and must stay so without Redis (issue 11): its owner cookie is a
 * signed list of its latest anonymous command ids (common/owner_list.h),
 * renewed with each one for a day. The id itself does not depend on the
 * cookie: an Idempotency-Key retry without it is the same command, and its
 * answer lists it again. A cookie of the old shape (a random token) or one
 * that does not verify starts a new list. */
static void bind_owner(h2o_req_t *req, const waiter *w)
{
    pk_owner_list list;
    uint32_t now = (uint32_t)time(NULL);
    h2o_iovec_t given = api_cookie_value(req, API_OWNER_COOKIE, 1, PK_OWNER_LIST_CHARS);
    pk_owner_list_decode(given.base, given.len, owner_key, now, &list);   /* empty unless it verifies */
    pk_owner_list_add(&list, &w->id);
    list.expires = now + (uint32_t)atoi(MARKER_TTL_S);
    char value[PK_OWNER_LIST_CHARS + 1];
    if (pk_owner_list_encode(&list, owner_key, value, sizeof(value)) == 0)
        api_cookie_set(req, API_OWNER_COOKIE, value, atoi(MARKER_TTL_S));
}

api_owner_proof api_command_owner_proof(h2o_req_t *req, const char *id_str)
{
    pk_owner_list list;
    pk_uuid id;
    h2o_iovec_t given = api_cookie_value(req, API_OWNER_COOKIE, 1, PK_OWNER_LIST_CHARS);
    if (pk_owner_list_decode(given.base, given.len, owner_key, (uint32_t)time(NULL), &list) != 0)
        return API_OWNER_NONE;
    bool listed = pk_uuid_parse(id_str, strlen(id_str), &id) == 0 && pk_owner_list_has(&list, &id);
    return listed ? API_OWNER_LISTED : API_OWNER_OTHER;
}

static void traceparent_for(h2o_req_t *req, const pk_uuid *id, char out[56])
{
    h2o_iovec_t given = api_header(req, "traceparent");
    if (given.len == 55 && memcmp(given.base, "00-", 3) == 0) {
        memcpy(out, given.base, 55);
        out[55] = 0;
        return;
    }
    char trace[33];
    unsigned char span[8];
    char span_hex[17];
    sodium_bin2hex(trace, sizeof(trace), id->b, 16);
    randombytes_buf(span, sizeof(span));
    sodium_bin2hex(span_hex, sizeof(span_hex), span, sizeof(span));
    snprintf(out, 56, "00-%s-%s-01", trace, span_hex);
}

void api_command_submit(h2o_req_t *req, const api_command *cmd)
{
    if (cmd->id_out)
        cmd->id_out[0] = 0;
    api_thread *t = api_thread_of(req);
    waiter *w = api_async_new(req, sizeof(*w));
    w->thread = t;
    snprintf(w->request_id, sizeof(w->request_id), "%s", api_request_id(req));
    w->wait_slot = parse_prefer(req, &w->respond_async);
    snprintf(w->type, sizeof(w->type), "%s", cmd->type);
    w->timer.cb = on_wait_timeout;
    w->on_applied = cmd->on_applied;
    w->on_rejected = cmd->on_rejected;
    w->hook_data = cmd->hook_data;
    w->actor_id = cmd->actor_id;
    bool keyed = command_id_for(req, cmd, &w->id);
    if (cmd->actor_id) {   /* the status route can tell its owner without Redis */
        char owner[32];
        owner_name(cmd->actor_id, owner);
        pk_uuid_tag_owner(&w->id, idem_secret, sizeof(idem_secret), owner);
    }
    pk_uuid_format(&w->id, w->id_str);
    if (!cmd->actor_id)
        bind_owner(req, w);

    pk_envelope env = {.v = PK_ENVELOPE_VERSION, .id = w->id, .issued_at_us = (int64_t)api_now_ms() * 1000,
                       .actor_id = cmd->actor_id};
    snprintf(env.type, sizeof(env.type), "%s", cmd->type);
    snprintf(env.actor_role, sizeof(env.actor_role), "%s", cmd->actor_role ? cmd->actor_role : "");
    snprintf(env.request_id, sizeof(env.request_id), "%s", w->request_id);
    snprintf(env.reply_to, sizeof(env.reply_to), "%s", t->reply_to);

    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    /* The topic and the key are the table's, never a handler's. */
    const pk_command *spec = pk_command_find(cmd->type);
    char key[PK_COMMAND_KEY_MAX];
    bool have_key = pk_command_key(cmd->type, &cmd->key_ids, key, sizeof(key)) == 0;
    snprintf(w->sent.topic, sizeof(w->sent.topic), "%s%s", g_api.cfg.topic_prefix, spec ? spec->topic : "");
    traceparent_for(req, &w->id, w->sent.traceparent);
    int rc = spec && have_key ? pk_envelope_encode(&env, cmd->payload->data, cmd->payload->size, &sb) : -1;
    if (rc == 0)   /* the workers apply only what this key signed (common/command_auth.h) */
        rc = pk_command_sign(&g_api.command_keys, sb.data, sb.size, &sb);
    if (!spec)
        pk_error(w->request_id, "%s is not in common/commands.def", cmd->type);
    else if (!have_key)
        pk_error(w->request_id, "%s: the handler gave no %s, its partition key (common/commands.def)", cmd->type,
                 pk_key_rule_name(spec->key));
    if (rc == 0) {
        w->sent.key = strdup(key);
        w->sent.value = sb.data;   /* the waiter owns the envelope now */
        w->sent.value_len = sb.size;
        if (keyed && cmd->actor_id) {
            /* The id is the key's whether this request or its first use publishes it. */
            if (cmd->id_out)
                memcpy(cmd->id_out, w->id_str, sizeof(w->id_str));
            if (claim_then_publish(req, w) == 0)
                return;
            rc = -1;
        } else {
            rc = publish(w);
        }
    } else {
        msgpack_sbuffer_destroy(&sb);
    }
    published(w, rc);
    if (rc == 0 && cmd->id_out)
        memcpy(cmd->id_out, w->id_str, sizeof(w->id_str));
}

static int publish(waiter *w)
{
    hash_add(w->thread->waiters, w);
    w->published_ms = api_now_ms();
    return api_kafka_produce(w->thread->kafka, w->sent.topic, w->sent.key, strlen(w->sent.key), w->sent.value,
                             w->sent.value_len, w->type, w->sent.traceparent, on_delivery, w);
}

/* After publish() (rc 0) or a refusal before it: 503, nothing happened. */
static void published(waiter *w, int rc)
{
    h2o_req_t *req = w->async.req;
    if (rc != 0) {
        if (req) {
            api_add_header(req, "retry-after", "1");
            api_reply_problem(req, 503, "overloaded", "Service unavailable",
                              "the command queue is full; nothing has happened, retry later", NULL);
        }
        w->dr_done = true;   /* no report will come */
        waiter_finish(w);
        return;
    }
    if (req) {
        api_add_header(req, "x-command-id", w->id_str);
        api_session_mark_write(req);   /* the writer reads the primary for a while (api/replica.h) */
    }
    pk_info(w->request_id, "published %s %s", w->type, w->id_str);
}

/* ---- lifecycle ---- */

api_waiters *api_waiters_create(api_thread *t)
{
    api_waiters *ws = calloc(1, sizeof(*ws));
    ws->thread = t;
    for (int i = 0; i < WAIT_SLOTS - 1; i++)
        h2o_timeout_init(t->loop, &ws->timeouts[i], (uint64_t)i * 1000);
    h2o_timeout_init(t->loop, &ws->timeouts[WAIT_SLOTS - 1], (uint64_t)g_api.cfg.wait_default_ms);
    return ws;
}

void api_waiters_destroy(api_waiters *ws)
{
    for (int b = 0; b < WAITER_BUCKETS; b++) {
        while (ws->buckets[b]) {
            waiter *w = ws->buckets[b];
            if (w->async.req)
                reply_accepted(w);   /* Kafka has it (or will report): the client can poll */
            waiter_finish(w);
        }
    }
    for (int i = 0; i < WAIT_SLOTS; i++)
        h2o_timeout_dispose(ws->thread->loop, &ws->timeouts[i]);
    free(ws);
}
