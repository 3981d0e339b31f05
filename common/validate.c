#include "common/validate.h"

#include <ctype.h>
#include <string.h>

const char *pk_check_username(const char *s)
{
    size_t n = strlen(s);
    if (n < 3 || n > 150)
        return "must be 3 to 150 characters";
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("@.+-_", s[i]))
            return "may contain only letters, digits and @ . + - _";
    return NULL;
}

const char *pk_check_email(const char *s)
{
    size_t n = strlen(s);
    const char *at = strchr(s, '@');
    if (n > 254 || !at || at == s || strchr(at + 1, '@'))
        return "enter a valid email address";
    const char *dot = strrchr(at, '.');
    if (!dot || dot == at + 1 || dot[1] == 0)
        return "enter a valid email address";
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
            return "enter a valid email address";
    return NULL;
}

const char *pk_check_password(const char *s)
{
    size_t n = strlen(s);
    if (n < 8)
        return "must be at least 8 characters";
    if (n > 128)
        return "must be at most 128 characters";
    if (strspn(s, "0123456789") == n)
        return "must not be entirely numeric";
    return NULL;
}

const char *pk_check_text(const char *s, size_t max)
{
    if (strlen(s) > max)
        return "is too long";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < ' ' && *p != '\n' && *p != '\t')
            return "contains control characters";
    return NULL;
}

static int digits(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return -1;
    int v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

const char *pk_check_date(const char *s)
{
    static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return "use the format YYYY-MM-DD";
    int y = digits(s, 4), m = digits(s + 5, 2), d = digits(s + 8, 2);
    if (y < 1900 || y > 2200 || m < 1 || m > 12 || d < 1 || d > days[m - 1])
        return "is not a valid date";
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m == 2 && d == 29 && !leap)
        return "is not a valid date";
    return NULL;
}

const char *pk_check_time(const char *s)
{
    size_t n = strlen(s);
    if ((n != 5 && n != 8) || s[2] != ':' || (n == 8 && s[5] != ':'))
        return "use the format HH:MM";
    int h = digits(s, 2), m = digits(s + 3, 2), sec = n == 8 ? digits(s + 6, 2) : 0;
    if (h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 59)
        return "is not a valid time";
    return NULL;
}

const char *pk_check_phone(const char *s)
{
    int nd = 0;
    const char *p = *s == '+' ? s + 1 : s;
    for (; *p; p++) {
        if (isdigit((unsigned char)*p))
            nd++;
        else if (*p != ' ' && *p != '-')
            return "enter a valid phone number";
    }
    return nd >= 7 && nd <= 15 ? NULL : "enter a valid phone number";
}
