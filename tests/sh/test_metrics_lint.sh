#!/usr/bin/env bash
# test_metrics_lint.sh — every /metrics page passes Prometheus' own linter
# (`promtool check metrics`, Debian's prometheus package, scripts/lib/deps.sh)
# and says what a dashboard needs (issue 15). Against a throwaway stack, after
# a few requests: a known route, an unknown route by GET and by PUT (both 404),
# and a known route with oversized headers (431, a status without a slot of
# its own before). Then the API's page must
#   - lint clean (it lacked HELP on three gauges),
#   - label the unknown-route PUT method="PUT" (not "other") and the 431 by
#     its code (not "other0"), and never say status="other…",
#   - have a duration bucket at 10 s (Prefer: wait allows 10 s),
#   - carry punyaka_build_info{version=…} and the process_* metrics;
# and each worker's page and the notifier's must lint clean and carry
# punyaka_build_info too (the notifier's with its own series).
set -euo pipefail
. "$(dirname "$0")/support.sh"
command -v promtool >/dev/null || fail "promtool is not installed (scripts/lib/deps.sh installs Debian's prometheus)"

work=$(new_work); dir="$work/stack"
trap 'cleanup_stack; rm -rf "$work"' EXIT

PUNYAKA_STACK_FRESH=1 PUNYAKA_STACK_FAST=1 "$STACK" up "$dir" "$PUNYAKA_BUILD_DIR" 2> "$work/up.log" ||
  { tail -n 20 "$work/up.log" >&2; fail "stack up"; }
remember_pids
api=$(env_of PUNYAKA_API_URL)

code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
[ "$(code "$api/healthz")" = 200 ] || fail "GET /healthz"
[ "$(code "$api/api/no-such-thing/")" = 404 ] || fail "GET of an unknown route is not a 404"
[ "$(code -X PUT "$api/api/no-such-thing/")" = 404 ] || fail "PUT of an unknown route is not a 404"
big=$(head -c 17000 /dev/zero | tr '\0' a)
[ "$(code -H "x-padding: $big" "$api/api/products/")" = 431 ] || fail "oversized headers are not a 431"
echo "ok requests made (200, 404 by GET and PUT, 431)"

# lint NAME PORT: scrape, keep the page in $work/NAME.txt, run promtool on it
lint() {
  local name=$1 port=$2 out
  curl -sf "http://127.0.0.1:$port/metrics" > "$work/$name.txt" || fail "scraping $name on port $port"
  out=$(promtool check metrics < "$work/$name.txt" 2>&1) || fail "promtool on $name: $out"
  grep -Eq '^punyaka_build_info\{version="[^"]+"[^}]*\} 1$' "$work/$name.txt" ||
    fail "$name has no punyaka_build_info{version=...} 1"
  for m in process_cpu_seconds_total process_resident_memory_bytes process_open_fds process_start_time_seconds; do
    grep -Eq "^$m [0-9.]+$" "$work/$name.txt" || fail "$name has no $m sample"
  done
  grep -Eq '^process_resident_memory_bytes [1-9][0-9]*$' "$work/$name.txt" || fail "$name reports no resident memory"
  echo "ok $name: promtool clean, build_info and process metrics present"
}

lint api "$(env_of PUNYAKA_API_METRICS_PORT)"
m="$work/api.txt"
grep -q '^punyaka_http_requests_total{route="unmatched",method="PUT",status="404"} 1$' "$m" ||
  fail "the unknown-route PUT is not labelled method=\"PUT\",status=\"404\": $(grep unmatched "$m")"
grep -q '^punyaka_http_requests_total{route="unmatched",method="GET",status="404"} 1$' "$m" ||
  fail "the unknown-route GET is not labelled method=\"GET\",status=\"404\""
grep -q '^punyaka_http_requests_total{route="/api/products/",method="GET",status="431"} 1$' "$m" ||
  fail "the 431 is not labelled status=\"431\": $(grep 'route="/api/products/"' "$m")"
if grep -q 'status="other' "$m"; then fail "a status is still labelled other…"; fi
grep -q '^punyaka_http_request_duration_seconds_bucket{route="/healthz",le="10"} ' "$m" ||
  fail "the duration histogram has no 10 s bucket"
echo "ok API labels: real methods and statuses, a 10 s bucket"

workers=$(sed -n 's/^PUNYAKA_WORKER_\([0-9]*\)_METRICS_PORT=.*/\1/p' "$dir/env" | sort -u)
[ -n "$workers" ] || fail "the stack's env names no worker metrics port"
for n in $workers; do lint "worker-$n" "$(env_of "PUNYAKA_WORKER_${n}_METRICS_PORT")"; done
lint notifier "$(env_of PUNYAKA_NOTIFIER_METRICS_PORT)"
grep -q '^punyaka_notifier_events_total{result="notified"} ' "$work/notifier.txt" ||
  fail "the notifier's page has no punyaka_notifier_events_total"

# down exits non-zero when a sanitizer reported anything in the stack's logs.
"$STACK" down "$dir" 2> "$work/down.log" || { cat "$work/down.log" >&2; fail "stack down"; }
echo PASS test_metrics_lint
