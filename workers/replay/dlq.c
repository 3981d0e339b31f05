/* dlq.c — dead letters (replay.h). The dead_letters table is the list: a
 * worker writes one row per poison message (undecodable, unknown type,
 * invalid payload) with its reason and original coordinates, and sends the
 * message to the dlq topic as well. Redrive re-publishes the stored bytes
 * to the original topic under the original key, waits for Kafka's
 * acknowledgement, then stamps redriven_at; then it waits (bounded) for
 * what the workers did with each message and reports that — applied,
 * rejected, dead-lettered again, or still pending — never just "sent".
 * That is safe to repeat: a command a worker already decided is answered
 * from processed_commands (DESIGN §3), so it is never applied twice. A
 * type the workers did not know was left undecided (workers/process.c), so
 * its redrive after the upgrade is applied. A message that was poison
 * because of its bytes must be corrected first: --value-file sends a
 * corrected envelope instead of the stored one.
 * Signatures (common/command_auth.h): stored bytes are re-sent exactly as
 * they came, trailer included, and never re-signed — a forged message
 * (dead-lettered bad_signature) redriven is refused again. A --value-file
 * holding a bare envelope is signed with PUNYAKA_COMMAND_KEY: the operator
 * who holds the key vouches for the corrected command. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "common/envelope.h"
#include "common/kafka_util.h"
#include "workers/replay/replay.h"
#include "common/clock.h"

#define DLQ_COLUMNS                                                                                              \
    "id, topic, kafka_partition, kafka_offset, key, reason, payload,"                                            \
    " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"                             \
    " to_char(redriven_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

/* Binary columns come back as text ("\x…"); the bytes, malloc'd. */
static unsigned char *bytes_of(const PGresult *r, int row, int col, size_t *len)
{
    *len = 0;
    return PQgetisnull(r, row, col) ? NULL : PQunescapeBytea((const unsigned char *)PQgetvalue(r, row, col), len);
}

static json_t *text_or_hex(const unsigned char *b, size_t n)
{
    int printable = 1;
    for (size_t i = 0; i < n && printable; i++)
        printable = isprint(b[i]);
    if (printable)
        return json_stringn((const char *)b, n);
    char *hex = malloc(n * 2 + 3);
    strcpy(hex, "0x");
    for (size_t i = 0; i < n; i++)
        sprintf(hex + 2 + i * 2, "%02x", b[i]);
    json_t *j = json_string(hex);
    free(hex);
    return j;
}

static json_t *row_json(const PGresult *r, int i)
{
    size_t klen, plen;
    unsigned char *key = bytes_of(r, i, 4, &klen), *payload = bytes_of(r, i, 6, &plen);
    json_t *j = json_pack("{s:I, s:s, s:i, s:I, s:s, s:i, s:s}", "id", (json_int_t)strtoll(PQgetvalue(r, i, 0), NULL, 10),
                          "topic", PQgetvalue(r, i, 1), "partition", atoi(PQgetvalue(r, i, 2)), "offset",
                          (json_int_t)strtoll(PQgetvalue(r, i, 3), NULL, 10), "reason", PQgetvalue(r, i, 5),
                          "payload_bytes", (int)plen, "created_at", PQgetvalue(r, i, 7));
    json_object_set_new(j, "key", key ? text_or_hex(key, klen) : json_null());
    json_object_set_new(j, "redriven_at", PQgetisnull(r, i, 8) ? json_null() : json_string(PQgetvalue(r, i, 8)));
    pk_envelope_decoded cmd;
    char err[96];
    if (payload && pk_envelope_decode(payload, pk_command_envelope_len(payload, plen), &cmd, err, sizeof(err)) == 0) {
        char id[PK_UUID_STR_LEN + 1];
        pk_uuid_format(&cmd.env.id, id);
        json_object_set_new(j, "command_id", json_string(id));
        json_object_set_new(j, "type", json_string(cmd.env.type));
        pk_envelope_decoded_free(&cmd);
    }
    PQfreemem(key);
    PQfreemem(payload);
    return j;
}

static PGresult *select_rows(PGconn *c, const rp_dlq_opts *o, bool pending_only)
{
    size_t cap = o->n_ids * 21 + 3, len = 0;
    char *ids = malloc(cap);
    len += (size_t)snprintf(ids, cap, "{");
    for (size_t i = 0; i < o->n_ids; i++)
        len += (size_t)snprintf(ids + len, cap - len, "%s%lld", i ? "," : "", (long long)o->ids[i]);
    snprintf(ids + len, cap - len, "}");
    const char *params[] = {o->n_ids ? ids : NULL, pending_only ? "t" : "f"};
    PGresult *r = PQexecParams(c,
                               "SELECT " DLQ_COLUMNS " FROM dead_letters"
                               " WHERE ($1::bigint[] IS NULL OR id = ANY ($1::bigint[]))"
                               " AND (NOT $2::boolean OR redriven_at IS NULL) ORDER BY id",
                               2, NULL, params, NULL, NULL, 0);
    free(ids);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "punyaka-replay: dead_letters: %s", PQresultErrorMessage(r));
        PQclear(r);
        return NULL;
    }
    return r;
}

int rp_dlq_list(const rp_dlq_opts *o)
{
    PGconn *c = rp_connect(o->live_dsn, "the database (DATABASE_URL)");
    PGresult *r = c ? select_rows(c, o, !o->all) : NULL;
    for (int i = 0; r && i < PQntuples(r); i++) {
        json_t *j = row_json(r, i);
        char *text = json_dumps(j, JSON_COMPACT);
        printf("%s\n", text);
        free(text);
        json_decref(j);
    }
    int rc = r ? RP_EXIT_OK : RP_EXIT_FAILED;
    PQclear(r);
    PQfinish(c);
    return rc;
}

/* ---- redrive ---- */

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return NULL;
    }
    size_t cap = 4096;
    unsigned char *buf = malloc(cap);
    *len = 0;
    for (size_t got; (got = fread(buf + *len, 1, cap - *len, f)) > 0;) {
        *len += got;
        if (*len == cap && cap < PK_ENVELOPE_MAX_BYTES * 2)
            buf = realloc(buf, cap *= 2);
        else if (*len == cap)
            break;
    }
    fclose(f);
    return buf;
}

/* ---- one redriven message: what was sent, and what became of it ---- */

typedef struct {
    const char *dead_letter_id;             /* dead_letters.id (points into the rows) */
    const char *topic;                      /* the original topic (points into the rows) */
    char type[PK_TYPE_MAX];                 /* "" when the bytes do not decode */
    char command_id[PK_UUID_STR_LEN + 1];   /* "" when the bytes do not decode */
    bool decided_before;                    /* the command had an outcome before the redrive */
    int delivered;                          /* delivery report: 0 none yet, 1 acknowledged, -1 failed */
    int32_t partition;                      /* where Kafka stored it */
    int64_t offset;
    char status[16];                        /* applied | rejected | dead_lettered | pending | failed */
    char detail[256];                       /* the rejection code, or the new dead letter's reason */
} redriven;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    redriven *d = m->_private;
    d->delivered = m->err ? -1 : 1;
    d->partition = m->partition;
    d->offset = m->offset;
}

static rd_kafka_t *make_producer(const pk_config *cfg)
{
    char err[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    if (rd_kafka_conf_set(c, "bootstrap.servers", cfg->kafka_brokers, err, sizeof(err)) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(c, "enable.idempotence", "true", err, sizeof(err)) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(c, "message.timeout.ms", "10000", err, sizeof(err)) != RD_KAFKA_CONF_OK ||
        pk_kafka_conf_security(c, err, sizeof(err)) != 0) {
        rd_kafka_conf_destroy(c);
        fprintf(stderr, "punyaka-replay: kafka: %s\n", err);
        return NULL;
    }
    rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
    if (!rk) {
        rd_kafka_conf_destroy(c);
        fprintf(stderr, "punyaka-replay: kafka: %s\n", err);
    }
    return rk;
}

/* The command's outcome into d->status/detail; false when it has none (yet). */
static bool outcome_of(PGconn *c, redriven *d)
{
    if (!d->command_id[0])
        return false;
    const char *params[] = {d->command_id};
    PGresult *r = PQexecParams(c, "SELECT status, coalesce(code, '') FROM command_outcomes WHERE command_id = $1::uuid",
                               1, NULL, params, NULL, NULL, 0);
    bool found = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    if (found) {
        snprintf(d->status, sizeof(d->status), "%s", PQgetvalue(r, 0, 0));
        snprintf(d->detail, sizeof(d->detail), "%s", PQgetvalue(r, 0, 1));
    }
    PQclear(r);
    return found;
}

/* Whether a worker dead-lettered the redriven message again (its new
 * topic/partition/offset has a dead_letters row); the reason in d->detail. */
static bool dead_lettered_again(PGconn *c, redriven *d)
{
    char partition[16], offset[24];
    snprintf(partition, sizeof(partition), "%d", (int)d->partition);
    snprintf(offset, sizeof(offset), "%lld", (long long)d->offset);
    const char *params[] = {d->topic, partition, offset};
    PGresult *r = PQexecParams(c,
                               "SELECT reason FROM dead_letters WHERE topic = $1 AND kafka_partition = $2::int"
                               " AND kafka_offset = $3::bigint",
                               3, NULL, params, NULL, NULL, 0);
    bool found = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0;
    if (found) {
        snprintf(d->status, sizeof(d->status), "dead_lettered");
        snprintf(d->detail, sizeof(d->detail), "%s", PQgetvalue(r, 0, 0));
    }
    PQclear(r);
    return found;
}

/* What the bytes say (type, command id), and whether the command was
 * decided before: a decided command is answered from its stored outcome. */
static void describe(PGconn *c, redriven *d, const unsigned char *value, size_t len)
{
    pk_envelope_decoded cmd;
    char err[96];
    if (pk_envelope_decode(value, pk_command_envelope_len(value, len), &cmd, err, sizeof(err)) == 0) {
        snprintf(d->type, sizeof(d->type), "%s", cmd.env.type);
        pk_uuid_format(&cmd.env.id, d->command_id);
        pk_envelope_decoded_free(&cmd);
    }
    d->decided_before = outcome_of(c, d);
}

/* Produces one dead letter and waits for the acknowledgement. */
static int redrive_one(rd_kafka_t *rk, const PGresult *r, int i, const unsigned char *value, size_t len,
                       redriven *d)
{
    size_t klen;
    unsigned char *key = bytes_of(r, i, 4, &klen);
    char origin[48];
    snprintf(origin, sizeof(origin), "dead_letters:%s", d->dead_letter_id);
    rd_kafka_resp_err_t e = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(d->topic), RD_KAFKA_V_KEY(key, key ? klen : 0), RD_KAFKA_V_VALUE((void *)value, len),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADER("type", d->type, -1),
        RD_KAFKA_V_HEADER("v", "1", -1), RD_KAFKA_V_HEADER("redriven_from", origin, -1), RD_KAFKA_V_OPAQUE(d),
        RD_KAFKA_V_END);
    PQfreemem(key);
    if (e) {
        fprintf(stderr, "punyaka-replay: produce: %s\n", rd_kafka_err2str(e));
        return -1;
    }
    rd_kafka_flush(rk, 15000);   /* message.timeout.ms is 10 s: the report has come */
    return d->delivered == 1 ? 0 : -1;
}

static int mark_redriven(PGconn *c, const char *id)
{
    const char *params[] = {id};
    PGresult *r = PQexecParams(c, "UPDATE dead_letters SET redriven_at = now() WHERE id = $1", 1, NULL, params,
                               NULL, NULL, 0);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    return ok ? 0 : -1;
}

/* ---- what became of them ---- */

/* Polls until every delivered message is decided or dead-lettered again,
 * or wait_ms passed; the rest are pending. A command decided before the
 * redrive is answered from that decision at once. */
static void await_decisions(PGconn *c, redriven *msgs, int n, int wait_ms)
{
    int64_t deadline = pk_monotonic_ms() + wait_ms;
    for (int open = n; open > 0;) {
        open = 0;
        for (int i = 0; i < n; i++)
            if (!msgs[i].status[0] && !outcome_of(c, &msgs[i]) && !dead_lettered_again(c, &msgs[i]))
                open++;
        if (open == 0 || pk_monotonic_ms() >= deadline || rp_stopping)
            break;
        usleep(200 * 1000);
    }
    for (int i = 0; i < n; i++)
        if (!msgs[i].status[0])
            snprintf(msgs[i].status, sizeof(msgs[i].status), "pending");
}

static void print_report(const redriven *d, bool from_file)
{
    json_t *j = json_pack("{s:I, s:s, s:s}", "id", (json_int_t)strtoll(d->dead_letter_id, NULL, 10), "topic",
                          d->topic, "status", d->status);
    if (d->command_id[0])
        json_object_set_new(j, "command_id", json_string(d->command_id));
    if (!strcmp(d->status, "rejected"))
        json_object_set_new(j, "code", json_string(d->detail));
    if (!strcmp(d->status, "dead_lettered"))
        json_object_set_new(j, "reason", json_string(d->detail));
    if (d->decided_before)
        json_object_set_new(j, "decided_before", json_true());
    if (from_file)
        json_object_set_new(j, "value", json_string("from file"));
    char *text = json_dumps(j, JSON_COMPACT);
    printf("%s\n", text);
    free(text);
    json_decref(j);
}

/* A corrected envelope from a file, signed unless it already carries a
 * valid signature. NULL (message on stderr) when it is neither. */
static unsigned char *signed_value_file(const rp_dlq_opts *o, size_t *len)
{
    unsigned char *bytes = read_file(o->value_file, len);
    size_t envelope_len;
    if (!bytes || pk_command_verify(o->keys, bytes, *len, &envelope_len, NULL) == PK_AUTH_OK)
        return bytes;
    pk_envelope_decoded cmd;
    char err[96];
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    if (pk_envelope_decode(bytes, *len, &cmd, err, sizeof(err)) != 0) {
        fprintf(stderr, "punyaka-replay: %s: neither a signed command nor an envelope (%s)\n", o->value_file, err);
    } else if (msgpack_sbuffer_write(&sb, (const char *)bytes, *len) != 0 ||
               pk_command_sign(o->keys, sb.data, sb.size, &sb) != 0) {
        fprintf(stderr, "punyaka-replay: %s: could not sign it\n", o->value_file);
        pk_envelope_decoded_free(&cmd);
    } else {
        pk_envelope_decoded_free(&cmd);
        free(bytes);
        *len = sb.size;
        return (unsigned char *)msgpack_sbuffer_release(&sb);
    }
    msgpack_sbuffer_destroy(&sb);
    free(bytes);
    return NULL;
}

static int redrive_rows(PGconn *c, rd_kafka_t *rk, const PGresult *r, const rp_dlq_opts *o)
{
    size_t fixed_len = 0;
    unsigned char *fixed = o->value_file ? signed_value_file(o, &fixed_len) : NULL;
    if (o->value_file && !fixed)
        return -1;
    int n = PQntuples(r), failed = 0;
    redriven *msgs = calloc(n ? (size_t)n : 1, sizeof(*msgs));
    for (int i = 0; i < n; i++) {
        size_t len;
        unsigned char *stored = bytes_of(r, i, 6, &len);
        const unsigned char *value = fixed ? fixed : stored;
        redriven *d = &msgs[i];
        d->dead_letter_id = PQgetvalue(r, i, 0);
        d->topic = PQgetvalue(r, i, 1);
        describe(c, d, value, fixed ? fixed_len : len);
        d->status[0] = 0;   /* describe() found any earlier decision; the report starts afresh */
        if (redrive_one(rk, r, i, value, fixed ? fixed_len : len, d) != 0 || mark_redriven(c, d->dead_letter_id) != 0) {
            snprintf(d->status, sizeof(d->status), "failed");
            failed++;
        }
        PQfreemem(stored);
    }
    await_decisions(c, msgs, n, o->wait_ms);
    for (int i = 0; i < n; i++)
        print_report(&msgs[i], fixed != NULL);
    free(msgs);
    free(fixed);
    return failed ? -1 : 0;
}

int rp_dlq_redrive(const rp_dlq_opts *o)
{
    if (o->value_file && o->n_ids != 1) {
        fprintf(stderr, "punyaka-replay: --value-file replaces one message: give exactly one --id\n");
        return RP_EXIT_USAGE;
    }
    PGconn *c = rp_connect(o->live_dsn, "the database (DATABASE_URL)");
    /* Named ids are redriven even if they were before (an operator asked); otherwise the pending ones. */
    PGresult *r = c ? select_rows(c, o, o->n_ids == 0) : NULL;
    rd_kafka_t *rk = r ? make_producer(o->cfg) : NULL;
    int rc = RP_EXIT_FAILED;
    if (rk && o->n_ids && PQntuples(r) != (int)o->n_ids)
        fprintf(stderr, "punyaka-replay: %d of the %zu ids are dead letters\n", PQntuples(r), o->n_ids);
    else if (rk)
        rc = redrive_rows(c, rk, r, o) == 0 ? RP_EXIT_OK : RP_EXIT_FAILED;
    if (rk)
        rd_kafka_destroy(rk);
    PQclear(r);
    PQfinish(c);
    return rc;
}
