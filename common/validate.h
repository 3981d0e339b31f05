/* validate.h — field rules shared by the API (to answer 400 early) and the
 * workers (which never trust the wire). Each returns NULL when the value is
 * acceptable, else a short message for the problem+json `errors` map. */
#ifndef PUNYAKA_VALIDATE_H
#define PUNYAKA_VALIDATE_H

#include <stddef.h>

/* 3–150 characters of letters, digits and @.+-_ (Django's rule, so seed clients keep working). */
const char *pk_check_username(const char *s);
/* local@domain.tld, ≤ 254 characters, no spaces or control characters. */
const char *pk_check_email(const char *s);
/* 8–128 bytes, not all digits. */
const char *pk_check_password(const char *s);
/* Optional free text: ≤ max bytes, no control characters. */
const char *pk_check_text(const char *s, size_t max);
/* YYYY-MM-DD, a real calendar date (leap years). */
const char *pk_check_date(const char *s);
/* HH:MM or HH:MM:SS, 24-hour. */
const char *pk_check_time(const char *s);
/* Phone: optional '+', then 7–15 digits (spaces and dashes allowed between). */
const char *pk_check_phone(const char *s);

#endif
