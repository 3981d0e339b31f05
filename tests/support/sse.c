#include "tests/support/sse.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "tests/support/stack_env.h"

long long sse_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void dechunk(sse *c)
{
    for (;;) {
        char *eol = memmem(c->raw, c->rlen, "\r\n", 2);
        if (!eol)
            return;
        size_t size = strtoul(c->raw, NULL, 16), line = (size_t)(eol - c->raw) + 2;
        if (size == 0) {
            c->ended = 1;
            return;
        }
        if (c->rlen < line + size + 2)
            return;
        assert_true(c->blen + size < sizeof(c->body));
        memcpy(c->body + c->blen, c->raw + line, size);
        c->blen += size;
        memmove(c->raw, c->raw + line + size + 2, c->rlen - line - size - 2);
        c->rlen -= line + size + 2;
    }
}

/* Reads what arrives within timeout_ms: 1 bytes came, 0 closed, -1 nothing. */
static int fill(sse *c, int timeout_ms)
{
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms < 0 ? 0 : timeout_ms) <= 0)
        return -1;
    ssize_t n = recv(c->fd, c->raw + c->rlen, sizeof(c->raw) - c->rlen, 0);
    if (n <= 0) {
        c->ended = 1;
        return 0;
    }
    c->rlen += (size_t)n;
    dechunk(c);
    return 1;
}

/* GET `path` as `who` with `extra` header lines; reads the response head.
 * Returns the status (the connection stays open on 200). */
int sse_open(sse *c, const it_actor *who, const char *path, const char *extra)
{
    memset(c, 0, sizeof(*c));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(it_env("PUNYAKA_HTTP_PORT")))};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(c->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    char req[2048];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n%s%s\r\n",
                     path, who ? who->headers : "", extra ? extra : "");
    assert_int_equal(send(c->fd, req, (size_t)n, 0), n);
    long long deadline = sse_now_ms() + 5000;
    char *end = NULL;
    while (!(end = memmem(c->raw, c->rlen, "\r\n\r\n", 4))) {
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        assert_true(poll(&p, 1, (int)(deadline - sse_now_ms())) > 0);
        ssize_t got = recv(c->fd, c->raw + c->rlen, sizeof(c->raw) - c->rlen - 1, 0);
        assert_true(got > 0);
        c->rlen += (size_t)got;
    }
    size_t hlen = (size_t)(end - c->raw) + 4;
    assert_true(hlen < sizeof(c->head));
    memcpy(c->head, c->raw, hlen);
    for (size_t i = 0; i < hlen; i++)
        c->head[i] = (char)(c->head[i] >= 'A' && c->head[i] <= 'Z' ? c->head[i] + 32 : c->head[i]);
    memmove(c->raw, c->raw + hlen, c->rlen - hlen);
    c->rlen -= hlen;
    c->status = atoi(c->head + 9);
    if (c->status == 200) {
        assert_non_null(strstr(c->head, "content-type: text/event-stream"));
        assert_non_null(strstr(c->head, "cache-control: no-store"));
        assert_null(strstr(c->head, "content-encoding"));
        assert_non_null(strstr(c->head, "transfer-encoding: chunked"));
        dechunk(c);
    }
    return c->status;
}

void sse_close(sse *c)
{
    if (c->fd > 0)
        close(c->fd);
    c->fd = -1;
}

/* The next event (comments and retry-only blocks skipped) within
 * timeout_ms: 1, 0 when the stream ended, -1 when none came. */
int sse_next(sse *c, int timeout_ms, sse_event *ev)
{
    long long deadline = sse_now_ms() + timeout_ms;
    for (;;) {
        char *sep = memmem(c->body, c->blen, "\n\n", 2);
        if (sep) {
            size_t len = (size_t)(sep - c->body);
            char block[sizeof(c->body)];
            memcpy(block, c->body, len);
            block[len] = 0;
            memmove(c->body, sep + 2, c->blen - len - 2);
            c->blen -= len + 2;
            memset(ev, 0, sizeof(*ev));
            ev->id = -1;
            int fields = 0;
            for (char *line = strtok(block, "\n"); line; line = strtok(NULL, "\n")) {
                if (!strncmp(line, "id: ", 4))
                    ev->id = atoll(line + 4), fields++;
                else if (!strncmp(line, "event: ", 7))
                    snprintf(ev->event, sizeof(ev->event), "%s", line + 7), fields++;
                else if (!strncmp(line, "data: ", 6))
                    snprintf(ev->data, sizeof(ev->data), "%s", line + 6), fields++;
            }
            if (fields)
                return 1;
            continue;
        }
        if (c->ended)
            return 0;
        long long left = deadline - sse_now_ms();
        if (left <= 0 || fill(c, (int)left) < 0)
            return c->ended ? 0 : -1;
    }
}

