/* stack_env.h — integration tests find the running stack through
 * $PUNYAKA_STACK_DIR/env (KEY=VALUE lines written by scripts/lib/stack.sh):
 * DATABASE_URL (the workers' role), PUNYAKA_API_DATABASE_URL (the API's),
 * PUNYAKA_OWNER_DATABASE_URL (the tables' owner), REDIS_URL (with the
 * password), PUNYAKA_SESSION_KEY, KAFKA_BROKERS, PUNYAKA_API_URL,
 * PUNYAKA_HTTP_PORT, PUNYAKA_TOPIC_PREFIX. */
#ifndef PUNYAKA_TEST_STACK_ENV_H
#define PUNYAKA_TEST_STACK_ENV_H

#include <stddef.h>

/* setenv()s every line of the env file (overriding). Aborts the test
 * program with a message if the file is missing: an integration test must
 * never silently pass without its servers. */
void it_load_stack_env(void);

/* What every integration test does first: it_load_stack_env(), libsodium
 * initialised, and `tag` filled with a random hex word that keeps the
 * names this run creates apart from earlier runs against the same stack.
 * Returns 0, or -1 when libsodium cannot start. */
int it_start(char *tag, size_t cap);

/* getenv() that aborts when the variable is missing. */
const char *it_env(const char *name);

/* The DSN a test uses for its own database work (reading state, creating and
 * dropping scratch databases): the owner's, PUNYAKA_OWNER_DATABASE_URL, when
 * the stack has one. DATABASE_URL is the workers' role, which owns nothing
 * (issue 13). */
const char *it_owner_dsn(void);

#endif
