/* notifications.c — the notification family: notification.read {id} and
 * notification.read_all {up_to_id} (schemas/commands/accounts.md), topic
 * "accounts" keyed by the user.
 *
 * Notifications are derived from the events log by punyaka-notifier, not
 * by commands, so `punyaka-replay rebuild` into an empty database has none
 * of them. These commands must decide the same there as they did live:
 * each is one idempotent UPDATE scoped to the actor's own rows whose
 * outcome never depends on whether a row exists or was already read —
 * applied, 200, with a resource made from the payload alone. The API has
 * checked the ownership with a read before publishing (someone else's id
 * ⇒ 404 there); here the `user_id = actor` condition makes a forged id
 * touch nothing. read_at is the command's issued_at (never the clock). */
#include <string.h>
#include "workers/apply.h"
#include "workers/db.h"
#include "workers/fields.h"

/* Signed-in users only; the id the payload names under `key`. */
static wk_result decode(const pk_envelope_decoded *cmd, const char *key, int64_t *id, wk_outcome *out, int *ok)
{
    *ok = 0;
    const msgpack_object *p = cmd->payload;
    if (!wk_field_keys_distinct(p) || wk_field_id(p, key, id) != WK_FIELD_SET)
        return WK_POISON;
    if (cmd->env.actor_id <= 0) {
        wk_reject(out, "forbidden", NULL, "sign in to read notifications");
        return WK_DONE;
    }
    *ok = 1;
    return WK_DONE;
}

/* sql: $1 actor, $2 id, $3 issued_at. */
static wk_result mark(wk_ctx *ctx, const pk_envelope_decoded *cmd, const char *key, const char *what,
                      const char *sql, wk_outcome *out)
{
    int64_t id = 0;
    int ok = 0;
    wk_result r = decode(cmd, key, &id, out, &ok);
    if (r != WK_DONE || !ok)
        return r;
    char actor[24], idtext[24], ts[40];
    wf_itoa(cmd->env.actor_id, actor);
    wf_itoa(id, idtext);
    wk_timestamp(cmd->env.issued_at_us, ts);
    const char *params[] = {actor, idtext, ts};
    if ((r = wk_write(ctx, what, sql, 3, params)) != WK_DONE)
        return r;
    json_t *resource = json_pack("{sIsb}", key, (json_int_t)id, "read", 1);
    wk_applied(out, 200, strcmp(key, "id") == 0 ? "notification" : "", strcmp(key, "id") == 0 ? id : 0, resource);
    return WK_DONE;
}

wk_result wk_notification_read(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out)
{
    return mark(ctx, cmd, "id", "notification.read",
                "UPDATE notifications SET read_at = $3::timestamptz"
                " WHERE user_id = $1 AND id = $2 AND read_at IS NULL",
                out);
}

wk_result wk_notification_read_all(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out)
{
    return mark(ctx, cmd, "up_to_id", "notification.read_all",
                "UPDATE notifications SET read_at = $3::timestamptz"
                " WHERE user_id = $1 AND id <= $2 AND read_at IS NULL",
                out);
}
