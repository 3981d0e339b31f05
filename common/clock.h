/* clock.h — the one monotonic clock for timeouts, backoffs and intervals
 * (never for business data: a worker takes its time from issued_at). */
#ifndef PUNYAKA_CLOCK_H
#define PUNYAKA_CLOCK_H

#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC: only differences mean anything. */
int64_t pk_monotonic_ms(void);

/* The value of one hexadecimal digit (either case), or -1. */
int pk_hex_value(char c);

#endif
