/* fields.h — what the command families share: THE payload readers (every
 * family reads its payload with wk_field_*), UTF-8 validation, the admin
 * check, the platform time zone, id conversions. Statements and
 * their failures: db.h.
 *
 * Payload readers never trust the API. Every field is type- and
 * range-checked again, text must be valid UTF-8 without NUL or control
 * characters (PostgreSQL would refuse it, and a refused statement must not
 * look like a transient error that is retried forever), and a payload that
 * breaks a rule is poison (WK_POISON ⇒ rejected invalid_command + dlq),
 * because a well-behaved API never sends one.
 *
 * Every reader answers one wk_field_status (below). A caller that needs
 * the field tests `!= WK_FIELD_SET`; an optional field is malformed only
 * when `== WK_FIELD_BAD`; what nil means is the caller's choice (clears a
 * nullable column, counts as absent, or is malformed). An absent or nil
 * field leaves the output untouched (so a default set before stays); a
 * bad one may leave a text buffer cleared, never half-written. */
#ifndef PUNYAKA_WORKER_FIELDS_H
#define PUNYAKA_WORKER_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <msgpack.h>
#include "workers/db.h"
#include "workers/worker.h"

/* What a payload holds for one key. */
typedef enum {
    WK_FIELD_BAD = -1,      /* wrong type, out of range, too long, control characters */
    WK_FIELD_ABSENT = 0,    /* no such key */
    WK_FIELD_SET = 1,       /* a valid value, written to the output */
    WK_FIELD_NULL = 2,      /* the key is there with nil */
} wk_field_status;

/* Whether p is a map whose keys are all distinct str keys: a duplicate key
 * would let two readers see two different commands. */
bool wk_field_keys_distinct(const msgpack_object *p);

/* Length of the valid UTF-8 sequence at s (1..4, at most n bytes), 0 when
 * invalid: overlong forms, surrogates and code points above U+10FFFF are
 * refused (PostgreSQL refuses them, and a refused statement would look
 * transient and be retried forever). */
size_t wf_utf8_len(const unsigned char *s, size_t n);

/* Integer in [min, max] (floats are the wrong type). */
wk_field_status wk_field_int(const msgpack_object *p, const char *key, int64_t min, int64_t max, int64_t *out);
/* Entity id: integer ≥ 1. */
wk_field_status wk_field_id(const msgpack_object *p, const char *key, int64_t *out);
wk_field_status wk_field_bool(const msgpack_object *p, const char *key, bool *out);
/* A number (msgpack int of at most ±1e6, or finite float) in [min, max]. */
wk_field_status wk_field_number(const msgpack_object *p, const char *key, double min, double max, double *out);
/* Multi-line text of min_len..cap-1 bytes that passes pk_check_text
 * (common/validate.h, the API's rule: valid UTF-8, no control characters
 * other than newline and tab, no format characters). */
wk_field_status wk_field_text(const msgpack_object *p, const char *key, size_t min_len, char *buf, size_t cap);
/* Single-line text: the same with pk_check_line. */
wk_field_status wk_field_line(const msgpack_object *p, const char *key, size_t min_len, char *buf, size_t cap);
/* A str of at most cap-1 bytes without NUL, copied as it is: for fields
 * whose caller applies a stricter rule of its own next (usernames, emails,
 * dates, sealed hashes). */
wk_field_status wk_field_str(const msgpack_object *p, const char *key, char *buf, size_t cap);

/* msgpack ⇒ JSON for free-form values (the completion checklist): maps
 * with distinct UTF-8 str keys, arrays, str, int, finite float, bool, nil.
 * NULL when anything else (bin, ext, NUL in a string) is inside. */
json_t *wf_json_from_mp(const msgpack_object *o);

/* Whether the actor is an admin — the envelope says so and the users row
 * agrees (an active admin, so a demoted admin's old session cannot act).
 * WK_DONE, with `out` rejected `forbidden` when not (wk_rejected); a failed
 * statement's class (db.h) otherwise. */
wk_result wf_require_admin(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out);
/* The same with the rejection's message chosen by the caller. */
wk_result wf_require_admin_for(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out, const char *message);

/* The platform's UTC offset in minutes (PUNYAKA_TZ_OFFSET_MINUTES, default
 * 330; common/booking_rules.h explains the fixed offset). Read once.
 * wf_tz_offset_init() returns -1 when the variable is malformed, so the
 * worker refuses to start instead of placing bookings at the wrong time. */
int wf_tz_offset_init(void);
int wf_tz_offset(void);

/* Decimal text of v. */
void wf_itoa(int64_t v, char buf[24]);
/* The command id as UUID text. */
void wf_command_id(const pk_envelope_decoded *cmd, char buf[40]);

/* Column value helpers for row `row` of r. */
int64_t wf_col_i64(const PGresult *r, int row, int col);
bool wf_col_bool(const PGresult *r, int row, int col);
/* (Resources are rendered by PostgreSQL with common/shapes.h: resource.h.) */

#endif
