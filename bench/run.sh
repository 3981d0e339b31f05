#!/usr/bin/env bash
# bench/run.sh [BUILD_DIR] — read- and write-path throughput with wrk against
# a fresh embedded stack (fsync off) loaded with the demo data. Prints one
# line per endpoint: requests/s and latency percentiles. Not a test: numbers
# depend on the machine; see bench/README.md for recorded runs.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
dir=$(mktemp -d)
trap '"$src/scripts/lib/stack.sh" down "$dir" >/dev/null 2>&1; rm -rf "$dir"' EXIT
PUNYAKA_STACK_FAST=1 "$src/scripts/lib/stack.sh" up "$dir" "$build" 2>/dev/null
set -a; . "$dir/env"; set +a
"$src/scripts/lib/demo.sh" "$PUNYAKA_API_URL" "$build" "$dir" 2>/dev/null
duration=${BENCH_SECONDS:-10}
report() {  # report LABEL — wrk's output on stdin ⇒ one line
  local out rps p50 p99 errors
  out=$(cat)
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  errors=$(echo "$out" | awk '/Non-2xx|Socket errors/ {print}' | tr '\n' ' ')
  printf '%-50s %10s req/s  p50 %-8s p99 %-8s %s\n' "$1" "$rps" "$p50" "$p99" "$errors"
}

# BENCH_READS=0 skips the read endpoints (a write-path run).
[ "${BENCH_READS:-1}" = 1 ] && for path in /healthz /api/priests/ "/api/priests/?ordering=-rating&language=Sanskrit" /api/products/ /api/categories/ /api/services/; do
  if [ "$(curl -s -o /dev/null -w '%{http_code}' "$PUNYAKA_API_URL$path")" != 200 ]; then
    echo "skip $path (not 200)"; continue
  fi
  wrk -t2 -c64 -d"${duration}s" --latency "$PUNYAKA_API_URL$path" | report "GET $path"
done

# Writes by signed-in customers: a Redis cart write (no command), and a
# command end to end (HTTP ⇒ Kafka ⇒ worker ⇒ PostgreSQL ⇒ outcome ⇒ 200).
# Commands are keyed by the user id, so one user's commands apply one after
# another; BENCH_USERS users spread them over the partitions and workers.
product=$(curl -s "$PUNYAKA_API_URL/api/products/?page_size=1&in_stock=true" |
  sed -n 's/.*"results": *\[{"id": *\([0-9]*\).*/\1/p')
sessions=
for i in $(seq 1 "${BENCH_USERS:-16}"); do
  jar=$dir/bench-$i.cookies
  reply=$(curl -s -c "$jar" -X POST "$PUNYAKA_API_URL/api/auth/register/" -H 'content-type: application/json' \
    -d "{\"username\":\"bench$i-$$\",\"email\":\"bench$i-$$@example.com\",\"password\":\"bench-password-$i\",\"role\":\"customer\"}")
  csrf=$(echo "$reply" | sed -n 's/.*"csrf_token": *"\([^"]*\)".*/\1/p')
  cookie="punyaka_session=$(awk '$6 == "punyaka_session" {print $7}' "$jar")"
  curl -s -o /dev/null -b "$jar" -X POST "$PUNYAKA_API_URL/api/cart/add_item/" -H 'content-type: application/json' \
    -H "X-CSRF-Token: $csrf" -d "{\"product_id\":$product,\"quantity\":1}"
  sessions="$sessions$cookie|$csrf;"
done
export SESSIONS=$sessions
METHOD=GET BODY= wrk -t2 -c64 -d"${duration}s" --latency -s "$src/bench/write.lua" "$PUNYAKA_API_URL/api/cart/" |
  report "GET /api/cart/ (per user: Redis + PostgreSQL)"
METHOD=POST BODY="{\"item_id\":$product,\"quantity\":2}" \
  wrk -t2 -c64 -d"${duration}s" --latency -s "$src/bench/write.lua" "$PUNYAKA_API_URL/api/cart/update_item/" |
  report "POST /api/cart/update_item/ (Redis)"
for c in 1 16 64; do
  METHOD=PATCH BODY='{"first_name":"Bench"}' \
    wrk -t1 -c$c -d"${duration}s" --latency -s "$src/bench/write.lua" "$PUNYAKA_API_URL/api/auth/me/" |
    report "PATCH /api/auth/me/ (command, -c$c)"
done

# The database's own pace, for reference: pgbench TPC-B (8 clients) on the
# same PostgreSQL, in a database of its own. BENCH_PGBENCH=0 skips it.
if [ "${BENCH_PGBENCH:-1}" = 1 ] && command -v pgbench >/dev/null; then
  pgdir=$(cat "$dir/pgdir")
  pgport=$(echo "$DATABASE_URL" | sed -n 's|.*@[^:/]*:\([0-9]*\)/.*|\1|p')
  as_pg() { runuser -u postgres -- "$@"; }
  as_pg psql -q -h "$pgdir" -p "$pgport" -d postgres -c 'CREATE DATABASE bench_pgbench' >/dev/null
  as_pg pgbench -q -i -s 8 -h "$pgdir" -p "$pgport" bench_pgbench >/dev/null 2>&1
  tps=$(as_pg pgbench -c 8 -j 2 -T "$duration" -h "$pgdir" -p "$pgport" bench_pgbench 2>/dev/null |
    awk '/^tps/ {print $3; exit}')
  printf '%-50s %10s tps\n' "pgbench TPC-B (-c8, same PostgreSQL)" "$tps"
fi
