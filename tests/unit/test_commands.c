/* test_commands.c — common/commands.def and the workers' table agree: every
 * command has a topic the workers subscribe to and an apply function, and
 * the workers apply nothing the table does not list. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include "common/commands.h"
#include "workers/worker.h"

static void test_every_command_has_an_apply_function(void **state)
{
    (void)state;
    for (size_t i = 0; i < pk_command_count(); i++) {
        const pk_command *c = pk_command_at(i);
        if (!wk_command_find(c->type))
            fail_msg("%s is in commands.def but no worker applies it", c->type);
        assert_true(strlen(c->key) > 0 && strlen(c->schema) > 0);
    }
}

static void test_every_apply_function_is_in_the_table(void **state)
{
    (void)state;
    const char *topics[16];
    size_t n = wk_topics(topics, 16);
    assert_int_equal(n, 4);   /* accounts, bookings, orders, catalog */
    for (size_t i = 0; i < wk_command_count(); i++) {
        const wk_command *c = wk_command_at(i);
        const pk_command *spec = pk_command_find(c->type);
        if (!spec)
            fail_msg("the workers apply %s, which commands.def does not list", c->type);
        assert_string_equal(wk_command_topic(c), spec->topic);
    }
    assert_int_equal(wk_command_count(), pk_command_count());
    assert_null(pk_command_find("no.such_command"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_command_has_an_apply_function),
        cmocka_unit_test(test_every_apply_function_is_in_the_table),
    };
    return cmocka_run_group_tests_name("commands", tests, NULL, NULL);
}
