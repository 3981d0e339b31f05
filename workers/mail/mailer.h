/* mailer.h — punyaka-mailer: drains the notification_emails outbox that
 * punyaka-notifier fills (migrations/0008, issue 17 "E-mail"), one mail per
 * row, over SMTP or into a folder of .eml files. docs/mail.md tells the
 * operator's side.
 *
 *   outbox.c     the rows: claim due ones under a lease, record each result
 *   templates.c  workers/mail/templates/<kind>.txt|.html → the mail's text
 *   transport.c  SMTP through libcurl (SMTP_URL), or .eml files
 *   main.c       settings, the loop (LISTEN + timed re-check), SIGTERM
 *
 * A separate process, so a slow or dead SMTP server never slows the
 * notifier or a worker: all they do is insert rows. Several mailers may
 * run: a row is claimed with FOR UPDATE SKIP LOCKED and leased (its
 * next_attempt_at moved past the longest send) in a committed statement,
 * so no transaction stays open while SMTP talks, and no two mailers hold
 * the same row. A mailer that dies mid-send leaves the row to be taken
 * again when the lease ends: delivery is at least once, and the same
 * notification always carries the same Message-ID. */
#ifndef PUNYAKA_MAILER_H
#define PUNYAKA_MAILER_H

#include <stdint.h>
#include <libpq-fe.h>
#include "common/mail.h"

typedef struct {
    const char *instance_id;    /* PUNYAKA_INSTANCE_ID, "mailer-<pid>": named in the log lines */
    const char *database_url;   /* DATABASE_URL */
    const char *smtp_url;       /* SMTP_URL, NULL/"" ⇒ .eml files */
    int smtp_tls_required;      /* SMTP_TLS=require ⇒ CURLUSESSL_ALL, else CURLUSESSL_TRY */
    const char *outbox_dir;     /* PUNYAKA_MAIL_OUTBOX, "data/outbox" */
    const char *from;           /* PUNYAKA_MAIL_FROM, "Punyaka <no-reply@punyaka.local>" */
    char from_addr[256];        /* its address (envelope sender) */
    const char *public_url;     /* PUNYAKA_PUBLIC_URL, "http://localhost:8080": links in mails */
    const char *templates_dir;  /* PUNYAKA_MAIL_TEMPLATES, the installed or source templates */
    int max_attempts;           /* PUNYAKA_MAIL_MAX_ATTEMPTS, 8: then `failed` */
    int batch;                  /* PUNYAKA_MAIL_BATCH, 5 rows per claim */
    int retry_base_s;           /* PUNYAKA_MAIL_RETRY_BASE_S, 10 (doubling) */
    int retry_max_s;            /* PUNYAKA_MAIL_RETRY_MAX_S, 3600 */
    int connect_timeout_s;      /* PUNYAKA_SMTP_CONNECT_TIMEOUT_S, 10 */
    int send_timeout_s;         /* PUNYAKA_SMTP_TIMEOUT_S, 30: one whole SMTP exchange */
    int recheck_s;              /* PUNYAKA_MAIL_RECHECK_S, 30: the slow poll behind LISTEN */
} ml_config;

/* One claimed row with what the mail needs. Strings are malloc'd. */
typedef struct {
    int64_t id, notification_id;
    int attempts;               /* before this try */
    char *to;                   /* users.email now (written back into to_address when sent) */
    int opted_in;               /* users.email_notifications and is_active, now */
    char *first_name, *kind, *title, *body, *entity_type;
    int64_t entity_id;
} ml_row;

void ml_row_free(ml_row *r);

/* ---- outbox.c ---- */

#define ML_CHANNEL "punyaka_mail"   /* migrations/0009_mailer.sql's trigger */

/* Claims up to cfg->batch due rows, leased for lease_s seconds. Returns how
 * many (rows[0..n) filled), or -1 on a database error. */
int ml_claim(PGconn *db, const ml_config *cfg, int lease_s, ml_row *rows);
/* Seconds until the next pending row is due (may be ≤ 0), or `none` when
 * no row is pending; -1e9 on a database error. */
double ml_next_due_s(PGconn *db, double none);
/* Results; 0, or -1 on a database error. */
int ml_mark_sent(PGconn *db, const ml_row *r);
int ml_mark_retry(PGconn *db, const ml_config *cfg, const ml_row *r, const char *error);
int ml_mark_final(PGconn *db, const ml_row *r, const char *status, const char *error);
/* Gives unsent claimed rows back (due now) and wakes the other mailers. */
int ml_release(PGconn *db, const ml_row *rows, int n);

/* ---- templates.c ---- */

/* Renders row r: subject, text and HTML from <dir>/<kind>.txt|.html, or
 * default.txt|.html when the kind has none (or a broken one). 0, or -1
 * with a reason in err. */
int ml_render(const ml_config *cfg, const ml_row *r, pk_buf *subject, pk_buf *text, pk_buf *html, char *err,
              size_t errcap);
/* Loads and checks every template of the folder (default.* must exist):
 * 0, or -1 with the reason in err. The mailer refuses to start without. */
int ml_templates_check(const char *dir, char *err, size_t errcap);

/* ---- transport.c ---- */

int ml_transport_init(void);
void ml_transport_cleanup(void);
/* Sends one built message to `to`: SMTP when cfg->smtp_url, else an .eml
 * file in cfg->outbox_dir (written whole under a temporary name, then
 * renamed). 0, or -1 with the reason in err. */
int ml_send(const ml_config *cfg, const ml_row *r, const pk_buf *message, char *err, size_t errcap);

#endif
