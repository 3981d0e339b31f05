/* fuzz_api_bodies — every endpoint that takes a JSON body, through its real
 * handler: body parsing (api_json_body_or_reply), the endpoint's validator,
 * and the payload it packs for the worker.
 *
 * Input: the first byte picks the endpoint (modulo the table below), the
 * rest is the request body (Content-Type: application/json). The request
 * has no connection behind it (fuzz_support.h): replies go to a capturing
 * stream, and api_thread_of gives a thread without backends. The backends are replaced by stubs in this file, which the linker
 * takes instead of api/command.c, pg.c, redis.c and hasher.c:
 *   - PostgreSQL and Redis are down (queueing fails, as with a full queue);
 *   - password hashing answers at once with a fixed hash;
 *   - api_command_submit checks what the handler publishes — a known
 *     command type, one msgpack map that an envelope carries and the
 *     workers' decoder takes back — and answers 202.
 * Properties: no crash, leak or UB; never a 500; every request that is
 * answered gets a status (4xx for bad input, 503 for the stubbed backends). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api/command.h"
#include "api/hasher.h"
#include "api/http.h"
#include "api/kyc.h"
#include "api/pg.h"
#include "api/redis.h"
#include "api/routes.h"
#include "common/commands.h"
#include "common/envelope.h"
#include "common/mp.h"
#include "tests/fuzz/fuzz_support.h"

/* ---- stubs: the backends ---- */

int api_pg_query(api_pg *pg, const char *sql, int nparams, const char *const *params, api_pg_cb cb, void *ctx)
{
    (void)pg, (void)sql, (void)nparams, (void)params, (void)cb, (void)ctx;
    return -1;
}
int api_pg_query_for(api_pg *pg, const api_async *owner, const char *sql, int nparams, const char *const *params,
                     api_pg_cb cb, void *ctx)
{
    (void)pg, (void)owner, (void)sql, (void)nparams, (void)params, (void)cb, (void)ctx;
    return -1;
}
unsigned long api_pg_abandoned(api_pg *pg)
{
    (void)pg;
    return 0;
}
api_pg *api_pg_create(h2o_evloop_t *loop, const char *conninfo, int nconns)
{
    (void)loop, (void)conninfo, (void)nconns;
    return NULL;
}
void api_pg_destroy(api_pg *pg)
{
    (void)pg;
}
int api_pg_ready_count(api_pg *pg)
{
    (void)pg;
    return 0;
}
void api_pg_set_fallback(api_pg *pg, api_pg *fallback)
{
    (void)pg, (void)fallback;
}
void api_pg_set_usable(api_pg *pg, bool usable)
{
    (void)pg, (void)usable;
}
bool api_pg_usable(api_pg *pg)
{
    (void)pg;
    return false;
}
int api_pg_probe(api_pg *pg, const char *sql, api_pg_cb cb, void *ctx)
{
    (void)pg, (void)sql, (void)cb, (void)ctx;
    return -1;
}
unsigned long api_pg_answered(api_pg *pg)
{
    (void)pg;
    return 0;
}
unsigned long api_pg_handed_over(api_pg *pg)
{
    (void)pg;
    return 0;
}

int api_redis_argv(api_redis *r, redisCallbackFn *cb, void *privdata, int argc, const char **argv,
                   const size_t *argvlen)
{
    (void)r, (void)cb, (void)privdata, (void)argc, (void)argv, (void)argvlen;
    return -1;
}
api_redis *api_redis_create(h2o_evloop_t *loop, const char *url, const char *channel, api_redis_message_cb on_message,
                            void *data)
{
    (void)loop, (void)url, (void)channel, (void)on_message, (void)data;
    return NULL;
}
void api_redis_destroy(api_redis *r)
{
    (void)r;
}
bool api_redis_ready(api_redis *r)
{
    (void)r;
    return false;
}

/* A syntactically valid Argon2id string (the hash of nothing in particular). */
#define FAKE_HASH "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$q2zW2xqP2o1JbZbHq4zR3cD6k5bQ8b8u3wX0m0y3H8s"

static void hash_now(api_thread *t, int verify, api_hash_cb cb, void *data)
{
    api_hash_job *job = calloc(1, sizeof(*job));
    if (!job)
        abort();
    job->thread = t, job->cb = cb, job->data = data, job->verify = verify, job->ok = 0;
    snprintf(job->hash, sizeof(job->hash), "%s", FAKE_HASH);
    cb(job, verify ? NULL : job->hash);
    free(job);   /* as api_hasher_on_done does after the callback */
}
int api_hash_password(h2o_req_t *req, api_async *owner, const char *password, api_hash_cb cb, void *data)
{
    (void)owner, (void)password;
    hash_now(api_thread_of(req), 0, cb, data);
    return 0;
}
int api_verify_password(h2o_req_t *req, api_async *owner, const char *password, const char *hash, api_hash_cb cb,
                        void *data)
{
    (void)owner, (void)password, (void)hash;
    hash_now(api_thread_of(req), 1, cb, data);
    return 0;
}
void api_hasher_start(int nthreads, int queue_max, int per_client_max, const unsigned char key[crypto_secretbox_KEYBYTES])
{
    (void)nthreads, (void)queue_max, (void)per_client_max, (void)key;
}
void api_hasher_stop(void)
{
}
void api_hasher_on_done(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    (void)receiver, (void)messages;
}

/* ---- stubs: publishing (api/command.c) ---- */

/* What a handler publishes must be what the workers can read. */
static void check_published(const api_command *cmd)
{
    char key[PK_COMMAND_KEY_MAX];
    if (!pk_command_find(cmd->type) || !cmd->actor_role || !cmd->payload ||
        pk_command_key(cmd->type, &cmd->key_ids, key, sizeof(key)) != 0)
        abort();
    size_t end = 0;
    if (pk_mp_scan(cmd->payload->data, cmd->payload->size, PK_ENVELOPE_MAX_DEPTH - 1, &end) != PK_MP_SCAN_OK ||
        end != cmd->payload->size)
        abort();
    pk_envelope e = {.issued_at_us = 1, .actor_id = cmd->actor_id};
    snprintf(e.type, sizeof(e.type), "%s", cmd->type);
    snprintf(e.actor_role, sizeof(e.actor_role), "%s", cmd->actor_role);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    if (pk_envelope_encode(&e, cmd->payload->data, cmd->payload->size, &sb) != 0)
        abort();
    pk_envelope_decoded d;
    char err[128];
    if (pk_envelope_decode(sb.data, sb.size, &d, err, sizeof(err)) != 0)
        abort();
    pk_envelope_decoded_free(&d);
    msgpack_sbuffer_destroy(&sb);
}

void api_command_submit(h2o_req_t *req, const api_command *cmd)
{
    check_published(cmd);
    if (cmd->id_out)
        cmd->id_out[0] = 0;
    api_reply_raw(req, 202, "application/json", "{}", 2);
}
void api_command_reply_rejected(h2o_req_t *req, const json_t *outcome)
{
    (void)outcome;
    api_reply_raw(req, 422, "application/json", "{}", 2);
}
json_t *api_command_status_doc(const char *id, const char *type, const char *status, const char *code,
                               json_t *resource, const char *location)
{
    (void)id, (void)type, (void)status, (void)code, (void)location;
    json_decref(resource);
    return json_object();
}
api_waiters *api_waiters_create(api_thread *t)
{
    (void)t;
    return NULL;
}
void api_waiters_destroy(api_waiters *w)
{
    (void)w;
}
void api_waiters_on_outcome(void *thread, const char *msg, size_t len)
{
    (void)thread, (void)msg, (void)len;
}

/* ---- the endpoints ---- */

typedef struct {
    api_handler handler;
    const char *role;   /* the session's; NULL = anonymous */
} endpoint;

static const endpoint ENDPOINTS[] = {
    {api_auth_register, NULL},
    {api_auth_login, NULL},
    {api_auth_me_update, "customer"},
    {api_auth_me_update, "priest"},
    {api_auth_change_password, "customer"},
    {api_admin_priest_verify, "admin"},
    {api_admin_services_create, "admin"},
    {api_admin_services_update, "admin"},
    {api_bookings_create, "customer"},
    {api_bookings_confirm, "priest"},
    {api_bookings_complete, "priest"},
    {api_bookings_customer_confirm, "customer"},
    {api_bookings_cancel, "customer"},
    {api_bookings_rate, "customer"},
    {api_cart_add_item, "customer"},
    {api_cart_update_item, "customer"},
    {api_cart_remove_item, "customer"},
    {api_orders_checkout, "customer"},
    {api_orders_cancel, "customer"},
    {api_admin_order_status, "admin"},
    {api_admin_categories_create, "admin"},
    {api_admin_categories_update, "admin"},
    {api_admin_products_create, "admin"},
    {api_admin_products_update, "admin"},
    {api_admin_products_stock, "admin"},
    {api_admin_products_kit, "admin"},
    {api_priest_schedule_put, "priest"},
    {api_priest_blocks_create, "priest"},
    {api_notifications_read_all, "customer"},
};
#define N_ENDPOINTS (sizeof(ENDPOINTS) / sizeof(ENDPOINTS[0]))

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    setenv("PUNYAKA_DATA_KEY", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 0);
    fuzz_init();
    api_kyc_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const endpoint *ep = &ENDPOINTS[data[0] % N_ENDPOINTS];
    h2o_req_t req;
    fuzz_req_init(&req);
    fuzz_req_set_path(&req, H2O_STRLIT("/api/x/7/"));
    fuzz_req_add_header(&req, "content-type", H2O_STRLIT("application/json"));
    req.method = h2o_iovec_init(H2O_STRLIT("POST"));
    req.entity = h2o_strdup(&req.pool, (const char *)data + 1, size - 1);
    api_session s = {.user_id = 7};
    snprintf(s.role, sizeof(s.role), "%s", ep->role ? ep->role : "");
    api_match m = {.nparams = 1, .session = ep->role ? &s : NULL};
    m.params[0] = h2o_iovec_init(H2O_STRLIT("7"));
    ep->handler(&req, &m);
    int status = fuzz_req_status(&req);
    if (getenv("FUZZ_VERBOSE"))   /* which endpoint answered what, when run on single inputs */
        fprintf(stderr, "endpoint %u: status %d\n", (unsigned)(data[0] % N_ENDPOINTS), status);
    if (status == 500)
        abort();
    fuzz_req_dispose(&req);
    return 0;
}
