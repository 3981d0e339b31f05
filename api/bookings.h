/* bookings.h — what the priest-booking resources of the API share
 * (priests.c, services.c, bookings.c): the platform's time zone. How a
 * booking, a service and a priest are shown is common/shapes.h, which the
 * worker's outcomes use too, so a GET and a command outcome show the same
 * object. */
#ifndef PUNYAKA_API_BOOKINGS_H
#define PUNYAKA_API_BOOKINGS_H

#include "api/reads.h"
#include "api/users.h"

#include <jansson.h>
#include <msgpack.h>

/* Minutes east of UTC of the platform's local time (PUNYAKA_TZ_OFFSET_MINUTES,
 * default +330, read the way the worker reads it: common/booking_rules.h).
 * The API must agree with the worker, or it would accept a start the worker
 * then rejects as past, or list slots the worker places at another instant.
 * A malformed value falls back to the default here; the worker refuses to
 * start with it, so such a deployment never runs. */
int api_tz_offset(void);

/* JSON value ⇒ msgpack: a payload part that was validated as JSON (a
 * completion checklist, the extras of an action, a priest's week of
 * hours). Depth is bounded by the parser (PK_JSON_MAX_DEPTH). */
void api_pack_json(msgpack_packer *pk, json_t *v);

#endif
