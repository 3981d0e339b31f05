/* main.c — punyaka-mailer's settings and loop (mailer.h, docs/mail.md).
 *
 * One round: claim up to a batch of due rows, send each, record each
 * result. A full batch means more may be due: go again. Otherwise ask when
 * the next pending row is due and sleep until then — at most
 * PUNYAKA_MAIL_RECHECK_S — or until PostgreSQL NOTIFYs `punyaka_mail` (an
 * insert: migrations/0009_mailer.sql) or SIGTERM. So an idle mailer runs
 * two statements per re-check, not a poll a second.
 *
 * SIGTERM: the mail in hand is finished and recorded, the rest of the
 * batch given back to the other mailers, exit 0. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include "common/config.h"
#include "common/log.h"
#include "common/pg_session.h"
#include "workers/mail/mailer.h"

#ifndef PUNYAKA_MAIL_TEMPLATES_DIR
#define PUNYAKA_MAIL_TEMPLATES_DIR "workers/mail/templates"
#endif

#define BATCH_MAX 64
#define RECONNECT_MAX_S 30
#define RECORD_TRIES 5        /* a result that cannot be written is tried again this often, 1 s apart */

static volatile sig_atomic_t stopping;
static int wake_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
    int saved = errno;
    if (wake_pipe[1] >= 0 && write(wake_pipe[1], "x", 1) < 0) {
        /* the pipe is full: a wake-up is pending anyway */
    }
    errno = saved;
}

static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

/* An integer setting in [lo, hi]; -1 (and a message) when malformed. */
static int env_int(const char *name, int dflt, int lo, int hi, int *out)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        *out = dflt;
        return 0;
    }
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || n < lo || n > hi) {
        fprintf(stderr, "punyaka-mailer: %s must be an integer from %d to %d\n", name, lo, hi);
        return -1;
    }
    *out = (int)n;
    return 0;
}

static int load_config(ml_config *c)
{
    char err[512], name[256];
    if (pk_secrets_load(err, sizeof(err)) != 0) {   /* DATABASE_URL_FILE, SMTP_URL_FILE, … */
        fprintf(stderr, "punyaka-mailer: %s\n", err);
        return -1;
    }
    memset(c, 0, sizeof(*c));
    static char instance[64];
    snprintf(instance, sizeof(instance), "mailer-%ld", (long)getpid());
    c->instance_id = env_or("PUNYAKA_INSTANCE_ID", instance);
    c->database_url = env_or("DATABASE_URL", "host=127.0.0.1 port=5432 dbname=punyaka user=postgres");
    c->smtp_url = env_or("SMTP_URL", NULL);
    const char *tls = env_or("SMTP_TLS", "try");
    c->smtp_tls_required = strcmp(tls, "require") == 0;
    if (!c->smtp_tls_required && strcmp(tls, "try") != 0) {
        fprintf(stderr, "punyaka-mailer: SMTP_TLS must be try or require\n");
        return -1;
    }
    c->outbox_dir = env_or("PUNYAKA_MAIL_OUTBOX", "data/outbox");
    c->from = env_or("PUNYAKA_MAIL_FROM", "Punyaka <no-reply@punyaka.local>");
    if (pk_mail_from_parse(c->from, name, sizeof(name), c->from_addr, sizeof(c->from_addr)) != 0) {
        fprintf(stderr, "punyaka-mailer: PUNYAKA_MAIL_FROM must be \"Name <addr@domain>\" or \"addr@domain\"\n");
        return -1;
    }
    c->public_url = env_or("PUNYAKA_PUBLIC_URL", "http://localhost:8080");
    c->templates_dir = env_or("PUNYAKA_MAIL_TEMPLATES", PUNYAKA_MAIL_TEMPLATES_DIR);
    if (env_int("PUNYAKA_MAIL_MAX_ATTEMPTS", 8, 1, 100, &c->max_attempts) || env_int("PUNYAKA_MAIL_BATCH", 5, 1, BATCH_MAX, &c->batch) ||
        env_int("PUNYAKA_MAIL_RETRY_BASE_S", 10, 1, 86400, &c->retry_base_s) ||
        env_int("PUNYAKA_MAIL_RETRY_MAX_S", 3600, 1, 7 * 86400, &c->retry_max_s) ||
        env_int("PUNYAKA_SMTP_CONNECT_TIMEOUT_S", 10, 1, 300, &c->connect_timeout_s) ||
        env_int("PUNYAKA_SMTP_TIMEOUT_S", 30, 1, 600, &c->send_timeout_s) ||
        env_int("PUNYAKA_MAIL_RECHECK_S", 30, 1, 3600, &c->recheck_s))
        return -1;
    return 0;
}

/* ---- the database session ---- */

static PGconn *connect_db(const ml_config *cfg)
{
    pk_pg_params p;
    pk_pg_params_init(&p, cfg->database_url, PK_PG_WORKER);
    PGconn *db = PQconnectdbParams(p.keys, p.values, 1);
    if (PQstatus(db) != CONNECTION_OK) {
        pk_warn(NULL, "mailer: cannot connect to PostgreSQL: %s", PQerrorMessage(db));
        PQfinish(db);
        return NULL;
    }
    PGresult *res = PQexec(db, "LISTEN " ML_CHANNEL);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok) {
        pk_warn(NULL, "mailer: LISTEN failed: %s", PQerrorMessage(db));
        PQfinish(db);
        return NULL;
    }
    return db;
}

/* Takes every notification libpq holds; 1 when there was one. */
static int drain_notifies(PGconn *db)
{
    int any = 0;
    if (db && PQconsumeInput(db)) {
        PGnotify *n;
        while ((n = PQnotifies(db)) != NULL) {
            PQfreemem(n);
            any = 1;
        }
    }
    return any;
}

/* Sleeps up to `seconds` in poll() on the session's socket (a NOTIFY) and
 * the signal pipe; drains both. A NOTIFY that arrived during the last
 * round's statements is already in libpq's buffer, where poll() cannot see
 * it: then there is no sleep at all. */
static void sleep_until_woken(PGconn *db, double seconds)
{
    struct pollfd fds[2] = {{.fd = wake_pipe[0], .events = POLLIN}, {.fd = db ? PQsocket(db) : -1, .events = POLLIN}};
    int ms = seconds <= 0 ? 0 : seconds > 3600 ? 3600 * 1000 : (int)(seconds * 1000) + 1;
    if (!stopping && !drain_notifies(db))
        poll(fds, db ? 2 : 1, ms);
    char drain[64];
    while (read(wake_pipe[0], drain, sizeof(drain)) > 0) {
    }
    drain_notifies(db);
}

static void write_ready_file(void)
{
    const char *path = getenv("PUNYAKA_READY_FILE");
    if (!path || !*path)
        return;
    FILE *f = fopen(path, "w");
    if (f)
        fclose(f);
}

/* ---- one mail ---- */

/* Writes a row's result, again on a fresh session if the first one fails
 * (a mail that went out must not be sent twice because of a blip).
 * mark: 0 sent, 1 retry, 2 final (status). */
static int record(PGconn **db, const ml_config *cfg, const ml_row *r, int mark, const char *status, const char *error)
{
    for (int i = 0; i < RECORD_TRIES; i++) {
        if (*db) {
            int rc = mark == 0   ? ml_mark_sent(*db, r)
                     : mark == 1 ? ml_mark_retry(*db, cfg, r, error)
                                 : ml_mark_final(*db, r, status, error);
            if (rc == 0)
                return 0;
            if (PQstatus(*db) == CONNECTION_OK)
                return -1;   /* the statement itself failed: trying again would not help */
            PQfinish(*db);
            *db = NULL;
        }
        sleep(1);
        *db = connect_db(cfg);
    }
    pk_error(NULL, "mailer: could not record the result of mail %lld; it is sent again after its lease",
             (long long)r->id);
    return -1;
}

static void random_boundary(char *out, size_t cap)
{
    unsigned char raw[12];
    char hex[sizeof(raw) * 2 + 1];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(hex, sizeof(hex), raw, sizeof(raw));
    snprintf(out, cap, "=_punyaka_%s", hex);
}

static void deliver(PGconn **db, const ml_config *cfg, const ml_row *r)
{
    if (!r->opted_in) {
        record(db, cfg, r, 2, "skipped", "the recipient turned e-mail off or is deactivated");
        pk_info(NULL, "mailer: mail %lld skipped (opted out)", (long long)r->id);
        return;
    }
    if (!pk_mail_address_ok(r->to)) {
        record(db, cfg, r, 2, "failed", "the recipient's address cannot be used in a mail header");
        pk_warn(NULL, "mailer: mail %lld failed: unusable address", (long long)r->id);
        return;
    }
    pk_buf subject = {0}, text = {0}, html = {0}, msg = {0};
    char err[1024] = "", id[320], boundary[48];
    int rc = ml_render(cfg, r, &subject, &text, &html, err, sizeof(err));
    if (rc == 0) {
        pk_mail_message_id(r->notification_id, cfg->from_addr, id, sizeof(id));
        random_boundary(boundary, sizeof(boundary));
        pk_mail_msg m = {.from = cfg->from, .to = r->to, .subject = subject.data ? subject.data : "",
                         .text = text.data ? text.data : "", .html = html.data ? html.data : "",
                         .message_id = id, .boundary = boundary, .date = time(NULL)};
        if (pk_mail_build(&m, &msg) != 0) {
            snprintf(err, sizeof(err), "could not build the message");
            rc = -1;
        }
    }
    if (rc != 0) {   /* templates missing or broken: an operator fixes them, the retries give time */
        record(db, cfg, r, 1, NULL, err);
        pk_error(NULL, "mailer: mail %lld: %s", (long long)r->id, err);
    } else if (ml_send(cfg, r, &msg, err, sizeof(err)) != 0) {
        record(db, cfg, r, 1, NULL, err);
        pk_warn(NULL, "mailer: mail %lld attempt %d failed: %s", (long long)r->id, r->attempts + 1, err);
    } else {
        record(db, cfg, r, 0, NULL, NULL);
        pk_info(NULL, "mailer: mail %lld (notification %lld, %s) sent by %s", (long long)r->id,
                (long long)r->notification_id, r->kind, cfg->instance_id);
    }
    pk_buf_free(&subject);
    pk_buf_free(&text);
    pk_buf_free(&html);
    pk_buf_free(&msg);
}

/* One round: claims, sends, records. How many rows it claimed, or -1 when
 * the session failed. */
static int round_once(PGconn **db, const ml_config *cfg, int lease_s)
{
    ml_row rows[BATCH_MAX];
    memset(rows, 0, sizeof(rows));
    int n = ml_claim(*db, cfg, lease_s, rows);
    if (n < 0)
        return -1;
    int i = 0;
    for (; i < n && !stopping; i++)
        deliver(db, cfg, &rows[i]);
    if (i < n && *db)
        ml_release(*db, rows + i, n - i);
    for (int k = 0; k < n; k++)
        ml_row_free(&rows[k]);
    return *db ? n : -1;
}

static int check_only(const ml_config *cfg)
{
    char err[1024];
    if (ml_templates_check(cfg->templates_dir, err, sizeof(err)) != 0) {
        fprintf(stderr, "punyaka-mailer: %s\n", err);
        return 1;
    }
    ml_row r = {.notification_id = 1, .to = "asha@example.com", .opted_in = 1, .first_name = "Asha",
                .kind = "booking_confirmed", .title = "Booking confirmed", .body = "Your puja on 1 Jan at 09:00 is confirmed."};
    pk_buf s = {0}, t = {0}, h = {0};
    int rc = ml_render(cfg, &r, &s, &t, &h, err, sizeof(err));
    if (rc == 0)
        printf("templates in %s: ok\nSubject: %s\n\n%s", cfg->templates_dir, s.data ? s.data : "", t.data ? t.data : "");
    else
        fprintf(stderr, "punyaka-mailer: %s\n", err);
    pk_buf_free(&s);
    pk_buf_free(&t);
    pk_buf_free(&h);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    ml_config cfg;
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: punyaka-mailer [--check]\n"
               "  sends the notification_emails outbox (SMTP_URL, else .eml files in PUNYAKA_MAIL_OUTBOX)\n"
               "  --check  load and render the templates (PUNYAKA_MAIL_TEMPLATES, default %s), then exit\n",
               PUNYAKA_MAIL_TEMPLATES_DIR);
        return 0;
    }
    if (load_config(&cfg) != 0)
        return 2;
    if (argc > 1 && !strcmp(argv[1], "--check"))
        return check_only(&cfg);
    if (argc > 1) {
        fprintf(stderr, "punyaka-mailer: unknown argument %s (--help)\n", argv[1]);
        return 2;
    }
    pk_log_init("mailer");
    char err[1024];
    if (sodium_init() < 0 || ml_transport_init() != 0) {
        pk_error(NULL, "mailer: libsodium or libcurl failed to start");
        return 1;
    }
    if (ml_templates_check(cfg.templates_dir, err, sizeof(err)) != 0) {
        pk_error(NULL, "mailer: %s (PUNYAKA_MAIL_TEMPLATES)", err);
        return 1;
    }
    if (pipe(wake_pipe) != 0 || fcntl(wake_pipe[0], F_SETFL, O_NONBLOCK) != 0 ||
        fcntl(wake_pipe[1], F_SETFL, O_NONBLOCK) != 0) {
        pk_error(NULL, "mailer: pipe: %s", strerror(errno));
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* A claimed row stays leased for longer than its batch can take to send. */
    int lease_s = cfg.batch * (cfg.connect_timeout_s + cfg.send_timeout_s) + 60;
    pk_info(NULL, "mailer: %s, from %s, templates %s, at most %d attempts",
            cfg.smtp_url ? "sending over SMTP" : "writing .eml files", cfg.from_addr, cfg.templates_dir,
            cfg.max_attempts);
    if (!cfg.smtp_url)
        pk_info(NULL, "mailer: outbox folder %s", cfg.outbox_dir);

    PGconn *db = NULL;
    int backoff_s = 1;
    while (!stopping) {
        if (!db) {
            if (!(db = connect_db(&cfg))) {
                sleep_until_woken(NULL, backoff_s);
                backoff_s = backoff_s * 2 > RECONNECT_MAX_S ? RECONNECT_MAX_S : backoff_s * 2;
                continue;
            }
            backoff_s = 1;
            write_ready_file();
        }
        int n = round_once(&db, &cfg, lease_s);
        if (n < 0) {
            PQfinish(db);
            db = NULL;
            continue;
        }
        if (n == cfg.batch || stopping)
            continue;
        double due = ml_next_due_s(db, cfg.recheck_s);
        if (due < -1e8) {
            PQfinish(db);
            db = NULL;
            continue;
        }
        /* Nothing claimed yet something "due": another mailer holds it this
         * instant; a second's pause keeps this from spinning. */
        if (n == 0 && due < 1)
            due = 1;
        sleep_until_woken(db, due > cfg.recheck_s ? cfg.recheck_s : due);
    }
    PQfinish(db);
    ml_transport_cleanup();
    pk_info(NULL, "mailer: stopped");
    return 0;
}
