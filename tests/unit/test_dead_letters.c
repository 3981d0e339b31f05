/* test_dead_letters.c — a dead letter's reason as it is stored and sent
 * (workers/dead_letters.h): decoder messages and database errors may quote
 * payload bytes, and the reason must still be valid text for PostgreSQL,
 * JSON and a Kafka header. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include "workers/dead_letters.h"

static void test_plain_reasons_pass_unchanged(void **state)
{
    (void)state;
    char out[WK_DEAD_LETTER_REASON_MAX];
    wk_dead_letter_clean_reason("unknown_command", out, sizeof(out));
    assert_string_equal(out, "unknown_command");
    wk_dead_letter_clean_reason("db_error 22003: value \"9999999999\" is out of range for type integer", out,
                                sizeof(out));
    assert_string_equal(out, "db_error 22003: value \"9999999999\" is out of range for type integer");
    wk_dead_letter_clean_reason("db_error 23514: \xe0\xa4\xa6\xe0\xa5\x80\xe0\xa4\xaf\xe0\xa4\xbe", out, sizeof(out));
    assert_string_equal(out, "db_error 23514: \xe0\xa4\xa6\xe0\xa5\x80\xe0\xa4\xaf\xe0\xa4\xbe");   /* दीया */
}

static void test_control_characters_and_invalid_utf8_become_question_marks(void **state)
{
    (void)state;
    char out[WK_DEAD_LETTER_REASON_MAX];
    wk_dead_letter_clean_reason("bad\n\x01type \xc1\xff!", out, sizeof(out));
    assert_string_equal(out, "bad??type ?" "?!");   /* split: "??!" would be a trigraph */
}

static void test_long_reasons_are_cut_at_a_character_boundary(void **state)
{
    (void)state;
    char in[600], out[16];
    memset(in, 0, sizeof(in));
    for (size_t i = 0; i + 3 < sizeof(in); i += 3)
        memcpy(in + i, "\xe0\xa4\xa6", 3);   /* द, three bytes each */
    wk_dead_letter_clean_reason(in, out, sizeof(out));
    assert_true(strlen(out) < sizeof(out));
    assert_int_equal(strlen(out) % 3, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_reasons_pass_unchanged),
        cmocka_unit_test(test_control_characters_and_invalid_utf8_become_question_marks),
        cmocka_unit_test(test_long_reasons_are_cut_at_a_character_boundary),
    };
    return cmocka_run_group_tests_name("dead_letters", tests, NULL, NULL);
}
