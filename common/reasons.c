#include "common/reasons.h"

#include <string.h>

static const pk_reason REASONS[] = {
    {"username_taken", 409, "Username taken"},
    {"email_taken", 409, "Email already registered"},
    {"invalid_command", 422, "Invalid command"},
    {"unknown_command", 422, "Unknown command type"},
};

const pk_reason *pk_reason_find(const char *code)
{
    static const pk_reason fallback = {"rejected", 409, "Command rejected"};
    for (size_t i = 0; code && i < sizeof(REASONS) / sizeof(REASONS[0]); i++)
        if (strcmp(REASONS[i].code, code) == 0)
            return &REASONS[i];
    return &fallback;
}
