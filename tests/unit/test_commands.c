/* test_commands.c — common/commands.def and the workers' table agree: every
 * command has a topic the workers subscribe to and an apply function, and
 * the workers apply nothing the table does not list; and every command's
 * partition key is the one DESIGN §3 documents (the ordering the rules
 * rely on), chosen by pk_command_key alone. */
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
        assert_non_null(pk_key_rule_name(c->key));
        assert_true(strlen(c->schema) > 0);
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

/* One command with every identifier known, each a different value, so the
 * key shows which one the rule took. */
static const pk_command_key_ids ALL_IDS = {
    .username = "Ravi.Shastri", .slug = "ghee-diya", .name = "Griha Pravesh", .user_id = 11, .priest_id = 22,
    .order_owner_id = 33, .category_id = 44, .product_id = 55, .service_id = 66,
};

/* The documented key of each command (DESIGN §3 "Topics and keys", and
 * the handlers' keys before commands.def chose them): bookings per priest,
 * accounts per user (per lower-cased username while there is no id),
 * orders per customer, the catalog per entity (creates per slug or name). */
static const struct {
    const char *type, *key;
} DOCUMENTED[] = {
    {"user.register", "ravi.shastri"},  {"user.update", "11"},          {"user.change_password", "11"},
    {"user.create_admin", "ravi.shastri"}, {"priest.update_profile", "11"}, {"priest.update_account", "11"},
    {"priest.verify", "22"},
    {"priest.kyc_reveal", "22"},        {"booking.create", "22"},       {"booking.confirm", "22"},
    {"booking.complete", "22"},         {"booking.customer_confirm", "22"}, {"booking.cancel", "22"},
    {"booking.rate", "22"},             {"order.checkout", "33"},       {"order.cancel", "33"},
    {"order.set_status", "33"},         {"category.create", "ghee-diya"}, {"category.update", "44"},
    {"product.create", "ghee-diya"},    {"product.update", "55"},       {"product.set_kit", "55"},
    {"stock.adjust", "55"},             {"service.create", "Griha Pravesh"}, {"service.update", "66"},
    {"priest.set_hours", "22"},         {"priest.block", "22"},         {"priest.unblock", "22"},
    {"notification.read", "11"},        {"notification.read_all", "11"},
};
#define N_DOCUMENTED (sizeof(DOCUMENTED) / sizeof(DOCUMENTED[0]))

static void test_every_command_gets_its_documented_key(void **state)
{
    (void)state;
    assert_int_equal(N_DOCUMENTED, pk_command_count());   /* a new command documents its key here */
    for (size_t i = 0; i < N_DOCUMENTED; i++) {
        char key[PK_COMMAND_KEY_MAX] = "x";
        if (!pk_command_find(DOCUMENTED[i].type))
            fail_msg("%s is documented here but not in commands.def", DOCUMENTED[i].type);
        assert_int_equal(pk_command_key(DOCUMENTED[i].type, &ALL_IDS, key, sizeof(key)), 0);
        if (strcmp(key, DOCUMENTED[i].key) != 0)
            fail_msg("%s is keyed by \"%s\", documented \"%s\"", DOCUMENTED[i].type, key, DOCUMENTED[i].key);
    }
}

/* The rule's identifier alone is enough, and nothing else will do: a
 * handler that forgets it publishes nothing rather than mis-keyed. */
static void test_the_rule_needs_its_own_identifier(void **state)
{
    (void)state;
    char key[PK_COMMAND_KEY_MAX];
    assert_int_equal(pk_command_key("booking.cancel", &(pk_command_key_ids){.priest_id = 7}, key, sizeof(key)), 0);
    assert_string_equal(key, "7");
    pk_command_key_ids no_priest = ALL_IDS;
    no_priest.priest_id = 0;
    assert_int_equal(pk_command_key("booking.cancel", &no_priest, key, sizeof(key)), -1);
    assert_string_equal(key, "");
    pk_command_key_ids no_slug = ALL_IDS;
    no_slug.slug = "";
    assert_int_equal(pk_command_key("product.create", &no_slug, key, sizeof(key)), -1);
    assert_int_equal(pk_command_key("user.register", &(pk_command_key_ids){.user_id = 5}, key, sizeof(key)), -1);
    assert_int_equal(pk_command_key("no.such_command", &ALL_IDS, key, sizeof(key)), -1);
    assert_string_equal(key, "");
}

static void test_a_key_that_does_not_fit_is_refused(void **state)
{
    (void)state;
    char small[6];
    assert_int_equal(pk_command_key("user.register", &(pk_command_key_ids){.username = "ABCDE"}, small, sizeof(small)),
                     0);
    assert_string_equal(small, "abcde");
    assert_int_equal(pk_command_key("user.register", &(pk_command_key_ids){.username = "ABCDEF"}, small, sizeof(small)),
                     -1);
    assert_int_equal(pk_command_key("stock.adjust", &(pk_command_key_ids){.product_id = 123456}, small, sizeof(small)),
                     -1);
    assert_string_equal(small, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_command_has_an_apply_function),
        cmocka_unit_test(test_every_apply_function_is_in_the_table),
        cmocka_unit_test(test_every_command_gets_its_documented_key),
        cmocka_unit_test(test_the_rule_needs_its_own_identifier),
        cmocka_unit_test(test_a_key_that_does_not_fit_is_refused),
    };
    return cmocka_run_group_tests_name("commands", tests, NULL, NULL);
}
