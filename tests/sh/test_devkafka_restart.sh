#!/usr/bin/env bash
# test_devkafka_restart.sh — the dev Kafka comes back on the ports it had
# (issue 11). On a throwaway stack: a command is applied; the dev Kafka is
# killed with SIGKILL and restarted by `stack.sh restart DIR devkafka` (what
# scripts/run's supervisor calls); it listens on the ports recorded in
# DIR/kafka.ports, which equal KAFKA_BROKERS in DIR/env; the topics exist
# again; and a new command sent to the same API process is applied by the
# same worker processes (their clients reconnected by themselves, nobody was
# restarted but the dev Kafka). Before the fix the restart refused ("comes
# back on new ports: restart the whole stack").
set -euo pipefail
. "$(dirname "$0")/support.sh"

work=$(new_work); dir="$work/data"
cleanup() { cleanup_stack; rm -rf "$work"; }
trap cleanup EXIT

# One API loop thread, so the producer that fails is the one every request uses.
PUNYAKA_STACK_FAST=1 PUNYAKA_WORKERS=1 PUNYAKA_HTTP_THREADS=1 "$STACK" up "$dir" "$PUNYAKA_BUILD_DIR" > "$work/up.log" 2>&1 \
  || { tail -n 20 "$work/up.log" >&2; fail "stack up"; }
remember_pids
api=$(env_of PUNYAKA_API_URL)
brokers=$(env_of KAFKA_BROKERS)
[ -s "$dir/kafka.ports" ] || fail "no DIR/kafka.ports after the first start"
[ "$(cat "$dir/kafka.ports")" = "$brokers" ] || fail "kafka.ports '$(cat "$dir/kafka.ports")' is not KAFKA_BROKERS '$brokers'"
echo "ok first start recorded its ports: $brokers"

csrf=$(sign_in "$api" "dkr$$")
# patch_me NAME: PATCH /api/auth/me/ under one Idempotency-Key per name,
# retried while the answer is 503 (nothing happened) or 202 (polled below);
# prints the final HTTP status.
patch_me() {
  local name=$1 code i
  for i in $(seq 1 30); do
    code=$(curl -s -o "$work/me.json" -w '%{http_code}' -X PATCH "$api/api/auth/me/" -b "$work/jar" \
      -H 'content-type: application/json' -H "X-CSRF-Token: $csrf" -H 'Prefer: wait=5' \
      -H "Idempotency-Key: dkr-$name" -d "{\"first_name\":\"$name\"}")
    case "$code" in
      200) echo 200; return 0 ;;
      202|503) sleep 1 ;;
      *) echo "$code"; return 0 ;;
    esac
  done
  echo "$code"
}
[ "$(patch_me Before)" = 200 ] || fail "PATCH me before the restart: $(cat "$work/me.json")"
echo "ok a command applied before the restart"

api_pid=$(pid_of "$dir" api); worker_pid=$(pid_of "$dir" worker-1); kafka_pid=$(pid_of "$dir" devkafka)
kill -KILL "$kafka_pid"
wait_until 5 bash -c "! kill -0 $kafka_pid" || fail "the dev Kafka survived SIGKILL"
t0=$SECONDS
"$STACK" restart "$dir" devkafka > "$work/restart.log" 2>&1 || { cat "$work/restart.log" >&2; fail "stack.sh restart devkafka"; }
remember_pids
new_pid=$(pid_of "$dir" devkafka)
running "$new_pid" && [ "$new_pid" != "$kafka_pid" ] || fail "no new dev Kafka process"
[ "$(cat "$dir/kafka.ports")" = "$brokers" ] || fail "kafka.ports changed: $(cat "$dir/kafka.ports") (was $brokers)"
[ "$(cat "$dir/kafka.bootstrap")" = "$brokers" ] || fail "the restarted dev Kafka listens on $(cat "$dir/kafka.bootstrap"), not $brokers"
[ "$(env_of KAFKA_BROKERS)" = "$brokers" ] || fail "DIR/env's KAFKA_BROKERS changed"
meta=$(timeout 10 kcat -b "$brokers" -L 2>&1) || fail "kcat -L against $brokers: $meta"
grep -q 'topic "punyaka.accounts" with 3 partitions' <<<"$meta" || fail "topic punyaka.accounts missing after the restart: $meta"
echo "ok the dev Kafka restarted on $brokers with its topics"

code=$(patch_me After)
[ "$code" = 200 ] || fail "PATCH me after the restart answered $code: $(cat "$work/me.json")"
grep -q '"first_name":"After"' "$work/me.json" || fail "the answer does not show the change: $(cat "$work/me.json")"
got=$(curl -s -b "$work/jar" "$api/api/auth/me/")
grep -q '"first_name":"After"' <<<"$got" || fail "GET me after the restart: $got"
echo "ok a new command applied $((SECONDS - t0)) s after the restart"

# A cluster that does not know the producer's sequence answers
# OUT_OF_ORDER_SEQUENCE_NUMBER (45) to its first Produce: for librdkafka's
# idempotent producer a fatal error, after which that handle never sends
# again. The API replaces the handle and the command goes through. (A
# second's pause first: the injected error is for the next Produce of any
# client, and the worker's relay publishes the last command's event.)
sleep 1
"$PUNYAKA_BUILD_DIR/tools/devkafka/punyaka-devkafka" ctl "$dir/kafka.ctl" errors 0 1 45 >/dev/null || fail "ctl errors"
code=$(patch_me Fatal)
[ "$code" = 200 ] || fail "PATCH me after the producer's fatal error answered $code: $(cat "$work/me.json")"
grep -q 'FATAL.*out of order sequence' "$dir/logs/api.log" || fail "the API's producer did not hit the injected fatal error"
# librdkafka may still deliver the message in hand; every later one needs a
# new producer: each command is answered at once, no retry (before the fix
# each got 503 "overloaded": the queue refused it with "Local: Fatal error").
for i in $(seq 1 3); do
  code=$(curl -s -o "$work/me.json" -w '%{http_code}' -X PATCH "$api/api/auth/me/" -b "$work/jar" \
    -H 'content-type: application/json' -H "X-CSRF-Token: $csrf" -H 'Prefer: wait=5' -d "{\"last_name\":\"N$i\"}")
  [ "$code" = 200 ] || fail "PATCH me $i after the fatal error answered $code: $(cat "$work/me.json")"
done
echo "ok after a fatal producer error the API produces again on a new producer"

[ "$(pid_of "$dir" api)" = "$api_pid" ] && running "$api_pid" || fail "the API was restarted or died"
[ "$(pid_of "$dir" worker-1)" = "$worker_pid" ] && running "$worker_pid" || fail "the worker was restarted or died"
echo "ok the API and the worker are the processes that ran before"

# An orderly stop; under the sanitizer build `down` fails on any report in
# the processes' logs (the replaced producer, the restarted dev Kafka).
"$STACK" down "$dir" > "$work/down.log" 2>&1 || { tail -n 40 "$work/down.log" >&2; fail "stack down reported a problem"; }
echo "ok stopped cleanly"
echo PASS test_devkafka_restart
