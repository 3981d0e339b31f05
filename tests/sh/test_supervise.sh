#!/usr/bin/env bash
# test_supervise.sh — scripts/run supervises what it started. kill -9 of a
# worker, of the API, of Redis and of the dev Kafka: each comes back on its port (the worker
# joins its group again, the API answers /readyz), the restart is logged in
# data/logs/stack.log and counted in data/restarts/NAME, a second crash soon
# after waits a longer backoff, writes work again, and SIGTERM still stops
# everything. (scripts/run used to exit when a worker died and leave the rest
# running unsupervised.)
set -euo pipefail
. "$(dirname "$0")/support.sh"

work=$(new_work); dir="$work/data"
run_pid=""
cleanup() {
  if [ -n "$run_pid" ]; then kill -KILL "$run_pid" 2>/dev/null || true; fi
  cleanup_stack
  rm -rf "$work"
}
trap cleanup EXIT
fail_run() { tail -n 20 "$work/run.log" >&2; fail "$@"; }

port=$(( (RANDOM % 12000) + 20000 ))
PUNYAKA_HTTP_PORT=$port PUNYAKA_DATA_DIR="$dir" PUNYAKA_BUILD_DIR="$PUNYAKA_BUILD_DIR" PUNYAKA_STACK_FAST=1 \
  setsid "$PUNYAKA_SOURCE_DIR/scripts/run" > "$work/run.log" 2>&1 &
run_pid=$!
wait_until 120 grep -q "Punyaka is running" "$work/run.log" || fail_run "scripts/run did not start"
remember_pids
api="http://127.0.0.1:$port"
echo "ok scripts/run up"

restarts() { cat "$dir/restarts/$1" 2>/dev/null || echo missing; }
# crash NAME: kill -9, then wait (≤ 30 s) for a new live process under that name
crash() {
  local name=$1 old
  old=$(pid_of "$dir" "$name")
  running "$old" || fail "$name is not running before the crash"
  kill -KILL "$old"
  wait_until 30 bash -c ". '$PUNYAKA_SOURCE_DIR/scripts/lib/procs.sh'; p=\$(pid_of '$dir' '$name'); [ -n \"\$p\" ] && [ \"\$p\" != '$old' ] && running \"\$p\"" ||
    fail_run "$name was not restarted within 30 s"
  running "$run_pid" || fail_run "scripts/run exited after $name died"
  remember_pids
}

crash worker-1
wait_until 30 test -f "$dir/worker-1.ready" || fail_run "the restarted worker-1 did not join its group"
[ "$(restarts worker-1)" = 1 ] || fail "restart counter of worker-1: $(restarts worker-1)"
grep -q '"msg":"worker-1 restarted (restart 1)"' "$dir/logs/stack.log" || fail "no restart line in stack.log"
echo "ok kill -9 worker-1: restarted, counted, logged"

crash worker-1   # again within a minute: the backoff doubles
grep -q '"msg":"worker-1 exited unexpectedly.*restart in 2 s"' "$dir/logs/stack.log" || fail "the second restart did not back off 2 s"
[ "$(restarts worker-1)" = 2 ] || fail "restart counter of worker-1: $(restarts worker-1)"
echo "ok a second crash soon after: backoff 2 s"

crash api
wait_until 30 curl -fsS "$api/readyz" || fail_run "the restarted API is not ready within 30 s"
[ "$(restarts api)" = 1 ] || fail "restart counter of the API: $(restarts api)"
echo "ok kill -9 api: restarted on port $port, ready"

crash redis
wait_until 15 bash -c "redis-cli --no-auth-warning -u '$(env_of REDIS_URL)' ping | grep -q PONG" || fail_run "the restarted Redis does not answer on its port"
[ "$(restarts redis)" = 1 ] || fail "restart counter of redis: $(restarts redis)"
echo "ok kill -9 redis: restarted on its port"

# Writes go through the restarted processes.
wait_until 30 bash -c "curl -fsS '$api/readyz'" || fail_run "API not ready after the Redis restart"
csrf=$(sign_in "$api" "sup$$")
code=$(curl -s -o /dev/null -w '%{http_code}' -X PATCH "$api/api/auth/me/" -b "$work/jar" -H 'content-type: application/json' \
  -H "X-CSRF-Token: $csrf" -H 'Prefer: wait=10' -d '{"first_name":"Supervised"}')
[ "$code" = 200 ] || fail "PATCH me after the restarts answered $code"
for p in worker-2 devkafka postgres; do [ "$(restarts "$p")" = 0 ] || fail "$p was restarted: $(restarts "$p")"; done
echo "ok writes applied after the restarts; nothing else was restarted"

# The dev Kafka too (issue 11): back on the ports in data/kafka.ports, empty,
# and the API and the workers (not restarted) reconnect by themselves.
brokers=$(env_of KAFKA_BROKERS)
crash devkafka
[ "$(restarts devkafka)" = 1 ] || fail "restart counter of the dev Kafka: $(restarts devkafka)"
[ "$(cat "$dir/kafka.ports")" = "$brokers" ] || fail "the dev Kafka's recorded ports changed: $(cat "$dir/kafka.ports") (was $brokers)"
wait_until 15 test -s "$dir/kafka.bootstrap" || fail_run "the restarted dev Kafka did not come up"
[ "$(cat "$dir/kafka.bootstrap")" = "$brokers" ] || fail "the restarted dev Kafka listens on $(cat "$dir/kafka.bootstrap"), not $brokers"
for _ in $(seq 1 30); do   # 503 (not recorded) or 202 while the clients reconnect: the same key again
  code=$(curl -s -o /dev/null -w '%{http_code}' -X PATCH "$api/api/auth/me/" -b "$work/jar" -H 'content-type: application/json' \
    -H "X-CSRF-Token: $csrf" -H 'Prefer: wait=5' -H "Idempotency-Key: sup-kafka-$$" -d '{"first_name":"Reconnected"}')
  [ "$code" = 200 ] && break
  sleep 1
done
[ "$code" = 200 ] || fail_run "PATCH me after the dev Kafka restart answered $code"
echo "ok kill -9 devkafka: restarted on its ports, writes applied again"

kill -TERM "$run_pid"
for _ in $(seq 1 600); do running "$run_pid" || break; sleep 0.1; done
running "$run_pid" && fail_run "scripts/run did not exit within 60 s of SIGTERM"
run_pid=""
for p in $(stack_pids) $seen_pids; do
  if running "$p"; then fail "process $p ($(tr '\0' ' ' < "/proc/$p/cmdline")) survived SIGTERM"; fi
done
echo "ok SIGTERM stopped everything, restarted processes included"
echo PASS test_supervise
