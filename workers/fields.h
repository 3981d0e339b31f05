/* fields.h — what the command families share: strict payload readers
 * (bookings.c, priests.c, services.c; the shop's wk_field_* readers in
 * shop.h are built on the same checks), UTF-8 validation, the admin check,
 * the platform time zone, id conversions. Statements and their
 * failures: db.h.
 *
 * Payload readers never trust the API. Every field is type- and
 * range-checked again, text must be valid UTF-8 without NUL or control
 * characters (PostgreSQL would refuse it, and a refused statement must not
 * look like a transient error that is retried forever), and a payload that
 * breaks a rule is poison (WK_POISON ⇒ rejected invalid_command + dlq),
 * because a well-behaved API never sends one.
 *
 * Readers return 0 = set, -1 = absent or nil (outputs untouched), -2 = bad
 * (wrong type, out of range, too long), as common/mp.h does. */
#ifndef PUNYAKA_WORKER_FIELDS_H
#define PUNYAKA_WORKER_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <msgpack.h>
#include "workers/db.h"
#include "workers/worker.h"

/* 0 when p is a map whose keys are all distinct str keys, else -1: a
 * duplicate key would let two readers see two different commands. */
int wf_check_keys(const msgpack_object *p);

/* Length of the valid UTF-8 sequence at s (1..4, at most n bytes), 0 when
 * invalid: overlong forms, surrogates and code points above U+10FFFF are
 * refused (PostgreSQL refuses them, and a refused statement would look
 * transient and be retried forever). */
size_t wf_utf8_len(const unsigned char *s, size_t n);

/* Integer in [min, max]. */
int wf_int(const msgpack_object *p, const char *key, int64_t min, int64_t max, int64_t *out);
/* Entity id: integer ≥ 1. */
int wf_id(const msgpack_object *p, const char *key, int64_t *out);
int wf_bool(const msgpack_object *p, const char *key, bool *out);
/* Multi-line text of at most max bytes (buf holds max + 1) that passes
 * pk_check_text (common/validate.h: valid UTF-8, no control characters
 * other than newline and tab, no format characters). */
int wf_text(const msgpack_object *p, const char *key, size_t max, char *buf);
/* Single-line text: pk_check_line. */
int wf_line(const msgpack_object *p, const char *key, size_t max, char *buf);
/* A number (msgpack int or finite float) in [min, max]. */
int wf_number(const msgpack_object *p, const char *key, double min, double max, double *out);

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
