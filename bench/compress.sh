#!/usr/bin/env bash
# bench/compress.sh [BUILD_DIR] — what compression costs and saves (issue 16,
# api/compress.h): wrk -t2 -c64 against a fresh stack with the demo data,
# for a JSON list (compressed on the fly) and a static file (precompressed
# at build time), each without and with Accept-Encoding: gzip. One line
# each: requests/s, bytes/s on the wire (wrk's Transfer/sec, headers
# included), and the API's CPU time per 1,000 answers (utime + stime from
# /proc, so wrk's own share is not counted). Run it with an older build to
# get the "before". Not a test; recorded runs: bench/README.md.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
dir=$(mktemp -d)
trap '"$src/scripts/lib/stack.sh" down "$dir" >/dev/null 2>&1; rm -rf "$dir"' EXIT
PUNYAKA_STACK_FAST=1 "$src/scripts/lib/stack.sh" up "$dir" "$build" 2>/dev/null
set -a; . "$dir/env"; set +a
"$src/scripts/lib/demo.sh" "$PUNYAKA_API_URL" "$build" "$dir" >/dev/null 2>&1
duration=${BENCH_SECONDS:-10}
api_pid=$(cat "$dir/api.pid")
ticks=$(getconf CLK_TCK)

api_cpu_ticks() {  # utime + stime of punyaka-api (fields 14 and 15 of /proc/PID/stat)
  awk '{ print $14 + $15 }' "/proc/$api_pid/stat"
}

run() {  # run PATH ENCODING
  local path=$1 enc=$2 header=() before after out rps xfer size
  [ "$enc" = identity ] || header=(-H "Accept-Encoding: $enc")
  size=$(curl -s "${header[@]}" "$PUNYAKA_API_URL$path" | wc -c)
  before=$(api_cpu_ticks)
  out=$(wrk -t2 -c64 -d"${duration}s" "${header[@]}" "$PUNYAKA_API_URL$path")
  after=$(api_cpu_ticks)
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  xfer=$(echo "$out" | awk '/Transfer\/sec/ {print $2}')
  local total; total=$(echo "$out" | awk '/requests in/ {print $1}')
  printf '%-16s %-8s body %6s B  %10s req/s  %9s/s  API CPU %s ms per 1k answers\n' "$path" "$enc" "$size" \
    "$rps" "$xfer" "$(awk -v t=$((after - before)) -v hz="$ticks" -v n="$total" 'BEGIN { printf "%.1f", t / hz * 1000 / n * 1000 }')"
}

for path in /api/products/ "${BENCH_STATIC:-/js/api.js}"; do
  run "$path" identity
  run "$path" gzip
done
