#include "tests/support/commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include "common/envelope.h"
#include "tests/support/db.h"

static int64_t now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

void it_payload_init(it_payload *p)
{
    msgpack_sbuffer_init(&p->sb);
    msgpack_packer_init(&p->pk, &p->sb, msgpack_sbuffer_write);
}

void it_payload_free(it_payload *p)
{
    msgpack_sbuffer_destroy(&p->sb);
}

int it_send_command(const char *type, const char *topic, const char *key, int64_t actor_id,
                    const char *actor_role, const it_payload *payload, const pk_uuid *id,
                    int64_t issued_at_us, char id_out[PK_UUID_STR_LEN + 1])
{
    pk_envelope env = {.v = PK_ENVELOPE_VERSION, .actor_id = actor_id};
    env.issued_at_us = issued_at_us ? issued_at_us : now_us();
    if (id)
        env.id = *id;
    else
        pk_uuid_v7(&env.id, (uint64_t)(now_us() / 1000));
    snprintf(env.type, sizeof(env.type), "%s", type);
    snprintf(env.actor_role, sizeof(env.actor_role), "%s", actor_role ? actor_role : "");
    snprintf(env.request_id, sizeof(env.request_id), "it-%s", type);
    pk_uuid_format(&env.id, id_out);
    msgpack_sbuffer out;
    msgpack_sbuffer_init(&out);
    int rc = pk_envelope_encode(&env, payload->sb.data, payload->sb.size, &out);
    if (rc == 0)
        rc = it_kafka_produce(topic, key, out.data, out.size);
    msgpack_sbuffer_destroy(&out);
    return rc;
}

it_outcome it_wait_outcome(PGconn *db, const char *id, int timeout_ms)
{
    it_outcome o = {0};
    snprintf(o.id, sizeof(o.id), "%s", id);
    const char *params[] = {id};
    for (int waited = 0; waited <= timeout_ms; waited += 25) {
        PGresult *r = PQexecParams(db,
                                   "SELECT status, coalesce(code, ''), coalesce(entity_id, 0), resource::text"
                                   " FROM command_outcomes WHERE command_id = $1",
                                   1, NULL, params, NULL, NULL, 0);
        int found = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
        if (found) {
            snprintf(o.status, sizeof(o.status), "%s", PQgetvalue(r, 0, 0));
            snprintf(o.code, sizeof(o.code), "%s", PQgetvalue(r, 0, 1));
            o.entity_id = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
            o.resource = PQgetisnull(r, 0, 3) ? NULL : strdup(PQgetvalue(r, 0, 3));
        }
        PQclear(r);
        if (found)
            break;
        usleep(25 * 1000);
    }
    return o;
}

void it_outcome_free(it_outcome *o)
{
    free(o->resource);
    o->resource = NULL;
}

it_outcome it_command(PGconn *db, const char *type, const char *topic, const char *key, int64_t actor_id,
                      const char *actor_role, const it_payload *payload)
{
    char id[PK_UUID_STR_LEN + 1];
    if (it_send_command(type, topic, key, actor_id, actor_role, payload, NULL, 0, id) != 0) {
        it_outcome o = {0};
        return o;
    }
    return it_wait_outcome(db, id, 20000);
}
