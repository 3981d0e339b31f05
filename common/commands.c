/* commands.c — the table of commands.def and the one choice of a partition
 * key (commands.h). */
#include "common/commands.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static const pk_command COMMANDS[] = {
#define PK_COMMAND(type, topic, key, schema) {type, topic, key, schema},
#include "common/commands.def"
#undef PK_COMMAND
};

#define N_COMMANDS (sizeof(COMMANDS) / sizeof(COMMANDS[0]))

const pk_command *pk_command_find(const char *type)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(COMMANDS[i].type, type) == 0)
            return &COMMANDS[i];
    return NULL;
}

size_t pk_command_count(void)
{
    return N_COMMANDS;
}

const pk_command *pk_command_at(size_t i)
{
    return i < N_COMMANDS ? &COMMANDS[i] : NULL;
}

const char *pk_key_rule_name(pk_key_rule rule)
{
    switch (rule) {
    case PK_KEY_USERNAME:    return "lower-cased username";
    case PK_KEY_USER:        return "user id";
    case PK_KEY_PRIEST:      return "priest id";
    case PK_KEY_ORDER_OWNER: return "the order's user id";
    case PK_KEY_CATEGORY:    return "category id";
    case PK_KEY_PRODUCT:     return "product id";
    case PK_KEY_SERVICE:     return "service id";
    case PK_KEY_SLUG:        return "slug";
    case PK_KEY_NAME:        return "name";
    }
    return NULL;
}

static int key_id(int64_t id, char *out, size_t cap)
{
    if (id <= 0)
        return -1;
    int n = snprintf(out, cap, "%lld", (long long)id);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

static int key_text(const char *s, char *out, size_t cap)
{
    if (!s || !*s || strlen(s) >= cap)
        return -1;
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

/* Usernames are unique regardless of case, so "Ravi" and "ravi" must meet
 * in one partition for the second registration to see the first. */
static int key_username(const char *s, char *out, size_t cap)
{
    if (key_text(s, out, cap) != 0)
        return -1;
    for (char *c = out; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return 0;
}

static int choose(pk_key_rule rule, const pk_command_key_ids *ids, char *out, size_t cap)
{
    switch (rule) {
    case PK_KEY_USERNAME:    return key_username(ids->username, out, cap);
    case PK_KEY_USER:        return key_id(ids->user_id, out, cap);
    case PK_KEY_PRIEST:      return key_id(ids->priest_id, out, cap);
    case PK_KEY_ORDER_OWNER: return key_id(ids->order_owner_id, out, cap);
    case PK_KEY_CATEGORY:    return key_id(ids->category_id, out, cap);
    case PK_KEY_PRODUCT:     return key_id(ids->product_id, out, cap);
    case PK_KEY_SERVICE:     return key_id(ids->service_id, out, cap);
    case PK_KEY_SLUG:        return key_text(ids->slug, out, cap);
    case PK_KEY_NAME:        return key_text(ids->name, out, cap);
    }
    return -1;
}

int pk_command_key(const char *type, const pk_command_key_ids *ids, char *out, size_t cap)
{
    const pk_command *c = type ? pk_command_find(type) : NULL;
    if (cap == 0)
        return -1;
    if (!c || !ids || choose(c->key, ids, out, cap) != 0) {
        out[0] = 0;
        return -1;
    }
    return 0;
}
