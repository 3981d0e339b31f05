/* punyaka-admin — operators' account tool. Admin accounts exist only through
 * this CLI, never through the HTTP API (DESIGN §5, issue 3).
 *
 *   punyaka-admin create-admin USERNAME EMAIL
 *
 * The password comes from PUNYAKA_ADMIN_PASSWORD or, when that is unset or
 * empty, from standard input (one line; prompted without echo on a
 * terminal) — never from argv, where `ps` and shell history would show it.
 * It is hashed here (Argon2id, libsodium's interactive limits, the same as
 * the API) and the hash sealed with PUNYAKA_CREDENTIAL_KEY (common/sealed.h,
 * so the log never holds it), and only the sealed hash travels: a
 * `user.create_admin` command with
 * actor {id 0, role "system"} on the accounts topic, keyed (commands.def)
 * by the lower-cased username like user.register, so both serialize per
 * username.
 * Then it polls command_outcomes (≤ 30 s) and prints the outcome as one
 * JSON line on stdout.
 *
 * The envelope is signed with PUNYAKA_COMMAND_KEY (common/command_auth.h):
 * the workers apply no command that the API or this tool did not sign.
 *
 * Exit status: 0 applied, or the username already belongs to an admin (a
 * re-run changes nothing, so scripts/run can call it every start);
 * 1 rejected otherwise, not published, timed out or bad input; 2 usage.
 * Environment: DATABASE_URL, KAFKA_BROKERS, PUNYAKA_TOPIC_PREFIX
 * (common/config.h), PUNYAKA_COMMAND_KEY, PUNYAKA_ADMIN_PASSWORD, PUNYAKA_CREDENTIAL_KEY. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <termios.h>
#include <unistd.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <msgpack.h>
#include <sodium.h>
#include "common/command_auth.h"
#include "common/commands.h"
#include "common/config.h"
#include "common/envelope.h"
#include "common/kafka_util.h"
#include "common/log.h"
#include "common/mp.h"
#include "common/sealed.h"
#include "common/uuid.h"
#include "common/validate.h"

#define OUTCOME_WAIT_MS 30000
#define PRODUCE_TIMEOUT_MS 15000
#define PASSWORD_CAP 256

static void usage(FILE *f)
{
    fputs("usage: punyaka-admin create-admin USERNAME EMAIL\n"
          "       punyaka-admin --help\n"
          "\n"
          "create-admin  creates an admin account through the command path (Kafka topic\n"
          "              <PUNYAKA_TOPIC_PREFIX>accounts, applied by punyaka-worker) and waits\n"
          "              up to 30 s for the outcome, printed as one JSON line.\n"
          "\n"
          "The password is read from PUNYAKA_ADMIN_PASSWORD, else from standard input\n"
          "(one line; 8-128 characters, not all digits). It is never taken from the\n"
          "command line. Only its Argon2id hash leaves this process.\n"
          "\n"
          "Environment: DATABASE_URL, KAFKA_BROKERS, PUNYAKA_TOPIC_PREFIX, PUNYAKA_COMMAND_KEY,\n"
          "PUNYAKA_ADMIN_PASSWORD.\n"
          "Exit status: 0 created, or USERNAME is already an admin (re-runs are harmless);\n"
          "             1 rejected, not published, no outcome within 30 s, or invalid input;\n"
          "             2 usage error.\n",
          f);
}

static int64_t now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* One line from stdin into buf (without the newline). On a terminal, with
 * echo off. Returns 0, or -1 on EOF/error or a line that does not fit. */
static int read_password(char *buf, size_t cap)
{
    struct termios saved, quiet;
    int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
    if (tty) {
        fputs("Password for the new admin: ", stderr);
        fflush(stderr);
        quiet = saved;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    int rc = fgets(buf, (int)cap, stdin) ? 0 : -1;
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
        fputc('\n', stderr);
    }
    if (rc != 0)
        return -1;
    size_t n = strlen(buf);
    if (n == cap - 1 && buf[n - 1] != '\n')
        return -1;   /* longer than any acceptable password */
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = 0;
    return 0;
}

/* ---- publishing ---- */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    *(rd_kafka_resp_err_t *)m->_private = m->err;
}

/* Produces the signed envelope with acks=all (idempotent producer), on the
 * topic and under the key common/commands.def chooses from the type and
 * the command's identifiers, and waits for the broker's acknowledgement.
 * Returns 0, or -1 with a message in err. */
static int publish(const pk_config *cfg, const pk_command_keys *keys, const pk_command_key_ids *ids,
                   const pk_envelope *env, const msgpack_sbuffer *payload, char *err, size_t errcap)
{
    char key[PK_COMMAND_KEY_MAX];
    if (pk_command_key(env->type, ids, key, sizeof(key)) != 0) {
        snprintf(err, errcap, "no partition key for %s", env->type);
        return -1;
    }
    msgpack_sbuffer value;
    msgpack_sbuffer_init(&value);
    if (pk_envelope_encode(env, payload->data, payload->size, &value) != 0 ||
        pk_command_sign(keys, value.data, value.size, &value) != 0) {
        snprintf(err, errcap, "could not encode the command");
        msgpack_sbuffer_destroy(&value);
        return -1;
    }
    char timeout[16];
    snprintf(timeout, sizeof(timeout), "%d", PRODUCE_TIMEOUT_MS);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_log_cb(conf, pk_kafka_log_cb);
    rd_kafka_t *rk = NULL;
    if (rd_kafka_conf_set(conf, "bootstrap.servers", cfg->kafka_brokers, err, errcap) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "enable.idempotence", "true", err, errcap) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "message.timeout.ms", timeout, err, errcap) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "client.id", "punyaka-admin", err, errcap) != RD_KAFKA_CONF_OK ||
        pk_kafka_conf_security(conf, err, errcap) != 0 ||
        !(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errcap))) {
        rd_kafka_conf_destroy(conf);
        msgpack_sbuffer_destroy(&value);
        return -1;
    }
    char topic[128], v[8], id_hex[33], span[8], traceparent[64];
    pk_topic(cfg, pk_command_find(env->type)->topic, topic, sizeof(topic));   /* common/commands.def */
    snprintf(v, sizeof(v), "%d", PK_ENVELOPE_VERSION);
    sodium_bin2hex(id_hex, sizeof(id_hex), env->id.b, sizeof(env->id.b));
    randombytes_buf(span, sizeof(span));
    int n = snprintf(traceparent, sizeof(traceparent), "00-%s-", id_hex);
    sodium_bin2hex(traceparent + n, sizeof(traceparent) - (size_t)n, (const unsigned char *)span, sizeof(span));
    snprintf(traceparent + n + 16, sizeof(traceparent) - (size_t)n - 16, "-01");
    rd_kafka_resp_err_t delivered = RD_KAFKA_RESP_ERR__IN_PROGRESS;
    rd_kafka_resp_err_t e = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE(value.data, value.size),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADER("type", env->type, -1),
        RD_KAFKA_V_HEADER("v", v, -1), RD_KAFKA_V_HEADER("traceparent", traceparent, -1),
        RD_KAFKA_V_OPAQUE(&delivered), RD_KAFKA_V_END);
    msgpack_sbuffer_destroy(&value);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_flush(rk, PRODUCE_TIMEOUT_MS + 5000);
        e = delivered;
    }
    rd_kafka_destroy(rk);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errcap, "Kafka did not accept the command: %s", rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

/* ---- waiting for the outcome ---- */

/* Polls command_outcomes until the worker has decided. Returns the outcome
 * as a JSON object (status, code, detail, resource) or NULL on timeout. */
static json_t *wait_outcome(PGconn *db, const char *command_id)
{
    const char *params[] = {command_id};
    for (int64_t deadline = now_us() + OUTCOME_WAIT_MS * 1000LL; now_us() < deadline; usleep(100 * 1000)) {
        PGresult *r = PQexecParams(db,
                                   "SELECT json_build_object('status', status, 'code', code, 'detail', detail,"
                                   " 'resource', resource)::text FROM command_outcomes WHERE command_id = $1",
                                   1, NULL, params, NULL, NULL, 0);
        json_t *o = NULL;
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
            json_error_t e;
            o = json_loads(PQgetvalue(r, 0, 0), 0, &e);
        } else if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            pk_warn(NULL, "polling command_outcomes: %s", PQerrorMessage(db));
            if (PQstatus(db) != CONNECTION_OK)
                PQreset(db);
        }
        PQclear(r);
        if (o)
            return o;
    }
    return NULL;
}

/* 1 when the username belongs to an admin account, 0 when to another role, -1 unknown. */
static int is_admin(PGconn *db, const char *username)
{
    const char *params[] = {username};
    PGresult *r = PQexecParams(db, "SELECT role = 'admin' FROM users WHERE lower(username) = lower($1)", 1, NULL,
                               params, NULL, NULL, 0);
    int rc = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? strcmp(PQgetvalue(r, 0, 0), "t") == 0 : -1;
    PQclear(r);
    return rc;
}

static void print_line(json_t *o)
{
    char *text = json_dumps(o, JSON_COMPACT);
    if (text)
        puts(text);
    fflush(stdout);
    free(text);
}

static int create_admin(const char *username, const char *email)
{
    const char *why;
    if ((why = pk_check_username(username)) != NULL) {
        fprintf(stderr, "punyaka-admin: username %s\n", why);
        return 1;
    }
    if ((why = pk_check_email(email)) != NULL) {
        fprintf(stderr, "punyaka-admin: email: %s\n", why);
        return 1;
    }
    pk_config cfg;
    char err[512];
    unsigned char credential_key[crypto_secretbox_KEYBYTES];
    pk_command_keys command_keys;
    if (pk_config_load(&cfg, err, sizeof(err)) != 0 ||
        pk_sealed_key_from_env(PK_CREDENTIAL_KEY_ENV, credential_key, err, sizeof(err)) != 0 ||
        pk_command_keys_from_env(&command_keys, err, sizeof(err)) != 0) {
        fprintf(stderr, "punyaka-admin: %s\n", err);
        return 1;
    }
    char password[PASSWORD_CAP];
    const char *env_password = getenv("PUNYAKA_ADMIN_PASSWORD");
    if (env_password && *env_password) {
        if (strlen(env_password) >= sizeof(password)) {
            fputs("punyaka-admin: password must be at most 128 characters\n", stderr);
            return 1;
        }
        snprintf(password, sizeof(password), "%s", env_password);
    } else if (read_password(password, sizeof(password)) != 0) {
        fputs("punyaka-admin: no password (set PUNYAKA_ADMIN_PASSWORD or pass one line on stdin)\n", stderr);
        return 1;
    }
    if ((why = pk_check_password(password)) != NULL) {
        sodium_memzero(password, sizeof(password));
        fprintf(stderr, "punyaka-admin: password %s\n", why);
        return 1;
    }
    char hash[crypto_pwhash_STRBYTES], sealed[PK_SEALED_STR_MAX];
    int hashed = crypto_pwhash_str(hash, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                   crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0 &&
                 pk_seal_text(credential_key, hash, sealed, sizeof(sealed)) > 0;
    sodium_memzero(password, sizeof(password));
    sodium_memzero(hash, sizeof(hash));
    sodium_memzero(credential_key, sizeof(credential_key));
    if (!hashed) {
        fputs("punyaka-admin: could not hash the password (out of memory)\n", stderr);
        return 1;
    }

    /* Connect first: publishing a command whose outcome we cannot read would
     * leave the operator guessing. */
    const char *keys[] = {"dbname", "connect_timeout", NULL};
    const char *values[] = {cfg.database_url, "10", NULL};
    PGconn *db = PQconnectdbParams(keys, values, 1);
    if (PQstatus(db) != CONNECTION_OK) {
        fprintf(stderr, "punyaka-admin: cannot connect to DATABASE_URL: %s", PQerrorMessage(db));
        PQfinish(db);
        return 1;
    }

    msgpack_sbuffer payload;
    msgpack_packer pk;
    pk_mp_start_map(&payload, &pk, 3);
    pk_mp_kv_str(&pk, "username", username);
    pk_mp_kv_str(&pk, "email", email);
    pk_mp_kv_str(&pk, "password_hash", sealed);

    pk_envelope env = {.v = PK_ENVELOPE_VERSION, .issued_at_us = now_us(), .actor_id = 0};
    pk_uuid_v7(&env.id, (uint64_t)(env.issued_at_us / 1000));
    snprintf(env.type, sizeof(env.type), "user.create_admin");
    snprintf(env.actor_role, sizeof(env.actor_role), "system");
    snprintf(env.request_id, sizeof(env.request_id), "punyaka-admin-%ld", (long)getpid());
    char command_id[PK_UUID_STR_LEN + 1];
    pk_uuid_format(&env.id, command_id);

    int rc = 1;
    json_t *line = json_pack("{s:s, s:s}", "command_id", command_id, "type", env.type);
    const pk_command_key_ids ids = {.username = username};
    if (publish(&cfg, &command_keys, &ids, &env, &payload, err, sizeof(err)) != 0) {
        json_object_set_new(line, "status", json_string("not_published"));
        json_object_set_new(line, "detail", json_string(err));
        print_line(line);
        fprintf(stderr, "punyaka-admin: %s\n", err);
        goto out;
    }
    json_t *o = wait_outcome(db, command_id);
    if (!o) {
        json_object_set_new(line, "status", json_string("timeout"));
        print_line(line);
        fprintf(stderr, "punyaka-admin: no outcome within %d s; the command is accepted and may still be "
                        "applied (check GET /api/commands/%s)\n", OUTCOME_WAIT_MS / 1000, command_id);
        goto out;
    }
    json_object_update(line, o);
    json_decref(o);
    print_line(line);
    const char *status = json_string_value(json_object_get(line, "status"));
    const char *code = json_string_value(json_object_get(line, "code"));
    if (status && strcmp(status, "applied") == 0) {
        fprintf(stderr, "punyaka-admin: admin %s created\n", username);
        rc = 0;
    } else if (code && strcmp(code, "username_taken") == 0 && is_admin(db, username) == 1) {
        fprintf(stderr, "punyaka-admin: admin %s already exists; nothing changed (password not updated)\n",
                username);
        rc = 0;
    } else {
        int taken = code && strcmp(code, "username_taken") == 0;
        fprintf(stderr, "punyaka-admin: rejected: %s%s\n", code ? code : "unknown",
                taken ? " (the username belongs to an account that is not an admin)" : "");
    }
out:
    json_decref(line);
    msgpack_sbuffer_destroy(&payload);
    pk_command_keys_wipe(&command_keys);
    PQfinish(db);
    return rc;
}

int main(int argc, char **argv)
{
    pk_log_init("punyaka-admin");
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "create-admin") == 0) {
        if (sodium_init() < 0) {
            fputs("punyaka-admin: libsodium failed to initialize\n", stderr);
            return 1;
        }
        return create_admin(argv[2], argv[3]);
    }
    usage(stderr);
    return 2;
}
