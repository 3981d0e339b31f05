#include "api/redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>
#include "api/cache.h"
#include "common/changed.h"
#include "common/config.h"
#include "common/live.h"
#include "common/log.h"

typedef struct redis_link {
    api_redis *owner;
    redisAsyncContext *ac;
    h2o_socket_t *sock;
    bool connected;
    bool is_subscriber;
    bool write_pending;   /* h2o allows one notify_write at a time */
    h2o_timeout_entry_t retry;
} redis_link;

struct api_redis {
    h2o_evloop_t *loop;
    pk_redis_addr addr;       /* host, port and the credentials AUTH sends */
    char *channel;
    api_redis_message_cb on_message;
    void *data;
    api_redis_message_cb on_live;   /* PK_LIVE_CHANNEL's wake-ups (api/stream.h), or NULL */
    void *live_data;
    redis_link cmd, sub;
    bool subscribed;
    bool closing;
    h2o_timeout_t retry_timeout;
};

/* ---- hiredis ⇄ h2o adapter ---- */

static void on_readable(h2o_socket_t *sock, const char *err)
{
    redis_link *l = sock->data;
    (void)err;   /* hiredis sees the error itself on read */
    if (l->ac)
        redisAsyncHandleRead(l->ac);
}

static void on_writable(h2o_socket_t *sock, const char *err)
{
    redis_link *l = sock->data;
    (void)err;
    l->write_pending = false;
    if (l->ac)
        redisAsyncHandleWrite(l->ac);
}

static void ev_add_read(void *p) { (void)p; }   /* always reading: see link_open */
static void ev_del_read(void *p) { (void)p; }
static void ev_add_write(void *p)
{
    redis_link *l = p;
    if (l->sock && !l->write_pending) {
        l->write_pending = true;
        h2o_socket_notify_write(l->sock, on_writable);
    }
}
static void ev_del_write(void *p) { (void)p; }
static void ev_cleanup(void *p)
{
    redis_link *l = p;
    l->write_pending = false;
    if (l->sock) {
        h2o_socket_read_stop(l->sock);
        h2o_socket_close(l->sock);   /* our dup; hiredis closes its own fd */
        l->sock = NULL;
    }
}

/* ---- connection lifecycle ---- */

static void link_open(redis_link *l);

static void schedule_retry(redis_link *l)
{
    if (!l->owner->closing && !h2o_timeout_is_linked(&l->retry))
        h2o_timeout_link(l->owner->loop, &l->owner->retry_timeout, &l->retry);
}

static void on_retry(h2o_timeout_entry_t *e)
{
    link_open(H2O_STRUCT_FROM_MEMBER(redis_link, retry, e));
}

static void on_subscribe_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    redis_link *l = privdata;
    redisReply *r = reply;
    (void)ac;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3)
        return;
    const char *kind = r->element[0]->str;
    if (kind && strcmp(kind, "subscribe") == 0) {
        l->owner->subscribed = true;
        api_cache_invalidate();   /* broadcasts sent while unsubscribed were lost */
    } else if (kind && strcmp(kind, "message") == 0 && r->element[1]->type == REDIS_REPLY_STRING &&
               strcmp(r->element[1]->str, PK_CHANGED_CHANNEL) == 0) {
        api_cache_invalidate();   /* another process's command changed public reads */
    } else if (kind && strcmp(kind, "message") == 0 && r->element[2]->type == REDIS_REPLY_STRING) {
        const redisReply *ch = r->element[1];
        if (l->owner->on_live && ch->type == REDIS_REPLY_STRING && strcmp(ch->str, PK_LIVE_CHANNEL) == 0)
            l->owner->on_live(l->owner->live_data, r->element[2]->str, (size_t)r->element[2]->len);
        else
            l->owner->on_message(l->owner->data, r->element[2]->str, (size_t)r->element[2]->len);
    }
}

/* A refused AUTH is a deployment error (wrong REDIS_URL): said once per
 * connection, which is then closed and retried like a lost one. */
static void on_auth_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    redisReply *r = reply;
    (void)privdata;
    if (r && r->type == REDIS_REPLY_ERROR) {
        pk_error(NULL, "redis refused AUTH (check REDIS_URL's credentials): %s", r->str);
        redisAsyncDisconnect(ac);
    }
}

/* AUTH goes first on every new connection (the first and each reconnect);
 * hiredis pipelines, so commands sent after it run authenticated. */
static void send_auth(redis_link *l)
{
    const pk_redis_addr *a = &l->owner->addr;
    if (!a->password[0])
        return;
    const char *argv[] = {"AUTH", a->user[0] ? a->user : a->password, a->password};
    redisAsyncCommandArgv(l->ac, on_auth_reply, l, a->user[0] ? 3 : 2, argv, NULL);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    redis_link *l = ac->data;
    if (status != REDIS_OK) {
        pk_warn(NULL, "redis connect failed: %s", ac->errstr);
        l->ac = NULL;   /* hiredis frees the context after this callback */
        schedule_retry(l);
        return;
    }
    l->connected = true;
    send_auth(l);
    if (l->is_subscriber)
        redisAsyncCommand(l->ac, on_subscribe_reply, l, "SUBSCRIBE %s %s", l->owner->channel, PK_CHANGED_CHANNEL);
    /* The same connection hears the live wake-ups: no connection more per loop. */
    if (l->is_subscriber && l->owner->on_live)
        redisAsyncCommand(l->ac, on_subscribe_reply, l, "SUBSCRIBE %s", PK_LIVE_CHANNEL);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    redis_link *l = ac->data;
    if (status != REDIS_OK)
        pk_warn(NULL, "redis connection lost: %s", ac->errstr);
    l->connected = false;
    l->ac = NULL;
    if (l->is_subscriber)
        l->owner->subscribed = false;
    schedule_retry(l);
}

static void link_open(redis_link *l)
{
    redisAsyncContext *ac = redisAsyncConnect(l->owner->addr.host, l->owner->addr.port);
    if (!ac || ac->err) {
        if (ac)
            redisAsyncFree(ac);
        schedule_retry(l);
        return;
    }
    l->ac = ac;
    ac->data = l;
    ac->ev.data = l;
    ac->ev.addRead = ev_add_read;
    ac->ev.delRead = ev_del_read;
    ac->ev.addWrite = ev_add_write;
    ac->ev.delWrite = ev_del_write;
    ac->ev.cleanup = ev_cleanup;
    l->sock = h2o_evloop_socket_create(l->owner->loop, dup(ac->c.fd), H2O_SOCKET_FLAG_DONT_READ);
    l->sock->data = l;
    h2o_socket_read_start(l->sock, on_readable);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    ev_add_write(l);   /* the non-blocking connect completes on writability */
}

api_redis *api_redis_create(h2o_evloop_t *loop, const char *url, const char *channel,
                            api_redis_message_cb on_message, void *data)
{
    api_redis *r = calloc(1, sizeof(*r));
    r->loop = loop;
    if (pk_redis_addr_parse(url, &r->addr) != 0) {
        pk_error(NULL, "REDIS_URL is malformed");   /* not printed: it may hold a password */
        free(r);
        return NULL;
    }
    r->channel = strdup(channel);
    r->on_message = on_message;
    r->data = data;
    h2o_timeout_init(loop, &r->retry_timeout, 250);
    redis_link *links[] = {&r->cmd, &r->sub};
    for (int i = 0; i < 2; i++) {
        links[i]->owner = r;
        links[i]->retry.cb = on_retry;
        links[i]->is_subscriber = i == 1;
        link_open(links[i]);
    }
    return r;
}

void api_redis_destroy(api_redis *r)
{
    r->closing = true;
    redis_link *links[] = {&r->cmd, &r->sub};
    for (int i = 0; i < 2; i++) {
        if (h2o_timeout_is_linked(&links[i]->retry))
            h2o_timeout_unlink(&links[i]->retry);
        if (links[i]->ac)
            redisAsyncFree(links[i]->ac);   /* runs pending callbacks with NULL replies */
    }
    h2o_timeout_dispose(r->loop, &r->retry_timeout);
    free(r->channel);
    sodium_memzero(&r->addr, sizeof(r->addr));
    free(r);
}

void api_redis_on_live(api_redis *r, api_redis_message_cb on_live, void *data)
{
    r->on_live = on_live;
    r->live_data = data;
}

int api_redis_argv(api_redis *r, redisCallbackFn *cb, void *privdata, int argc,
                   const char **argv, const size_t *argvlen)
{
    if (!r->cmd.connected || !r->cmd.ac)
        return -1;
    return redisAsyncCommandArgv(r->cmd.ac, cb, privdata, argc, argv, argvlen) == REDIS_OK ? 0 : -1;
}

bool api_redis_ready(api_redis *r)
{
    return r->cmd.connected && r->sub.connected && r->subscribed;
}
