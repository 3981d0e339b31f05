#include "common/commands.h"

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
