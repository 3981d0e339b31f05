#!/usr/bin/env bash
# test_shutdown_drain.sh — SIGTERM to scripts/run under a write load loses no
# accepted command. The workers are paused (SIGSTOP) so that Kafka holds a
# backlog of commands already answered 202, and 3 clients keep writing while
# scripts/run gets SIGTERM. Shutdown must stop the API first, let the workers
# drain Kafka, then stop them and only then the (in-memory) dev Kafka. Then
# PostgreSQL is started alone: every command answered 202 has its outcome
# row in command_outcomes. (The old order — API and workers together, then
# Kafka — dropped whatever Kafka still held.)
set -euo pipefail
. "$(dirname "$0")/support.sh"

work=$(new_work); dir="$work/data"
run_pid=""; pg_port=""
cleanup() {
  if [ -n "$run_pid" ]; then kill -KILL "$run_pid" 2>/dev/null || true; fi
  jobs -p | xargs -r kill 2>/dev/null || true
  cleanup_stack
  rm -rf "$work"
}
trap cleanup EXIT

port=$(( (RANDOM % 12000) + 20000 ))
PUNYAKA_HTTP_PORT=$port PUNYAKA_DATA_DIR="$dir" PUNYAKA_BUILD_DIR="$PUNYAKA_BUILD_DIR" PUNYAKA_STACK_FAST=1 \
  setsid "$PUNYAKA_SOURCE_DIR/scripts/run" > "$work/run.log" 2>&1 &
run_pid=$!
wait_until 120 grep -q "Punyaka is running" "$work/run.log" ||
  { tail -n 30 "$work/run.log" >&2; fail "scripts/run did not start"; }
remember_pids
api="http://127.0.0.1:$port"
csrf=$(sign_in "$api" "drain$$")
echo "ok scripts/run up, signed in"

# Paused workers: what the API accepts from now on waits in Kafka.
"$STACK" worker-signal "$dir" 1 STOP
"$STACK" worker-signal "$dir" 2 STOP

# load N: profile edits, answered 202 at once (Prefer: respond-async), until
# the API is gone (bounded: 30 s). Writes "STATUS COMMAND_ID" lines.
load() {
  local n=$1 i out code
  for i in $(seq 1 3000); do
    out=$(curl -s --max-time 5 -w '\n%{http_code}' -X PATCH "$api/api/auth/me/" -b "$work/jar" \
      -H 'content-type: application/json' -H "X-CSRF-Token: $csrf" -H 'Prefer: respond-async' \
      -d "{\"first_name\":\"L$n-$i\"}") || true
    code=$(tail -n 1 <<<"$out")
    [ "$code" != 000 ] || break
    echo "$code $(grep -o '"command_id":"[0-9a-f-]*"' <<<"$out" | cut -d'"' -f4)"
    [ "$SECONDS" -lt $((load_started + 30)) ] || break
  done > "$work/load.$n"
}
load_started=$SECONDS
for n in 1 2 3; do load "$n" & done
sleep 2

kill -TERM "$run_pid"
for _ in $(seq 1 900); do running "$run_pid" || break; sleep 0.1; done   # ≤ 90 s
running "$run_pid" && fail "scripts/run did not exit within 90 s of SIGTERM"
run_pid=""
wait   # the clients stop once the API is gone
accepted=$(cat "$work"/load.* | awk '$1 == 202 && $2 != "" {print $2}' | sort -u)
n_accepted=$(echo "$accepted" | grep -c . || true)
[ "$n_accepted" -ge 20 ] || fail "only $n_accepted commands answered 202 (load: $(cat "$work"/load.* | cut -d' ' -f1 | sort | uniq -c | tr '\n' ' '))"
for p in $seen_pids; do
  if running "$p"; then fail "process $p survived SIGTERM"; fi
done
echo "ok SIGTERM under load: scripts/run stopped everything; $n_accepted commands had been answered 202"

# PostgreSQL alone, on the data folder scripts/run used.
pgdir=$(cat "$dir/pgdir")
# A port nobody listens on (other stacks may run beside this test); a
# start that still loses a race for it is tried again on another.
pg_started=0
for _ in 1 2 3; do
  pg_port=$(( (RANDOM % 12000) + 20000 ))
  (exec 3<>"/dev/tcp/127.0.0.1/$pg_port") 2>/dev/null && continue
  if runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$pgdir/data" -l "$pgdir/alone.log" -w -t 60 \
       -o "-p $pg_port -k $pgdir -c listen_addresses=127.0.0.1" start > /dev/null; then
    pg_started=1; break
  fi
done
[ "$pg_started" = 1 ] || { tail -n 20 "$pgdir/alone.log" >&2; fail "PostgreSQL did not start alone"; }
ids="{$(echo "$accepted" | paste -sd, -)}"
# Over the socket as the OS user postgres (peer): TCP would need the owner's password.
applied=$(runuser -u postgres -- psql -h "$pgdir" -p "$pg_port" -d punyaka -XAtc \
  "SELECT count(*) FROM command_outcomes WHERE command_id = ANY ('$ids'::uuid[])")
runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$pgdir/data" -m fast -w -t 30 stop > /dev/null || true
[ "$applied" = "$n_accepted" ] || fail "$((n_accepted - applied)) of $n_accepted commands answered 202 have no outcome"
grep -q '"msg":"drained' "$dir/logs/stack.log" || fail "stack.log does not record the drain"
echo "ok all $n_accepted accepted commands have an outcome"
echo PASS test_shutdown_drain
