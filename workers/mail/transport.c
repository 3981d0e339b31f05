/* transport.c — handing a built message over (mailer.h): libcurl's SMTP
 * client when SMTP_URL is set, else an .eml file like Django's file
 * backend (so the embedded stack needs no mail server).
 *
 * SMTP: STARTTLS whenever the server offers it (CURLUSESSL_TRY), required
 * with SMTP_TLS=require (CURLUSESSL_ALL); smtps:// is TLS from the first
 * byte, as libcurl does it. Credentials come in the URL
 * (smtp://user:pass@host:587). Connect and whole-exchange timeouts bound
 * every send; only smtp and smtps are allowed, so an SMTP_URL can never
 * make the mailer fetch a file or a web page. */
#include "workers/mail/mailer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>

int ml_transport_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void ml_transport_cleanup(void)
{
    curl_global_cleanup();
}

typedef struct {
    const char *data;
    size_t left;
} reader;

static size_t read_cb(char *buf, size_t size, size_t nitems, void *userdata)
{
    reader *r = userdata;
    size_t n = size * nitems < r->left ? size * nitems : r->left;
    memcpy(buf, r->data, n);
    r->data += n;
    r->left -= n;
    return n;
}

static int send_smtp(const ml_config *cfg, const ml_row *row, const pk_buf *msg, char *err, size_t errcap)
{
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(err, errcap, "curl_easy_init failed");
        return -1;
    }
    char from[300], errbuf[CURL_ERROR_SIZE] = "";
    snprintf(from, sizeof(from), "<%s>", cfg->from_addr);
    struct curl_slist *rcpt = curl_slist_append(NULL, row->to);
    reader rd = {msg->data, msg->len};
    curl_easy_setopt(c, CURLOPT_URL, cfg->smtp_url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(c, CURLOPT_USE_SSL, (long)(cfg->smtp_tls_required ? CURLUSESSL_ALL : CURLUSESSL_TRY));
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(c, CURLOPT_READDATA, &rd);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)msg->len);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)cfg->connect_timeout_s);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)cfg->send_timeout_s);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);   /* SIGTERM is ours; timeouts need no SIGALRM */
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = rcpt ? curl_easy_perform(c) : CURLE_OUT_OF_MEMORY;
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    if (rc != CURLE_OK)   /* never the URL: it may carry the password */
        snprintf(err, errcap, "smtp: %s%s%s (last reply %ld)", curl_easy_strerror(rc), *errbuf ? ": " : "", errbuf,
                 code);
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(c);
    return rc == CURLE_OK ? 0 : -1;
}

/* mkdir -p for the outbox (0700: mails hold people's addresses). */
static int make_dirs(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(path, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

static int write_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* <outbox>/<UTC time>-<row id>.eml, written as .<row id>.eml.part first
 * and renamed when complete and synced: whoever reads *.eml never sees
 * half a mail. */
static int send_file(const ml_config *cfg, const ml_row *row, const pk_buf *msg, char *err, size_t errcap)
{
    char tmp[4200], path[4200], stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
    snprintf(tmp, sizeof(tmp), "%s/.%lld.eml.part", cfg->outbox_dir, (long long)row->id);
    snprintf(path, sizeof(path), "%s/%s-%lld.eml", cfg->outbox_dir, stamp, (long long)row->id);
    if (make_dirs(cfg->outbox_dir) != 0) {
        snprintf(err, errcap, "outbox %s: %s", cfg->outbox_dir, strerror(errno));
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int bad = fd < 0 || write_all(fd, msg->data, msg->len) != 0 || fsync(fd) != 0;
    if (fd >= 0 && close(fd) != 0)
        bad = 1;
    if (bad || rename(tmp, path) != 0) {
        snprintf(err, errcap, "outbox %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

int ml_send(const ml_config *cfg, const ml_row *r, const pk_buf *message, char *err, size_t errcap)
{
    if (cfg->smtp_url && *cfg->smtp_url)
        return send_smtp(cfg, r, message, err, errcap);
    return send_file(cfg, r, message, err, errcap);
}
