/* it_migrate — punyaka-migrate against the stack's PostgreSQL, and the
 * constraints the schema promises the workers (DESIGN.md §4):
 *   - first run applies every file, a re-run applies nothing;
 *   - two migrators racing on a fresh database apply each file once;
 *   - an edited applied file is refused; a failing file leaves nothing;
 *   - overlapping live bookings of one priest ⇒ 23P01, cancelled or
 *     adjacent ones are fine; negative stock ⇒ 23514; usernames and
 *     emails are unique case-insensitively ⇒ 23505.
 * Each run works in its own fresh databases and drops them at the end.
 * Tests run in order: the constraint tests use the database the first one
 * migrated. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "tests/support/stack_env.h"

typedef struct {
    PGconn *admin;          /* the stack's DATABASE_URL: creates/drops ours */
    PGconn *db;             /* the migrated database, for constraint tests */
    char name[64];          /* fresh database migrated by the first test */
    char race_name[64];     /* fresh database for the concurrent-run test */
    char dsn[2048];
    char race_dsn[2048];
    char bin[4096];         /* the built punyaka-migrate */
    char src_dir[4096];     /* migrations/ in the source tree */
} fixture;

static fixture F;

/* ---- helpers ---------------------------------------------------------- */

/* key='value' with libpq's quoting rules. */
static void append_kv(char *out, size_t cap, const char *key, const char *val)
{
    size_t n = strlen(out);
    n += (size_t)snprintf(out + n, cap - n, "%s%s='", n ? " " : "", key);
    for (const char *p = val; *p && n + 3 < cap; p++) {
        if (*p == '\'' || *p == '\\')
            out[n++] = '\\';
        out[n++] = *p;
    }
    snprintf(out + n, cap - n, "'");
}

/* The stack's conninfo (key=value or URI) pointed at another database. */
static void dsn_for(const char *base, const char *dbname, char *out, size_t cap)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(base, &err);
    if (!opts)
        fail_msg("DATABASE_URL does not parse: %s", err ? err : "?");
    out[0] = 0;
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (o->val && *o->val && strcmp(o->keyword, "dbname") != 0)
            append_kv(out, cap, o->keyword, o->val);
    append_kv(out, cap, "dbname", dbname);
    PQconninfoFree(opts);
}

/* "" when the statement succeeded, else its SQLSTATE (static buffer). */
static const char *sqlstate_of(PGconn *c, const char *sql)
{
    static char state[6];
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    const char *s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        state[0] = 0;
    else
        snprintf(state, sizeof(state), "%s", s ? s : "?????");
    PQclear(r);
    return state;
}

#define assert_sqlstate(c, sql, want) assert_string_equal(sqlstate_of((c), (sql)), (want))

static void exec_must(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail_msg("%s\n  failed: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
}

/* First column of the first row, as an int (count queries). */
static int query_int(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        fail_msg("%s\n  failed: %s", sql, PQresultErrorMessage(r));
    int v = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

/* ---- running the binary ----------------------------------------------- */

typedef struct {
    pid_t pid;
    int fd;                 /* child's stdout+stderr */
} child;

static const char *role_args[5];   /* --reader R --writer W, for the roles test */

/* argv-style, no shell: DSNs contain quotes and spaces. */
static child spawn_migrate(const char *dsn, const char *dir, bool create_db)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    const char *argv[12] = {F.bin, "--dsn", dsn};
    int n = 3;
    for (int i = 0; role_args[i]; i++)
        argv[n++] = role_args[i];
    if (dir) {
        argv[n++] = "--dir";
        argv[n++] = dir;
    }
    if (create_db)
        argv[n++] = "--create-db";
    argv[n] = NULL;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        execv(F.bin, (char *const *)argv);
        fprintf(stderr, "exec %s failed\n", F.bin);
        _exit(127);
    }
    close(p[1]);
    return (child){pid, p[0]};
}

/* Collects the child's output into out and returns its exit status. */
static int finish(child ch, char *out, size_t cap)
{
    size_t n = 0;
    ssize_t got;
    while ((got = read(ch.fd, out + n, cap - 1 - n)) > 0)
        n += (size_t)got;
    out[n] = 0;
    close(ch.fd);
    int status = 0;
    assert_int_equal(waitpid(ch.pid, &status, 0), ch.pid);
    print_message("--- punyaka-migrate (exit %d) ---\n%s", WEXITSTATUS(status), out);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int run_migrate(const char *dsn, const char *dir, bool create_db, char *out, size_t cap)
{
    return finish(spawn_migrate(dsn, dir, create_db), out, cap);
}

static int count_applied(const char *out)
{
    int n = 0;
    for (const char *p = out; (p = strstr(p, "\"status\":\"applied\"")); p++)
        n++;
    return n;
}

static int count_sql_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("cannot open %s (set PUNYAKA_SOURCE_DIR)", dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        n += len > 4 && strcmp(e->d_name + len - 4, ".sql") == 0;
    }
    closedir(d);
    return n;
}

/* ---- temporary migrations directory ----------------------------------- */

static void write_file(const char *dir, const char *name, const char *text, const char *mode)
{
    char path[4352];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, mode);
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void copy_file(const char *from_dir, const char *to_dir, const char *name)
{
    char path[4352];
    snprintf(path, sizeof(path), "%s/%s", from_dir, name);
    FILE *in = fopen(path, "rb");
    assert_non_null(in);
    snprintf(path, sizeof(path), "%s/%s", to_dir, name);
    FILE *out = fopen(path, "wb");
    assert_non_null(out);
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    fclose(out);
}

static void copy_sql_files(const char *from, const char *to)
{
    DIR *d = opendir(from);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".sql") == 0)
            copy_file(from, to, e->d_name);
    }
    closedir(d);
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    char path[4352];
    for (struct dirent *e; (e = readdir(d));) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* ---- group setup ------------------------------------------------------ */

/* PUNYAKA_SOURCE_DIR when ctest sets it, else this file's tree
 * (CMake compiles sources by absolute path). */
static void find_source_migrations(void)
{
    const char *src = getenv("PUNYAKA_SOURCE_DIR");
    if (src && *src) {
        snprintf(F.src_dir, sizeof(F.src_dir), "%s/migrations", src);
        return;
    }
    char here[4096];
    snprintf(here, sizeof(here), "%s", __FILE__);
    char *root = dirname(dirname(dirname(here)));   /* tests/it/x.c → root */
    snprintf(F.src_dir, sizeof(F.src_dir), "%s/migrations", root);
}

static int create_db(const char *name)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
    return *sqlstate_of(F.admin, sql) ? -1 : 0;
}

static int group_setup(void **state)
{
    (void)state;
    it_load_stack_env();
    const char *base = it_owner_dsn();
    snprintf(F.bin, sizeof(F.bin), "%s/migrations/punyaka-migrate", it_env("PUNYAKA_BUILD_DIR"));
    find_source_migrations();
    F.admin = PQconnectdb(base);
    if (PQstatus(F.admin) != CONNECTION_OK) {
        fprintf(stderr, "cannot connect to DATABASE_URL: %s", PQerrorMessage(F.admin));
        return -1;
    }
    exec_must(F.admin, "SET client_min_messages = warning");  /* DROP ... IF EXISTS notices */
    /* names are [a-z0-9_]: no identifier quoting needed */
    unsigned long tag = (unsigned long)time(NULL) ^ ((unsigned long)getpid() << 16);
    snprintf(F.name, sizeof(F.name), "punyaka_it_migrate_%lx", tag);
    snprintf(F.race_name, sizeof(F.race_name), "punyaka_it_migrate_race_%lx", tag);
    dsn_for(base, F.name, F.dsn, sizeof(F.dsn));
    dsn_for(base, F.race_name, F.race_dsn, sizeof(F.race_dsn));
    return create_db(F.name);
}

static void drop_db(const char *name)
{
    char sql[160];
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    exec_must(F.admin, sql);
}

static int group_teardown(void **state)
{
    (void)state;
    PQfinish(F.db);
    if (PQstatus(F.admin) == CONNECTION_OK) {
        drop_db(F.name);
        drop_db(F.race_name);
    }
    PQfinish(F.admin);
    return 0;
}

static PGconn *db(void)
{
    if (!F.db) {
        F.db = PQconnectdb(F.dsn);
        if (PQstatus(F.db) != CONNECTION_OK)
            fail_msg("connect %s: %s", F.name, PQerrorMessage(F.db));
    }
    return F.db;
}

/* ---- migrator behaviour ----------------------------------------------- */

static void test_migrate_then_rerun_is_noop(void **state)
{
    (void)state;
    static char out[65536];
    int files = count_sql_files(F.src_dir);
    assert_true(files >= 3);

    assert_int_equal(run_migrate(F.dsn, NULL, false, out, sizeof(out)), 0);
    assert_int_equal(count_applied(out), files);
    assert_non_null(strstr(out, "\"version\":\"0001_core\""));

    /* --create-db on an existing database is harmless, and nothing is due */
    assert_int_equal(run_migrate(F.dsn, NULL, true, out, sizeof(out)), 0);
    assert_int_equal(count_applied(out), 0);
    assert_int_equal(query_int(db(), "SELECT count(*) FROM schema_migrations"), files);
}

/* Two migrators at once on a database neither created: the advisory lock
 * makes one wait, and the waiter then finds everything applied. */
static void test_concurrent_migrators_apply_once(void **state)
{
    (void)state;
    static char out_a[65536], out_b[65536];
    int files = count_sql_files(F.src_dir);
    child a = spawn_migrate(F.race_dsn, NULL, true);
    child b = spawn_migrate(F.race_dsn, NULL, true);
    assert_int_equal(finish(a, out_a, sizeof(out_a)), 0);
    assert_int_equal(finish(b, out_b, sizeof(out_b)), 0);
    assert_int_equal(count_applied(out_a) + count_applied(out_b), files);
}

static void test_changed_or_failing_files_are_refused(void **state)
{
    (void)state;
    static char out[65536];
    char dir[] = "/tmp/it_migrate_XXXXXX";
    assert_non_null(mkdtemp(dir));
    copy_sql_files(F.src_dir, dir);

    /* a new file is applied alone */
    write_file(dir, "9999_it_extra.sql", "CREATE TABLE it_extra (id int);\n", "w");
    assert_int_equal(run_migrate(F.dsn, dir, false, out, sizeof(out)), 0);
    assert_int_equal(count_applied(out), 1);
    assert_non_null(strstr(out, "\"version\":\"9999_it_extra\""));

    /* a failing file rolls back entirely and names its line */
    write_file(dir, "9998_it_bad.sql",
               "CREATE TABLE it_bad (id int);\nSELECT nope FROM it_bad;\n", "w");
    assert_int_equal(run_migrate(F.dsn, dir, false, out, sizeof(out)), 1);
    assert_int_equal(count_applied(out), 0);
    assert_non_null(strstr(out, "9998_it_bad.sql:2"));
    assert_int_equal(query_int(db(), "SELECT count(*) FROM pg_class WHERE relname = 'it_bad'"), 0);
    assert_int_equal(query_int(db(), "SELECT count(*) FROM schema_migrations"
                                     " WHERE version = '9998_it_bad'"), 0);
    unlink(strcat(strcpy(out, dir), "/9998_it_bad.sql"));

    /* two files with one number have no order */
    write_file(dir, "0003_it_dup.sql", "SELECT 1;\n", "w");
    assert_int_equal(run_migrate(F.dsn, dir, false, out, sizeof(out)), 1);
    assert_non_null(strstr(out, "share the number"));
    unlink(strcat(strcpy(out, dir), "/0003_it_dup.sql"));

    /* editing an applied file is refused before anything runs */
    write_file(dir, "0001_core.sql", "-- edited after the fact\n", "a");
    write_file(dir, "9997_it_late.sql", "CREATE TABLE it_late (id int);\n", "w");
    assert_int_equal(run_migrate(F.dsn, dir, false, out, sizeof(out)), 1);
    assert_int_equal(count_applied(out), 0);
    assert_non_null(strstr(out, "0001_core.sql was changed after it was applied"));
    assert_int_equal(query_int(db(), "SELECT count(*) FROM pg_class WHERE relname = 'it_late'"), 0);

    remove_dir(dir);
}

/* ---- application roles (issue 13) ------------------------------------- */

/* Connects to our database as `user` with `password`. */
static PGconn *connect_as(const char *user, const char *password)
{
    char dsn[2400];
    snprintf(dsn, sizeof(dsn), "%s", F.dsn);
    append_kv(dsn, sizeof(dsn), "user", user);         /* a repeated keyword: the last one wins */
    append_kv(dsn, sizeof(dsn), "password", password);
    PGconn *c = PQconnectdb(dsn);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("connect as %s: %s", user, PQerrorMessage(c));
    return c;
}

/* --reader / --writer: the roles exist, own nothing, hold exactly their
 * grants — also on a table a later migration adds — and a power given by
 * hand is taken back on the next run. */
static void test_application_roles_get_exactly_their_grants(void **state)
{
    (void)state;
    static char out[65536];
    char reader[64], writer[64], sql[512], dir[] = "/tmp/it_migrate_XXXXXX";
    snprintf(reader, sizeof(reader), "it_reader_%.40s", F.name + strlen("punyaka_it_migrate_"));
    snprintf(writer, sizeof(writer), "it_writer_%.40s", F.name + strlen("punyaka_it_migrate_"));
    setenv("PUNYAKA_DB_READER_PASSWORD", "reader-pw-4711", 1);
    setenv("PUNYAKA_DB_WRITER_PASSWORD", "writer-pw-4711", 1);
    role_args[0] = "--reader", role_args[1] = reader, role_args[2] = "--writer", role_args[3] = writer;
    assert_non_null(mkdtemp(dir));
    copy_sql_files(F.src_dir, dir);
    int rc = run_migrate(F.dsn, dir, false, out, sizeof(out));

    /* a hand-given power, then a later migration */
    snprintf(sql, sizeof(sql), "ALTER ROLE %s CREATEDB; GRANT TRUNCATE ON users TO %s", writer, writer);
    exec_must(db(), sql);
    write_file(dir, "9990_it_later.sql", "CREATE TABLE it_later (id int);\nCREATE SEQUENCE it_later_seq;\n", "w");
    int rc2 = rc == 0 ? run_migrate(F.dsn, dir, false, out, sizeof(out)) : -1;
    memset(role_args, 0, sizeof(role_args));
    remove_dir(dir);
    assert_int_equal(rc, 0);
    assert_int_equal(rc2, 0);

    PGconn *r = connect_as(reader, "reader-pw-4711"), *w = connect_as(writer, "writer-pw-4711");
    PGconn *both[] = {r, w};
    for (int i = 0; i < 2; i++) {
        PGconn *c = both[i];
        assert_int_equal(query_int(c, "SELECT count(*) FROM pg_roles WHERE rolname = current_user"
                                      " AND (rolsuper OR rolcreatedb OR rolcreaterole)"), 0);
        assert_int_equal(query_int(c, "SELECT count(*) FROM pg_class WHERE relowner ="
                                      " (SELECT oid FROM pg_roles WHERE rolname = current_user)"), 0);
        assert_sqlstate(c, "SELECT count(*) FROM it_later", "");
        assert_sqlstate(c, "SELECT count(*) FROM bookings", "");
        assert_sqlstate(c, "DROP TABLE it_later", "42501");
        assert_sqlstate(c, "ALTER TABLE users ADD COLUMN x int", "42501");
        assert_sqlstate(c, "TRUNCATE users", "42501");
        assert_sqlstate(c, "CREATE TABLE it_mine (id int)", "42501");
        assert_sqlstate(c, "DELETE FROM schema_migrations", "42501");
    }
    assert_sqlstate(r, "INSERT INTO it_later VALUES (1)", "42501");
    assert_sqlstate(r, "UPDATE users SET username = username", "42501");
    assert_sqlstate(w, "INSERT INTO it_later VALUES (1)", "");
    assert_sqlstate(w, "SELECT nextval('it_later_seq')", "");
    assert_sqlstate(w, "UPDATE users SET username = username", "");
    PQfinish(r);
    PQfinish(w);
    /* roles are cluster-wide: leave none behind */
    snprintf(sql, sizeof(sql), "DROP OWNED BY %s, %s; DROP ROLE %s, %s", reader, writer, reader, writer);
    exec_must(db(), sql);
}

/* ---- schema constraints ----------------------------------------------- */

static void seed_people(void)
{
    exec_must(db(),
              "INSERT INTO users (id, username, email, password_hash, role,"
              "                   created_at, updated_at)"
              " VALUES (1001, 'asha', 'asha@example.in', 'h', 'customer', now(), now()),"
              "        (1002, 'pandit_rao', 'rao@example.in', 'h', 'priest', now(), now()),"
              "        (1003, 'pandit_iyer', 'iyer@example.in', 'h', 'priest', now(), now());"
              "INSERT INTO priest_profiles (id, user_id, created_at, updated_at)"
              " VALUES (2001, 1002, now(), now()), (2002, 1003, now(), now());"
              "INSERT INTO services (id, name, service_type, duration_minutes, base_price_paise,"
              "                      created_at, updated_at)"
              " VALUES (3001, 'Satyanarayan Puja', 'puja', 60, 210000, now(), now());");
}

/* A 60-minute service occupies start .. start + 75 min (15 min buffer). */
static const char *book(long id, long priest, const char *start, const char *end,
                        const char *status)
{
    static char sql[1024];
    snprintf(sql, sizeof(sql),
             "INSERT INTO bookings (id, customer_id, priest_id, service_id,"
             " booking_date, booking_time,"
             " starts_at, occupied, status, service_price_paise, advance_paise, balance_paise,"
             " created_at, updated_at)"
             " VALUES (%ld, 1001, %ld, 3001, '2030-01-01', '%s',"
             " '2030-01-01 %s+05:30', tstzrange('2030-01-01 %s+05:30', '2030-01-01 %s+05:30'),"
             " '%s', 210000, 52500, 157500, now(), now())",
             id, priest, start, start, start, end, status);
    return sql;
}

static void test_priest_cannot_be_double_booked(void **state)
{
    (void)state;
    seed_people();
    PGconn *c = db();
    assert_sqlstate(c, book(1, 2001, "10:00", "11:15", "pending"), "");
    /* overlaps a live booking of the same priest */
    assert_sqlstate(c, book(2, 2001, "10:30", "11:45", "pending"), "23P01");
    assert_sqlstate(c, book(3, 2001, "09:00", "10:01", "confirmed"), "23P01");
    /* cancelled bookings do not hold the slot */
    assert_sqlstate(c, book(4, 2001, "10:30", "11:45", "cancelled"), "");
    /* [10:00,11:15) and [11:15,12:30) touch but do not overlap */
    assert_sqlstate(c, book(5, 2001, "11:15", "12:30", "confirmed"), "");
    /* another priest at the same time is fine */
    assert_sqlstate(c, book(6, 2002, "10:30", "11:45", "pending"), "");
    /* reviving a cancelled booking into a taken slot is caught too */
    assert_sqlstate(c, "UPDATE bookings SET status = 'pending' WHERE id = 4", "23P01");
    /* the payment split must sum to the price */
    assert_sqlstate(c, "UPDATE bookings SET advance_paise = 1 WHERE id = 1", "23514");
}

static const char *product(int stock)
{
    static char sql[256];
    snprintf(sql, sizeof(sql),
             "INSERT INTO products (id, slug, name, price_paise, stock, created_at, updated_at)"
             " VALUES (4001, 'diya', 'Diya', 5000, %d, now(), now())", stock);
    return sql;
}

static void test_stock_never_negative(void **state)
{
    (void)state;
    PGconn *c = db();
    assert_sqlstate(c, product(-1), "23514");
    assert_sqlstate(c, product(3), "");
    assert_sqlstate(c, "UPDATE products SET stock = stock - 4 WHERE id = 4001", "23514");
    assert_sqlstate(c, "UPDATE products SET stock = stock - 3 WHERE id = 4001", "");
}

static const char *user(const char *username, const char *email)
{
    static char sql[256];
    snprintf(sql, sizeof(sql),
             "INSERT INTO users (username, email, password_hash, role, created_at, updated_at)"
             " VALUES ('%s', '%s', 'h', 'customer', now(), now())", username, email);
    return sql;
}

static void test_username_and_email_unique_ignoring_case(void **state)
{
    (void)state;
    PGconn *c = db();
    assert_sqlstate(c, user("Ravi", "ravi@example.in"), "");
    assert_sqlstate(c, user("ravi", "other@example.in"), "23505");
    assert_sqlstate(c, user("ravi2", "RAVI@example.in"), "23505");
    assert_sqlstate(c, user("ravi2", "ravi2@example.in"), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrate_then_rerun_is_noop),
        cmocka_unit_test(test_concurrent_migrators_apply_once),
        cmocka_unit_test(test_changed_or_failing_files_are_refused),
        cmocka_unit_test(test_application_roles_get_exactly_their_grants),
        cmocka_unit_test(test_priest_cannot_be_double_booked),
        cmocka_unit_test(test_stock_never_negative),
        cmocka_unit_test(test_username_and_email_unique_ignoring_case),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
