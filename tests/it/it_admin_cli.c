/* it_admin_cli.c — punyaka-admin create-admin end to end (CLI → Kafka →
 * worker → PostgreSQL), the "system"-only rule of user.create_admin, and the
 * accounts commands users send about themselves: priest.update_profile with
 * KYC ciphertext, user.update, user.change_password. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <jansson.h>
#include <sodium.h>
#include "common/kyc.h"
#include "common/mp.h"
#include "tests/support/commands.h"
#include "tests/support/db.h"
#include "tests/support/stack_env.h"

#define ADMIN_PASSWORD "admin-Secret-4711"
#define HASH_A "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2g"
#define HASH_B "$argon2id$v=19$m=65536,t=2,p=1$b3RoZXJzYWx0c2FsdA$bmV3aGFzaG5ld2hhc2huZXdoYXNo"

static PGconn *db;
static char run_tag[16];
static unsigned char data_key[crypto_secretbox_KEYBYTES];

static void unique_name(char *buf, size_t cap, const char *base)
{
    static int counter;
    snprintf(buf, cap, "%s%s%d", base, run_tag, ++counter);
}

/* Runs punyaka-admin with `args` (and `stdin_line` piped in, or /dev/null);
 * its stdout goes to out. Returns the exit status (-1 when it did not exit). */
static int run_cli(const char *args, const char *stdin_line, char *out, size_t cap)
{
    char cmd[8192];
    if (stdin_line)
        snprintf(cmd, sizeof(cmd), "printf '%%s\\n' '%s' | '%s/workers/punyaka-admin' %s", stdin_line,
                 it_env("PUNYAKA_BUILD_DIR"), args);
    else
        snprintf(cmd, sizeof(cmd), "'%s/workers/punyaka-admin' %s < /dev/null", it_env("PUNYAKA_BUILD_DIR"), args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *j = text ? json_loads(text, JSON_DISABLE_EOF_CHECK, &e) : NULL;
    if (!j)
        fprintf(stderr, "not JSON: %s\n", text ? text : "(null)");
    assert_non_null(j);
    return j;
}

static const char *jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* ---- punyaka-admin ---- */

static void test_create_admin_and_rerun(void **state)
{
    (void)state;
    char user[64], email[96], args[256], out[8192];
    unique_name(user, sizeof(user), "root");
    snprintf(email, sizeof(email), "%s@example.com", user);
    snprintf(args, sizeof(args), "create-admin %s %s", user, email);
    setenv("PUNYAKA_ADMIN_PASSWORD", ADMIN_PASSWORD, 1);

    assert_int_equal(run_cli(args, NULL, out, sizeof(out)), 0);
    json_t *line = parse(out);
    assert_string_equal(jstr(line, "status"), "applied");
    assert_string_equal(jstr(line, "type"), "user.create_admin");
    json_t *res = json_object_get(line, "resource");
    assert_string_equal(jstr(res, "username"), user);
    assert_string_equal(jstr(res, "role"), "admin");
    assert_null(json_object_get(res, "password_hash"));
    assert_null(strstr(out, "argon2"));
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM users WHERE username = $1 AND role = 'admin'"
                                      " AND password_hash LIKE '$argon2id$%' AND password_hash NOT LIKE '%' || $2 || '%'",
                                  user, ADMIN_PASSWORD, NULL), 1);
    /* The actor recorded in the journal is the system, not a user. */
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM journal WHERE command_id = $1::uuid AND actor_role = 'system'"
                                      " AND actor_id = 0 AND position(convert_to($2, 'UTF8') IN envelope) = 0",
                                  jstr(line, "command_id"), ADMIN_PASSWORD, NULL), 1);
    /* The stored hash verifies the password (it is the CLI's Argon2id of it). */
    const char *params[] = {user};
    PGresult *r = PQexecParams(db, "SELECT password_hash FROM users WHERE username = $1", 1, NULL, params, NULL, NULL, 0);
    assert_int_equal(PQntuples(r), 1);
    assert_int_equal(crypto_pwhash_str_verify(PQgetvalue(r, 0, 0), ADMIN_PASSWORD, strlen(ADMIN_PASSWORD)), 0);
    PQclear(r);
    json_decref(line);

    /* A re-run changes nothing and still succeeds. */
    assert_int_equal(run_cli(args, NULL, out, sizeof(out)), 0);
    line = parse(out);
    assert_string_equal(jstr(line, "status"), "rejected");
    assert_string_equal(jstr(line, "code"), "username_taken");
    json_decref(line);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM users WHERE lower(username) = lower($1)", user, NULL), 1);
    unsetenv("PUNYAKA_ADMIN_PASSWORD");
}

static void test_create_admin_password_from_stdin(void **state)
{
    (void)state;
    char user[64], email[96], args[256], out[8192];
    unique_name(user, sizeof(user), "stdinadm");
    snprintf(email, sizeof(email), "%s@example.com", user);
    snprintf(args, sizeof(args), "create-admin %s %s", user, email);
    unsetenv("PUNYAKA_ADMIN_PASSWORD");
    assert_int_equal(run_cli(args, "piped-Pass-99", out, sizeof(out)), 0);
    json_t *line = parse(out);
    assert_string_equal(jstr(line, "status"), "applied");
    json_decref(line);
    const char *params[] = {user};
    PGresult *r = PQexecParams(db, "SELECT password_hash FROM users WHERE username = $1 AND role = 'admin'", 1, NULL,
                               params, NULL, NULL, 0);
    assert_int_equal(PQntuples(r), 1);
    assert_int_equal(crypto_pwhash_str_verify(PQgetvalue(r, 0, 0), "piped-Pass-99", 13), 0);
    PQclear(r);
}

static void test_create_admin_bad_input_publishes_nothing(void **state)
{
    (void)state;
    char user[64], args[256], out[8192];
    unique_name(user, sizeof(user), "badadm");
    /* No password at all (env unset, stdin empty), a short one, a bad email,
     * a password on the command line: refused before anything is published. */
    unsetenv("PUNYAKA_ADMIN_PASSWORD");
    snprintf(args, sizeof(args), "create-admin %s %s@example.com", user, user);
    assert_int_equal(run_cli(args, NULL, out, sizeof(out)), 1);
    setenv("PUNYAKA_ADMIN_PASSWORD", "short", 1);
    assert_int_equal(run_cli(args, NULL, out, sizeof(out)), 1);
    setenv("PUNYAKA_ADMIN_PASSWORD", ADMIN_PASSWORD, 1);
    snprintf(args, sizeof(args), "create-admin %s not-an-email", user);
    assert_int_equal(run_cli(args, NULL, out, sizeof(out)), 1);
    snprintf(args, sizeof(args), "create-admin %s %s@example.com %s", user, user, ADMIN_PASSWORD);
    assert_int_equal(run_cli(args, NULL, out, sizeof(out)), 2);
    assert_int_equal(run_cli("--help", NULL, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "create-admin USERNAME EMAIL"));
    unsetenv("PUNYAKA_ADMIN_PASSWORD");
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM users WHERE username = $1", user, NULL), 0);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM command_outcomes WHERE resource->>'username' = $1", user,
                                  NULL), 0);
}

/* ---- registering users directly through the command path ---- */

static long long register_user(const char *username, const char *role, const unsigned char *aadhaar_blob,
                               size_t aadhaar_len)
{
    char email[128];
    snprintf(email, sizeof(email), "%s@example.com", username);
    it_payload p;
    it_payload_init(&p);
    int priest = strcmp(role, "priest") == 0;
    msgpack_pack_map(&p.pk, 5 + (priest ? 2 : 0) + (aadhaar_blob ? 1 : 0));
    pk_mp_kv_str(&p.pk, "username", username);
    pk_mp_kv_str(&p.pk, "email", email);
    it_pack_password_hash(&p.pk, HASH_A);
    pk_mp_kv_str(&p.pk, "role", role);
    pk_mp_kv_str(&p.pk, "first_name", "Test");
    if (priest) {
        pk_mp_pack_cstr(&p.pk, "languages");
        msgpack_pack_array(&p.pk, 1);
        pk_mp_pack_cstr(&p.pk, "hindi");
        pk_mp_kv_i64(&p.pk, "experience_years", 3);
    }
    if (aadhaar_blob) {
        pk_mp_pack_cstr(&p.pk, "aadhaar_enc");
        msgpack_pack_bin(&p.pk, aadhaar_len);
        msgpack_pack_bin_body(&p.pk, aadhaar_blob, aadhaar_len);
    }
    it_outcome o = it_command(db, "user.register", "accounts", username, 0, "", &p);
    it_payload_free(&p);
    assert_string_equal(o.status, "applied");
    long long id = o.entity_id;
    it_outcome_free(&o);
    assert_true(id > 0);
    return id;
}

static void test_create_admin_forbidden_unless_system(void **state)
{
    (void)state;
    const char *roles[] = {"admin", "", "customer", "priest"};
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
        char user[64], email[96];
        unique_name(user, sizeof(user), "sneaky");
        snprintf(email, sizeof(email), "%s@example.com", user);
        it_payload p;
        it_payload_init(&p);
        msgpack_pack_map(&p.pk, 3);
        pk_mp_kv_str(&p.pk, "username", user);
        pk_mp_kv_str(&p.pk, "email", email);
        it_pack_password_hash(&p.pk, HASH_A);
        it_outcome o = it_command(db, "user.create_admin", "accounts", user, i == 0 ? 1 : 0, roles[i], &p);
        it_payload_free(&p);
        assert_string_equal(o.status, "rejected");
        assert_string_equal(o.code, "forbidden");
        it_outcome_free(&o);
        assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM users WHERE username = $1", user, NULL), 0);
    }
}

static void test_create_admin_over_customer_name_fails(void **state)
{
    (void)state;
    char user[64], args[256], out[8192];
    unique_name(user, sizeof(user), "taken");
    register_user(user, "customer", NULL, 0);
    snprintf(args, sizeof(args), "create-admin %s other.%s@example.com", user, user);
    setenv("PUNYAKA_ADMIN_PASSWORD", ADMIN_PASSWORD, 1);
    assert_int_equal(run_cli(args, NULL, out, sizeof(out)), 1);
    unsetenv("PUNYAKA_ADMIN_PASSWORD");
    json_t *line = parse(out);
    assert_string_equal(jstr(line, "code"), "username_taken");
    json_decref(line);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM users WHERE username = $1 AND role = 'customer'", user,
                                  NULL), 1);
}

/* ---- priest.update_profile with KYC ciphertext ---- */

static void pack_blob(msgpack_packer *pk, const char *key, const unsigned char *blob, size_t len)
{
    pk_mp_pack_cstr(pk, key);
    msgpack_pack_bin(pk, len);
    msgpack_pack_bin_body(pk, blob, len);
}

static void hex_of(const unsigned char *b, size_t len, char *out, size_t cap)
{
    sodium_bin2hex(out, cap, b, len);
}

static void make_aadhaar(char out[13])
{
    out[0] = (char)('2' + randombytes_uniform(8));
    for (int i = 1; i < 11; i++)
        out[i] = (char)('0' + randombytes_uniform(10));
    out[11] = 0;
    out[11] = (char)('0' + pk_verhoeff_digit(out));
    out[12] = 0;
}

static void test_priest_update_profile_stores_only_ciphertext(void **state)
{
    (void)state;
    char user[64], aadhaar[13], aadhaar2[13], account[16];
    const char *pan = "ABCPK1234Q", *ifsc = "SBIN0004711";
    unique_name(user, sizeof(user), "kycpriest");
    make_aadhaar(aadhaar);
    make_aadhaar(aadhaar2);
    snprintf(account, sizeof(account), "9%010u", (unsigned)randombytes_uniform(2000000000u));
    assert_null(pk_kyc_check_aadhaar(aadhaar));
    assert_null(pk_kyc_check_bank_account(account));

    /* Registration may already carry some KYC. */
    size_t l0;
    unsigned char *b0 = pk_kyc_seal(data_key, aadhaar2, &l0);
    long long id = register_user(user, "priest", b0, l0);
    char ids[24], hex[2 * PK_KYC_BLOB_MAX + 1];
    snprintf(ids, sizeof(ids), "%lld", id);
    hex_of(b0, l0, hex, sizeof(hex));
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM priest_profiles WHERE user_id = $1::bigint"
                                      " AND encode(aadhaar_enc, 'hex') = $2 AND pan_enc IS NULL", ids, hex, NULL), 1);
    free(b0);

    size_t la, lp, lb, li;
    unsigned char *ba = pk_kyc_seal(data_key, aadhaar, &la), *bp = pk_kyc_seal(data_key, pan, &lp),
                  *bb = pk_kyc_seal(data_key, account, &lb), *bi = pk_kyc_seal(data_key, ifsc, &li);
    it_payload p;
    it_payload_init(&p);
    msgpack_pack_map(&p.pk, 9);
    pk_mp_pack_cstr(&p.pk, "specializations");
    msgpack_pack_array(&p.pk, 2);
    pk_mp_pack_cstr(&p.pk, "griha_pravesh");
    pk_mp_pack_cstr(&p.pk, "satyanarayan \"katha\"");
    pk_mp_pack_cstr(&p.pk, "languages");
    msgpack_pack_array(&p.pk, 2);
    pk_mp_pack_cstr(&p.pk, "hindi");
    pk_mp_pack_cstr(&p.pk, "sanskrit");
    pk_mp_kv_i64(&p.pk, "experience_years", 12);
    pk_mp_kv_i64(&p.pk, "service_radius_km", 25);
    pk_mp_kv_str(&p.pk, "bio", "Vedic rituals, Varanasi trained.");
    pack_blob(&p.pk, "aadhaar_enc", ba, la);
    pack_blob(&p.pk, "pan_enc", bp, lp);
    pack_blob(&p.pk, "bank_account_enc", bb, lb);
    pack_blob(&p.pk, "bank_ifsc_enc", bi, li);
    it_outcome o = it_command(db, "priest.update_profile", "accounts", ids, id, "priest", &p);
    it_payload_free(&p);
    assert_string_equal(o.status, "applied");
    json_t *res = parse(o.resource);
    assert_true(json_is_true(json_object_get(res, "kyc_submitted")));
    assert_true(json_is_true(json_object_get(json_object_get(res, "kyc_fields"), "pan")));
    assert_int_equal(json_integer_value(json_object_get(res, "experience_years")), 12);
    assert_int_equal(json_integer_value(json_object_get(res, "user_id")), id);
    assert_string_equal(json_string_value(json_array_get(json_object_get(res, "specializations"), 1)),
                        "satyanarayan \"katha\"");
    /* Neither plaintext nor ciphertext in the resource. */
    assert_null(strstr(o.resource, "_enc"));
    assert_null(strstr(o.resource, aadhaar));
    assert_null(strstr(o.resource, pan));
    assert_null(strstr(o.resource, account));
    json_decref(res);
    it_outcome_free(&o);

    /* Stored byte for byte as sent, and still opens with the key. */
    struct {
        const char *column;
        const unsigned char *blob;
        size_t len;
        const char *plain;
    } cols[] = {{"aadhaar_enc", ba, la, aadhaar}, {"pan_enc", bp, lp, pan}, {"bank_account_enc", bb, lb, account},
                {"bank_ifsc_enc", bi, li, ifsc}};
    for (size_t i = 0; i < 4; i++) {
        char sql[256];
        snprintf(sql, sizeof(sql), "SELECT encode(%s, 'hex') FROM priest_profiles WHERE user_id = $1::bigint",
                 cols[i].column);
        const char *params[] = {ids};
        PGresult *r = PQexecParams(db, sql, 1, NULL, params, NULL, NULL, 0);
        assert_int_equal(PQntuples(r), 1);
        hex_of(cols[i].blob, cols[i].len, hex, sizeof(hex));
        assert_string_equal(PQgetvalue(r, 0, 0), hex);
        PQclear(r);
        unsigned char stored[PK_KYC_BLOB_MAX];
        size_t n;
        assert_int_equal(sodium_hex2bin(stored, sizeof(stored), hex, strlen(hex), NULL, &n, NULL), 0);
        char plain[PK_KYC_TEXT_MAX];
        assert_true(pk_kyc_open(data_key, stored, n, plain, sizeof(plain)) > 0);
        assert_string_equal(plain, cols[i].plain);
        /* No plaintext anywhere in the row, the users row, the outcome or the journal. */
        assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM priest_profiles p WHERE p::text LIKE '%' || $1 || '%'",
                                      cols[i].plain, NULL), 0);
        assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM users u WHERE u::text LIKE '%' || $1 || '%'",
                                      cols[i].plain, NULL), 0);
        assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM command_outcomes o WHERE o::text LIKE '%' || $1 || '%'",
                                      cols[i].plain, NULL), 0);
        assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM journal WHERE position(convert_to($1, 'UTF8') IN envelope) > 0",
                                      cols[i].plain, NULL), 0);
    }
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM priest_profiles WHERE user_id = $1::bigint"
                                      " AND specializations = ARRAY['griha_pravesh', 'satyanarayan \"katha\"']"
                                      " AND languages = ARRAY['hindi', 'sanskrit'] AND experience_years = 12"
                                      " AND service_radius_km = 25 AND bio LIKE 'Vedic%'", ids, NULL), 1);

    /* A partial update keeps everything it does not mention, KYC included. */
    it_payload_init(&p);
    msgpack_pack_map(&p.pk, 1);
    pk_mp_kv_i64(&p.pk, "service_radius_km", 40);
    o = it_command(db, "priest.update_profile", "accounts", ids, id, "priest", &p);
    it_payload_free(&p);
    assert_string_equal(o.status, "applied");
    it_outcome_free(&o);
    hex_of(ba, la, hex, sizeof(hex));
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM priest_profiles WHERE user_id = $1::bigint"
                                      " AND service_radius_km = 40 AND experience_years = 12"
                                      " AND encode(aadhaar_enc, 'hex') = $2 AND num_nonnulls(pan_enc, bank_account_enc,"
                                      " bank_ifsc_enc) = 3", ids, hex, NULL), 1);

    /* Not a sealed blob (plaintext sent as a string, or a bin too short) ⇒ invalid, nothing changes. */
    for (int variant = 0; variant < 2; variant++) {
        it_payload_init(&p);
        msgpack_pack_map(&p.pk, 2);
        pk_mp_kv_i64(&p.pk, "service_radius_km", 99);
        if (variant == 0) {
            pk_mp_kv_str(&p.pk, "pan_enc", pan);
        } else {
            pack_blob(&p.pk, "pan_enc", bp, 8);
        }
        o = it_command(db, "priest.update_profile", "accounts", ids, id, "priest", &p);
        it_payload_free(&p);
        assert_string_equal(o.status, "rejected");
        assert_string_equal(o.code, "invalid_command");
        it_outcome_free(&o);
    }
    assert_int_equal(it_db_scalar(db, "SELECT service_radius_km FROM priest_profiles WHERE user_id = $1::bigint", ids,
                                  NULL), 40);
    free(ba);
    free(bp);
    free(bb);
    free(bi);
}

static void test_priest_update_profile_only_for_priests(void **state)
{
    (void)state;
    char user[64], ids[24];
    unique_name(user, sizeof(user), "notpriest");
    long long id = register_user(user, "customer", NULL, 0);
    snprintf(ids, sizeof(ids), "%lld", id);
    const char *roles[] = {"customer", "priest", "admin", ""};
    for (size_t i = 0; i < 4; i++) {
        it_payload p;
        it_payload_init(&p);
        msgpack_pack_map(&p.pk, 1);
        pk_mp_kv_i64(&p.pk, "experience_years", 5);
        it_outcome o = it_command(db, "priest.update_profile", "accounts", ids, id, roles[i], &p);
        it_payload_free(&p);
        assert_string_equal(o.status, "rejected");
        /* A customer claiming "priest" is refused too: the row's role decides. */
        assert_string_equal(o.code, "forbidden");
        it_outcome_free(&o);
    }
}

/* ---- user.update and user.change_password ---- */

static void test_user_update_and_change_password(void **state)
{
    (void)state;
    char user[64], ids[24];
    unique_name(user, sizeof(user), "selfedit");
    long long id = register_user(user, "customer", NULL, 0);
    snprintf(ids, sizeof(ids), "%lld", id);

    it_payload p;
    it_payload_init(&p);
    msgpack_pack_map(&p.pk, 4);
    pk_mp_kv_str(&p.pk, "first_name", "Asha");
    pk_mp_kv_str(&p.pk, "last_name", "Rao");
    pk_mp_kv_str(&p.pk, "phone", "+91 98450 12345");
    pk_mp_kv_str(&p.pk, "address", "12 Temple Road, Udupi");
    it_outcome o = it_command(db, "user.update", "accounts", ids, id, "customer", &p);
    it_payload_free(&p);
    assert_string_equal(o.status, "applied");
    json_t *res = parse(o.resource);
    assert_int_equal(json_integer_value(json_object_get(res, "id")), id);
    assert_string_equal(jstr(res, "username"), user);
    assert_string_equal(jstr(res, "first_name"), "Asha");
    assert_string_equal(jstr(res, "phone"), "+91 98450 12345");
    assert_string_equal(jstr(res, "role"), "customer");
    assert_null(json_object_get(res, "password_hash"));
    json_decref(res);
    it_outcome_free(&o);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM users WHERE id = $1::bigint AND first_name = 'Asha'"
                                      " AND last_name = 'Rao' AND address = '12 Temple Road, Udupi'", ids, NULL), 1);

    /* phone: nil clears; missing keys stay. */
    it_payload_init(&p);
    msgpack_pack_map(&p.pk, 1);
    pk_mp_kv_nil(&p.pk, "phone");
    o = it_command(db, "user.update", "accounts", ids, id, "customer", &p);
    it_payload_free(&p);
    assert_string_equal(o.status, "applied");
    it_outcome_free(&o);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM users WHERE id = $1::bigint AND phone IS NULL"
                                      " AND first_name = 'Asha' AND address IS NOT NULL", ids, NULL), 1);

    it_payload_init(&p);
    msgpack_pack_map(&p.pk, 1);
    it_pack_password_hash(&p.pk, HASH_B);
    o = it_command(db, "user.change_password", "accounts", ids, id, "customer", &p);
    assert_string_equal(o.status, "applied");
    assert_null(strstr(o.resource, "argon2"));
    it_outcome_free(&o);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM users WHERE id = $1::bigint AND password_hash = $2", ids,
                                  HASH_B, NULL), 1);

    /* Anonymous, or a role the account does not have ⇒ forbidden, nothing changes. */
    o = it_command(db, "user.change_password", "accounts", ids, 0, "", &p);
    assert_string_equal(o.code, "forbidden");
    it_outcome_free(&o);
    o = it_command(db, "user.change_password", "accounts", ids, id, "admin", &p);
    assert_string_equal(o.code, "forbidden");
    it_outcome_free(&o);
    it_payload_free(&p);

    /* Sealed, but not an Argon2id hash ⇒ invalid. */
    it_payload_init(&p);
    msgpack_pack_map(&p.pk, 1);
    it_pack_password_hash(&p.pk, "plaintext-password");
    o = it_command(db, "user.change_password", "accounts", ids, id, "customer", &p);
    it_payload_free(&p);
    assert_string_equal(o.code, "invalid_command");
    it_outcome_free(&o);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM users WHERE id = $1::bigint AND password_hash = $2", ids,
                                  HASH_B, NULL), 1);

    /* A user id that does not exist ⇒ not_found. */
    it_payload_init(&p);
    msgpack_pack_map(&p.pk, 1);
    pk_mp_kv_str(&p.pk, "first_name", "Ghost");
    o = it_command(db, "user.update", "accounts", "999999999", 999999999, "customer", &p);
    it_payload_free(&p);
    assert_string_equal(o.code, "not_found");
    it_outcome_free(&o);
}

int main(void)
{
    if (it_start(run_tag, sizeof(run_tag)) != 0)
        return 1;
    const char *key = getenv("PUNYAKA_DATA_KEY");
    if (!key || pk_kyc_key_load(key, data_key) != 0)
        crypto_secretbox_keygen(data_key);
    db = it_db();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_admin_and_rerun),
        cmocka_unit_test(test_create_admin_password_from_stdin),
        cmocka_unit_test(test_create_admin_bad_input_publishes_nothing),
        cmocka_unit_test(test_create_admin_forbidden_unless_system),
        cmocka_unit_test(test_create_admin_over_customer_name_fails),
        cmocka_unit_test(test_priest_update_profile_stores_only_ciphertext),
        cmocka_unit_test(test_priest_update_profile_only_for_priests),
        cmocka_unit_test(test_user_update_and_change_password),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    PQfinish(db);
    return rc;
}
