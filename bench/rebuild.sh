#!/usr/bin/env bash
# bench/rebuild.sh [BUILD_DIR] — how fast `punyaka-replay rebuild` replays
# the events log into an empty database. Not a test (bench/README.md).
#
# A throwaway embedded stack (fsync off, two workers) gets BENCH_USERS (32)
# customers, then commands through the API until the journal holds
# BENCH_COMMANDS (100000) rows: `PATCH /api/auth/me/` (user.update, one
# worker transaction each) with wrk, in rounds of BENCH_ROUND_S (20) s.
# Once the relay has published every event, `rebuild --progress --into` a
# new database is timed; the lines to record are the progress bar's last
# (the apply phase alone) and
#   rebuild: N commands in S s = R commands/s
# (the whole run: reading the log, applying, comparing the tables).
# The dev Kafka keeps only about 5 MiB per partition (docs/kafka.md) and
# `events` is one partition: when its oldest events are gone the rebuild
# refuses (the log no longer starts at seq 1), and this script says so and
# stops. Give it a real Kafka (KAFKA_BROKERS, topics as in docker-compose.yml)
# for a log that big, or lower BENCH_COMMANDS.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
target=${BENCH_COMMANDS:-100000}
round=${BENCH_ROUND_S:-20}
dir=$(mktemp -d /tmp/punyaka-bench-rebuild.XXXXXX)
trap '"$src/scripts/lib/stack.sh" down "$dir" >/dev/null 2>&1; rm -rf "$dir"' EXIT
PUNYAKA_STACK_FAST=1 "$src/scripts/lib/stack.sh" up "$dir" "$build" 2>/dev/null
set -a
# shellcheck disable=SC1091
. "$dir/env"
set +a
owner=$PUNYAKA_OWNER_DATABASE_URL
sql() { psql -qAt "$owner" -c "$1"; }

sessions=""
for i in $(seq 1 "${BENCH_USERS:-32}"); do
  jar=$dir/bench-$i.cookies
  reply=$(curl -s -c "$jar" -X POST "$PUNYAKA_API_URL/api/auth/register/" -H 'content-type: application/json' \
    -d "{\"username\":\"rebuild$i-$$\",\"email\":\"rebuild$i-$$@example.com\",\"password\":\"bench-password-$i\",\"role\":\"customer\"}")
  csrf=$(echo "$reply" | sed -n 's/.*"csrf_token": *"\([^"]*\)".*/\1/p')
  sessions="${sessions}punyaka_session=$(awk '$6 == "punyaka_session" {print $7}' "$jar")|$csrf;"
done
export SESSIONS=$sessions METHOD=PATCH BODY='{"first_name":"Rebuild"}'

start=$SECONDS
while [ "$(sql 'SELECT count(*) FROM journal')" -lt "$target" ]; do
  wrk -t2 -c32 -d"${round}s" -s "$src/bench/write.lua" "$PUNYAKA_API_URL/api/auth/me/" >/dev/null
  echo "load: $(sql 'SELECT count(*) FROM journal') commands after $((SECONDS - start)) s" >&2
done
for _ in $(seq 1 600); do   # the relay publishes the last events (≤ 60 s)
  [ "$(sql 'SELECT count(*) FROM journal WHERE published_at IS NULL')" = 0 ] && break
  sleep 0.1
done
n=$(sql 'SELECT count(*) FROM journal')
echo "log: $n commands, $(sql "SELECT pg_size_pretty(pg_total_relation_size('journal'))") of journal" >&2

into="${owner%/*}/bench_rebuild"
t0=$(date +%s.%N)
rc=0
"$build/workers/punyaka-replay" rebuild --progress --into "$into" >"$dir/rebuild.out" 2>"$dir/rebuild.err" || rc=$?
t1=$(date +%s.%N)
if [ "$rc" != 0 ]; then
  cat "$dir/rebuild.err" >&2
  if grep -q "refusing" "$dir/rebuild.err"; then
    echo "rebuild refused $n commands: the dev Kafka dropped the oldest events (about 5 MiB kept);" \
         "use a real Kafka (KAFKA_BROKERS) or a smaller BENCH_COMMANDS" >&2
  fi
  exit 1
fi
grep -E '^replayed|^identical|DIFFERENT' "$dir/rebuild.out"
tr '\r' '\n' <"$dir/rebuild.err" | grep 'applying' | tail -n 1 | sed 's/\x1b\[K//g'   # the apply phase alone
awk -v n="$n" -v a="$t0" -v b="$t1" \
  'BEGIN { printf "rebuild: %d commands in %.1f s = %.0f commands/s\n", n, b - a, n / (b - a) }'
