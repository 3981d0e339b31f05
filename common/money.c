#include "common/money.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>

/* The grammar is deliberately tiny: digits [ "." digit [ digit ] ].
 * Anything looser ("1.", ".5", "+1", "1e3", " 1", "1,000") is a syntax
 * error, because every extra spelling we accept is one the API and a
 * client could disagree about. */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Counts the leading digits of s[0..len). */
static size_t digit_run(const char *s, size_t len)
{
    size_t n = 0;
    while (n < len && is_digit(s[n]))
        n++;
    return n;
}

/* Splits an unsigned amount into its integer and fraction digit runs.
 * Returns MONEY_OK, MONEY_SYNTAX or MONEY_TOO_PRECISE (a syntactically
 * clean amount with more than two fraction digits). */
static money_err split_digits(const char *s, size_t len, size_t *int_len, size_t *frac_len)
{
    size_t i = digit_run(s, len);
    if (i == 0)
        return MONEY_SYNTAX;
    *int_len = i;
    *frac_len = 0;
    if (i == len)
        return MONEY_OK;
    if (s[i] != '.')
        return MONEY_SYNTAX;
    size_t f = digit_run(s + i + 1, len - i - 1);
    if (f == 0 || i + 1 + f != len)
        return MONEY_SYNTAX;
    *frac_len = f;
    return f > 2 ? MONEY_TOO_PRECISE : MONEY_OK;
}

/* Rupees from the integer digits. Leading zeros are skipped first, so the
 * digit count bounds the value and the accumulation can never overflow. */
static money_err rupees_value(const char *s, size_t n, int64_t *out)
{
    while (n > 1 && *s == '0') {
        s++;
        n--;
    }
    if (n > 18)                       /* 10^18 > any amount we accept */
        return MONEY_TOO_LARGE;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    if (v > MONEY_MAX_PAISE / 100)
        return MONEY_TOO_LARGE;
    *out = v;
    return MONEY_OK;
}

/* Paise from the n (0, 1 or 2) fraction digits that follow the '.' at dot.
 * With n == 0 there is no '.', and dot may be one past the end: not read. */
static int64_t fraction_paise(const char *dot, size_t n)
{
    int64_t p = 0;
    if (n >= 1)
        p += (dot[1] - '0') * 10;
    if (n >= 2)
        p += dot[2] - '0';
    return p;
}

money_err money_parse(const char *s, size_t len, int64_t *out)
{
    if (len == 0)
        return MONEY_EMPTY;
    if (!s)
        return MONEY_SYNTAX;
    bool negative = s[0] == '-';
    if (negative) {
        s++;
        len--;
    }
    size_t int_len, frac_len;
    money_err e = split_digits(s, len, &int_len, &frac_len);
    if (e == MONEY_SYNTAX)
        return MONEY_SYNTAX;
    if (negative)                     /* even "-0": a sign is never valid */
        return MONEY_NEGATIVE;
    if (e != MONEY_OK)
        return e;
    int64_t rupees;
    if ((e = rupees_value(s, int_len, &rupees)) != MONEY_OK)
        return e;
    int64_t paise = rupees * 100 + fraction_paise(s + int_len, frac_len);
    if (paise > MONEY_MAX_PAISE)
        return MONEY_TOO_LARGE;
    *out = paise;
    return MONEY_OK;
}

const char *money_strerror(money_err e)
{
    switch (e) {
    case MONEY_OK:          return "ok";
    case MONEY_EMPTY:       return "amount is empty";
    case MONEY_SYNTAX:      return "amount must look like 1500 or 1500.50";
    case MONEY_NEGATIVE:    return "amount must not be negative";
    case MONEY_TOO_PRECISE: return "amount has more than two decimal places";
    case MONEY_TOO_LARGE:   return "amount is too large";
    }
    return "invalid amount";
}

/* snprintf semantics: never writes more than cap bytes, always terminates
 * when cap > 0, returns the full length. The magnitude is taken as uint64
 * so INT64_MIN formats correctly instead of overflowing on negation. */
size_t money_format(int64_t paise, char *buf, size_t cap)
{
    uint64_t mag = paise < 0 ? (uint64_t)0 - (uint64_t)paise : (uint64_t)paise;
    int n = snprintf(buf, cap, "%s%" PRIu64 ".%02" PRIu64, paise < 0 ? "-" : "", mag / 100, mag % 100);
    return n < 0 ? 0 : (size_t)n;
}

void money_split(int64_t price, int64_t *advance, int64_t *balance)
{
    /* floor((price + 2) / 4) == (price * 25 + 50) / 100 for price >= 0,
     * computed from a floored quotient/remainder so nothing can overflow. */
    int64_t q = price / 4, r = price % 4;
    if (r < 0) {
        q -= 1;
        r += 4;
    }
    int64_t adv = q + (r >= 2 ? 1 : 0);
    *advance = adv;
    *balance = price - adv;
}
