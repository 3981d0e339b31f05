#include "tests/support/mail_sink.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "tests/support/db.h"
#include "tests/support/stack_env.h"

#define MAX_MAILS 20000

/* The notification id a saved mail names, or 0. Only its header is read. */
static int64_t notification_of(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    char line[1024];
    int64_t id = 0;
    while (!id && fgets(line, sizeof(line), f) && line[0] != '\r' && line[0] != '\n') {
        const char *at = strstr(line, "<notification-");
        if (strncmp(line, "Message-ID:", 11) == 0 && at)
            id = strtoll(at + 14, NULL, 10);
    }
    fclose(f);
    return id;
}

/* The ids of every saved mail into ids (≤ cap); returns how many. */
static int sink_ids(int64_t *ids, int cap)
{
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/smtp-sink", it_env("PUNYAKA_STACK_DIR"));
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    for (struct dirent *e = readdir(d); e && n < cap; e = readdir(d)) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len < 5 || strcmp(e->d_name + len - 4, ".eml") != 0)
            continue;
        char path[1400];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        ids[n++] = notification_of(path);
    }
    closedir(d);
    return n;
}

int it_sink_mails_for(int64_t notification_id)
{
    int64_t *ids = malloc(MAX_MAILS * sizeof(*ids));
    int n = sink_ids(ids, MAX_MAILS), found = 0;
    for (int i = 0; i < n; i++)
        found += ids[i] == notification_id;
    free(ids);
    return found;
}

int it_sink_wait_for(int64_t notification_id, int want, int wait_ms)
{
    int have = it_sink_mails_for(notification_id);
    for (int waited = 0; have != want && waited < wait_ms; waited += 50) {
        usleep(50 * 1000);
        have = it_sink_mails_for(notification_id);
    }
    return have;
}

static int by_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int it_sink_total(int *duplicates)
{
    int64_t *ids = malloc(MAX_MAILS * sizeof(*ids));
    int n = sink_ids(ids, MAX_MAILS);
    qsort(ids, (size_t)n, sizeof(*ids), by_id);
    *duplicates = 0;
    for (int i = 1; i < n; i++)
        *duplicates += ids[i] == ids[i - 1];
    free(ids);
    return n;
}

int it_sink_wait_idle(PGconn *db, int wait_ms)
{
    long long pending = it_db_wait_for(db, 0, wait_ms,
                                       "SELECT count(*) FROM notification_emails WHERE status = 'pending'", NULL);
    return pending == 0 ? 0 : -1;
}

const char *it_sink_check_note(PGconn *db, int64_t notification_id, int wait_ms)
{
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)notification_id);
    long long wants = it_db_scalar(db, "SELECT u.email_notifications::int FROM notifications n"
                                       " JOIN users u ON u.id = n.user_id WHERE n.id = $1", id, NULL);
    if (wants == 1) {
        int have = it_sink_wait_for(notification_id, 1, wait_ms);
        return have == 1 ? NULL : have == 0 ? "no mail arrived in the SMTP sink" : "more than one mail arrived";
    }
    if (wants == 0)
        return it_sink_mails_for(notification_id) == 0 ? NULL : "a mail arrived for a user with e-mail off";
    return "no such notification";
}
