/* rebuild.c — rebuild and verify (replay.h).
 *
 * Both replay the journal: every event of the log, deduplicated and sorted
 * by journal seq (the order conflicting commands really serialized in,
 * DESIGN §3), is applied to an empty database made by punyaka-migrate,
 * through the workers' own transaction (txn.c) and apply functions, with
 * the ids the journal recorded (wk_ctx.replay_ids) and the recorded seq
 * (wk_ctx.replay_seq). So the rebuilt database also gets its
 * processed_commands, command_outcomes and journal rows, and a worker
 * pointed at it would dedupe exactly as the live one. Afterwards every
 * identity sequence is set to its table's largest id, and the journal is
 * marked published (its events are in the log already).
 *
 * Fresh ids. Recorded ids are inserted explicitly, which never moves an
 * identity sequence. A replay whose decision changed (another rule, another
 * PUNYAKA_TZ_OFFSET_MINUTES) may create a row the original did not, or
 * more of them; such a row takes its id from the sequence. So before the
 * first command every sequence is set past the largest id any event
 * records (all tables alike: one number, no table map to keep): a new row
 * can never take an id that a recorded one has or will have, and the
 * commands after it still find (or miss) exactly the rows they name.
 *
 * Each replayed command's decision — applied or rejected, reason, HTTP
 * status, entity, created ids and the money it moved (its payments rows) —
 * is compared with the decision the event recorded; a difference is a
 * `decision {...}` line on stdout. A command the replay cannot apply at
 * all (a deterministic database error: a rule change the schema refuses)
 * is reported the same way, with an "error", and the replay goes on; only
 * a target database that stops answering ends it. `verify` lists every
 * difference (into a scratch database it drops afterwards), `rebuild` the
 * first DECISIONS_SHOWN; both then compare the replayed tables with the
 * live ones (compare.c).
 *
 * Resuming. An interrupted rebuild continues where it stopped. Each
 * command's transaction writes its journal row with the recorded seq, and
 * the journal is marked published only at the very end; so a target whose
 * journal rows are all unpublished and whose last row is the log's event
 * of that seq (same command id) holds exactly the log's prefix up to that
 * seq: SIGINT/SIGTERM let the command in hand commit, a crash rolled it
 * back. `rebuild` into such a target skips that prefix (`verify` always
 * starts from an empty database). Should anything of the prefix come
 * again, the workers' processed_commands dedupe keeps it from applying
 * twice.
 *
 * Refusals: the log must start at the journal's first entry (retention,
 * the dev Kafka's 5 MiB, can silently drop the oldest events), must have
 * no hole in the journal's seqs up to its last event, and the target
 * database must be empty. With --from-log-only (the live database is lost)
 * the journal cannot be asked: the log must start at offset 0 without
 * skipped offsets, and at seq 1 without holes in the seqs — unless
 * --allow-seq-gaps, since a command transaction rolled back after drawing
 * its seq leaves the same hole as a lost event. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common/log.h"
#include "workers/replay/replay.h"
#include "workers/txn.h"

#ifndef PUNYAKA_MIGRATE_BIN
#define PUNYAKA_MIGRATE_BIN "punyaka-migrate"
#endif
#define DECISIONS_SHOWN 20   /* by rebuild; verify lists every one */
#define ATTEMPTS 5           /* transient database trouble while applying one command */

typedef struct {
    const rp_rebuild_opts *o;
    PGconn *live, *target;
    wk_event *events;
    size_t n;
    long long differing;     /* decisions that differ, unapplied commands included */
    long long unapplied;     /* commands the replay could not apply at all */
    bool list_all;           /* verify */
    bool resumable;          /* rebuild: a target left by an interrupted rebuild is continued */
    size_t skip;             /* events already in the target (resumed) */
} run;

/* ---- the target database ---- */

/* dsn with its dbname replaced, as key='value' conninfo (malloc'd). */
static char *dsn_with_dbname(const char *dsn, const char *dbname)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(dsn, &err);
    if (!opts) {
        fprintf(stderr, "punyaka-replay: bad DSN: %s\n", err ? err : "?");
        PQfreemem(err);
        return NULL;
    }
    size_t cap = 64 + strlen(dsn) * 2 + strlen(dbname) * 2, len = 0;
    char *out = calloc(1, cap);
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        const char *v = strcmp(o->keyword, "dbname") == 0 ? dbname : o->val;
        if (!v || !*v)
            continue;
        len += (size_t)snprintf(out + len, cap - len, "%s%s='", len ? " " : "", o->keyword);
        for (; *v && len + 3 < cap; v++) {
            if (*v == '\'' || *v == '\\')
                out[len++] = '\\';
            out[len++] = *v;
        }
        len += (size_t)snprintf(out + len, cap - len, "'");
    }
    PQconninfoFree(opts);
    return out;
}

/* punyaka-migrate --create-db on the DSN (passed in its environment, not
 * on a command line anyone can read in ps). */
static int migrate(const char *dsn)
{
    const char *bin = getenv("PUNYAKA_MIGRATE");
    if (!bin || !*bin)
        bin = access(PUNYAKA_MIGRATE_BIN, X_OK) == 0 ? PUNYAKA_MIGRATE_BIN : "punyaka-migrate";
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(STDERR_FILENO, STDOUT_FILENO);   /* its JSON lines are diagnostics here */
        setenv("DATABASE_URL", dsn, 1);
        execlp(bin, bin, "--create-db", (char *)NULL);
        fprintf(stderr, "punyaka-replay: cannot run %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "punyaka-replay: %s failed (set PUNYAKA_MIGRATE to its path if it is elsewhere)\n", bin);
        return -1;
    }
    return 0;
}

/* 1 when every table but schema_migrations is empty, 0 when not (said
 * which table unless `quiet`), -1 on error. */
static int is_empty(PGconn *c, bool quiet)
{
    PGresult *r = PQexec(c, "SELECT quote_ident(table_name) FROM information_schema.tables WHERE table_schema ="
                            " 'public' AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations'");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        return -1;
    }
    int empty = 1;
    for (int i = 0; empty == 1 && i < PQntuples(r); i++) {
        char sql[256];
        snprintf(sql, sizeof(sql), "SELECT EXISTS (SELECT 1 FROM public.%s)", PQgetvalue(r, i, 0));
        PGresult *e = PQexec(c, sql);
        empty = PQresultStatus(e) != PGRES_TUPLES_OK ? -1 : PQgetvalue(e, 0, 0)[0] == 'f';
        if (!empty && !quiet)
            fprintf(stderr, "punyaka-replay: the target database is not empty (table %s has rows)\n",
                    PQgetvalue(r, i, 0));
        PQclear(e);
    }
    PQclear(r);
    return empty;
}

/* The index of the event with journal seq `seq` (events sorted by seq), or -1. */
static long find_seq(const run *r, long long seq)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->events[mid].seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < r->n && r->events[lo].seq == seq ? (long)lo : -1;
}

/* A non-empty target: how many events of the log an interrupted rebuild
 * already applied to it (see "Resuming" above), or -1 when it is not such
 * a target (said why). */
static long resume_point(run *r, PGconn *c)
{
    PGresult *j = PQexec(c, "SELECT seq, command_id::text, (SELECT count(*) FROM journal),"
                            " (SELECT count(*) FROM journal WHERE published_at IS NOT NULL)"
                            " FROM journal ORDER BY seq DESC LIMIT 1");
    long at = -1;
    if (PQresultStatus(j) == PGRES_TUPLES_OK && PQntuples(j) == 1 && strcmp(PQgetvalue(j, 0, 3), "0") == 0) {
        long i = find_seq(r, strtoll(PQgetvalue(j, 0, 0), NULL, 10));
        char id[PK_UUID_STR_LEN + 1] = "";
        if (i >= 0)
            pk_uuid_format(&r->events[i].id, id);
        if (i >= 0 && strcmp(id, PQgetvalue(j, 0, 1)) == 0 && strtoll(PQgetvalue(j, 0, 2), NULL, 10) <= i + 1)
            at = i + 1;
    }
    PQclear(j);
    if (at < 0)
        fprintf(stderr, "punyaka-replay: refusing: the target database is not empty, and not an interrupted"
                        " rebuild of this log (rebuild into an empty database)\n");
    return at;
}

static PGconn *prepare_target(run *r, const char *dsn)
{
    if (migrate(dsn) != 0)
        return NULL;
    PGconn *c = rp_connect(dsn, "the target database");
    int empty = c ? is_empty(c, r->resumable) : -1;
    long done = empty == 0 && r->resumable ? resume_point(r, c) : empty == 1 ? 0 : -1;
    if (c && done < 0) {
        PQfinish(c);
        return NULL;
    }
    r->skip = (size_t)done;
    if (done > 0)
        fprintf(stderr, "punyaka-replay: resuming an interrupted rebuild after seq %lld (%zu of %zu events applied)\n",
                (long long)r->events[done - 1].seq, r->skip, r->n);
    if (c) {
        /* A rebuild can always be run again; per-commit fsync buys nothing here. */
        PGresult *res = PQexec(c, "SET synchronous_commit = off");
        PQclear(res);
    }
    return c;
}

/* ---- checks on the log ---- */

/* The log covers the journal from its first entry, without holes. */
static int check_complete(run *r, const rp_scan_info *info)
{
    PGresult *j = PQexec(r->live, "SELECT coalesce(min(seq), 0), count(*) FROM journal");
    if (PQresultStatus(j) != PGRES_TUPLES_OK) {
        fprintf(stderr, "punyaka-replay: live journal: %s", PQresultErrorMessage(j));
        PQclear(j);
        return -1;
    }
    long long first = strtoll(PQgetvalue(j, 0, 0), NULL, 10), rows = strtoll(PQgetvalue(j, 0, 1), NULL, 10);
    PQclear(j);
    long long log_first = r->n ? r->events[0].seq : 0;
    if (info->low_watermark > 0 || (rows > 0 && (r->n == 0 || log_first > first))) {
        fprintf(stderr,
                "punyaka-replay: refusing: the events log no longer reaches back to the first journal entry"
                " (journal starts at seq %lld; the log's first event is %s%lld, its earliest offset %lld)."
                " The oldest events were dropped by retention; a rebuild from what is left would be partial.\n",
                first, r->n ? "seq " : "none, ", log_first, (long long)info->low_watermark);
        return -1;
    }
    char last[24];
    snprintf(last, sizeof(last), "%lld", r->n ? (long long)r->events[r->n - 1].seq : 0LL);
    const char *params[] = {last};
    j = PQexecParams(r->live, "SELECT count(*) FILTER (WHERE seq <= $1::bigint), count(*) FILTER (WHERE seq > $1::bigint)"
                              " FROM journal", 1, NULL, params, NULL, NULL, 0);
    long long covered = strtoll(PQgetvalue(j, 0, 0), NULL, 10), newer = strtoll(PQgetvalue(j, 0, 1), NULL, 10);
    PQclear(j);
    if (covered > (long long)r->n) {
        fprintf(stderr, "punyaka-replay: refusing: the events log misses %lld journal rows up to seq %s\n",
                covered - (long long)r->n, last);
        return -1;
    }
    if (newer > 0)
        fprintf(stderr, "punyaka-replay: note: %lld journal rows are newer than the log's last event (seq %s);"
                        " they are not replayed, so the live tables will differ by them\n", newer, last);
    return 0;
}

/* "17, 40-42" into buf: the seqs from..to, appended. */
static void add_range(char *buf, size_t cap, long long from, long long to)
{
    size_t len = strlen(buf);
    if (len + 40 >= cap) {
        if (!strstr(buf, ", …"))
            snprintf(buf + len, cap - len, ", …");
        return;
    }
    if (from == to)
        snprintf(buf + len, cap - len, "%s%lld", len ? ", " : "", from);
    else
        snprintf(buf + len, cap - len, "%s%lld-%lld", len ? ", " : "", from, to);
}

/* Without the live journal, what the events themselves show: the log
 * begins at offset 0 and skips none (Kafka never loses a message in the
 * middle, but compaction and deleted records do), and the journal seqs,
 * which start at 1, run without holes. */
static int check_log_alone(run *r, const rp_scan_info *info)
{
    if (info->low_watermark > 0 || info->offset_gaps > 0) {
        fprintf(stderr,
                "punyaka-replay: refusing: the events log has lost events (its earliest offset is %lld, and %lld"
                " offsets are skipped inside it). A rebuild from what is left would be partial.\n",
                (long long)info->low_watermark, (long long)info->offset_gaps);
        return -1;
    }
    if (r->n == 0) {
        fprintf(stderr, "punyaka-replay: refusing: the events log %s is empty (is --topic or PUNYAKA_TOPIC_PREFIX"
                        " right?)\n", r->o->src.topic);
        return -1;
    }
    char holes[256] = "";
    long long missing = 0, first = r->events[0].seq;
    for (size_t i = 1; i < r->n; i++) {
        long long prev = r->events[i - 1].seq, seq = r->events[i].seq;
        if (seq > prev + 1) {
            add_range(holes, sizeof(holes), prev + 1, seq - 1);
            missing += seq - prev - 1;
        }
    }
    if (first == 1 && missing == 0)
        return 0;
    const char *level = r->o->allow_seq_gaps ? "note" : "refusing";
    if (first != 1)
        fprintf(stderr, "punyaka-replay: %s: the events log does not start at journal seq 1 (its first event is"
                        " seq %lld)\n", level, first);
    if (missing)
        fprintf(stderr, "punyaka-replay: %s: the events log misses journal seqs %s (%lld in all)\n", level, holes,
                missing);
    if (r->o->allow_seq_gaps)
        return 0;
    fprintf(stderr, "punyaka-replay: without the live journal a lost event cannot be told from a seq burned by a"
                    " command transaction that rolled back after drawing it (a worker killed mid-commit). If you"
                    " know the holes to be such, --allow-seq-gaps rebuilds anyway.\n");
    return -1;
}

/* ---- applying ---- */

/* The logical topic a command arrived on, for the workers' topic check. */
static int on_its_topic(const pk_config *cfg, const char *src_topic, const wk_command *c)
{
    size_t plen = strlen(cfg->topic_prefix);
    const char *logical = strncmp(src_topic, cfg->topic_prefix, plen) == 0 ? src_topic + plen
                          : strrchr(src_topic, '.')                        ? strrchr(src_topic, '.') + 1
                                                                           : src_topic;
    return strcmp(logical, wk_command_topic(c)) == 0;
}

/* 1 when the target answers: a failed command then failed on its own. */
static int answers(PGconn *c)
{
    if (PQstatus(c) != CONNECTION_OK)
        return 0;
    PGresult *r = PQexec(c, "SELECT 1");
    int ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    return ok;
}

/* The workers' transaction, retried while the target is unreachable (with
 * backoff) and once more when it answers: a replay has no concurrent
 * writer, so a failure with the database up is the command's own. */
static wk_result apply_one(run *r, const wk_event *e, const pk_envelope_decoded *cmd, wk_outcome *o,
                           wk_txn_info *info)
{
    const wk_command *c = wk_command_find(cmd->env.type);
    if (c && !on_its_topic(r->o->cfg, e->src_topic, c))
        c = NULL;   /* the worker treated it as unknown; so do we */
    wk_ctx ctx = {.db = r->target, .cfg = r->o->cfg, .replay_ids = e->created_ids, .replay_seq = e->seq};
    wk_txn_input in = {.cmd = cmd, .raw = e->envelope, .raw_len = e->envelope_len, .command = c,
                       .src = {.topic = e->src_topic, .partition = e->src_partition, .offset = e->src_offset}};
    wk_result res = WK_TRANSIENT;
    int own = 0;
    for (int attempt = 0; attempt < ATTEMPTS && res == WK_TRANSIENT; attempt++) {
        if (attempt && answers(r->target)) {
            if (own++)
                break;   /* failed twice with the database up */
        } else if (attempt) {
            usleep((useconds_t)(100000 << attempt));
            PQreset(r->target);
        }
        wk_outcome_free(o);
        wk_outcome_init(o);
        res = wk_txn_run(&ctx, &in, o, info);
    }
    return res;
}

/* The payments rows a command wrote, as the relay records them. */
static json_t *money_of(PGconn *c, const char *command_id)
{
    const char *params[] = {command_id};
    PGresult *r = PQexecParams(c,
                               "SELECT coalesce(json_agg(json_build_array(purpose, kind, amount_paise) ORDER BY id),"
                               " '[]')::text FROM payments WHERE command_id = $1",
                               1, NULL, params, NULL, NULL, 0);
    json_t *money = PQresultStatus(r) == PGRES_TUPLES_OK ? json_loads(PQgetvalue(r, 0, 0), 0, NULL) : NULL;
    PQclear(r);
    return money ? money : json_null();
}

static json_t *decision(const char *status, const char *code, int http, const char *etype, int64_t eid,
                        const json_t *created, json_t *money)
{
    return json_pack("{s:s, s:o, s:i, s:o, s:O, s:o}", "status", status, "code", code && *code ? json_string(code) : json_null(),
                     "http_status", http, "entity",
                     etype && *etype ? json_pack("{s:s, s:I}", "type", etype, "id", (json_int_t)eid) : json_null(),
                     "created_ids", created, "money", money);
}

/* One `decision {...}` line: the recorded decision, the replayed one (null
 * when there is none) and, when the replay could not decide, why. */
static void report(run *r, const wk_event *e, json_t *replayed, const char *why)
{
    r->differing++;
    if (!r->list_all && r->differing > DECISIONS_SHOWN) {
        json_decref(replayed);
        return;
    }
    char id[PK_UUID_STR_LEN + 1];
    pk_uuid_format(&e->id, id);
    json_t *line = json_pack("{s:I, s:s, s:s, s:o, s:o}", "seq", (json_int_t)e->seq, "command_id", id, "type",
                             e->type, "recorded",
                             decision(e->status, e->code, e->http_status, e->entity_type, e->entity_id,
                                      e->created_ids, json_deep_copy(e->money)),
                             "replayed", replayed ? replayed : json_null());
    if (why)
        json_object_set_new(line, "error", json_string(why));
    char *text = json_dumps(line, JSON_COMPACT);
    rp_progress_clear_line();
    printf("decision %s\n", text);
    fflush(stdout);
    free(text);
    json_decref(line);
}

/* The replayed decision against the recorded one. */
static void compare_decision(run *r, const wk_event *e, const wk_outcome *o, const wk_txn_info *info)
{
    char id[PK_UUID_STR_LEN + 1];
    pk_uuid_format(&e->id, id);
    int needs_money = json_array_size(e->money) > 0 || json_object_get(o->created_ids, "payments");
    json_t *money = needs_money ? money_of(r->target, id) : json_array();
    json_t *replayed = decision(o->applied ? "applied" : "rejected", o->applied ? NULL : o->code, o->http_status,
                                o->entity_type, o->entity_id, o->created_ids, money);
    json_t *recorded = decision(e->status, e->code, e->http_status, e->entity_type, e->entity_id, e->created_ids,
                                json_deep_copy(e->money));
    int same = !info->duplicate && json_equal(recorded, replayed);
    json_decref(recorded);
    if (same)
        json_decref(replayed);
    else
        report(r, e, replayed, info->duplicate ? "the command id was already in the database" : NULL);
}

static int replay_all(run *r)
{
    rp_progress progress;
    rp_progress_start(&progress, "applying", (int64_t)(r->n - r->skip), !r->o->quiet);
    int rc = 0;
    size_t i = r->skip;
    for (; i < r->n && rc == 0 && !rp_stopping; i++) {
        const wk_event *e = &r->events[i];
        pk_envelope_decoded cmd;
        char err[128];
        size_t signed_len = 0;
        pk_auth_result auth = pk_command_verify(r->o->keys, e->envelope, e->envelope_len, &signed_len, NULL);
        if (auth != PK_AUTH_OK) {
            /* Workers journal only verified envelopes: this event was not written by one (or was
             * signed with a key no longer given). Never applied. */
            snprintf(err, sizeof(err), "%s (%s): not applied", PK_AUTH_DLQ_REASON, pk_auth_result_str(auth));
            report(r, e, NULL, err);
            continue;
        }
        if (pk_envelope_decode(e->envelope, signed_len, &cmd, err, sizeof(err)) != 0) {
            report(r, e, NULL, err);   /* a worker never journals one: the log is damaged */
            continue;
        }
        wk_outcome o;
        wk_outcome_init(&o);
        wk_txn_info info;
        if (apply_one(r, e, &cmd, &o, &info) == WK_DONE) {
            compare_decision(r, e, &o, &info);
        } else if (answers(r->target)) {
            /* The database is up and refuses this command (its cause is logged above): report, go on. */
            fprintf(stderr, "punyaka-replay: seq %lld (%s) could not be applied; reported, the replay goes on\n",
                    (long long)e->seq, e->type);
            r->unapplied++;
            report(r, e, NULL, "could not be applied: the transaction failed with the database up (see the log)");
        } else {
            fprintf(stderr, "punyaka-replay: seq %lld (%s): the target database stopped answering: %s",
                    (long long)e->seq, e->type, PQerrorMessage(r->target));
            rc = -1;
        }
        wk_outcome_free(&o);
        pk_envelope_decoded_free(&cmd);
        rp_progress_tick(&progress, (int64_t)(i + 1 - r->skip));
    }
    rp_progress_end(&progress);
    fflush(stdout);
    if (rp_stopping && r->resumable && i > 0 && i < r->n)
        fprintf(stderr, "punyaka-replay: stopped after seq %lld (%zu of %zu events applied); the same rebuild"
                        " command resumes from there\n", (long long)r->events[i - 1].seq, i, r->n);
    return rp_stopping ? -1 : rc;
}

/* ---- identity sequences ---- */

/* The largest id in a created_ids value ({"booking": 42, "payments": [7, 8]}). */
static int64_t largest_id(json_t *v)
{
    int64_t max = json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
    size_t i;
    const char *key;
    json_t *x;
    if (json_is_array(v))
        json_array_foreach(v, i, x) {
            int64_t m = largest_id(x);
            max = m > max ? m : max;
        }
    if (json_is_object(v))
        json_object_foreach(v, key, x) {
            int64_t m = largest_id(x);
            max = m > max ? m : max;
        }
    return max;
}

/* Every identity (and serial) sequence of the public schema, one statement
 * each. above > 0: set past `above` (and past the table's rows), so new
 * rows take fresh ids; above = 0: set to the table's largest id, or back
 * to its start when the table is empty. */
static int set_sequences(PGconn *c, int64_t above)
{
    PGresult *cols = PQexec(c, "SELECT quote_ident(c.relname), quote_ident(a.attname),"
                               " pg_get_serial_sequence(quote_ident(c.relname), a.attname)"
                               " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                               " JOIN pg_attribute a ON a.attrelid = c.oid"
                               " WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0"
                               " AND NOT a.attisdropped"
                               " AND pg_get_serial_sequence(quote_ident(c.relname), a.attname) IS NOT NULL");
    int ok = PQresultStatus(cols) == PGRES_TUPLES_OK;
    for (int i = 0; ok && i < PQntuples(cols); i++) {
        const char *table = PQgetvalue(cols, i, 0), *col = PQgetvalue(cols, i, 1), *seq = PQgetvalue(cols, i, 2);
        char sql[512];
        if (above > 0)
            snprintf(sql, sizeof(sql), "SELECT setval('%s', greatest(%lld, (SELECT coalesce(max(%s), 0) FROM public.%s)))",
                     seq, (long long)above, col, table);
        else
            snprintf(sql, sizeof(sql), "SELECT setval('%s', coalesce(max(%s), 1), max(%s) IS NOT NULL) FROM public.%s",
                     seq, col, col, table);
        PGresult *s = PQexec(c, sql);
        ok = PQresultStatus(s) == PGRES_TUPLES_OK;
        if (!ok)
            fprintf(stderr, "punyaka-replay: %s: %s", sql, PQresultErrorMessage(s));
        PQclear(s);
    }
    PQclear(cols);
    return ok ? 0 : -1;
}

static int mark_published(PGconn *c)
{
    PGresult *p = PQexec(c, "UPDATE journal SET published_at = now() WHERE published_at IS NULL");
    int ok = PQresultStatus(p) == PGRES_COMMAND_OK;
    PQclear(p);
    return ok ? 0 : -1;
}

/* Load the log, check it, prepare the target, replay. */
static int replay_into(run *r, const char *dsn)
{
    rp_scan_info info;
    if (rp_load_all(&r->o->src, &r->events, &r->n, &info) != 0)
        return -1;
    if (r->live ? check_complete(r, &info) != 0 : check_log_alone(r, &info) != 0)
        return -1;
    if (!(r->target = prepare_target(r, dsn)))
        return -1;
    int64_t above = 0;
    for (size_t i = 0; i < r->n; i++) {
        int64_t m = largest_id(r->events[i].created_ids);
        above = m > above ? m : above;
    }
    fprintf(stderr, "punyaka-replay: replaying %zu events (seq %lld..%lld) into %s%s\n", r->n,
            r->n ? (long long)r->events[0].seq : 0LL, r->n ? (long long)r->events[r->n - 1].seq : 0LL,
            PQdb(r->target), r->live ? "" : ", from the log alone");
    if ((above > 0 && set_sequences(r->target, above) != 0) || replay_all(r) != 0 || set_sequences(r->target, 0) != 0 ||
        mark_published(r->target) != 0)
        return -1;
    return 0;
}

static void run_free(run *r)
{
    rp_events_free(r->events, r->n);
    PQfinish(r->target);
    PQfinish(r->live);
}

/* The live database, unless --from-log-only; 0, or -1 (said why). */
static int connect_live(run *r, const char *command)
{
    if (r->o->from_log_only)
        return 0;
    if ((r->live = rp_connect(r->o->live_dsn, "the live database (DATABASE_URL)")))
        return 0;
    fprintf(stderr, "punyaka-replay: if the live database is lost, %s from the events log alone: add --from-log-only%s"
                    " (docs/operations.md, disaster recovery)\n",
            command, strcmp(command, "verify") == 0 ? " --into DSN" : "");
    return -1;
}

/* The summary line, then the tables against the live ones (when there is a
 * live database). The exit status. */
static int conclude(run *r, const char *done)
{
    printf("%s %zu commands%s: %lld differing decisions", done, r->n, r->live ? "" : " from the log alone",
           r->differing);
    if (r->unapplied)
        printf(" (%lld could not be applied)", r->unapplied);
    printf("\n");
    fflush(stdout);
    int tables = 0;
    if (r->live)
        tables = rp_compare(r->live, r->target, stdout, r->o->quiet);
    else
        printf("tables not compared: no live database (--from-log-only)\n");
    return tables < 0 ? RP_EXIT_FAILED : tables > 0 || r->differing ? RP_EXIT_DIFFERENT : RP_EXIT_OK;
}

int rp_rebuild(const rp_rebuild_opts *o)
{
    run r = {.o = o, .resumable = true};
    int rc = RP_EXIT_FAILED;
    if (connect_live(&r, "rebuild") == 0 && replay_into(&r, o->into_dsn) == 0)
        rc = conclude(&r, "replayed");
    run_free(&r);
    return rc;
}

static void drop_database(const char *live_dsn, const char *name)
{
    char *admin = dsn_with_dbname(live_dsn, "postgres");
    PGconn *c = admin ? rp_connect(admin, "the server") : NULL;
    if (c) {
        char *ident = PQescapeIdentifier(c, name, strlen(name)), sql[256];
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", ident);
        PGresult *res = PQexec(c, sql);
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            fprintf(stderr, "punyaka-replay: %s: %s", sql, PQresultErrorMessage(res));
        PQclear(res);
        PQfreemem(ident);
    }
    PQfinish(c);
    free(admin);
}

int rp_verify(const rp_rebuild_opts *o)
{
    run r = {.o = o, .list_all = true};
    int rc = RP_EXIT_FAILED;
    char scratch[64] = "";
    char *dsn = NULL;
    if (connect_live(&r, "verify") == 0) {
        if (o->into_dsn)
            dsn = strdup(o->into_dsn);
        else {
            snprintf(scratch, sizeof(scratch), "%.40s_verify_%d", PQdb(r.live), (int)getpid());
            dsn = dsn_with_dbname(o->live_dsn, scratch);
        }
    }
    if (dsn && replay_into(&r, dsn) == 0)
        rc = conclude(&r, "verified");
    PQfinish(r.target);
    r.target = NULL;
    if (scratch[0] && !o->keep)
        drop_database(o->live_dsn, scratch);
    else if (scratch[0])
        fprintf(stderr, "punyaka-replay: kept the replayed database %s\n", scratch);
    free(dsn);
    run_free(&r);
    return rc;
}
