/* fuzz_json — common/json_util.c, the API's one JSON entry point
 * (api_json_body_or_reply parses every request body with pk_json_parse).
 * Any bytes: parse; on success every member goes through each getter
 * (str, int, bool, money), and the compact dump parses again to an equal
 * document (duplicate keys, depth and UTF-8 rules hold on both sides). */
#include <stdlib.h>
#include <string.h>
#include "common/json_util.h"
#include "tests/fuzz/fuzz_support.h"

static void getters(const json_t *obj)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value) {
        const char *s;
        int64_t i, paise;
        bool b;
        money_err why = MONEY_OK;
        (void)pk_json_get_str(obj, key, &s);
        (void)pk_json_get_int(obj, key, &i);
        (void)pk_json_get_bool(obj, key, &b);
        if (pk_json_get_money(obj, key, &paise, &why) == 0 && (paise < 0 || paise > MONEY_MAX_PAISE))
            abort();
        (void)money_strerror(why);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[160];
    json_t *doc = pk_json_parse((const char *)data, size, err, sizeof(err));
    if (!doc) {
        if (!memchr(err, 0, sizeof(err)))
            abort();
        return 0;
    }
    if (!json_is_object(doc))
        abort();
    getters(doc);
    char *text = pk_json_dump(doc);
    if (text) {
        json_t *again = pk_json_parse(text, strlen(text), err, sizeof(err));
        if (!again || !json_equal(doc, again))
            abort();
        json_decref(again);
        free(text);
    }
    json_t *copy = json_object();
    if (pk_json_set_money(copy, "m", (int64_t)size * 101) != 0)
        abort();
    json_decref(copy);
    json_decref(doc);
    return 0;
}
