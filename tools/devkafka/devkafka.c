/* devkafka.c — punyaka-devkafka: a throwaway Kafka for development and tests.
 *
 * THIS IS NOT KAFKA AND NOT FOR PRODUCTION. It is librdkafka's in-memory
 * mock cluster (rdkafka_mock.h) run as its own process, so the API, the
 * workers, kcat and the tests can all talk to "Kafka" on one machine with no
 * JVM. Production points KAFKA_BROKERS at a real Apache Kafka cluster (see
 * docker-compose.yml and docs/kafka.md). Know its limits (PLATFORM.md §4):
 *   - everything lives in memory and dies with the process;
 *   - it keeps only about 5 MiB (or 100,000 message sets) per partition and
 *     silently drops the oldest, so "replay from the beginning" only sees
 *     recent data;
 *   - it cannot answer offsets-for-times (rd_kafka_offsets_for_times returns
 *     offset -1 for every timestamp), so replay-by-time needs a real broker;
 *   - transactions "succeed" but read_committed isolation is not enforced;
 *   - it auto-creates unknown topics (4 partitions) on first use, unlike the
 *     production cluster, which has auto-create disabled;
 *   - brokers listen on 127.0.0.1 only, on random ports chosen at first start.
 *
 * Ports that survive a restart: with --ports-file PATH (the stack passes
 * DIR/kafka.ports, its data folder) the first start records the brokers'
 * bootstrap string there, and a later start makes its brokers listen on those
 * same ports again, so the API and the workers, whose KAFKA_BROKERS did not
 * change, reconnect by themselves. librdkafka 2.0.2's mock has no port API:
 * each broker's listener is bound to 127.0.0.1 port 0, one broker after the
 * other (ids 1..N) inside rd_kafka_mock_cluster_new() on the calling thread.
 * This executable therefore defines bind(), which preempts libc's for
 * librdkafka's calls, and gives the n-th such port-0 bind the n-th recorded
 * port while the cluster is being created; every other bind (the control
 * socket, a broker set up again, which re-binds its own port) goes to libc
 * unchanged. The mock sets SO_REUSEADDR, so connections of the killed process
 * still in TIME_WAIT do not block the port. A recorded port another process
 * took meanwhile fails the start (logged); the supervisor retries later. The
 * data itself is NOT kept: a restarted cluster is empty (topics are created
 * again, messages not yet consumed when it died are gone).
 *
 * Because the ports are random, the bootstrap string is published: always as
 * {"bootstraps":"127.0.0.1:N,..."} on stdout, and with --bootstrap-file PATH
 * also written to PATH atomically (tmp + rename) once every topic exists, so
 * a reader that sees the file can use the topics at once. The file is removed
 * again on a clean shutdown so nobody picks up a dead address.
 *
 * Faults on demand (the fault suite, issue 11): with --control PATH it also
 * listens on a Unix socket at PATH for one-line commands, answered "ok" or
 * "error: ...":
 *   down ID|all          broker(s) stop answering (connections refused/closed)
 *   up ID|all            and come back
 *   rtt ID|all MS        every response of the broker(s) is delayed MS ms
 *   errors APIKEY N ERR  the next N requests of API key APIKEY (0 = Produce,
 *                        1 = Fetch, ...) fail with Kafka error code ERR
 *   ping
 * `punyaka-devkafka ctl PATH COMMAND...` sends one and prints the answer.
 *
 * Environment:
 *   PUNYAKA_TOPIC_PREFIX       topic name prefix, default "punyaka."
 *   PUNYAKA_DEVKAFKA_BROKERS   number of mock brokers, default 1 (1..16);
 *                              replication factor is min(3, brokers).
 * Logs are JSON lines on stderr. SIGTERM/SIGINT stop it; exit status 0. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

/* DESIGN.md §3 "Topics and keys" (dev partition counts). */
static const struct {
    const char *name;
    int partitions;
} k_topics[] = {
    {"bookings", 6}, {"orders", 6}, {"accounts", 3},
    {"catalog", 3},  {"events", 1}, {"dlq", 1},
};

#define MAX_BROKERS 16

static volatile sig_atomic_t g_stop;

/* Ports the brokers must listen on (from --ports-file), handed out in order
 * to the mock's port-0 binds while g_ports_armed is set (main thread, during
 * rd_kafka_mock_cluster_new only). */
static int g_ports[MAX_BROKERS];
static int g_port_count, g_ports_used;
static int g_ports_armed;

static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

/* JSON-string-escapes s into out (always NUL-terminated, truncated to fit). */
static void json_escape(const char *s, char *out, size_t cap) {
    size_t o = 0;
    for (; s && *s && o + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else if (c < 0x20) {
            o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
}

/* One JSON object per line, same shape as common/log.h, one fprintf each so
 * lines from librdkafka's threads do not interleave mid-line. Kept local so
 * this tool depends on nothing but libc and librdkafka. */
static void logj(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logj(const char *level, const char *fmt, ...) {
    char msg[1024], esc[2048], ts[40];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_escape(msg, esc, sizeof esc);

    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    size_t n = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof ts - n, ".%03ldZ", now.tv_nsec / 1000000L);

    fprintf(stderr, "{\"ts\":\"%s\",\"level\":\"%s\",\"proc\":\"devkafka\",\"msg\":\"%s\"}\n",
            ts, level, esc);
}

/* librdkafka's own log lines (syslog levels), re-emitted as JSON. */
static void on_rdkafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    (void)rk;
    /* The host handle has no bootstrap.servers on purpose; do not let that
     * warning suggest something is misconfigured. */
    if (!strcmp(fac, "CONFWARN") && strstr(buf, "bootstrap.servers"))
        return;
    const char *lv = level <= 3 ? "error" : level == 4 ? "warn" : level <= 6 ? "info" : "debug";
    logj(lv, "rdkafka %s: %s", fac, buf);
}

/* glibc declares bind() with a transparent union argument under _GNU_SOURCE. */
#if defined(__USE_GNU) && defined(__GNUC__)
#define SOCKADDR_OF(a) ((a).__sockaddr__)
#else
#define SOCKADDR_OF(a) (a)
#endif

typedef int (*bind_fn)(int, const struct sockaddr *, socklen_t);

/* See the header: the mock's listeners get the recorded ports. */
int bind(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len) {
    static bind_fn real_bind;
    if (!real_bind)
        real_bind = (bind_fn)dlsym(RTLD_NEXT, "bind");
    if (!real_bind) {
        errno = ENOSYS;
        return -1;
    }
    const struct sockaddr *sa = SOCKADDR_OF(addr);
    if (g_ports_armed && sa && sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        struct sockaddr_in sin;
        memcpy(&sin, sa, sizeof sin);
        if (sin.sin_port == 0 && sin.sin_addr.s_addr == htonl(INADDR_LOOPBACK) &&
            g_ports_used < g_port_count) {
            sin.sin_port = htons((uint16_t)g_ports[g_ports_used++]);
            int rc = real_bind(fd, (const struct sockaddr *)&sin, sizeof sin);
            if (rc != 0) {
                int e = errno;   /* librdkafka reports it too */
                logj("error", "broker %d: recorded port %d cannot be bound: %s", g_ports_used,
                     ntohs(sin.sin_port), strerror(e));
                errno = e;
            }
            return rc;
        }
    }
    return real_bind(fd, sa, len);
}

/* Parses "127.0.0.1:P1,127.0.0.1:P2,..." into g_ports. Returns the number of
 * ports, or -1 when the text is not such a list. */
static int parse_ports(const char *text) {
    int n = 0;
    const char *p = text;
    while (*p && *p != '\n') {
        if (strncmp(p, "127.0.0.1:", 10) != 0 || n == MAX_BROKERS)
            return -1;
        char *end;
        long port = strtol(p + 10, &end, 10);
        if (end == p + 10 || port < 1 || port > 65535)
            return -1;
        g_ports[n++] = (int)port;
        p = end;
        if (*p == ',')
            p++;
        else if (*p && *p != '\n')
            return -1;
    }
    return n;
}

/* Loads the ports recorded by an earlier start. 0 = none recorded (first
 * start) or recorded for another broker count (then new ones are chosen);
 * -1 = the file exists but cannot be read or understood. */
static int load_ports(const char *path, int brokers) {
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? 0 : -1;
    char line[MAX_BROKERS * 24];
    int n = fgets(line, sizeof line, f) ? parse_ports(line) : -1;
    fclose(f);
    if (n < 0)
        return -1;
    if (n != brokers) {
        logj("warn", "%s records %d broker ports, %d brokers wanted: choosing new ports", path, n, brokers);
        return 0;
    }
    g_port_count = n;
    return 0;
}

static void usage(FILE *f) {
    fputs("usage: punyaka-devkafka [--bootstrap-file PATH] [--ports-file PATH] [--control PATH] [--help]\n"
          "       punyaka-devkafka ctl PATH COMMAND...\n"
          "\n"
          "Runs librdkafka's in-memory MOCK Kafka cluster for development and tests.\n"
          "Not for production: ~5 MiB kept per partition, no offsets-for-times,\n"
          "nothing persisted. Creates the Punyaka topics and prints\n"
          "  {\"bootstraps\":\"127.0.0.1:PORT,...\"}\n"
          "on stdout; runs until SIGTERM or SIGINT.\n"
          "\n"
          "  --bootstrap-file PATH  also write the bootstrap string to PATH\n"
          "                         (atomically, once the topics exist)\n"
          "  --ports-file PATH      listen on the ports recorded in PATH, or record\n"
          "                         them there at the first start (kept across restarts)\n"
          "  --control PATH         accept fault commands on a Unix socket at PATH\n"
          "                         (down|up ID|all, rtt ID|all MS, errors APIKEY N ERR, ping)\n"
          "  --help                 this text\n"
          "\n"
          "environment:\n"
          "  PUNYAKA_TOPIC_PREFIX      topic prefix (default \"punyaka.\")\n"
          "  PUNYAKA_DEVKAFKA_BROKERS  mock brokers, 1..16 (default 1)\n",
          f);
}

/* Writes s + "\n" to path via a sibling temp file and rename(2), so a reader
 * sees either no file or the whole string. */
static int write_atomic(const char *path, const char *s) {
    char tmp[PATH_MAX];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    int ok = fprintf(f, "%s\n", s) >= 0;
    ok = (fflush(f) == 0) && ok;
    ok = (fsync(fileno(f)) == 0) && ok;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return -1;
    }
    return 0;
}

static int parse_brokers(int *out) {
    const char *v = getenv("PUNYAKA_DEVKAFKA_BROKERS");
    if (!v || !*v) {
        *out = 1;
        return 0;
    }
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *end || n < 1 || n > MAX_BROKERS)
        return -1;
    *out = (int)n;
    return 0;
}

/* ---- control socket (faults on demand) ---- */

static int unix_address(const char *path, struct sockaddr_un *sa) {
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa->sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(sa->sun_path, path);
    return 0;
}

static int control_listen(const char *path) {
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || unix_address(path, &sa) != 0)
        goto fail;
    unlink(path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 8) != 0)
        goto fail;
    return fd;
fail:
    if (fd >= 0)
        close(fd);
    return -1;
}

/* Applies one broker-scoped change to broker `who` ("all" or an id). */
static rd_kafka_resp_err_t each_broker(rd_kafka_mock_cluster_t *mc, int brokers, const char *who,
                                       const char *op, int ms) {
    int first = 1, last = brokers;
    if (strcmp(who, "all") != 0) {
        char *end;
        long id = strtol(who, &end, 10);
        if (*end || id < 1 || id > brokers)
            return RD_KAFKA_RESP_ERR__INVALID_ARG;
        first = last = (int)id;
    }
    for (int id = first; id <= last; id++) {
        rd_kafka_resp_err_t err = !strcmp(op, "down") ? rd_kafka_mock_broker_set_down(mc, id)
                                  : !strcmp(op, "up") ? rd_kafka_mock_broker_set_up(mc, id)
                                                      : rd_kafka_mock_broker_set_rtt(mc, id, ms);
        if (err)
            return err;
    }
    return RD_KAFKA_RESP_ERR_NO_ERROR;
}

static void push_errors(rd_kafka_mock_cluster_t *mc, int apikey, int count, int code) {
    rd_kafka_resp_err_t errs[64];
    for (int i = 0; i < count; i++)
        errs[i] = (rd_kafka_resp_err_t)code;
    rd_kafka_mock_push_request_errors_array(mc, (int16_t)apikey, (size_t)count, errs);
}

/* One command line ⇒ the answer written into out. */
static void control_command(rd_kafka_mock_cluster_t *mc, int brokers, char *line, char *out, size_t cap) {
    char op[16] = "", a[16] = "", b[16] = "", c[16] = "";
    int n = sscanf(line, "%15s %15s %15s %15s", op, a, b, c);
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__INVALID_ARG;
    if (n == 1 && !strcmp(op, "ping")) {
        err = RD_KAFKA_RESP_ERR_NO_ERROR;
    } else if (n == 2 && (!strcmp(op, "down") || !strcmp(op, "up"))) {
        err = each_broker(mc, brokers, a, op, 0);
    } else if (n == 3 && !strcmp(op, "rtt") && atoi(b) >= 0) {
        err = each_broker(mc, brokers, a, op, atoi(b));
    } else if (n == 4 && !strcmp(op, "errors") && atoi(b) >= 0 && atoi(b) <= 64) {
        push_errors(mc, atoi(a), atoi(b), atoi(c));
        err = RD_KAFKA_RESP_ERR_NO_ERROR;
    }
    if (err)
        snprintf(out, cap, "error: %s\n", err == RD_KAFKA_RESP_ERR__INVALID_ARG ? "bad command" : rd_kafka_err2str(err));
    else
        snprintf(out, cap, "ok\n");
    logj("info", "control: %s => %.*s", line, (int)strcspn(out, "\n"), out);
}

/* Serves one client: one line in, one line out. Bounded by a 1 s wait. */
static void control_serve(int lfd, rd_kafka_mock_cluster_t *mc, int brokers) {
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    char line[128], answer[160];
    size_t len = 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (len < sizeof line - 1 && poll(&p, 1, 1000) == 1) {
        ssize_t r = read(fd, line + len, sizeof line - 1 - len);
        if (r <= 0)
            break;
        len += (size_t)r;
        if (memchr(line, '\n', len))
            break;
    }
    line[len] = 0;
    line[strcspn(line, "\r\n")] = 0;
    control_command(mc, brokers, line, answer, sizeof answer);
    if (write(fd, answer, strlen(answer)) < 0)
        logj("warn", "control: answer not sent: %s", strerror(errno));
    close(fd);
}

/* punyaka-devkafka ctl PATH COMMAND... */
static int control_client(int argc, char **argv) {
    if (argc < 4) {
        usage(stderr);
        return 2;
    }
    char line[128] = "";
    for (int i = 3; i < argc; i++) {
        size_t n = strlen(line);
        snprintf(line + n, sizeof line - n, "%s%s", i > 3 ? " " : "", argv[i]);
    }
    strncat(line, "\n", sizeof line - strlen(line) - 1);
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || unix_address(argv[2], &sa) != 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        write(fd, line, strlen(line)) < 0) {
        fprintf(stderr, "punyaka-devkafka ctl: %s: %s\n", argv[2], strerror(errno));
        if (fd >= 0)
            close(fd);
        return 1;
    }
    char answer[160];
    ssize_t n = read(fd, answer, sizeof answer - 1);
    close(fd);
    answer[n > 0 ? n : 0] = 0;
    fputs(answer, stdout);
    return strncmp(answer, "ok", 2) == 0 ? 0 : 1;
}

/* Until SIGTERM/SIGINT: serve the mock's own events and the control socket,
 * waking at least every 200 ms so the stop flag is seen. */
static void serve(rd_kafka_t *rk, rd_kafka_mock_cluster_t *mc, int brokers, int control_fd) {
    while (!g_stop) {
        if (control_fd < 0) {
            rd_kafka_poll(rk, 200);
            continue;
        }
        struct pollfd p = {.fd = control_fd, .events = POLLIN};
        if (poll(&p, 1, 200) == 1)
            control_serve(control_fd, mc, brokers);
        rd_kafka_poll(rk, 0);
    }
}

int main(int argc, char **argv) {
    const char *bootstrap_file = NULL, *control_path = NULL, *ports_file = NULL;

    if (argc > 1 && !strcmp(argv[1], "ctl"))
        return control_client(argc, argv);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--bootstrap-file") && i + 1 < argc) {
            bootstrap_file = argv[++i];
        } else if (!strncmp(argv[i], "--bootstrap-file=", 17) && argv[i][17]) {
            bootstrap_file = argv[i] + 17;
        } else if (!strcmp(argv[i], "--ports-file") && i + 1 < argc) {
            ports_file = argv[++i];
        } else if (!strcmp(argv[i], "--control") && i + 1 < argc) {
            control_path = argv[++i];
        } else {
            fprintf(stderr, "punyaka-devkafka: bad argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }

    int brokers;
    if (parse_brokers(&brokers) != 0) {
        logj("error", "PUNYAKA_DEVKAFKA_BROKERS must be an integer 1..%d", MAX_BROKERS);
        return 2;
    }
    const char *prefix = getenv("PUNYAKA_TOPIC_PREFIX");
    if (!prefix)
        prefix = "punyaka.";
    int replication = brokers < 3 ? brokers : 3;

    /* Signals before anything starts, so a SIGTERM that arrives during
     * start-up still leads to an orderly shutdown. No SA_RESTART: nothing
     * here blocks in a restartable call that matters. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* The mock cluster needs a client handle to live in; a producer with no
     * bootstrap.servers is enough (it never connects anywhere itself). */
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, on_rdkafka_log);
    if (rd_kafka_conf_set(conf, "client.id", "punyaka-devkafka", errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
        logj("error", "conf: %s", errstr);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        logj("error", "rd_kafka_new: %s", errstr);
        rd_kafka_conf_destroy(conf); /* not taken over on failure */
        return 1;
    }

    int rc = 1, control_fd = -1;
    rd_kafka_mock_cluster_t *mc = NULL;
    errno = 0;
    if (ports_file && load_ports(ports_file, brokers) != 0) {
        logj("error", "%s: cannot read the recorded broker ports (%s)", ports_file,
             errno ? strerror(errno) : "not 127.0.0.1:PORT,...");
        goto out;
    }
    g_ports_armed = 1;
    mc = rd_kafka_mock_cluster_new(rk, brokers);
    g_ports_armed = 0;
    if (!mc) {
        logj("error", "rd_kafka_mock_cluster_new(%d) failed", brokers);
        goto out;
    }
    if (g_ports_used != g_port_count) {   /* a librdkafka whose mock binds differently */
        logj("error", "%d of %d recorded ports were used: this librdkafka's mock cannot keep its ports",
             g_ports_used, g_port_count);
        goto out;
    }

    for (size_t i = 0; i < sizeof k_topics / sizeof k_topics[0]; i++) {
        char topic[256];
        int n = snprintf(topic, sizeof topic, "%s%s", prefix, k_topics[i].name);
        if (n < 0 || (size_t)n >= sizeof topic) {
            logj("error", "topic name too long with prefix '%s'", prefix);
            goto out;
        }
        rd_kafka_resp_err_t err =
            rd_kafka_mock_topic_create(mc, topic, k_topics[i].partitions, replication);
        if (err) {
            logj("error", "create topic %s: %s", topic, rd_kafka_err2str(err));
            goto out;
        }
        logj("info", "topic %s partitions=%d replication=%d", topic, k_topics[i].partitions,
             replication);
    }

    if (control_path && (control_fd = control_listen(control_path)) < 0) {
        logj("error", "control socket %s: %s", control_path, strerror(errno));
        goto out;
    }
    const char *boot = rd_kafka_mock_cluster_bootstraps(mc);
    /* Recorded before the bootstrap file appears, so whoever reads that
     * file can rely on the ports file too. */
    if (ports_file && g_port_count == 0 && write_atomic(ports_file, boot) != 0) {
        logj("error", "write %s: %s", ports_file, strerror(errno));
        goto out;
    }
    if (bootstrap_file && write_atomic(bootstrap_file, boot) != 0) {
        logj("error", "write %s: %s", bootstrap_file, strerror(errno));
        goto out;
    }
    /* Ports are 127.0.0.1:digits only, so no JSON escaping is needed. */
    printf("{\"bootstraps\":\"%s\"}\n", boot);
    fflush(stdout);
    logj("info",
         "mock Kafka up (librdkafka %s mock cluster, NOT for production): brokers=%d "
         "bootstraps=%s%s",
         rd_kafka_version_str(), brokers, boot, g_port_count ? " (recorded ports, empty cluster)" : "");

    serve(rk, mc, brokers, control_fd);

    logj("info", "stopping");
    rc = 0;
    if (bootstrap_file)
        unlink(bootstrap_file);

out:
    if (control_fd >= 0) {
        close(control_fd);
        unlink(control_path);
    }
    if (mc)
        rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    if (rc == 0)
        logj("info", "stopped");
    return rc;
}
