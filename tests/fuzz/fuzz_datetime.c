/* fuzz_datetime — the date/time parsers of common/booking_rules.c and
 * common/validate.c on any text: whatever booking_parse_* accepts the
 * pk_check_* validators accept too, formats back to the same text, and the
 * local-time conversions of it round-trip. */
#include <stdlib.h>
#include <string.h>
#include "common/booking_rules.h"
#include "common/validate.h"
#include "tests/fuzz/fuzz_support.h"

static void date_case(const char *s)
{
    booking_date d;
    const char *why = pk_check_date(s);
    if (booking_parse_date(s, &d) != 0)
        return;
    if (why)
        abort();   /* the worker accepts what the API refused */
    char text[11];
    booking_format_date(d, text);
    if (strcmp(text, s) != 0)
        abort();
    for (int tz = -720; tz <= 840; tz += 390) {
        booking_date back;
        int minute;
        booking_us_to_local(booking_local_to_us(d, 600, tz), tz, &back, &minute);
        if (back.year != d.year || back.month != d.month || back.day != d.day || minute != 600)
            abort();
    }
}

static void time_case(const char *s)
{
    int minute = -1;
    const char *why = pk_check_time(s);
    if (booking_parse_time(s, &minute) != 0)
        return;
    if (why || minute < 0 || minute >= 24 * 60)
        abort();
    char text[6];
    booking_format_time(minute, text);
    if (strncmp(text, s, 5) != 0)
        abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_strndup(data, size);
    date_case(s);
    time_case(s);
    int tz;
    if (booking_tz_offset_parse(s, &tz) == 0 && (tz < -24 * 60 || tz > 24 * 60))
        abort();
    booking_status st;
    if (booking_status_parse(s, &st) == 0 && strcmp(booking_status_name(st), s) != 0)
        abort();
    free(s);
    return 0;
}
