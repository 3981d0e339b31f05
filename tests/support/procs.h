/* procs.h — processes an integration test runs beside the stack: a spare
 * punyaka-api with its own settings, and the dev Kafka's fault controls. */
#ifndef PUNYAKA_TEST_PROCS_H
#define PUNYAKA_TEST_PROCS_H

#include <sys/types.h>

/* Starts punyaka-api as `instance` on a free port, with the stack's
 * environment plus `env` ("NAME=value" strings, NULL-terminated; they win),
 * logging to $PUNYAKA_STACK_DIR/logs/<instance>.log, without a metrics port
 * unless `env` gives one (PUNYAKA_API_METRICS_PORT). Points it_http at it
 * (PUNYAKA_HTTP_PORT) and waits (bounded, 10 s) for /healthz. Returns its
 * pid, or -1 when it did not come up (it is killed then). */
pid_t it_api_spawn(const char *instance, const char *const *env);

/* SIGTERM, bounded wait (15 s, then SIGKILL). Returns its exit status, or
 * -1 when it had to be killed or was not ours. Points it_http back at the
 * stack's own API. Safe to call twice. */
int it_api_stop(pid_t pid);

/* The pid scripts/lib/stack.sh recorded for `name` (api, worker-N, redis,
 * devkafka) in $PUNYAKA_STACK_DIR, or 0. */
pid_t it_stack_pid(const char *name);
/* The pid on the first line of a pid file, or 0. */
pid_t it_pid_file(const char *path);

/* One command to the dev Kafka's control socket (tools/devkafka/devkafka.c:
 * "down all", "up 1", "rtt all 3000", "errors 0 3 6"). 0 when it answered
 * "ok". Needs PUNYAKA_DEVKAFKA_CONTROL (set by the stack unless Kafka is
 * external). */
int it_devkafka(const char *command);

/* A loopback port nothing listens on now (the kernel's choice), or -1. */
int it_unused_port(void);

#endif
