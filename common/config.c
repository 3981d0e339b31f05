#include "common/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sodium.h>
#include "common/clock.h"

static const char *env_or(const char *name, const char *def)
{
    const char *v = getenv(name);
    return (v && *v) ? v : def;
}

/* The default of PUNYAKA_OPENAPI_JSON_FILE: the YAML's path with ".json" for
 * ".yaml", since an installation keeps the two side by side. Static: the
 * configuration is loaded once per process and keeps pointers to it. */
static const char *json_beside(const char *yaml_path)
{
    static char path[4096];
    size_t n = strlen(yaml_path);
    if (n > 5 && strcmp(yaml_path + n - 5, ".yaml") == 0)
        n -= 5;
    snprintf(path, sizeof(path), "%.*s.json", (int)n, yaml_path);
    return path;
}

static int env_int(const char *name, int def, int min, int max, int *out, char *err, size_t errcap)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *end || n < min || n > max) {
        snprintf(err, errcap, "%s must be an integer in [%d, %d], got \"%s\"", name, min, max, v);
        return -1;
    }
    *out = (int)n;
    return 0;
}

/* SameSite of the API's cookies: one of three words (any case), spelled
 * canonically; anything else stops start-up rather than silently weakening. */
static int samesite_load(pk_config *cfg, char *err, size_t errcap)
{
    static const char *const values[] = {"Lax", "Strict", "None"};
    const char *v = env_or("PUNYAKA_COOKIE_SAMESITE", "Lax");
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
        if (strcasecmp(v, values[i]) == 0) {
            cfg->cookie_samesite = values[i];
            return 0;
        }
    snprintf(err, errcap, "PUNYAKA_COOKIE_SAMESITE must be Lax, Strict or None, got \"%s\"", v);
    return -1;
}

/* The secrets the binaries read. An explicit list, not "any *_FILE": several
 * ordinary settings already end in _FILE (PUNYAKA_OPENAPI_FILE,
 * PUNYAKA_READY_FILE) and must keep meaning a path. */
static const char *const PK_SECRET_NAMES[] = {
    "PUNYAKA_COMMAND_KEY", "PUNYAKA_COMMAND_KEY_PREVIOUS", "PUNYAKA_SESSION_KEY", "PUNYAKA_IDEMPOTENCY_KEY",
    "PUNYAKA_CREDENTIAL_KEY", "PUNYAKA_DATA_KEY", "PUNYAKA_ADMIN_PASSWORD",
    "PUNYAKA_DB_READER_PASSWORD", "PUNYAKA_DB_WRITER_PASSWORD",
    "DATABASE_URL", "DATABASE_READ_URL", "PGPASSWORD", "REDIS_URL", "KAFKA_SASL_PASSWORD", "SMTP_URL",
};

/* Reads at most cap-1 bytes of path into buf, NUL-terminated; -1 with errno
 * set (EFBIG when the file is larger, EINVAL when it holds a NUL byte). */
static ssize_t secret_read(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    errno = 0;
    size_t n = fread(buf, 1, cap - 1, f);
    int too_big = n == cap - 1 && fgetc(f) != EOF;
    int read_errno = ferror(f) ? (errno ? errno : EIO) : 0;   /* e.g. EISDIR */
    fclose(f);
    buf[n] = 0;
    if (read_errno || too_big || memchr(buf, 0, n)) {
        errno = read_errno ? read_errno : too_big ? EFBIG : EINVAL;
        return -1;
    }
    return (ssize_t)n;
}

int pk_secret_file_load(const char *name, char *err, size_t errcap)
{
    char file_var[128];
    snprintf(file_var, sizeof(file_var), "%s_FILE", name);
    const char *path = getenv(file_var);
    if (!path || !*path)
        return 0;
    const char *direct = getenv(name);
    if (direct && *direct) {
        snprintf(err, errcap, "both %s and %s are set: give the secret one way only", name, file_var);
        return -1;
    }
    char buf[PK_SECRET_FILE_MAX + 1];   /* wiped on every path: it held a secret */
    ssize_t n = secret_read(path, buf, sizeof(buf));
    if (n < 0) {
        int e = errno;
        if (e == EFBIG)
            snprintf(err, errcap, "%s=%s: larger than %d bytes", file_var, path, PK_SECRET_FILE_MAX);
        else
            snprintf(err, errcap, "%s=%s: %s", file_var, path, e == EINVAL ? "holds a NUL byte" : strerror(e));
        sodium_memzero(buf, sizeof(buf));
        return -1;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))   /* `echo secret > file` adds one */
        buf[--n] = 0;
    int rc = setenv(name, buf, 1) == 0 && unsetenv(file_var) == 0 ? 0 : -1;
    sodium_memzero(buf, sizeof(buf));
    if (rc != 0)
        snprintf(err, errcap, "%s: cannot set %s: %s", file_var, name, strerror(errno));
    return rc;
}

int pk_secrets_load(char *err, size_t errcap)
{
    for (size_t i = 0; i < sizeof(PK_SECRET_NAMES) / sizeof(PK_SECRET_NAMES[0]); i++)
        if (pk_secret_file_load(PK_SECRET_NAMES[i], err, errcap) != 0)
            return -1;
    return 0;
}

int pk_config_load(pk_config *cfg, char *err, size_t errcap)
{
    static char instance[96];
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1)
        cores = 1;
    memset(cfg, 0, sizeof(*cfg));
    if (pk_secrets_load(err, errcap) != 0)
        return -1;
    cfg->database_url = env_or("DATABASE_URL", "host=127.0.0.1 port=5432 dbname=punyaka user=postgres");
    cfg->database_read_url = getenv("DATABASE_READ_URL");
    if (cfg->database_read_url && !*cfg->database_read_url)
        cfg->database_read_url = NULL;
    cfg->redis_url = env_or("REDIS_URL", "redis://127.0.0.1:6379");
    cfg->kafka_brokers = env_or("KAFKA_BROKERS", "127.0.0.1:9092");
    cfg->topic_prefix = env_or("PUNYAKA_TOPIC_PREFIX", "punyaka.");
    cfg->web_root = env_or("PUNYAKA_WEB_ROOT", "web");
    cfg->openapi_file = env_or("PUNYAKA_OPENAPI_FILE", "schemas/openapi.yaml");
    cfg->openapi_json_file = getenv("PUNYAKA_OPENAPI_JSON_FILE");
    if (!cfg->openapi_json_file || !*cfg->openapi_json_file)
        cfg->openapi_json_file = json_beside(cfg->openapi_file);
    cfg->group_id = env_or("PUNYAKA_GROUP_ID", "punyaka-workers");
    cfg->cors_origins = env_or("PUNYAKA_CORS_ORIGINS", "");
    cfg->instance_id = getenv("PUNYAKA_INSTANCE_ID");
    cfg->api_metrics_addr = env_or("PUNYAKA_API_METRICS_ADDR", "127.0.0.1");
    if (samesite_load(cfg, err, errcap) != 0)
        return -1;
    if (!cfg->instance_id || !*cfg->instance_id) {
        char host[64] = "host";
        gethostname(host, sizeof(host) - 1);
        snprintf(instance, sizeof(instance), "%s-%ld", host, (long)getpid());
        cfg->instance_id = instance;
    }
    if (env_int("PUNYAKA_HTTP_PORT", 8080, 1, 65535, &cfg->http_port, err, errcap) ||
        env_int("PUNYAKA_HTTP_THREADS", (int)cores, 1, 64, &cfg->http_threads, err, errcap) ||
        env_int("PUNYAKA_WAIT_DEFAULT_MS", 5000, 0, 10000, &cfg->wait_default_ms, err, errcap) ||
        env_int("PUNYAKA_WAIT_MAX_MS", 10000, 0, 60000, &cfg->wait_max_ms, err, errcap) ||
        env_int("PUNYAKA_PRODUCE_TIMEOUT_MS", 5000, 100, 120000, &cfg->produce_timeout_ms, err, errcap) ||
        env_int("PUNYAKA_PG_CONNS", 4, 1, 64, &cfg->pg_conns_per_thread, err, errcap) ||
        env_int("PUNYAKA_READ_PRIMARY_AFTER_WRITE_MS", 5000, 0, 600000, &cfg->read_primary_after_write_ms, err,
                errcap) ||
        env_int("PUNYAKA_REPLICA_MAX_LAG_MS", 1000, 0, 3600000, &cfg->replica_max_lag_ms, err, errcap) ||
        env_int("PUNYAKA_KAFKA_FETCH_WAIT_MS", 500, 1, 10000, &cfg->kafka_fetch_wait_ms, err, errcap) ||
        env_int("PUNYAKA_MAX_BODY", 65536, 1024, 1 << 20, &cfg->max_body_bytes, err, errcap) ||
        env_int("PUNYAKA_METRICS_PORT", 0, 0, 65535, &cfg->metrics_port, err, errcap) ||
        env_int("PUNYAKA_API_METRICS_PORT", 0, 0, 65535, &cfg->api_metrics_port, err, errcap) ||
        env_int("PUNYAKA_COOKIE_SECURE", 0, 0, 1, &cfg->cookie_secure, err, errcap) ||
        env_int("PUNYAKA_SESSION_IDLE_S", 1209600, 60, 31536000, &cfg->session_idle_s, err, errcap) ||
        env_int("PUNYAKA_LOGIN_MAX_PER_USER", 10, 1, 1000000, &cfg->login_max_per_user, err, errcap) ||
        env_int("PUNYAKA_LOGIN_MAX_PER_IP", 100, 1, 1000000, &cfg->login_max_per_ip, err, errcap) ||
        env_int("PUNYAKA_LOGIN_WINDOW_S", 900, 1, 86400, &cfg->login_window_s, err, errcap) ||
        env_int("PUNYAKA_PASSWORD_CHANGE_MAX", 10, 1, 1000000, &cfg->password_change_max, err, errcap) ||
        env_int("PUNYAKA_REGISTER_MAX_PER_IP", 20, 1, 1000000, &cfg->register_max_per_ip, err, errcap) ||
        env_int("PUNYAKA_REGISTER_WINDOW_S", 3600, 1, 86400, &cfg->register_window_s, err, errcap) ||
        env_int("PUNYAKA_HASH_THREADS", 2, 1, 64, &cfg->hash_threads, err, errcap) ||
        env_int("PUNYAKA_HASH_QUEUE_MAX", 32, 1, 100000, &cfg->hash_queue_max, err, errcap) ||
        env_int("PUNYAKA_HASH_QUEUE_PER_CLIENT", 4, 1, 100000, &cfg->hash_queue_per_client, err, errcap) ||
        env_int("PUNYAKA_H2_RESET_MAX", 200, 1, 1000000, &cfg->h2_reset_max, err, errcap) ||
        env_int("PUNYAKA_H2_RESET_WINDOW_S", 10, 1, 3600, &cfg->h2_reset_window_s, err, errcap))
        return -1;
    return 0;
}

const char *pk_topic(const pk_config *cfg, const char *name, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s%s", cfg->topic_prefix, name);
    return buf;
}

/* Percent-decodes src[0..len) into out (NUL-terminated); -1 when it does not fit or is malformed. */
static int url_decode(const char *src, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)src[i];
        if (c == '%') {
            if (i + 2 >= len)
                return -1;
            int hi = pk_hex_value(src[i + 1]), lo = pk_hex_value(src[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = hi << 4 | lo;
            i += 2;
        }
        if (o + 1 >= cap || c == 0)
            return -1;
        out[o++] = (char)c;
    }
    out[o] = 0;
    return 0;
}

int pk_redis_addr_parse(const char *url, pk_redis_addr *out)
{
    memset(out, 0, sizeof(*out));
    const char *p = strncmp(url, "redis://", 8) == 0 ? url + 8 : url;
    const char *slash = strchr(p, '/');
    size_t span = slash ? (size_t)(slash - p) : strlen(p);
    const char *at = NULL;
    for (const char *q = p; q < p + span; q++)   /* the last '@': a password may hold one */
        if (*q == '@')
            at = q;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        size_t ulen = colon ? (size_t)(colon - p) : (size_t)(at - p);
        /* "user@host" names a password, as redis-cli -u reads it */
        const char *pw = colon ? colon + 1 : p;
        size_t pwlen = colon ? (size_t)(at - colon - 1) : ulen;
        if ((colon && url_decode(p, ulen, out->user, sizeof(out->user)) != 0) ||
            url_decode(pw, pwlen, out->password, sizeof(out->password)) != 0)
            return -1;
        span -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    const char *colon = memchr(p, ':', span);
    size_t hlen = colon ? (size_t)(colon - p) : span;
    if (hlen == 0 || hlen >= sizeof(out->host))
        return -1;
    memcpy(out->host, p, hlen);
    out->host[hlen] = 0;
    out->port = colon ? atoi(colon + 1) : 6379;
    return out->port > 0 && out->port < 65536 ? 0 : -1;
}

int pk_parse_redis_url(const char *url, char *host, size_t hostcap, int *port)
{
    pk_redis_addr a;
    if (pk_redis_addr_parse(url, &a) != 0 || strlen(a.host) >= hostcap)
        return -1;
    memcpy(host, a.host, strlen(a.host) + 1);
    *port = a.port;
    sodium_memzero(&a, sizeof(a));
    return 0;
}
