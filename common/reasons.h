/* reasons.h — the stable rejection codes a command can end with, their HTTP
 * status and human title. One table, so the worker's outcome, the API's
 * waiting answer and GET /api/commands/{id} always agree. */
#ifndef PUNYAKA_REASONS_H
#define PUNYAKA_REASONS_H

typedef struct {
    const char *code;
    int http_status;
    const char *title;
} pk_reason;

/* The entry for code; unknown codes map to 409 "Command rejected". */
const pk_reason *pk_reason_find(const char *code);

#endif
