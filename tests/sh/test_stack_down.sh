#!/usr/bin/env bash
# test_stack_down.sh — `stack.sh down` never stops half-way. With worker 1
# and Redis dead (their pid files naming processes that are gone, as after a
# crash once init has reaped them), down still stops the API, worker 2, the
# dev Kafka and PostgreSQL, exits 0, removes the pid files, and a second down
# is a no-op that also exits 0. The drain step is bounded too: worker 1's
# partitions have no live owner until its session times out (6 s), so with
# PUNYAKA_DRAIN_TIMEOUT_S=3 down gives up waiting, says so, and goes on. (It
# used to die on `kill -CONT` of the dead worker under `set -e` and leave
# everything running.)
set -euo pipefail
. "$(dirname "$0")/support.sh"

work=$(new_work); dir="$work/stack"
trap 'cleanup_stack; rm -rf "$work"' EXIT

PUNYAKA_STACK_FRESH=1 PUNYAKA_STACK_FAST=1 "$STACK" up "$dir" "$PUNYAKA_BUILD_DIR" 2> "$work/up.log" ||
  { tail -n 20 "$work/up.log" >&2; fail "stack up"; }
remember_pids
before=$(stack_pids | tr '\n' ' ')
echo "ok stack up ($(echo "$before" | wc -w) processes)"

# A pid that surely names no process any more: one of ours, already reaped.
gone_pid() { sleep 0 & local p=$!; wait "$p" || true; echo "$p"; }
for p in worker-1 redis; do
  kill -KILL "$(pid_of "$dir" "$p")"
  gone_pid > "$dir/$p.pid"
done
echo "ok worker-1 and redis killed, their pid files stale"

start=$SECONDS
rc=0; PUNYAKA_DRAIN_TIMEOUT_S=3 timeout 120 "$STACK" down "$dir" 2> "$work/down.log" || rc=$?
[ "$rc" = 0 ] || { cat "$work/down.log" >&2; fail "down exited $rc"; }
grep -q '"msg":"drain: gave up after 3 s' "$dir/logs/stack.log" || fail "the bounded drain did not say it gave up"
echo "ok down exited 0 in $((SECONDS - start)) s (drain bounded at 3 s)"

for p in $before; do
  if running "$p"; then fail "process $p ($(tr '\0' ' ' < "/proc/$p/cmdline")) survived down"; fi
done
left=$(ls "$dir"/*.pid 2>/dev/null || true)
[ -z "$left" ] || fail "pid files left: $left"
[ ! -f "$(cat "$dir/pgdir")/data/postmaster.pid" ] || fail "PostgreSQL still running"
echo "ok every process stopped, no pid file left"

rc=0; timeout 30 "$STACK" down "$dir" 2> "$work/down2.log" || rc=$?
[ "$rc" = 0 ] || { cat "$work/down2.log" >&2; fail "a second down exited $rc"; }
echo "ok a second down is a no-op"
echo PASS test_stack_down
