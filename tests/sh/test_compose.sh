#!/usr/bin/env bash
# test_compose.sh — docker-compose.yml is valid for docker-compose 1.29
# (`config -q`, no engine needed), has every service, refuses to start
# without its secrets, creates the audit journal topic with infinite
# retention, and lets no service in anonymously (issue 13): Kafka SASL
# (SCRAM-SHA-512) with ACLs and no PLAINTEXT listener, Redis ACL users and no
# default user, the services' PostgreSQL roles not the owner.
# Env: PUNYAKA_SOURCE_DIR (set by ctest).
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
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
: >"$TMP/empty.env"   # a .env beside the compose file must not change the outcome
DC=(docker-compose --env-file "$TMP/empty.env" --project-directory "$PUNYAKA_SOURCE_DIR" -f "$FILE")

# Every secret the file requires, each with a distinct dummy value.
SECRETS=(POSTGRES_PASSWORD PUNYAKA_ADMIN_PASSWORD PUNYAKA_DATA_KEY PUNYAKA_SESSION_KEY
         PUNYAKA_CREDENTIAL_KEY PUNYAKA_IDEMPOTENCY_KEY PUNYAKA_COMMAND_KEY
         PUNYAKA_DB_READER_PASSWORD PUNYAKA_DB_WRITER_PASSWORD
         PUNYAKA_REDIS_API_PASSWORD PUNYAKA_REDIS_WORKER_PASSWORD
         PUNYAKA_KAFKA_ADMIN_PASSWORD PUNYAKA_KAFKA_API_PASSWORD PUNYAKA_KAFKA_WORKER_PASSWORD
         PUNYAKA_KAFKA_REPLAY_PASSWORD PUNYAKA_KAFKA_OPERATOR_PASSWORD)
SECRET_ENV=()
for s in "${SECRETS[@]}"; do SECRET_ENV+=("$s=test-$s"); done
UNSET_SECRETS=()
for s in "${SECRETS[@]}"; do UNSET_SECRETS+=(-u "$s"); done

# Run compose from an empty dir so no stray .env is picked up; dummy secrets
# stand in for the required ones; the caller's prefix must not leak in.
compose() {
    (cd "$TMP" && env -u PUNYAKA_TOPIC_PREFIX -u COMPOSE_FILE -u COMPOSE_PROJECT_NAME \
        "${SECRET_ENV[@]}" "${DC[@]}" "$@")
}

# 1. Valid.
rc=0
compose config -q >"$TMP/q.out" 2>&1 || rc=$?
(( rc == 0 )) || { cat "$TMP/q.out" >&2; fail "docker-compose config -q exited $rc"; }
echo "ok config -q"

# 2. Services.
compose config --services >"$TMP/services"
for s in postgres redis kafka kafka-init migrate api worker-1 worker-2; do
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
compose config >"$TMP/config.yml"
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

# 4. The prefix is honoured.
(cd "$TMP" && env PUNYAKA_TOPIC_PREFIX=staging.punyaka. "${SECRET_ENV[@]}" "${DC[@]}" config) \
    | flatten | grep -Eq -- "--topic staging\.punyaka\.events --partitions 1 --config retention\.ms=-1 " \
    || fail "PUNYAKA_TOPIC_PREFIX not applied"
echo "ok PUNYAKA_TOPIC_PREFIX"

# 5. Secrets are mandatory: without them compose refuses the file.
rc=0
(cd "$TMP" && env "${UNSET_SECRETS[@]}" "${DC[@]}" config -q) >"$TMP/nosecret.out" 2>&1 || rc=$?
(( rc != 0 )) || fail "config accepted a file with no secrets"
grep -q "set POSTGRES_PASSWORD\|set PUNYAKA_" "$TMP/nosecret.out" || { cat "$TMP/nosecret.out" >&2; fail "unclear message for missing secrets"; }
# …and each one alone is required.
for s in "${SECRETS[@]}"; do
    rc=0
    (cd "$TMP" && env "${SECRET_ENV[@]}" env -u "$s" "${DC[@]}" config -q) >"$TMP/one.out" 2>&1 || rc=$?
    (( rc != 0 )) || fail "config accepted the file without $s"
done
echo "ok missing secrets rejected (each of ${#SECRETS[@]})"

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
pg_owner = env("migrate")["PGPASSWORD"]
for name, user, redis_user, kafka_user in [("api", "punyaka_api", "api", "punyaka-api"),
                                           ("worker-1", "punyaka_worker", "worker", "punyaka-worker"),
                                           ("worker-2", "punyaka_worker", "worker", "punyaka-worker")]:
    e = env(name)
    need(e.get("KAFKA_SECURITY_PROTOCOL") in ("SASL_PLAINTEXT", "SASL_SSL"), name + ": KAFKA_SECURITY_PROTOCOL")
    need(e.get("KAFKA_SASL_MECHANISM") == "SCRAM-SHA-512", name + ": KAFKA_SASL_MECHANISM")
    need(e.get("KAFKA_SASL_USERNAME") == kafka_user and e.get("KAFKA_SASL_PASSWORD"), name + ": Kafka principal")
    need(("user=%s" % user) in e.get("DATABASE_URL", ""), name + ": DATABASE_URL is not role " + user)
    need(e.get("PGPASSWORD") and e["PGPASSWORD"] != pg_owner, name + ": holds the owner's password")
    need(e.get("REDIS_URL", "").startswith("redis://%s:" % redis_user), name + ": REDIS_URL has no ACL user")
    need("POSTGRES_PASSWORD" not in e.values() and pg_owner not in e.values(), name + ": sees the owner's password")
need(bool(env("api").get("PUNYAKA_SESSION_KEY")), "api: no PUNYAKA_SESSION_KEY")
need("--reader punyaka_api --writer punyaka_worker" in " ".join(svc["migrate"]["command"]), "migrate does not set up the roles")
for b in bad:
    print("FAIL:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
echo "ok SASL/SCRAM + ACLs, no PLAINTEXT listener, Redis ACL users, services not the PostgreSQL owner"

# 5b. Every app service gets the command key (its absence is refused in 5).
(( $(grep -c "PUNYAKA_COMMAND_KEY: test-PUNYAKA_COMMAND_KEY" "$TMP/config.yml") >= 3 )) \
    || fail "PUNYAKA_COMMAND_KEY is not passed to the api and the workers"
echo "ok PUNYAKA_COMMAND_KEY passed on"

echo "PASS test_compose"
