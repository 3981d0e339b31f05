/* test_log.c — every log line is one valid JSON object, whatever the message. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "common/log.h"

/* stderr is pointed at a temporary file for the duration of a capture. */
typedef struct {
    int saved_fd;
    int file_fd;
} capture;

static void capture_start(capture *c)
{
    char path[] = "/tmp/punyaka-test-log-XXXXXX";
    c->file_fd = mkstemp(path);
    assert_true(c->file_fd >= 0);
    unlink(path);
    assert_int_equal(fcntl(c->file_fd, F_SETFL, O_APPEND), 0);
    fflush(stderr);
    c->saved_fd = dup(STDERR_FILENO);
    assert_true(c->saved_fd >= 0);
    assert_true(dup2(c->file_fd, STDERR_FILENO) >= 0);
}

/* Restores stderr and returns everything written meanwhile (malloc'd). */
static char *capture_end(capture *c)
{
    dup2(c->saved_fd, STDERR_FILENO);
    close(c->saved_fd);
    off_t size = lseek(c->file_fd, 0, SEEK_END);
    assert_true(size >= 0);
    char *text = malloc((size_t)size + 1);
    assert_non_null(text);
    assert_int_equal(pread(c->file_fd, text, (size_t)size, 0), size);
    text[size] = '\0';
    close(c->file_fd);
    return text;
}

static size_t count_lines(const char *text)
{
    size_t n = 0;
    for (const char *p = text; *p; p++)
        n += *p == '\n';
    return n;
}

/* Parses one line (must be the whole text) as a JSON object. */
static json_t *parse_line(const char *text)
{
    json_error_t je;
    size_t len = strlen(text);
    assert_true(len > 0 && text[len - 1] == '\n');
    assert_int_equal(count_lines(text), 1);
    json_t *j = json_loadb(text, len - 1, JSON_REJECT_DUPLICATES, &je);
    if (!j)
        fail_msg("not JSON (%s): %s", je.text, text);
    assert_true(json_is_object(j));
    return j;
}

static json_t *log_one(pk_log_level level, const char *rid, const char *msg)
{
    capture c;
    capture_start(&c);
    pk_log(level, rid, "%s", msg);
    char *text = capture_end(&c);
    json_t *j = parse_line(text);
    free(text);
    return j;
}

static const char *member(json_t *j, const char *key)
{
    json_t *v = json_object_get(j, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int setup(void **state)
{
    (void)state;
    unsetenv("PUNYAKA_LOG_LEVEL");
    pk_log_init("test");
    return 0;
}

static void test_fields(void **state)
{
    (void)state;
    json_t *j = log_one(PK_LOG_INFO, "req-1", "hello");
    assert_string_equal(member(j, "level"), "info");
    assert_string_equal(member(j, "proc"), "test");
    assert_string_equal(member(j, "request_id"), "req-1");
    assert_string_equal(member(j, "msg"), "hello");
    const char *ts = member(j, "ts");
    assert_non_null(ts);
    /* 2026-11-25T18:11:37.123Z */
    assert_int_equal(strlen(ts), 24);
    assert_true(ts[4] == '-' && ts[7] == '-' && ts[10] == 'T' && ts[13] == ':' && ts[16] == ':' &&
                ts[19] == '.' && ts[23] == 'Z');
    assert_null(json_object_get(j, "truncated"));
    json_decref(j);
}

static void test_request_id_omitted(void **state)
{
    (void)state;
    json_t *j = log_one(PK_LOG_ERROR, NULL, "x");
    assert_null(json_object_get(j, "request_id"));
    assert_string_equal(member(j, "level"), "error");
    json_decref(j);
    j = log_one(PK_LOG_WARN, "", "x");
    assert_null(json_object_get(j, "request_id"));
    json_decref(j);
}

/* A thread's context fills in a missing request id and adds the trace id;
 * an explicit request id still wins; clearing removes both. */
static void test_context(void **state)
{
    (void)state;
    pk_log_context("cmd-req", "4bf92f3577b34da6a3ce929d0e0e4736");
    json_t *j = log_one(PK_LOG_INFO, NULL, "x");
    assert_string_equal(member(j, "request_id"), "cmd-req");
    assert_string_equal(member(j, "trace_id"), "4bf92f3577b34da6a3ce929d0e0e4736");
    json_decref(j);
    j = log_one(PK_LOG_INFO, "explicit", "x");
    assert_string_equal(member(j, "request_id"), "explicit");
    assert_string_equal(member(j, "trace_id"), "4bf92f3577b34da6a3ce929d0e0e4736");
    json_decref(j);
    pk_log_context(NULL, NULL);
    j = log_one(PK_LOG_INFO, NULL, "x");
    assert_null(json_object_get(j, "request_id"));
    assert_null(json_object_get(j, "trace_id"));
    json_decref(j);
}

static void test_escaping(void **state)
{
    (void)state;
    json_t *j = log_one(PK_LOG_INFO, "r\"1", "q\"b\\s\nn\tt\rr\x01\x1f\x7f पूजा ₹");
    assert_string_equal(member(j, "msg"), "q\"b\\s\nn\tt\rr\x01\x1f\x7f पूजा ₹");
    assert_string_equal(member(j, "request_id"), "r\"1");
    json_decref(j);
}

/* Each invalid byte becomes one U+FFFD; valid neighbours are kept. */
static void test_invalid_utf8_replaced(void **state)
{
    (void)state;
    const struct { const char *in, *out; } cases[] = {
        {"a\xff" "b", "a\xef\xbf\xbd" "b"},
        {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},                    /* overlong */
        {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},    /* surrogate */
        {"\xe2\x82", "\xef\xbf\xbd\xef\xbf\xbd"},                    /* cut short */
        {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},   /* > U+10FFFF */
        {"\x80z", "\xef\xbf\xbdz"},                                  /* stray continuation */
        {"\xf0\x9f\x99\x8f", "\xf0\x9f\x99\x8f"},                    /* valid 4-byte */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *j = log_one(PK_LOG_INFO, NULL, cases[i].in);
        assert_string_equal(member(j, "msg"), cases[i].out);
        json_decref(j);
    }
}

static void test_threshold(void **state)
{
    (void)state;
    capture c;
    setenv("PUNYAKA_LOG_LEVEL", "warn", 1);
    pk_log_init("test");
    capture_start(&c);
    pk_debug(NULL, "hidden");
    pk_info(NULL, "hidden");
    pk_warn(NULL, "shown");
    pk_error(NULL, "shown");
    char *text = capture_end(&c);
    assert_int_equal(count_lines(text), 2);
    assert_null(strstr(text, "hidden"));
    free(text);

    setenv("PUNYAKA_LOG_LEVEL", "DEBUG", 1);
    pk_log_init("test");
    capture_start(&c);
    pk_debug(NULL, "shown");
    text = capture_end(&c);
    assert_int_equal(count_lines(text), 1);
    free(text);
    setup(state);
}

/* Oversized input still yields exactly one valid line, marked truncated. */
static void assert_truncated_line(const char *rid, const char *msg)
{
    capture c;
    capture_start(&c);
    pk_log(PK_LOG_INFO, rid, "%s", msg);
    char *text = capture_end(&c);
    assert_true(strlen(text) <= 8192);
    json_t *j = parse_line(text);
    assert_true(json_is_true(json_object_get(j, "truncated")));
    json_decref(j);
    free(text);
}

static void test_long_messages(void **state)
{
    (void)state;
    static char big[20000];
    memset(big, 'x', sizeof(big) - 1);
    assert_truncated_line("r", big);                   /* longer than the format buffer */
    memset(big, '\xff', 4000);                         /* 4000 bytes, 24000 escaped */
    big[4000] = '\0';
    assert_truncated_line("r", big);
    memset(big, '"', 4095);                            /* fits the format buffer, not the line */
    big[4095] = '\0';
    assert_truncated_line(NULL, big);
    memset(big, 'r', 10000);                           /* a huge request id */
    big[10000] = '\0';
    assert_truncated_line(big, "msg");
}

#define THREADS 4
#define LINES_PER_THREAD 300

static void *log_many(void *arg)
{
    for (int i = 0; i < LINES_PER_THREAD; i++)
        pk_info("thread", "thread %ld line %d %s", (long)(intptr_t)arg, i,
                "padding padding padding padding padding padding padding padding");
    return NULL;
}

/* Lines written concurrently never interleave. */
static void test_threads_do_not_interleave(void **state)
{
    (void)state;
    capture c;
    pthread_t t[THREADS];
    capture_start(&c);
    for (intptr_t i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, log_many, (void *)i), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    char *text = capture_end(&c);
    assert_int_equal(count_lines(text), THREADS * LINES_PER_THREAD);
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_error_t je;
        json_t *j = json_loads(line, JSON_REJECT_DUPLICATES, &je);
        if (!j)
            fail_msg("interleaved or broken line: %s", line);
        json_decref(j);
    }
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_fields, setup),
        cmocka_unit_test_setup(test_request_id_omitted, setup),
        cmocka_unit_test_setup(test_context, setup),
        cmocka_unit_test_setup(test_escaping, setup),
        cmocka_unit_test_setup(test_invalid_utf8_replaced, setup),
        cmocka_unit_test_setup(test_threshold, setup),
        cmocka_unit_test_setup(test_long_messages, setup),
        cmocka_unit_test_setup(test_threads_do_not_interleave, setup),
    };
    return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
