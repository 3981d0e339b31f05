#include "tests/support/replay.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include "tests/support/stack_env.h"

static double now_s(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return strdup("");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = malloc((size_t)(n > 0 ? n : 0) + 1);
    s[fread(s, 1, (size_t)(n > 0 ? n : 0), f)] = 0;
    fclose(f);
    unlink(path);
    return s;
}

static it_replay_result run(int tty, const char *fmt, va_list ap)
{
    char args[2048], cmd[4096], out[64], err[64];
    vsnprintf(args, sizeof(args), fmt, ap);
    snprintf(out, sizeof(out), "/tmp/it-replay-%d.out", (int)getpid());
    snprintf(err, sizeof(err), "/tmp/it-replay-%d.err", (int)getpid());
    if (tty)   /* -e: its exit status; -f: flush as it goes; the typescript itself to /dev/null */
        snprintf(cmd, sizeof(cmd), "script -qefc \"%s/workers/punyaka-replay %s\" /dev/null </dev/null >%s 2>%s",
                 it_env("PUNYAKA_BUILD_DIR"), args, out, err);
    else
        snprintf(cmd, sizeof(cmd), "%s/workers/punyaka-replay %s >%s 2>%s", it_env("PUNYAKA_BUILD_DIR"), args, out,
                 err);
    /* rebuild and verify create databases and migrate them: operators run
     * punyaka-replay as the owner (docs/operations.md), and so do the tests. */
    char *live = strdup(it_env("DATABASE_URL"));
    setenv("DATABASE_URL", it_owner_dsn(), 1);
    double t = now_s();
    int st = system(cmd);
    setenv("DATABASE_URL", live, 1);
    free(live);
    it_replay_result r = {WIFEXITED(st) ? WEXITSTATUS(st) : -1, slurp(out), slurp(err)};
    fprintf(stderr, "punyaka-replay %.60s%s: exit %d in %.1f s\n", args, tty ? " (tty)" : "", r.status, now_s() - t);
    return r;
}

it_replay_result it_replay(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    it_replay_result r = run(0, fmt, ap);
    va_end(ap);
    return r;
}

it_replay_result it_replay_on_tty(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    it_replay_result r = run(1, fmt, ap);
    va_end(ap);
    return r;
}

void it_replay_result_free(it_replay_result *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

void it_dsn_for(const char *dbname, char *out, size_t cap)
{
    const char *live = it_owner_dsn();   /* a database of its own: made and dropped by the owner */
    const char *slash = strrchr(live, '/');
    if (!slash) {
        fprintf(stderr, "the DSN has no /dbname: %s\n", live);
        exit(2);
    }
    snprintf(out, cap, "%.*s/%s", (int)(slash - live), live, dbname);
}

void it_drop_database(PGconn *db, const char *name)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    PGresult *r = PQexec(db, sql);
    PQclear(r);
}

int it_count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}
