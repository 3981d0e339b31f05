/* it_worker_metrics.c — each worker's GET /metrics (workers/metrics.h) on
 * the port the stack wrote into its env file: the text is valid Prometheus
 * exposition (checked by a strict parser here, and by `promtool check
 * metrics` as well when it is installed), its command counters move by
 * exactly what the test sent, and the lag and connection gauges are there.
 * Also: a request id and traceparent sent in over HTTP appear in the API's
 * and the worker's log line of that command. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>
#include "common/mp.h"
#include "tests/support/commands.h"
#include "tests/support/db.h"
#include "tests/support/http.h"
#include "tests/support/stack_env.h"

#define HASH IT_PASSWORD_HASH
#define MAX_SERIES 512
#define WORKERS 2
#define PARTITIONS 18   /* accounts 3 + bookings 6 + orders 6 + catalog 3 */

static PGconn *db;
static char tag[16];

/* ---- a strict parser of the text format (0.0.4) ---- */

typedef struct {
    char series[256];   /* name{labels} exactly as written */
    double value;
} sample;

typedef struct {
    sample s[MAX_SERIES];
    int n;
} scrape;

static int name_char(int c, int first)
{
    return isalpha(c) || c == '_' || c == ':' || (!first && isdigit(c));
}

/* Parses `name` at p; returns the end or NULL. */
static const char *parse_name(const char *p, int allow_colon)
{
    if (!name_char((unsigned char)*p, 1) || (!allow_colon && *p == ':'))
        return NULL;
    for (p++; name_char((unsigned char)*p, 0) && (allow_colon || *p != ':'); p++)
        ;
    return p;
}

/* {a="x",b="y"}: label names, quoted values with \\ \" \n escapes only. */
static const char *parse_labels(const char *p)
{
    if (*p != '{')
        return p;
    for (p++; *p != '}';) {
        if (!(p = parse_name(p, 0)) || *p++ != '=' || *p++ != '"')
            return NULL;
        for (; *p != '"'; p++) {
            if (!*p || *p == '\n')
                return NULL;
            if (*p == '\\' && (p[1] == '\\' || p[1] == '"' || p[1] == 'n'))
                p++;
            else if (*p == '\\')
                return NULL;
        }
        p++;
        if (*p == ',')
            p++;
        else if (*p != '}')
            return NULL;
    }
    return p + 1;
}

static int known_type(const char *t)
{
    return !strcmp(t, "counter") || !strcmp(t, "gauge") || !strcmp(t, "histogram") || !strcmp(t, "summary") ||
           !strcmp(t, "untyped");
}

/* One comment line: HELP or TYPE (TYPE once per metric, before its samples). */
static void parse_comment(const char *line, char typed[][128], int *ntyped)
{
    char kind[8], name[128], rest[256] = "";
    if (sscanf(line, "# %7s %127s %255[^\n]", kind, name, rest) < 2)
        return;   /* a plain comment */
    if (strcmp(kind, "TYPE") == 0) {
        if (!known_type(rest))
            fail_msg("bad TYPE: %s", line);
        for (int i = 0; i < *ntyped; i++)
            if (strcmp(typed[i], name) == 0)
                fail_msg("TYPE twice: %s", line);
        snprintf(typed[(*ntyped)++], 128, "%s", name);
        if (strcmp(rest, "counter") == 0 && strlen(name) > 6 && strcmp(name + strlen(name) - 6, "_total") != 0)
            fail_msg("counter without _total: %s", name);
    } else if (strcmp(kind, "HELP") != 0) {
        fail_msg("unknown comment: %s", line);
    }
}

static void parse_sample(const char *line, scrape *out, char typed[][128], int ntyped)
{
    const char *end = parse_name(line, 1);
    if (!end)
        fail_msg("bad metric name: %s", line);
    int declared = 0;
    for (int i = 0; i < ntyped; i++)
        declared |= strlen(typed[i]) == (size_t)(end - line) && strncmp(typed[i], line, (size_t)(end - line)) == 0;
    if (!declared)
        fail_msg("sample before its TYPE: %s", line);
    const char *after = parse_labels(end);
    if (!after || *after != ' ')
        fail_msg("bad labels: %s", line);
    char *stop;
    double v = strtod(after + 1, &stop);
    if (stop == after + 1 || (*stop && *stop != ' ') || isnan(v))
        fail_msg("bad value: %s", line);
    sample *s = &out->s[out->n];
    snprintf(s->series, sizeof(s->series), "%.*s", (int)(after - line), line);
    for (int i = 0; i < out->n; i++)
        if (strcmp(out->s[i].series, s->series) == 0)
            fail_msg("series twice: %s", s->series);
    s->value = v;
    assert_true(++out->n < MAX_SERIES);
}

static void parse_exposition(const char *text, scrape *out)
{
    static char typed[MAX_SERIES][128];
    int ntyped = 0;
    out->n = 0;
    assert_true(*text && text[strlen(text) - 1] == '\n');
    for (const char *line = text; *line;) {
        const char *nl = strchr(line, '\n');
        char buf[512];
        snprintf(buf, sizeof(buf), "%.*s", (int)(nl - line), line);
        if (buf[0] == '#')
            parse_comment(buf, typed, &ntyped);
        else if (buf[0])
            parse_sample(buf, out, typed, ntyped);
        line = nl + 1;
    }
}

/* promtool, when Debian's prometheus package happens to be installed. */
static void promtool_check(const char *text)
{
    if (system("command -v promtool >/dev/null 2>&1") != 0)
        return;
    FILE *p = popen("promtool check metrics >/dev/null 2>&1", "w");
    fputs(text, p);
    assert_int_equal(pclose(p), 0);
}

/* ---- scraping ---- */

static void get_metrics(int worker, scrape *out)
{
    char var[64], saved[16];
    snprintf(var, sizeof(var), "PUNYAKA_WORKER_%d_METRICS_PORT", worker);
    snprintf(saved, sizeof(saved), "%s", it_env("PUNYAKA_HTTP_PORT"));
    setenv("PUNYAKA_HTTP_PORT", it_env(var), 1);   /* it_http talks to the worker now */
    it_response r = it_http("GET", "/metrics", NULL, NULL, 0);
    setenv("PUNYAKA_HTTP_PORT", saved, 1);
    assert_int_equal(r.status, 200);
    char ctype[96];
    assert_non_null(it_header(&r, "content-type", ctype, sizeof(ctype)));
    assert_non_null(strstr(ctype, "text/plain; version=0.0.4"));
    parse_exposition(r.body, out);
    promtool_check(r.body);
    it_response_free(&r);
}

static double value(const scrape *s, const char *series)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->s[i].series, series) == 0)
            return s->s[i].value;
    return -1;
}

/* Sum over both workers of one series. */
static double total(const char *series)
{
    double sum = 0;
    for (int w = 1; w <= WORKERS; w++) {
        scrape s;
        get_metrics(w, &s);
        double v = value(&s, series);
        if (v < 0)
            fail_msg("worker %d has no %s", w, series);
        sum += v;
    }
    return sum;
}

#define APPLIED "punyaka_worker_commands_total{type=\"user.register\",outcome=\"applied\"}"
#define REJECTED "punyaka_worker_commands_total{type=\"user.register\",outcome=\"rejected\"}"
#define UNDECODABLE "punyaka_worker_commands_total{type=\"(undecodable)\",outcome=\"dead_lettered\"}"
#define PUBLISHED "punyaka_worker_events_published_total"

static void send_registration(const char *username, char id[PK_UUID_STR_LEN + 1])
{
    it_payload pl;
    it_customer_registration(&pl, username, HASH);
    assert_int_equal(it_send_command("user.register", "accounts", username, 0, "", &pl, NULL, 0, id), 0);
    it_payload_free(&pl);
}

static void wait_applied_or_rejected(const char *id)
{
    it_outcome o = it_wait_outcome(db, id, 20000);
    assert_true(o.status[0] != 0);
    it_outcome_free(&o);
}

static void test_counters_match_what_was_sent(void **state)
{
    (void)state;
    double applied = total(APPLIED), rejected = total(REJECTED), dead = total(UNDECODABLE);
    double published = total(PUBLISHED);
    char ids[16][PK_UUID_STR_LEN + 1], name[64];
    for (int i = 0; i < 12; i++) {
        snprintf(name, sizeof(name), "met%s_%d", tag, i);
        send_registration(name, ids[i]);
    }
    for (int i = 12; i < 16; i++) {   /* taken usernames: rejected */
        snprintf(name, sizeof(name), "met%s_%d", tag, i - 12);
        send_registration(name, ids[i]);
    }
    for (int i = 0; i < 3; i++)
        assert_int_equal(it_kafka_produce("accounts", "garbage", "\xc1not msgpack", 12), 0);
    for (int i = 0; i < 16; i++)
        wait_applied_or_rejected(ids[i]);
    /* Counters are bumped right after the commit; give the dead letters a moment. */
    for (int i = 0; i < 100 && total(UNDECODABLE) < dead + 3; i++)
        usleep(50 * 1000);
    assert_int_equal((long long)(total(APPLIED) - applied), 12);
    assert_int_equal((long long)(total(REJECTED) - rejected), 4);
    assert_int_equal((long long)(total(UNDECODABLE) - dead), 3);
    for (int i = 0; i < 100 && total(PUBLISHED) < published + 16; i++)
        usleep(50 * 1000);
    assert_true(total(PUBLISHED) - published >= 16);
}

static int count_prefix(const scrape *s, const char *prefix, double *sum)
{
    int n = 0;
    for (int i = 0; i < s->n; i++)
        if (strncmp(s->s[i].series, prefix, strlen(prefix)) == 0) {
            n++;
            *sum += s->s[i].value;
        }
    return n;
}

static void test_lag_and_connection_gauges(void **state)
{
    (void)state;
    int partitions = 0;
    double lag = 0;
    /* Every partition is assigned to exactly one worker; a partition shows
     * once the worker has its watermarks, so allow a few scrapes. */
    for (int attempt = 0; attempt < 50 && partitions != PARTITIONS; attempt++) {
        partitions = 0;
        lag = 0;
        for (int w = 1; w <= WORKERS; w++) {
            scrape s;
            get_metrics(w, &s);
            assert_int_equal((int)value(&s, "punyaka_worker_postgres_up"), 1);
            assert_int_equal((int)value(&s, "punyaka_worker_redis_up"), 1);
            partitions += count_prefix(&s, "punyaka_worker_consumer_lag{topic=\"punyaka.", &lag);
        }
        if (partitions != PARTITIONS)
            usleep(100 * 1000);
    }
    assert_int_equal(partitions, PARTITIONS);
    assert_true(lag >= 0);
}

static void test_unknown_path_and_method(void **state)
{
    (void)state;
    char saved[16];
    snprintf(saved, sizeof(saved), "%s", it_env("PUNYAKA_HTTP_PORT"));
    setenv("PUNYAKA_HTTP_PORT", it_env("PUNYAKA_WORKER_1_METRICS_PORT"), 1);
    it_response r = it_http("GET", "/nothing", NULL, NULL, 0);
    assert_int_equal(r.status, 404);
    it_response_free(&r);
    r = it_http("POST", "/metrics", NULL, "x", 1);
    assert_int_equal(r.status, 405);
    it_response_free(&r);
    setenv("PUNYAKA_HTTP_PORT", saved, 1);
}

/* ---- logs ---- */

/* 1 when a line of the log file contains every needle. */
static int log_has_line(const char *file, const char *a, const char *b)
{
    char path[4096], line[16384];
    snprintf(path, sizeof(path), "%s/logs/%s", it_env("PUNYAKA_STACK_DIR"), file);
    FILE *f = fopen(path, "r");
    int found = 0;
    while (f && !found && fgets(line, sizeof(line), f))
        found = strstr(line, a) && (!b || strstr(line, b));
    if (f)
        fclose(f);
    return found;
}

static void test_request_id_and_trace_in_api_and_worker_logs(void **state)
{
    (void)state;
    char rid[64], trace[33], headers[256], body[512], want_rid[96], want_trace[64];
    unsigned char raw[16];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(trace, sizeof(trace), raw, sizeof(raw));
    snprintf(rid, sizeof(rid), "it-obs-%s", tag);
    snprintf(headers, sizeof(headers), "X-Request-Id: %s\r\ntraceparent: 00-%s-00f067aa0ba902b7-01\r\n", rid, trace);
    snprintf(body, sizeof(body),
             "{\"username\":\"obs%s\",\"email\":\"obs%s@example.com\",\"password\":\"correct-horse-1\","
             "\"password_confirm\":\"correct-horse-1\",\"role\":\"customer\"}",
             tag, tag);
    it_response r = it_post_json("/api/auth/register/", body, headers);
    assert_int_equal(r.status, 201);
    it_response_free(&r);
    snprintf(want_rid, sizeof(want_rid), "\"request_id\":\"%s\"", rid);
    snprintf(want_trace, sizeof(want_trace), "\"trace_id\":\"%s\"", trace);
    int api = 0, worker = 0;
    for (int i = 0; i < 100 && !(api && worker); i++) {
        api = log_has_line("api.log", want_rid, "user.register");
        worker = log_has_line("worker-1.log", want_rid, want_trace) || log_has_line("worker-2.log", want_rid, want_trace);
        if (!(api && worker))
            usleep(50 * 1000);
    }
    assert_true(api);
    assert_true(worker);
}

int main(void)
{
    if (it_start(tag, sizeof(tag)) != 0)
        return 1;
    db = it_db();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counters_match_what_was_sent),
        cmocka_unit_test(test_lag_and_connection_gauges),
        cmocka_unit_test(test_unknown_path_and_method),
        cmocka_unit_test(test_request_id_and_trace_in_api_and_worker_logs),
    };
    int failed = cmocka_run_group_tests_name("worker_metrics", tests, NULL, NULL);
    PQfinish(db);
    return failed;
}
