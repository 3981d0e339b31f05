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

size_t pk_utf8_decode(const unsigned char *s, size_t n, unsigned *cp)
{
    if (n == 0)
        return 0;
    unsigned c = s[0];
    size_t len = c < 0x80                  ? 1
                 : c >= 0xc2 && c <= 0xdf ? 2
                 : c >= 0xe0 && c <= 0xef ? 3
                 : c >= 0xf0 && c <= 0xf4 ? 4
                                          : 0;
    if (len == 0 || len > n)
        return 0;
    /* The second byte's range excludes overlong forms (E0, F0), surrogates
     * (ED) and code points above U+10FFFF (F4). */
    unsigned lo = 0x80, hi = 0xbf;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
    unsigned v = len == 1 ? c : len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
    for (size_t i = 1; i < len; i++) {
        if (s[i] < (i == 1 ? lo : 0x80) || s[i] > (i == 1 ? hi : 0xbf))
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (cp)
        *cp = v;
    return len;
}

int pk_utf8_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t k = u[i] ? pk_utf8_decode(u + i, n - i, NULL) : 0;
        if (!k)
            return 0;
        i += k;
    }
    return 1;
}

/* Unicode's format characters (general category Cf, Unicode 15), less
 * ZWNJ/ZWJ which the caller treats apart, plus U+2028/2029 and the
 * noncharacters: everything invisible that can reorder or hide text. */
static int is_format(unsigned c)
{
    static const unsigned RANGES[][2] = {
        {0x00ad, 0x00ad},   {0x0600, 0x0605},   {0x061c, 0x061c},   {0x06dd, 0x06dd},   {0x070f, 0x070f},
        {0x0890, 0x0891},   {0x08e2, 0x08e2},   {0x180e, 0x180e},   {0x200b, 0x200b},   {0x200e, 0x200f},
        {0x2028, 0x202e},   {0x2060, 0x2064},   {0x2066, 0x206f},   {0xfdd0, 0xfdef},   {0xfeff, 0xfeff},
        {0xfff9, 0xfffb},   {0xfffe, 0xffff},   {0x110bd, 0x110bd}, {0x110cd, 0x110cd}, {0x13430, 0x1343f},
        {0x1bca0, 0x1bca3}, {0x1d173, 0x1d17a}, {0xe0001, 0xe0001}, {0xe0020, 0xe007f},
    };
    for (size_t i = 0; i < sizeof(RANGES) / sizeof(RANGES[0]); i++)
        if (c >= RANGES[i][0] && c <= RANGES[i][1])
            return 1;
    return (c & 0xfffe) == 0xfffe;   /* U+xFFFE/U+xFFFF of every plane */
}

static const char *check_chars(const char *s, size_t max, int multiline)
{
    size_t n = strlen(s);
    if (n > max)
        return "is too long";
    const unsigned char *u = (const unsigned char *)s;
    unsigned prev = 0;
    for (size_t i = 0; i < n;) {
        unsigned c;
        size_t k = pk_utf8_decode(u + i, n - i, &c);
        if (!k)
            return "is not valid UTF-8";
        if (c == '\n' || c == '\t') {
            if (!multiline)
                return "must be a single line without tabs";
        } else if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
            return "contains control characters";
        } else if (is_format(c)) {
            return "contains invisible formatting characters";
        } else if (c == 0x200c || c == 0x200d) {
            /* Needed inside Indic words and emoji; never leading or doubled. */
            if (i == 0 || prev == 0x200c || prev == 0x200d)
                return "contains invisible formatting characters";
        }
        prev = c;
        i += k;
    }
    return NULL;
}

const char *pk_check_text(const char *s, size_t max)
{
    return check_chars(s, max, 1);
}

const char *pk_check_address(const char *s, size_t max)
{
    const char *p = s;
    while (*p == ' ' || *p == '\t' || *p == '\n')
        p++;
    if (!*p)
        return "this field is required";
    return check_chars(s, max, 1);
}

const char *pk_check_line(const char *s, size_t max)
{
    return check_chars(s, max, 0);
}

const char *pk_check_list_item(const char *s)
{
    if (!*s)
        return "must not be empty";
    return check_chars(s, PK_LIST_ITEM_MAX, 0);
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
    if (strlen(s) > PK_PHONE_MAX)
        return "enter a valid phone number";
    const char *p = *s == '+' ? s + 1 : s;
    for (; *p; p++) {
        if (isdigit((unsigned char)*p))
            nd++;
        else if (*p != ' ' && *p != '-')
            return "enter a valid phone number";
    }
    return nd >= 7 && nd <= 15 ? NULL : "enter a valid phone number";
}

const char *pk_check_account_field(const char *name, const char *value)
{
    if (!*value)
        return NULL;
    if (!strcmp(name, "first_name") || !strcmp(name, "last_name") || !strcmp(name, "place_of_birth"))
        return pk_check_line(value, PK_ACCOUNT_TEXT_MAX);
    if (!strcmp(name, "address"))
        return pk_check_text(value, PK_ACCOUNT_TEXT_MAX);
    if (!strcmp(name, "phone"))
        return pk_check_phone(value);
    if (!strcmp(name, "date_of_birth"))
        return pk_check_date(value);
    if (!strcmp(name, "time_of_birth"))
        return pk_check_time(value);
    return "is not a field of an account";
}
