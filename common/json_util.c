#include "common/json_util.h"

#include <stdio.h>
#include <string.h>

static void set_err(char *err, size_t errcap, const char *msg)
{
    if (err && errcap)
        snprintf(err, errcap, "%s", msg);
}

/* True when j nests no deeper than `budget` containers (j itself counts).
 * Recursion stops as soon as the budget is spent, so it is bounded by
 * PK_JSON_MAX_DEPTH frames whatever jansson accepted. */
static bool depth_within(const json_t *j, int budget)
{
    if (!json_is_object(j) && !json_is_array(j))
        return true;
    if (budget == 0)
        return false;
    if (json_is_array(j)) {
        size_t i;
        const json_t *v;
        json_array_foreach(j, i, v)
            if (!depth_within(v, budget - 1))
                return false;
        return true;
    }
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)j, k, v)
        if (!depth_within(v, budget - 1))
            return false;
    return true;
}

json_t *pk_json_parse(const char *buf, size_t len, char *err, size_t errcap)
{
    json_error_t je;
    if (!buf) {
        set_err(err, errcap, "empty body");
        return NULL;
    }
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        if (err && errcap)
            snprintf(err, errcap, "invalid JSON at line %d, column %d: %s", je.line, je.column, je.text);
        return NULL;
    }
    const char *why = NULL;
    if (!json_is_object(root))
        why = "top-level value must be an object";
    else if (!depth_within(root, PK_JSON_MAX_DEPTH))
        why = "JSON nested deeper than 32 levels";
    if (why) {
        set_err(err, errcap, why);
        json_decref(root);
        return NULL;
    }
    return root;
}

char *pk_json_dump(const json_t *j)
{
    return j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
}

/* The member, or NULL when missing or JSON null (both mean "absent"). */
static const json_t *member(const json_t *obj, const char *key)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return (v && !json_is_null(v)) ? v : NULL;
}

int pk_json_get_str(const json_t *obj, const char *key, const char **out)
{
    const json_t *v = member(obj, key);
    if (!v)
        return -1;
    if (!json_is_string(v))
        return -2;
    *out = json_string_value(v);
    return 0;
}

int pk_json_get_int(const json_t *obj, const char *key, int64_t *out)
{
    const json_t *v = member(obj, key);
    if (!v)
        return -1;
    if (!json_is_integer(v))
        return -2;
    *out = (int64_t)json_integer_value(v);
    return 0;
}

int pk_json_get_bool(const json_t *obj, const char *key, bool *out)
{
    const json_t *v = member(obj, key);
    if (!v)
        return -1;
    if (!json_is_boolean(v))
        return -2;
    *out = json_is_true(v);
    return 0;
}

static money_err money_from_rupees(json_int_t rupees, int64_t *paise)
{
    if (rupees < 0)
        return MONEY_NEGATIVE;
    if (rupees > MONEY_MAX_PAISE / 100)
        return MONEY_TOO_LARGE;
    *paise = (int64_t)rupees * 100;
    return MONEY_OK;
}

int pk_json_get_money(const json_t *obj, const char *key, int64_t *paise, money_err *why)
{
    const json_t *v = member(obj, key);
    money_err e;
    if (!v)
        return -1;
    if (json_is_string(v))
        e = money_parse(json_string_value(v), json_string_length(v), paise);
    else if (json_is_integer(v))
        e = money_from_rupees(json_integer_value(v), paise);
    else
        e = MONEY_SYNTAX;
    if (why)
        *why = e;
    return e == MONEY_OK ? 0 : -2;
}

int pk_json_set_money(json_t *obj, const char *key, int64_t paise)
{
    char buf[MONEY_FMT_CAP];
    money_format(paise, buf, sizeof(buf));
    return json_object_set_new(obj, key, json_string(buf));
}
