#include "tests/support/load.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "tests/support/commands.h"
#include "tests/support/db.h"
#include "tests/support/http.h"

#define LEDGER_MAX 50000
#define WAIT_HEADER "Prefer: wait=3\r\n"
#define ADDRESS                                                                                               \
    "{\"shipping_address\":\"12 Temple Road\",\"shipping_city\":\"Pune\",\"shipping_state\":\"Maharashtra\"," \
    "\"shipping_pincode\":\"411001\",\"shipping_phone\":\"+91 98765 43210\"}"

typedef struct {
    load *l;
    const it_actor *who;
    int customer;   /* -1: the admin */
    unsigned seed;
} client;

struct load {
    const load_world *w;
    char slot_dates[4][11];   /* this round's contested days */
    atomic_int stop;
    pthread_t threads[LOAD_CUSTOMERS + 1];
    client clients[LOAD_CUSTOMERS + 1];
    pthread_mutex_t lock;
    load_entry *entries;
    size_t n;
    atomic_uint unrecorded;
};

/* ---- the ledger ---- */

static void record(load *l, const char *path, const it_response *r)
{
    char id[40] = "";
    const char *body_id = r->json ? json_string_value(json_object_get(r->json, "command_id")) : NULL;
    if (!it_header(r, "x-command-id", id, sizeof(id)) && body_id)
        snprintf(id, sizeof(id), "%s", body_id);
    if (!id[0] || r->status == 0) {
        atomic_fetch_add(&l->unrecorded, 1);
        return;
    }
    pthread_mutex_lock(&l->lock);
    if (l->n < LEDGER_MAX) {
        load_entry *e = &l->entries[l->n++];
        snprintf(e->id, sizeof(e->id), "%s", id);
        snprintf(e->path, sizeof(e->path), "%s", path);
        e->status = r->status;
        e->verdict = r->status == 503 ? LOAD_REFUSED : LOAD_ACCEPTED;
    }
    pthread_mutex_unlock(&l->lock);
}

static void request(load *l, const it_actor *who, const char *method, const char *path, const char *body)
{
    char headers[512];
    snprintf(headers, sizeof(headers), "%s%s" WAIT_HEADER, who->headers,
             body ? "Content-Type: application/json\r\n" : "");
    it_response r = it_http(method, path, headers, body, body ? strlen(body) : 0);
    record(l, path, &r);
    it_response_free(&r);
}

/* ---- what a customer does ---- */

static void book(client *c)
{
    const load_world *w = c->l->w;
    static const char *const TIMES[] = {"09:00", "09:30", "10:00", "10:30"};
    char body[512];
    snprintf(body, sizeof(body),
             "{\"priest\":%lld,\"service\":%lld,\"booking_date\":\"%s\",\"booking_time\":\"%s\","
             "\"location_address\":\"12 Temple Road, Pune\"}",
             (long long)w->priest.priest_id, (long long)w->service, c->l->slot_dates[rand_r(&c->seed) % 4],
             TIMES[rand_r(&c->seed) % 4]);
    request(c->l, c->who, "POST", "/api/bookings/", body);
}

static void buy(client *c)
{
    char body[96];
    snprintf(body, sizeof(body), "{\"product_id\":%lld,\"quantity\":%d}", (long long)c->l->w->product,
             1 + (int)(rand_r(&c->seed) % 3));
    request(c->l, c->who, "POST", "/api/cart/add_item/", body);
    request(c->l, c->who, "POST", "/api/orders/checkout/", ADDRESS);
}

static void rate(client *c)
{
    char path[64], body[64];
    snprintf(path, sizeof(path), "/api/bookings/%lld/rate/",
             (long long)c->l->w->ratable[c->customer][rand_r(&c->seed) % LOAD_RATABLE]);
    snprintf(body, sizeof(body), "{\"rating\":%d}", 1 + (int)(rand_r(&c->seed) % 5));
    request(c->l, c->who, "POST", path, body);
}

static void edit_profile(client *c)
{
    char body[64];
    snprintf(body, sizeof(body), "{\"first_name\":\"Bhakt%u\"}", rand_r(&c->seed) % 1000);
    request(c->l, c->who, "PATCH", "/api/auth/me/", body);
}

static void add_stock(client *c)
{
    char path[64];
    snprintf(path, sizeof(path), "/api/admin/products/%lld/stock/", (long long)c->l->w->product);
    request(c->l, c->who, "POST", path, "{\"delta\":1,\"reason\":\"fault suite\"}");
}

static void *run(void *arg)
{
    client *c = arg;
    while (!atomic_load(&c->l->stop)) {
        if (c->customer < 0) {
            add_stock(c);
            usleep(150 * 1000);
            continue;
        }
        switch (rand_r(&c->seed) % 6) {
        case 0: case 1: book(c); break;
        case 2: case 3: buy(c); break;
        case 4: rate(c); break;
        default: edit_profile(c); break;
        }
        usleep(50 * 1000);
    }
    return NULL;
}

static void date_in(int days, char out[11]);

load *load_start(const load_world *w, int round)
{
    load *l = calloc(1, sizeof(*l));
    l->w = w;
    for (int d = 0; d < 4; d++)
        date_in(20 + 4 * round + d, l->slot_dates[d]);
    l->entries = calloc(LEDGER_MAX, sizeof(*l->entries));
    pthread_mutex_init(&l->lock, NULL);
    for (int i = 0; i <= LOAD_CUSTOMERS; i++) {
        int admin = i == LOAD_CUSTOMERS;
        l->clients[i] = (client){l, admin ? &w->admin : &w->customers[i], admin ? -1 : i, (unsigned)(i * 7919 + 1)};
        if (pthread_create(&l->threads[i], NULL, run, &l->clients[i]) != 0)
            abort();
    }
    return l;
}

void load_stop(load *l)
{
    atomic_store(&l->stop, 1);
    for (int i = 0; i <= LOAD_CUSTOMERS; i++)
        pthread_join(l->threads[i], NULL);
}

size_t load_count(const load *l)
{
    load *m = (load *)l;   /* the lock only: safe while the load runs */
    pthread_mutex_lock(&m->lock);
    size_t n = m->n;
    pthread_mutex_unlock(&m->lock);
    return n;
}
const load_entry *load_at(const load *l, size_t i) { return &l->entries[i]; }
unsigned load_unrecorded(const load *l) { return atomic_load(&((load *)l)->unrecorded); }

void load_free(load *l)
{
    pthread_mutex_destroy(&l->lock);
    free(l->entries);
    free(l);
}

/* ---- the world ---- */

/* The date `days` from now, YYYY-MM-DD (UTC: days ahead, never a boundary). */
static void date_in(int days, char out[11])
{
    time_t t = time(NULL) + (time_t)days * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

static int64_t post_id(const it_actor *who, const char *path, const char *body)
{
    it_response r = it_call("POST", path, who, body);
    int64_t id = r.status == 201 || r.status == 200 ? it_num(r.json, "id") : 0;
    if (!id)
        fprintf(stderr, "load world: %s: HTTP %d %s\n", path, r.status, r.body ? r.body : "");
    it_response_free(&r);
    return id;
}

static int post_ok(const it_actor *who, const char *path, const char *body)
{
    it_response r = it_call("POST", path, who, body);
    int ok = r.status == 200 || r.status == 201;
    if (!ok)
        fprintf(stderr, "load world: %s: HTTP %d %s\n", path, r.status, r.body ? r.body : "");
    it_response_free(&r);
    return ok;
}

/* A booking that has begun (it_book_started: a priest completes a booking
 * only then), confirmed and completed over HTTP. */
static int64_t completed_booking(const load_world *w, PGconn *db, const it_actor *c, int n)
{
    char path[64];
    int64_t id = it_book_started(db, c->user_id, w->priest.priest_id, w->service, n);
    snprintf(path, sizeof(path), "/api/bookings/%lld/confirm/", (long long)id);
    int ok = id && post_ok(&w->priest, path, NULL);
    snprintf(path, sizeof(path), "/api/bookings/%lld/complete/", (long long)id);
    return ok && post_ok(&w->priest, path, NULL) ? id : 0;
}

static int people(load_world *w, const char *tag, const char *password)
{
    snprintf(w->admin.name, sizeof(w->admin.name), "faultadm%s", tag);
    snprintf(w->priest.name, sizeof(w->priest.name), "faultpandit%s", tag);
    if (it_sign_in_admin(&w->admin, password) != 200 || it_sign_up(&w->priest, "priest", password, NULL) != 201)
        return -1;
    char path[64];
    snprintf(path, sizeof(path), "/api/admin/priests/%lld/verify/", (long long)w->priest.priest_id);
    if (!post_ok(&w->admin, path, "{\"verified\":true}"))
        return -1;
    for (int i = 0; i < LOAD_CUSTOMERS; i++) {
        snprintf(w->customers[i].name, sizeof(w->customers[i].name), "faultbhakt%s%d", tag, i);
        if (it_sign_up(&w->customers[i], "customer", password, NULL) != 201)
            return -1;
    }
    return 0;
}

int load_world_build(load_world *w, const char *tag, const char *password)
{
    memset(w, 0, sizeof(*w));
    if (people(w, tag, password) != 0)
        return -1;
    char body[512];
    snprintf(body, sizeof(body),
             "{\"name\":\"Fault Puja %s\",\"description\":\"\",\"service_type\":\"satyanarayan_katha\","
             "\"duration_minutes\":60,\"base_price\":\"1000.00\"}",
             tag);
    w->service = post_id(&w->admin, "/api/admin/services/", body);
    snprintf(body, sizeof(body), "{\"slug\":\"fault-kumkum-%s\",\"name\":\"Kumkum %s\",\"price\":\"20.00\",\"stock\":20}",
             tag, tag);
    w->product = post_id(&w->admin, "/api/admin/products/", body);
    if (!w->service || !w->product)
        return -1;
    PGconn *db = it_db();
    int rc = 0;
    for (int i = 0; rc == 0 && i < LOAD_CUSTOMERS; i++)
        for (int k = 0; rc == 0 && k < LOAD_RATABLE; k++)
            if (!(w->ratable[i][k] = completed_booking(w, db, &w->customers[i], i * LOAD_RATABLE + k)))
                rc = -1;
    PQfinish(db);
    return rc;
}
