/* outcome.c — building outcomes, created ids and timestamps for apply functions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "common/reasons.h"
#include "workers/worker.h"

void wk_outcome_init(wk_outcome *o)
{
    memset(o, 0, sizeof(*o));
    o->created_ids = json_object();
}

void wk_outcome_free(wk_outcome *o)
{
    json_decref(o->errors);
    json_decref(o->resource);
    json_decref(o->created_ids);
    memset(o, 0, sizeof(*o));
}

void wk_reject(wk_outcome *o, const char *code, const char *field, const char *message)
{
    const pk_reason *r = pk_reason_find(code);
    o->applied = 0;
    o->http_status = r->http_status;
    snprintf(o->code, sizeof(o->code), "%s", code);
    snprintf(o->detail, sizeof(o->detail), "%s", message);
    json_decref(o->errors);
    o->errors = field ? json_pack("{s:[s]}", field, message) : NULL;
    json_decref(o->resource);
    o->resource = NULL;
    /* A rejection rolls back to the savepoint: nothing it created survives. */
    json_object_clear(o->created_ids);
}

int wk_rejected(const wk_outcome *o)
{
    return !o->applied && o->code[0] != 0;
}

void wk_applied(wk_outcome *o, int http_status, const char *entity_type, int64_t id, json_t *resource)
{
    o->applied = 1;
    o->http_status = http_status;
    snprintf(o->entity_type, sizeof(o->entity_type), "%s", entity_type);
    o->entity_id = id;
    json_decref(o->resource);
    o->resource = resource;
}

/* ---- created ids ---- */

const char *wk_new_id(const wk_ctx *ctx, const char *key, char buf[24])
{
    const json_t *v = ctx->replay_ids ? json_object_get(ctx->replay_ids, key) : NULL;
    if (!json_is_integer(v))
        return NULL;
    snprintf(buf, 24, "%lld", (long long)json_integer_value(v));
    return buf;
}

char *wk_new_ids(const wk_ctx *ctx, const wk_outcome *out, const char *key, size_t n)
{
    const json_t *recorded = ctx->replay_ids ? json_object_get(ctx->replay_ids, key) : NULL;
    if (!json_is_array(recorded))
        return NULL;
    size_t skip = json_array_size(json_object_get(out->created_ids, key)), cap = n * 21 + 3, len = 0;
    char *list = malloc(cap);
    list[len++] = '{';
    for (size_t i = 0; i < n; i++) {
        const json_t *id = json_array_get(recorded, skip + i);
        /* Fewer recorded than created (a replay that diverged): NULL draws a new one. */
        len += json_is_integer(id) ? (size_t)snprintf(list + len, cap - len, "%s%lld", i ? "," : "",
                                                      (long long)json_integer_value(id))
                                   : (size_t)snprintf(list + len, cap - len, "%sNULL", i ? "," : "");
    }
    snprintf(list + len, cap - len, "}");
    return list;
}

void wk_created(wk_outcome *o, const char *key, int64_t id)
{
    json_object_set_new(o->created_ids, key, json_integer(id));
}

void wk_created_append(wk_outcome *o, const char *key, int64_t id)
{
    json_t *list = json_object_get(o->created_ids, key);
    if (!json_is_array(list))
        json_object_set_new(o->created_ids, key, list = json_array());
    json_array_append_new(list, json_integer(id));
}

void wk_timestamp(int64_t us, char out[40])
{
    time_t secs = (time_t)(us / 1000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 40 - n, ".%06lldZ", (long long)(us % 1000000));
}
