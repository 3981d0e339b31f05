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
/* ---- text (DESIGN: one rule per field, called by the API and the worker) ----
 *
 * Public text is shown on other people's pages, so besides a byte limit it
 * must be valid UTF-8 (no overlong forms, surrogates or code points above
 * U+10FFFF) and free of characters that are invisible or rearrange what
 * surrounds them:
 *   - control characters (Unicode Cc: U+0000–001F, DEL, C1 U+0080–009F);
 *     multi-line fields allow tab and newline (not CR: clients send \n);
 *   - format characters (Unicode Cf): soft hyphen, Arabic number signs,
 *     bidi marks, embeddings, overrides and isolates (U+200E/F,
 *     U+202A–202E, U+2066–2069), zero-width space, word joiner and the
 *     invisible operators, BOM, interlinear annotations, tag characters …;
 *   - line and paragraph separators (U+2028/2029) and noncharacters.
 * One deliberate exception: ZWNJ and ZWJ (U+200C/U+200D) are needed to
 * write Devanagari and other Indic scripts correctly (half forms, conjuncts)
 * and to join emoji, so they are allowed — but not as the first character
 * and not two in a row, where they can only hide things.
 * '<', '>' and '&' are accepted: they are data, and the web UI renders all
 * user text with textContent (docs/web.md), never as markup. */

/* Multi-line free text (bios, descriptions, notes, instructions, feedback,
 * addresses): ≤ max bytes, the rules above, tab and newline allowed. */
const char *pk_check_text(const char *s, size_t max);
/* A required address (where the priest comes for a booking): multi-line
 * text as pk_check_text that is not empty or blanks only — a priest cannot
 * find "" (issue 15: the seed's field names once booked with no address).
 * The API requires it; the worker still applies older commands without one,
 * so the journal replays unchanged (docs/seed-frontend.md). */
const char *pk_check_address(const char *s, size_t max);
/* Single-line text (names, titles, list items, cities): the same, without
 * tab or newline. */
const char *pk_check_line(const char *s, size_t max);
/* An item of a priest's specializations or languages: a line of 1–100 bytes. */
#define PK_LIST_ITEM_MAX 100
#define PK_LIST_MAX_ITEMS 20
const char *pk_check_list_item(const char *s);

/* Length of the valid UTF-8 sequence at s (1..4, at most n bytes), 0 when
 * invalid (overlong, surrogate, above U+10FFFF, truncated); *cp gets the
 * code point when cp is not NULL. */
size_t pk_utf8_decode(const unsigned char *s, size_t n, unsigned *cp);
/* Whether s[0..n) is valid UTF-8 without NUL. */
int pk_utf8_valid(const char *s, size_t n);
/* YYYY-MM-DD, a real calendar date (leap years). */
const char *pk_check_date(const char *s);
/* HH:MM or HH:MM:SS, 24-hour. */
const char *pk_check_time(const char *s);
/* Phone: optional '+', then 7–15 digits (spaces and dashes allowed between),
 * at most PK_PHONE_MAX bytes in all (the worker's buffers and the column). */
#define PK_PHONE_MAX 24
const char *pk_check_phone(const char *s);

/* The account's own fields of user.register and user.update, by name:
 * first_name, last_name, place_of_birth (a line), address (multi-line),
 * each ≤ PK_ACCOUNT_TEXT_MAX bytes; phone (pk_check_phone); date_of_birth
 * (pk_check_date); time_of_birth (pk_check_time). "" is accepted (not
 * given, or clear it). An unknown name is refused. */
#define PK_ACCOUNT_TEXT_MAX 500
/* A priest's bio: multi-line text (pk_check_text) of at most this many bytes. */
#define PK_BIO_MAX 2000
const char *pk_check_account_field(const char *name, const char *value);

#endif
