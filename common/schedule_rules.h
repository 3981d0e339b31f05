/* schedule_rules.h — a priest's own schedule (issue 17) as pure functions:
 * weekly working hours and blocked periods, and how they narrow the
 * platform's booking rules (common/booking_rules.h).
 *
 * No I/O, no clock: "now" is passed in (the worker's issued_at, the API's
 * request time), so a replay decides as the live run did. The API answers
 * early with these checks and lists availability with them; the worker
 * applies them again because it never trusts the wire.
 *
 * The rule (docs/api.md "Priest schedules"):
 *   - the service [start, start + duration) lies inside ONE working interval
 *     of the local weekday of its start (intervals never cross midnight:
 *     they lie inside 06:00–21:00), else "priest_unavailable";
 *   - the occupancy [start, start + duration + 15 min buffer) intersects no
 *     blocked period (half-open ranges: a block ending at 10:00 leaves a
 *     10:00 start free), else "priest_unavailable".
 * A priest who never set hours has the default: every day 06:00–21:00,
 * exactly the platform's hours, so nothing changes for him. */
#ifndef PUNYAKA_SCHEDULE_RULES_H
#define PUNYAKA_SCHEDULE_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "common/booking_rules.h"

#define SCHEDULE_DAYS 7
#define SCHEDULE_MAX_INTERVALS 4              /* per day */
#define SCHEDULE_BLOCK_MAX_DAYS 366           /* a block's length, and how far ahead it may end */
#define SCHEDULE_BLOCK_REASON_MAX 500         /* bytes */
#define SCHEDULE_MAX_FUTURE_BLOCKS 200        /* blocks not yet ended, per priest */
#define SCHEDULE_US_PER_DAY (INT64_C(86400) * 1000000)

/* The week's JSON as the default (every day 06:00–21:00), exactly as
 * schedule_week_format writes it: the SQL shapes show it for a priest with
 * no row (common/shapes.h), and a unit test keeps the two equal. */
#define SCHEDULE_DEFAULT_HOURS_JSON                                                                            \
    "{\"mon\":[[\"06:00\",\"21:00\"]],\"tue\":[[\"06:00\",\"21:00\"]],\"wed\":[[\"06:00\",\"21:00\"]],"           \
    "\"thu\":[[\"06:00\",\"21:00\"]],\"fri\":[[\"06:00\",\"21:00\"]],\"sat\":[[\"06:00\",\"21:00\"]],"           \
    "\"sun\":[[\"06:00\",\"21:00\"]]}"

typedef struct {
    int start_min, end_min;     /* local minutes of the day, start < end */
} schedule_interval;

/* Day 0 is Monday … 6 Sunday (ISO order, the order the JSON is written in). */
typedef struct {
    int count[SCHEDULE_DAYS];
    schedule_interval iv[SCHEDULE_DAYS][SCHEDULE_MAX_INTERVALS];
} schedule_week;

/* "mon" … "sun". */
const char *schedule_day_name(int day);
/* Monday = 0 … Sunday = 6 of a calendar date. */
int schedule_weekday(booking_date d);

void schedule_week_default(schedule_week *w);

/* Reads `hours`: an object with exactly the seven keys mon … sun, each a
 * list of at most 4 ["HH:MM","HH:MM"] pairs on the 30-minute grid, each
 * start < end, inside 06:00–21:00, sorted and not overlapping (touching is
 * allowed but pointless). Returns NULL and fills *w, or a message with
 * `field` set to the offending key ("hours" or "hours.mon"). */
const char *schedule_week_parse(const json_t *hours, schedule_week *w, char field[16]);
/* The canonical JSON text of a week (malloc'd; caller frees): keys mon …
 * sun in order, compact. NULL only when out of memory. */
char *schedule_week_format(const schedule_week *w);
/* The same as a jansson object (new reference). */
json_t *schedule_week_json(const schedule_week *w);

/* Does the service [start_minute, start_minute + duration) of a start on
 * date `d` lie inside one interval of that weekday? "priest_unavailable"
 * or NULL. */
const char *schedule_check_hours(const schedule_week *w, booking_date d, int start_minute, int duration_min);
/* Does r intersect any block? */
bool schedule_hits_block(booking_range r, const booking_range *blocks, size_t n);

/* A blocked period [start, end) set at `now`: NULL when acceptable, else a
 * message, with *field "start" or "end": end > start, end ≤ now + 366
 * days, end − start ≤ 366 days. A start in the past is allowed (a priest
 * may block the rest of today). */
const char *schedule_check_block(int64_t start_us, int64_t end_us, int64_t now_us, const char **field);

/* An instant as clients send it: "YYYY-MM-DDTHH:MM", optional ":SS" and
 * up to 6 fraction digits, then "Z", "±HH:MM", or nothing (= the platform's
 * local time, tz_offset_min). Returns 0 or -1. */
int schedule_parse_instant(const char *s, int tz_offset_min, int64_t *us);

/* Free start times of one local day under the priest's schedule: those
 * booking_free_starts offers for the platform's hours (q's open/close are
 * ignored and set to 06:00–21:00), kept when schedule_check_hours accepts
 * them and their occupancy hits no block. Same contract as
 * booking_free_starts: returns how many (≤ cap written), -1 when q is
 * malformed. */
int schedule_free_starts(const booking_day_query *q, const schedule_week *w, const booking_range *blocks,
                         size_t nblocks, int *starts, size_t cap);

#endif
