/* bookings.h — what the priest-booking resources of the API share
 * (priests.c, services.c, bookings.c): how a service and a person's name are
 * shown, and the platform's time zone. The shapes match the worker's
 * resources (schemas/commands/bookings.md), so a GET and a command outcome
 * show the same object. */
#ifndef PUNYAKA_API_BOOKINGS_H
#define PUNYAKA_API_BOOKINGS_H

#include "api/reads.h"
#include "api/users.h"

/* "First Last", or the username when both are empty (as the worker does). */
#define API_DISPLAY_NAME_SQL(u) \
    "coalesce(nullif(btrim(" u ".first_name || ' ' || " u ".last_name), ''), " u ".username)"

/* A service row (alias s) as the service.create/update resource; `price`
 * repeats base_price under the seed frontend's name (issue 15). */
#define API_SERVICE_JSON(s)                                                                                   \
    "json_build_object('id', " s ".id, 'name', " s ".name, 'description', " s ".description,"                 \
    " 'service_type', " s ".service_type, 'duration_minutes', " s ".duration_minutes,"                        \
    " 'base_price', " API_MONEY_SQL(s ".base_price_paise") ", 'price', " API_MONEY_SQL(s ".base_price_paise") "," \
    " 'is_active', " s ".is_active,"                                                                          \
    " 'created_at', " API_TIMESTAMP_SQL(s ".created_at") ", 'updated_at', " API_TIMESTAMP_SQL(s ".updated_at") ")"

/* Minutes east of UTC of the platform's local time (PUNYAKA_TZ_OFFSET_MINUTES,
 * default +330, read the way the worker reads it: common/booking_rules.h).
 * The API must agree with the worker, or it would accept a start the worker
 * then rejects as past, or list slots the worker places at another instant.
 * A malformed value falls back to the default here; the worker refuses to
 * start with it, so such a deployment never runs. */
int api_tz_offset(void);

#endif
