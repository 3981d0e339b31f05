/* async.c — lets work that outlives a handler call find out whether its
 * request is still there. A sentinel lives in the request's pool; its dispose
 * callback (run when h2o frees the pool, e.g. on disconnect) clears the link. */
#include "api/server.h"

#include <stdint.h>
#include <stdlib.h>
#include "api/resets.h"

struct api_async_sentinel {
    api_async *owner;
    uint64_t h2_conn_id;   /* the request's HTTP/2 connection, 0 for HTTP/1 */
};

static void on_pool_dispose(void *p)
{
    struct api_async_sentinel *s = p;
    if (s->owner) {
        s->owner->req = NULL;
        s->owner->sentinel = NULL;
        atomic_store(&s->owner->gone, 1);
        if (s->h2_conn_id)
            api_resets_abandoned(s->h2_conn_id);   /* the client went before its answer */
    }
}

void *api_async_new(h2o_req_t *req, size_t size)
{
    api_async *a = calloc(1, size);
    if (!a)
        abort();
    struct api_async_sentinel *s = h2o_mem_alloc_shared(&req->pool, sizeof(*s), on_pool_dispose);
    s->owner = a;
    s->h2_conn_id = req->version >= 0x200 ? req->conn->id : 0;
    a->req = req;
    a->sentinel = s;
    return a;
}

void api_async_detach(api_async *a)
{
    if (a->sentinel)
        a->sentinel->owner = NULL;
    a->sentinel = NULL;
    a->req = NULL;
}

void api_async_free(api_async *a)
{
    api_async_detach(a);
    free(a);   /* a is the first member of the caller's struct (api_async_new) */
}
