/* it_no_credentials.c — issue 13, "no credentials in the log" and "KYC
 * changes are re-checked".
 *
 * Credentials: a password
 * hash crosses Kafka (command topics), the journal and the events topic
 * (retention unlimited) only sealed with PUNYAKA_CREDENTIAL_KEY
 * (common/sealed.h). Every flow that carries one — a registration, a
 * rejected duplicate registration, a password change, punyaka-admin's
 * create-admin — is run over the real entry points, then every topic of
 * the stack and the journal-side tables are read from the beginning and
 * must hold no "$argon2"; the passwords still work. A forged command with
 * an unsealed hash is refused.
 *
 * KYC: a verified priest who replaces Aadhaar, PAN or bank details is back
 * in the admin's queue (with the reason) and off the public listing until
 * an admin verifies again; a phone change or the same KYC typed
 * differently changes nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sodium.h>
#include "common/kyc.h"
#include "common/mp.h"
#include "tests/support/calls.h"
#include "tests/support/commands.h"
#include "tests/support/db.h"
#include "tests/support/stack_env.h"

#define OLD_PASSWORD "first-Secret-1234"
#define NEW_PASSWORD "second-Secret-5678"
/* A well-formed but unsealed hash this test forges itself (and so do the
 * forgers of it_forged_commands): its salt tells it apart from a leak. */
#define FORGED_SALT IT_FORGED_SALT
#define FORGED_HASH IT_FORGED_HASH

static PGconn *db;
static char tag[16];

static void name(char *buf, size_t cap, const char *base)
{
    static int counter;
    snprintf(buf, cap, "%s%s%d", base, tag, ++counter);
}

static int login_status(const char *username, const char *password)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"%s\"}", username, password);
    it_response r = it_post_json("/api/auth/login/", body, NULL);
    int status = r.status;
    it_response_free(&r);
    return status;
}

/* Rows of the journal, the dead letters and the outcomes that contain
 * `needle` (bytea searched as bytes, outcomes as JSON text), leaving out
 * those that also contain `except`. */
static long long db_rows_containing(const char *needle, const char *except)
{
    return it_db_scalar(
        db,
        "SELECT (SELECT count(*) FROM journal WHERE position(convert_to($1, 'UTF8') IN envelope) > 0"
        "          AND position(convert_to($2, 'UTF8') IN envelope) = 0)"
        "     + (SELECT count(*) FROM dead_letters WHERE position(convert_to($1, 'UTF8') IN coalesce(payload, '')) > 0"
        "          AND position(convert_to($2, 'UTF8') IN coalesce(payload, '')) = 0)"
        "     + (SELECT count(*) FROM command_outcomes"
        "          WHERE concat(detail, errors::text, resource::text) LIKE '%' || $1 || '%')",
        needle, except, NULL);
}

/* Every topic whose name carries the stack's prefix; asserts the command
 * topic and the events topic are among them, so the scan is not vacuous. */
static int stack_topics(char names[][128], int cap)
{
    int n = it_kafka_topics(names, cap);
    assert_true(n > 0);
    int accounts = 0, events = 0;
    for (int i = 0; i < n; i++) {
        accounts |= strcmp(names[i], "accounts") == 0;
        events |= strcmp(names[i], "events") == 0;
    }
    assert_true(accounts);
    assert_true(events);
    return n;
}

static void test_no_password_hash_on_any_topic_or_in_the_journal(void **state)
{
    (void)state;
    it_actor user = {0}, twin = {0}, admin = {0};
    name(user.name, sizeof(user.name), "nocred");
    name(admin.name, sizeof(admin.name), "nocredadm");
    assert_int_equal(it_sign_up(&user, "customer", OLD_PASSWORD, NULL), 201);
    /* The same username again: rejected, but its command carried a hash too. */
    snprintf(twin.name, sizeof(twin.name), "%s", user.name);
    assert_int_equal(it_sign_up(&twin, "customer", "other-Secret-9999", NULL), 409);

    it_response r = it_call("POST", "/api/auth/change_password/", &user,
                            "{\"old_password\":\"" OLD_PASSWORD "\",\"new_password\":\"" NEW_PASSWORD
                            "\",\"new_password_confirm\":\"" NEW_PASSWORD "\"}");
    it_expect_status(&r, 200);
    it_response_free(&r);
    assert_int_equal(it_sign_in_admin(&admin, "admin-Secret-4711"), 200);

    /* Applied correctly: the worker opened the sealed hashes. */
    assert_int_equal(login_status(user.name, NEW_PASSWORD), 200);
    assert_int_equal(login_status(user.name, OLD_PASSWORD), 401);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM users WHERE username = $1 AND password_hash LIKE '$argon2id$%'",
                                  user.name, NULL),
                     1);

    /* The outbox relay has published every journal row to `events`. */
    assert_int_equal(it_db_wait_for(db, 0, 10000, "SELECT count(*) FROM journal WHERE published_at IS NULL", NULL), 0);

    char topics[32][128];
    int n = stack_topics(topics, 32);
    for (int i = 0; i < n; i++) {
        int leaks = it_kafka_topic_scan_except(topics[i], "$argon2", FORGED_SALT);
        if (leaks != 0)
            fprintf(stderr, "topic %s: %d message(s) with $argon2\n", topics[i], leaks);
        assert_int_equal(leaks, 0);
    }
    /* What was scanned did hold this test's commands (sealed). */
    assert_true(it_kafka_topic_scan("accounts", user.name) >= 2);
    assert_true(it_kafka_topic_scan("events", user.name) >= 2);
    assert_true(it_kafka_topic_scan("accounts", "sealed:v1:") >= 4);
    assert_int_equal(db_rows_containing("$argon2", FORGED_SALT), 0);
    assert_true(db_rows_containing("sealed:v1:", FORGED_SALT) >= 4);
}

/* A command with a plain Argon2id string (what the API sent before, or a
 * forger without the key) is poison: rejected, dead-lettered, not applied. */
static void test_unsealed_hash_is_refused(void **state)
{
    (void)state;
    it_actor user = {0};
    name(user.name, sizeof(user.name), "unsealed");
    assert_int_equal(it_sign_up(&user, "customer", OLD_PASSWORD, NULL), 201);
    it_payload p;
    it_payload_init(&p);
    msgpack_pack_map(&p.pk, 1);
    pk_mp_kv_str(&p.pk, "password_hash", FORGED_HASH);
    char key[24];
    snprintf(key, sizeof(key), "%lld", (long long)user.user_id);
    it_outcome o = it_command(db, "user.change_password", "accounts", key, user.user_id, "customer", &p);
    it_payload_free(&p);
    assert_string_equal(o.status, "rejected");
    assert_string_equal(o.code, "invalid_command");
    it_outcome_free(&o);
    /* Dead-lettered for an operator to see (the forger's own bytes). */
    long long parked = 0;
    for (int i = 0; i < 100 && parked < 1; i++, usleep(50 * 1000))
        parked = it_db_scalar(db, "SELECT count(*) FROM dead_letters WHERE position(convert_to($1, 'UTF8') IN payload) > 0",
                              FORGED_SALT, NULL);
    assert_true(parked >= 1);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM users WHERE username = $1 AND password_hash = $2",
                                  user.name, FORGED_HASH, NULL),
                     0);
    assert_int_equal(login_status(user.name, OLD_PASSWORD), 200);
}

/* Runs `cmd` (bounded by timeout 10) with PUNYAKA_CREDENTIAL_KEY set to
 * `value` (NULL: unset); returns its exit status, its stderr into out. */
static int run_without_key(const char *value, const char *cmd, char *out, size_t cap)
{
    char line[8192];
    if (value)
        snprintf(line, sizeof(line), "PUNYAKA_CREDENTIAL_KEY='%s' timeout 10 %s 2>&1 >/dev/null </dev/null", value, cmd);
    else
        snprintf(line, sizeof(line), "env -u PUNYAKA_CREDENTIAL_KEY timeout 10 %s 2>&1 >/dev/null </dev/null", cmd);
    FILE *p = popen(line, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* No key, or a malformed one: the API, the worker, punyaka-admin and
 * punyaka-replay rebuild refuse to start and say why, instead of
 * publishing or refusing every account command. */
static void test_processes_refuse_to_start_without_the_key(void **state)
{
    (void)state;
    const char *build = it_env("PUNYAKA_BUILD_DIR");
    char cmd[4][512], out[4096];
    snprintf(cmd[0], sizeof(cmd[0]), "'%s/api/punyaka-api'", build);
    snprintf(cmd[1], sizeof(cmd[1]), "env PUNYAKA_METRICS_PORT=0 '%s/workers/punyaka-worker'", build);
    snprintf(cmd[2], sizeof(cmd[2]), "env PUNYAKA_ADMIN_PASSWORD=never-Used-123 '%s/workers/punyaka-admin' create-admin "
             "nokey%s nokey%s@example.com", build, tag, tag);
    snprintf(cmd[3], sizeof(cmd[3]), "'%s/workers/punyaka-replay' rebuild --into 'dbname=never_created' --quiet", build);
    const char *values[] = {NULL, "", "abcd", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeX"};
    for (int i = 0; i < 4; i++)
        for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
            int rc = run_without_key(values[v], cmd[i], out, sizeof(out));
            if (rc == 0 || rc == 124 || !strstr(out, "PUNYAKA_CREDENTIAL_KEY"))
                fprintf(stderr, "%s (key %s): exit %d: %s\n", cmd[i], values[v] ? values[v] : "unset", rc, out);
            assert_true(rc > 0 && rc != 124);
            assert_non_null(strstr(out, "PUNYAKA_CREDENTIAL_KEY"));
        }
    char name_[64];
    snprintf(name_, sizeof(name_), "nokey%s", tag);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM users WHERE username = $1", name_, NULL), 0);
}

/* ---- KYC changes are re-checked ---- */

static it_actor kyc_admin;

static void make_aadhaar(char out[13])
{
    out[0] = (char)('2' + randombytes_uniform(8));
    for (int i = 1; i < 11; i++)
        out[i] = (char)('0' + randombytes_uniform(10));
    out[11] = 0;
    out[11] = (char)('0' + pk_verhoeff_digit(out));
    out[12] = 0;
}

static int is_verified(const it_actor *priest)
{
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)priest->priest_id);
    return (int)it_db_scalar(db, "SELECT is_verified::int FROM priest_profiles WHERE id = $1::bigint", id, NULL);
}

static void verify(const it_actor *priest)
{
    it_response r = it_callf("POST", &kyc_admin, "{\"verified\":true,\"notes\":\"documents checked\"}",
                             "/api/admin/priests/%lld/verify/", (long long)priest->priest_id);
    it_expect_status(&r, 200);
    it_response_free(&r);
    assert_int_equal(is_verified(priest), 1);
}

static void patch_me(const it_actor *priest, const char *body)
{
    it_response r = it_call("PATCH", "/api/auth/me/", priest, body);
    it_expect_status(&r, 200);
    it_response_free(&r);
}

/* The priest's entry in the list at path?query (paged through, bounded),
 * as a new reference, or NULL. */
static json_t *find_priest(const char *path, const char *query, const it_actor *who, int64_t priest_id)
{
    for (int page = 1; page <= 50; page++) {
        it_response r = it_callf("GET", who, NULL, "%s?%spage=%d&page_size=100", path, query, page);
        it_expect_status(&r, 200);
        json_t *results = json_object_get(r.json, "results"), *item, *found = NULL;
        size_t i;
        json_array_foreach(results, i, item) if (it_num(item, "id") == priest_id) found = json_incref(item);
        int more = json_is_string(json_object_get(r.json, "next"));
        it_response_free(&r);
        if (found || !more)
            return found;
    }
    return NULL;
}

static int publicly_visible(const it_actor *priest)
{
    it_response r = it_callf("GET", NULL, NULL, "/api/priests/%lld/", (long long)priest->priest_id);
    int status = r.status;
    it_response_free(&r);
    json_t *listed = find_priest("/api/priests/", "", NULL, priest->priest_id);
    int in_list = listed != NULL;
    json_decref(listed);
    assert_int_equal(status == 200, in_list);   /* the detail and the list agree */
    return in_list;
}

static void test_verified_priest_changing_kyc_goes_back_to_pending(void **state)
{
    (void)state;
    it_actor priest = {0};
    char aadhaar[13], spaced[20], extra[512];
    make_aadhaar(aadhaar);
    name(priest.name, sizeof(priest.name), "kycpriest");
    snprintf(extra, sizeof(extra),
             "\"aadhaar_number\":\"%s\",\"pan_number\":\"ABCPE1234F\",\"bank_account_number\":\"123456789012\","
             "\"bank_ifsc_code\":\"SBIN0001234\",\"languages\":[\"hindi\"]",
             aadhaar);
    assert_int_equal(it_sign_up(&priest, "priest", OLD_PASSWORD, extra), 201);
    assert_true(priest.priest_id > 0);
    assert_int_equal(is_verified(&priest), 0);
    verify(&priest);
    assert_true(publicly_visible(&priest));

    /* Phone only: still verified. */
    patch_me(&priest, "{\"phone\":\"+91 98765 43210\"}");
    assert_int_equal(is_verified(&priest), 1);
    /* The same KYC typed differently (spaces, lower case): unchanged, still verified. */
    snprintf(spaced, sizeof(spaced), "%.4s %.4s %.4s", aadhaar, aadhaar + 4, aadhaar + 8);
    snprintf(extra, sizeof(extra),
             "{\"aadhaar_number\":\"%s\",\"pan_number\":\"abcpe1234f\",\"bank_account_number\":\"1234-5678-9012\","
             "\"bank_ifsc_code\":\"sbin0001234\"}",
             spaced);
    patch_me(&priest, extra);
    assert_int_equal(is_verified(&priest), 1);
    assert_true(publicly_visible(&priest));

    /* A new bank account: back to pending, with the reason, in the admin's queue. */
    patch_me(&priest, "{\"bank_account_number\":\"987654321098\"}");
    assert_int_equal(is_verified(&priest), 0);
    json_t *queued = find_priest("/api/admin/priests/", "verified=false&", &kyc_admin, priest.priest_id);
    assert_non_null(queued);
    assert_false(json_is_true(json_object_get(queued, "is_verified")));
    const char *why = it_str(queued, "verification_notes");
    assert_non_null(strstr(why, "bank_account"));
    assert_null(strstr(why, "aadhaar"));   /* only what changed is named */
    assert_string_equal(it_str(json_object_get(queued, "kyc"), "bank_account_number"), "XXXXXXXX1098");
    json_decref(queued);
    assert_false(publicly_visible(&priest));

    /* An admin verifies again: listed again; a later phone change keeps it so. */
    verify(&priest);
    assert_true(publicly_visible(&priest));
    patch_me(&priest, "{\"phone\":\"+91 91234 56789\"}");
    assert_int_equal(is_verified(&priest), 1);

    /* Each of the others counts too: PAN, then Aadhaar. */
    patch_me(&priest, "{\"pan_number\":\"ABCPE9999Z\"}");
    assert_int_equal(is_verified(&priest), 0);
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM priest_profiles WHERE id = $1::bigint AND verified_by IS NULL"
                                  " AND verification_notes LIKE '%(pan)%'",
                                  (snprintf(extra, sizeof(extra), "%lld", (long long)priest.priest_id), extra), NULL),
                     1);
    verify(&priest);
    make_aadhaar(aadhaar);
    snprintf(extra, sizeof(extra), "{\"aadhaar_number\":\"%s\"}", aadhaar);
    patch_me(&priest, extra);
    assert_int_equal(is_verified(&priest), 0);
}

int main(void)
{
    if (it_start(tag, sizeof(tag)) != 0)
        return 1;
    db = it_db();
    name(kyc_admin.name, sizeof(kyc_admin.name), "kycadm");
    if (it_sign_in_admin(&kyc_admin, "admin-Secret-4711") != 200)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_password_hash_on_any_topic_or_in_the_journal),
        cmocka_unit_test(test_unsealed_hash_is_refused),
        cmocka_unit_test(test_processes_refuse_to_start_without_the_key),
        cmocka_unit_test(test_verified_priest_changing_kyc_goes_back_to_pending),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    PQfinish(db);
    return rc;
}
