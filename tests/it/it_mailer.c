/* it_mailer.c — punyaka-mailer (workers/mail/) against a real SMTP server
 * (tests/support/smtp_sink.py, Debian's python3-aiosmtpd) and a real
 * PostgreSQL, and the e-mail opt-out through PATCH /api/auth/me/ (issue 17
 * "E-mail").
 *
 * The mailer tests run in a scratch database of their own (made by
 * punyaka-migrate, dropped at the end) and insert notification and
 * notification_emails rows with SQL, as punyaka-notifier would: the stack's
 * own mailer never sees them, and the shared database, which
 * it_replay_audit rebuilds from the log, holds nothing the log did not make.
 *
 *   smtp_delivery        one mail arrives: envelope, To, Subject (UTF-8,
 *                        encoded), a text/plain and a text/html part with
 *                        the title and body, <script> escaped in HTML only;
 *                        a recipient who opted out gets nothing (skipped)
 *   retry_until_sink_up  SMTP down ⇒ attempts grow, pending, last_error;
 *                        the sink comes up on that port ⇒ sent
 *   failed_after_max     PUNYAKA_MAIL_MAX_ATTEMPTS tries ⇒ failed
 *   eml_outbox           no SMTP_URL ⇒ one whole .eml file in the outbox
 *   two_mailers          40 mails, two mailers at once ⇒ 40 arrive, each once
 *   opt_out_round_trip   PATCH me {"email_notifications": false} ⇒ GET me
 *                        and users.email_notifications say false; true again
 * Every mailer is stopped with SIGTERM and must exit 0. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include "tests/support/calls.h"
#include "tests/support/db.h"
#include "tests/support/procs.h"
#include "tests/support/replay.h"
#include "tests/support/stack_env.h"

#define WAIT_MS 15000

static struct {
    char tag[16];
    char dbname[64], dsn[1024];
    char tmp[512];          /* this run's folders: sinks, outboxes, ready files */
    PGconn *db;             /* the scratch database, as its owner */
    int64_t user_id, quiet_user_id;   /* e-mail on; e-mail off */
    int seq;                /* notifications.event_seq, unique per row */
} F;

/* ---- processes ---- */

/* Starts argv with the environment plus `env` (NAME=value, NULL-terminated),
 * output appended to the stack's logs/<log>.log (so the stack's sanitizer
 * check at `down` sees it). */
static pid_t spawn(const char *log, char *const argv[], const char *const *env)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/logs/%s.log", it_env("PUNYAKA_STACK_DIR"), log);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        FILE *f = fopen(path, "a");
        if (f) {
            dup2(fileno(f), 1);
            dup2(fileno(f), 2);
        }
        for (int i = 0; env && env[i]; i++)
            putenv((char *)env[i]);
        execv(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

/* SIGTERM, wait (≤ 15 s, then SIGKILL); the exit status, -1 when killed. */
static int stop(pid_t pid)
{
    if (pid <= 0)
        return -1;
    kill(pid, SIGTERM);
    for (int i = 0; i < 150; i++) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        usleep(100 * 1000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

static int wait_file(const char *path, int timeout_ms)
{
    for (int i = 0; i < timeout_ms / 50; i++) {
        if (access(path, F_OK) == 0)
            return 0;
        usleep(50 * 1000);
    }
    return -1;
}

/* The sink on `port` (0: any) saving into dir, answering each DATA after
 * delay ("0": at once); returns its pid, *port set. */
static pid_t sink_start_slow(const char *dir, int *port, const char *delay)
{
    char pf[600], portarg[16];
    static int n;
    snprintf(pf, sizeof(pf), "%s/sink-%d.port", F.tmp, ++n);
    snprintf(portarg, sizeof(portarg), "%d", *port);
    char *argv[] = {"/usr/bin/python3", (char *)it_env("PUNYAKA_SOURCE_DIR"), "--dir", (char *)dir, "--port", portarg,
                    "--port-file", pf, "--delay", (char *)delay, NULL};
    char script[1024];
    snprintf(script, sizeof(script), "%s/tests/support/smtp_sink.py", it_env("PUNYAKA_SOURCE_DIR"));
    argv[1] = script;
    pid_t pid = spawn("smtp-sink", argv, NULL);
    if (wait_file(pf, 10000) != 0)
        fail_msg("the SMTP sink did not start (logs/smtp-sink.log)");
    FILE *f = fopen(pf, "r");
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%d", port), 1);
    fclose(f);
    return pid;
}

static pid_t sink_start(const char *dir, int *port)
{
    return sink_start_slow(dir, port, "0");
}

static char last_instance[64];   /* PUNYAKA_INSTANCE_ID of the last mailer_start */

/* punyaka-mailer on the scratch database with the test's quick retries
 * plus `extra` settings; waits until it has LISTENed. */
static pid_t mailer_start(const char *const *extra)
{
    static int n;
    static char env[16][1200];
    const char *list[24];
    int k = 0;
    char ready[600];
    snprintf(ready, sizeof(ready), "%s/mailer-%d.ready", F.tmp, ++n);
    snprintf(env[k], sizeof(env[k]), "DATABASE_URL=%s", F.dsn), list[k] = env[k], k++;
    snprintf(env[k], sizeof(env[k]), "PUNYAKA_READY_FILE=%s", ready), list[k] = env[k], k++;
    snprintf(env[k], sizeof(env[k]), "PUNYAKA_MAIL_RETRY_BASE_S=1"), list[k] = env[k], k++;
    snprintf(env[k], sizeof(env[k]), "PUNYAKA_MAIL_RETRY_MAX_S=2"), list[k] = env[k], k++;
    snprintf(env[k], sizeof(env[k]), "PUNYAKA_SMTP_CONNECT_TIMEOUT_S=2"), list[k] = env[k], k++;
    snprintf(env[k], sizeof(env[k]), "PUNYAKA_SMTP_TIMEOUT_S=10"), list[k] = env[k], k++;
    snprintf(env[k], sizeof(env[k]), "PUNYAKA_PUBLIC_URL=https://punyaka.example"), list[k] = env[k], k++;
    snprintf(last_instance, sizeof(last_instance), "it-mailer-%s-%d", F.tag, n);
    snprintf(env[k], sizeof(env[k]), "PUNYAKA_INSTANCE_ID=%s", last_instance), list[k] = env[k], k++;
    for (int i = 0; extra && extra[i] && k < 23; i++)
        list[k++] = extra[i];
    list[k] = NULL;
    char bin[1024];
    snprintf(bin, sizeof(bin), "%s/workers/punyaka-mailer", it_env("PUNYAKA_BUILD_DIR"));
    char *argv[] = {bin, NULL};
    unsetenv("SMTP_URL");   /* only what `extra` says */
    pid_t pid = spawn("it-mailer", argv, list);
    if (wait_file(ready, 10000) != 0) {
        stop(pid);
        fail_msg("punyaka-mailer did not come up (logs/it-mailer.log)");
    }
    return pid;
}

static void stop_mailer(pid_t pid)
{
    assert_int_equal(stop(pid), 0);   /* SIGTERM: the mail in hand finished, exit 0 */
}

/* ---- rows, as punyaka-notifier writes them ---- */

static long long sql_scalar(const char *sql, const char *const *params, int n)
{
    PGresult *r = PQexecParams(F.db, sql, n, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    long long v = PQgetisnull(r, 0, 0) ? -1 : atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

static int64_t add_user(const char *name, int email_on)
{
    char email[128];
    snprintf(email, sizeof(email), "%s.%s@example.com", name, F.tag);
    const char *p[] = {name, email, email_on ? "t" : "f"};
    return sql_scalar("INSERT INTO users (username, email, password_hash, role, first_name, created_at, updated_at,"
                      " email_notifications) VALUES ($1, $2, 'x', 'customer', initcap($1), now(), now(), $3)"
                      " RETURNING id",
                      p, 3);
}

/* A notification for user and its pending e-mail; the e-mail row's id. */
static int64_t add_mail(int64_t user, const char *kind, const char *title, const char *body)
{
    char uid[24], seq[24];
    snprintf(uid, sizeof(uid), "%lld", (long long)user);
    snprintf(seq, sizeof(seq), "%d", ++F.seq);
    const char *p[] = {uid, kind, title, body, seq};
    return sql_scalar("WITH n AS (INSERT INTO notifications (user_id, kind, entity_type, entity_id, title, body,"
                      "            event_seq, created_at)"
                      "          VALUES ($1, $2, 'booking', 7, $3, $4, $5, now()) RETURNING id, user_id)"
                      " INSERT INTO notification_emails (notification_id, to_address)"
                      " SELECT n.id, u.email FROM n JOIN users u ON u.id = n.user_id RETURNING id",
                      p, 5);
}

static long long wait_row(int64_t id, const char *column_sql, long long want)
{
    char sql[512], sid[24];
    snprintf(sql, sizeof(sql), "SELECT (%s)::int FROM notification_emails WHERE id = $1", column_sql);
    snprintf(sid, sizeof(sid), "%lld", (long long)id);
    return it_db_wait_for(F.db, want, WAIT_MS, sql, sid, NULL);
}

static char *row_text(int64_t id, const char *column)
{
    char sql[256], sid[24];
    snprintf(sql, sizeof(sql), "SELECT %s FROM notification_emails WHERE id = $1", column);
    snprintf(sid, sizeof(sid), "%lld", (long long)id);
    const char *p[] = {sid};
    PGresult *r = PQexecParams(F.db, sql, 1, NULL, p, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    char *v = PQgetisnull(r, 0, 0) ? NULL : strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

/* ---- reading what arrived ---- */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = 0;
    fclose(f);
    return s;
}

/* Files in dir ending with `suffix` (hidden ones excluded). */
static int count_files(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name), s = strlen(suffix);
        n += e->d_name[0] != '.' && l > s && strcmp(e->d_name + l - s, suffix) == 0;
    }
    closedir(d);
    return n;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The body of the part whose Content-Type starts with `type`, QP-decoded
 * (malloc'd), or NULL. */
static char *part(const char *eml, const char *type)
{
    char head[64];
    snprintf(head, sizeof(head), "Content-Type: %s", type);
    const char *h = strstr(eml, head);
    if (!h || !strstr(h, "Content-Transfer-Encoding: quoted-printable\r\n"))
        return NULL;
    const char *b = strstr(h, "\r\n\r\n");
    const char *end = b ? strstr(b + 4, "\r\n--=_punyaka_") : NULL;
    if (!end)
        return NULL;
    b += 4;
    char *out = malloc((size_t)(end - b) + 1), *o = out;
    for (const char *p = b; p < end; p++) {
        if (p[0] == '=' && p[1] == '\r' && p[2] == '\n')
            p += 2;
        else if (p[0] == '=' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
            *o++ = (char)(hexval(p[1]) * 16 + hexval(p[2]));
            p += 2;
        } else if (p[0] == '\r' && p[1] == '\n') {
            *o++ = '\n';
            p++;
        } else
            *o++ = *p;
    }
    *o = 0;
    return out;
}

/* The Subject header, its =?UTF-8?B?…?= words decoded and joined. */
static void subject_of(const char *eml, char *out, size_t cap)
{
    const char *s = strstr(eml, "\r\nSubject: ");
    assert_non_null(s);
    s += 11;
    size_t n = 0;
    out[0] = 0;
    while (*s && !(s[0] == '\r' && s[1] == '\n' && s[2] != ' ')) {
        if (!strncmp(s, "=?UTF-8?B?", 10)) {
            const char *e = strstr(s + 10, "?=");
            assert_non_null(e);
            size_t got = 0;
            assert_int_equal(sodium_base642bin((unsigned char *)out + n, cap - n - 1, s + 10, (size_t)(e - s - 10), NULL,
                                               &got, NULL, sodium_base64_VARIANT_ORIGINAL),
                             0);
            n += got;
            s = e + 2;
        } else if (s[0] == '\r' && s[1] == '\n' && s[2] == ' ') {
            s += 3;   /* a fold between encoded words is no text */
        } else if (n + 1 < cap) {
            out[n++] = *s++;
        } else
            s++;
        out[n] = 0;
    }
}

/* ---- the tests ---- */

static const char *TITLE = "Booking confirmed: पूजा ✓";
static const char *BODY = "Pandit ji arrives at 09:00.\n<script>alert(1)</script> & \"friends\"";

static void smtp_delivery(void **state)
{
    (void)state;
    char dir[600], url[64];
    snprintf(dir, sizeof(dir), "%s/sink-delivery", F.tmp);
    int port = 0;
    pid_t sink = sink_start(dir, &port);
    snprintf(url, sizeof(url), "SMTP_URL=smtp://127.0.0.1:%d", port);
    const char *env[] = {url, NULL};
    pid_t m = mailer_start(env);

    int64_t id = add_mail(F.user_id, "booking_confirmed", TITLE, BODY);
    int64_t quiet = add_mail(F.quiet_user_id, "booking_confirmed", "Not for you", "opted out");
    if (wait_row(id, "status = 'sent'", 1) != 1)
        fail_msg("mail %lld was not sent (logs/it-mailer.log)", (long long)id);
    assert_int_equal(wait_row(quiet, "status = 'skipped'", 1), 1);
    stop_mailer(m);
    assert_int_equal(wait_row(id, "attempts", 1), 1);
    assert_int_equal(stop(sink), 0);

    assert_int_equal(count_files(dir, ".eml"), 1);   /* the opted-out user's mail never left */
    char path[700], to[200], hdr[256], subject[256];
    snprintf(path, sizeof(path), "%s/1.rcpt", dir);
    char *rcpt = slurp(path);
    snprintf(to, sizeof(to), "no-reply@punyaka.local\ncustomer.%s@example.com\n", F.tag);
    assert_string_equal(rcpt, to);
    snprintf(path, sizeof(path), "%s/1.eml", dir);
    char *eml = slurp(path);
    assert_non_null(eml);
    snprintf(hdr, sizeof(hdr), "\r\nTo: customer.%s@example.com\r\n", F.tag);
    assert_non_null(strstr(eml, hdr));
    assert_non_null(strstr(eml, "From: \"Punyaka\" <no-reply@punyaka.local>\r\n"));
    assert_non_null(strstr(eml, "\r\nMIME-Version: 1.0\r\n"));
    assert_int_equal(strncmp(eml, "Date: ", 6), 0);
    assert_non_null(strstr(eml, "Content-Type: multipart/alternative; boundary=\"=_punyaka_"));
    char *nid = row_text(id, "notification_id");
    snprintf(hdr, sizeof(hdr), "\r\nMessage-ID: <notification-%s@punyaka.local>\r\n", nid);
    free(nid);
    assert_non_null(strstr(eml, hdr));
    subject_of(eml, subject, sizeof(subject));
    assert_string_equal(subject, TITLE);   /* default template: "Subject: {{title}}" */

    char *text = part(eml, "text/plain"), *html = part(eml, "text/html");
    assert_non_null(text);
    assert_non_null(html);
    assert_non_null(strstr(text, "Namaste Customer,"));
    assert_non_null(strstr(text, TITLE));
    assert_non_null(strstr(text, BODY));   /* text is text: nothing escaped */
    assert_non_null(strstr(text, "https://punyaka.example/dashboard.html"));
    assert_non_null(strstr(html, "Booking confirmed: पूजा ✓"));
    assert_non_null(strstr(html, "Pandit ji arrives at 09:00.<br>\n&lt;script&gt;alert(1)&lt;/script&gt; &amp; "
                                 "&quot;friends&quot;"));
    assert_null(strstr(html, "<script"));
    assert_non_null(strstr(html, "href=\"https://punyaka.example/dashboard.html\""));
    char *to_address = row_text(id, "to_address"), *sent_at = row_text(id, "sent_at");
    assert_non_null(sent_at);
    snprintf(to, sizeof(to), "customer.%s@example.com", F.tag);
    assert_string_equal(to_address, to);
    free(to_address), free(sent_at), free(text), free(html), free(eml), free(rcpt);
}

static void retry_until_sink_up(void **state)
{
    (void)state;
    int port = it_unused_port();
    assert_true(port > 0);
    char url[64], dir[600];
    snprintf(url, sizeof(url), "SMTP_URL=smtp://127.0.0.1:%d", port);
    snprintf(dir, sizeof(dir), "%s/sink-retry", F.tmp);
    const char *env[] = {url, NULL};
    pid_t m = mailer_start(env);
    int64_t id = add_mail(F.user_id, "order_shipped", "Your order has shipped", "Order PK-1 is on its way.");
    /* Down: tried twice at least, still pending, the reason kept. */
    if (wait_row(id, "attempts >= 2 AND status = 'pending' AND last_error IS NOT NULL", 1) != 1)
        fail_msg("no retries recorded for mail %lld", (long long)id);
    char *err = row_text(id, "last_error");
    print_message("last_error while down: %s\n", err);
    assert_non_null(strstr(err, "smtp: "));
    free(err);
    assert_int_equal(count_files(dir, ".eml"), 0);
    /* Up on that port: the next retry (≤ 2 s away) delivers it. */
    pid_t sink = sink_start(dir, &port);
    if (wait_row(id, "status = 'sent'", 1) != 1)
        fail_msg("mail %lld was not sent once the sink was up", (long long)id);
    char *attempts = row_text(id, "attempts");
    assert_true(atoi(attempts) >= 3);
    free(attempts);
    assert_int_equal(wait_row(id, "(last_error IS NULL)::int", 1), 1);
    stop_mailer(m);
    assert_int_equal(stop(sink), 0);
    assert_int_equal(count_files(dir, ".eml"), 1);
}

static void failed_after_max(void **state)
{
    (void)state;
    int port = it_unused_port();
    char url[64];
    snprintf(url, sizeof(url), "SMTP_URL=smtp://127.0.0.1:%d", port);
    const char *env[] = {url, "PUNYAKA_MAIL_MAX_ATTEMPTS=3", NULL};
    pid_t m = mailer_start(env);
    int64_t id = add_mail(F.user_id, "booking_cancelled", "Booking cancelled", "Refunded in full.");
    if (wait_row(id, "status = 'failed'", 1) != 1)
        fail_msg("mail %lld not failed after 3 attempts", (long long)id);
    stop_mailer(m);
    assert_int_equal(wait_row(id, "attempts", 3), 3);
    char *err = row_text(id, "last_error");
    assert_non_null(err);
    assert_non_null(strstr(err, "smtp: "));
    free(err);
}

static void eml_outbox(void **state)
{
    (void)state;
    char dir[600], env_dir[700];
    snprintf(dir, sizeof(dir), "%s/outbox/nested", F.tmp);   /* made by the mailer */
    snprintf(env_dir, sizeof(env_dir), "PUNYAKA_MAIL_OUTBOX=%s", dir);
    const char *env[] = {env_dir, NULL};
    pid_t m = mailer_start(env);
    int64_t id = add_mail(F.user_id, "booking_created", "Satyanarayan Puja on 3 Jan", "At 10:00, Jayanagar.");
    if (wait_row(id, "status = 'sent'", 1) != 1)
        fail_msg("mail %lld was not written to the outbox", (long long)id);
    stop_mailer(m);
    assert_int_equal(count_files(dir, ".eml"), 1);
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[1024] = "";
    int others = 0;
    while ((e = readdir(d)) != NULL) {
        if (strstr(e->d_name, ".eml") && e->d_name[0] != '.')
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        else if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            others++;
    }
    closedir(d);
    assert_int_equal(others, 0);   /* no temporary file left behind */
    char *eml = slurp(path);
    assert_non_null(eml);
    char *text = part(eml, "text/plain");
    assert_non_null(text);
    assert_non_null(strstr(text, "You have a new booking request."));   /* booking_created.txt, not the default */
    assert_non_null(strstr(text, "At 10:00, Jayanagar."));
    char subject[256];
    subject_of(eml, subject, sizeof(subject));
    assert_string_equal(subject, "New booking: Satyanarayan Puja on 3 Jan");
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 077, 0);   /* people's addresses: owner only */
    free(text);
    free(eml);
}

#define MANY 40

/* Lines of the test mailers' log that say `instance` sent a mail. */
static int sent_by(const char *instance)
{
    char path[1024], needle[128];
    snprintf(path, sizeof(path), "%s/logs/it-mailer.log", it_env("PUNYAKA_STACK_DIR"));
    snprintf(needle, sizeof(needle), "sent by %s\"", instance);
    char *log = slurp(path);
    int n = 0;
    for (const char *p = log; p && (p = strstr(p, needle)) != NULL; p++)
        n++;
    free(log);
    return n;
}

static void two_mailers(void **state)
{
    (void)state;
    char dir[600], url[64], a_name[64], b_name[64];
    snprintf(dir, sizeof(dir), "%s/sink-two", F.tmp);
    int port = 0;
    pid_t sink = sink_start_slow(dir, &port, "0.05");   /* ≥ 2 s for 40 mails one after the other */
    snprintf(url, sizeof(url), "SMTP_URL=smtp://127.0.0.1:%d", port);
    const char *env[] = {url, "PUNYAKA_MAIL_BATCH=3", NULL};
    pid_t a = mailer_start(env);
    snprintf(a_name, sizeof(a_name), "%s", last_instance);
    pid_t b = mailer_start(env);
    snprintf(b_name, sizeof(b_name), "%s", last_instance);
    /* Both listening; the rows in one transaction: one NOTIFY wakes both,
     * and both find all of them due at the same moment. */
    PQclear(PQexec(F.db, "BEGIN"));
    int64_t first = 0;
    for (int i = 0; i < MANY; i++) {
        char title[64];
        snprintf(title, sizeof(title), "Order %d placed", i);
        int64_t id = add_mail(F.user_id, "order_placed", title, "Thank you.");
        first = first ? first : id;
    }
    PQclear(PQexec(F.db, "COMMIT"));
    char sql[200], sfirst[24];
    snprintf(sfirst, sizeof(sfirst), "%lld", (long long)first);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM notification_emails WHERE id >= $1 AND status = 'sent'");
    if (it_db_wait_for(F.db, MANY, WAIT_MS * 2, sql, sfirst, NULL) != MANY)
        fail_msg("not all %d mails were sent", MANY);
    stop_mailer(a);
    stop_mailer(b);
    assert_int_equal(stop(sink), 0);
    /* Each exactly once: MANY messages, MANY distinct Message-IDs, each tried once. */
    assert_int_equal(count_files(dir, ".eml"), MANY);
    assert_int_equal(it_db_scalar(F.db, "SELECT count(*) FROM notification_emails WHERE id >= $1 AND attempts = 1",
                                  sfirst, NULL),
                     MANY);
    char seen[MANY][80];
    for (int i = 1; i <= MANY; i++) {
        char path[700];
        snprintf(path, sizeof(path), "%s/%d.eml", dir, i);
        char *eml = slurp(path);
        assert_non_null(eml);
        const char *mid = strstr(eml, "Message-ID: ");
        assert_non_null(mid);
        snprintf(seen[i - 1], sizeof(seen[i - 1]), "%.*s", (int)strcspn(mid, "\r"), mid);
        for (int k = 0; k < i - 1; k++)
            if (!strcmp(seen[k], seen[i - 1]))
                fail_msg("%s arrived twice", seen[k]);
        free(eml);
    }
    /* And both really sent: the rows were shared, not taken by one alone. */
    int by_a = sent_by(a_name), by_b = sent_by(b_name);
    print_message("two mailers: %d mails, each once; %d by one mailer, %d by the other\n", MANY, by_a, by_b);
    assert_int_equal(by_a + by_b, MANY);
    assert_true(by_a > 0 && by_b > 0);
}

static void opt_out_round_trip(void **state)
{
    (void)state;
    it_actor u = {0};
    snprintf(u.name, sizeof(u.name), "optout_%s", F.tag);
    assert_int_equal(it_sign_up(&u, "customer", "a-good-password-42", NULL), 201);
    it_response r = it_call("GET", "/api/auth/me/", &u, NULL);
    it_expect_status(&r, 200);
    assert_true(json_is_true(json_object_get(r.json, "email_notifications")));   /* the default: on */
    it_response_free(&r);

    r = it_call("PATCH", "/api/auth/me/", &u, "{\"email_notifications\": \"no\"}");
    it_expect_problem(&r, 422, "validation_error", "email_notifications");
    it_response_free(&r);

    r = it_call("PATCH", "/api/auth/me/", &u, "{\"email_notifications\": false}");
    it_expect_status(&r, 200);
    assert_true(json_is_false(json_object_get(r.json, "email_notifications")));
    it_response_free(&r);
    r = it_call("GET", "/api/auth/me/", &u, NULL);
    it_expect_status(&r, 200);
    assert_true(json_is_false(json_object_get(r.json, "email_notifications")));
    it_response_free(&r);
    PGconn *live = it_db();
    char uid[24];
    snprintf(uid, sizeof(uid), "%lld", (long long)u.user_id);
    assert_int_equal(it_db_scalar(live, "SELECT email_notifications::int FROM users WHERE id = $1", uid, NULL), 0);

    /* Other fields leave it alone; true turns it back on. */
    r = it_call("PATCH", "/api/auth/me/", &u, "{\"first_name\": \"Meera\"}");
    it_expect_status(&r, 200);
    assert_true(json_is_false(json_object_get(r.json, "email_notifications")));
    it_response_free(&r);
    r = it_call("PATCH", "/api/auth/me/", &u, "{\"email_notifications\": true}");
    it_expect_status(&r, 200);
    assert_true(json_is_true(json_object_get(r.json, "email_notifications")));
    it_response_free(&r);
    assert_int_equal(it_db_scalar(live, "SELECT email_notifications::int FROM users WHERE id = $1", uid, NULL), 1);
    PQfinish(live);
}

/* ---- fixture ---- */

static int setup(void **state)
{
    (void)state;
    if (it_start(F.tag, sizeof(F.tag)) != 0)
        return -1;
    snprintf(F.dbname, sizeof(F.dbname), "punyaka_it_mailer_%s", F.tag);
    it_dsn_for(F.dbname, F.dsn, sizeof(F.dsn));
    snprintf(F.tmp, sizeof(F.tmp), "%s/it-mailer-%s", it_env("PUNYAKA_STACK_DIR"), F.tag);
    if (mkdir(F.tmp, 0700) != 0)
        return -1;
    char bin[1024];
    snprintf(bin, sizeof(bin), "%s/migrations/punyaka-migrate", it_env("PUNYAKA_BUILD_DIR"));
    char *argv[] = {bin, "--create-db", "--dsn", F.dsn, NULL};
    pid_t pid = spawn("it-mailer-migrate", argv, NULL);
    int st = 0;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "punyaka-migrate failed (logs/it-mailer-migrate.log)\n");
        return -1;
    }
    F.db = PQconnectdb(F.dsn);
    if (PQstatus(F.db) != CONNECTION_OK) {
        fprintf(stderr, "scratch database: %s", PQerrorMessage(F.db));
        return -1;
    }
    F.user_id = add_user("customer", 1);
    F.quiet_user_id = add_user("quiet", 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    PQfinish(F.db);
    PGconn *owner = PQconnectdb(it_owner_dsn());
    if (PQstatus(owner) == CONNECTION_OK)
        it_drop_database(owner, F.dbname);
    PQfinish(owner);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(smtp_delivery), cmocka_unit_test(retry_until_sink_up), cmocka_unit_test(failed_after_max),
        cmocka_unit_test(eml_outbox),    cmocka_unit_test(two_mailers),         cmocka_unit_test(opt_out_round_trip),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
