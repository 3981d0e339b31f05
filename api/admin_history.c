/* admin_history.c — the audit trail in the browser (issue 17):
 *   GET /api/admin/history/?entity=booking:42   admins only, paginated,
 *       oldest first: every journal entry recorded for that entity
 *       (journal.entity_type / entity_id, indexed) as
 *       {seq, at, command_id, type, actor {id, role, username}, status, code}.
 * What `punyaka-replay history TYPE:ID` prints from the events log, read
 * from the journal the log is published from. `at` is the command's
 * issued_at (the time the API accepted it), `username` null when the actor
 * is no user row (a system actor). A command records its entity when it
 * applies (a rejected create has none), so a rejection appears here when
 * the worker recorded the entity it was about. */
#include <stdio.h>
#include <string.h>
#include "api/http.h"
#include "api/query.h"
#include "api/reads.h"
#include "api/routes.h"

/* The entity types the workers record (workers/resource.c). */
static const char *const TYPES[] = {"booking", "order", "user", "product", "priest", "service", "category"};

/* "TYPE:ID" with a known type and a positive id of at most 18 digits. */
static int parse_entity(const char *text, char type[16], char id[24])
{
    const char *colon = strchr(text, ':');
    size_t tlen = colon ? (size_t)(colon - text) : 0, ilen = colon ? strlen(colon + 1) : 0;
    if (!colon || tlen == 0 || tlen >= 16 || ilen == 0 || ilen > 18 || colon[1] == '0')
        return -1;
    for (size_t i = 0; i < ilen; i++)
        if (colon[1 + i] < '0' || colon[1 + i] > '9')
            return -1;
    for (size_t i = 0; i < sizeof(TYPES) / sizeof(TYPES[0]); i++) {
        if (strlen(TYPES[i]) == tlen && memcmp(TYPES[i], text, tlen) == 0) {
            snprintf(type, 16, "%s", TYPES[i]);
            snprintf(id, 24, "%s", colon + 1);
            return 0;
        }
    }
    return -1;
}

int api_admin_history(h2o_req_t *req, const api_match *m)
{
    char entity[64], type[16], id[24];
    api_page page;
    if (api_query_text_or_reply(req, "entity", entity, sizeof(entity)) || api_page_or_reply(req, &page))
        return 0;
    if (!entity[0] || parse_entity(entity, type, id) != 0) {
        api_reply_field_error(req, "entity",
                              "must be TYPE:ID with TYPE booking, order, user, product, priest, service or category");
        return 0;
    }
    char limit[24], offset[24];
    snprintf(limit, sizeof(limit), "%lld", (long long)page.size);
    snprintf(offset, sizeof(offset), "%lld", (long long)page.offset);
    const char *params[] = {type, id, limit, offset};
    api_read_page(req, m, &page,
                  "SELECT (SELECT count(*) FROM journal WHERE entity_type = $1 AND entity_id = $2::bigint),"
                  " coalesce((SELECT json_agg(json_build_object('seq', j.seq, 'at', " PK_SQL_TIMESTAMP("j.issued_at")
                  ", 'command_id', j.command_id, 'type', j.type, 'actor', json_build_object('id', j.actor_id,"
                  " 'role', j.actor_role, 'username', u.username), 'status', j.status, 'code', j.code) ORDER BY j.seq)"
                  "  FROM (SELECT seq, issued_at, command_id, type, actor_id, actor_role, status, code FROM journal"
                  "   WHERE entity_type = $1 AND entity_id = $2::bigint ORDER BY seq"
                  "   LIMIT $3::bigint OFFSET $4::bigint) j"
                  "  LEFT JOIN users u ON u.id = j.actor_id), '[]')::text",
                  4, params, API_READ_PLAIN);
    return 0;
}
