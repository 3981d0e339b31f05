/* replay.h — integration tests run punyaka-replay (workers/replay/) as an
 * operator would, and look at its exit status, stdout and stderr. */
#ifndef PUNYAKA_TEST_REPLAY_H
#define PUNYAKA_TEST_REPLAY_H

#include <stddef.h>
#include <libpq-fe.h>

typedef struct {
    int status;     /* exit status, -1 when it did not exit */
    char *out;      /* stdout (on a terminal: stdout and stderr together) */
    char *err;      /* stderr ("" on a terminal) */
} it_replay_result;

/* Runs "<build>/workers/punyaka-replay ARGS" through the shell (ARGS is a
 * printf format), with this process's environment — setenv() before to
 * change what it sees. Logs the exit status and the time it took. */
it_replay_result it_replay(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same with stdout and stderr on a pseudo-terminal (script(1)), as an
 * operator at a terminal sees it. */
it_replay_result it_replay_on_tty(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void it_replay_result_free(it_replay_result *r);

/* DATABASE_URL with another database name. */
void it_dsn_for(const char *dbname, char *out, size_t cap);
/* DROP DATABASE IF EXISTS name WITH (FORCE), through db. */
void it_drop_database(PGconn *db, const char *name);
/* Number of lines of s. */
int it_count_lines(const char *s);

#endif
