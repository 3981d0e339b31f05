#!/usr/bin/env bash
# The embedded stack: PostgreSQL, Redis, the dev Kafka (librdkafka mock
# cluster), punyaka-api and N punyaka-workers, as child processes whose state
# lives in one folder. Used by scripts/run and by the test fixture.
#
#   stack.sh up DIR BUILD_DIR      start everything, migrate, write DIR/env
#   stack.sh down DIR              stop everything started in DIR (idempotent)
#   stack.sh worker-start DIR N    (re)start worker N
#   stack.sh worker-stop DIR N [SIGNAL]   signal worker N (default TERM) and wait for it
#   stack.sh worker-signal DIR N SIGNAL   only send the signal (e.g. STOP)
#
# DIR/env also names each worker's /metrics port: PUNYAKA_WORKER_<N>_METRICS_PORT.
# Environment: PUNYAKA_HTTP_PORT (default: a free port), PUNYAKA_WORKERS (2),
# PUNYAKA_STACK_FAST=1 (fsync off: tests only), PUNYAKA_STACK_FRESH=1 (wipe DIR first). DATABASE_URL / REDIS_URL /
# KAFKA_BROKERS, when set, are used instead of starting that server.
set -euo pipefail

PGBIN=/usr/lib/postgresql/15/bin
WAIT_STEPS=${PUNYAKA_STACK_WAIT_STEPS:-300}   # ×0.1 s: every wait is bounded

log() { printf '{"proc":"stack","msg":"%s"}\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

free_port() {
  local p i
  for i in $(seq 1 200); do
    p=$(( (RANDOM * 32768 + RANDOM) % 12000 + 20000 ))   # below the ephemeral range (32768+)
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  die "no free port found"
}

wait_for() {  # wait_for DESCRIPTION COMMAND...
  local what=$1 i; shift
  for i in $(seq 1 "$WAIT_STEPS"); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  die "timed out waiting for $what"
}

# start NAME CMD... : detached (own session, so Ctrl-C reaches only the
# supervisor, which stops children in order), logs in DIR/logs, pid in DIR/NAME.pid
start() {
  local name=$1; shift
  setsid "$@" >>"$DIR/logs/$name.log" 2>&1 < /dev/null &
  echo $! > "$DIR/$name.pid"
}

alive() { [ -f "$DIR/$1.pid" ] && kill -0 "$(cat "$DIR/$1.pid")" 2>/dev/null; }

stop() {  # stop NAME [SIGNAL]: signal, wait up to 15 s, then KILL
  local name=$1 sig=${2:-TERM} pid i
  [ -f "$DIR/$name.pid" ] || return 0
  pid=$(cat "$DIR/$name.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -"$sig" "$pid" 2>/dev/null || true
    for i in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name did not stop in 15 s, killing"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$DIR/$name.pid"
}

pg_dir() {
  # The server runs as user postgres, which may not reach DIR (e.g. under
  # /root): then the cluster lives in /tmp and DIR/pgdir records where.
  if [ -f "$DIR/pgdir" ]; then cat "$DIR/pgdir"; return; fi
  local d="$DIR/pg"
  mkdir -p "$d"; chown postgres:postgres "$d"
  if ! runuser -u postgres -- test -w "$d"; then
    d=$(mktemp -d /tmp/punyaka-pg.XXXXXX); chown postgres:postgres "$d"
  fi
  echo "$d" > "$DIR/pgdir"; echo "$d"
}

start_postgres() {
  local d port opts
  d=$(pg_dir); port=$(free_port)
  if [ ! -f "$d/data/PG_VERSION" ]; then
    runuser -u postgres -- "$PGBIN/initdb" -D "$d/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >>"$DIR/logs/postgres.log" 2>&1 \
      || die "initdb failed (see $DIR/logs/postgres.log)"
  fi
  opts="-p $port -k $d -c listen_addresses=127.0.0.1 -c max_connections=200"
  [ "${PUNYAKA_STACK_FAST:-0}" = 1 ] && opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$d/data" -l "$d/server.log" -o "$opts" -w -t 60 start >>"$DIR/logs/postgres.log" 2>&1 \
    || die "postgres failed to start (see $d/server.log)"
  echo "$port" > "$DIR/pg.port"
  DATABASE_URL="postgresql://postgres@127.0.0.1:$port/punyaka"
}

stop_postgres() {
  [ -f "$DIR/pgdir" ] && [ -f "$(cat "$DIR/pgdir")/data/postmaster.pid" ] || return 0
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$(cat "$DIR/pgdir")/data" -m fast -w -t 30 stop >>"$DIR/logs/postgres.log" 2>&1 || true
}

start_redis() {
  local port; port=$(free_port)
  mkdir -p "$DIR/redis"
  start redis redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$DIR/redis" --daemonize no --maxclients 2000
  wait_for "redis" redis-cli -p "$port" ping
  REDIS_URL="redis://127.0.0.1:$port"
}

start_kafka() {
  rm -f "$DIR/kafka.bootstrap"
  # kafka.ctl: fault commands for tests (punyaka-devkafka ctl DIR/kafka.ctl down all)
  start devkafka "$BUILD/common/punyaka-devkafka" --bootstrap-file "$DIR/kafka.bootstrap" --control "$DIR/kafka.ctl"
  wait_for "dev kafka" test -s "$DIR/kafka.bootstrap"
  KAFKA_BROKERS=$(cat "$DIR/kafka.bootstrap")
}

worker_start() {
  local n=$1
  # shellcheck disable=SC1091
  set -a; . "$DIR/env"; set +a
  rm -f "$DIR/worker-$n.ready"
  # Each worker serves /metrics on its own port, recorded in DIR/env (up).
  local metrics_port="PUNYAKA_WORKER_${n}_METRICS_PORT"
  PUNYAKA_INSTANCE_ID="worker-$n" PUNYAKA_READY_FILE="$DIR/worker-$n.ready" PUNYAKA_METRICS_PORT="${!metrics_port:-0}" \
    start "worker-$n" "$BUILD/workers/punyaka-worker"
}

up() {
  if [ "${PUNYAKA_STACK_FRESH:-0}" = 1 ]; then   # tests: start from empty state
    (down) >/dev/null 2>&1 || true
    [ -f "$DIR/pgdir" ] && rm -rf "$(cat "$DIR/pgdir")"
    rm -rf "${DIR:?}"/*
  fi
  mkdir -p "$DIR/logs"
  echo "$BUILD" > "$DIR/build"
  local ext_pg=${DATABASE_URL:-} ext_redis=${REDIS_URL:-} ext_kafka=${KAFKA_BROKERS:-}
  [ -n "$ext_pg" ] || start_postgres
  [ -n "$ext_redis" ] || start_redis
  [ -n "$ext_kafka" ] || start_kafka
  "$BUILD/migrations/punyaka-migrate" --create-db --dsn "$DATABASE_URL" >>"$DIR/logs/migrate.log" 2>&1 \
    || die "migrations failed (see $DIR/logs/migrate.log)"
  local port=${PUNYAKA_HTTP_PORT:-$(free_port)}
  # KYC encryption key (docs/kyc.md): an operator's PUNYAKA_DATA_KEY wins;
  # otherwise a dev key made once and kept in DIR (losing it makes stored KYC unreadable).
  local data_key=${PUNYAKA_DATA_KEY:-}
  if [ -z "$data_key" ]; then
    [ -s "$DIR/data.key" ] || (umask 077; od -An -N32 -tx1 /dev/urandom | tr -d ' \n' > "$DIR/data.key")
    chmod 600 "$DIR/data.key"; data_key=$(cat "$DIR/data.key")
  fi
  # The dev Kafka answers an empty fetch only after fetch.wait.max.ms, even
  # when data arrives meanwhile (docs/kafka.md): workers poll it every 5 ms.
  rm -f "$DIR/env"; (umask 077; : > "$DIR/env")   # it holds the key: owner only
  cat > "$DIR/env" <<ENV
DATABASE_URL=$DATABASE_URL
REDIS_URL=$REDIS_URL
KAFKA_BROKERS=$KAFKA_BROKERS
PUNYAKA_HTTP_PORT=$port
PUNYAKA_API_URL=http://127.0.0.1:$port
PUNYAKA_TOPIC_PREFIX=${PUNYAKA_TOPIC_PREFIX:-punyaka.}
PUNYAKA_WEB_ROOT=${PUNYAKA_WEB_ROOT:-$SRC/web}
PUNYAKA_CORS_ORIGINS=${PUNYAKA_CORS_ORIGINS:-http://localhost:3000}
PUNYAKA_DATA_KEY=$data_key
PUNYAKA_KAFKA_FETCH_WAIT_MS=${PUNYAKA_KAFKA_FETCH_WAIT_MS:-5}
ENV
  [ -n "$ext_kafka" ] || echo "PUNYAKA_DEVKAFKA_CONTROL=$DIR/kafka.ctl" >> "$DIR/env"
  local n p used=" $port "
  for n in $(seq 1 "${PUNYAKA_WORKERS:-2}"); do   # worker metrics ports, distinct
    p=$(free_port); while [[ $used == *" $p "* ]]; do p=$(free_port); done
    used="$used$p "; echo "PUNYAKA_WORKER_${n}_METRICS_PORT=$p" >> "$DIR/env"
  done
  (set -a; . "$DIR/env"; set +a; PUNYAKA_INSTANCE_ID=api-1 start api "$BUILD/api/punyaka-api")
  for n in $(seq 1 "${PUNYAKA_WORKERS:-2}"); do worker_start "$n"; done
  wait_for "api /readyz" curl -fsS "http://127.0.0.1:$port/readyz"
  for n in $(seq 1 "${PUNYAKA_WORKERS:-2}"); do wait_for "worker-$n joining its group" test -f "$DIR/worker-$n.ready"; done
  log "stack up: api http://127.0.0.1:$port"
}

down() {
  [ -d "$DIR" ] || return 0
  mkdir -p "$DIR/logs"
  local f
  # Workers leave their group in parallel (each may wait on a rebalance).
  for f in "$DIR"/worker-*.pid; do [ -e "$f" ] && kill -CONT "$(cat "$f")" 2>/dev/null; done
  for f in "$DIR"/worker-*.pid; do [ -e "$f" ] && stop "$(basename "$f" .pid)" & done
  stop api
  wait
  stop devkafka
  stop redis
  stop_postgres
  log "stack down"
  # Sanitizer builds report leaks and UB at exit, into the process logs.
  if grep -l -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$DIR"/logs/*.log 2>/dev/null; then
    grep -h -A30 -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$DIR"/logs/*.log | head -120 >&2
    die "sanitizer reports found in the logs above"
  fi
}

cmd=${1:-}; DIR=${2:-}
[ -n "$cmd" ] && [ -n "$DIR" ] || die "usage: stack.sh up|down|worker-start|worker-stop DIR ..."
mkdir -p "$DIR"; DIR=$(cd "$DIR" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
case "$cmd" in
  up) BUILD=$(cd "${3:?build dir}" && pwd); trap 'down' ERR; up ;;
  down) down ;;
  worker-start) BUILD=$(cat "$DIR/build"); worker_start "${3:?worker number}" ;;
  worker-stop) stop "worker-${3:?worker number}" "${4:-TERM}" ;;
  worker-signal) kill -"${4:?signal}" "$(cat "$DIR/worker-${3:?worker number}.pid")" ;;
  *) die "unknown command $cmd" ;;
esac
