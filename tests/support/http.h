/* http.h — a tiny blocking HTTP/1.1 client for integration tests (one
 * connection per request, Connection: close), so tests speak real HTTP over
 * TCP to punyaka-api without any library in between. */
#ifndef PUNYAKA_TEST_HTTP_H
#define PUNYAKA_TEST_HTTP_H

#include <stddef.h>
#include <jansson.h>

typedef struct {
    int status;           /* 0 when the connection failed */
    char *headers;        /* raw header block; names lower-cased, values as sent */
    char *body;
    size_t body_len;
    json_t *json;         /* parsed body when it is JSON, else NULL */
} it_response;

/* extra_headers: "Name: value\r\n" lines or NULL. body may be NULL. */
it_response it_http(const char *method, const char *path, const char *extra_headers,
                    const char *body, size_t body_len);
/* it_http to another port of 127.0.0.1 (a metrics port: the API's
 * PUNYAKA_API_METRICS_PORT, a worker's PUNYAKA_WORKER_<N>_METRICS_PORT). */
it_response it_http_port(const char *port, const char *method, const char *path, const char *extra_headers);
/* POST with Content-Type: application/json. */
it_response it_post_json(const char *path, const char *json_body, const char *extra_headers);
/* Value of a response header (copied into buf) or NULL. */
const char *it_header(const it_response *r, const char *name, char *buf, size_t cap);
/* Value of the Set-Cookie named `name` (and, when attrs != NULL, the rest of
 * that header: "; Path=/; Max-Age=…"), or NULL. */
const char *it_cookie(const it_response *r, const char *name, char *buf, size_t cap, char *attrs, size_t attrcap);
void it_response_free(it_response *r);
/* A gzip body (Content-Encoding: gzip) inflated, NUL-terminated, malloc'd;
 * NULL unless `in` is exactly one valid gzip member. */
char *it_gunzip(const char *in, size_t len, size_t *out_len);
/* Requests from this thread leave from `ipv4` (e.g. "127.0.0.7": loopback
 * answers every 127.x address), so the API sees another client address;
 * NULL or "" goes back to the default. */
void it_http_source(const char *ipv4);

/* Several API processes behind one client, as a round-robin balancer puts
 * them: from now on it_http sends each thread's requests to `ports` in
 * turn, one request each (every thread keeps its own turn, so each client
 * alternates request by request). Any thread may change the list (drop a
 * dead API); n == 0 goes back to PUNYAKA_HTTP_PORT. it_http_port is not
 * affected. */
#define IT_HTTP_ROTATE_MAX 8
void it_http_rotate(const int *ports, size_t n);

#endif
