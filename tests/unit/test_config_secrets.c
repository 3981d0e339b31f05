/* test_config_secrets.c — secrets as files (issue 15): NAME_FILE gives NAME
 * its value, trailing newline trimmed; NAME and NAME_FILE together, a missing
 * file, an oversize file or one holding a NUL byte stop start-up with a
 * message naming the variable; pk_config_load applies it to every secret. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"

#define NAME "PUNYAKA_SESSION_KEY"
#define NAME_FILE NAME "_FILE"

static char dir[64];
static char path[128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/punyaka-secrets.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof(path), "%s/secret", dir);
    unsetenv(NAME);
    unsetenv(NAME_FILE);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    rmdir(dir);
    unsetenv(NAME);
    unsetenv(NAME_FILE);
    unsetenv("DATABASE_URL_FILE");
    unsetenv("DATABASE_URL");
    return 0;
}

static void write_file(const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void test_env_only_is_left_alone(void **state)
{
    (void)state;
    char err[256] = "";
    setenv(NAME, "from-env", 1);
    assert_int_equal(pk_secret_file_load(NAME, err, sizeof(err)), 0);
    assert_string_equal(getenv(NAME), "from-env");
    assert_string_equal(err, "");
}

static void test_file_only_sets_the_variable(void **state)
{
    (void)state;
    char err[256];
    write_file("s3cret-value", 12);   /* no newline at all */
    setenv(NAME_FILE, path, 1);
    assert_int_equal(pk_secret_file_load(NAME, err, sizeof(err)), 0);
    assert_string_equal(getenv(NAME), "s3cret-value");
    /* Consumed: a second load (or a child process) does not see both. */
    assert_null(getenv(NAME_FILE));
    assert_int_equal(pk_secret_file_load(NAME, err, sizeof(err)), 0);
    assert_string_equal(getenv(NAME), "s3cret-value");
}

static void test_trailing_newlines_trimmed_inner_kept(void **state)
{
    (void)state;
    char err[256];
    write_file("pass word\nline2\r\n\n", 18);
    setenv(NAME_FILE, path, 1);
    assert_int_equal(pk_secret_file_load(NAME, err, sizeof(err)), 0);
    assert_string_equal(getenv(NAME), "pass word\nline2");
}

static void test_empty_name_with_file_reads_file(void **state)
{
    (void)state;
    char err[256];
    /* compose's "${X:-}" sets an empty variable: that is "not given". */
    setenv(NAME, "", 1);
    write_file("abc\n", 4);
    setenv(NAME_FILE, path, 1);
    assert_int_equal(pk_secret_file_load(NAME, err, sizeof(err)), 0);
    assert_string_equal(getenv(NAME), "abc");
}

static void test_both_set_is_refused(void **state)
{
    (void)state;
    char err[256] = "";
    write_file("from-file", 9);
    setenv(NAME, "from-env", 1);
    setenv(NAME_FILE, path, 1);
    assert_int_equal(pk_secret_file_load(NAME, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "both " NAME " and " NAME_FILE));
    assert_string_equal(getenv(NAME), "from-env");   /* nothing changed */
}

static void test_missing_file_is_refused(void **state)
{
    (void)state;
    char err[256] = "";
    setenv(NAME_FILE, "/nonexistent/punyaka/secret", 1);
    assert_int_equal(pk_secret_file_load(NAME, err, sizeof(err)), -1);
    assert_non_null(strstr(err, NAME_FILE "=/nonexistent/punyaka/secret"));
    assert_non_null(strstr(err, "No such file"));
    assert_null(getenv(NAME));
}

static void test_directory_is_refused(void **state)
{
    (void)state;
    char err[256] = "";
    setenv(NAME_FILE, dir, 1);   /* fopen succeeds on a directory, reading fails */
    assert_int_equal(pk_secret_file_load(NAME, err, sizeof(err)), -1);
    assert_non_null(strstr(err, NAME_FILE));
    assert_null(getenv(NAME));
}

static void test_size_bound(void **state)
{
    (void)state;
    char err[256] = "";
    static char big[PK_SECRET_FILE_MAX + 1];
    memset(big, 'k', sizeof(big));
    write_file(big, PK_SECRET_FILE_MAX);   /* exactly the bound: accepted */
    setenv(NAME_FILE, path, 1);
    assert_int_equal(pk_secret_file_load(NAME, err, sizeof(err)), 0);
    assert_int_equal(strlen(getenv(NAME)), PK_SECRET_FILE_MAX);
    unsetenv(NAME);
    write_file(big, PK_SECRET_FILE_MAX + 1);   /* one byte more: refused */
    setenv(NAME_FILE, path, 1);
    assert_int_equal(pk_secret_file_load(NAME, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "larger than 4096 bytes"));
    assert_null(getenv(NAME));
}

static void test_nul_byte_is_refused(void **state)
{
    (void)state;
    char err[256] = "";
    write_file("abc\0def", 7);   /* the environment would silently cut it at "abc" */
    setenv(NAME_FILE, path, 1);
    assert_int_equal(pk_secret_file_load(NAME, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "NUL"));
    assert_null(getenv(NAME));
}

static void test_config_load_reads_secret_files(void **state)
{
    (void)state;
    pk_config cfg;
    char err[256] = "";
    write_file("host=db user=u password=p\n", 26);
    setenv("DATABASE_URL_FILE", path, 1);
    assert_int_equal(pk_config_load(&cfg, err, sizeof(err)), 0);
    assert_string_equal(cfg.database_url, "host=db user=u password=p");
    /* …and refuses to start when one is given twice. */
    setenv("DATABASE_URL_FILE", path, 1);
    assert_int_equal(pk_config_load(&cfg, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "both DATABASE_URL and DATABASE_URL_FILE"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_env_only_is_left_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_only_sets_the_variable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trailing_newlines_trimmed_inner_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_name_with_file_reads_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_both_set_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_file_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directory_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nul_byte_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_load_reads_secret_files, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
