#!/usr/bin/env bash
# test_compose.sh — docker-compose.yml is valid for docker-compose 1.29
# (`config -q`, no engine needed) in every profile, has every service,
# creates the audit journal topic with infinite retention, and lets no
# service in anonymously (issue 13): Kafka SASL (SCRAM-SHA-512) with ACLs and
# no PLAINTEXT listener, Redis ACL users and no default user, the services'
# PostgreSQL roles not the owner. Issue 15: every secret is a docker secret
# given to our binaries as a NAME_FILE they really read (the names are
# checked against common/config.c, and punyaka-admin is run on the files
# deploy/make-secrets.sh makes); a one-shot admin service after migrate that
# nothing depends on; worker healthchecks and health-gated start order; the
# production profile's TLS front, whose very h2o.conf serves HTTPS here with
# the self-signed certificate docs/operations.md tells how to make. Issue 18:
# the cluster profile (deploy/cluster.env) — three KRaft voters, replication
# 3 with min.insync.replicas 2, two APIs behind a /readyz-routed balancer
# reading from a streaming replica, three workers.
# Env: PUNYAKA_SOURCE_DIR, PUNYAKA_BUILD_DIR (set by ctest).
set -euo pipefail

: "${PUNYAKA_SOURCE_DIR:?PUNYAKA_SOURCE_DIR must point at the source tree}"
FILE="$PUNYAKA_SOURCE_DIR/docker-compose.yml"
[[ -f "$FILE" ]] || { echo "FAIL: $FILE not found" >&2; exit 1; }
if ! command -v docker-compose >/dev/null; then
    echo "FAIL: docker-compose is not installed; install it with" >&2
    echo "      apt-get install -y --no-install-recommends docker-compose   (scripts do this)" >&2
    exit 1
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/punyaka-compose-test.XXXXXX")
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
: >"$TMP/empty.env"   # a .env beside the compose file must not change the outcome
DC=(docker-compose --env-file "$TMP/empty.env" --project-directory "$PUNYAKA_SOURCE_DIR" -f "$FILE")

# Run compose from an empty dir so no stray .env is picked up; the caller's
# settings must not leak in. No secret is passed: none is an environment variable.
compose() {
    (cd "$TMP" && env -u PUNYAKA_TOPIC_PREFIX -u COMPOSE_FILE -u COMPOSE_PROJECT_NAME -u COMPOSE_PROFILES \
        -u PUNYAKA_SECRETS_DIR -u PUNYAKA_COOKIE_SECURE -u PUNYAKA_TLS_DIR "${DC[@]}" "$@")
}

# 1. Valid, in every profile: `config` resolves and validates the file (it
# fails on an invalid one). Each compose run costs ~2 s of start-up: the
# three this test needs (two profiles; step 4's variables) run at once.
mkdir -p "$TMP/secrets"
compose --profile default config >"$TMP/default.yml" 2>"$TMP/default.err" & cfg_default=$!
compose --profile production config >"$TMP/production.yml" 2>"$TMP/production.err" & cfg_production=$!
compose --profile cluster config >"$TMP/cluster.yml" 2>"$TMP/cluster.err" & cfg_cluster=$!
# deploy/cluster.env turns the profile on (COMPOSE_PROFILES) and sets the topology.
(cd "$TMP" && env -u COMPOSE_PROFILES -u PUNYAKA_TOPIC_PREFIX -u PUNYAKA_SECRETS_DIR docker-compose \
    --env-file "$PUNYAKA_SOURCE_DIR/deploy/cluster.env" --project-directory "$PUNYAKA_SOURCE_DIR" -f "$FILE" config) \
    >"$TMP/clusterenv.yml" 2>"$TMP/clusterenv.err" & cfg_clusterenv=$!
(cd "$TMP" && env PUNYAKA_TOPIC_PREFIX=staging.punyaka. PUNYAKA_SECRETS_DIR="$TMP/secrets" "${DC[@]}" config) \
    >"$TMP/vars.yml" 2>"$TMP/vars.err" & cfg_vars=$!
for profile in default production vars cluster clusterenv; do
    pid_var=cfg_$profile
    rc=0
    wait "${!pid_var}" || rc=$?
    (( rc == 0 )) || { cat "$TMP/$profile.err" >&2; fail "docker-compose config ($profile) exited $rc"; }
done
cp "$TMP/default.yml" "$TMP/config.yml"
cp "$TMP/production.yml" "$TMP/prod.yml"
echo "ok config (default, production and cluster profiles)"

# 2. Services.
python3 -c 'import sys, yaml; print("\n".join(yaml.safe_load(open(sys.argv[1]))["services"]))' "$TMP/config.yml" >"$TMP/services"
for s in postgres redis kafka kafka-init migrate admin api worker-1 worker-2 notifier mailer tls; do
    grep -qxF "$s" "$TMP/services" || fail "service $s missing (have: $(tr '\n' ' ' <"$TMP/services"))"
done
echo "ok services: $(tr '\n' ' ' <"$TMP/services")"

# 3. Topics: every topic created with its partition count; events never expire.
# The YAML dumper folds and escapes long command lines, so match on a
# whitespace-flattened copy of what it parses to: each service's image,
# environment (KEY: value) and command.
flatten() {
    python3 -c '
import sys, yaml
for name, s in yaml.safe_load(sys.stdin)["services"].items():
    print("image: %s" % s.get("image", ""))
    e = s.get("environment") or {}
    for k, v in (e.items() if isinstance(e, dict) else (x.split("=", 1) for x in e)):
        print("%s: %s" % (k, v))
    c = s.get("command") or []
    print(" ".join(c) if isinstance(c, list) else c)
' | sed 's/\$\$/$/g' | tr -s ' \n' '  '   # `config` prints $$ (compose escaping) for a literal $
}
flatten <"$TMP/config.yml" >"$TMP/flat"
for spec in bookings:6 orders:6 accounts:3 catalog:3 events:1 dlq:1; do
    name=${spec%%:*} parts=${spec##*:}
    grep -Eq -- "--topic punyaka\.$name --partitions $parts " "$TMP/flat" \
        || fail "kafka-init does not create punyaka.$name with $parts partitions"
done
grep -Eq -- "--topic punyaka\.events --partitions 1 --config retention\.ms=-1 " "$TMP/flat" \
    || fail "punyaka.events is not created with retention.ms=-1"
grep -q -- "--create --if-not-exists" "$TMP/flat" || fail "topic creation is not kafka-topics.sh --create --if-not-exists"
grep -q -- 'kafka-topics.sh $B --create' "$TMP/flat" || fail "kafka-init does not use kafka-topics.sh"
grep -q -- 'B="--bootstrap-server kafka:9095 --command-config /tmp/admin.properties"' "$TMP/flat" \
    || fail "kafka-init does not talk to the INTERNAL listener as admin"
grep -Eq "KAFKA_AUTO_CREATE_TOPICS_ENABLE: .?false" "$TMP/flat" || fail "broker auto-create not disabled"
grep -q "image: apache/kafka:3.7.0" "$TMP/flat" || fail "kafka is not apache/kafka:3.7.0"
echo "ok topics, punyaka.events retention.ms=-1"

# 4. The prefix and the secrets folder are honoured.
flatten <"$TMP/vars.yml" | grep -Eq -- "--topic staging\.punyaka\.events --partitions 1 --config retention\.ms=-1 " \
    || fail "PUNYAKA_TOPIC_PREFIX not applied"
grep -q "file: $TMP/secrets/session_key" "$TMP/vars.yml" || fail "PUNYAKA_SECRETS_DIR is not honoured"
echo "ok PUNYAKA_TOPIC_PREFIX, PUNYAKA_SECRETS_DIR"

# 6. Nobody connects anonymously (issue 13), checked on the resolved file.
python3 - "$TMP/config.yml" <<'PY' || fail "trust boundaries of docker-compose.yml (above)"
import re, sys, yaml
svc = yaml.safe_load(open(sys.argv[1]))["services"]
bad = []
def env(name):
    e = svc[name].get("environment") or {}
    return e if isinstance(e, dict) else dict(x.split("=", 1) for x in e)
def need(cond, what):
    if not cond:
        bad.append(what)
k = env("kafka")
proto = dict(x.split(":") for x in k["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
need(all(p in ("SASL_PLAINTEXT", "SASL_SSL") for p in proto.values()), "a Kafka listener without SASL: %s" % proto)
need("PLAINTEXT://" not in k["KAFKA_ADVERTISED_LISTENERS"], "a PLAINTEXT listener is advertised")
need(k.get("KAFKA_LISTENER_NAME_APP_SASL_ENABLED_MECHANISMS") == "SCRAM-SHA-512", "APP listener is not SCRAM-SHA-512 only")
need(k.get("KAFKA_LISTENER_NAME_HOST_SASL_ENABLED_MECHANISMS") == "SCRAM-SHA-512", "HOST listener is not SCRAM-SHA-512 only")
need(k.get("KAFKA_AUTHORIZER_CLASS_NAME", "").endswith("StandardAuthorizer"), "no Kafka authorizer")
need(str(k.get("KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND")).lower() == "false", "Kafka allows everyone without ACLs")
need(k.get("KAFKA_SUPER_USERS") == "User:admin", "super users: %s" % k.get("KAFKA_SUPER_USERS"))
ports = [(str(p["target"]) if isinstance(p, dict) else str(p).split(":")[-1]).split("/")[0] for p in svc["kafka"].get("ports", [])]
need(ports == ["9094"], "kafka publishes ports other than HOST 9094: %s" % ports)
init = " ".join(svc["kafka-init"]["command"]) if isinstance(svc["kafka-init"]["command"], list) else svc["kafka-init"]["command"]
flat = " ".join(init.replace("$$", "$").split())   # `config` prints $$ for a literal $
need("SCRAM-SHA-512=[" in flat, "kafka-init creates no SCRAM credentials")
for rule in ['--allow-principal "User:$who" --operation Write --operation Describe $CMDS',
             "--allow-principal User:punyaka-worker --operation Read --operation Describe $CMDS",
             '--allow-principal User:punyaka-worker --operation Write --operation Describe --topic "${P}events" --topic "${P}dlq"',
             '--allow-principal User:punyaka-replay --operation Read --operation Describe --resource-pattern-type prefixed --topic "$P"']:
    need(rule in flat, "kafka-init lacks the ACL: " + rule)
need("for who in punyaka-api punyaka-operator;" in flat, "API/operator ACLs not given to punyaka-api")
need(not re.search(r"User:punyaka-(api|replay|operator)[^;]*--operation (All|Alter|Create|Delete)", flat), "a principal may alter topics")
need(not re.search(r"User:punyaka-(api|replay|operator)[^;]*events", flat), "somebody but the workers may write events")
r = " ".join(svc["redis"]["command"])
need("user default off" in r, "Redis default user not disabled")
need("--aclfile" in r, "Redis has no ACL file")
pg_owner = env("migrate")["PGPASSWORD_FILE"]
for name, user, redis_user, kafka_user in [("api", "punyaka_api", "api", "punyaka-api"),
                                           ("worker-1", "punyaka_worker", "worker", "punyaka-worker"),
                                           ("worker-2", "punyaka_worker", "worker", "punyaka-worker")]:
    e = env(name)
    need(e.get("KAFKA_SECURITY_PROTOCOL") in ("SASL_PLAINTEXT", "SASL_SSL"), name + ": KAFKA_SECURITY_PROTOCOL")
    need(e.get("KAFKA_SASL_MECHANISM") == "SCRAM-SHA-512", name + ": KAFKA_SASL_MECHANISM")
    need(e.get("KAFKA_SASL_USERNAME") == kafka_user and e.get("KAFKA_SASL_PASSWORD_FILE"), name + ": Kafka principal")
    need(("user=%s" % user) in e.get("DATABASE_URL", ""), name + ": DATABASE_URL is not role " + user)
    need(e.get("PGPASSWORD_FILE") and e["PGPASSWORD_FILE"] != pg_owner, name + ": holds the owner's password")
    need(e.get("REDIS_URL_FILE") == "/run/secrets/redis_%s_url" % redis_user, name + ": REDIS_URL_FILE is not user " + redis_user)
    need("postgres_password" not in (svc[name].get("secrets") and [x if isinstance(x, str) else x["source"] for x in svc[name]["secrets"]]), name + ": sees the owner's password")
need(env("api").get("PUNYAKA_SESSION_KEY_FILE") == "/run/secrets/session_key", "api: no PUNYAKA_SESSION_KEY_FILE")
need("--reader punyaka_api --writer punyaka_worker" in " ".join(svc["migrate"]["command"]), "migrate does not set up the roles")
# The mailer (docs/mail.md): the workers' DML role, its SMTP URL (with the
# password) only as the smtp_url secret file, nothing of Kafka or Redis.
m = env("mailer")
need("user=punyaka_worker" in m.get("DATABASE_URL", "") and m.get("PGPASSWORD_FILE") == "/run/secrets/db_writer_password",
     "mailer: not the workers' PostgreSQL role")
need(m.get("SMTP_URL_FILE") == "/run/secrets/smtp_url" and "SMTP_URL" not in m, "mailer: SMTP_URL not from the smtp_url secret")
need(not any(k.startswith(("KAFKA_", "REDIS_")) for k in m), "mailer: given Kafka or Redis settings it never uses")
for b in bad:
    print("FAIL:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
echo "ok SASL/SCRAM + ACLs, no PLAINTEXT listener, Redis ACL users, services not the PostgreSQL owner"

# 7. Secrets are docker secrets, read by the binaries as NAME_FILE (issue 15).
SRC=$PUNYAKA_SOURCE_DIR
# The names common/config.c resolves from *_FILE (PK_SECRET_NAMES).
sed -n '/PK_SECRET_NAMES\[\] = {/,/};/p' "$SRC/common/config.c" | grep -o '"[A-Z_]*"' | tr -d '"' >"$TMP/names"
(( $(wc -l <"$TMP/names") >= 10 )) || fail "could not read PK_SECRET_NAMES from common/config.c"
python3 - "$TMP/config.yml" "$TMP/names" "$SRC" <<'PY' || fail "secrets of docker-compose.yml (above)"
import os, re, sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
svc, top = doc["services"], doc.get("secrets") or {}
binary_names = set(open(sys.argv[2]).read().split())
src = sys.argv[3]
bad = []
def need(cond, what):
    if not cond:
        bad.append(what)
def env(name):
    e = svc[name].get("environment") or {}
    return e if isinstance(e, dict) else dict(x.split("=", 1) for x in e)
def secrets_of(name):
    return {x if isinstance(x, str) else x["source"] for x in svc[name].get("secrets") or []}
for name, spec in top.items():
    need(spec.get("file") == os.path.join(src, "deploy/secrets", name), "secret %s is not deploy/secrets/%s: %s" % (name, name, spec))
ours = ["migrate", "admin", "api", "worker-1", "worker-2"]
for name, s in svc.items():
    e, mounted = env(name), secrets_of(name)
    need(mounted <= set(top), name + ": mounts undeclared secrets %s" % (mounted - set(top)))
    text = yaml.safe_dump({k: s.get(k) for k in ("environment", "command", "entrypoint", "healthcheck")})
    used = set(re.findall(r"/run/secrets/([a-z_]+)", text))
    need(used <= mounted, name + ": reads %s without mounting them" % sorted(used - mounted))
    need(mounted <= used, name + ": mounts %s it never reads" % sorted(mounted - used))
    for k, v in e.items():
        if k.endswith("_FILE") and str(v).startswith("/run/secrets/"):
            if name in ours:
                need(k[:-5] in binary_names, name + ": %s is not read by the binaries (common/config.c PK_SECRET_NAMES)" % k)
            need(k[:-5] not in e, name + ": sets both %s and %s" % (k[:-5], k))
    if name in ours:
        for n in binary_names:
            need(not e.get(n) or n in ("DATABASE_URL", "DATABASE_READ_URL"),
                 name + ": secret %s is an environment variable, not a file" % n)
        keys = [("PUNYAKA_COMMAND_KEY_FILE", "command_key"), ("PUNYAKA_COMMAND_KEY_PREVIOUS_FILE", "command_key_previous"),
                ("PUNYAKA_CREDENTIAL_KEY_FILE", "credential_key")]
        need(name == "migrate" or all(e.get(k) == "/run/secrets/" + f for k, f in keys),
             name + ": not given the command and credential keys as files")
        need(("data_key" in mounted) == (name == "api"), name + ": the KYC data key is the API's alone")
        for n in ("DATABASE_URL", "DATABASE_READ_URL"):   # the password comes from PGPASSWORD_FILE
            need("password=" not in e.get(n, "") and "@" not in e.get(n, ""), name + ": %s carries a password" % n)
need(env("postgres").get("POSTGRES_PASSWORD_FILE") == "/run/secrets/postgres_password" and "POSTGRES_PASSWORD" not in env("postgres"),
     "postgres: password not from POSTGRES_PASSWORD_FILE")
for name in ("api",):
    for k in ("PUNYAKA_SESSION_KEY_FILE", "PUNYAKA_IDEMPOTENCY_KEY_FILE", "PGPASSWORD_FILE", "REDIS_URL_FILE", "KAFKA_SASL_PASSWORD_FILE"):
        need(k in env(name), "api: no " + k)
need(env("migrate").get("PGPASSWORD_FILE") == "/run/secrets/postgres_password", "migrate: not the owner")
for k in ("PUNYAKA_DB_READER_PASSWORD_FILE", "PUNYAKA_DB_WRITER_PASSWORD_FILE"):
    need(k in env("migrate"), "migrate: no " + k)
raw = open(os.path.join(src, "docker-compose.yml")).read()
need(not re.search(r"\$\{[A-Z_]*(PASSWORD|_KEY)[A-Z_]*[:}]", raw), "a secret is still interpolated from the environment")
for b in bad:
    print("FAIL:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
grep -qx '/deploy/secrets/' "$SRC/.gitignore" || fail ".gitignore does not keep deploy/secrets/ out of git"
grep -qx 'deploy/secrets' "$SRC/.dockerignore" || fail ".dockerignore does not keep deploy/secrets out of the image"
echo "ok every secret a docker secret, given as a NAME_FILE the binaries read ($(wc -l <"$TMP/names") names)"

# 8. deploy/make-secrets.sh makes every declared secret, private, and keeps what exists.
SECRETS="$TMP/secrets"
"$SRC/deploy/make-secrets.sh" "$SECRETS" >/dev/null
python3 -c 'import sys, yaml; print("\n".join(yaml.safe_load(open(sys.argv[1]))["secrets"]))' "$TMP/config.yml" >"$TMP/declared"
while read -r name; do
    [[ -f "$SECRETS/$name" ]] || fail "make-secrets.sh did not make $name"
done <"$TMP/declared"
[[ $(stat -c %a "$SECRETS") == 700 ]] || fail "secrets dir is $(stat -c %a "$SECRETS"), not 700"
[[ $(stat -c %a "$SECRETS/session_key") == 644 ]] || fail "secret files must be 0644 (compose bind-mounts them as they are)"
grep -Eqx '[0-9a-f]{64}' "$SECRETS/command_key" || fail "command_key is not 64 hex"
[[ ! -s "$SECRETS/command_key_previous" || $(cat "$SECRETS/command_key_previous") == "" ]] || fail "command_key_previous is not empty"
[[ $(cat "$SECRETS/redis_api_url") == "redis://api:$(cat "$SECRETS/redis_api_password")@redis:6379" ]] \
    || fail "redis_api_url does not carry redis_api_password"
cp -p "$SECRETS/session_key" "$TMP/session_key.before"
"$SRC/deploy/make-secrets.sh" "$SECRETS" >"$TMP/rerun.out"
cmp -s "$SECRETS/session_key" "$TMP/session_key.before" || fail "a re-run of make-secrets.sh changed a key"
[[ ! -s "$TMP/rerun.out" ]] || fail "a re-run made files again: $(cat "$TMP/rerun.out")"
echo "ok deploy/make-secrets.sh ($(wc -l <"$TMP/declared") secrets, dir 0700, idempotent)"

# 9. The binary reads the files compose gives it: punyaka-admin with the admin
# service's environment, /run/secrets/ mapped to the files just made, gets
# past every secret and stops at the database (nothing listens on port 1);
# with the password also in the environment it refuses to start.
: "${PUNYAKA_BUILD_DIR:?PUNYAKA_BUILD_DIR must point at the build tree}"
python3 - "$TMP/config.yml" "$SECRETS" >"$TMP/admin.env" <<'PY'
import sys, yaml
s = yaml.safe_load(open(sys.argv[1]))["services"]["admin"]
for k, v in s["environment"].items():
    v = str(v).replace("/run/secrets", sys.argv[2])
    if k == "DATABASE_URL":
        v = "host=127.0.0.1 port=1 dbname=punyaka user=punyaka_api connect_timeout=2"
    print("%s=%s" % (k, v))
print("ARGS=" + " ".join(s["command"][1:]))
PY
mapfile -t ADMIN_ENV < <(grep -v '^ARGS=' "$TMP/admin.env")
read -r -a ADMIN_ARGS <<<"$(sed -n 's/^ARGS=//p' "$TMP/admin.env")"
[[ "${ADMIN_ARGS[*]}" == "create-admin admin admin@punyaka.example" ]] || fail "admin service runs: ${ADMIN_ARGS[*]}"
rc=0
env -i PATH="$PATH" "${ADMIN_ENV[@]}" timeout 20 "$PUNYAKA_BUILD_DIR/workers/punyaka-admin" "${ADMIN_ARGS[@]}" \
    >"$TMP/admin.out" 2>&1 </dev/null || rc=$?
(( rc == 1 )) && grep -q "cannot connect to DATABASE_URL" "$TMP/admin.out" \
    || { cat "$TMP/admin.out" >&2; fail "punyaka-admin did not accept the secret files (exit $rc)"; }
rc=0
env -i PATH="$PATH" "${ADMIN_ENV[@]}" PUNYAKA_ADMIN_PASSWORD=also-in-env-123 timeout 20 \
    "$PUNYAKA_BUILD_DIR/workers/punyaka-admin" "${ADMIN_ARGS[@]}" >"$TMP/admin2.out" 2>&1 </dev/null || rc=$?
(( rc == 1 )) && grep -q "both PUNYAKA_ADMIN_PASSWORD and PUNYAKA_ADMIN_PASSWORD_FILE are set" "$TMP/admin2.out" \
    || { cat "$TMP/admin2.out" >&2; fail "punyaka-admin did not refuse a secret given twice (exit $rc)"; }
echo "ok punyaka-admin reads the compose secret files; refuses NAME and NAME_FILE together"

# 10. Start order: the admin is a one-shot after migrate, needing a healthy
# worker, and nothing depends on it; workers and the API have healthchecks.
python3 - "$TMP/config.yml" "$TMP/prod.yml" <<'PY' || fail "start order / healthchecks (above)"
import sys, yaml
svc = yaml.safe_load(open(sys.argv[1]))["services"]
prod = yaml.safe_load(open(sys.argv[2]))["services"]
bad = []
def need(cond, what):
    if not cond:
        bad.append(what)
def deps(name):
    d = svc[name].get("depends_on") or {}
    return d if isinstance(d, dict) else {k: {"condition": "service_started"} for k in d}
def env(name):
    e = svc[name].get("environment") or {}
    return e if isinstance(e, dict) else dict(x.split("=", 1) for x in e)
a = deps("admin")
need(a.get("migrate", {}).get("condition") == "service_completed_successfully", "admin does not wait for migrate")
need(a.get("kafka-init", {}).get("condition") == "service_completed_successfully", "admin does not wait for kafka-init")
need(a.get("worker-1", {}).get("condition") == "service_healthy", "admin does not wait for a healthy worker")
need(str(svc["admin"].get("restart", "")).startswith("on-failure"), "admin is not a one-shot retried on failure")
need(svc["admin"]["command"][:2] == ["punyaka-admin", "create-admin"], "admin does not run punyaka-admin create-admin")
need(env("admin").get("PUNYAKA_ADMIN_PASSWORD_FILE") == "/run/secrets/admin_password", "admin password not from the secret")
need(env("admin").get("KAFKA_SASL_USERNAME") == "punyaka-operator", "admin is not the punyaka-operator principal")
for name in svc:
    need("admin" not in deps(name), name + " depends on the admin one-shot")
for name in ("api", "worker-1", "worker-2"):
    d = deps(name)
    need(d.get("migrate", {}).get("condition") == "service_completed_successfully", name + " does not wait for migrate")
    need(d.get("kafka-init", {}).get("condition") == "service_completed_successfully", name + " does not wait for kafka-init")
    for x in ("postgres", "redis"):
        need(d.get(x, {}).get("condition") == "service_healthy", name + " does not wait for a healthy " + x)
for name in ("postgres", "redis", "kafka", "api", "worker-1", "worker-2"):
    need(bool((svc[name].get("healthcheck") or {}).get("test")), name + " has no healthcheck")
for name in ("worker-1", "worker-2"):
    t = " ".join(svc[name]["healthcheck"]["test"])
    e = env(name)
    need(e.get("PUNYAKA_READY_FILE") and e["PUNYAKA_READY_FILE"] in t, name + ": healthcheck does not read PUNYAKA_READY_FILE")
    need("/dev/tcp/127.0.0.1/%s" % e.get("PUNYAKA_METRICS_PORT") in t and "GET /metrics" in t, name + ": healthcheck does not ask /metrics")
# Production profile: the TLS front, secure cookies.
need((svc.get("tls") or {}).get("profiles") == ["production"], "the TLS front is not limited to the production profile")
t = prod.get("tls") or {}
need(t.get("profiles") == ["production"], "no tls service in the production profile")
need(prod["api"]["environment"].get("PUNYAKA_COOKIE_SECURE") == "1", "api cookies are not Secure in production")
need(any(str(v).endswith(":/etc/punyaka/tls:ro") or (isinstance(v, dict) and v.get("target") == "/etc/punyaka/tls" and v.get("read_only"))
         for v in t.get("volumes", [])), "tls does not mount the certificate volume read-only at /etc/punyaka/tls")
need((t.get("depends_on") or {}).get("api", {}).get("condition") == "service_healthy", "tls does not wait for a healthy api")
need([str(p.get("target")) if isinstance(p, dict) else str(p).split(":")[-1] for p in t.get("ports", [])] == ["443"], "tls does not publish 443")
for b in bad:
    print("FAIL:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
echo "ok admin one-shot after migrate (nothing depends on it), worker/API healthchecks, production profile"

# 11. The TLS front's own h2o.conf serves HTTPS and proxies to the API: the
# documented self-signed certificate, Debian's h2o (as in deploy/tls/Dockerfile),
# only the ports, certificate directory and upstream host replaced.
command -v h2o >/dev/null || fail "h2o is not installed (scripts/lib/deps.sh installs it)"
CONF="$SRC/deploy/tls/h2o.conf"
grep -q 'COPY h2o.conf' "$SRC/deploy/tls/Dockerfile" || fail "deploy/tls/Dockerfile does not ship h2o.conf"
mkdir -p "$TMP/certs" "$TMP/www"
# The command of docs/operations.md "TLS front", into $TMP/certs.
certcmd=$(grep -o 'openssl req -x509 [^`]*' "$SRC/docs/operations.md" | head -n1)
[[ -n "$certcmd" ]] || fail "docs/operations.md has no self-signed certificate command"
(cd "$TMP" && eval "${certcmd//deploy\/tls\/certs/certs}") >/dev/null 2>&1 || fail "the documented command failed: $certcmd"
[[ -s "$TMP/certs/fullchain.pem" && -s "$TMP/certs/privkey.pem" ]] || fail "the documented command made no fullchain.pem/privkey.pem"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
up_port=$(free_port); tls_port=$(free_port)
printf 'ready\n' >"$TMP/www/readyz"
sed -e "/-file:/s|/etc/punyaka/tls|$TMP/certs|" -e "s|port: 443|port: $tls_port|" -e "s|http://api:8080/|http://127.0.0.1:$up_port/|" \
    -e '/^user:/d' "$CONF" >"$TMP/h2o.conf"
(( $(diff "$CONF" "$TMP/h2o.conf" | grep -c '^>') == 4 )) || fail "h2o.conf changed in unexpected places"
h2o -t -c "$TMP/h2o.conf" >"$TMP/h2o-t.out" 2>&1 || { cat "$TMP/h2o-t.out" >&2; fail "h2o -t rejects deploy/tls/h2o.conf"; }
(cd "$TMP/www" && exec python3 -m http.server "$up_port" --bind 127.0.0.1) >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do   # the upstream first: a 502 from h2o would prove nothing
    curl -sf --max-time 1 -o /dev/null "http://127.0.0.1:$up_port/readyz" && break
    sleep 0.1
done
h2o -c "$TMP/h2o.conf" >"$TMP/h2o.log" 2>&1 &
PIDS+=($!)
ok=0
for _ in $(seq 1 50); do
    if curl -sS --max-time 2 -D "$TMP/headers" -o "$TMP/body" --cacert "$TMP/certs/fullchain.pem" \
        "https://localhost:$tls_port/readyz" 2>/dev/null; then ok=1; break; fi
    sleep 0.1
done
(( ok )) || { cat "$TMP/h2o.log" >&2; fail "no HTTPS answer from h2o with deploy/tls/h2o.conf"; }
head -n1 "$TMP/headers" | grep -q ' 200' || fail "HTTPS answered $(head -n1 "$TMP/headers")"
[[ $(cat "$TMP/body") == ready ]] || fail "the TLS front did not proxy to the upstream"
grep -qi '^strict-transport-security: max-age=31536000' "$TMP/headers" || fail "no HSTS header"
v=$(curl -sS --max-time 2 -o /dev/null -w '%{http_version}' --http2 --cacert "$TMP/certs/fullchain.pem" "https://localhost:$tls_port/readyz")
[[ $v == 2 ]] || fail "the TLS front does not speak HTTP/2 (got $v)"
# (Not tested: refusing TLS 1.1. Debian's OpenSSL refuses it at either end
# anyway, so such a check would pass whatever h2o.conf says.)
echo "ok TLS front: HTTPS (HTTP/2, HSTS) with the documented self-signed certificate, proxied"

# 12. The cluster profile, as deploy/cluster.env sets it up (issue 18); the
# default profile keeps its single-node settings.
python3 - "$TMP/clusterenv.yml" "$TMP/config.yml" "$SRC" <<'PY' || fail "cluster profile (above)"
import os, re, sys, yaml
svc = yaml.safe_load(open(sys.argv[1]))["services"]
default = yaml.safe_load(open(sys.argv[2]))["services"]
src = sys.argv[3]
bad = []
def need(cond, what):
    if not cond:
        bad.append(what)
def env(name, s=svc):
    e = s[name].get("environment") or {}
    return e if isinstance(e, dict) else dict(x.split("=", 1) for x in e)
def cmd(name):
    c = svc[name].get("command") or []
    return " ".join((" ".join(c) if isinstance(c, list) else c).replace("$$", "$").split())
brokers = ["kafka", "kafka-2", "kafka-3"]
for b in brokers:
    need(b in svc and svc[b]["image"] == "apache/kafka:3.7.0", b + " missing or not apache/kafka:3.7.0")
need(sorted(str(env(b)["KAFKA_NODE_ID"]) for b in brokers) == ["1", "2", "3"], "node ids are not 1, 2, 3")
for b in brokers:
    e = env(b)
    need(e["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093,2@kafka-2:9093,3@kafka-3:9093", b + ": voters " + e["KAFKA_CONTROLLER_QUORUM_VOTERS"])
    need(e["KAFKA_PROCESS_ROLES"] == "broker,controller", b + ": not a KRaft node")
    for k in ("KAFKA_DEFAULT_REPLICATION_FACTOR", "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"):
        need(str(e[k]) == "3", "%s: %s=%s" % (b, k, e[k]))
    for k in ("KAFKA_MIN_INSYNC_REPLICAS", "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"):
        need(str(e[k]) == "2", "%s: %s=%s" % (b, k, e[k]))
    need(str(e["KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE"]).lower() == "false", b + ": unclean leader election")
    need(e["KAFKA_ADVERTISED_LISTENERS"].startswith("APP://%s:9092," % b), b + ": advertises " + e["KAFKA_ADVERTISED_LISTENERS"])
need(len({str(env(b)["CLUSTER_ID"]) for b in brokers}) == 1, "the brokers do not share one CLUSTER_ID")
init = cmd("kafka-init")
need("--bootstrap-server kafka:9095,kafka-2:9095,kafka-3:9095 " in init, "kafka-init does not bootstrap from the three brokers")
need("--replication-factor 3 --config min.insync.replicas=2 " in init, "topics are not created with 3 replicas, min ISR 2")
need("-ge 3 ]" in init, "kafka-init does not wait for three brokers")
need("--topic punyaka.events --partitions 1 --config retention.ms=-1 --config retention.bytes=-1" in init, "events retention is not unlimited")
apis = [n for n in svc if n == "api" or re.fullmatch(r"api-\d+", n)]
workers = [n for n in svc if re.fullmatch(r"worker-\d+", n)]
need(len(apis) >= 2, "fewer than 2 APIs: %s" % apis)
need(len(workers) >= 3, "fewer than 3 workers: %s" % workers)
need(len({env(n)["PUNYAKA_INSTANCE_ID"] for n in apis + workers}) == len(apis + workers), "instance ids are not distinct")
for n in apis + workers:
    need(env(n)["KAFKA_BROKERS"] == "kafka:9092,kafka-2:9092,kafka-3:9092", n + ": KAFKA_BROKERS " + env(n)["KAFKA_BROKERS"])
for n in apis:
    need(env(n).get("DATABASE_READ_URL", "").startswith("host=postgres-replica "), n + ": DATABASE_READ_URL is not the replica")
    need("password" not in env(n).get("DATABASE_READ_URL", ""), n + ": DATABASE_READ_URL carries a password")
    need(env(n)["DATABASE_URL"].startswith("host=postgres "), n + ": DATABASE_URL is not the primary")
    need("/readyz" in " ".join(svc[n]["healthcheck"]["test"]), n + ": no /readyz healthcheck")
lb = svc.get("lb") or {}
need(lb.get("profiles") == ["cluster"], "no lb in the cluster profile")
ups = (lb.get("environment") or {}).get("PUNYAKA_LB_UPSTREAMS", "").split()
need(sorted(ups) == sorted(n + ":8080" for n in apis), "lb upstreams %s, APIs %s" % (ups, apis))
need(all((lb.get("depends_on") or {}).get(n, {}).get("condition") == "service_healthy" for n in apis), "lb does not wait for healthy APIs")
need(not svc["api-2"].get("ports"), "api-2 publishes a port (clients go through lb)")
health = open(os.path.join(src, "deploy/lb/health.sh")).read()
need("/readyz" in health and " down;" in health and "-s reload" in health, "deploy/lb/health.sh does not route on /readyz")
conf = open(os.path.join(src, "deploy/lb/nginx.conf")).read()
need("include /etc/nginx/punyaka-upstreams.conf;" in conf, "nginx.conf does not read the health-kept upstream list")
need("non_idempotent" not in conf, "nginx would resend a POST that may have reached an API")
need(open(os.path.join(src, "deploy/lb/Dockerfile")).read().count("FROM debian:") == 1, "lb is not built from Debian's image")
r = svc.get("postgres-replica") or {}
need(r.get("image") == "postgres:15", "postgres-replica is not postgres:15")
rc = cmd("postgres-replica")
need("pg_basebackup -h postgres -U replicator" in rc and " -R" in rc, "postgres-replica does not pg_basebackup -R as replicator")
need("REPLICATION PASSWORD" in rc and "pg_create_physical_replication_slot" in rc, "no replication role or slot")
need("pg_is_in_recovery" in " ".join(r["healthcheck"]["test"]), "the replica's healthcheck does not check it is a standby")
need("hba_file=/etc/punyaka/postgres/pg_hba.conf" in " ".join(svc["postgres"]["command"]), "primary does not take deploy/postgres/pg_hba.conf")
hba = open(os.path.join(src, "deploy/postgres/pg_hba.conf")).read()
need(re.search(r"^host\s+replication\s+replicator\s+all\s+scram-sha-256$", hba, re.M), "pg_hba.conf does not let replicator replicate")
k = env("kafka", default)
need(k["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093" and str(k["KAFKA_DEFAULT_REPLICATION_FACTOR"]) == "1"
     and str(k["KAFKA_MIN_INSYNC_REPLICAS"]) == "1", "the default Kafka is no longer a single node")
need(env("api", default)["KAFKA_BROKERS"] == "kafka:9092", "default KAFKA_BROKERS changed")
need(env("api", default)["DATABASE_READ_URL"].startswith("host=postgres "), "the default API reads elsewhere than the primary")
need("hba_file=/var/lib/postgresql/data/pg_hba.conf" in " ".join(default["postgres"]["command"]), "default pg_hba.conf changed")
for b in bad:
    print("FAIL:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
if command -v shellcheck >/dev/null; then shellcheck -s sh "$SRC/deploy/lb/health.sh" || fail "shellcheck deploy/lb/health.sh"; fi
echo "ok cluster profile: 3 KRaft voters (replication 3, min ISR 2), 2 APIs behind a /readyz-routed lb reading from a streaming replica, 3 workers"

# 13. The cluster's load balancer routes on /readyz: Debian's nginx with
# deploy/lb/nginx.conf and health.sh (as in deploy/lb/Dockerfile), only the
# paths and the port replaced, in front of two upstreams that answer who
# they are; an upstream whose /readyz is not 200 gets no request.
command -v nginx >/dev/null || fail "nginx is not installed (scripts/lib/deps.sh installs nginx-light)"
LB="$TMP/lb"
mkdir -p "$LB/a" "$LB/b"
echo a >"$LB/a/who"; echo b >"$LB/b/who"; : >"$LB/a/readyz"   # b is not ready
port_a=$(free_port); port_b=$(free_port); lb_port=$(free_port)
(cd "$LB/a" && exec python3 -m http.server "$port_a" --bind 127.0.0.1) >/dev/null 2>&1 &
PIDS+=($!)
(cd "$LB/b" && exec python3 -m http.server "$port_b" --bind 127.0.0.1) >/dev/null 2>&1 &
PIDS+=($!)
sed -e "s|include /etc/nginx/punyaka-upstreams.conf;|include $LB/upstreams.conf;|" -e "s|^pid .*|pid $LB/nginx.pid;|" \
    -e "s|listen 8080;|listen 127.0.0.1:$lb_port;|" "$SRC/deploy/lb/nginx.conf" >"$LB/nginx.conf"
(( $(diff "$SRC/deploy/lb/nginx.conf" "$LB/nginx.conf" | grep -c '^>') == 3 )) || fail "nginx.conf changed in unexpected places"
for _ in $(seq 1 50); do
    curl -sf --max-time 1 -o /dev/null "http://127.0.0.1:$port_a/who" && curl -sf --max-time 1 -o /dev/null "http://127.0.0.1:$port_b/who" && break
    sleep 0.1
done
PUNYAKA_LB_UPSTREAMS="127.0.0.1:$port_a 127.0.0.1:$port_b" PUNYAKA_LB_INTERVAL_S=1 PUNYAKA_LB_UPSTREAMS_FILE="$LB/upstreams.conf" \
    PUNYAKA_LB_NGINX_CONF="$LB/nginx.conf" sh "$SRC/deploy/lb/health.sh" >"$LB/lb.log" 2>&1 &
PIDS+=($!)
# answers N: who answered N requests through the balancer, sorted and counted ("4 a").
answers() {
    local i
    for i in $(seq 1 "$1"); do curl -s --max-time 2 "http://127.0.0.1:$lb_port/who" || echo "-"; done | sort | uniq -c | awk '{print $1, $2}' | paste -sd' '
}
# until_answers REGEX: polls (≤ 10 s) until 6 requests are answered so.
until_answers() {
    local got=""
    for _ in $(seq 1 50); do
        got=$(answers 6)
        [[ $got =~ $1 ]] && return 0
        sleep 0.2
    done
    cat "$LB/lb.log" >&2
    fail "through the balancer: want '$1', got '$got'"
}
until_answers "^6 a$"                  # b is down: never asked
: >"$LB/b/readyz"                        # b becomes ready: both are asked
until_answers "^[1-5] a [1-5] b$"
rm "$LB/a/readyz"                        # a stops being ready
until_answers "^6 b$"
echo "ok cluster load balancer: nginx (deploy/lb) sends requests only to upstreams whose /readyz answers 200"

echo "PASS test_compose"
