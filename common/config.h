/* config.h — every setting comes from an environment variable with a
 * documented default (README "Environment"). Loaded once at start-up. */
#ifndef PUNYAKA_CONFIG_H
#define PUNYAKA_CONFIG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int http_port;            /* PUNYAKA_HTTP_PORT, 8080 */
    int http_threads;         /* PUNYAKA_HTTP_THREADS, number of cores */
    const char *database_url; /* DATABASE_URL, "host=127.0.0.1 port=5432 dbname=punyaka user=postgres" */
    const char *database_read_url; /* DATABASE_READ_URL, NULL = none: the API's read replica (docs/operations.md) */
    int read_primary_after_write_ms; /* PUNYAKA_READ_PRIMARY_AFTER_WRITE_MS, 5000: a writer's reads stay on the primary */
    int replica_max_lag_ms;   /* PUNYAKA_REPLICA_MAX_LAG_MS, 1000: a replica further behind is not read */
    const char *redis_url;    /* REDIS_URL, "redis://127.0.0.1:6379" */
    const char *kafka_brokers;/* KAFKA_BROKERS, "127.0.0.1:9092" */
    const char *topic_prefix; /* PUNYAKA_TOPIC_PREFIX, "punyaka." */
    const char *web_root;     /* PUNYAKA_WEB_ROOT, "web" */
    const char *openapi_file; /* PUNYAKA_OPENAPI_FILE, "schemas/openapi.yaml": served as GET /api/openapi.yaml */
    const char *openapi_json_file; /* PUNYAKA_OPENAPI_JSON_FILE, the YAML's path ending .json: GET /api/openapi.json */
    const char *instance_id;  /* PUNYAKA_INSTANCE_ID, hostname-pid */
    const char *group_id;     /* PUNYAKA_GROUP_ID, "punyaka-workers" */
    int wait_default_ms;      /* PUNYAKA_WAIT_DEFAULT_MS, 5000 */
    int wait_max_ms;          /* PUNYAKA_WAIT_MAX_MS, 10000 */
    int produce_timeout_ms;   /* PUNYAKA_PRODUCE_TIMEOUT_MS, 5000: no ack ⇒ 503 */
    int pg_conns_per_thread;  /* PUNYAKA_PG_CONNS, 4 */
    int kafka_fetch_wait_ms;  /* PUNYAKA_KAFKA_FETCH_WAIT_MS, 500: workers' fetch.wait.max.ms */
    int max_body_bytes;       /* PUNYAKA_MAX_BODY, 65536 */
    int metrics_port;         /* PUNYAKA_METRICS_PORT, 0 = off (workers) */
    int cookie_secure;        /* PUNYAKA_COOKIE_SECURE, 0: add `Secure` to cookies when 1 (behind TLS) */
    const char *cookie_samesite; /* PUNYAKA_COOKIE_SAMESITE, "Lax" | "Strict" | "None" (None adds Secure) */
    int api_metrics_port;     /* PUNYAKA_API_METRICS_PORT, 0 = off: the API's GET /metrics */
    const char *api_metrics_addr; /* PUNYAKA_API_METRICS_ADDR, "127.0.0.1": IPv4 address it binds */
    int session_idle_s;       /* PUNYAKA_SESSION_IDLE_S, 1209600 (14 days, sliding) */
    const char *cors_origins; /* PUNYAKA_CORS_ORIGINS, "": comma-separated origins allowed with credentials */
    int login_max_per_user;   /* PUNYAKA_LOGIN_MAX_PER_USER, 10 failures per window */
    int login_max_per_ip;     /* PUNYAKA_LOGIN_MAX_PER_IP, 100 failures per window */
    int login_window_s;       /* PUNYAKA_LOGIN_WINDOW_S, 900 (15 minutes) */
    int password_change_max;  /* PUNYAKA_PASSWORD_CHANGE_MAX, 10 failed current-password checks per user per login window */
    int register_max_per_ip;  /* PUNYAKA_REGISTER_MAX_PER_IP, 20 registrations per address per window */
    int register_window_s;    /* PUNYAKA_REGISTER_WINDOW_S, 3600 */
    int hash_threads;         /* PUNYAKA_HASH_THREADS, 2 Argon2id threads (64 MiB each while hashing) */
    int hash_queue_max;       /* PUNYAKA_HASH_QUEUE_MAX, 32 waiting hashes; more ⇒ 503 */
    int hash_queue_per_client;/* PUNYAKA_HASH_QUEUE_PER_CLIENT, 4 of them for one client address */
    int h2_reset_max;         /* PUNYAKA_H2_RESET_MAX, 200 abandoned requests per HTTP/2 connection ... */
    int h2_reset_window_s;    /* PUNYAKA_H2_RESET_WINDOW_S, ... per 10 s, then GOAWAY (api/resets.h) */
} pk_config;

/* Fills cfg from the environment (secrets from files first:
 * pk_secrets_load). Returns 0, or -1 with a message in err
 * naming the variable that is malformed. Strings point into the environment
 * or static storage and live for the process. */
int pk_config_load(pk_config *cfg, char *err, size_t errcap);

/* Secrets as files (docker secrets, issue 15). Each variable named in
 * PK_SECRET_NAMES (config.c: keys, passwords, and the URLs that may carry a
 * password) may instead be given as NAME_FILE=/run/secrets/...; the file's
 * content, less its trailing newline(s), becomes NAME in this process's
 * environment, so every reader — ours and libpq's PGPASSWORD — sees one
 * value whichever way it came. Refused (-1, message in err): NAME and
 * NAME_FILE both non-empty, a file that cannot be read, holds a NUL byte or
 * exceeds PK_SECRET_FILE_MAX bytes. NAME_FILE is then removed, so a second
 * call, or a child process, does not see both. Call before any thread
 * starts (setenv). */
#define PK_SECRET_FILE_MAX 4096
int pk_secret_file_load(const char *name, char *err, size_t errcap);

/* pk_secret_file_load for every name of PK_SECRET_NAMES; pk_config_load
 * calls it first, punyaka-migrate (no pk_config) calls it itself. */
int pk_secrets_load(char *err, size_t errcap);

/* "<prefix><name>" into buf, e.g. pk_topic(cfg, "accounts") ⇒ "punyaka.accounts". */
const char *pk_topic(const pk_config *cfg, const char *name, char *buf, size_t cap);

/* "redis://host:port[/db]" (or "host:port") ⇒ host, port (default 6379).
 * Credentials in the URL are skipped (pk_redis_addr_parse reads them).
 * Returns -1 when malformed. */
int pk_parse_redis_url(const char *url, char *host, size_t hostcap, int *port);

/* Where Redis is and who we are to it:
 * "redis://[[user]:password@]host[:port][/db]" (user and password
 * percent-decoded, as redis-cli -u reads them). An empty user with a
 * password is `AUTH password` (requirepass / the default user); a user too is
 * `AUTH user password` (an ACL user). No password: no AUTH. */
typedef struct {
    char host[256];
    int port;
    char user[128];           /* "" = the default user */
    char password[256];       /* "" = send no AUTH */
} pk_redis_addr;
int pk_redis_addr_parse(const char *url, pk_redis_addr *out);

#endif
