/* commands.c — the command table: every command type a worker applies, the
 * topic it travels on, and its apply function (one file per family). */
#include <string.h>
#include "workers/worker.h"

static const wk_command COMMANDS[] = {
    {"user.register", "accounts", wk_user_register},
};

const char *const WK_TOPICS[] = {"accounts", "bookings", "orders", "catalog", NULL};

const wk_command *wk_command_find(const char *type)
{
    for (size_t i = 0; i < sizeof(COMMANDS) / sizeof(COMMANDS[0]); i++)
        if (strcmp(COMMANDS[i].type, type) == 0)
            return &COMMANDS[i];
    return NULL;
}
