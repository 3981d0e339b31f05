/* mail_sink.h — what the stack's punyaka-mailer really delivered over SMTP.
 *
 * ctest's stack fixture starts the stack with PUNYAKA_STACK_SMTP_SINK=1:
 * scripts/lib/stack.sh then runs tests/support/smtp_sink.py (Debian's
 * aiosmtpd) and points the mailer's SMTP_URL at it; every message it
 * accepts is saved as $PUNYAKA_STACK_DIR/smtp-sink/<n>.eml. The mailer
 * names each mail after its notification (Message-ID
 * <notification-ID@…>, common/mail.h), which is how a test finds it. */
#ifndef PUNYAKA_TEST_MAIL_SINK_H
#define PUNYAKA_TEST_MAIL_SINK_H

#include <stdint.h>
#include <libpq-fe.h>

/* How many mails about notification `id` the sink holds. */
int it_sink_mails_for(int64_t notification_id);

/* Waits (≤ wait_ms) until the sink holds `want` mails about the
 * notification; returns how many it holds then. */
int it_sink_wait_for(int64_t notification_id, int want, int wait_ms);

/* Every mail in the sink: how many, and how many name a notification
 * another mail already named (a duplicate: one notification, two mails). */
int it_sink_total(int *duplicates);

/* The mail of one notification, as its recipient's preference says: with
 * e-mail on, exactly one mail in the sink within wait_ms; with e-mail off,
 * none. Returns NULL, or what is wrong (a static string) for fail_msg. */
const char *it_sink_check_note(PGconn *db, int64_t notification_id, int wait_ms);

/* Waits (≤ wait_ms) until the stack's mailer has nothing pending in db's
 * notification_emails; 0 when it got there, -1 on timeout. */
int it_sink_wait_idle(PGconn *db, int wait_ms);

#endif
