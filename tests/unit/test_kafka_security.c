/* test_kafka_security.c — every Kafka client takes its security settings
 * from the environment (common/kafka_util.h, issue 13). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/kafka_util.h"

static const char *VARS[] = {"KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_MECHANISM", "KAFKA_SASL_USERNAME",
                             "KAFKA_SASL_PASSWORD", "KAFKA_SSL_CA_LOCATION"};

static int clean_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(VARS) / sizeof(VARS[0]); i++)
        unsetenv(VARS[i]);
    return 0;
}

static void expect_setting(rd_kafka_conf_t *c, const char *name, const char *want)
{
    char v[256];
    size_t n = sizeof(v);
    assert_int_equal(rd_kafka_conf_get(c, name, v, &n), RD_KAFKA_CONF_OK);
    assert_string_equal(v, want);
}

static void test_unset_means_librdkafka_defaults(void **state)
{
    (void)state;
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    char err[256];
    assert_int_equal(pk_kafka_conf_security(c, err, sizeof(err)), 0);
    expect_setting(c, "security.protocol", "plaintext");
    rd_kafka_conf_destroy(c);
}

static void test_sasl_scram_from_the_environment(void **state)
{
    (void)state;
    setenv("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT", 1);
    setenv("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512", 1);
    setenv("KAFKA_SASL_USERNAME", "punyaka-worker", 1);
    setenv("KAFKA_SASL_PASSWORD", "s3cret-not-logged", 1);
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    char err[256];
    assert_int_equal(pk_kafka_conf_security(c, err, sizeof(err)), 0);
    expect_setting(c, "security.protocol", "sasl_plaintext");
    expect_setting(c, "sasl.mechanisms", "SCRAM-SHA-512");
    expect_setting(c, "sasl.username", "punyaka-worker");
    expect_setting(c, "sasl.password", "s3cret-not-logged");
    rd_kafka_conf_destroy(c);
}

static void test_a_bad_value_names_its_variable(void **state)
{
    (void)state;
    setenv("KAFKA_SECURITY_PROTOCOL", "carrier_pigeon", 1);
    setenv("KAFKA_SASL_PASSWORD", "s3cret-not-logged", 1);
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    char err[256] = "";
    assert_int_equal(pk_kafka_conf_security(c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "KAFKA_SECURITY_PROTOCOL"));
    assert_null(strstr(err, "s3cret"));
    rd_kafka_conf_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_unset_means_librdkafka_defaults, clean_env),
        cmocka_unit_test_setup(test_sasl_scram_from_the_environment, clean_env),
        cmocka_unit_test_setup(test_a_bad_value_names_its_variable, clean_env),
    };
    return cmocka_run_group_tests_name("kafka_security", tests, NULL, NULL);
}
