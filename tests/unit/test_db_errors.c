/* test_db_errors.c — the one classification of failed statements
 * (workers/db.h, wk_db_error_class): one test per class of the documented
 * list, transient ones and the poison around them, so a change to the list
 * is a change to a test. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include "workers/db.h"

static void transient(const char *state)
{
    if (wk_db_error_class(state, true) != WK_TRANSIENT)
        fail_msg("SQLSTATE %s should be transient (retried)", state ? state : "(none)");
}

static void poison(const char *state)
{
    if (wk_db_error_class(state, true) != WK_POISON)
        fail_msg("SQLSTATE %s should be poison (rejected + dead-lettered)", state);
}

/* ---- transient: the server or the way to it, not the command ---- */

static void test_lost_connection_is_transient_whatever_the_state(void **state)
{
    (void)state;
    /* Even a state that is poison on a live connection: the statement may
     * never have run, and the error may be libpq's, not the server's. */
    assert_int_equal(wk_db_error_class("23505", false), WK_TRANSIENT);
    assert_int_equal(wk_db_error_class("22003", false), WK_TRANSIENT);
    assert_int_equal(wk_db_error_class(NULL, false), WK_TRANSIENT);
}

static void test_no_sqlstate_is_transient(void **state)
{
    (void)state;
    transient(NULL);   /* no result at all */
    transient("");     /* a result without a SQLSTATE: libpq's own failure */
    transient("080");  /* not a SQLSTATE */
}

static void test_class_08_connection_exception(void **state)
{
    (void)state;
    transient("08000");
    transient("08003");   /* connection_does_not_exist */
    transient("08006");   /* connection_failure */
    transient("08P01");   /* protocol_violation */
}

static void test_class_40_transaction_rollback(void **state)
{
    (void)state;
    transient("40001");   /* serialization_failure */
    transient("40P01");   /* deadlock_detected */
    transient("40003");   /* statement_completion_unknown */
}

static void test_class_53_insufficient_resources(void **state)
{
    (void)state;
    transient("53100");   /* disk_full */
    transient("53200");   /* out_of_memory */
    transient("53300");   /* too_many_connections */
}

static void test_55P03_lock_not_available(void **state)
{
    (void)state;
    transient("55P03");   /* lock_timeout */
    poison("55000");      /* object_not_in_prerequisite_state: the rest of class 55 is not */
    poison("55006");
}

static void test_57014_query_canceled(void **state)
{
    (void)state;
    transient("57014");   /* statement_timeout, pg_cancel_backend */
    poison("57000");      /* operator_intervention in general is not listed */
}

static void test_57P_operator_intervention(void **state)
{
    (void)state;
    transient("57P01");   /* admin_shutdown */
    transient("57P02");   /* crash_shutdown */
    transient("57P03");   /* cannot_connect_now */
    transient("57P05");   /* idle_session_timeout */
}

static void test_class_58_system_error(void **state)
{
    (void)state;
    transient("58000");
    transient("58030");   /* io_error */
}

static void test_class_XX_internal_error(void **state)
{
    (void)state;
    transient("XX000");   /* internal_error */
    transient("XX001");   /* data_corrupted */
    transient("XX002");   /* index_corrupted */
}

static void test_25P03_idle_in_transaction_timeout(void **state)
{
    (void)state;
    transient("25P03");
    poison("25P02");      /* in_failed_sql_transaction: an earlier failure was ignored — a bug */
    poison("25001");
}

/* ---- poison: the command makes the statement fail, every time ---- */

static void test_data_exceptions_are_poison(void **state)
{
    (void)state;
    poison("22001");   /* string_data_right_truncation */
    poison("22003");   /* numeric_value_out_of_range */
    poison("22P02");   /* invalid_text_representation */
    poison("22021");   /* character_not_in_repertoire */
}

static void test_integrity_violations_are_poison_unless_handled(void **state)
{
    (void)state;
    /* 23505, 23P01 and 23514 reach the classification only when the family
     * did not map them to a business reason: then they are bugs. */
    poison("23502");   /* not_null_violation */
    poison("23503");   /* foreign_key_violation */
    poison("23505");
    poison("23514");
    poison("23P01");
}

static void test_deployment_and_program_errors_are_poison(void **state)
{
    (void)state;
    poison("42601");   /* syntax_error */
    poison("42703");   /* undefined_column: a worker newer than the schema */
    poison("0A000");   /* feature_not_supported */
    poison("54001");   /* statement_too_complex */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lost_connection_is_transient_whatever_the_state),
        cmocka_unit_test(test_no_sqlstate_is_transient),
        cmocka_unit_test(test_class_08_connection_exception),
        cmocka_unit_test(test_class_40_transaction_rollback),
        cmocka_unit_test(test_class_53_insufficient_resources),
        cmocka_unit_test(test_55P03_lock_not_available),
        cmocka_unit_test(test_57014_query_canceled),
        cmocka_unit_test(test_57P_operator_intervention),
        cmocka_unit_test(test_class_58_system_error),
        cmocka_unit_test(test_class_XX_internal_error),
        cmocka_unit_test(test_25P03_idle_in_transaction_timeout),
        cmocka_unit_test(test_data_exceptions_are_poison),
        cmocka_unit_test(test_integrity_violations_are_poison_unless_handled),
        cmocka_unit_test(test_deployment_and_program_errors_are_poison),
    };
    return cmocka_run_group_tests_name("db_errors", tests, NULL, NULL);
}
