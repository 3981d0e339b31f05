/* test_redis_url.c — REDIS_URL with credentials (issue 13): what AUTH is
 * sent with, percent-decoding, and the URLs that are refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "common/config.h"

static void expect(const char *url, const char *host, int port, const char *user, const char *password)
{
    pk_redis_addr a;
    if (pk_redis_addr_parse(url, &a) != 0)
        fail_msg("%s was refused", url);
    assert_string_equal(a.host, host);
    assert_int_equal(a.port, port);
    assert_string_equal(a.user, user);
    assert_string_equal(a.password, password);
}

static void test_without_credentials(void **state)
{
    (void)state;
    expect("redis://127.0.0.1:6380", "127.0.0.1", 6380, "", "");
    expect("redis://redis", "redis", 6379, "", "");
    expect("127.0.0.1:7000/2", "127.0.0.1", 7000, "", "");
}

static void test_with_credentials(void **state)
{
    (void)state;
    expect("redis://:s3cret@127.0.0.1:6380", "127.0.0.1", 6380, "", "s3cret");        /* requirepass */
    expect("redis://default:s3cret@127.0.0.1:6380", "127.0.0.1", 6380, "default", "s3cret");
    expect("redis://api:p%40ss%3Aword@redis:6379/0", "redis", 6379, "api", "p@ss:word");   /* ACL user, encoded */
    expect("redis://pw@with@at@h:1", "h", 1, "", "pw@with@at");                        /* last '@' ends it */
    expect("redis://onlypass@h:2", "h", 2, "", "onlypass");                            /* as redis-cli -u reads it */
}

static void test_refused(void **state)
{
    (void)state;
    pk_redis_addr a;
    assert_int_equal(pk_redis_addr_parse("redis://u:p@:6379", &a), -1);     /* no host */
    assert_int_equal(pk_redis_addr_parse("redis://u:p%zz@h:1", &a), -1);    /* bad escape */
    assert_int_equal(pk_redis_addr_parse("redis://u:p%4@h:1", &a), -1);     /* truncated escape */
    assert_int_equal(pk_redis_addr_parse("redis://u:p%00@h:1", &a), -1);    /* NUL */
    assert_int_equal(pk_redis_addr_parse("redis://h:0", &a), -1);
    assert_int_equal(pk_redis_addr_parse("redis://h:70000", &a), -1);
    char big[600] = "redis://u:";
    memset(big + strlen(big), 'x', 400);
    strcat(big, "@h:1");
    assert_int_equal(pk_redis_addr_parse(big, &a), -1);                    /* password too long */
}

/* The old entry point still answers host and port, whatever the credentials. */
static void test_host_port_only(void **state)
{
    (void)state;
    char host[64];
    int port = 0;
    assert_int_equal(pk_parse_redis_url("redis://:pw@10.0.0.5:6390", host, sizeof(host), &port), 0);
    assert_string_equal(host, "10.0.0.5");
    assert_int_equal(port, 6390);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_without_credentials),
        cmocka_unit_test(test_with_credentials),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_host_port_only),
    };
    return cmocka_run_group_tests_name("redis_url", tests, NULL, NULL);
}
