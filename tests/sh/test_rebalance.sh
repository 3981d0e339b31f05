#!/usr/bin/env bash
# test_rebalance.sh — the workers' group rebalances cooperatively. Worker 1
# leaves (worker 2 takes all 18 command partitions), then comes back; while
# the group moves partitions to it, worker 2 keeps consuming the ones it
# keeps: its /metrics never shows an empty assignment, it ends with a share,
# and its log names an incremental revoke ("revoked N partitions, keeps M").
# (With the eager assignor worker 2 gave up every partition for each
# rebalance: every write stalled for seconds when a worker came back.)
set -euo pipefail
. "$(dirname "$0")/support.sh"

work=$(new_work); dir="$work/stack"
trap 'cleanup_stack; rm -rf "$work"' EXIT

PUNYAKA_STACK_FRESH=1 PUNYAKA_STACK_FAST=1 "$STACK" up "$dir" "$PUNYAKA_BUILD_DIR" 2> "$work/up.log" ||
  { tail -n 20 "$work/up.log" >&2; fail "stack up"; }
remember_pids
m1=$(env_of PUNYAKA_WORKER_1_METRICS_PORT); m2=$(env_of PUNYAKA_WORKER_2_METRICS_PORT)
# owned PORT: partitions the worker reports (one lag line each); "-" when it does not answer
owned() {
  local out
  out=$(curl -s --max-time 3 "http://127.0.0.1:$1/metrics") || { echo -; return; }
  grep -c '^punyaka_worker_consumer_lag{' <<<"$out" || true
}

"$STACK" worker-stop "$dir" 1
wait_until 30 bash -c "[ \"\$(curl -s --max-time 3 http://127.0.0.1:$m2/metrics | grep -c '^punyaka_worker_consumer_lag{')\" = 18 ]" ||
  fail "worker 2 did not take all 18 partitions after worker 1 left (owns $(owned "$m2"))"
echo "ok worker 1 left: worker 2 owns 18 partitions"

"$STACK" worker-start "$dir" 1
samples=0; empty=0; settled=""
for _ in $(seq 1 300); do   # ≤ 60 s, a sample every ≥ 0.2 s
  o2=$(owned "$m2"); o1=$(owned "$m1")
  if [ "$o2" != - ]; then
    samples=$((samples + 1))
    [ "$o2" != 0 ] || empty=$((empty + 1))
  fi
  if [ "$o1" != - ] && [ "$o2" != - ] && [ "$o1" -gt 0 ] && [ "$o2" -gt 0 ] && [ $((o1 + o2)) = 18 ]; then settled="$o1+$o2"; break; fi
  sleep 0.2
done
[ -n "$settled" ] || fail "the group did not settle within 60 s (worker 1: $o1, worker 2: $o2)"
[ "$samples" -ge 5 ] || fail "only $samples answers from worker 2's /metrics during the rebalance"
[ "$empty" = 0 ] || fail "worker 2 owned no partition in $empty of $samples samples during the rebalance (eager)"
grep -Eq '"msg":"revoked [0-9]+ partitions, keeps [1-9][0-9]*"' "$dir/logs/worker-2.log" ||
  fail "worker 2 did not revoke incrementally: $(grep -E 'revoked|assigned' "$dir/logs/worker-2.log" | tail -n 3)"
echo "ok worker 1 back: partitions $settled; worker 2 was never empty ($samples samples)"
echo PASS test_rebalance
