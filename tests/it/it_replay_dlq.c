/* it_replay_dlq.c — punyaka-replay's dead-letter commands against the
 * running stack: dlq list and a redrive of a corrected poison message ⇒
 * reported applied, applied once; a command of a type no worker knows ⇒
 * dead-lettered undecided (no journal, no processed_commands), its redrive
 * reported dead_lettered until the workers know the type, then applied;
 * and --help. Each test makes its own dead letter: none needs the load of
 * it_replay_audit (rebuild, verify, history, list). What they apply is
 * journalled like any command, so a later rebuild of the shared database
 * still finds it identical. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "common/envelope.h"
#include "common/mp.h"
#include "tests/support/commands.h"
#include "tests/support/db.h"
#include "tests/support/replay.h"
#include "tests/support/stack_env.h"

#define HASH IT_PASSWORD_HASH

static PGconn *db;
static char tag[16];

/* A registration of `user` as an envelope of `type` (the command id and
 * issued_at in *env, kept for a second encoding of the same command). */
static void registration_envelope(pk_envelope *env, const char *type, const char *user, msgpack_sbuffer *out)
{
    it_payload pl;
    it_customer_registration(&pl, user, HASH);
    snprintf(env->type, sizeof(env->type), "%s", type);
    msgpack_sbuffer_init(out);
    assert_int_equal(pk_envelope_encode(env, pl.sb.data, pl.sb.size, out), 0);
    it_payload_free(&pl);
}

static void write_file(const char *path, const msgpack_sbuffer *b)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b->data, 1, b->size, f), b->size);
    fclose(f);
}

/* A registration cut short on its way: poison, listed with its reason;
 * redriven with the corrected bytes, it is reported applied and applied,
 * once, however often. */
static void test_dlq_list_and_redrive(void **state)
{
    (void)state;
    char user[64], id_text[PK_UUID_STR_LEN + 1];
    snprintf(user, sizeof(user), "rpdlq%s", tag);
    pk_envelope env = {.v = PK_ENVELOPE_VERSION, .issued_at_us = it_now_us()};
    pk_uuid_v7(&env.id, (uint64_t)(env.issued_at_us / 1000));
    pk_uuid_format(&env.id, id_text);
    msgpack_sbuffer full;
    registration_envelope(&env, "user.register", user, &full);
    /* Cut short before it was signed (as a buggy producer holding the key
     * would): the signature holds, the envelope does not decode. */
    msgpack_sbuffer cut;
    msgpack_sbuffer_init(&cut);
    msgpack_sbuffer_write(&cut, full.data, full.size - 9);
    it_sign(&cut);
    assert_int_equal(it_kafka_produce("accounts", user, cut.data, cut.size), 0);
    msgpack_sbuffer_destroy(&cut);
    long long dead = it_db_wait_for(db, 1, 20000, "SELECT count(*) FROM dead_letters WHERE key = convert_to($1, 'UTF8')"
                                                  " AND redriven_at IS NULL", user, NULL);
    assert_int_equal(dead, 1);
    long long dl = it_db_scalar(db, "SELECT id FROM dead_letters WHERE key = convert_to($1, 'UTF8')", user, NULL);

    it_replay_result r = it_replay("dlq list");
    char want[256];
    snprintf(want, sizeof(want), "{\"id\":%lld,\"topic\":\"%saccounts\"", dl, it_env("PUNYAKA_TOPIC_PREFIX"));
    assert_non_null(strstr(r.out, want));
    assert_non_null(strstr(r.out, "\"reason\":\"truncated msgpack\""));
    it_replay_result_free(&r);

    char path[64];
    snprintf(path, sizeof(path), "/tmp/it-replay-fixed-%d.msgpack", (int)getpid());
    write_file(path, &full);
    msgpack_sbuffer_destroy(&full);
    for (int i = 0; i < 2; i++) {   /* twice: the second is a duplicate, answered from the stored outcome */
        r = it_replay("dlq redrive --id %lld --value-file %s", dl, path);
        assert_int_equal(r.status, 0);
        if (!strstr(r.out, "\"status\":\"applied\"") || !strstr(r.out, id_text) ||
            (i == 1) != (strstr(r.out, "\"decided_before\":true") != NULL))
            fail_msg("redrive %d reported: %s", i + 1, r.out);
        it_replay_result_free(&r);
        it_outcome o = it_wait_outcome(db, id_text, 20000);
        assert_string_equal(o.status, "applied");
        it_outcome_free(&o);
    }
    unlink(path);
    usleep(500 * 1000);   /* let the duplicate delivery go through */
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM users WHERE username = $1", user, NULL), 1);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM journal WHERE command_id = $1", id_text, NULL), 1);
    r = it_replay("dlq list");
    assert_null(strstr(r.out, want));   /* no longer pending */
    it_replay_result_free(&r);
    r = it_replay("dlq list --all");
    assert_non_null(strstr(r.out, want));
    it_replay_result_free(&r);
}

/* The rolling-deploy case: the API is newer than the workers and sends a
 * type they do not know. The workers dead-letter it undecided — no journal
 * row, no processed_commands row — so the command id is still free. A
 * redrive before the upgrade says so (dead_lettered: unknown_command); after
 * it, the same command is applied. The workers under test cannot learn a
 * type, so "after the upgrade" is played by redriving the same command
 * (same id, same payload) under the name these workers know. */
static void test_unknown_type_is_redriven_after_the_upgrade(void **state)
{
    (void)state;
    char user[64], id_text[PK_UUID_STR_LEN + 1], path[64];
    snprintf(user, sizeof(user), "rpnew%s", tag);
    pk_envelope env = {.v = PK_ENVELOPE_VERSION, .issued_at_us = it_now_us()};
    pk_uuid_v7(&env.id, (uint64_t)(env.issued_at_us / 1000));
    pk_uuid_format(&env.id, id_text);
    msgpack_sbuffer future, known;
    registration_envelope(&env, "user.register_v9", user, &future);
    it_sign(&future);   /* a newer API signs it: only the type is unknown */
    assert_int_equal(it_kafka_produce("accounts", user, future.data, future.size), 0);
    msgpack_sbuffer_destroy(&future);
    const char *pending_sql = "SELECT count(*) FROM dead_letters WHERE key = convert_to($1, 'UTF8')"
                              " AND reason = 'unknown_command' AND redriven_at IS NULL";
    assert_int_equal(it_db_wait_for(db, 1, 20000, pending_sql, user, NULL), 1);
    for (const char *const *t = (const char *const[]){"journal", "processed_commands", "command_outcomes", NULL}; *t;
         t++) {
        char sql[96];
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE command_id = $1", *t);
        if (it_db_scalar(db, sql, id_text, NULL) != 0)
            fail_msg("an unknown type was recorded in %s: it could never be redriven", *t);
    }
    long long dl = it_db_scalar(db, "SELECT id FROM dead_letters WHERE key = convert_to($1, 'UTF8')", user, NULL);

    /* Before the upgrade: the redrive is dead-lettered again, and says so. */
    it_replay_result r = it_replay("dlq redrive --id %lld --wait 20", dl);
    assert_int_equal(r.status, 0);
    if (!strstr(r.out, "\"status\":\"dead_lettered\"") || !strstr(r.out, "\"reason\":\"unknown_command\""))
        fail_msg("redrive before the upgrade reported: %s", r.out);
    it_replay_result_free(&r);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM processed_commands WHERE command_id = $1", id_text, NULL),
                     0);

    /* After the upgrade: the pending dead letter (the redriven copy) is applied. */
    dl = it_db_scalar(db, "SELECT id FROM dead_letters WHERE key = convert_to($1, 'UTF8') AND redriven_at IS NULL",
                      user, NULL);
    registration_envelope(&env, "user.register", user, &known);
    snprintf(path, sizeof(path), "/tmp/it-replay-upgraded-%d.msgpack", (int)getpid());
    write_file(path, &known);
    msgpack_sbuffer_destroy(&known);
    r = it_replay("dlq redrive --id %lld --value-file %s --wait 20", dl, path);
    unlink(path);
    assert_int_equal(r.status, 0);
    if (!strstr(r.out, "\"status\":\"applied\"") || !strstr(r.out, id_text) || strstr(r.out, "decided_before"))
        fail_msg("redrive after the upgrade reported: %s", r.out);
    it_replay_result_free(&r);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM users WHERE username = $1", user, NULL), 1);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM journal WHERE command_id = $1", id_text, NULL), 1);
    assert_int_equal(it_db_wait_for(db, 0, 5000, pending_sql, user, NULL), 0);
}

static void test_help(void **state)
{
    (void)state;
    it_replay_result r = it_replay("--help");
    assert_int_equal(r.status, 0);
    for (const char *const *w = (const char *const[]){"list", "history", "rebuild", "verify", "dlq list",
                                                       "dlq redrive", NULL};
         *w; w++)
        assert_non_null(strstr(r.out, *w));
    it_replay_result_free(&r);
    r = it_replay("rebuild");
    assert_int_equal(r.status, 2);   /* --into is required */
    it_replay_result_free(&r);
}

int main(void)
{
    if (it_start(tag, sizeof(tag)) != 0)
        return 1;
    db = it_db();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dlq_list_and_redrive),
        cmocka_unit_test(test_unknown_type_is_redriven_after_the_upgrade),
        cmocka_unit_test(test_help),
    };
    int failed = cmocka_run_group_tests_name("replay_dlq", tests, NULL, NULL);
    PQfinish(db);
    return failed;
}
