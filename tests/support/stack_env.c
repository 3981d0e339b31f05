#include "tests/support/stack_env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

void it_load_stack_env(void)
{
    const char *dir = getenv("PUNYAKA_STACK_DIR");
    char path[4096];
    if (!dir) {
        fprintf(stderr, "PUNYAKA_STACK_DIR is not set: run through ctest (fixture `stack`)\n");
        exit(2);
    }
    snprintf(path, sizeof(path), "%s/env", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot open %s: is the stack up?\n", path);
        exit(2);
    }
    char line[4096];
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = 0;
        char *eq = strchr(line, '=');
        if (!eq || line[0] == '#')
            continue;
        *eq = 0;
        setenv(line, eq + 1, 1);
    }
    fclose(f);
}

const char *it_env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr, "missing environment variable %s\n", name);
        exit(2);
    }
    return v;
}

const char *it_owner_dsn(void)
{
    const char *v = getenv("PUNYAKA_OWNER_DATABASE_URL");
    return v && *v ? v : it_env("DATABASE_URL");
}

int it_start(char *tag, size_t cap)
{
    it_load_stack_env();
    if (sodium_init() < 0)
        return -1;
    snprintf(tag, cap, "%x", (unsigned)randombytes_uniform(1u << 30));
    return 0;
}
