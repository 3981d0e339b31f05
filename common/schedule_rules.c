/* schedule_rules.c — weekly hours and blocked periods (schedule_rules.h). */
#include "common/schedule_rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const DAY_NAMES[SCHEDULE_DAYS] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

const char *schedule_day_name(int day)
{
    return day >= 0 && day < SCHEDULE_DAYS ? DAY_NAMES[day] : "";
}

int schedule_weekday(booking_date d)
{
    /* 1970-01-01 was a Thursday (3 with Monday = 0). */
    int64_t days = booking_days_from_civil(d);
    return (int)(((days % 7) + 7 + 3) % 7);
}

void schedule_week_default(schedule_week *w)
{
    for (int d = 0; d < SCHEDULE_DAYS; d++) {
        w->count[d] = 1;
        w->iv[d][0] = (schedule_interval){BOOKING_OPEN_MIN, BOOKING_CLOSE_MIN};
    }
}

/* One ["HH:MM","HH:MM"] pair on the grid, inside the platform's hours. */
static const char *parse_interval(const json_t *pair, schedule_interval *iv)
{
    const char *a = json_string_value(json_array_get(pair, 0)), *b = json_string_value(json_array_get(pair, 1));
    if (!json_is_array(pair) || json_array_size(pair) != 2 || !a || !b)
        return "each interval must be a pair of times [\"HH:MM\", \"HH:MM\"]";
    if (booking_parse_slot_time(a, &iv->start_min) || booking_parse_slot_time(b, &iv->end_min))
        return "times must be HH:MM on the 30-minute grid (09:00, 09:30)";
    if (iv->start_min >= iv->end_min)
        return "each interval must start before it ends";
    if (iv->start_min < BOOKING_OPEN_MIN || iv->end_min > BOOKING_CLOSE_MIN)
        return "working hours must lie within 06:00–21:00";
    return NULL;
}

static const char *parse_day(const json_t *list, schedule_week *w, int day)
{
    size_t i;
    json_t *pair;
    if (!json_is_array(list))
        return "must be a list of [\"HH:MM\", \"HH:MM\"] intervals";
    if (json_array_size(list) > SCHEDULE_MAX_INTERVALS)
        return "at most 4 intervals per day";
    w->count[day] = 0;
    json_array_foreach(list, i, pair) {
        schedule_interval iv;
        const char *why = parse_interval(pair, &iv);
        if (why)
            return why;
        if (i > 0 && iv.start_min < w->iv[day][i - 1].end_min)
            return "intervals must be sorted and must not overlap";
        w->iv[day][w->count[day]++] = iv;
    }
    return NULL;
}

const char *schedule_week_parse(const json_t *hours, schedule_week *w, char field[16])
{
    snprintf(field, 16, "hours");
    if (!json_is_object(hours))
        return "required: an object with the days mon … sun";
    if (json_object_size(hours) != SCHEDULE_DAYS) {
        for (int d = 0; d < SCHEDULE_DAYS; d++)
            if (!json_object_get(hours, DAY_NAMES[d])) {
                snprintf(field, 16, "hours.%s", DAY_NAMES[d]);
                return "all seven days are required (an empty list for a day off)";
            }
        return "only the days mon … sun are allowed";
    }
    memset(w, 0, sizeof(*w));
    for (int d = 0; d < SCHEDULE_DAYS; d++) {
        const json_t *list = json_object_get(hours, DAY_NAMES[d]);
        const char *why = list ? parse_day(list, w, d) : "all seven days are required (an empty list for a day off)";
        if (why) {
            snprintf(field, 16, "hours.%s", DAY_NAMES[d]);
            return why;
        }
    }
    return NULL;
}

json_t *schedule_week_json(const schedule_week *w)
{
    json_t *doc = json_object();
    for (int d = 0; d < SCHEDULE_DAYS; d++) {
        json_t *list = json_array();
        for (int i = 0; i < w->count[d] && i < SCHEDULE_MAX_INTERVALS; i++) {
            char a[6], b[6];
            booking_format_time(w->iv[d][i].start_min, a);
            booking_format_time(w->iv[d][i].end_min, b);
            json_array_append_new(list, json_pack("[s,s]", a, b));
        }
        json_object_set_new(doc, DAY_NAMES[d], list);
    }
    return doc;
}

char *schedule_week_format(const schedule_week *w)
{
    json_t *doc = schedule_week_json(w);
    char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    return text;
}

const char *schedule_check_hours(const schedule_week *w, booking_date d, int start_minute, int duration_min)
{
    int day = schedule_weekday(d);
    for (int i = 0; i < w->count[day] && i < SCHEDULE_MAX_INTERVALS; i++)
        if (w->iv[day][i].start_min <= start_minute && start_minute + duration_min <= w->iv[day][i].end_min)
            return NULL;
    return "priest_unavailable";
}

bool schedule_hits_block(booking_range r, const booking_range *blocks, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (booking_ranges_overlap(r, blocks[i]))
            return true;
    return false;
}

const char *schedule_check_block(int64_t start_us, int64_t end_us, int64_t now_us, const char **field)
{
    int64_t limit = (int64_t)SCHEDULE_BLOCK_MAX_DAYS * SCHEDULE_US_PER_DAY;
    *field = "end";
    if (end_us <= start_us)
        return "must be after start";
    if (end_us - start_us > limit)
        return "a block lasts at most 366 days";
    if (end_us > now_us + limit)
        return "a block must end within 366 days from now";
    return NULL;
}

/* n decimal digits at s, or -1. */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* The zone suffix: "" (local), "Z", "±HH:MM". */
static int parse_zone(const char *s, int local_offset, int *offset)
{
    if (!*s) {
        *offset = local_offset;
        return 0;
    }
    if (strcmp(s, "Z") == 0) {
        *offset = 0;
        return 0;
    }
    if ((s[0] != '+' && s[0] != '-') || strlen(s) != 6 || s[3] != ':')
        return -1;
    int hh = digits(s + 1, 2), mm = digits(s + 4, 2);
    if (hh < 0 || hh > 14 || mm < 0 || mm > 59)
        return -1;
    *offset = (s[0] == '-' ? -1 : 1) * (hh * 60 + mm);
    return 0;
}

int schedule_parse_instant(const char *s, int tz_offset_min, int64_t *us)
{
    char date[11], time[6];
    booking_date d;
    int minute, sec = 0, frac = 0, zone;
    if (!s || strlen(s) < 16 || strlen(s) > 40 || s[10] != 'T')
        return -1;
    memcpy(date, s, 10), date[10] = 0;
    memcpy(time, s + 11, 5), time[5] = 0;
    if (booking_parse_date(date, &d) || booking_parse_time(time, &minute))
        return -1;
    const char *p = s + 16;
    if (*p == ':') {
        if ((sec = digits(p + 1, 2)) < 0 || sec > 59)
            return -1;
        p += 3;
        if (*p == '.') {
            int n = 0;
            for (p++; *p >= '0' && *p <= '9' && n < 6; p++, n++)
                frac = frac * 10 + (*p - '0');
            if (n == 0 || (*p >= '0' && *p <= '9'))
                return -1;
            for (; n < 6; n++)
                frac *= 10;
        }
    }
    if (parse_zone(p, tz_offset_min, &zone))
        return -1;
    *us = booking_local_to_us(d, minute, zone) + (int64_t)sec * 1000000 + frac;
    return 0;
}

int schedule_free_starts(const booking_day_query *q, const schedule_week *w, const booking_range *blocks,
                         size_t nblocks, int *starts, size_t cap)
{
    booking_day_query platform = *q;
    platform.open_min = BOOKING_OPEN_MIN;
    platform.close_min = BOOKING_CLOSE_MIN;
    int all[BOOKING_SLOTS_PER_DAY];
    int n = booking_free_starts(&platform, all, BOOKING_SLOTS_PER_DAY);
    if (n < 0 || (nblocks && !blocks))
        return -1;
    int kept = 0;
    for (int i = 0; i < n && i < BOOKING_SLOTS_PER_DAY; i++) {
        int64_t start = booking_local_to_us(q->date, all[i], q->tz_offset_min);
        if (schedule_check_hours(w, q->date, all[i], q->duration_min) ||
            schedule_hits_block(booking_occupancy(start, q->duration_min), blocks, nblocks))
            continue;
        if ((size_t)kept < cap)
            starts[kept] = all[i];
        kept++;
    }
    return kept;
}
