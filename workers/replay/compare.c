/* compare.c — two databases, table by table (replay.h).
 *
 * Every base table of the live database's public schema is compared,
 * except bookkeeping that describes a database's own history rather than
 * the business (docs/schema.md): schema_migrations and dead_letters
 * (whole tables); notified_events, notifications and notification_emails,
 * which punyaka-notifier derives from the events log rather than any
 * command writing them (a rebuild has none; the notification.* commands
 * decide alike without them, workers/notifications.c);
 * processed_commands.processed_at and journal.published_at
 * (clock columns), and command_outcomes.resource, the entity as the API
 * rendered it when the command was applied — a view that may show
 * unlocked neighbours (a customer's display name) as they were at that
 * moment, not state. Everything else, journal and outcomes included, must
 * be equal.
 *
 * A row is its JSON (to_jsonb, in a UTC session, so times and ranges
 * render alike) minus the skipped columns, keyed by its primary key; a
 * table's checksum is the md5 of its rows in key order. Only a table whose
 * checksums differ has its rows fetched to name the differing ones. */
#include <stdlib.h>
#include <string.h>
#include "workers/replay/replay.h"

#define ROWS_SHOWN 20   /* differing rows named per table */

static const char *const SKIP_TABLES[] = {"schema_migrations", "dead_letters", "notified_events", "notifications",
                                          "notification_emails"};
static const struct {
    const char *table, *column;
} SKIP_COLUMNS[] = {
    {"processed_commands", "processed_at"},
    {"journal", "published_at"},
    {"command_outcomes", "resource"},
};

typedef struct {
    char name[64];
    char row_sql[512];          /* (to_jsonb(t) - 'x')::text */
    char key_sql[256];          /* concat_ws(',', pk...)::text */
    char order_sql[256];        /* pk columns */
    char key_names[128];        /* "id" or "kit_id,component_id" */
} table_sql;

static PGresult *query(PGconn *c, const char *sql, int n, const char *const *params)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "punyaka-replay: %s\n  in: %s\n", PQresultErrorMessage(r), sql);
        PQclear(r);
        return NULL;
    }
    return r;
}

static int skipped_table(const char *t)
{
    for (size_t i = 0; i < sizeof(SKIP_TABLES) / sizeof(SKIP_TABLES[0]); i++)
        if (strcmp(SKIP_TABLES[i], t) == 0)
            return 1;
    return 0;
}

/* Appends before + a + after to buf (truncating at cap). */
static void append(char *buf, size_t cap, const char *before, const char *a, const char *after)
{
    size_t len = strlen(buf);
    snprintf(buf + len, cap - len, "%s%s%s", before, a, after);
}

/* Builds the SQL fragments of one table from its primary key. */
static int describe(PGconn *c, const char *table, table_sql *t)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->name, sizeof(t->name), "%s", table);
    const char *params[] = {table};
    PGresult *r = query(c,
                        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
                        " AND a.attnum = ANY (i.indkey) WHERE i.indrelid = ('public.' || quote_ident($1))::regclass"
                        " AND i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)",
                        1, params);
    if (!r || PQntuples(r) == 0) {
        fprintf(stderr, "punyaka-replay: table %s has no primary key\n", table);
        PQclear(r);
        return -1;
    }
    snprintf(t->key_sql, sizeof(t->key_sql), "concat_ws(','");
    for (int i = 0; i < PQntuples(r); i++) {
        char *col = PQescapeIdentifier(c, PQgetvalue(r, i, 0), strlen(PQgetvalue(r, i, 0)));
        append(t->key_sql, sizeof(t->key_sql), ", ", col, "");
        append(t->order_sql, sizeof(t->order_sql), i ? ", " : "", col, "");
        append(t->key_names, sizeof(t->key_names), i ? "," : "", PQgetvalue(r, i, 0), "");
        PQfreemem(col);
    }
    append(t->key_sql, sizeof(t->key_sql), "", ")::text", "");
    PQclear(r);
    snprintf(t->row_sql, sizeof(t->row_sql), "(to_jsonb(t)");
    for (size_t i = 0; i < sizeof(SKIP_COLUMNS) / sizeof(SKIP_COLUMNS[0]); i++)
        if (strcmp(SKIP_COLUMNS[i].table, table) == 0)
            append(t->row_sql, sizeof(t->row_sql), " - '", SKIP_COLUMNS[i].column, "'");
    append(t->row_sql, sizeof(t->row_sql), "", ")::text", "");
    return 0;
}

/* The tables to compare: the live database's, bookkeeping excluded. */
static PGresult *tables_of(PGconn *c)
{
    return query(c,
                 "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
                 " AND table_type = 'BASE TABLE' ORDER BY table_name",
                 0, NULL);
}

typedef struct {
    long long rows;
    char md5[33];
    int missing;                /* the table does not exist there */
} summary;

static int summarize(PGconn *c, const table_sql *t, summary *s)
{
    char sql[1400], *ident = PQescapeIdentifier(c, t->name, strlen(t->name));
    snprintf(sql, sizeof(sql),
             "SELECT count(*), md5(coalesce(string_agg(%s, E'\\n' ORDER BY %s), '')) FROM public.%s t",
             t->row_sql, t->order_sql, ident);
    PQfreemem(ident);
    memset(s, 0, sizeof(*s));
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        s->missing = 1;   /* most likely absent in this database; reported as a difference */
        PQclear(r);
        return 0;
    }
    s->rows = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    snprintf(s->md5, sizeof(s->md5), "%s", PQgetvalue(r, 0, 1));
    PQclear(r);
    return 0;
}

/* key text -> row text of every row of the table. */
static json_t *rows_of(PGconn *c, const table_sql *t)
{
    char sql[1200], *ident = PQescapeIdentifier(c, t->name, strlen(t->name));
    snprintf(sql, sizeof(sql), "SELECT %s, %s FROM public.%s t", t->key_sql, t->row_sql, ident);
    PQfreemem(ident);
    PGresult *r = query(c, sql, 0, NULL);
    if (!r)
        return NULL;
    json_t *rows = json_object();
    for (int i = 0; i < PQntuples(r); i++)
        json_object_set_new(rows, PQgetvalue(r, i, 0), json_string(PQgetvalue(r, i, 1)));
    PQclear(r);
    return rows;
}

/* "stock: live 12, rebuilt 15; …" for the columns that differ. */
static void column_diff(const char *live_text, const char *rebuilt_text, char *out, size_t cap)
{
    json_t *a = json_loads(live_text, 0, NULL), *b = json_loads(rebuilt_text, 0, NULL);
    const char *key;
    json_t *va;
    size_t len = 0;
    out[0] = 0;
    json_object_foreach(a, key, va) {
        json_t *vb = json_object_get(b, key);
        if (vb && json_equal(va, vb))
            continue;
        char *x = json_dumps(va, JSON_ENCODE_ANY | JSON_COMPACT), *y = vb ? json_dumps(vb, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
        if (len < cap)
            len += (size_t)snprintf(out + len, cap - len, "%s%s: live %.60s, rebuilt %.60s", len ? "; " : "", key,
                                    x ? x : "?", y ? y : "(absent)");
        free(x);
        free(y);
    }
    json_decref(a);
    json_decref(b);
}

static void report_rows(FILE *out, const table_sql *t, json_t *live, json_t *rebuilt)
{
    const char *key;
    json_t *v;
    int total = 0;
    char diff[1024];
    json_object_foreach(live, key, v) {
        json_t *w = json_object_get(rebuilt, key);
        if (w && strcmp(json_string_value(v), json_string_value(w)) == 0)
            continue;
        if (w)
            column_diff(json_string_value(v), json_string_value(w), diff, sizeof(diff));
        if (++total <= ROWS_SHOWN)
            fprintf(out, "  %s %s=%s: %s\n", t->name, t->key_names, key, w ? diff : "missing in the rebuilt database");
    }
    json_object_foreach(rebuilt, key, v) {
        if (json_object_get(live, key))
            continue;
        if (++total <= ROWS_SHOWN)
            fprintf(out, "  %s %s=%s: only in the rebuilt database\n", t->name, t->key_names, key);
    }
    if (total > ROWS_SHOWN)
        fprintf(out, "  %s: %d more differing rows\n", t->name, total - ROWS_SHOWN);
}

/* 1 when the table differs, 0 when identical, -1 on error. */
static int compare_table(PGconn *live, PGconn *rebuilt, const char *name, FILE *out)
{
    table_sql t;
    summary a, b;
    if (describe(live, name, &t) != 0 || summarize(live, &t, &a) != 0 || summarize(rebuilt, &t, &b) != 0)
        return -1;
    int same = !a.missing && !b.missing && a.rows == b.rows && strcmp(a.md5, b.md5) == 0;
    fprintf(out, "%-20s %10lld %12lld  %-32s  %-32s  %s\n", name, a.rows, b.rows, a.missing ? "(missing)" : a.md5,
            b.missing ? "(missing)" : b.md5, same ? "identical" : "DIFFERENT");
    if (same || a.missing || b.missing)
        return !same;
    json_t *x = rows_of(live, &t), *y = rows_of(rebuilt, &t);
    if (x && y)
        report_rows(out, &t, x, y);
    json_decref(x);
    json_decref(y);
    return x && y ? 1 : -1;
}

int rp_compare(PGconn *live, PGconn *rebuilt, FILE *out, bool quiet)
{
    PGresult *tables = tables_of(live);
    if (!tables)
        return -1;
    rp_progress progress;
    rp_progress_start(&progress, "comparing tables", PQntuples(tables), !quiet);
    fprintf(out, "%-20s %10s %12s  %-32s  %-32s  %s\n", "table", "live rows", "rebuilt rows", "live md5",
            "rebuilt md5", "result");
    int differing = 0;
    char names[1024] = "";
    for (int i = 0; i < PQntuples(tables) && differing >= 0; i++) {
        const char *name = PQgetvalue(tables, i, 0);
        if (skipped_table(name))
            continue;
        int d = compare_table(live, rebuilt, name, out);
        if (d < 0)
            differing = -1;
        else if (d > 0) {
            differing++;
            append(names, sizeof(names), names[0] ? ", " : "", name, "");
        }
        rp_progress_tick(&progress, i + 1);
    }
    rp_progress_end(&progress);
    PQclear(tables);
    if (differing == 0)
        fprintf(out, "identical\n");
    else if (differing > 0)
        fprintf(out, "different: %s\n", names);
    return differing;
}
