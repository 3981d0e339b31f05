/* money.h — amounts are int64 paise everywhere inside Punyaka.
 *
 * JSON carries decimal strings with at most two fraction digits
 * ("1500.00", "1500.5", "0.00"). No floating point anywhere: parsing and
 * formatting are exact integer operations. */
#ifndef PUNYAKA_MONEY_H
#define PUNYAKA_MONEY_H

#include <stddef.h>
#include <stdint.h>

/* Largest amount we accept: ₹10,00,00,000.00 (10^10 paise) keeps every sum
 * of a realistic order far from int64 overflow. */
#define MONEY_MAX_PAISE INT64_C(10000000000)

typedef enum {
    MONEY_OK = 0,
    MONEY_EMPTY,          /* "" */
    MONEY_SYNTAX,         /* not [-]digits[.digits], e.g. "1e3", " 1", "1." */
    MONEY_NEGATIVE,       /* "-1" — amounts are never negative */
    MONEY_TOO_PRECISE,    /* more than two fraction digits: "12.345" */
    MONEY_TOO_LARGE,      /* above MONEY_MAX_PAISE, including 20-digit numbers */
} money_err;

/* Parses exactly `len` bytes of `s`. On MONEY_OK stores the value in *out. */
money_err money_parse(const char *s, size_t len, int64_t *out);

/* Human-readable reason for an error, for problem+json field messages. */
const char *money_strerror(money_err e);

/* Writes "1500.00" style text (always two decimals, '-' for negatives) and a
 * NUL; returns the length. cap >= MONEY_FMT_CAP always suffices. */
#define MONEY_FMT_CAP 32
size_t money_format(int64_t paise, char *buf, size_t cap);

/* The booking payment split (DESIGN §4): advance = 25 % of price rounded
 * half-up to the paisa, i.e. (price * 25 + 50) / 100, and balance = price -
 * advance, so the two always sum to the price. Computed without any
 * intermediate product, so it cannot overflow for any int64 price; for a
 * negative price "half-up" means towards +infinity (floor((price + 2) / 4)). */
void money_split(int64_t price, int64_t *advance, int64_t *balance);

#endif
