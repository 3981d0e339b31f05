/* log.h — JSON-lines logs on stderr, one object per line:
 *   {"ts":"2026-11-25T18:11:37.123Z","level":"info","proc":"api","request_id":"…","trace_id":"…","msg":"…"}
 * request_id is omitted when NULL/empty. Thread-safe (one write(2) per line).
 * A thread may set a context (pk_log_context) while it works on one
 * request or command: its request_id stands in for a NULL one, and its
 * trace_id (W3C trace id) is added, so every line about that command —
 * including those of helpers that know nothing about it — can be found.
 * Level threshold from PUNYAKA_LOG_LEVEL (debug|info|warn|error, default info). */
#ifndef PUNYAKA_LOG_H
#define PUNYAKA_LOG_H

typedef enum { PK_LOG_DEBUG, PK_LOG_INFO, PK_LOG_WARN, PK_LOG_ERROR } pk_log_level;

void pk_log_init(const char *proc);   /* reads PUNYAKA_LOG_LEVEL */
void pk_log(pk_log_level level, const char *request_id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets (or with NULLs clears) this thread's context. Values are copied;
 * over-long ones are cut. */
void pk_log_context(const char *request_id, const char *trace_id);

#define pk_info(rid, ...)  pk_log(PK_LOG_INFO, (rid), __VA_ARGS__)
#define pk_warn(rid, ...)  pk_log(PK_LOG_WARN, (rid), __VA_ARGS__)
#define pk_error(rid, ...) pk_log(PK_LOG_ERROR, (rid), __VA_ARGS__)
#define pk_debug(rid, ...) pk_log(PK_LOG_DEBUG, (rid), __VA_ARGS__)

#endif
