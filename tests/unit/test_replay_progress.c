/* test_replay_progress.c — punyaka-replay's progress (workers/replay/
 * progress.c, compiled in here: it belongs to no library): on a terminal a
 * bar with rate and ETA, redrawn in place; into a file one plain line every
 * few seconds; nothing for a phase shorter than a second. Times are given,
 * not read from the clock. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "workers/replay/progress.c"

/* A phase of 1000 items started at t = 100 s, on a terminal or not. */
static rp_progress phase(bool tty)
{
    rp_progress p;
    rp_progress_start(&p, "applying", 1000, true);
    p.started = p.last_print = 100.0;
    p.tty = tty;
    return p;
}

static void test_bar_on_a_terminal(void **state)
{
    (void)state;
    rp_progress p = phase(true);
    p.done = 500;
    char line[256];
    rp_progress_format(&p, 102.0, false, line, sizeof(line));
    assert_string_equal(line, "punyaka-replay: applying [###############...............] 500/1000 50%, 250/s, ETA 2.0 s");
    p.done = 1000;
    rp_progress_format(&p, 104.0, true, line, sizeof(line));
    assert_string_equal(line, "punyaka-replay: applying [##############################] 1000/1000 100%, 250/s, 4.0 s");
}

static void test_plain_line_into_a_file(void **state)
{
    (void)state;
    rp_progress p = phase(false);
    p.done = 100;
    char line[256];
    rp_progress_format(&p, 110.0, false, line, sizeof(line));
    assert_string_equal(line, "punyaka-replay: applying 100/1000 (10%), 10/s, ETA 1m30s");
    p.total = 0;   /* unknown */
    rp_progress_format(&p, 110.0, false, line, sizeof(line));
    assert_string_equal(line, "punyaka-replay: applying 100, 10/s");
    p.total = 1000000;
    p.done = 1000;
    rp_progress_format(&p, 110.0, false, line, sizeof(line));
    assert_string_equal(line, "punyaka-replay: applying 1000/1000000 (0%), 100/s, ETA 2h46m");
}

/* stderr into a temporary file while `ticks` run; what was written. */
static char *written(rp_progress *p, const double *at, size_t n, bool end)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fileno(f), STDERR_FILENO);
    for (size_t i = 0; i < n; i++)
        rp_progress_tick_at(p, (int64_t)(i + 1) * 10, at[i]);
    if (end)
        rp_progress_end(p);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    long len = ftell(f);
    rewind(f);
    char *s = calloc(1, (size_t)len + 1);
    assert_int_equal(fread(s, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    return s;
}

static int count(const char *s, const char *what)
{
    int n = 0;
    for (const char *q = s; (q = strstr(q, what)); q += strlen(what))
        n++;
    return n;
}

static void test_cadence(void **state)
{
    (void)state;
    const double quick[] = {100.2, 100.5, 100.9};
    rp_progress p = phase(false);
    char *s = written(&p, quick, 3, true);
    assert_string_equal(s, "");   /* ended within its first second */
    free(s);

    /* Into a file: at 1 s, then every 5 s, then the final line. */
    const double slow[] = {101.0, 101.5, 103.0, 105.9, 106.1, 108.0, 111.2};
    p = phase(false);
    s = written(&p, slow, 7, false);
    assert_int_equal(count(s, "\n"), 3);
    assert_int_equal(count(s, "\r"), 0);
    assert_non_null(strstr(s, "punyaka-replay: applying 10/1000 (1%)"));
    assert_non_null(strstr(s, "punyaka-replay: applying 50/1000 (5%)"));
    assert_non_null(strstr(s, "punyaka-replay: applying 70/1000 (7%)"));
    free(s);

    /* On a terminal: redrawn in place at most every 0.25 s, one newline at the end. */
    const double tty[] = {101.0, 101.1, 101.3, 101.4, 101.6};
    p = phase(true);
    s = written(&p, tty, 5, true);
    assert_int_equal(count(s, "\r\033[K"), 4);   /* 101.0, 101.3, 101.6, the end */
    assert_int_equal(count(s, "\n"), 1);
    assert_non_null(strstr(s, "\r\033[Kpunyaka-replay: applying [#"));
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bar_on_a_terminal),
        cmocka_unit_test(test_plain_line_into_a_file),
        cmocka_unit_test(test_cadence),
    };
    return cmocka_run_group_tests_name("replay_progress", tests, NULL, NULL);
}
