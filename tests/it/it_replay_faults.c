/* it_replay_faults.c — punyaka-replay on exactly what it should report
 * (issue 11, item 6), against the running stack:
 *   verify under another PUNYAKA_TZ_OFFSET_MINUTES, over a log holding
 *   bookings that rule decides differently (one rejected in_past now
 *   applies and creates rows; one applied now is too_far_ahead, and its
 *   cancellation then finds no booking) ⇒ every changed decision reported,
 *   the new rows get fresh ids above every recorded one, exit 1, no crash;
 *   a live row changed outside the command path ⇒ verify names the table
 *   and row, exit 1;
 *   rebuild --from-log-only with DATABASE_URL pointing nowhere ⇒ the
 *   rebuilt tables equal the live ones, with a progress bar on a terminal;
 *   a log that misses seq 1 or an event in the middle ⇒ refused.
 * Every command here goes through the workers, so the whole log stays
 * replayable for the tests that follow. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include "common/booking_rules.h"
#include "common/mp.h"
#include "tests/support/commands.h"
#include "tests/support/db.h"
#include "tests/support/events.h"
#include "tests/support/replay.h"
#include "tests/support/stack_env.h"

#define HASH IT_PASSWORD_HASH
#define MIN_US (INT64_C(60) * 1000000)
#define DAY_US (INT64_C(1440) * MIN_US)
#define OTHER_TZ "-720"   /* UTC-12: every local time is 17.5 h later than at the stack's +05:30 */

static PGconn *db;
static char tag[16];
static int64_t customer, priest_user, priest, service, product;
static char plain_cmd[PK_UUID_STR_LEN + 1], past_cmd[PK_UUID_STR_LEN + 1], far_cmd[PK_UUID_STR_LEN + 1],
    cancel_cmd[PK_UUID_STR_LEN + 1];

static int64_t now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

static void itoa64(int64_t v, char buf[24])
{
    snprintf(buf, 24, "%lld", (long long)v);
}

/* ---- the commands ---- */

static it_outcome must(it_outcome o, const char *status, const char *code)
{
    if (strcmp(o.status, status) != 0 || strcmp(o.code, code) != 0)
        fail_msg("command %s: %s %s, want %s %s", o.id, o.status, o.code, status, code);
    return o;
}

static int64_t register_user(const char *role)
{
    char name[64], email[96];
    snprintf(name, sizeof(name), "rf%s%s", role, tag);
    snprintf(email, sizeof(email), "%s@example.com", name);
    int is_priest = strcmp(role, "priest") == 0;
    it_payload pl;
    it_payload_init(&pl);
    msgpack_pack_map(&pl.pk, is_priest ? 6 : 5);
    pk_mp_kv_str(&pl.pk, "username", name);
    pk_mp_kv_str(&pl.pk, "email", email);
    it_pack_password_hash(&pl.pk, HASH);
    pk_mp_kv_str(&pl.pk, "role", role);
    pk_mp_kv_str(&pl.pk, "first_name", is_priest ? "Pandit" : "Bhakt");
    if (is_priest)
        pk_mp_kv_i64(&pl.pk, "experience_years", 9);
    it_outcome o = must(it_command(db, "user.register", "accounts", name, 0, "", &pl), "applied", "");
    it_payload_free(&pl);
    int64_t id = o.entity_id;
    it_outcome_free(&o);
    return id;
}

static void setup_people_and_catalog(void)
{
    char name[64], id[24];
    snprintf(name, sizeof(name), "rfadmin%s", tag);
    int64_t admin = it_create_admin(db, name);
    assert_true(admin > 0);
    customer = register_user("customer");
    priest_user = register_user("priest");
    itoa64(priest_user, id);
    priest = it_db_scalar(db, "SELECT id FROM priest_profiles WHERE user_id = $1", id, NULL);

    it_payload pl;
    it_payload_init(&pl);
    msgpack_pack_map(&pl.pk, 2);
    pk_mp_kv_i64(&pl.pk, "priest_id", priest);
    pk_mp_kv_bool(&pl.pk, "verified", true);
    itoa64(priest, id);
    it_outcome o = must(it_command(db, "priest.verify", "accounts", id, admin, "admin", &pl), "applied", "");
    it_outcome_free(&o);
    it_payload_free(&pl);

    snprintf(name, sizeof(name), "Griha pravesh %s", tag);
    it_payload_init(&pl);
    msgpack_pack_map(&pl.pk, 4);
    pk_mp_kv_str(&pl.pk, "name", name);
    pk_mp_kv_str(&pl.pk, "service_type", "griha_pravesh");
    pk_mp_kv_i64(&pl.pk, "duration_minutes", 60);
    pk_mp_kv_i64(&pl.pk, "base_price", 110000);
    o = must(it_command(db, "service.create", "catalog", name, admin, "admin", &pl), "applied", "");
    service = o.entity_id;
    it_outcome_free(&o);
    it_payload_free(&pl);

    snprintf(name, sizeof(name), "rf-%s", tag);
    it_payload_init(&pl);
    msgpack_pack_map(&pl.pk, 4);
    pk_mp_kv_str(&pl.pk, "slug", name);
    pk_mp_kv_str(&pl.pk, "name", name);
    pk_mp_kv_i64(&pl.pk, "price", 2500);
    pk_mp_kv_i64(&pl.pk, "stock", 40);
    o = must(it_command(db, "product.create", "catalog", name, admin, "admin", &pl), "applied", "");
    product = o.entity_id;
    it_outcome_free(&o);
    it_payload_free(&pl);
}

/* A local start whose instant at the stack's +05:30 is at least an hour
 * before `pivot_us` and at UTC-12 at least an hour after it: the first
 * wall time on the 30-minute grid from pivot-11h to pivot+4.5h (as a UTC
 * wall clock) whose one-hour service lies within working hours. */
static void local_start_across(int64_t pivot_us, char date[11], char time[6])
{
    /* From the first 30-minute boundary on: bookings start only on the grid (issue 14). */
    const int64_t step = 30 * MIN_US, first = pivot_us - 11 * 60 * MIN_US;
    for (int64_t t = (first + step - 1) / step * step; t <= pivot_us + 270 * MIN_US; t += step) {
        booking_date d;
        int minute;
        booking_us_to_local(t, 0, &d, &minute);
        if (minute >= BOOKING_OPEN_MIN && minute + 60 <= BOOKING_CLOSE_MIN) {
            booking_format_date(d, date);
            booking_format_time(minute, time);
            return;
        }
    }
    fail_msg("no daytime start around %lld", (long long)pivot_us);
}

static it_outcome book(int64_t pivot_us)
{
    char date[11], time[6], key[24];
    local_start_across(pivot_us, date, time);
    it_payload pl;
    it_payload_init(&pl);
    msgpack_pack_map(&pl.pk, 5);
    pk_mp_kv_i64(&pl.pk, "priest", priest);
    pk_mp_kv_i64(&pl.pk, "service", service);
    pk_mp_kv_str(&pl.pk, "booking_date", date);
    pk_mp_kv_str(&pl.pk, "booking_time", time);
    pk_mp_kv_str(&pl.pk, "location_address", "4 Ghat Road, Nashik");
    itoa64(priest, key);
    it_outcome o = it_command(db, "booking.create", "bookings", key, customer, "customer", &pl);
    it_payload_free(&pl);
    return o;
}

/* Bookings the time zone decides: after an ordinary one (which either
 * zone accepts, with the id the journal records), one in the past here (in
 * the future at UTC-12: a new booking, whose id must not be the ordinary
 * one's), one just within 180 days here (beyond them at UTC-12), and the
 * customer's cancellation of the latter. */
static void bookings_across_the_rule(void)
{
    it_outcome o = must(book(now_us() + 3 * DAY_US), "applied", "");
    strcpy(plain_cmd, o.id);
    it_outcome_free(&o);
    o = must(book(now_us()), "rejected", "in_past");
    strcpy(past_cmd, o.id);
    it_outcome_free(&o);
    o = must(book(now_us() + 180 * DAY_US), "applied", "");
    strcpy(far_cmd, o.id);
    int64_t far_booking = o.entity_id;
    it_outcome_free(&o);

    it_payload pl;
    char key[24];
    it_payload_init(&pl);
    msgpack_pack_map(&pl.pk, 2);
    pk_mp_kv_i64(&pl.pk, "booking_id", far_booking);
    pk_mp_kv_str(&pl.pk, "reason", "plans changed");
    itoa64(priest, key);
    o = must(it_command(db, "booking.cancel", "bookings", key, customer, "customer", &pl), "applied", "");
    strcpy(cancel_cmd, o.id);
    it_outcome_free(&o);
    it_payload_free(&pl);
}

/* ---- reading the report ---- */

/* The `decision {...}` line of a command, parsed; NULL when none. */
static json_t *decision_of(const char *out, const char *command_id)
{
    char needle[80];
    snprintf(needle, sizeof(needle), "\"command_id\":\"%s\"", command_id);
    const char *hit = strstr(out, needle);
    if (!hit)
        return NULL;
    const char *line = hit;
    while (line > out && line[-1] != '\n')
        line--;
    assert_int_equal(strncmp(line, "decision {", 10), 0);
    json_t *j = json_loads(line + 9, JSON_DISABLE_EOF_CHECK, NULL);
    assert_non_null(j);
    return j;
}

static const char *str_at(const json_t *j, const char *side, const char *key)
{
    return json_string_value(json_object_get(json_object_get(j, side), key));
}

static int64_t created_at(const json_t *j, const char *key)
{
    json_t *v = json_object_get(json_object_get(json_object_get(j, "replayed"), "created_ids"), key);
    return json_integer_value(json_is_array(v) ? json_array_get(v, 0) : v);
}

/* ---- the tests ---- */

static void test_verify_with_another_time_zone_reports_every_changed_decision(void **state)
{
    (void)state;
    setup_people_and_catalog();
    bookings_across_the_rule();
    assert_int_equal(it_events_wait_published(db, 30000), 0);
    long long max_booking = it_db_scalar(db, "SELECT max(id) FROM bookings", NULL);
    long long max_payment = it_db_scalar(db, "SELECT max(id) FROM payments", NULL);

    setenv("PUNYAKA_TZ_OFFSET_MINUTES", OTHER_TZ, 1);
    it_replay_result r = it_replay("verify --quiet");
    unsetenv("PUNYAKA_TZ_OFFSET_MINUTES");
    if (r.status != 1 || strstr(r.err, "could not be applied") || !strstr(r.out, "\nverified "))
        fail_msg("verify at UTC%s (exit %d):\n%.3000s\n%.3000s", OTHER_TZ, r.status, r.out, r.err);
    assert_null(strstr(r.out, "\"error\":"));   /* every command was decided, none failed */

    assert_null(decision_of(r.out, plain_cmd));     /* decided alike, same id */
    json_t *past = decision_of(r.out, past_cmd);   /* in_past here, a new booking at UTC-12 */
    assert_non_null(past);
    assert_string_equal(str_at(past, "recorded", "status"), "rejected");
    assert_string_equal(str_at(past, "recorded", "code"), "in_past");
    assert_string_equal(str_at(past, "replayed", "status"), "applied");
    assert_true(created_at(past, "booking") > max_booking);   /* fresh, above every recorded id */
    assert_true(created_at(past, "payments") > max_payment);  /* its advance */
    json_decref(past);

    json_t *far = decision_of(r.out, far_cmd);
    assert_non_null(far);
    assert_string_equal(str_at(far, "recorded", "status"), "applied");
    assert_string_equal(str_at(far, "replayed", "code"), "too_far_ahead");
    json_decref(far);
    json_t *cancel = decision_of(r.out, cancel_cmd);   /* its booking was never made */
    assert_non_null(cancel);
    assert_string_equal(str_at(cancel, "recorded", "status"), "applied");
    assert_string_equal(str_at(cancel, "replayed", "status"), "rejected");
    json_decref(cancel);

    /* The resulting state is compared too: the bookings differ. */
    assert_non_null(strstr(r.out, "\nbookings "));
    assert_non_null(strstr(r.out, "\ndifferent: "));
    it_replay_result_free(&r);
}

static void test_verify_names_a_row_changed_outside_the_command_path(void **state)
{
    (void)state;
    char id[24], want[128];
    itoa64(product, id);
    long long stock = it_db_scalar(db, "UPDATE products SET stock = stock + 1 WHERE id = $1 RETURNING stock", id, NULL);
    it_replay_result r = it_replay("verify --quiet");
    it_db_scalar(db, "UPDATE products SET stock = stock - 1 WHERE id = $1 RETURNING stock", id, NULL);
    snprintf(want, sizeof(want), "products id=%s: stock: live %lld, rebuilt %lld", id, stock, stock - 1);
    if (r.status != 1 || !strstr(r.out, ": 0 differing decisions") || !strstr(r.out, want) ||
        !strstr(r.out, "\ndifferent: products\n"))
        fail_msg("verify after a change by hand (exit %d), want \"%s\":\n%.3000s\n%.3000s", r.status, want, r.out,
                 r.err);
    it_replay_result_free(&r);
}

/* md5 of a table's rows (bookkeeping columns left out, as compare.c does). */
static void table_md5(PGconn *c, const char *table, char out[33])
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT md5(coalesce(string_agg(j, E'\\n' ORDER BY j), '')) FROM (SELECT (to_jsonb(t)"
             " - 'processed_at' - 'published_at' - 'resource')::text AS j FROM public.%s t) x",
             table);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", table, PQresultErrorMessage(r));
    snprintf(out, 33, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
}

static void expect_same_tables(PGconn *live, PGconn *rebuilt)
{
    PGresult *t = PQexec(live, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
                               " AND table_type = 'BASE TABLE' AND table_name NOT IN ('schema_migrations',"
                               " 'dead_letters', 'notified_events', 'notifications', 'notification_emails')"
                               " ORDER BY 1");   /* as compare.c: no command writes the notifier's tables */
    assert_true(PQntuples(t) >= 10);
    for (int i = 0; i < PQntuples(t); i++) {
        char a[33], b[33];
        table_md5(live, PQgetvalue(t, i, 0), a);
        table_md5(rebuilt, PQgetvalue(t, i, 0), b);
        if (strcmp(a, b) != 0)
            fail_msg("table %s differs after a rebuild from the log alone", PQgetvalue(t, i, 0));
    }
    PQclear(t);
}

static void test_rebuild_from_the_log_alone(void **state)
{
    (void)state;
    assert_int_equal(it_events_wait_published(db, 30000), 0);
    /* A rolled-back command transaction burns a journal seq; such holes
     * are refused unless the operator accepts them. */
    long long holes = it_db_scalar(db, "SELECT count(*) FROM generate_series(1, (SELECT max(seq) FROM journal)) s"
                                       " WHERE NOT EXISTS (SELECT 1 FROM journal WHERE seq = s)", NULL);
    char name[64], dsn[512], *live = strdup(it_owner_dsn());
    snprintf(name, sizeof(name), "it_replay_%s_dr", tag);
    it_dsn_for(name, dsn, sizeof(dsn));
    setenv("PUNYAKA_OWNER_DATABASE_URL", "postgresql://postgres@127.0.0.1:9/gone?connect_timeout=2", 1);   /* the live one is lost */

    it_replay_result r = it_replay("rebuild --quiet --into '%s'", dsn);
    if (r.status != 3 || !strstr(r.err, "--from-log-only"))
        fail_msg("rebuild without the live database (exit %d):\n%s\n%s", r.status, r.out, r.err);
    it_replay_result_free(&r);

    r = it_replay_on_tty("rebuild --from-log-only%s --into '%s'", holes ? " --allow-seq-gaps" : "", dsn);
    setenv("PUNYAKA_OWNER_DATABASE_URL", live, 1);
    free(live);
    if (r.status != 0 || !strstr(r.out, " 0 differing decisions") || !strstr(r.out, "from the log alone"))
        fail_msg("rebuild --from-log-only (exit %d):\n%.4000s", r.status, r.out);
    /* On a terminal, progress is a bar redrawn in place (test_replay_progress
     * checks its form). It shows once applying lasts over a second: after
     * it_replay_audit's load, thousands of commands. */
    if (strstr(r.out, "punyaka-replay: applying")) {
        assert_non_null(strstr(r.out, "\r\033[Kpunyaka-replay: applying ["));
        assert_non_null(strstr(r.out, ", ETA "));
    } else {
        fprintf(stderr, "note: the log was replayed within a second, so no progress bar was drawn\n");
    }
    it_replay_result_free(&r);

    PGconn *rebuilt = PQconnectdb(dsn);
    assert_int_equal(PQstatus(rebuilt), CONNECTION_OK);
    PQclear(PQexec(rebuilt, "SET TimeZone = 'UTC'"));
    PQclear(PQexec(db, "SET TimeZone = 'UTC'"));
    expect_same_tables(db, rebuilt);
    PQfinish(rebuilt);
    it_drop_database(db, name);
}

/* A copy of the first events of the log into a topic of its own, less
 * every copy (the relay may have sent one twice) of one seq. */
static void copy_events(const char *topic, const it_event *events, size_t n, long long skip_seq)
{
    char err[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "bootstrap.servers", it_env("KAFKA_BROKERS"), err, sizeof(err));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
    assert_non_null(rk);
    for (size_t i = 0; i < n; i++) {
        if (events[i].ev.seq == skip_seq)
            continue;
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        wk_event_encode(&events[i].ev, &sb);
        assert_int_equal(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
                                           RD_KAFKA_V_VALUE(sb.data, sb.size),
                                           RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
                         0);
        msgpack_sbuffer_destroy(&sb);
    }
    assert_int_equal(rd_kafka_flush(rk, 30000), 0);
    rd_kafka_destroy(rk);
}

static void test_log_alone_with_missing_events_is_refused(void **state)
{
    (void)state;
    it_event *events;
    size_t n;
    long long low;
    assert_int_equal(it_events_read(&events, &n, &low), 0);
    assert_true(n >= 10 && low == 0 && events[0].ev.seq == 1);
    size_t copied = n < 40 ? n : 40;
    long long middle = events[copied / 2].ev.seq;   /* a later seq follows it: a hole, not a shorter log */
    assert_true(events[copied - 1].ev.seq > middle);
    const struct {
        const char *name, *why;
        long long skip_seq;
    } CASES[] = {{"noseq1", "does not start at journal seq 1", 1}, {"hole", "misses journal seqs", middle}};
    for (size_t k = 0; k < sizeof(CASES) / sizeof(CASES[0]); k++) {
        char topic[128], name[64], dsn[512];
        snprintf(topic, sizeof(topic), "%sit-replay-%s-%s", it_env("PUNYAKA_TOPIC_PREFIX"), CASES[k].name, tag);
        copy_events(topic, events, copied, CASES[k].skip_seq);
        snprintf(name, sizeof(name), "it_replay_%s_%s", tag, CASES[k].name);
        it_dsn_for(name, dsn, sizeof(dsn));
        it_replay_result r = it_replay("rebuild --quiet --from-log-only --topic %s --into '%s'", topic, dsn);
        it_drop_database(db, name);
        if (r.status != 3 || !strstr(r.err, "refusing") || !strstr(r.err, CASES[k].why))
            fail_msg("rebuild --from-log-only of %s (exit %d), want \"%s\":\n%s\n%s", topic, r.status, CASES[k].why,
                     r.out, r.err);
        it_replay_result_free(&r);
    }
    it_events_free(events, n);
}

int main(void)
{
    if (it_start(tag, sizeof(tag)) != 0)
        return 1;
    db = it_db();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verify_with_another_time_zone_reports_every_changed_decision),
        cmocka_unit_test(test_verify_names_a_row_changed_outside_the_command_path),
        cmocka_unit_test(test_rebuild_from_the_log_alone),
        cmocka_unit_test(test_log_alone_with_missing_events_is_refused),
    };
    int failed = cmocka_run_group_tests_name("replay_faults", tests, NULL, NULL);
    PQfinish(db);
    return failed;
}
