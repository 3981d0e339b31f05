#!/usr/bin/env bash
# test_compose.sh — docker-compose.yml is valid for docker-compose 1.29
# (`config -q`, no engine needed), has every service, refuses to start
# without its secrets, and creates the audit journal topic with infinite
# retention. Env: PUNYAKA_SOURCE_DIR (set by ctest).
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

# Run compose from an empty dir so no stray .env is picked up; dummy secrets
# stand in for the required ones; the caller's prefix must not leak in.
compose() {
    (cd "$TMP" && env -u PUNYAKA_TOPIC_PREFIX -u COMPOSE_FILE -u COMPOSE_PROJECT_NAME \
        POSTGRES_PASSWORD=test-pg PUNYAKA_ADMIN_PASSWORD=test-admin PUNYAKA_DATA_KEY=test-key \
        PUNYAKA_COMMAND_KEY=test-command-key "${DC[@]}" "$@")
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
# The YAML dumper folds long command lines, so match on a whitespace-flattened copy.
compose config >"$TMP/config.yml"
tr -s ' \n' '  ' <"$TMP/config.yml" >"$TMP/flat"
for spec in bookings:6 orders:6 accounts:3 catalog:3 events:1 dlq:1; do
    name=${spec%%:*} parts=${spec##*:}
    grep -Eq -- "--topic punyaka\.$name --partitions $parts " "$TMP/flat" \
        || fail "kafka-init does not create punyaka.$name with $parts partitions"
done
grep -Eq -- "--topic punyaka\.events --partitions 1 --config retention\.ms=-1 " "$TMP/flat" \
    || fail "punyaka.events is not created with retention.ms=-1"
grep -q -- "--create --if-not-exists" "$TMP/flat" || fail "topic creation is not kafka-topics.sh --create --if-not-exists"
grep -q -- "kafka-topics.sh --bootstrap-server kafka:9092 --create" "$TMP/flat" || fail "kafka-init does not use kafka-topics.sh"
grep -Eq "KAFKA_AUTO_CREATE_TOPICS_ENABLE: .?false" "$TMP/flat" || fail "broker auto-create not disabled"
grep -q "image: apache/kafka:3.7.0" "$TMP/flat" || fail "kafka is not apache/kafka:3.7.0"
echo "ok topics, punyaka.events retention.ms=-1"

# 4. The prefix is honoured.
(cd "$TMP" && PUNYAKA_TOPIC_PREFIX=staging.punyaka. POSTGRES_PASSWORD=x PUNYAKA_ADMIN_PASSWORD=x \
    PUNYAKA_DATA_KEY=x PUNYAKA_COMMAND_KEY=x "${DC[@]}" config) \
    | tr -s ' \n' '  ' | grep -Eq -- "--topic staging\.punyaka\.events --partitions 1 --config retention\.ms=-1 " \
    || fail "PUNYAKA_TOPIC_PREFIX not applied"
echo "ok PUNYAKA_TOPIC_PREFIX"

# 5. Secrets are mandatory: without them compose refuses the file.
rc=0
(cd "$TMP" && env -u POSTGRES_PASSWORD -u PUNYAKA_ADMIN_PASSWORD -u PUNYAKA_DATA_KEY -u PUNYAKA_COMMAND_KEY \
    "${DC[@]}" config -q) >"$TMP/nosecret.out" 2>&1 || rc=$?
(( rc != 0 )) || fail "config accepted a file with no POSTGRES_PASSWORD/PUNYAKA_ADMIN_PASSWORD/PUNYAKA_DATA_KEY"
grep -q "set POSTGRES_PASSWORD\|set PUNYAKA_" "$TMP/nosecret.out" || { cat "$TMP/nosecret.out" >&2; fail "unclear message for missing secrets"; }
echo "ok missing secrets rejected"

# 5b. The command key alone missing is refused too, and every app service gets it.
rc=0
(cd "$TMP" && env -u PUNYAKA_COMMAND_KEY POSTGRES_PASSWORD=x PUNYAKA_ADMIN_PASSWORD=x PUNYAKA_DATA_KEY=x \
    "${DC[@]}" config -q) >"$TMP/nokey.out" 2>&1 || rc=$?
(( rc != 0 )) && grep -q "set PUNYAKA_COMMAND_KEY" "$TMP/nokey.out" \
    || { cat "$TMP/nokey.out" >&2; fail "config accepted a file with no PUNYAKA_COMMAND_KEY"; }
(( $(grep -c "PUNYAKA_COMMAND_KEY: test-command-key" "$TMP/config.yml") >= 4 )) \
    || fail "PUNYAKA_COMMAND_KEY is not passed to migrate, api and the workers"
echo "ok PUNYAKA_COMMAND_KEY required and passed on"

echo "PASS test_compose"
