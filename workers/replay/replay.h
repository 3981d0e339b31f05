/* replay.h — punyaka-replay, the operators' audit tool over the events log
 * (docs/operations.md is the manual). The modules:
 *
 *   main.c      subcommands, options, --help
 *   source.c    reading the events topic: from the beginning, from a time
 *               (offsets-for-times, or scanning timestamps where the broker
 *               cannot answer), to the end or following it
 *   render.c    an event as a JSON line; the list/history filters
 *   rebuild.c   rebuild and verify: the journal re-applied, in seq order,
 *               through the workers' own transaction and apply functions
 *               (punyaka_worker_core) into an empty database
 *   compare.c   per-table row counts, checksums and differing rows of two
 *               databases
 *   dlq.c       dead letters: list and redrive
 *   progress.c  the progress line on stderr
 *
 * Errors are returned; main.c turns them into exit codes:
 * 0 ok / identical / no differing decision, 1 differences found (a
 * decision, a command the replay could not apply, or a table), 2 bad
 * usage, 3 refused or failed. */
#ifndef PUNYAKA_REPLAY_H
#define PUNYAKA_REPLAY_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <libpq-fe.h>
#include "common/command_auth.h"
#include "common/config.h"
#include "workers/event.h"

#define RP_EXIT_OK 0
#define RP_EXIT_DIFFERENT 1
#define RP_EXIT_USAGE 2
#define RP_EXIT_FAILED 3

/* ---- source.c ---- */

typedef struct {
    const pk_config *cfg;
    char topic[160];           /* the events topic */
    int64_t since_ms;          /* -1: from the beginning */
    int64_t until_ms;          /* -1: no end time */
    bool follow;               /* keep reading past the end until SIGINT/SIGTERM */
    bool scan;                 /* never ask offsets-for-times, always scan from the beginning */
    bool quiet;                /* no progress line */
} rp_source;

typedef struct {
    int partitions;
    int64_t low_watermark;     /* smallest over the partitions: > 0 ⇒ the log's beginning is gone */
    int64_t messages;          /* read (before filtering) */
    int64_t offset_gaps;       /* offsets skipped between messages read: > 0 ⇒ events inside the log are gone
                                  (compaction, deleted records); the relay's producer is not transactional, so
                                  no control record ever takes an offset */
    bool seeked;               /* offsets-for-times answered and was used */
} rp_scan_info;

/* Called per event in offset order (per partition); nonzero stops the scan. */
typedef int (*rp_event_fn)(void *arg, const wk_event *e, int64_t offset, int64_t timestamp_ms);

/* Reads the topic. 0, or -1 (message on stderr) when it cannot be read or
 * holds a message that is not an event. */
int rp_scan(const rp_source *src, rp_event_fn fn, void *arg, rp_scan_info *info);

/* Every event of the log, deduplicated by seq and sorted by it (the relay
 * publishes at least once). *events is malloc'd; free with rp_events_free. */
int rp_load_all(const rp_source *src, wk_event **events, size_t *n, rp_scan_info *info);
void rp_events_free(wk_event *events, size_t n);

/* ---- render.c ---- */

typedef struct {
    const char *type;          /* exact, or "booking.*" */
    char entity_type[24];      /* "" = any */
    int64_t entity_id;
    bool has_actor;
    int64_t actor;
    const char *outcome;       /* applied | rejected | a reason code */
} rp_filter;

/* "booking:42" ⇒ type and id; -1 when malformed or of an unknown type. */
int rp_parse_entity(const char *text, char type[24], int64_t *id);
/* 1 when the event passes the filter (the entity test: rp_touches). */
int rp_filter_match(const rp_filter *f, const wk_event *e);
/* 1 when the command concerns the entity: its own entity, an id it
 * created, an id its payload names, or (for users) its actor. */
int rp_touches(const wk_event *e, const char *type, int64_t id);
/* The event as one JSON object (password hashes and sealed KYC redacted). */
json_t *rp_event_json(const wk_event *e, int64_t offset);

/* ---- compare.c ---- */

/* Compares the tables of two databases (bookkeeping excluded, see
 * compare.c); prints the report to out. The number of differing tables,
 * or -1 on a database error. */
int rp_compare(PGconn *live, PGconn *rebuilt, FILE *out, bool quiet);

/* ---- rebuild.c ---- */

typedef struct {
    const pk_config *cfg;
    rp_source src;
    const char *live_dsn;      /* DATABASE_URL */
    const char *into_dsn;      /* the database to build; NULL (verify): a scratch one */
    bool keep;                 /* verify: keep the scratch database */
    bool quiet;
    bool from_log_only;        /* never connect to the live database (it is lost): the checks the log
                                  alone allows, no table comparison; verify then needs into_dsn */
    bool allow_seq_gaps;       /* from_log_only: accept holes in the journal seqs (burned by rollbacks) */
    const pk_command_keys *keys;   /* every envelope must verify (common/command_auth.h): anyone who can
                                      write to the events topic could otherwise have a forged command
                                      applied by a rebuild */
} rp_rebuild_opts;

int rp_rebuild(const rp_rebuild_opts *o);
int rp_verify(const rp_rebuild_opts *o);

/* ---- dlq.c ---- */

typedef struct {
    const pk_config *cfg;
    const char *live_dsn;
    bool all;                  /* list: also the ones already redriven */
    int64_t *ids;              /* redrive: these (n_ids > 0), else every pending one */
    size_t n_ids;
    const char *value_file;    /* redrive: send this file's bytes instead (one id) */
    int wait_ms;               /* redrive: how long to wait for the workers' decisions */
    const pk_command_keys *keys;   /* redrive --value-file: signs a bare envelope (NULL: no key given) */
} rp_dlq_opts;

/* redrive --wait's default, seconds. */
#define RP_REDRIVE_WAIT_S 15

int rp_dlq_list(const rp_dlq_opts *o);
/* Re-publishes dead letters, then reports per message what the workers did
 * with it (one JSON line each): "applied" or "rejected" (the command's
 * outcome, with "decided_before": true when it had one before the redrive
 * and the redrive was answered from it), "dead_lettered" (poison again —
 * e.g. a type the workers still do not know — with the new reason),
 * "pending" (nothing within the wait) or "failed" (Kafka did not take it).
 * RP_EXIT_OK when every message was delivered. */
int rp_dlq_redrive(const rp_dlq_opts *o);

/* ---- progress.c ---- */

/* Progress of a phase on stderr, only for phases that run longer than a
 * second: on a terminal a bar with rate and ETA, redrawn in place
 *   "applying [###############...............] 3500/7000 50%, 2400/s, ETA 1.5 s";
 * into a file or pipe one line every 5 s
 *   "applying 3500/7000 (50%), 2400/s, ETA 1.5 s";
 * then a final line with the time taken. total <= 0 means unknown. */
typedef struct {
    const char *phase;
    int64_t total, done;
    double started, last_print;
    bool enabled, printed;
    bool tty;                  /* stderr is a terminal: the bar */
} rp_progress;

void rp_progress_start(rp_progress *p, const char *phase, int64_t total, bool enabled);
/* --progress: the bar, redrawn in place, even when stderr is no terminal
 * (a terminal multiplexer's log, `ssh host cmd 2>&1 | tee`). */
extern bool rp_progress_bar;
void rp_progress_tick(rp_progress *p, int64_t done);
/* The same at a given rp_now() time (tests). */
void rp_progress_tick_at(rp_progress *p, int64_t done, double now);
void rp_progress_end(rp_progress *p);
/* The text of the progress line at `now` (no "\r", no newline). */
size_t rp_progress_format(const rp_progress *p, double now, bool final, char *buf, size_t cap);
/* Erases a bar drawn on the terminal, before other output takes the line
 * (it is drawn again at the next tick). */
void rp_progress_clear_line(void);
double rp_now(void);

/* ---- shared helpers (main.c) ---- */

/* Parses "2026-11-25", "2026-11-25T18:00:00Z", "…T18:00:00.5+05:30" or
 * "@1764094297" (epoch seconds) into ms since the epoch; -1 when malformed. */
int64_t rp_parse_time(const char *text);
/* Connects or prints why not (NULL). Sessions read times in UTC. */
PGconn *rp_connect(const char *dsn, const char *what);
/* Set by SIGINT/SIGTERM: long loops stop early. */
extern volatile sig_atomic_t rp_stopping;

#endif
