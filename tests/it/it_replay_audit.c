/* it_replay_audit.c — punyaka-replay against the running stack. A mixed
 * load of more than 5,000 commands, produced straight to Kafka with
 * thousands in flight so both workers apply them concurrently
 * (registrations, bookings with slot_taken rejections, confirmations,
 * completions, cancellations with refunds, customer confirmations, ratings,
 * checkouts with out_of_stock rejections, priests' hours and blocks with
 * priest_unavailable rejections), then:
 *   rebuild into an empty database ⇒ every table identical to the live one;
 *   a rebuild stopped by SIGTERM and run again ⇒ resumes, nothing twice;
 *   verify ⇒ no decision differs from the recorded one, tables identical;
 *   a live row changed by hand ⇒ rebuild names that table and row;
 *   history of a booking ⇒ create → confirm → complete → customer_confirm
 *   → rate with the right actors; list filters; a log whose beginning was
 *   dropped by retention ⇒ rebuild and verify refuse, with or without
 *   the live database (--from-log-only).
 * The load runs once, in the first test; every later test here reads what
 * it left (its ids, its events), so they stay in this one binary, in this
 * order. The dead-letter side of punyaka-replay is it_replay_dlq; the
 * faults, after this load, it_replay_faults.
 * The whole database is compared, so every command of every earlier test
 * must be replayable: tests create state through commands only. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include "common/booking_rules.h"
#include "common/mp.h"
#include "common/schedule_rules.h"
#include "tests/support/commands.h"
#include "tests/support/db.h"
#include "tests/support/events.h"
#include "tests/support/replay.h"
#include "tests/support/stack_env.h"

#define HASH IT_PASSWORD_HASH
#define PRIESTS 8
#define CUSTOMERS 400
#define DAYS 10
#define SLOTS 10                           /* 06:00, 07:30, … 19:30: one-hour service, 15 min buffer */
#define BOOKINGS (PRIESTS * DAYS * SLOTS)  /* each slot is asked for twice: one applied, one slot_taken */
#define COMPLETED 600                      /* of the bookings: completed, paid, rated */
#define CANCELLED 100                      /* of the others: cancelled by the customer */
#define PRODUCTS 20
#define SCARCE 5                           /* products 0..4 have little stock: checkouts run them out */
#define CHECKOUTS 400
#define PRICE 110000                       /* service price, paise */
#define DAY_US (INT64_C(86400) * 1000000)

static PGconn *db;
static char tag[16];
static it_producer *producer;
static long long sent;                     /* commands of the load */
static int64_t load_started_ms;
static int64_t admin_id, service_id;
static int64_t customer_ids[CUSTOMERS], priest_users[PRIESTS], priest_ids[PRIESTS], product_ids[PRODUCTS];
static int64_t booking_ids[BOOKINGS], booking_customer[BOOKINGS];
static int booking_priest[BOOKINGS];
static int rated_booking = -1;

/* ---- a phase: many commands in flight, then every outcome ---- */

typedef struct {
    char (*ids)[PK_UUID_STR_LEN + 1];
    size_t n, cap;
    PGresult *outcomes;     /* status, code, entity_id per command, in send order */
} phase;

static void enqueue_at(phase *p, const char *type, const char *topic, const char *key, int64_t actor,
                       const char *role, it_payload *pl, int64_t issued_at_us)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 1024;
        p->ids = realloc(p->ids, p->cap * sizeof(*p->ids));
    }
    assert_int_equal(it_producer_send_at(producer, type, topic, key, actor, role, pl, issued_at_us, p->ids[p->n++]),
                     0);
    it_payload_free(pl);
    sent++;
}

static void enqueue(phase *p, const char *type, const char *topic, const char *key, int64_t actor, const char *role,
                    it_payload *pl)
{
    enqueue_at(p, type, topic, key, actor, role, pl, 0);
}

static char *id_array(const phase *p)
{
    char *a = malloc(p->n * (PK_UUID_STR_LEN + 1) + 3), *q = a;
    *q++ = '{';
    for (size_t i = 0; i < p->n; i++)
        q += sprintf(q, "%s%s", i ? "," : "", p->ids[i]);
    strcpy(q, "}");
    return a;
}

/* Waits for every outcome (bounded) and keeps them in send order. */
static void finish(phase *p)
{
    assert_int_equal(it_producer_flush(producer), 0);
    char *ids = id_array(p), n[24];
    snprintf(n, sizeof(n), "%zu", p->n);
    long long done = it_db_wait_for(db, (long long)p->n, 120000,
                                    "SELECT count(*) FROM command_outcomes WHERE command_id = ANY ($1::uuid[])", ids,
                                    NULL);
    if (done != (long long)p->n)
        fail_msg("only %lld of %zu commands have an outcome", done, p->n);
    const char *params[] = {ids};
    p->outcomes = PQexecParams(db,
                               "SELECT o.status, coalesce(o.code, ''), coalesce(o.entity_id, 0)"
                               " FROM unnest($1::uuid[]) WITH ORDINALITY AS i(id, ord)"
                               " JOIN command_outcomes o ON o.command_id = i.id ORDER BY i.ord",
                               1, NULL, params, NULL, NULL, 0);
    assert_int_equal(PQntuples(p->outcomes), (int)p->n);
    free(ids);
}

static const char *status_of(const phase *p, size_t i)
{
    return PQgetvalue(p->outcomes, (int)i, 0);
}

static const char *code_of(const phase *p, size_t i)
{
    return PQgetvalue(p->outcomes, (int)i, 1);
}

static int64_t entity_of(const phase *p, size_t i)
{
    return strtoll(PQgetvalue(p->outcomes, (int)i, 2), NULL, 10);
}

static void expect_applied(const phase *p, size_t i)
{
    if (strcmp(status_of(p, i), "applied") != 0)
        fail_msg("command %s: %s %s", p->ids[i], status_of(p, i), code_of(p, i));
}

static void phase_free(phase *p)
{
    PQclear(p->outcomes);
    free(p->ids);
    memset(p, 0, sizeof(*p));
}

static void itoa64(int64_t v, char buf[24])
{
    snprintf(buf, 24, "%lld", (long long)v);
}

/* ---- the load ---- */

static void registration(phase *p, const char *name, const char *role)
{
    char email[96];
    snprintf(email, sizeof(email), "%s@example.com", name);
    it_payload pl;
    it_payload_init(&pl);
    int priest = strcmp(role, "priest") == 0;
    msgpack_pack_map(&pl.pk, priest ? 6 : 5);
    pk_mp_kv_str(&pl.pk, "username", name);
    pk_mp_kv_str(&pl.pk, "email", email);
    it_pack_password_hash(&pl.pk, HASH);
    pk_mp_kv_str(&pl.pk, "role", role);
    pk_mp_kv_str(&pl.pk, "first_name", priest ? "Pandit" : "Bhakt");
    if (priest)
        pk_mp_kv_i64(&pl.pk, "experience_years", 9);
    enqueue(p, "user.register", "accounts", name, 0, "", &pl);
}

static void create_admin(void)
{
    char name[64];
    snprintf(name, sizeof(name), "rpadmin%s", tag);
    admin_id = it_create_admin(db, name);
    assert_true(admin_id > 0);
    sent++;
}

/* People, a service and the products, all at once. */
static void phase_people_and_catalog(void)
{
    phase p = {0};
    char name[64];
    for (int i = 0; i < CUSTOMERS; i++) {
        snprintf(name, sizeof(name), "rpc%s_%d", tag, i);
        registration(&p, name, "customer");
    }
    for (int i = 0; i < PRIESTS; i++) {
        snprintf(name, sizeof(name), "rpp%s_%d", tag, i);
        registration(&p, name, "priest");
    }
    it_payload pl;
    it_payload_init(&pl);
    snprintf(name, sizeof(name), "Satyanarayan %s", tag);
    msgpack_pack_map(&pl.pk, 4);
    pk_mp_kv_str(&pl.pk, "name", name);
    pk_mp_kv_str(&pl.pk, "service_type", "satyanarayan");
    pk_mp_kv_i64(&pl.pk, "duration_minutes", 60);
    pk_mp_kv_i64(&pl.pk, "base_price", PRICE);
    enqueue(&p, "service.create", "catalog", name, admin_id, "admin", &pl);
    for (int i = 0; i < PRODUCTS; i++) {
        snprintf(name, sizeof(name), "rp-%s-%d", tag, i);
        it_payload_init(&pl);
        msgpack_pack_map(&pl.pk, 4);
        pk_mp_kv_str(&pl.pk, "slug", name);
        pk_mp_kv_str(&pl.pk, "name", name);
        pk_mp_kv_i64(&pl.pk, "price", 2500 + 100 * i);
        pk_mp_kv_i64(&pl.pk, "stock", i < SCARCE ? 10 : 1000);
        enqueue(&p, "product.create", "catalog", name, admin_id, "admin", &pl);
    }
    finish(&p);
    for (size_t i = 0; i < p.n; i++)
        expect_applied(&p, i);
    for (int i = 0; i < CUSTOMERS; i++)
        customer_ids[i] = entity_of(&p, (size_t)i);
    for (int i = 0; i < PRIESTS; i++)
        priest_users[i] = entity_of(&p, (size_t)(CUSTOMERS + i));
    service_id = entity_of(&p, CUSTOMERS + PRIESTS);
    for (int i = 0; i < PRODUCTS; i++)
        product_ids[i] = entity_of(&p, (size_t)(CUSTOMERS + PRIESTS + 1 + i));
    phase_free(&p);
    for (int i = 0; i < PRIESTS; i++) {
        char id[24];
        itoa64(priest_users[i], id);
        priest_ids[i] = it_db_scalar(db, "SELECT id FROM priest_profiles WHERE user_id = $1", id, NULL);
    }
}

static void phase_verify_priests(void)
{
    phase p = {0};
    for (int i = 0; i < PRIESTS; i++) {
        it_payload pl;
        char key[24];
        it_payload_init(&pl);
        msgpack_pack_map(&pl.pk, 2);
        pk_mp_kv_i64(&pl.pk, "priest_id", priest_ids[i]);
        pk_mp_kv_bool(&pl.pk, "verified", true);
        itoa64(priest_ids[i], key);
        enqueue(&p, "priest.verify", "accounts", key, admin_id, "admin", &pl);
    }
    finish(&p);
    for (size_t i = 0; i < p.n; i++)
        expect_applied(&p, i);
    phase_free(&p);
}

static void booking_create(phase *p, int priest, int day, int minute, int64_t customer)
{
    char date[11], time[6], key[24];
    booking_date d;
    int now_minute;
    booking_us_to_local(it_now_us() + (2 + day) * DAY_US, BOOKING_TZ_OFFSET_DEFAULT, &d, &now_minute);
    booking_format_date(d, date);
    booking_format_time(minute, time);
    it_payload pl;
    it_payload_init(&pl);
    msgpack_pack_map(&pl.pk, 5);
    pk_mp_kv_i64(&pl.pk, "priest", priest_ids[priest]);
    pk_mp_kv_i64(&pl.pk, "service", service_id);
    pk_mp_kv_str(&pl.pk, "booking_date", date);
    pk_mp_kv_str(&pl.pk, "booking_time", time);
    pk_mp_kv_str(&pl.pk, "location_address", "12 Temple Road, Pune");
    itoa64(priest_ids[priest], key);
    enqueue(p, "booking.create", "bookings", key, customer, "customer", &pl);
}

static void checkout(phase *p, int customer)
{
    int a = customer % PRODUCTS, b = (customer + 7) % PRODUCTS;
    it_payload pl;
    it_payload_init(&pl);
    msgpack_pack_map(&pl.pk, 6);
    pk_mp_pack_cstr(&pl.pk, "lines");
    msgpack_pack_array(&pl.pk, 2);
    const int lines[2][2] = {{a, 1 + customer % 3}, {b, 1}};
    for (int i = 0; i < 2; i++) {
        msgpack_pack_map(&pl.pk, 3);
        pk_mp_kv_i64(&pl.pk, "product_id", product_ids[lines[i][0]]);
        pk_mp_kv_i64(&pl.pk, "quantity", lines[i][1]);
        pk_mp_kv_i64(&pl.pk, "unit_price", 2500 + 100 * lines[i][0]);
    }
    pk_mp_kv_str(&pl.pk, "shipping_address", "12 Temple Road");
    pk_mp_kv_str(&pl.pk, "shipping_city", "Pune");
    pk_mp_kv_str(&pl.pk, "shipping_state", "Maharashtra");
    pk_mp_kv_str(&pl.pk, "shipping_pincode", "411001");
    pk_mp_kv_str(&pl.pk, "shipping_phone", "+91 98765 43210");
    char key[24];
    itoa64(customer_ids[customer], key);
    enqueue(p, "order.checkout", "orders", key, customer_ids[customer], "customer", &pl);
}

/* Every slot twice (the second half an hour later, overlapping): on the
 * priest's partition the first wins, the second is slot_taken. Checkouts
 * race meanwhile on the orders topic. */
static void phase_bookings_and_checkouts(void)
{
    phase p = {0};
    int n = 0;
    for (int pr = 0; pr < PRIESTS; pr++)
        for (int day = 0; day < DAYS; day++)
            for (int s = 0; s < SLOTS; s++, n++) {
                booking_priest[n] = pr;
                booking_customer[n] = customer_ids[(2 * n) % CUSTOMERS];
                booking_create(&p, pr, day, 6 * 60 + s * 90, booking_customer[n]);
                booking_create(&p, pr, day, 6 * 60 + s * 90 + 30, customer_ids[(2 * n + 1) % CUSTOMERS]);
            }
    for (int c = 0; c < CHECKOUTS; c++)
        checkout(&p, c % CUSTOMERS);
    finish(&p);
    for (int i = 0; i < BOOKINGS; i++) {
        expect_applied(&p, (size_t)(2 * i));
        booking_ids[i] = entity_of(&p, (size_t)(2 * i));
        assert_string_equal(code_of(&p, (size_t)(2 * i + 1)), "slot_taken");
    }
    int out_of_stock = 0, orders = 0;
    for (int c = 0; c < CHECKOUTS; c++) {
        const char *code = code_of(&p, (size_t)(2 * BOOKINGS + c));
        out_of_stock += strcmp(code, "out_of_stock") == 0;
        orders += strcmp(status_of(&p, (size_t)(2 * BOOKINGS + c)), "applied") == 0;
    }
    assert_true(out_of_stock > 0);
    assert_true(orders > 0);
    assert_int_equal(out_of_stock + orders, CHECKOUTS);
    phase_free(&p);
}

/* One action on each booking in [from, to); actor = the priest or the customer. */
static void booking_actions(const char *type, int from, int to, int by_priest)
{
    phase p = {0};
    for (int i = from; i < to; i++) {
        it_payload pl;
        char key[24];
        it_payload_init(&pl);
        int extra = !strcmp(type, "booking.rate") ? 2 : !strcmp(type, "booking.customer_confirm") && i % 3 == 0;
        extra += !strcmp(type, "booking.cancel");
        msgpack_pack_map(&pl.pk, 1 + (size_t)extra);
        pk_mp_kv_i64(&pl.pk, "booking_id", booking_ids[i]);
        if (!strcmp(type, "booking.rate")) {
            pk_mp_kv_i64(&pl.pk, "rating", 1 + i % 5);
            pk_mp_kv_str(&pl.pk, "feedback", "shraddha se");
        } else if (!strcmp(type, "booking.customer_confirm") && i % 3 == 0) {
            pk_mp_kv_i64(&pl.pk, "dakshina", 10100);
        } else if (!strcmp(type, "booking.cancel")) {
            pk_mp_kv_str(&pl.pk, "reason", "travelling");
        }
        int pr = booking_priest[i];
        itoa64(priest_ids[pr], key);
        /* A booking is completed once it has begun (issue 14): every one
         * here starts within 12 days, and issued_at is the worker's clock. */
        int64_t at = !strcmp(type, "booking.complete") ? it_now_us() + 14 * DAY_US : 0;
        enqueue_at(&p, type, "bookings", key, by_priest ? priest_users[pr] : booking_customer[i],
                   by_priest ? "priest" : "customer", &pl, at);
    }
    finish(&p);
    for (size_t i = 0; i < p.n; i++)
        expect_applied(&p, i);
    phase_free(&p);
}

/* A week for priest pr: every day from 06:00, to 20:00 or 21:00, Sunday off. */
static void pack_week(it_payload *pl, int pr)
{
    pk_mp_pack_cstr(&pl->pk, "hours");
    msgpack_pack_map(&pl->pk, SCHEDULE_DAYS);
    for (int d = 0; d < SCHEDULE_DAYS; d++) {
        pk_mp_pack_cstr(&pl->pk, schedule_day_name(d));
        msgpack_pack_array(&pl->pk, d == 6 ? 0 : 1);
        if (d == 6)
            continue;
        msgpack_pack_array(&pl->pk, 2);
        pk_mp_pack_cstr(&pl->pk, "06:00");
        pk_mp_pack_cstr(&pl->pk, pr % 2 ? "21:00" : "20:00");
    }
}

/* Priest schedules (issue 17): each priest sets his hours and blocks two
 * whole local days (ids the replay must re-insert), then lifts the first
 * while a booking into the second is refused priest_unavailable. */
static void phase_schedules(void)
{
    phase p = {0};
    booking_date d;
    int minute;
    booking_us_to_local(it_now_us() + 21 * DAY_US, BOOKING_TZ_OFFSET_DEFAULT, &d, &minute);
    int64_t day21 = booking_local_to_us(d, 0, BOOKING_TZ_OFFSET_DEFAULT);
    for (int pr = 0; pr < PRIESTS; pr++) {
        char key[24];
        it_payload pl;
        itoa64(priest_ids[pr], key);
        it_payload_init(&pl);
        msgpack_pack_map(&pl.pk, 2);
        pk_mp_kv_i64(&pl.pk, "priest", priest_ids[pr]);
        pack_week(&pl, pr);
        enqueue(&p, "priest.set_hours", "bookings", key, priest_users[pr], "priest", &pl);
        for (int b = 0; b < 2; b++) {   /* day 20, day 21 */
            it_payload_init(&pl);
            msgpack_pack_map(&pl.pk, 4);
            pk_mp_kv_i64(&pl.pk, "priest", priest_ids[pr]);
            pk_mp_kv_i64(&pl.pk, "start", day21 + (b - 1) * DAY_US);
            pk_mp_kv_i64(&pl.pk, "end", day21 + b * DAY_US);
            pk_mp_kv_str(&pl.pk, "reason", "yatra");
            enqueue(&p, "priest.block", "bookings", key, priest_users[pr], "priest", &pl);
        }
    }
    finish(&p);
    int64_t first_block[PRIESTS];
    for (int pr = 0; pr < PRIESTS; pr++) {
        for (int k = 0; k < 3; k++)
            expect_applied(&p, (size_t)(3 * pr + k));
        first_block[pr] = entity_of(&p, (size_t)(3 * pr + 1));
    }
    phase_free(&p);
    for (int pr = 0; pr < PRIESTS; pr++) {
        char key[24];
        it_payload pl;
        itoa64(priest_ids[pr], key);
        it_payload_init(&pl);
        msgpack_pack_map(&pl.pk, 2);
        pk_mp_kv_i64(&pl.pk, "priest", priest_ids[pr]);
        pk_mp_kv_i64(&pl.pk, "block_id", first_block[pr]);
        enqueue(&p, "priest.unblock", "bookings", key, priest_users[pr], "priest", &pl);
        booking_create(&p, pr, 19, 10 * 60, customer_ids[pr]);   /* 2 + 19 = day 21 */
    }
    finish(&p);
    for (int pr = 0; pr < PRIESTS; pr++) {
        expect_applied(&p, (size_t)(2 * pr));
        assert_string_equal(code_of(&p, (size_t)(2 * pr + 1)), "priest_unavailable");
    }
    phase_free(&p);
}

static void run_load(void)
{
    load_started_ms = it_now_us() / 1000;
    double t = (double)it_now_us();
    create_admin();
    phase_people_and_catalog();
    phase_verify_priests();
    phase_bookings_and_checkouts();
    booking_actions("booking.confirm", 0, BOOKINGS, 1);
    booking_actions("booking.complete", 0, COMPLETED, 1);
    booking_actions("booking.cancel", COMPLETED, COMPLETED + CANCELLED, 0);
    booking_actions("booking.customer_confirm", 0, COMPLETED, 0);
    booking_actions("booking.rate", 0, COMPLETED, 0);
    phase_schedules();
    rated_booking = 7;
    fprintf(stderr, "load: %lld commands in %.1f s\n", sent, ((double)it_now_us() - t) / 1e6);
    assert_true(sent >= 5000);
    assert_int_equal(it_events_wait_published(db, 60000), 0);
}

/* ---- the tests ---- */

static void test_rebuild_is_identical_and_verify_finds_no_difference(void **state)
{
    (void)state;
    run_load();
    char name[64], dsn[512];
    snprintf(name, sizeof(name), "it_replay_%s_a", tag);
    it_dsn_for(name, dsn, sizeof(dsn));
    it_replay_result r = it_replay("rebuild --into '%s'", dsn);
    if (r.status != 0 || !strstr(r.out, "\nidentical\n") || !strstr(r.out, " 0 differing decisions"))
        fail_msg("rebuild (exit %d):\n%s\n%s", r.status, r.out, r.err);
    assert_null(strstr(r.out, "DIFFERENT"));
    assert_non_null(strstr(r.err, "applying"));   /* the progress line: this run takes over a second */
    it_replay_result_free(&r);
    it_drop_database(db, name);

    r = it_replay("verify");
    if (r.status != 0 || !strstr(r.out, ": 0 differing decisions") || !strstr(r.out, "\nidentical\n"))
        fail_msg("verify (exit %d):\n%s\n%s", r.status, r.out, r.err);
    it_replay_result_free(&r);
}

/* ---- an interrupted rebuild resumes (issue 18) ---- */

static long long target_scalar(const char *dsn, const char *sql)
{
    PGconn *c = PQconnectdb(dsn);
    long long v = -1;
    if (PQstatus(c) == CONNECTION_OK) {
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
            v = atoll(PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    PQfinish(c);
    return v;
}

/* `punyaka-replay rebuild --quiet --into dsn` in the background; its
 * output in the build folder. */
static pid_t rebuild_in_background(const char *dsn)
{
    char bin[4096], log[4096];
    snprintf(bin, sizeof(bin), "%s/workers/punyaka-replay", it_env("PUNYAKA_BUILD_DIR"));
    snprintf(log, sizeof(log), "%s/it-replay-interrupted.log", it_env("PUNYAKA_BUILD_DIR"));
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen(log, "w", stdout) || dup2(STDOUT_FILENO, STDERR_FILENO) < 0)
            _exit(126);
        execl(bin, bin, "rebuild", "--quiet", "--into", dsn, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* SIGTERM a rebuild once it has applied a fifth of the log; the same
 * command then resumes where it stopped: the tables equal the live ones,
 * and no command is in the rebuilt journal or processed_commands twice. */
static void test_interrupted_rebuild_resumes(void **state)
{
    (void)state;
    char name[64], dsn[512];
    snprintf(name, sizeof(name), "it_replay_%s_resume", tag);
    it_dsn_for(name, dsn, sizeof(dsn));
    long long events = it_db_scalar(db, "SELECT count(*) FROM journal", NULL);
    long long stop_at = events / 5;
    pid_t pid = rebuild_in_background(dsn);
    assert_true(pid > 0);
    long long applied = 0;
    for (int i = 0; i < 6000 && applied < stop_at; i++) {   /* ≤ 120 s */
        usleep(20 * 1000);
        applied = target_scalar(dsn, "SELECT count(*) FROM journal");
    }
    kill(pid, SIGTERM);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    long long kept = target_scalar(dsn, "SELECT count(*) FROM journal");
    print_message("rebuild stopped by SIGTERM after %lld of %lld commands (exit %d)\n", kept, events,
                  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    assert_true(applied >= stop_at);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);   /* it did not finish */
    assert_true(kept >= stop_at && kept < events);

    it_replay_result r = it_replay("rebuild --into '%s'", dsn);
    if (r.status != 0 || !strstr(r.err, "resuming an interrupted rebuild") || !strstr(r.out, "\nidentical\n") ||
        !strstr(r.out, " 0 differing decisions"))
        fail_msg("resumed rebuild (exit %d):\n%s\n%s", r.status, r.out, r.err);
    it_replay_result_free(&r);
    assert_int_equal(target_scalar(dsn, "SELECT count(*) FROM journal"), events);
    assert_int_equal(target_scalar(dsn, "SELECT count(DISTINCT command_id) FROM journal"), events);
    assert_int_equal(target_scalar(dsn, "SELECT count(*) FROM processed_commands"),
                     it_db_scalar(db, "SELECT count(*) FROM processed_commands", NULL));
    /* A finished rebuild is no longer resumable: a third run refuses. */
    r = it_replay("rebuild --quiet --into '%s'", dsn);
    assert_int_not_equal(r.status, 0);
    assert_non_null(strstr(r.err, "not an interrupted rebuild"));
    it_replay_result_free(&r);
    it_drop_database(db, name);
}

static void test_tampered_row_is_named(void **state)
{
    (void)state;
    char id[24], name[64], dsn[512], want[128];
    itoa64(product_ids[PRODUCTS - 1], id);
    long long stock = it_db_scalar(db, "UPDATE products SET stock = stock + 3 WHERE id = $1 RETURNING stock", id, NULL);
    snprintf(name, sizeof(name), "it_replay_%s_b", tag);
    it_dsn_for(name, dsn, sizeof(dsn));
    it_replay_result r = it_replay("rebuild --quiet --into '%s'", dsn);
    it_db_scalar(db, "UPDATE products SET stock = stock - 3 WHERE id = $1 RETURNING stock", id, NULL);
    it_drop_database(db, name);
    snprintf(want, sizeof(want), "products id=%s: stock: live %lld, rebuilt %lld", id, stock, stock - 3);
    if (r.status != 1 || !strstr(r.out, want) || !strstr(r.out, "\ndifferent: products\n"))
        fail_msg("rebuild after tampering (exit %d), want \"%s\":\n%s\n%s", r.status, want, r.out, r.err);
    it_replay_result_free(&r);
}

static void test_history_of_a_booking(void **state)
{
    (void)state;
    static const char *const STEPS[] = {"booking.create", "booking.confirm", "booking.complete",
                                        "booking.customer_confirm", "booking.rate"};
    int i = rated_booking, pr = booking_priest[i];
    const int64_t actors[] = {booking_customer[i], priest_users[pr], priest_users[pr], booking_customer[i],
                              booking_customer[i]};
    it_replay_result r = it_replay("history booking:%lld", (long long)booking_ids[i]);
    assert_int_equal(r.status, 0);
    assert_int_equal(it_count_lines(r.out), 5);
    const char *line = r.out;
    for (int k = 0; k < 5; k++, line = strchr(line, '\n') + 1) {
        json_t *j = json_loads(line, JSON_DISABLE_EOF_CHECK, NULL);
        assert_non_null(j);
        assert_string_equal(json_string_value(json_object_get(j, "type")), STEPS[k]);
        assert_string_equal(json_string_value(json_object_get(j, "status")), "applied");
        json_t *actor = json_object_get(j, "actor");
        assert_int_equal(json_integer_value(json_object_get(actor, "id")), actors[k]);
        assert_string_equal(json_string_value(json_object_get(actor, "role")), k == 1 || k == 2 ? "priest" : "customer");
        json_decref(j);
    }
    it_replay_result_free(&r);
}

static void test_list_filters(void **state)
{
    (void)state;
    char since[32];
    snprintf(since, sizeof(since), "@%lld", (long long)(load_started_ms / 1000));
    /* The dev Kafka cannot answer offsets-for-times: this scans timestamps. */
    it_replay_result r = it_replay("list --quiet --since %s --type booking.create --outcome slot_taken", since);
    assert_int_equal(r.status, 0);
    assert_int_equal(it_count_lines(r.out), BOOKINGS);
    it_replay_result_free(&r);
    r = it_replay("list --quiet --since %s --type 'booking.*' --actor %lld", since, (long long)booking_customer[rated_booking]);
    assert_int_equal(r.status, 0);
    assert_true(it_count_lines(r.out) >= 3);   /* create, customer_confirm, rate (and more bookings of theirs) */
    assert_null(strstr(r.out, "\"role\":\"priest\""));
    assert_null(strstr(r.out, "password_hash\":\"$argon2id"));
    it_replay_result_free(&r);
    r = it_replay("list --quiet --until @%lld --entity booking:%lld", (long long)(load_started_ms / 1000 - 1),
               (long long)booking_ids[rated_booking]);
    assert_int_equal(r.status, 0);
    assert_int_equal(it_count_lines(r.out), 0);   /* that booking is younger */
    it_replay_result_free(&r);
    r = it_replay("list --entity nonsense:1");
    assert_int_equal(r.status, 2);
    it_replay_result_free(&r);
}

/* A copy of the log pushed past the dev Kafka's ~5 MiB per partition, so
 * its oldest events are silently gone: rebuild and verify must refuse. */
static void test_log_without_its_beginning_is_refused(void **state)
{
    (void)state;
    char topic[96], name[96];
    snprintf(name, sizeof(name), "it-replay-trimmed-%s", tag);
    snprintf(topic, sizeof(topic), "%s%s", it_env("PUNYAKA_TOPIC_PREFIX"), name);
    it_event *events;
    size_t n;
    long long low;
    assert_int_equal(it_events_read(&events, &n, &low), 0);
    char err[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "bootstrap.servers", it_env("KAFKA_BROKERS"), err, sizeof(err));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
    int64_t lo = 0, hi = 0;
    for (int round = 0; round < 20 && lo == 0; round++) {   /* ≥ 5 MiB, whatever the events weigh */
        for (size_t i = 0; i < n; i++) {
            msgpack_sbuffer sb;
            msgpack_sbuffer_init(&sb);
            wk_event_encode(&events[i].ev, &sb);
            while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
                                     RD_KAFKA_V_VALUE(sb.data, sb.size), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                     RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                rd_kafka_poll(rk, 10);
            msgpack_sbuffer_destroy(&sb);
        }
        rd_kafka_flush(rk, 30000);
        rd_kafka_query_watermark_offsets(rk, topic, 0, &lo, &hi, 10000);
    }
    rd_kafka_destroy(rk);
    it_events_free(events, n);
    assert_true(lo > 0);
    char db_name[64], dsn[512];
    snprintf(db_name, sizeof(db_name), "it_replay_%s_c", tag);
    it_dsn_for(db_name, dsn, sizeof(dsn));
    it_replay_result r = it_replay("rebuild --quiet --topic %s --into '%s'", topic, dsn);
    it_drop_database(db, db_name);
    if (r.status != 3 || !strstr(r.err, "refusing: the events log no longer reaches back"))
        fail_msg("rebuild of a trimmed log (exit %d):\n%s\n%s", r.status, r.out, r.err);
    it_replay_result_free(&r);
    r = it_replay("verify --quiet --topic %s", topic);
    assert_int_equal(r.status, 3);
    assert_non_null(strstr(r.err, "refusing"));
    it_replay_result_free(&r);
    r = it_replay("rebuild --quiet --from-log-only --topic %s --into '%s'", topic, dsn);   /* the events tell too */
    it_drop_database(db, db_name);
    if (r.status != 3 || !strstr(r.err, "refusing: the events log has lost events"))
        fail_msg("rebuild --from-log-only of a trimmed log (exit %d):\n%s\n%s", r.status, r.out, r.err);
    it_replay_result_free(&r);
}


int main(void)
{
    if (it_start(tag, sizeof(tag)) != 0)
        return 1;
    db = it_db();
    producer = it_producer_new();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rebuild_is_identical_and_verify_finds_no_difference),
        cmocka_unit_test(test_interrupted_rebuild_resumes),
        cmocka_unit_test(test_tampered_row_is_named),
        cmocka_unit_test(test_history_of_a_booking),
        cmocka_unit_test(test_list_filters),
        cmocka_unit_test(test_log_without_its_beginning_is_refused),
    };
    int failed = cmocka_run_group_tests_name("replay_audit", tests, NULL, NULL);
    it_producer_free(producer);
    PQfinish(db);
    return failed;
}
