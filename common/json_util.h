/* json_util.h — the API's thin, strict layer over jansson.
 *
 * Parsing rules (one place, so every endpoint treats bodies alike):
 *   - the top level must be an object;
 *   - duplicate keys are an error (JSON_REJECT_DUPLICATES): two validators
 *     must never disagree about which "price" counted;
 *   - integers stay exact: JSON_DECODE_INT_AS_REAL is never set, so numbers
 *     without '.'/exponent are json_int_t (int64) and out-of-range integers
 *     are a parse error, never a silently rounded double;
 *   - invalid UTF-8, "\u0000" and NUL bytes are rejected (jansson defaults);
 *   - nesting deeper than PK_JSON_MAX_DEPTH containers is rejected (the top
 *     object is depth 1), so handlers can walk bodies recursively.
 *
 * Getters return 0 = ok, -1 = missing or null, -2 = wrong type or out of
 * range, the same convention as mp.h. */
#ifndef PUNYAKA_JSON_UTIL_H
#define PUNYAKA_JSON_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "common/money.h"

#define PK_JSON_MAX_DEPTH 32

/* Parses exactly len bytes. Returns a new reference (json_decref it), or
 * NULL with a one-line reason in err ("invalid JSON at line 1, column 9:
 * duplicate object key", "top-level value must be an object", ...). */
json_t *pk_json_parse(const char *buf, size_t len, char *err, size_t errcap);

/* Compact text (no spaces, no trailing newline) of any value, or NULL when
 * out of memory. The caller free()s it. Keys keep insertion order. */
char *pk_json_dump(const json_t *j);

/* String member; *out points into obj and lives as long as obj. */
int pk_json_get_str(const json_t *obj, const char *key, const char **out);
/* Integer member (a JSON number written without fraction or exponent). */
int pk_json_get_int(const json_t *obj, const char *key, int64_t *out);
int pk_json_get_bool(const json_t *obj, const char *key, bool *out);

/* Money member in paise. Accepts the decimal string the API renders
 * ("1500.00", "1500.5", "1500") and, for clients that send plain numbers,
 * a JSON integer counting whole rupees. A number with a fraction (1500.5)
 * is refused: it went through a double and may already be inexact.
 * On -2, *why (if not NULL) tells money_strerror() what was wrong. */
int pk_json_get_money(const json_t *obj, const char *key, int64_t *paise, money_err *why);

/* Sets obj[key] to the decimal string of paise. Returns 0 or -1. */
int pk_json_set_money(json_t *obj, const char *key, int64_t paise);

#endif
