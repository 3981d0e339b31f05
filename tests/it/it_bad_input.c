/* it_bad_input.c — the bad-input table (issue 14): malformed and hostile
 * requests over HTTP, as the internet sends them, each answered 4xx (or the
 * connection closed) — never a 5xx, never a crash, never a state change.
 *
 * The state is a snapshot taken before and after the table: row counts of
 * every business table, a digest of every user's and priest profile's
 * public text, and the counts of command outcomes and dead letters — so a
 * request the API accepted and the worker then refused (dead-lettered), or
 * one applied in part, shows as a difference even when its answer was 4xx.
 *
 * Cases marked FINDING reproduce the findings of issue 14 and failed before
 * the fix (the API published them, or answered 503). Then, apart from the
 * table: SQL metacharacters round-trip as data, a slow client is cut off
 * within a bound while others are served, and the server still answers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <libpq-fe.h>
#include "common/booking_rules.h"
#include "tests/support/calls.h"
#include "tests/support/db.h"
#include "tests/support/http.h"
#include "tests/support/stack_env.h"

#define PASSWORD "long-enough-1"

static char tag[16];
static PGconn *db;
static it_actor customer, priest, admin;
static int64_t service_id;
static char future_date[11];

/* ---- the state snapshot ---- */

static char *snapshot(void)
{
    PGresult *r = PQexec(
        db, "SELECT concat_ws('|',"
            " (SELECT count(*) FROM users),"
            " (SELECT md5(coalesce(string_agg(concat_ws(',', id, username, email, first_name, last_name, phone,"
            "   address, place_of_birth, updated_at), ';' ORDER BY id), '')) FROM users),"
            " (SELECT count(*) FROM priest_profiles),"
            " (SELECT md5(coalesce(string_agg(concat_ws(',', id, specializations::text, languages::text, bio,"
            "   experience_years, updated_at), ';' ORDER BY id), '')) FROM priest_profiles),"
            " (SELECT count(*) FROM bookings), (SELECT count(*) FROM products), (SELECT count(*) FROM categories),"
            " (SELECT count(*) FROM services), (SELECT count(*) FROM orders), (SELECT count(*) FROM dead_letters),"
            " (SELECT count(*) FROM command_outcomes))");
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        fail_msg("snapshot: %s", PQerrorMessage(db));
    char *s = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return s;
}

/* ---- raw HTTP, for what it_http cannot send (huge headers, stalls) ---- */

static int raw_connect(int timeout_s)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(it_env("PUNYAKA_HTTP_PORT")))};
    struct timeval tv = {timeout_s, 0};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

/* Sends `req` and reads until the server closes: the status, or 0 when the
 * connection was closed (or reset) without an answer. */
static int raw_exchange(const char *req, size_t len)
{
    int fd = raw_connect(20);
    size_t sent = 0;
    while (sent < len) {
        ssize_t w = send(fd, req + sent, len - sent, MSG_NOSIGNAL);
        if (w <= 0)
            break;   /* the server may close before reading it all */
        sent += (size_t)w;
    }
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
    close(fd);
    int status = 0;
    if (n > 0) {
        buf[n] = 0;
        if (sscanf(buf, "HTTP/1.%*c %d", &status) != 1)
            status = 0;
    }
    return status;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the table ---- */

typedef struct {
    const char *what;
    char who;              /* A anonymous, C customer, P priest, M admin */
    const char *method, *path;
    const char *headers;   /* extra header lines, or NULL */
    const char *body;      /* template (expand), or NULL */
    int status;
    const char *code;      /* the problem's code, or NULL for any */
    const char *field;     /* named in `errors`, or NULL */
    int finding;           /* 1: an issue-14 finding, failed before the fix */
} bad_case;

#define REG_BASE "\"username\":\"{U}\",\"email\":\"{U}@example.com\",\"password\":\"" PASSWORD "\""
#define REG(extra) "{" REG_BASE "," extra "}"
#define BOOK(extra) "{\"priest\":{P},\"service\":{S},\"booking_date\":\"{D}\",\"booking_time\":\"10:00\"," extra "}"
#define JSON_CT "Content-Type: application/json\r\n"

static const bad_case CASES[] = {
    /* --- accepted by the API, refused by the worker (findings) --- */
    {"113-character phone at registration", 'A', "POST", "/api/auth/register/", NULL, REG("\"phone\":\"{PHONE113}\""), 422, "validation_error", "phone", 1},
    {"113-character phone in PATCH me", 'C', "PATCH", "/api/auth/me/", NULL, "{\"phone\":\"{PHONE113}\"}", 422, "validation_error", "phone", 1},
    {"specializations as one 50 KB string", 'A', "POST", "/api/auth/register/", NULL, REG("\"role\":\"priest\",\"specializations\":\"{SPEC50K}\""), 422, "validation_error", "specializations", 1},
    {"specializations item empty", 'A', "POST", "/api/auth/register/", NULL, REG("\"role\":\"priest\",\"specializations\":[\"\"]"), 422, "validation_error", "specializations", 1},
    {"languages item with a bell", 'A', "POST", "/api/auth/register/", NULL, REG("\"role\":\"priest\",\"languages\":[\"Hindi\\u0007\"]"), 422, "validation_error", "languages", 1},
    {"21 specializations", 'A', "POST", "/api/auth/register/", NULL, REG("\"role\":\"priest\",\"specializations\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\",\"k\",\"l\",\"m\",\"n\",\"o\",\"p\",\"q\",\"r\",\"s\",\"t\",\"u\"]"), 422, "validation_error", "specializations", 0},
    {"priest PATCH: first_name with an invalid specialization (partial apply)", 'P', "PATCH", "/api/auth/me/", NULL, "{\"first_name\":\"Changed\",\"specializations\":[\"\"]}", 422, "validation_error", "specializations", 1},
    {"priest PATCH: first_name with a control character in a language", 'P', "PATCH", "/api/auth/me/", NULL, "{\"first_name\":\"Changed\",\"languages\":[\"Marathi\\u001b[31m\"]}", 422, "validation_error", "languages", 1},
    {"priest PATCH: bio with a bidi override", 'P', "PATCH", "/api/auth/me/", NULL, "{\"first_name\":\"Changed\",\"bio\":\"\\u202eevil\"}", 422, "validation_error", "bio", 1},
    /* --- public text: control, format and bidi characters (findings) --- */
    {"first_name with RLO U+202E", 'A', "POST", "/api/auth/register/", NULL, REG("\"first_name\":\"\\u202eivaR\""), 422, "validation_error", "first_name", 1},
    {"first_name with LRI U+2066", 'A', "POST", "/api/auth/register/", NULL, REG("\"first_name\":\"a\\u2066b\""), 422, "validation_error", "first_name", 1},
    {"first_name with ZWSP U+200B", 'A', "POST", "/api/auth/register/", NULL, REG("\"first_name\":\"ad\\u200bmin\""), 422, "validation_error", "first_name", 1},
    {"first_name with BOM U+FEFF", 'A', "POST", "/api/auth/register/", NULL, REG("\"first_name\":\"\\ufeffRavi\""), 422, "validation_error", "first_name", 1},
    {"first_name with soft hyphen U+00AD", 'A', "POST", "/api/auth/register/", NULL, REG("\"first_name\":\"Ra\\u00advi\""), 422, "validation_error", "first_name", 1},
    {"first_name starting with ZWJ", 'A', "POST", "/api/auth/register/", NULL, REG("\"first_name\":\"\\u200dRavi\""), 422, "validation_error", "first_name", 1},
    {"first_name with C1 NEL U+0085", 'A', "POST", "/api/auth/register/", NULL, REG("\"first_name\":\"Ra\\u0085vi\""), 422, "validation_error", "first_name", 1},
    {"first_name with DEL", 'A', "POST", "/api/auth/register/", NULL, REG("\"first_name\":\"Ra\\u007fvi\""), 422, "validation_error", "first_name", 1},
    {"first_name with a newline", 'A', "POST", "/api/auth/register/", NULL, REG("\"first_name\":\"Ra\\nvi\""), 422, "validation_error", "first_name", 1},
    {"last_name with a bell", 'A', "POST", "/api/auth/register/", NULL, REG("\"last_name\":\"Sh\\u0007arma\""), 422, "validation_error", "last_name", 0},
    {"place_of_birth with U+2028", 'A', "POST", "/api/auth/register/", NULL, REG("\"place_of_birth\":\"Pune\\u2028x\""), 422, "validation_error", "place_of_birth", 1},
    {"address with PDF U+202C", 'A', "POST", "/api/auth/register/", NULL, REG("\"address\":\"12 Rd\\u202c\""), 422, "validation_error", "address", 1},
    {"first_name with a tag character", 'A', "POST", "/api/auth/register/", NULL, REG("\"first_name\":\"a\\udb40\\udc61\""), 422, "validation_error", "first_name", 1},
    {"PATCH me: first_name with ZWSP", 'C', "PATCH", "/api/auth/me/", NULL, "{\"first_name\":\"a\\u200bb\"}", 422, "validation_error", "first_name", 1},
    {"product name with RLO", 'M', "POST", "/api/admin/products/", NULL, "{\"slug\":\"bad-{U}\",\"name\":\"\\u202eKumkum\",\"price\":\"20.00\"}", 422, "validation_error", "name", 1},
    {"product name with a newline", 'M', "POST", "/api/admin/products/", NULL, "{\"slug\":\"bad-{U}\",\"name\":\"Kum\\nkum\",\"price\":\"20.00\"}", 422, "validation_error", "name", 1},
    {"category name with ZWSP", 'M', "POST", "/api/admin/categories/", NULL, "{\"slug\":\"bad-{U}\",\"name\":\"Sa\\u200bmagri\"}", 422, "validation_error", "name", 1},
    {"service name with LRM", 'M', "POST", "/api/admin/services/", NULL, "{\"name\":\"Puja\\u200e\",\"description\":\"\",\"service_type\":\"puja\",\"duration_minutes\":60,\"base_price\":\"10.00\"}", 422, "validation_error", "name", 1},
    {"product description with C1 CSI", 'M', "POST", "/api/admin/products/", NULL, "{\"slug\":\"bad-{U}\",\"name\":\"Kumkum\",\"description\":\"x\\u009by\",\"price\":\"20.00\"}", 422, "validation_error", "description", 1},
    /* --- bookings: the 30-minute grid (findings) and text --- */
    {"booking at 10:07", 'C', "POST", "/api/bookings/", NULL, "{\"priest\":{P},\"service\":{S},\"booking_date\":\"{D}\",\"booking_time\":\"10:07\"}", 422, "validation_error", "booking_time", 1},
    {"booking at 10:15", 'C', "POST", "/api/bookings/", NULL, "{\"priest\":{P},\"service\":{S},\"booking_date\":\"{D}\",\"booking_time\":\"10:15\"}", 422, "validation_error", "booking_time", 1},
    {"booking at 10:30:30", 'C', "POST", "/api/bookings/", NULL, "{\"priest\":{P},\"service\":{S},\"booking_date\":\"{D}\",\"booking_time\":\"10:30:30\"}", 422, "validation_error", "booking_time", 0},
    {"booking on 30 February", 'C', "POST", "/api/bookings/", NULL, "{\"priest\":{P},\"service\":{S},\"booking_date\":\"2027-02-30\",\"booking_time\":\"10:00\"}", 422, "validation_error", "booking_date", 0},
    {"booking address with RLO", 'C', "POST", "/api/bookings/", NULL, BOOK("\"location_address\":\"\\u202e12 Rd\""), 422, "validation_error", "location_address", 1},
    {"booking instructions with ESC", 'C', "POST", "/api/bookings/", NULL, BOOK("\"special_instructions\":\"\\u001b[2J\""), 422, "validation_error", "special_instructions", 0},
    {"booking latitude 91", 'C', "POST", "/api/bookings/", NULL, BOOK("\"location_latitude\":91"), 422, "validation_error", "location_latitude", 0},
    {"booking priest as SQL text", 'C', "POST", "/api/bookings/", NULL, "{\"priest\":\"1; DROP TABLE bookings\",\"service\":{S},\"booking_date\":\"{D}\",\"booking_time\":\"10:00\"}", 422, "validation_error", "priest", 0},
    {"booking priest 1e30", 'C', "POST", "/api/bookings/", NULL, "{\"priest\":1e30,\"service\":{S},\"booking_date\":\"{D}\",\"booking_time\":\"10:00\"}", 422, "validation_error", "priest", 0},
    /* --- query parameters --- */
    {"search=%ff", 'A', "GET", "/api/products/?search=%ff", NULL, NULL, 400, "malformed_query", "search", 1},
    {"q=%c0%af (overlong)", 'A', "GET", "/api/products/?q=%c0%af", NULL, NULL, 400, "malformed_query", "q", 1},
    {"search=%ed%a0%80 (surrogate)", 'A', "GET", "/api/products/?search=%ed%a0%80", NULL, NULL, 400, "malformed_query", "search", 1},
    {"search=%00", 'A', "GET", "/api/products/?search=a%00b", NULL, NULL, 400, "malformed_query", "search", 0},
    {"search=%1b", 'A', "GET", "/api/products/?search=%1b", NULL, NULL, 422, "validation_error", "search", 0},
    {"search=%zz", 'A', "GET", "/api/products/?search=%zz", NULL, NULL, 422, "validation_error", "search", 0},
    {"page=%ff", 'A', "GET", "/api/products/?page=%ff", NULL, NULL, 400, "malformed_query", "page", 0},
    {"page=99999999999999999999", 'A', "GET", "/api/products/?page=99999999999999999999", NULL, NULL, 422, "validation_error", "page", 0},
    {"page_size=-1", 'A', "GET", "/api/products/?page_size=-1", NULL, NULL, 422, "validation_error", "page_size", 0},
    {"priests ordering=%ff", 'A', "GET", "/api/priests/?ordering=%ff", NULL, NULL, 400, "malformed_query", "ordering", 1},
    {"priests q=%fe%ff", 'A', "GET", "/api/priests/?q=%fe%ff", NULL, NULL, 400, "malformed_query", "q", 1},
    {"services service_type=%80", 'A', "GET", "/api/services/?service_type=%80", NULL, NULL, 400, "malformed_query", "service_type", 1},
    /* --- JSON itself --- */
    {"NUL escape in a string", 'A', "POST", "/api/auth/register/", NULL, "{\"username\":\"a\\u0000b\",\"email\":\"x@example.com\",\"password\":\"" PASSWORD "\"}", 400, "malformed_json", NULL, 0},
    {"raw invalid UTF-8", 'A', "POST", "/api/auth/register/", NULL, "{\"username\":\"\xff\xfe\",\"email\":\"x@example.com\",\"password\":\"" PASSWORD "\"}", 400, "malformed_json", NULL, 0},
    {"overlong UTF-8 '/'", 'A', "POST", "/api/auth/register/", NULL, REG("\"first_name\":\"\xc0\xaf\""), 400, "malformed_json", NULL, 0},
    {"lone surrogate escape", 'A', "POST", "/api/auth/register/", NULL, REG("\"first_name\":\"\\ud800\""), 400, "malformed_json", NULL, 0},
    {"duplicate keys", 'A', "POST", "/api/auth/register/", NULL, REG("\"role\":\"customer\",\"role\":\"priest\""), 400, "malformed_json", NULL, 0},
    {"deep nesting", 'A', "POST", "/api/auth/register/", NULL, "{DEEP}", 400, "malformed_json", NULL, 0},
    {"NaN", 'A', "POST", "/api/auth/register/", NULL, REG("\"experience_years\":NaN"), 400, "malformed_json", NULL, 0},
    {"Infinity", 'C', "POST", "/api/bookings/", NULL, BOOK("\"location_latitude\":Infinity"), 400, "malformed_json", NULL, 0},
    {"huge real 1e400", 'C', "POST", "/api/bookings/", NULL, BOOK("\"location_longitude\":1e400"), 400, "malformed_json", NULL, 0},
    {"huge integer", 'A', "POST", "/api/auth/register/", NULL, REG("\"role\":\"priest\",\"experience_years\":123456789012345678901234567890"), 400, "malformed_json", NULL, 0},
    {"experience_years as a real", 'A', "POST", "/api/auth/register/", NULL, REG("\"role\":\"priest\",\"experience_years\":1e3"), 422, "validation_error", "experience_years", 0},
    {"a top-level array", 'A', "POST", "/api/auth/register/", NULL, "[1,2,3]", 400, "malformed_json", NULL, 0},
    {"trailing garbage", 'A', "POST", "/api/auth/register/", NULL, REG("\"role\":\"customer\"") " x", 400, "malformed_json", NULL, 0},
    {"text/plain", 'A', "POST", "/api/auth/register/", "Content-Type: text/plain\r\n", REG("\"role\":\"customer\""), 415, NULL, NULL, 0},
    {"a 70 KB first_name", 'A', "POST", "/api/auth/register/", NULL, REG("\"first_name\":\"{BIG70K}\""), 422, "validation_error", "first_name", 0},
    {"a 600-byte first_name", 'A', "POST", "/api/auth/register/", NULL, REG("\"first_name\":\"{BIG600}\""), 422, "validation_error", "first_name", 0},
    /* --- accounts: look-alikes and formats --- */
    {"username with Cyrillic a (look-alike of admin)", 'A', "POST", "/api/auth/register/", NULL, "{\"username\":\"\xd0\xb0" "dmin{U}\",\"email\":\"{U}@example.com\",\"password\":\"" PASSWORD "\"}", 422, "validation_error", "username", 0},
    {"username with a quote", 'A', "POST", "/api/auth/register/", NULL, "{\"username\":\"o'brien{U}\",\"email\":\"{U}@example.com\",\"password\":\"" PASSWORD "\"}", 422, "validation_error", "username", 0},
    {"username with a space", 'A', "POST", "/api/auth/register/", NULL, "{\"username\":\"a b{U}\",\"email\":\"{U}@example.com\",\"password\":\"" PASSWORD "\"}", 422, "validation_error", "username", 0},
    {"email with a newline", 'A', "POST", "/api/auth/register/", NULL, "{\"username\":\"{U}\",\"email\":\"{U}@example.com\\nBcc: x@y.z\",\"password\":\"" PASSWORD "\"}", 422, "validation_error", "email", 0},
    {"date_of_birth 1990-02-30", 'A', "POST", "/api/auth/register/", NULL, REG("\"date_of_birth\":\"1990-02-30\""), 422, "validation_error", "date_of_birth", 0},
    {"time_of_birth 25:00", 'A', "POST", "/api/auth/register/", NULL, REG("\"time_of_birth\":\"25:00\""), 422, "validation_error", "time_of_birth", 0},
    {"login with invalid UTF-8", 'A', "POST", "/api/auth/login/", NULL, "{\"username\":\"\xe0\x80\",\"password\":\"x\"}", 400, "malformed_json", NULL, 0},
    /* --- headers --- */
    {"Idempotency-Key with 0xff", 'A', "POST", "/api/auth/register/", JSON_CT "Idempotency-Key: k\xff\r\n", REG("\"role\":\"customer\""), 400, "malformed_header", "Idempotency-Key", 1},
    {"Idempotency-Key of 300 bytes", 'A', "POST", "/api/auth/register/", JSON_CT "Idempotency-Key: {IDEM300}\r\n", REG("\"role\":\"customer\""), 400, "malformed_header", "Idempotency-Key", 1},
};

/* Expands {U} (a fresh name), {P} {S} {D} and the generated values. */
static char *expand(const char *t, int n)
{
    size_t cap = strlen(t) + 128 * 1024, len = 0;
    char *out = malloc(cap);
    for (const char *c = t; *c;) {
        const char *end = *c == '{' ? strchr(c, '}') : NULL;
        size_t k = end ? (size_t)(end - c + 1) : 0;
        char tok[16] = "";
        if (k && k < sizeof(tok))
            memcpy(tok, c, k), tok[k] = 0;
        if (!strcmp(tok, "{U}"))
            len += (size_t)snprintf(out + len, cap - len, "bad%s%d", tag, n);
        else if (!strcmp(tok, "{P}"))
            len += (size_t)snprintf(out + len, cap - len, "%lld", (long long)priest.priest_id);
        else if (!strcmp(tok, "{S}"))
            len += (size_t)snprintf(out + len, cap - len, "%lld", (long long)service_id);
        else if (!strcmp(tok, "{D}"))
            len += (size_t)snprintf(out + len, cap - len, "%s", future_date);
        else if (!strcmp(tok, "{PHONE113}")) {   /* 7 digits, then 106 spaces and dashes */
            len += (size_t)snprintf(out + len, cap - len, "9876543");
            for (int i = 0; i < 106; i++)
                out[len++] = i % 2 ? '-' : ' ';
        } else if (!strcmp(tok, "{SPEC50K}")) {   /* no comma: one 50 KB item */
            memset(out + len, 'v', 50 * 1024);
            len += 50 * 1024;
        } else if (!strcmp(tok, "{BIG70K}") || !strcmp(tok, "{BIG600}")) {
            size_t m = tok[4] == '7' ? 70 * 1024 : 600;
            memset(out + len, 'n', m);
            len += m;
        } else if (!strcmp(tok, "{IDEM300}")) {
            memset(out + len, 'k', 300);
            len += 300;
        } else if (!strcmp(tok, "{DEEP}")) {   /* 5000 nested arrays inside an object */
            len += (size_t)snprintf(out + len, cap - len, "{\"a\":");
            for (int i = 0; i < 5000; i++)
                out[len++] = '[';
            for (int i = 0; i < 5000; i++)
                out[len++] = ']';
            out[len++] = '}';
        } else {
            out[len++] = *c++;
            continue;
        }
        c += k;
    }
    out[len] = 0;
    return out;
}

static const it_actor *actor(char who)
{
    return who == 'C' ? &customer : who == 'P' ? &priest : who == 'M' ? &admin : NULL;
}

static int named(const it_response *r, const char *field)
{
    return r->json && json_object_get(json_object_get(r->json, "errors"), field) != NULL;
}

static void test_the_table_changes_nothing(void **state)
{
    (void)state;
    size_t n = sizeof(CASES) / sizeof(CASES[0]);
    char *before = snapshot();
    int wrong = 0;
    double t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        const bad_case *c = &CASES[i];
        char *body = c->body ? expand(c->body, (int)i) : NULL;
        char *extra = c->headers ? expand(c->headers, (int)i) : NULL;
        const it_actor *who = actor(c->who);
        char headers[2048];
        snprintf(headers, sizeof(headers), "%s%s%s", who ? who->headers : "",
                 extra ? extra : (body ? JSON_CT : ""), "Prefer: wait=10\r\n");
        it_response r = it_http(c->method, c->path, headers, body, body ? strlen(body) : 0);
        const char *code = r.json ? json_string_value(json_object_get(r.json, "code")) : NULL;
        if (r.status != c->status || (c->code && (!code || strcmp(code, c->code) != 0)) ||
            (c->field && !named(&r, c->field))) {
            fprintf(stderr, "case %zu %s(%s): got %d %s, want %d %s naming %s: %.300s\n", i,
                    c->finding ? "FINDING " : "", c->what, r.status, code ? code : "-", c->status,
                    c->code ? c->code : "-", c->field ? c->field : "-", r.body ? r.body : "");
            wrong++;
        }
        if (r.status >= 500 || r.status == 0)
            fprintf(stderr, "case %zu (%s): %d — a 5xx or no answer is never right\n", i, c->what, r.status);
        it_response_free(&r);
        free(body);
        free(extra);
    }
    fprintf(stderr, "%zu cases in %.1f s\n", n, now_s() - t0);
    assert_true(n >= 60);
    /* Anything published would have been applied or dead-lettered by now
     * (every case waited up to 10 s for its outcome). */
    char *after = snapshot();
    if (strcmp(before, after) != 0)
        fprintf(stderr, "state changed:\n  before %s\n  after  %s\n", before, after);
    assert_int_equal(wrong, 0);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

/* Headers too big for the API: 431, a 4xx, or a closed connection. */
static void test_huge_headers(void **state)
{
    (void)state;
    static const char *const NAMES[] = {"X-Padding", "Cookie", "Idempotency-Key"};
    for (size_t k = 0; k < 3; k++) {
        size_t big = 100 * 1024, cap = big + 512;
        char *req = malloc(cap);
        int at = snprintf(req, cap, "GET /api/products/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s: ",
                          NAMES[k]);
        memset(req + at, 'a', big);
        int len = at + (int)big + snprintf(req + at + big, cap - (size_t)at - big, "\r\n\r\n");
        int status = raw_exchange(req, (size_t)len);
        free(req);
        if (!(status == 0 || (status >= 400 && status < 500)))
            fail_msg("a 100 KB %s header: %d", NAMES[k], status);
    }
    it_response r = it_http("GET", "/healthz", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    it_response_free(&r);
}

/* SQL metacharacters are data: a search for them finds nothing (200, an
 * empty list), and a name with quotes and markup is stored and shown
 * exactly as sent (parameterised SQL, and the web UI renders textContent). */
static void test_sql_metacharacters_round_trip(void **state)
{
    (void)state;
    it_response r = it_http("GET", "/api/products/?search=%27%3B%20DROP%20TABLE%20products%3B--", NULL, NULL, 0);
    it_expect_status(&r, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "count")), 0);
    it_response_free(&r);
    r = it_http("GET", "/api/priests/?q=%27%20OR%20%271%27%3D%271", NULL, NULL, 0);
    it_expect_status(&r, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "count")), 0);
    it_response_free(&r);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM pg_tables WHERE tablename = 'products'", NULL), 1);

    /* Quotes, a backslash, markup and Devanagari with a ZWJ inside a word. */
    const char *name = "O'Brien\\\"; DROP TABLE users;-- <b>\xe0\xa4\x95\xe0\xa5\x8d\xe2\x80\x8d\xe0\xa4\xb7</b>";
    json_t *doc = json_pack("{s:s}", "last_name", name);
    char *body = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    r = it_call("PATCH", "/api/auth/me/", &customer, body);
    free(body);
    it_expect_status(&r, 200);
    it_response_free(&r);
    r = it_call("GET", "/api/auth/me/", &customer, NULL);
    it_expect_status(&r, 200);
    json_t *user = json_object_get(r.json, "user") ? json_object_get(r.json, "user") : r.json;
    assert_string_equal(it_str(user, "last_name"), name);
    it_response_free(&r);
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)customer.user_id);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM users WHERE id = $1 AND last_name = $2", id, name, NULL), 1);
}

/* A client that sends half a body and stalls is cut off within a bound
 * (h2o's I/O timeout), and meanwhile everyone else is served at once. */
static void test_slow_clients(void **state)
{
    (void)state;
    enum { SLOW = 16 };
    int fds[SLOW];
    static const char HALF[] = "POST /api/auth/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                               "Content-Length: 200\r\n\r\n{\"username\":\"slow\",";
    double t0 = now_s();
    for (int i = 0; i < SLOW; i++) {
        fds[i] = raw_connect(25);
        assert_int_equal(send(fds[i], HALF, sizeof(HALF) - 1, MSG_NOSIGNAL), (ssize_t)(sizeof(HALF) - 1));
    }
    for (int i = 0; i < 20; i++) {
        double t = now_s();
        it_response r = it_http("GET", "/api/services/", NULL, NULL, 0);
        assert_int_equal(r.status, 200);
        it_response_free(&r);
        if (now_s() - t > 2.0)   /* a stalled client would hold it 10 s */
            fail_msg("a normal request took %.2f s beside %d stalled clients", now_s() - t, SLOW);
    }
    for (int i = 0; i < SLOW; i++) {
        char buf[512];
        ssize_t n = recv(fds[i], buf, sizeof(buf) - 1, 0);
        int status = 0;
        if (n > 0) {
            buf[n] = 0;
            sscanf(buf, "HTTP/1.%*c %d", &status);
        }
        close(fds[i]);
        if (n < 0)
            fail_msg("stalled client %d still connected after %.1f s", i, now_s() - t0);
        if (n > 0 && (status < 400 || status >= 500))
            fail_msg("stalled client %d got %d", i, status);
    }
    double waited = now_s() - t0;
    fprintf(stderr, "stalled clients cut off after %.1f s\n", waited);
    assert_true(waited < 20.0);
}

static int setup(void **state)
{
    (void)state;
    char extra[256];
    snprintf(customer.name, sizeof(customer.name), "badc%s", tag);
    if (it_sign_up(&customer, "customer", PASSWORD, "\"first_name\":\"Bhakt\"") != 201)
        return -1;
    snprintf(priest.name, sizeof(priest.name), "badp%s", tag);
    snprintf(extra, sizeof(extra), "\"first_name\":\"Pandit\",\"specializations\":[\"havan\"],\"languages\":[\"Hindi\"]");
    if (it_sign_up(&priest, "priest", PASSWORD, extra) != 201)
        return -1;
    snprintf(admin.name, sizeof(admin.name), "bada%s", tag);
    if (it_sign_in_admin(&admin, PASSWORD) != 200)
        return -1;
    it_response r = it_callf("POST", &admin, "{\"verified\":true}", "/api/admin/priests/%lld/verify/",
                             (long long)priest.priest_id);
    int ok = r.status == 200;
    it_response_free(&r);
    char body[256];
    snprintf(body, sizeof(body),
             "{\"name\":\"Bad Input Puja %s\",\"description\":\"\",\"service_type\":\"puja\",\"duration_minutes\":60,"
             "\"base_price\":\"100.00\"}",
             tag);
    r = it_call("POST", "/api/admin/services/", &admin, body);
    service_id = r.status == 201 ? it_num(r.json, "id") : 0;
    it_response_free(&r);
    booking_date d;
    int minute;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    booking_us_to_local(((int64_t)tv.tv_sec + 5 * 86400) * 1000000, BOOKING_TZ_OFFSET_DEFAULT, &d, &minute);
    booking_format_date(d, future_date);
    return ok && service_id > 0 ? 0 : -1;
}

int main(void)
{
    if (it_start(tag, sizeof(tag)) != 0)
        return 1;
    db = it_db();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_table_changes_nothing),
        cmocka_unit_test(test_huge_headers),
        cmocka_unit_test(test_sql_metacharacters_round_trip),
        cmocka_unit_test(test_slow_clients),
    };
    int failed = cmocka_run_group_tests_name("bad_input", tests, setup, NULL);
    PQfinish(db);
    return failed;
}
