/* templates.c — a notification's mail from the folder of templates
 * (mailer.h): <kind>.txt ("Subject: …", a blank line, the text) and
 * <kind>.html, falling back to default.* for kinds without their own. The
 * files are read for every mail (they are small, and an operator's edit
 * takes effect without a restart); the kind comes from the database and is
 * used as a file name only when it is [a-z0-9_], at most 64 bytes. */
#include "workers/mail/mailer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/log.h"

#define TEMPLATE_MAX (64 * 1024)

/* The whole file, NUL-terminated, malloc'd; NULL when missing, unreadable,
 * too large or holding a NUL byte. */
static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(TEMPLATE_MAX + 1);
    size_t n = buf ? fread(buf, 1, TEMPLATE_MAX + 1, f) : 0;
    int bad = !buf || ferror(f) || n > TEMPLATE_MAX;
    fclose(f);
    if (!bad) {
        buf[n] = 0;
        bad = strlen(buf) != n;
    }
    if (bad) {
        free(buf);
        return NULL;
    }
    return buf;
}

static int kind_ok(const char *kind)
{
    size_t n = strlen(kind);
    if (n == 0 || n > 64)
        return 0;
    for (const char *p = kind; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return 0;
    return 1;
}

typedef struct {
    char *txt, *html;
} pair;

static void pair_free(pair *p)
{
    free(p->txt);
    free(p->html);
    p->txt = p->html = NULL;
}

/* Loads <dir>/<name>.txt and .html; 0 when both exist and are well formed,
 * else -1 with the reason in err. */
static int load_pair(const char *dir, const char *name, pair *p, char *err, size_t errcap)
{
    char path[4096], unknown[64];
    const char *subject, *body;
    size_t subject_len;
    snprintf(path, sizeof(path), "%s/%s.txt", dir, name);
    p->txt = read_file(path);
    snprintf(path, sizeof(path), "%s/%s.html", dir, name);
    p->html = read_file(path);
    if (!p->txt || !p->html)
        snprintf(err, errcap, "%s/%s.%s: missing or unreadable", dir, name, !p->txt ? "txt" : "html");
    else if (pk_mail_template_split(p->txt, &subject, &subject_len, &body) != 0)
        snprintf(err, errcap, "%s/%s.txt: does not start with a \"Subject: \" line", dir, name);
    else if (pk_mail_template_unknown(p->txt, unknown, sizeof(unknown)) ||
             pk_mail_template_unknown(p->html, unknown, sizeof(unknown)))
        snprintf(err, errcap, "%s/%s: unknown placeholder {{%s}}", dir, name, unknown);
    else
        return 0;
    pair_free(p);
    return -1;
}

int ml_templates_check(const char *dir, char *err, size_t errcap)
{
    pair p = {0};
    if (load_pair(dir, "default", &p, err, errcap) != 0)
        return -1;
    pair_free(&p);
    return 0;
}

int ml_render(const ml_config *cfg, const ml_row *r, pk_buf *subject, pk_buf *text, pk_buf *html, char *err,
              size_t errcap)
{
    pair p = {0};
    char why[512];
    if (!kind_ok(r->kind) || load_pair(cfg->templates_dir, r->kind, &p, why, sizeof(why)) != 0) {
        if (kind_ok(r->kind) && !strstr(why, "missing"))
            pk_warn(NULL, "mailer: %s; using the default template", why);
        if (load_pair(cfg->templates_dir, "default", &p, err, errcap) != 0)
            return -1;
    }
    char link[1024];
    snprintf(link, sizeof(link), "%s/dashboard.html", cfg->public_url);
    pk_mail_vars v = {.title = r->title, .body = r->body, .first_name = r->first_name, .link = link};
    const char *s, *body;
    size_t slen;
    pk_mail_template_split(p.txt, &s, &slen, &body);   /* checked by load_pair */
    char *stmpl = strndup(s, slen);
    if (stmpl)
        pk_mail_render(stmpl, &v, 0, subject);
    pk_mail_render(body, &v, 0, text);
    pk_mail_render(p.html, &v, 1, html);
    free(stmpl);
    pair_free(&p);
    if (!stmpl || subject->failed || text->failed || html->failed) {
        snprintf(err, errcap, "out of memory rendering the mail");
        return -1;
    }
    return 0;
}
