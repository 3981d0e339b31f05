/* test_process_metrics — the process_* metrics read this very process:
 * every name is there once with a sample, the resident memory is plausible,
 * and an opened file shows in process_open_fds. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/process_metrics.h"

static double sample(const char *text, const char *name)
{
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "\n%s ", name);
    const char *p = strstr(text, prefix);
    if (!p)
        fail_msg("no sample of %s in:\n%s", name, text);
    return strtod(p + strlen(prefix), NULL);
}

static void test_every_metric_has_a_sample(void **state)
{
    (void)state;
    char text[1536];
    assert_true(pk_process_metrics(text, sizeof(text)) > 0);
    assert_true(sample(text, "process_resident_memory_bytes") > 64 * 1024);
    assert_true(sample(text, "process_virtual_memory_bytes") >= sample(text, "process_resident_memory_bytes"));
    assert_true(sample(text, "process_cpu_seconds_total") >= 0);
    assert_true(sample(text, "process_max_fds") > 0);
    assert_true(sample(text, "process_start_time_seconds") > 1.6e9);   /* after 2020 */
    assert_non_null(strstr(text, "# TYPE process_cpu_seconds_total counter\n"));
}

static void test_open_fds_follow_the_process(void **state)
{
    (void)state;
    char before[1536], after[1536];
    assert_true(pk_process_metrics(before, sizeof(before)) > 0);
    int fd = open("/dev/null", O_RDONLY);
    assert_true(fd >= 0);
    assert_true(pk_process_metrics(after, sizeof(after)) > 0);
    close(fd);
    assert_int_equal((long)sample(after, "process_open_fds"), (long)sample(before, "process_open_fds") + 1);
}

static void test_a_small_buffer_gives_nothing(void **state)
{
    (void)state;
    char tiny[64] = "x";
    assert_int_equal(pk_process_metrics(tiny, sizeof(tiny)), 0);
    assert_string_equal(tiny, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_metric_has_a_sample),
        cmocka_unit_test(test_open_fds_follow_the_process),
        cmocka_unit_test(test_a_small_buffer_gives_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
