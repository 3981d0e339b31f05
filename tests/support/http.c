#include "tests/support/http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>
#include "tests/support/stack_env.h"

static _Thread_local char source_address[16];
static _Thread_local int not_the_api;   /* it_http_port: a metrics port, outside the API's contract */
static _Thread_local int port_override;   /* it_http_port's target, for one request */
static _Thread_local unsigned turn;       /* this thread's next entry of the rotation */

/* it_http_rotate's ports: shared by every thread, changed under the lock. */
static pthread_mutex_t rotation_lock = PTHREAD_MUTEX_INITIALIZER;
static int rotation[IT_HTTP_ROTATE_MAX];
static size_t rotation_n;

void it_http_rotate(const int *ports, size_t n)
{
    pthread_mutex_lock(&rotation_lock);
    rotation_n = n < IT_HTTP_ROTATE_MAX ? n : IT_HTTP_ROTATE_MAX;
    for (size_t i = 0; i < rotation_n; i++)
        rotation[i] = ports[i];
    pthread_mutex_unlock(&rotation_lock);
}

/* The API port this request goes to: the override, the next of the
 * rotation (each thread walks it on its own, so each client alternates
 * request by request), or PUNYAKA_HTTP_PORT. */
static int api_port(void)
{
    if (port_override)
        return port_override;
    pthread_mutex_lock(&rotation_lock);
    int port = rotation_n ? rotation[turn++ % rotation_n] : 0;
    pthread_mutex_unlock(&rotation_lock);
    return port ? port : atoi(it_env("PUNYAKA_HTTP_PORT"));
}

void it_http_source(const char *ipv4)
{
    snprintf(source_address, sizeof(source_address), "%s", ipv4 ? ipv4 : "");
}

static int connect_api(void)
{
    int port = api_port();
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct timeval tv = {30, 0};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (source_address[0]) {   /* any 127.x.y.z is this machine: a client "from another address" */
        struct sockaddr_in src = {.sin_family = AF_INET};
        inet_pton(AF_INET, source_address, &src.sin_addr);
        if (bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0) {
            close(fd);
            return -1;
        }
    }
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static char *read_all(int fd, size_t *len)
{
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap);
    ssize_t r;
    while ((r = recv(fd, buf + n, cap - n - 1, 0)) > 0) {
        n += (size_t)r;
        if (cap - n < 4096)
            buf = realloc(buf, cap *= 2);
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

/* A chunked body (a compressed answer, whose length h2o cannot know in
 * advance) decoded in place: hex size line, data, CRLF, … up to the 0
 * chunk. Returns the data's length; a malformed framing ends it there. */
static size_t dechunk(char *body, size_t len)
{
    size_t in = 0, out = 0;
    while (in < len) {
        char *eol = memchr(body + in, '\n', len - in);
        if (!eol)
            break;
        size_t n = strtoul(body + in, NULL, 16);
        in = (size_t)(eol - body) + 1;
        if (n == 0 || n > len - in)
            break;
        memmove(body + out, body + in, n);
        out += n;
        in += n + 2;   /* the data's CRLF */
    }
    body[out] = 0;
    return out;
}

static void parse_response(it_response *res, char *raw, size_t len)
{
    char *end = strstr(raw, "\r\n\r\n");
    if (!end || sscanf(raw, "HTTP/1.%*c %d", &res->status) != 1) {
        res->status = 0;
        return;
    }
    size_t hlen = (size_t)(end - raw);
    res->headers = strndup(raw, hlen);
    /* Lower-case header names only; values (cookies, tokens) are case-sensitive. */
    int in_name = 0;
    for (char *c = res->headers; *c; c++) {
        if (*c == '\n')
            in_name = 1;
        else if (*c == ':')
            in_name = 0;
        else if (in_name)
            *c = (char)tolower((unsigned char)*c);
    }
    res->body_len = len - hlen - 4;
    res->body = malloc(res->body_len + 1);
    memcpy(res->body, end + 4, res->body_len);
    res->body[res->body_len] = 0;
    char te[32];
    if (it_header(res, "transfer-encoding", te, sizeof(te)) && strcasecmp(te, "chunked") == 0)
        res->body_len = dechunk(res->body, res->body_len);
    json_error_t e;
    res->json = json_loadb(res->body, res->body_len, 0, &e);
}

char *it_gunzip(const char *in, size_t len, size_t *out_len)
{
    z_stream z = {0};
    size_t cap = 8 << 20;
    char *out = malloc(cap + 1);
    if (!out || inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {   /* 16+: gzip framing only */
        free(out);
        return NULL;
    }
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    int whole = inflate(&z, Z_FINISH) == Z_STREAM_END && z.avail_in == 0;
    *out_len = z.total_out;
    inflateEnd(&z);
    if (!whole) {
        free(out);
        return NULL;
    }
    out[*out_len] = 0;
    return out;
}

/* The body as a JSON string, or null when it is not UTF-8 text (jansson
 * refuses those; the validator then checks the status and type only). A
 * gzip body (a test that sent Accept-Encoding: gzip) is logged inflated:
 * the contract is about the representation, not its encoding. */
static json_t *body_value(const it_response *r)
{
    char enc[32];
    if (r->body_len && it_header(r, "content-encoding", enc, sizeof(enc)) && strcasecmp(enc, "gzip") == 0) {
        size_t n;
        char *plain = it_gunzip(r->body, r->body_len, &n);
        json_t *s = plain ? json_stringn(plain, n) : NULL;
        free(plain);
        return s ? s : json_null();
    }
    json_t *s = r->body ? json_stringn(r->body, r->body_len) : json_string("");
    return s ? s : json_null();
}

/* With PUNYAKA_RESPONSE_LOG set (the ctest fixture `responses`), every answer
 * of the API is appended to that file as one JSON line — method, path,
 * status, Content-Type, body — and tests/support/check_responses.sh checks
 * each against schemas/openapi.yaml after the suite (issue 15). One write()
 * on an O_APPEND file per line, so threads and test processes interleave
 * whole lines. */
static void log_response(const char *method, const char *path, const it_response *r)
{
    const char *file = getenv("PUNYAKA_RESPONSE_LOG");
    if (!file || !*file || not_the_api || r->status == 0)
        return;
    char type[256];
    json_t *line = json_pack("{s:s, s:s, s:s, s:i, s:s?, s:o}", "source", program_invocation_short_name, "method",
                             method, "path", path, "status", r->status, "content_type",
                             it_header(r, "content-type", type, sizeof(type)), "body", body_value(r));
    char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;
    json_decref(line);
    int fd = text ? open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644) : -1;
    if (fd >= 0) {
        size_t n = strlen(text);
        text[n] = '\n';   /* over the terminator: write() takes a length */
        if (write(fd, text, n + 1) != (ssize_t)(n + 1))
            fprintf(stderr, "PUNYAKA_RESPONSE_LOG %s: %s\n", file, strerror(errno));
        close(fd);
    }
    free(text);
}

it_response it_http(const char *method, const char *path, const char *extra_headers, const char *body,
                    size_t body_len)
{
    it_response res = {0};
    int fd = connect_api();
    if (fd < 0)
        return res;
    char head[4096];
    int n = snprintf(head, sizeof(head),
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: %zu\r\n%s\r\n", method,
                     path, body ? body_len : 0, extra_headers ? extra_headers : "");
    /* A server may answer before the whole body is sent (a 413 from the
     * headers alone) and close: read its answer even when sending failed. */
    if (send_all(fd, head, (size_t)n) == 0) {
        if (body)
            send_all(fd, body, body_len);
        size_t len;
        char *raw = read_all(fd, &len);
        parse_response(&res, raw, len);
        free(raw);
    }
    close(fd);
    log_response(method, path, &res);
    return res;
}

it_response it_http_port(const char *port, const char *method, const char *path, const char *extra_headers)
{
    port_override = atoi(port);   /* connect_api()'s target, for this one request */
    not_the_api = 1;
    it_response r = it_http(method, path, extra_headers, NULL, 0);
    not_the_api = 0;
    port_override = 0;
    return r;
}

it_response it_post_json(const char *path, const char *json_body, const char *extra_headers)
{
    char headers[2048];
    snprintf(headers, sizeof(headers), "Content-Type: application/json\r\n%s", extra_headers ? extra_headers : "");
    return it_http("POST", path, headers, json_body, strlen(json_body));
}

const char *it_header(const it_response *r, const char *name, char *buf, size_t cap)
{
    if (!r->headers)
        return NULL;
    char needle[128];
    snprintf(needle, sizeof(needle), "\r\n%s:", name);
    for (char *c = needle; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    const char *p = strstr(r->headers, needle);
    if (!p)
        return NULL;
    p += strlen(needle);
    while (*p == ' ')
        p++;
    size_t n = strcspn(p, "\r\n");
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, p, n);
    buf[n] = 0;
    return buf;
}

const char *it_cookie(const it_response *r, const char *name, char *buf, size_t cap, char *attrs, size_t attrcap)
{
    char needle[128];
    snprintf(needle, sizeof(needle), "\r\nset-cookie: %s=", name);
    const char *p = r->headers ? strstr(r->headers, needle) : NULL;
    if (!p)
        return NULL;
    p += strlen(needle);
    size_t n = strcspn(p, ";\r\n");
    snprintf(buf, cap, "%.*s", (int)n, p);
    if (attrs)
        snprintf(attrs, attrcap, "%.*s", (int)strcspn(p + n, "\r\n"), p + n);
    return buf;
}

void it_response_free(it_response *r)
{
    free(r->headers);
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}
