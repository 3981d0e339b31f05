/* main.c — punyaka-replay: subcommands, options and --help (replay.h
 * lists the modules; docs/operations.md is the manual). */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "common/log.h"
#include "workers/credentials.h"
#include "workers/fields.h"
#include "workers/replay/replay.h"

volatile sig_atomic_t rp_stopping;

static const char USAGE[] =
    "usage: punyaka-replay COMMAND [OPTIONS]\n"
    "\n"
    "Audit tool over the events log: the journal of every applied or rejected command,\n"
    "published by the workers to <PUNYAKA_TOPIC_PREFIX>events (schemas/events.md).\n"
    "\n"
    "commands:\n"
    "  list [FILTERS] [--follow]     decoded commands and outcomes, one JSON object per line\n"
    "  history TYPE:ID               every command that touched one entity, in journal order\n"
    "  rebuild --into DSN            replay the journal into an empty database (created and migrated\n"
    "                                if missing), then compare its tables with the live database;\n"
    "                                into what an interrupted rebuild left, it resumes where that stopped\n"
    "          [--from-log-only [--allow-seq-gaps]]\n"
    "                                disaster recovery: never touch the live database (it is lost);\n"
    "                                the log must start at seq 1 and have no holes (accept holes left\n"
    "                                by rolled-back commands with --allow-seq-gaps); no comparison\n"
    "  verify [--into DSN] [--keep]  replay the journal (into a scratch database unless --into), report\n"
    "                                every decision that differs from the recorded one, then compare\n"
    "                                the replayed tables with the live ones (--from-log-only: needs\n"
    "                                --into, decisions only)\n"
    "  dlq list [--all]              dead letters (pending ones; --all: also redriven), with reason\n"
    "                                and original topic/partition/offset\n"
    "  dlq redrive [--id N ...] [--value-file FILE] [--wait SECONDS]\n"
    "                                re-publish dead letters (the pending ones, or those named) to\n"
    "                                their original topic; FILE replaces the bytes of one message.\n"
    "                                Waits (default 15 s) for what the workers did with each, and\n"
    "                                reports it: applied, rejected, dead_lettered again, or pending\n"
    "\n"
    "filters (list):\n"
    "  --since TIME --until TIME     by the command's issued_at (offsets-for-times where the broker\n"
    "                                can answer, else a scan of the log)\n"
    "  --type TYPE                   booking.create, or a family: booking.*\n"
    "  --entity TYPE:ID              commands touching it (as history)\n"
    "  --actor USER_ID               commands issued by that user\n"
    "  --outcome WHAT                applied, rejected, or a reason code (slot_taken, ...)\n"
    "  --follow                      keep printing new events until interrupted\n"
    "\n"
    "common options:\n"
    "  --brokers LIST   Kafka bootstrap servers (default $KAFKA_BROKERS)\n"
    "  --dsn DSN        the live database (default $DATABASE_URL)\n"
    "  --topic NAME     the events topic (default $PUNYAKA_TOPIC_PREFIX + \"events\")\n"
    "  --scan           never ask the broker for offsets-for-times; scan from the beginning\n"
    "  --quiet          no progress line on stderr\n"
    "  --progress       the progress bar (done/total, rate, ETA; 4 redraws a second at most) even when\n"
    "                   stderr is not a terminal (there: one plain line every 5 s)\n"
    "  --help           this text\n"
    "\n"
    "TIME: 2026-11-25, 2026-11-25T18:00:00Z, 2026-11-25T23:30:00.5+05:30 or @EPOCH_SECONDS\n"
    "TYPE of an entity: user priest booking order product service category payment order_item\n"
    "                   stock_movement priest_block notification\n"
    "\n"
    "environment: KAFKA_BROKERS, DATABASE_URL, PUNYAKA_TOPIC_PREFIX, PUNYAKA_TZ_OFFSET_MINUTES (must\n"
    "be the workers' value), PUNYAKA_MIGRATE (path of punyaka-migrate, for rebuild and verify),\n"
    "PUNYAKA_CREDENTIAL_KEY (the workers' key, for rebuild and verify: they open sealed password hashes)\n"
    "PUNYAKA_COMMAND_KEY [+ PUNYAKA_COMMAND_KEY_PREVIOUS] (the workers' keys; required by rebuild and\n"
    "verify, which apply only envelopes whose signature verifies, and by dlq redrive --value-file,\n"
    "which signs a bare envelope)\n"
    "\n"
    "exit status: 0 ok / identical / no differing decision, 1 differences found (a decision, a command\n"
    "the replay could not apply, or a table), 2 bad usage, 3 refused (e.g. the log no longer reaches\n"
    "back to the first journal entry) or failed\n";

static void on_signal(int sig)
{
    (void)sig;
    rp_stopping = 1;
}

/* ---- shared helpers ---- */

PGconn *rp_connect(const char *dsn, const char *what)
{
    PGconn *c = PQconnectdb(dsn);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "punyaka-replay: cannot connect to %s: %s", what, PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    PGresult *r = PQexec(c, "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET client_min_messages = warning");
    PQclear(r);
    return c;
}

/* "+05:30" / "Z" / "" ⇒ seconds east of UTC; -1 when malformed. */
static long zone_seconds(const char *z, long *east)
{
    int h, m;
    if (!*z || strcmp(z, "Z") == 0) {
        *east = 0;
        return 0;
    }
    if ((z[0] != '+' && z[0] != '-') || sscanf(z + 1, "%2d:%2d", &h, &m) != 2 || strlen(z) != 6)
        return -1;
    *east = (z[0] == '-' ? -1 : 1) * (h * 3600L + m * 60L);
    return 0;
}

int64_t rp_parse_time(const char *text)
{
    if (text[0] == '@') {
        char *end;
        long long s = strtoll(text + 1, &end, 10);
        return *end || s < 0 ? -1 : s * 1000;
    }
    struct tm tm = {0};
    int n = 0;
    double seconds = 0;
    if (sscanf(text, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &n) != 3 || n != 10)
        return -1;
    const char *rest = text + 10;
    if (*rest == 'T' || *rest == ' ') {
        int k = 0;
        if (sscanf(rest + 1, "%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &k) != 2 || k != 5)
            return -1;
        rest += 6;
        if (*rest == ':' && sscanf(rest + 1, "%lf%n", &seconds, &k) == 1 && seconds >= 0 && seconds < 61)
            rest += 1 + k;
    }
    long east;
    if (zone_seconds(rest, &east) != 0)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    return ((int64_t)t - east) * 1000 + (int64_t)(seconds * 1000);
}

/* ---- options ---- */

typedef struct {
    pk_config cfg;
    rp_source src;
    rp_filter filter;
    const char *dsn, *into, *value_file;
    bool keep, all, from_log_only, allow_seq_gaps;
    int wait_s;                  /* dlq redrive --wait; -1: the default */
    int64_t ids[256];
    size_t n_ids;
} options;

enum { O_SINCE = 256, O_UNTIL, O_TYPE, O_ENTITY, O_ACTOR, O_OUTCOME, O_FOLLOW, O_BROKERS, O_DSN, O_TOPIC,
       O_SCAN, O_QUIET, O_INTO, O_KEEP, O_ALL, O_ID, O_VALUE_FILE, O_WAIT, O_HELP, O_FROM_LOG_ONLY,
       O_ALLOW_SEQ_GAPS, O_PROGRESS };

static const struct option LONGS[] = {
    {"since", required_argument, NULL, O_SINCE},   {"until", required_argument, NULL, O_UNTIL},
    {"type", required_argument, NULL, O_TYPE},     {"entity", required_argument, NULL, O_ENTITY},
    {"actor", required_argument, NULL, O_ACTOR},   {"outcome", required_argument, NULL, O_OUTCOME},
    {"follow", no_argument, NULL, O_FOLLOW},       {"brokers", required_argument, NULL, O_BROKERS},
    {"dsn", required_argument, NULL, O_DSN},       {"topic", required_argument, NULL, O_TOPIC},
    {"scan", no_argument, NULL, O_SCAN},           {"quiet", no_argument, NULL, O_QUIET},
    {"into", required_argument, NULL, O_INTO},     {"keep", no_argument, NULL, O_KEEP},
    {"all", no_argument, NULL, O_ALL},             {"id", required_argument, NULL, O_ID},
    {"value-file", required_argument, NULL, O_VALUE_FILE}, {"wait", required_argument, NULL, O_WAIT},
    {"help", no_argument, NULL, O_HELP},           {"progress", no_argument, NULL, O_PROGRESS},
    {"from-log-only", no_argument, NULL, O_FROM_LOG_ONLY}, {"allow-seq-gaps", no_argument, NULL, O_ALLOW_SEQ_GAPS},
    {NULL, 0, NULL, 0},
};

static int bad(const char *what, const char *value)
{
    fprintf(stderr, "punyaka-replay: bad %s: %s (see --help)\n", what, value);
    return -1;
}

static int parse_id(const char *s, int64_t *out)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*end || v <= 0 || end == s)
        return -1;
    *out = v;
    return 0;
}

/* Whole seconds, 0..600. */
static int parse_seconds(const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || end == s || v < 0 || v > 600)
        return -1;
    *out = (int)v;
    return 0;
}

/* One option; 0, 1 for --help, -1 when malformed. */
static int take(options *o, int ch, const char *arg)
{
    switch (ch) {
    case O_SINCE:   return (o->src.since_ms = rp_parse_time(arg)) < 0 ? bad("--since", arg) : 0;
    case O_UNTIL:   return (o->src.until_ms = rp_parse_time(arg)) < 0 ? bad("--until", arg) : 0;
    case O_TYPE:    o->filter.type = arg; return 0;
    case O_ENTITY:
        return rp_parse_entity(arg, o->filter.entity_type, &o->filter.entity_id) ? bad("--entity", arg) : 0;
    case O_ACTOR:   o->filter.has_actor = true; return parse_id(arg, &o->filter.actor) ? bad("--actor", arg) : 0;
    case O_OUTCOME: o->filter.outcome = arg; return 0;
    case O_FOLLOW:  o->src.follow = true; return 0;
    case O_BROKERS: o->cfg.kafka_brokers = arg; return 0;
    case O_DSN:     o->dsn = arg; return 0;
    case O_TOPIC:   snprintf(o->src.topic, sizeof(o->src.topic), "%s", arg); return 0;
    case O_SCAN:    o->src.scan = true; return 0;
    case O_QUIET:   o->src.quiet = true; return 0;
    case O_PROGRESS: rp_progress_bar = true; return 0;
    case O_INTO:    o->into = arg; return 0;
    case O_KEEP:    o->keep = true; return 0;
    case O_ALL:     o->all = true; return 0;
    case O_ID:
        if (o->n_ids == sizeof(o->ids) / sizeof(o->ids[0]))
            return bad("--id", "too many");
        return parse_id(arg, &o->ids[o->n_ids++]) ? bad("--id", arg) : 0;
    case O_VALUE_FILE: o->value_file = arg; return 0;
    case O_WAIT:    return parse_seconds(arg, &o->wait_s) ? bad("--wait", arg) : 0;
    case O_FROM_LOG_ONLY: o->from_log_only = true; return 0;
    case O_ALLOW_SEQ_GAPS: o->allow_seq_gaps = true; return 0;
    case O_HELP:    return 1;
    default:        return -1;
    }
}

static int parse(int argc, char **argv, int first, options *o)
{
    o->src.since_ms = o->src.until_ms = -1;
    o->wait_s = -1;
    optind = first;
    int ch, rc = 0;
    while (rc == 0 && (ch = getopt_long(argc, argv, "", LONGS, NULL)) != -1)
        rc = take(o, ch, optarg);
    if (!o->dsn)
        o->dsn = o->cfg.database_url;
    if (!o->src.topic[0])
        pk_topic(&o->cfg, "events", o->src.topic, sizeof(o->src.topic));
    o->src.cfg = &o->cfg;
    return rc;
}

/* ---- list and history ---- */

typedef struct {
    const rp_filter *filter;
    int64_t *seen;               /* open-addressing set of seqs: the relay publishes at least once */
    size_t cap, used;
} lister;

static int seen_before(lister *l, int64_t seq)
{
    if (l->used * 2 >= l->cap) {
        size_t old = l->cap;
        int64_t *prev = l->seen;
        l->cap = old ? old * 2 : 4096;
        l->seen = calloc(l->cap, sizeof(*l->seen));
        l->used = 0;
        for (size_t i = 0; i < old; i++)
            if (prev[i])
                seen_before(l, prev[i]);
        free(prev);
    }
    size_t i = (size_t)seq * 0x9E3779B97F4A7C15ULL % l->cap;
    for (; l->seen[i]; i = (i + 1) % l->cap)
        if (l->seen[i] == seq)
            return 1;
    l->seen[i] = seq;
    l->used++;
    return 0;
}

static void print_event(const wk_event *e, int64_t offset)
{
    json_t *j = rp_event_json(e, offset);
    char *text = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15));   /* 18.52043, not 18.520430000000001 */
    printf("%s\n", text);
    fflush(stdout);
    free(text);
    json_decref(j);
}

static int list_one(void *arg, const wk_event *e, int64_t offset, int64_t ts)
{
    (void)ts;
    lister *l = arg;
    if (!seen_before(l, e->seq) && rp_filter_match(l->filter, e))
        print_event(e, offset);
    return 0;
}

static int cmd_list(options *o)
{
    lister l = {.filter = &o->filter};
    rp_scan_info info;
    int rc = rp_scan(&o->src, list_one, &l, &info);
    free(l.seen);
    return rc == 0 ? RP_EXIT_OK : RP_EXIT_FAILED;
}

static int cmd_history(options *o, const char *entity)
{
    rp_filter f = {0};
    if (rp_parse_entity(entity, f.entity_type, &f.entity_id) != 0) {
        bad("entity (TYPE:ID)", entity);
        return RP_EXIT_USAGE;
    }
    wk_event *events;
    size_t n;
    rp_scan_info info;
    if (rp_load_all(&o->src, &events, &n, &info) != 0)
        return RP_EXIT_FAILED;
    if (info.low_watermark > 0)
        fprintf(stderr, "punyaka-replay: note: the log starts at offset %lld; older events are gone\n",
                (long long)info.low_watermark);
    for (size_t i = 0; i < n; i++)
        if (rp_filter_match(&f, &events[i]))
            print_event(&events[i], -1);
    rp_events_free(events, n);
    return RP_EXIT_OK;
}

/* ---- dispatch ---- */

/* The command keys, for the subcommands that need them: rebuild and verify
 * apply only signed envelopes, redrive --value-file signs what it sends. */
static bool needs_keys(const options *o, const char *cmd)
{
    return !strcmp(cmd, "rebuild") || !strcmp(cmd, "verify") || (!strcmp(cmd, "dlq redrive") && o->value_file);
}

static int dispatch(options *o, const char *cmd, int argc, char **argv, const rp_rebuild_opts *r,
                    const rp_dlq_opts *d)
{
    if (!strcmp(cmd, "list"))
        return optind == argc ? cmd_list(o) : (bad("argument", argv[optind]), RP_EXIT_USAGE);
    if (!strcmp(cmd, "history"))
        return optind == argc - 1 ? cmd_history(o, argv[optind]) : (bad("history", "give one TYPE:ID"), RP_EXIT_USAGE);
    if ((!strcmp(cmd, "rebuild") || !strcmp(cmd, "verify")) && o->allow_seq_gaps && !o->from_log_only)
        return bad("--allow-seq-gaps", "only with --from-log-only (the live journal tells holes apart)"),
               RP_EXIT_USAGE;
    /* rebuild and verify apply commands through the worker's code, which
     * opens sealed password hashes: without the key every account would be
     * refused, so say so before starting. */
    char err[256];
    if ((!strcmp(cmd, "rebuild") || !strcmp(cmd, "verify")) && wk_credentials_init(err, sizeof(err)) != 0) {
        fprintf(stderr, "punyaka-replay: configuration: %s\n", err);
        return RP_EXIT_USAGE;
    }
    if (!strcmp(cmd, "rebuild"))
        return o->into ? rp_rebuild(r) : (bad("rebuild", "--into DSN is required"), RP_EXIT_USAGE);
    if (!strcmp(cmd, "verify"))
        return o->into || !o->from_log_only ? rp_verify(r)
                                            : (bad("verify --from-log-only", "--into DSN is required"), RP_EXIT_USAGE);
    if (!strcmp(cmd, "dlq list"))
        return rp_dlq_list(d);
    if (!strcmp(cmd, "dlq redrive"))
        return rp_dlq_redrive(d);
    bad("command", cmd);
    return RP_EXIT_USAGE;
}

static int run(options *o, const char *cmd, int argc, char **argv)
{
    pk_command_keys keys;
    char err[256];
    bool have_keys = pk_command_keys_from_env(&keys, err, sizeof(err)) == 0;
    if (!have_keys && needs_keys(o, cmd)) {
        fprintf(stderr, "punyaka-replay: %s: %s\n", cmd, err);
        return RP_EXIT_USAGE;
    }
    rp_rebuild_opts r = {.cfg = &o->cfg, .src = o->src, .live_dsn = o->dsn, .into_dsn = o->into,
                         .keep = o->keep, .quiet = o->src.quiet, .from_log_only = o->from_log_only,
                         .allow_seq_gaps = o->allow_seq_gaps, .keys = &keys};
    rp_dlq_opts d = {.cfg = &o->cfg, .live_dsn = o->dsn, .all = o->all, .ids = o->ids, .n_ids = o->n_ids,
                     .value_file = o->value_file, .wait_ms = (o->wait_s < 0 ? RP_REDRIVE_WAIT_S : o->wait_s) * 1000,
                     .keys = have_keys ? &keys : NULL};
    int rc = dispatch(o, cmd, argc, argv, &r, &d);
    pk_command_keys_wipe(&keys);
    return rc;
}

int main(int argc, char **argv)
{
    options o = {0};
    char err[256] = "", cmd[32];
    pk_log_init("replay");
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        fputs(USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? RP_EXIT_USAGE : RP_EXIT_OK;
    }
    if (pk_config_load(&o.cfg, err, sizeof(err)) != 0 || wf_tz_offset_init() != 0) {
        fprintf(stderr, "punyaka-replay: configuration: %s\n", err[0] ? err : "PUNYAKA_TZ_OFFSET_MINUTES");
        return RP_EXIT_USAGE;
    }
    int first = 2;
    snprintf(cmd, sizeof(cmd), "%s", argv[1]);
    if (!strcmp(argv[1], "dlq") && argc > 2 && argv[2][0] != '-') {
        snprintf(cmd, sizeof(cmd), "dlq %s", argv[2]);
        first = 3;
    }
    int rc = parse(argc, argv, first, &o);
    if (rc != 0) {
        fputs(rc > 0 ? USAGE : "", rc > 0 ? stdout : stderr);
        return rc > 0 ? RP_EXIT_OK : RP_EXIT_USAGE;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return run(&o, cmd, argc, argv);
}
