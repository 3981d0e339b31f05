/* it_bookings_concurrency.c — bookings under concurrency through Kafka →
 * worker → PostgreSQL, driven by command envelopes produced straight to
 * Kafka (tests/support/bookings.h): 50 racing bookings of one slot ⇒ one
 * applied and one payment, and 100 bookings completed and rated (one rating
 * delivered twice) ⇒ the priest's count and average move exactly once each.
 * A booking's life: it_bookings_lifecycle; the rules: it_bookings_rules. */
#include "tests/support/bookings.h"   /* first: it brings cmocka's prerequisites */

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "common/mp.h"
#include "tests/support/commands.h"
#include "tests/support/db.h"

static PGconn *db;           /* set by bookings_main (tests/support/bookings.h) */
static int64_t service_id;

/* ---- tests ---- */

typedef struct {
    const person *customer;
    const person *priest;
    char time[6];
    char date[11];
    char id[PK_UUID_STR_LEN + 1];
    int rc;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    it_payload pl;
    create_payload(&pl, r->priest->priest_id, service_id, r->date, r->time);
    char key[24];
    itoa64(r->priest->priest_id, key);
    r->rc = it_send_command("booking.create", "bookings", key, r->customer->user_id, "customer", &pl, NULL, 0, r->id);
    it_payload_free(&pl);
    return NULL;
}

static void test_fifty_concurrent_bookings_one_slot(void **state)
{
    (void)state;
    enum { N = 50 };
    person priest = verified_priest();
    static person customers[N];
    racer racers[N];
    pthread_t threads[N];
    char date[11];
    local_date(6, date);
    for (int i = 0; i < N; i++)
        customers[i] = register_user("racer", "customer");
    /* Starts 10:00 and 10:30 (the grid, issue 14): every pair overlaps (each occupies 75 minutes). */
    for (int i = 0; i < N; i++) {
        racers[i] = (racer){.customer = &customers[i], .priest = &priest};
        snprintf(racers[i].time, sizeof(racers[i].time), "10:%02d", i % 2 * 30);
        snprintf(racers[i].date, sizeof(racers[i].date), "%s", date);
        pthread_create(&threads[i], NULL, race, &racers[i]);
    }
    int applied = 0, taken = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(racers[i].rc, 0);
    }
    for (int i = 0; i < N; i++) {
        it_outcome o = it_wait_outcome(db, racers[i].id, 30000);
        applied += strcmp(o.status, "applied") == 0;
        taken += strcmp(o.status, "rejected") == 0 && strcmp(o.code, "slot_taken") == 0;
        it_outcome_free(&o);
    }
    assert_int_equal(applied, 1);
    assert_int_equal(taken, N - 1);
    char pid[24], from[40], to[40];
    itoa64(priest.priest_id, pid);
    snprintf(from, sizeof(from), "%s 10:00+05:30", date);
    snprintf(to, sizeof(to), "%s 12:05+05:30", date);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM bookings WHERE priest_id = $1 AND status <> 'cancelled'"
                                      " AND occupied && tstzrange($2::timestamptz, $3::timestamptz)",
                                  pid, from, to, NULL), 1);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM payments p JOIN bookings b ON b.id = p.booking_id"
                                      " WHERE b.priest_id = $1", pid, NULL), 1);
}

static void test_rating_once_and_hundred_ratings(void **state)
{
    (void)state;
    enum { CUSTOMERS = 10, BOOKINGS = 100 };
    person priest = verified_priest();
    person customers[CUSTOMERS];
    for (int i = 0; i < CUSTOMERS; i++)
        customers[i] = register_user("rater", "customer");
    char pid[24];
    itoa64(priest.priest_id, pid);

    /* 100 bookings on 10 days, 10 a day, 90 minutes apart: 06:00 … 19:30. */
    char ids[BOOKINGS][PK_UUID_STR_LEN + 1];
    int64_t bookings[BOOKINGS];
    for (int i = 0; i < BOOKINGS; i++) {
        char date[11], time[6];
        local_date(10 + i / 10, date);
        booking_format_time(360 + (i % 10) * 90, time);
        it_payload pl;
        create_payload(&pl, priest.priest_id, service_id, date, time);
        assert_int_equal(it_send_command("booking.create", "bookings", pid, customers[i % CUSTOMERS].user_id,
                                         "customer", &pl, NULL, 0, ids[i]), 0);
        it_payload_free(&pl);
    }
    for (int i = 0; i < BOOKINGS; i++) {
        it_outcome o = it_wait_outcome(db, ids[i], 30000);
        expect(&o, "applied", "");
        bookings[i] = o.entity_id;
        it_outcome_free(&o);
    }
    const char *steps[] = {"booking.confirm", "booking.complete"};
    for (size_t s = 0; s < 2; s++) {
        for (int i = 0; i < BOOKINGS; i++) {
            it_payload pl;
            it_payload_init(&pl);
            msgpack_pack_map(&pl.pk, 1);
            pk_mp_kv_i64(&pl.pk, "booking_id", bookings[i]);
            int64_t at = s == 1 ? started(bookings[i]) : 0;   /* complete: once begun */
            assert_int_equal(
                it_send_command(steps[s], "bookings", pid, priest.user_id, "priest", &pl, NULL, at, ids[i]), 0);
            it_payload_free(&pl);
        }
        for (int i = 0; i < BOOKINGS; i++) {
            it_outcome o = it_wait_outcome(db, ids[i], 30000);
            expect(&o, "applied", "");
            it_outcome_free(&o);
        }
    }

    /* Booking 0's rating command is delivered twice (same command id). */
    pk_uuid same;
    pk_uuid_v7(&same, (uint64_t)(it_now_us() / 1000));
    long long expected_sum = 0;
    for (int i = 0; i < BOOKINGS; i++) {
        int64_t stars = 1 + (i * 7 + i / 3) % 5;
        expected_sum += stars;
        it_payload pl;
        it_payload_init(&pl);
        msgpack_pack_map(&pl.pk, 2);
        pk_mp_kv_i64(&pl.pk, "booking_id", bookings[i]);
        pk_mp_kv_i64(&pl.pk, "rating", stars);
        const person *c = &customers[i % CUSTOMERS];
        assert_int_equal(it_send_command("booking.rate", "bookings", pid, c->user_id, "customer", &pl,
                                         i == 0 ? &same : NULL, 0, ids[i]), 0);
        if (i == 0)   /* the redelivery, right behind the original on the same partition */
            assert_int_equal(it_send_command("booking.rate", "bookings", pid, c->user_id, "customer", &pl, &same, 0,
                                             ids[i]), 0);
        it_payload_free(&pl);
    }
    for (int i = 0; i < BOOKINGS; i++) {
        it_outcome o = it_wait_outcome(db, ids[i], 30000);
        expect(&o, "applied", "");
        it_outcome_free(&o);
    }
    /* Rating booking 0 again with a new command is a rejection, not a second count. */
    it_outcome again = rate(&customers[0], &priest, bookings[0], 1);
    expect(&again, "rejected", "already_rated");
    assert_int_equal(http_status(&again), 409);
    it_outcome_free(&again);

    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM processed_commands WHERE command_id = $1", ids[0], NULL),
                     1);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM journal WHERE command_id = $1", ids[0], NULL), 1);
    assert_int_equal(it_db_scalar(db, "SELECT rating_count FROM priest_profiles WHERE id = $1", pid, NULL), BOOKINGS);
    assert_int_equal(it_db_scalar(db, "SELECT rating_sum FROM priest_profiles WHERE id = $1", pid, NULL), expected_sum);
    assert_int_equal(it_db_scalar(db, "SELECT sum(rating) FROM bookings WHERE priest_id = $1", pid, NULL),
                     expected_sum);
    /* With 100 ratings the exact average is sum / 100: compare its cents. */
    assert_int_equal(it_db_scalar(db, "SELECT (average_rating * 100)::bigint FROM priest_profiles WHERE id = $1", pid,
                                  NULL), expected_sum);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifty_concurrent_bookings_one_slot),
        cmocka_unit_test(test_rating_once_and_hundred_ratings),
    };
    return bookings_main("bookings_concurrency", tests, sizeof(tests) / sizeof(tests[0]), &db, NULL, &service_id);
}
