#!/usr/bin/env bash
# test_devkafka.sh — punyaka-devkafka (librdkafka mock cluster) end to end with kcat:
# start, bootstrap file + stdout line, topics and partition counts, one keyed
# message with headers produced and consumed back, clean SIGTERM exit (status 0,
# within 10 s, nothing left running). Runs once with 1 broker and the default
# prefix, once with 3 brokers and a custom prefix.
# Env: PUNYAKA_BUILD_DIR (set by ctest).
set -euo pipefail

: "${PUNYAKA_BUILD_DIR:?PUNYAKA_BUILD_DIR must point at the build directory}"
BIN="$PUNYAKA_BUILD_DIR/tools/devkafka/punyaka-devkafka"
[[ -x "$BIN" ]] || { echo "FAIL: $BIN not built" >&2; exit 1; }
command -v kcat >/dev/null || { echo "FAIL: kcat not installed (apt-get install kcat)" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/punyaka-devkafka-test.XXXXXX")
PID=""

cleanup() {
    local rc=$?
    if [[ -n "$PID" ]] && kill -0 "$PID" 2>/dev/null; then
        kill -TERM "$PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
    fi
    if (( rc != 0 )) && [[ -d "$TMP" ]]; then
        for f in "$TMP"/*.err; do [[ -f "$f" ]] && { echo "--- $f" >&2; tail -n 30 "$f" >&2; }; done
    fi
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }

# run_case BROKERS PREFIX
run_case() {
    local brokers=$1 prefix=$2 tag="b$1"
    local bootf="$TMP/$tag.bootstrap" out="$TMP/$tag.out" err="$TMP/$tag.err"

    PUNYAKA_DEVKAFKA_BROKERS=$brokers PUNYAKA_TOPIC_PREFIX=$prefix \
        "$BIN" --bootstrap-file "$bootf" >"$out" 2>"$err" &
    PID=$!

    # Bounded wait (≤ 20 s) for the bootstrap file.
    local i
    for i in $(seq 200); do
        [[ -s "$bootf" ]] && break
        kill -0 "$PID" 2>/dev/null || fail "[$tag] devkafka exited during start-up"
        sleep 0.1
    done
    [[ -s "$bootf" ]] || fail "[$tag] no bootstrap file after 20 s"
    local boot
    boot=$(<"$bootf")
    [[ "$boot" =~ ^127\.0\.0\.1:[0-9]+(,127\.0\.0\.1:[0-9]+)*$ ]] || fail "[$tag] bad bootstrap '$boot'"
    local n_boot
    n_boot=$(tr ',' '\n' <<<"$boot" | wc -l)
    (( n_boot == brokers )) || fail "[$tag] expected $brokers brokers in '$boot', got $n_boot"
    # The stdout line follows the file write; give it a moment.
    for i in $(seq 20); do grep -q bootstraps "$out" && break; sleep 0.1; done
    grep -qxF "{\"bootstraps\":\"$boot\"}" "$out" || fail "[$tag] stdout line missing: $(cat "$out")"

    # Topics and partition counts (DESIGN §3).
    local meta
    meta=$(kcat -b "$boot" -L -m 10) || fail "[$tag] kcat -L failed"
    local spec topic parts got
    for spec in bookings:6 orders:6 accounts:3 catalog:3 events:1 dlq:1; do
        topic="$prefix${spec%%:*}"
        parts=${spec##*:}
        got=$(sed -n "s/^ *topic \"${topic//./\\.}\" with \([0-9]*\) partitions:.*/\1/p" <<<"$meta")
        [[ "$got" == "$parts" ]] || fail "[$tag] topic $topic: expected $parts partitions, got '${got:-missing}'"
    done
    echo "ok [$tag] topics: $(grep -c '^ *topic "'"${prefix//./\\.}" <<<"$meta") with expected partitions"

    # One keyed message with two headers, produced and read back.
    local t="${prefix}bookings" value="hello-$tag-$$"
    printf '%s\n' "$value" | kcat -b "$boot" -P -t "$t" -k "priest-42" \
        -H "type=booking.create" -H "v=1" -m 10 || fail "[$tag] kcat -P failed"
    local consumed expected="priest-42 type=booking.create,v=1 $value"
    consumed=$(timeout 20 kcat -b "$boot" -C -t "$t" -o beginning -e -q -m 10 -f '%k %h %s\n') \
        || fail "[$tag] kcat -C failed"
    [[ "$consumed" == "$expected" ]] || fail "[$tag] consumed '$consumed', expected '$expected'"
    echo "ok [$tag] produce/consume: $consumed"

    # SIGTERM: exit 0 within 10 s, nothing left.
    local start=$SECONDS
    kill -TERM "$PID"
    for i in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$PID" 2>/dev/null && fail "[$tag] still running 10 s after SIGTERM"
    local rc=0
    wait "$PID" || rc=$?
    (( rc == 0 )) || fail "[$tag] exit status $rc after SIGTERM"
    local pid=$PID
    PID=""
    [[ -d /proc/$pid ]] && fail "[$tag] process $pid still present"
    if pgrep -f -- "$bootf" >/dev/null; then fail "[$tag] a devkafka for $bootf is still running"; fi
    [[ -e "$bootf" ]] && fail "[$tag] bootstrap file not removed on shutdown"
    grep -q '"level":"error"' "$err" && fail "[$tag] error logged: $(grep '"level":"error"' "$err")"
    echo "ok [$tag] SIGTERM: exit 0 after $((SECONDS - start)) s"
}

run_case 1 "punyaka."
run_case 3 "t3.punyaka."
echo "PASS test_devkafka"
