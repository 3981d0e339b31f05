#!/usr/bin/env bash
# bench/run.sh [BUILD_DIR] — read-path throughput with wrk against a fresh
# embedded stack (fsync off) loaded with the demo data. Prints one line per
# endpoint: requests/s and latency percentiles. Not a test: numbers depend on
# the machine; see bench/README.md for recorded runs.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
dir=$(mktemp -d)
trap '"$src/scripts/lib/stack.sh" down "$dir" >/dev/null 2>&1; rm -rf "$dir"' EXIT
PUNYAKA_STACK_FAST=1 "$src/scripts/lib/stack.sh" up "$dir" "$build" 2>/dev/null
set -a; . "$dir/env"; set +a
"$src/scripts/lib/demo.sh" "$PUNYAKA_API_URL" "$build" "$dir" 2>/dev/null
duration=${BENCH_SECONDS:-10}
for path in /healthz /api/priests/ "/api/priests/?ordering=-rating&language=Sanskrit" /api/products/ /api/categories/ /api/services/; do
  if [ "$(curl -s -o /dev/null -w '%{http_code}' "$PUNYAKA_API_URL$path")" != 200 ]; then
    echo "skip $path (not 200)"; continue
  fi
  out=$(wrk -t2 -c64 -d"${duration}s" --latency "$PUNYAKA_API_URL$path")
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  errors=$(echo "$out" | awk '/Non-2xx|Socket errors/ {print}' | tr '\n' ' ')
  printf '%-50s %10s req/s  p50 %-8s p99 %-8s %s\n' "GET $path" "$rps" "$p50" "$p99" "$errors"
done
