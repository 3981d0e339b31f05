/* punyaka-migrate — applies migrations/NNNN_name.sql once each, in name
 * order, each file and its schema_migrations row in one transaction.
 *
 *   punyaka-migrate [--dir DIR] [--dsn DSN] [--create-db] [--reader ROLE] [--writer ROLE]
 *
 * --reader / --writer (issue 13): the application must not connect as the
 * owner of the tables (nor a superuser), so that a bug or an injected
 * statement in the API or a worker cannot drop, alter or truncate them.
 * After migrating, the owner (this DSN) makes sure the roles exist (LOGIN,
 * nothing else; passwords from $PUNYAKA_DB_READER_PASSWORD /
 * $PUNYAKA_DB_WRITER_PASSWORD, set or reset when given) and grants them,
 * on every run, on every table and sequence there is — so a table a later
 * migration adds is covered the next time migrate runs, which is before
 * the services start (and by ALTER DEFAULT PRIVILEGES meanwhile):
 *   reader  SELECT                            (punyaka-api: it never writes)
 *   writer  SELECT, INSERT, UPDATE, DELETE;   (workers, punyaka-admin)
 *           sequences USAGE, SELECT; schema_migrations SELECT only
 * Neither gets TRUNCATE, REFERENCES, TRIGGER or any DDL.
 *
 * DSN defaults to $DATABASE_URL, else the platform default; DIR to
 * $PUNYAKA_MIGRATIONS_DIR, else the source tree it was built from.
 * stdout: one JSON line per applied file (nothing when up to date).
 * stderr: pk_log JSON lines. Exit 0 = schema current, 1 = failure, 2 = usage.
 *
 * Safety rules, and why:
 *  - a session advisory lock serialises migrators (scripts/run and N test
 *    runners may start at once); the recorded set is read after taking it;
 *  - a recorded file whose bytes changed is refused before anything is
 *    applied: the database no longer matches the source, and re-running an
 *    edited migration would silently diverge environments;
 *  - libpq is used synchronously: this is a one-shot CLI, not a server. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "common/config.h"
#include "common/log.h"

#ifndef PUNYAKA_MIGRATIONS_DIR
#define PUNYAKA_MIGRATIONS_DIR "migrations"
#endif

#define DEFAULT_DSN "host=127.0.0.1 port=5432 dbname=punyaka user=postgres"
/* Fixed key ("punyaka" in ASCII). Advisory locks are per database, so
 * migrators of one database serialise and other databases are unaffected. */
#define MIGRATE_LOCK_KEY "31654314734873441"

typedef struct {
    char *name;                 /* "0001_core.sql" */
    char *version;              /* "0001_core" — the schema_migrations key */
    char *sql;                  /* file contents, NUL-terminated */
    char checksum[crypto_hash_sha256_BYTES * 2 + 1];
    bool applied;
} migration;

typedef struct {
    migration *v;
    size_t n;
} migration_set;

typedef struct {
    const char *dir;
    const char *dsn;
    bool create_db;
    const char *reader;         /* --reader ROLE, or NULL */
    const char *writer;         /* --writer ROLE, or NULL */
} options;

/* ---- diagnostics ------------------------------------------------------ */

/* Diagnostics go to stderr as pk_log JSON lines (proc "migrate"), so
 * scripts/run and the stack logs read the same way for every process. */
#define say_error(...) pk_error(NULL, __VA_ARGS__)
#define say_warn(...) pk_warn(NULL, __VA_ARGS__)
#define say_info(...) pk_info(NULL, __VA_ARGS__)

/* 1-based line of a 1-based character position (PostgreSQL counts
 * characters, not bytes), so errors point into the .sql file. */
static int line_of_position(const char *sql, long pos)
{
    int line = 1;
    long chars = 0;
    for (const unsigned char *p = (const unsigned char *)sql; *p; p++) {
        if ((*p & 0xC0) != 0x80 && ++chars >= pos)
            break;
        if (*p == '\n')
            line++;
    }
    return line;
}

static void report_pg_error(const char *what, const PGresult *res, const migration *m)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char *pos = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
    if (!msg)
        msg = PQresultErrorMessage(res);
    if (m && pos)
        say_error("%s %s:%d: [%s] %s", what, m->name, line_of_position(m->sql, atol(pos)),
            state ? state : "?", msg);
    else
        say_error("%s%s%s: [%s] %s", what, m ? " " : "", m ? m->name : "", state ? state : "?",
                  msg);
}

/* Runs one command; true when it succeeded. */
static bool exec_ok(PGconn *c, const char *sql, const char *what)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY;
    if (!ok)
        report_pg_error(what, r, NULL);
    PQclear(r);
    return ok;
}

/* ---- options ---------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f, "usage: punyaka-migrate [--dir DIR] [--dsn DSN] [--create-db]\n"
               "  --dir DIR     migrations directory (default $PUNYAKA_MIGRATIONS_DIR, else %s)\n"
               "  --dsn DSN     libpq conninfo or URI (default $DATABASE_URL, else \"%s\")\n"
               "  --create-db   create the DSN's database first if it does not exist\n"
               "  --reader ROLE create ROLE if missing and grant it SELECT (password: $PUNYAKA_DB_READER_PASSWORD)\n"
               "  --writer ROLE create ROLE if missing and grant it DML (password: $PUNYAKA_DB_WRITER_PASSWORD)\n",
            PUNYAKA_MIGRATIONS_DIR, DEFAULT_DSN);
}

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

/* Returns 0, or the exit code to leave with (2 = usage, 0 after --help). */
static int parse_args(int argc, char **argv, options *o)
{
    static const struct option longs[] = {
        {"dir", required_argument, NULL, 'd'},
        {"dsn", required_argument, NULL, 's'},
        {"create-db", no_argument, NULL, 'c'},
        {"reader", required_argument, NULL, 'r'},
        {"writer", required_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    o->dir = env_or("PUNYAKA_MIGRATIONS_DIR", PUNYAKA_MIGRATIONS_DIR);
    o->dsn = env_or("DATABASE_URL", DEFAULT_DSN);
    o->create_db = false;
    o->reader = o->writer = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (ch) {
        case 'd': o->dir = optarg; break;
        case 's': o->dsn = optarg; break;
        case 'c': o->create_db = true; break;
        case 'r': o->reader = optarg; break;
        case 'w': o->writer = optarg; break;
        case 'h': usage(stdout); return -1;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return 2;
    }
    return 0;
}

/* ---- migration files -------------------------------------------------- */

/* NNNN_name.sql with name in [A-Za-z0-9_]: the four digits give the order,
 * the name is for humans. */
static bool is_migration_name(const char *n)
{
    size_t len = strlen(n);
    if (len < 10 || strcmp(n + len - 4, ".sql") != 0 || n[4] != '_')
        return false;
    for (size_t i = 0; i < len - 4; i++) {
        char ch = n[i];
        bool ok = i < 4 ? (ch >= '0' && ch <= '9')
                        : (ch == '_' || (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
                           (ch >= 'A' && ch <= 'Z'));
        if (!ok)
            return false;
    }
    return true;
}

static int sql_files_only(const struct dirent *e)
{
    size_t len = strlen(e->d_name);
    return len > 4 && strcmp(e->d_name + len - 4, ".sql") == 0;
}

/* Byte order, independent of the locale (alphasort uses strcoll). */
static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (cap - n < 4096) {
            cap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, cap + 1);
            if (!nb)
                break;
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    bool failed = ferror(f) || !buf;
    fclose(f);
    if (failed) {
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

static int load_one(const char *dir, const char *name, migration *m)
{
    char path[4096];
    size_t len = 0;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    m->sql = read_file(path, &len);
    if (!m->sql) {
        say_error("cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    if (strlen(m->sql) != len) {  /* PQexec would silently stop at the NUL */
        say_error("%s contains a NUL byte", path);
        return -1;
    }
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const unsigned char *)m->sql, len);
    sodium_bin2hex(m->checksum, sizeof(m->checksum), digest, sizeof(digest));
    m->name = strdup(name);
    m->version = strndup(name, strlen(name) - 4);
    return m->name && m->version ? 0 : -1;
}

/* Two files sharing a number (e.g. from two merged branches) have no
 * defined order between them, so that is refused rather than guessed. */
static int check_names(struct dirent **ents, int n)
{
    for (int i = 0; i < n; i++) {
        if (!is_migration_name(ents[i]->d_name)) {
            say_error("%s: migration files must be named NNNN_name.sql ([A-Za-z0-9_] only)",
                ents[i]->d_name);
            return -1;
        }
        if (i > 0 && strncmp(ents[i - 1]->d_name, ents[i]->d_name, 4) == 0) {
            say_error("%s and %s share the number %.4s", ents[i - 1]->d_name, ents[i]->d_name,
                ents[i]->d_name);
            return -1;
        }
    }
    return 0;
}

static int load_migrations(const char *dir, migration_set *set)
{
    struct dirent **ents = NULL;
    int n = scandir(dir, &ents, sql_files_only, by_name);
    if (n < 0) {
        say_error("cannot list %s: %s", dir, strerror(errno));
        return -1;
    }
    int rc = check_names(ents, n);
    set->v = calloc(n ? (size_t)n : 1, sizeof(migration));
    set->n = 0;
    if (!set->v)
        rc = -1;
    for (int i = 0; i < n && rc == 0; i++)
        rc = load_one(dir, ents[i]->d_name, &set->v[set->n++]);
    for (int i = 0; i < n; i++)
        free(ents[i]);
    free(ents);
    return rc;
}

static void free_migrations(migration_set *set)
{
    for (size_t i = 0; i < set->n; i++) {
        free(set->v[i].name);
        free(set->v[i].version);
        free(set->v[i].sql);
    }
    free(set->v);
}

static migration *find_version(migration_set *set, const char *version)
{
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->v[i].version, version) == 0)
            return &set->v[i];
    return NULL;
}

/* ---- database --------------------------------------------------------- */

/* dsn may be key=value or a URI; a non-NULL dbname overrides its database
 * (libpq: entries after the expanded dbname win). */
static PGconn *connect_to(const char *dsn, const char *dbname)
{
    const char *kw[] = {"fallback_application_name", "dbname", "dbname", NULL};
    const char *val[] = {"punyaka-migrate", dsn, dbname, NULL};
    return PQconnectdbParams(kw, val, 1);
}

static PGconn *connect_ready(const char *dsn)
{
    PGconn *c = connect_to(dsn, NULL);
    if (PQstatus(c) != CONNECTION_OK) {
        say_error("cannot connect: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    /* NOTICEs such as "extension already exists" are noise here. */
    if (!exec_ok(c, "SET client_min_messages = warning", "session setup")) {
        PQfinish(c);
        return NULL;
    }
    return c;
}

static bool database_exists(PGconn *admin, const char *name)
{
    const char *params[] = {name};
    PGresult *r = PQexecParams(admin, "SELECT 1 FROM pg_database WHERE datname = $1", 1, NULL,
                               params, NULL, NULL, 0);
    bool exists = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0;
    PQclear(r);
    return exists;
}

static int create_database(PGconn *admin, const char *name)
{
    if (database_exists(admin, name))
        return 0;
    char *ident = PQescapeIdentifier(admin, name, strlen(name));
    char sql[1024];
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", ident ? ident : "\"\"");
    PQfreemem(ident);
    PGresult *r = PQexec(admin, sql);
    /* A concurrent migrator may have created it meanwhile (42P04, or 23505
     * on pg_database when both passed the check): what matters is that it
     * exists now. */
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK || database_exists(admin, name) ? 0 : -1;
    if (rc == 0)
        say_info("database %s ready", name);
    else
        report_pg_error("create database", r, NULL);
    PQclear(r);
    return rc;
}

/* --create-db: the target's name is what libpq resolved (PQdb works on a
 * failed connection too), created through the server's `postgres` db. */
static int ensure_database(const char *dsn)
{
    PGconn *probe = connect_to(dsn, NULL);
    if (PQstatus(probe) == CONNECTION_OK) {
        PQfinish(probe);
        return 0;
    }
    char *name = strdup(PQdb(probe) ? PQdb(probe) : "");
    PQfinish(probe);
    PGconn *admin = connect_to(dsn, "postgres");
    int rc = -1;
    if (PQstatus(admin) != CONNECTION_OK)
        say_error("cannot connect to the postgres database: %s", PQerrorMessage(admin));
    else if (name && *name)
        rc = create_database(admin, name);
    else
        say_error("--create-db: the DSN names no database");
    PQfinish(admin);
    free(name);
    return rc;
}

/* Session-level lock: held across the per-file transactions and released
 * when the connection closes, even if we crash. */
static int take_lock(PGconn *c)
{
    PGresult *r = PQexec(c, "SELECT pg_try_advisory_lock(" MIGRATE_LOCK_KEY ")");
    bool got = PQresultStatus(r) == PGRES_TUPLES_OK && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (got)
        return 0;
    say_info("another migrator holds the lock; waiting");
    return exec_ok(c, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", "advisory lock") ? 0 : -1;
}

static int ensure_table(PGconn *c)
{
    return exec_ok(c,
                   "CREATE TABLE IF NOT EXISTS schema_migrations ("
                   " version text PRIMARY KEY,"
                   " applied_at timestamptz NOT NULL DEFAULT now(),"
                   " checksum text NOT NULL)",
                   "create schema_migrations") ? 0 : -1;
}

/* Marks recorded files applied; fails if any of them changed since. */
static int check_recorded(PGconn *c, migration_set *set, const char *dir)
{
    PGresult *r = PQexec(c, "SELECT version, checksum FROM schema_migrations ORDER BY version");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        report_pg_error("read schema_migrations", r, NULL);
        PQclear(r);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        const char *version = PQgetvalue(r, i, 0), *sum = PQgetvalue(r, i, 1);
        migration *m = find_version(set, version);
        if (!m) {
            say_warn("%s is recorded but has no file in %s", version, dir);
            continue;
        }
        m->applied = true;
        if (strcmp(m->checksum, sum) != 0) {
            say_error("%s was changed after it was applied (recorded sha256 %s, file %s); "
                "add a new migration instead of editing an applied one",
                m->name, sum, m->checksum);
            rc = -1;
        }
    }
    PQclear(r);
    return rc;
}

static double elapsed_ms(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* The file's statements and its schema_migrations row, then COMMIT. */
static int run_in_tx(PGconn *c, const migration *m)
{
    PGresult *r = PQexec(c, m->sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
        report_pg_error("failed in", r, m);
        PQclear(r);
        return -1;
    }
    PQclear(r);
    if (PQtransactionStatus(c) != PQTRANS_INTRANS) {
        say_error("%s ended the transaction itself; migrations must not contain BEGIN/COMMIT",
                  m->name);
        return -1;
    }
    const char *params[] = {m->version, m->checksum};
    r = PQexecParams(c, "INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)", 2,
                     NULL, params, NULL, NULL, 0);
    st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK)
        report_pg_error("recording", r, m);
    PQclear(r);
    if (st != PGRES_COMMAND_OK)
        return -1;
    r = PQexec(c, "COMMIT");  /* deferred constraints fire here */
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK && strcmp(PQcmdStatus(r), "COMMIT") == 0;
    if (!ok)
        report_pg_error("commit of", r, m);
    PQclear(r);
    return ok ? 0 : -1;
}

static int apply_one(PGconn *c, const migration *m)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (!exec_ok(c, "BEGIN", "begin"))
        return -1;
    if (run_in_tx(c, m) != 0) {
        if (PQtransactionStatus(c) != PQTRANS_IDLE)
            PQclear(PQexec(c, "ROLLBACK"));
        return -1;
    }
    /* versions are [A-Za-z0-9_] and checksums hex: no JSON escaping needed */
    printf("{\"status\":\"applied\",\"version\":\"%s\",\"file\":\"%s\",\"sha256\":\"%s\","
           "\"ms\":%.1f}\n",
           m->version, m->name, m->checksum, elapsed_ms(&t0));
    fflush(stdout);  /* progress survives a crash of a later file */
    return 0;
}

/* ---- application roles (--reader / --writer) --------------------------- */

static bool role_exists(PGconn *c, const char *role)
{
    const char *params[] = {role};
    PGresult *r = PQexecParams(c, "SELECT 1 FROM pg_roles WHERE rolname = $1", 1, NULL, params, NULL, NULL, 0);
    bool exists = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0;
    PQclear(r);
    return exists;
}

/* Runs "<head> <ident><tail>" (utility statements take no parameters). */
static bool exec_for(PGconn *c, const char *head, const char *ident, const char *tail, const char *what)
{
    char sql[1024];
    snprintf(sql, sizeof(sql), "%s %s%s", head, ident, tail);
    return exec_ok(c, sql, what);
}

/* The role exists, may log in and nothing more; its password is the one
 * in password_env when that is set. Roles are cluster-wide: a concurrent
 * migrator may create it between the check and ours, which is fine. */
static int ensure_role(PGconn *c, const char *role, const char *ident, const char *password_env)
{
    if (!role_exists(c, role)) {
        PGresult *r = PQexec(c, "SAVEPOINT role");
        PQclear(r);
        char sql[512];
        snprintf(sql, sizeof(sql), "CREATE ROLE %s LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION", ident);
        r = PQexec(c, sql);
        bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        PQclear(PQexec(c, ok ? "RELEASE SAVEPOINT role" : "ROLLBACK TO SAVEPOINT role"));
        if (!ok && !role_exists(c, role)) {
            say_error("cannot create role %s", role);
            return -1;
        }
    }
    /* ALTER, not only at creation: an existing role must not keep powers it was given by hand. */
    if (!exec_for(c, "ALTER ROLE", ident, " LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS", "alter role"))
        return -1;
    const char *pw = getenv(password_env);
    if (pw && *pw) {
        char *lit = PQescapeLiteral(c, pw, strlen(pw));
        char tail[600];
        snprintf(tail, sizeof(tail), " PASSWORD %s", lit ? lit : "NULL");
        PQfreemem(lit);
        bool ok = exec_for(c, "ALTER ROLE", ident, tail, "set role password");
        sodium_memzero(tail, sizeof(tail));
        if (!ok)
            return -1;
    }
    return 0;
}

static int grant_role(PGconn *c, const char *role, bool writer)
{
    char *ident = PQescapeIdentifier(c, role, strlen(role));
    char *db = PQescapeIdentifier(c, PQdb(c), strlen(PQdb(c)));
    const char *tables = writer ? "SELECT, INSERT, UPDATE, DELETE" : "SELECT";
    char head[256], ddl[256];
    int rc = -1;
    if (!ident || !db || !exec_ok(c, "BEGIN", "begin") ||
        ensure_role(c, role, ident, writer ? "PUNYAKA_DB_WRITER_PASSWORD" : "PUNYAKA_DB_READER_PASSWORD") != 0)
        goto out;
    snprintf(head, sizeof(head), "GRANT CONNECT ON DATABASE %s TO", db);
    snprintf(ddl, sizeof(ddl), "GRANT %s ON ALL TABLES IN SCHEMA public TO", tables);
    bool ok = exec_for(c, head, ident, "", "grant connect") &&
              exec_for(c, "GRANT USAGE ON SCHEMA public TO", ident, "", "grant schema") &&
              exec_for(c, "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM", ident, "", "revoke tables") &&
              exec_for(c, "REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM", ident, "", "revoke sequences") &&
              exec_for(c, ddl, ident, "", "grant tables");
    snprintf(ddl, sizeof(ddl), "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT %s ON TABLES TO", tables);
    ok = ok && exec_for(c, ddl, ident, "", "default privileges");
    if (writer)
        ok = ok && exec_for(c, "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO", ident, "", "grant sequences") &&
             exec_for(c, "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO", ident, "",
                      "default privileges") &&
             exec_for(c, "REVOKE INSERT, UPDATE, DELETE ON schema_migrations FROM", ident, "", "revoke");
    if (ok && exec_ok(c, "COMMIT", "commit grants")) {
        say_info("role %s: %s on every table of %s", role, tables, PQdb(c));
        rc = 0;
    }
out:
    if (PQtransactionStatus(c) == PQTRANS_INTRANS || PQtransactionStatus(c) == PQTRANS_INERROR)
        PQclear(PQexec(c, "ROLLBACK"));
    PQfreemem(ident);
    PQfreemem(db);
    return rc;
}

static int migrate(PGconn *c, migration_set *set, const char *dir)
{
    if (take_lock(c) != 0 || ensure_table(c) != 0 || check_recorded(c, set, dir) != 0)
        return -1;
    size_t applied = 0;
    for (size_t i = 0; i < set->n; i++) {
        if (set->v[i].applied)
            continue;
        if (apply_one(c, &set->v[i]) != 0)
            return -1;
        applied++;
    }
    say_info("database %s: %zu applied, %zu files, up to date", PQdb(c), applied, set->n);
    return 0;
}

int main(int argc, char **argv)
{
    options o;
    char err[256];
    pk_log_init("migrate");
    /* DATABASE_URL, PGPASSWORD and the roles' passwords may come as *_FILE. */
    if (pk_secrets_load(err, sizeof(err)) != 0) {
        say_error("configuration: %s", err);
        return 1;
    }
    int rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (sodium_init() < 0) {
        say_error("libsodium failed to initialise");
        return 1;
    }
    migration_set set = {0};
    rc = load_migrations(o.dir, &set) == 0 ? 0 : 1;
    if (rc == 0 && o.create_db && ensure_database(o.dsn) != 0)
        rc = 1;
    PGconn *c = rc == 0 ? connect_ready(o.dsn) : NULL;
    if (rc == 0 && (!c || migrate(c, &set, o.dir) != 0))
        rc = 1;
    /* Under the migration lock still: concurrent migrators grant in turn. */
    if (rc == 0 && ((o.reader && grant_role(c, o.reader, false) != 0) || (o.writer && grant_role(c, o.writer, true) != 0)))
        rc = 1;
    PQfinish(c);
    free_migrations(&set);
    return rc;
}
