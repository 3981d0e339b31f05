/* test_validate.c — the shared field rules (common/validate.h) as tables:
 * UTF-8 validity, control and format characters in single- and multi-line
 * text, the ZWNJ/ZWJ exception, list items, phones and the per-field rules
 * of an account (issue 14: what the API accepts the worker applies). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/validate.h"

typedef struct {
    const char *what;
    const char *text;
    int line_ok;   /* pk_check_line(text, 64) accepts it */
    int text_ok;   /* pk_check_text(text, 64) accepts it */
} text_case;

static const text_case TEXT_CASES[] = {
    {"ascii name", "Ravi Shastri", 1, 1},
    {"empty", "", 1, 1},
    {"quote and SQL metacharacters", "O'Brien'; DROP TABLE users;--", 1, 1},
    {"markup is data", "<b>Ravi</b> & co", 1, 1},
    {"Devanagari", "\xe0\xa4\xb0\xe0\xa4\xb5\xe0\xa4\xbf \xe0\xa4\xb6\xe0\xa4\xbe\xe0\xa4\xb8\xe0\xa5\x8d\xe0\xa4\xa4\xe0\xa5\x8d\xe0\xa4\xb0\xe0\xa5\x80", 1, 1},
    /* क्‍ष: KA, VIRAMA, ZWJ, SSA — ZWJ inside an Indic word is needed */
    {"ZWJ inside a conjunct", "\xe0\xa4\x95\xe0\xa5\x8d\xe2\x80\x8d\xe0\xa4\xb7", 1, 1},
    {"ZWNJ inside a word", "\xe0\xa4\x95\xe0\xa5\x8d\xe2\x80\x8c\xe0\xa4\xb7", 1, 1},
    {"emoji ZWJ sequence", "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9", 1, 1},
    {"ZWJ first", "\xe2\x80\x8d" "abc", 0, 0},
    {"ZWNJ first", "\xe2\x80\x8c" "abc", 0, 0},
    {"ZWJ doubled", "a\xe2\x80\x8d\xe2\x80\x8d" "b", 0, 0},
    {"ZWNJ then ZWJ", "a\xe2\x80\x8c\xe2\x80\x8d" "b", 0, 0},
    {"newline", "line one\nline two", 0, 1},
    {"tab", "a\tb", 0, 1},
    {"carriage return", "a\rb", 0, 0},
    {"escape (C0)", "a\x1b[31mred", 0, 0},
    {"bell", "a\x07", 0, 0},
    {"DEL", "a\x7f" "b", 0, 0},
    {"C1 NEL U+0085", "a\xc2\x85" "b", 0, 0},
    {"C1 CSI U+009B", "a\xc2\x9b" "b", 0, 0},
    {"soft hyphen U+00AD", "ad\xc2\xadmin", 0, 0},
    {"Arabic number sign U+0600", "\xd8\x80" "1", 0, 0},
    {"Arabic letter mark U+061C", "a\xd8\x9c" "b", 0, 0},
    {"Mongolian vowel separator U+180E", "a\xe1\xa0\x8e" "b", 0, 0},
    {"zero-width space U+200B", "ad\xe2\x80\x8bmin", 0, 0},
    {"LRM U+200E", "a\xe2\x80\x8e" "b", 0, 0},
    {"RLM U+200F", "a\xe2\x80\x8f" "b", 0, 0},
    {"line separator U+2028", "a\xe2\x80\xa8" "b", 0, 0},
    {"paragraph separator U+2029", "a\xe2\x80\xa9" "b", 0, 0},
    {"LRE U+202A", "a\xe2\x80\xaa" "b", 0, 0},
    {"RLO U+202E (bidi override)", "gpj.\xe2\x80\xae" "exe", 0, 0},
    {"word joiner U+2060", "a\xe2\x81\xa0" "b", 0, 0},
    {"invisible times U+2062", "a\xe2\x81\xa2" "b", 0, 0},
    {"LRI U+2066", "a\xe2\x81\xa6" "b", 0, 0},
    {"PDI U+2069", "a\xe2\x81\xa9" "b", 0, 0},
    {"deprecated format U+206F", "a\xe2\x81\xaf" "b", 0, 0},
    {"BOM U+FEFF", "\xef\xbb\xbf" "abc", 0, 0},
    {"interlinear anchor U+FFF9", "a\xef\xbf\xb9" "b", 0, 0},
    {"noncharacter U+FFFE", "a\xef\xbf\xbe" "b", 0, 0},
    {"noncharacter U+FDD0", "a\xef\xb7\x90" "b", 0, 0},
    {"language tag U+E0001", "a\xf3\xa0\x80\x81" "b", 0, 0},
    {"tag letter U+E0061", "a\xf3\xa0\x81\xa1" "b", 0, 0},
    {"lone continuation byte", "a\x80" "b", 0, 0},
    {"0xff", "a\xff" "b", 0, 0},
    {"overlong '/'", "a\xc0\xaf" "b", 0, 0},
    {"overlong 3-byte", "a\xe0\x80\xaf" "b", 0, 0},
    {"surrogate U+D800", "a\xed\xa0\x80" "b", 0, 0},
    {"above U+10FFFF", "a\xf4\x90\x80\x80" "b", 0, 0},
    {"truncated sequence", "a\xe0\xa4", 0, 0},
    {"variation selector is fine", "\xe2\x9d\xa4\xef\xb8\x8f", 1, 1},
    {"non-BMP letter is fine", "\xf0\x9d\x90\x80", 1, 1},
    {"64 bytes", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 1, 1},
    {"65 bytes", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0, 0},
};

static void test_text_and_line_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(TEXT_CASES) / sizeof(TEXT_CASES[0]); i++) {
        const text_case *c = &TEXT_CASES[i];
        const char *line = pk_check_line(c->text, 64), *text = pk_check_text(c->text, 64);
        if ((line == NULL) != c->line_ok)
            fail_msg("pk_check_line(%s): %s", c->what, line ? line : "accepted");
        if ((text == NULL) != c->text_ok)
            fail_msg("pk_check_text(%s): %s", c->what, text ? text : "accepted");
    }
}

/* The messages name the problem, so a client can show it next to the field. */
static void test_messages(void **state)
{
    (void)state;
    assert_string_equal(pk_check_line("a\xff", 10), "is not valid UTF-8");
    assert_string_equal(pk_check_line("a\x01", 10), "contains control characters");
    assert_string_equal(pk_check_line("a\xe2\x80\xae", 10), "contains invisible formatting characters");
    assert_string_equal(pk_check_line("a\nb", 10), "must be a single line without tabs");
    assert_string_equal(pk_check_text("abcdef", 5), "is too long");
}

static void test_utf8_decode(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        size_t len;
        unsigned cp;   /* 0 when invalid */
    } cases[] = {
        {"A", 1, 0x41},           {"\xc2\xa9", 2, 0xa9},         {"\xe0\xa4\x85", 3, 0x905},
        {"\xf0\x9f\x99\x8f", 4, 0x1f64f}, {"\xf4\x8f\xbf\xbf", 4, 0x10ffff}, {"\xc1\xbf", 2, 0},
        {"\xe0\x9f\xbf", 3, 0},   {"\xed\xbf\xbf", 3, 0},        {"\xf0\x8f\xbf\xbf", 4, 0},
        {"\xf5\x80\x80\x80", 4, 0}, {"\x80", 1, 0},              {"\xc2", 1, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned cp = 0;
        size_t n = pk_utf8_decode((const unsigned char *)cases[i].bytes, cases[i].len, &cp);
        if (cases[i].cp) {
            assert_int_equal(n, cases[i].len);
            assert_int_equal(cp, cases[i].cp);
        } else {
            assert_int_equal(n, 0);
        }
    }
    assert_true(pk_utf8_valid("plain", 5));
    assert_false(pk_utf8_valid("a\0b", 3));   /* NUL inside is not text */
    assert_false(pk_utf8_valid("%\xff", 2));
}

static void test_list_items(void **state)
{
    (void)state;
    char long_item[PK_LIST_ITEM_MAX + 2];
    memset(long_item, 'x', sizeof(long_item) - 1);
    long_item[sizeof(long_item) - 1] = 0;
    assert_null(pk_check_list_item("Vedic rituals"));
    assert_null(pk_check_list_item("\xe0\xa4\xb9\xe0\xa4\xbf\xe0\xa4\x82\xe0\xa4\xa6\xe0\xa5\x80"));
    assert_non_null(pk_check_list_item(""));
    assert_non_null(pk_check_list_item(long_item));
    long_item[PK_LIST_ITEM_MAX] = 0;
    assert_null(pk_check_list_item(long_item));
    assert_non_null(pk_check_list_item("two\nlines"));
    assert_non_null(pk_check_list_item("\xe2\x80\xae" "reversed"));
}

/* issue 14: a 113-character phone passed the API and was dead-lettered by
 * the worker (its buffer is 64 bytes); the shared rule now bounds it. */
static void test_phone(void **state)
{
    (void)state;
    static const struct {
        const char *phone;
        int ok;
    } cases[] = {
        {"+91 98765 43210", 1}, {"9876543210", 1}, {"+1-202-555-0143", 1}, {"1234567", 1},
        {"123456", 0},          {"1234567890123456", 0}, {"98765x43210", 0}, {"", 0},
        {"+91 98765 43210" "         ", 1},    /* 24 bytes: PK_PHONE_MAX */
        {"+91 98765 43210" "          ", 0},   /* 25 bytes */
        {"1234567                                                                                                         ", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if ((pk_check_phone(cases[i].phone) == NULL) != cases[i].ok)
            fail_msg("phone \"%s\": want %s", cases[i].phone, cases[i].ok ? "accepted" : "refused");
}

static void test_account_fields(void **state)
{
    (void)state;
    static const struct {
        const char *name, *value;
        int ok;
    } cases[] = {
        {"first_name", "Ravi", 1},          {"first_name", "", 1},           {"first_name", "Ra\nvi", 0},
        {"first_name", "\xe2\x80\xae" "ivaR", 0}, {"last_name", "O'Brien", 1}, {"last_name", "a\x01", 0},
        {"place_of_birth", "Pune", 1},      {"place_of_birth", "Pu\tne", 0}, {"address", "12 Temple Rd\nPune", 1},
        {"address", "12\x1b" "Rd", 0},      {"phone", "+91 98765 43210", 1}, {"phone", "12", 0},
        {"date_of_birth", "1990-02-28", 1}, {"date_of_birth", "1990-02-30", 0}, {"time_of_birth", "06:45", 1},
        {"time_of_birth", "25:00", 0},      {"role", "admin", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if ((pk_check_account_field(cases[i].name, cases[i].value) == NULL) != cases[i].ok)
            fail_msg("%s = \"%s\": want %s", cases[i].name, cases[i].value, cases[i].ok ? "accepted" : "refused");
    char big[PK_ACCOUNT_TEXT_MAX + 2];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    assert_non_null(pk_check_account_field("first_name", big));
    big[PK_ACCOUNT_TEXT_MAX] = 0;
    assert_null(pk_check_account_field("first_name", big));
}

/* Issue 15: a booking's address is required; blanks are no address. */
static void test_address(void **state)
{
    (void)state;
    static const struct {
        const char *value;
        int ok;
    } cases[] = {
        {"12 MG Road, Pune", 1}, {"Flat 4\nShivaji Nagar", 1}, {"", 0}, {" ", 0}, {" \n\t ", 0},
        {"\xe2\x80\xae" "12 Rd", 0}, {"12\x1b" "Rd", 0}, {" 12 Rd", 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if ((pk_check_address(cases[i].value, 500) == NULL) != cases[i].ok)
            fail_msg("address \"%s\": want %s", cases[i].value, cases[i].ok ? "accepted" : "refused");
    assert_string_equal(pk_check_address("", 500), "this field is required");
    assert_non_null(pk_check_address("123456", 5));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_and_line_table), cmocka_unit_test(test_messages),
        cmocka_unit_test(test_utf8_decode),         cmocka_unit_test(test_list_items),
        cmocka_unit_test(test_phone),               cmocka_unit_test(test_account_fields),
        cmocka_unit_test(test_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
