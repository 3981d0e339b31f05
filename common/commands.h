/* commands.h — the command table of common/commands.def, for the API's
 * submit path (which topic a type goes to) and the workers' dispatch. */
#ifndef PUNYAKA_COMMANDS_H
#define PUNYAKA_COMMANDS_H

#include <stddef.h>

typedef struct {
    const char *type;     /* "booking.create" */
    const char *topic;    /* logical topic: "bookings" */
    const char *key;      /* what the partition key is, for people */
    const char *schema;   /* where the payload is documented */
} pk_command;

/* The row of `type`, or NULL when no such command exists. */
const pk_command *pk_command_find(const char *type);
/* Every row, in commands.def order. */
size_t pk_command_count(void);
const pk_command *pk_command_at(size_t i);

#endif
