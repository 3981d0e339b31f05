#include "tests/support/procs.h"

#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include "tests/support/http.h"
#include "tests/support/stack_env.h"

static char stack_port[16];   /* the stack's own API, restored by it_api_stop */

/* A port below the ephemeral range (32768+) that nothing listens on now. */
static int free_port(void)
{
    for (int i = 0; i < 100; i++) {
        int port = 20000 + (int)(((unsigned)getpid() * 7919u + (unsigned)i * 104729u) % 12000u);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int ok = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
        if (fd >= 0)
            close(fd);
        if (ok)
            return port;
    }
    return -1;
}

static void exec_api(const char *instance, int port, const char *const *env)
{
    char path[4096], log[4096], portstr[16];
    snprintf(path, sizeof(path), "%s/api/punyaka-api", it_env("PUNYAKA_BUILD_DIR"));
    snprintf(log, sizeof(log), "%s/logs/%s.log", it_env("PUNYAKA_STACK_DIR"), instance);
    snprintf(portstr, sizeof(portstr), "%d", port);
    if (!freopen(log, "a", stderr) || !freopen("/dev/null", "w", stdout))
        _exit(126);
    setenv("PUNYAKA_HTTP_PORT", portstr, 1);
    setenv("PUNYAKA_HTTP_THREADS", "1", 1);
    setenv("PUNYAKA_INSTANCE_ID", instance, 1);
    setenv("PUNYAKA_API_METRICS_PORT", "0", 1);   /* the stack's API holds that port */
    const char *api_db = getenv("PUNYAKA_API_DATABASE_URL");   /* the API's read-only role, as stack.sh starts it */
    if (api_db && *api_db)
        setenv("DATABASE_URL", api_db, 1);
    for (size_t i = 0; env && env[i]; i++)
        putenv(strdup(env[i]));
    execl(path, path, (char *)NULL);
    _exit(127);
}

static int healthy(void)
{
    it_response r = it_http("GET", "/healthz", NULL, NULL, 0);
    int ok = r.status == 200;
    it_response_free(&r);
    return ok;
}

pid_t it_api_spawn(const char *instance, const char *const *env)
{
    int port = free_port();
    if (port < 0)
        return -1;
    if (!stack_port[0])
        snprintf(stack_port, sizeof(stack_port), "%s", it_env("PUNYAKA_HTTP_PORT"));
    pid_t pid = fork();
    if (pid == 0)
        exec_api(instance, port, env);
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    setenv("PUNYAKA_HTTP_PORT", portstr, 1);
    for (int i = 0; i < 200; i++) {
        if (healthy())
            return pid;
        usleep(50 * 1000);
    }
    it_api_stop(pid);
    return -1;
}

int it_api_stop(pid_t pid)
{
    if (stack_port[0])
        setenv("PUNYAKA_HTTP_PORT", stack_port, 1);
    if (pid <= 0)
        return -1;
    int status = 0;
    kill(pid, SIGTERM);
    for (int i = 0; i < 300; i++) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        if (r < 0)
            return -1;
        usleep(50 * 1000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

int it_devkafka(const char *command)
{
    const char *path = it_env("PUNYAKA_DEVKAFKA_CONTROL");
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    char line[160], answer[160] = "";
    snprintf(line, sizeof(line), "%s\n", command);
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
             write(fd, line, strlen(line)) == (ssize_t)strlen(line);
    ssize_t n = ok ? read(fd, answer, sizeof(answer) - 1) : -1;
    if (fd >= 0)
        close(fd);
    answer[n > 0 ? n : 0] = 0;
    if (strncmp(answer, "ok", 2) != 0) {
        fprintf(stderr, "devkafka %s: %s\n", command, n > 0 ? answer : strerror(errno));
        return -1;
    }
    return 0;
}

pid_t it_stack_pid(const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.pid", it_env("PUNYAKA_STACK_DIR"), name);
    return it_pid_file(path);
}

pid_t it_pid_file(const char *path)
{
    FILE *f = fopen(path, "r");
    long pid = 0;
    if (f) {
        if (fscanf(f, "%ld", &pid) != 1)
            pid = 0;
        fclose(f);
    }
    return (pid_t)pid;
}

int it_unused_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int port = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && getsockname(fd, (struct sockaddr *)&sa, &len) == 0
                   ? ntohs(sa.sin_port)
                   : -1;
    close(fd);
    return port;
}
