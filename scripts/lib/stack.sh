#!/usr/bin/env bash
# The embedded stack: PostgreSQL, Redis, the dev Kafka (librdkafka mock
# cluster), punyaka-api, N punyaka-workers, punyaka-notifier and punyaka-mailer, as child
# processes whose state lives in one folder. Used by scripts/run and by the
# test fixture.
#
#   stack.sh up DIR BUILD_DIR      start everything, migrate, write DIR/env
#   stack.sh down DIR              stop everything started in DIR, in order (below);
#                                  every step is tolerant: it never stops half-way, and is idempotent
#   stack.sh restart DIR NAME      stop (if alive) and start again one of: api, worker-N,
#                                  notifier, mailer, redis, postgres, devkafka — on the ports it had (scripts/run's supervisor)
#   stack.sh worker-start DIR N    (re)start worker N
#   stack.sh worker-stop DIR N [SIGNAL]   signal worker N (default TERM) and wait for it
#   stack.sh worker-signal DIR N SIGNAL   only send the signal (e.g. STOP)
#
# Order of `down`: the API first (no new commands), then the workers drain
# what Kafka holds (bounded), then they stop (SIGTERM: the message in hand is
# finished and committed), then the notifier (the event in hand is finished),
# then the mailer (it finishes the mail in hand), then the dev Kafka, then
# Redis and PostgreSQL.
#
# The mailer (docs/mail.md) sends over SMTP when SMTP_URL is set; by default
# it writes each mail as an .eml file into DIR/outbox (PUNYAKA_MAIL_OUTBOX),
# so the embedded stack needs no mail server.
#
# DIR/env also names each worker's /metrics port: PUNYAKA_WORKER_<N>_METRICS_PORT,
# the notifier's: PUNYAKA_NOTIFIER_METRICS_PORT, and the API's: PUNYAKA_API_METRICS_PORT (loopback only).
# Steps are logged to stderr and DIR/logs/stack.log.
# Environment: PUNYAKA_HTTP_PORT (default: a free port), PUNYAKA_WORKERS (2),
# PUNYAKA_STACK_FAST=1 (fsync off: tests only), PUNYAKA_STACK_FRESH=1 (wipe DIR first),
# PUNYAKA_DRAIN_TIMEOUT_S (30: down's bound on the drain). DATABASE_URL / REDIS_URL /
# KAFKA_BROKERS, when set, are used instead of starting that server.
#
# Credentials (issue 13; docs/operations.md "Credentials"): each is made once per
# DIR into an owner-only file unless supplied, and DIR/env (owner only) carries them.
#   DIR/redis.pass      Redis requirepass (PUNYAKA_REDIS_PASSWORD); REDIS_URL=redis://default:PASS@host:port
#   DIR/pg-owner.pass   the `postgres` superuser, owner of the tables: migrations only
#                       (PUNYAKA_OWNER_DATABASE_URL); password auth over TCP, peer on the socket
#   DIR/pg-api.pass     role punyaka_api, SELECT only: the API (PUNYAKA_API_DATABASE_URL)
#   DIR/pg-worker.pass  role punyaka_worker, DML only: workers, punyaka-admin, punyaka-replay
#                       (DATABASE_URL)
#   DIR/session.key     PUNYAKA_SESSION_KEY: authenticates session records (api/session.h)
set -euo pipefail
# shellcheck source=scripts/lib/procs.sh
. "$(dirname "$0")/procs.sh"

PGBIN=/usr/lib/postgresql/15/bin
WAIT_STEPS=${PUNYAKA_STACK_WAIT_STEPS:-300}   # ×0.1 s: every wait is bounded

log() {
  local line
  line=$(printf '{"ts":"%s","proc":"stack","msg":"%s"}' "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$*")
  echo "$line" >&2
  if [ -d "${DIR:-}/logs" ]; then echo "$line" >> "$DIR/logs/stack.log" 2>/dev/null || true; fi
}
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

alive() { proc_alive "$DIR" "$1"; }

# secret FILE [VALUE]: prints the secret kept in FILE (owner only), storing
# VALUE there first when given, else 32 random bytes as hex made once.
secret() {
  if [ -n "${2:-}" ]; then (umask 077; printf '%s' "$2" > "$1")
  elif [ ! -s "$1" ]; then (umask 077; od -An -N32 -tx1 /dev/urandom | tr -d ' \n' > "$1"); fi
  chmod 600 "$1"; cat "$1"
}

# stop NAME [SIGNAL]: signal, wait up to 15 s, then KILL. Never fails: a
# missing pid file, a stale pid or a process that is already gone are fine.
# The pid file goes first, so a supervisor never restarts what is being stopped.
stop() {
  local name=$1 sig=${2:-TERM} pid
  pid=$(pid_of "$DIR" "$name")
  rm -f "$DIR/$name.pid"
  running "$pid" || return 0
  kill -"$sig" "$pid" 2>/dev/null || true
  kill -CONT "$pid" 2>/dev/null || true   # a paused process must wake up to act on it
  for _ in $(seq 1 150); do running "$pid" || return 0; sleep 0.1; done
  log "$name did not stop in 15 s, killing"
  kill -KILL "$pid" 2>/dev/null || true
  return 0
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

start_postgres() {  # start_postgres [PORT]
  local d port=${1:-} opts
  d=$(pg_dir); [ -n "$port" ] || port=$(free_port)
  if [ ! -f "$d/data/PG_VERSION" ]; then
    # TCP needs a password (scram); the socket only lets the OS user postgres in (peer).
    (umask 077; secret "$DIR/pg-owner.pass" > "$d/pwfile"); chown postgres "$d/pwfile"
    runuser -u postgres -- "$PGBIN/initdb" -D "$d/data" -U postgres --auth-local=peer --auth-host=scram-sha-256 \
      --pwfile="$d/pwfile" -E UTF8 --locale=C.UTF-8 --no-sync >>"$DIR/logs/postgres.log" 2>&1 \
      || { rm -f "$d/pwfile"; die "initdb failed (see $DIR/logs/postgres.log)"; }
    rm -f "$d/pwfile"
  fi
  opts="-p $port -k $d -c listen_addresses=127.0.0.1 -c max_connections=200"
  [ "${PUNYAKA_STACK_FAST:-0}" = 1 ] && opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$d/data" -l "$d/server.log" -o "$opts" -w -t 60 start >>"$DIR/logs/postgres.log" 2>&1 \
    || die "postgres failed to start (see $d/server.log)"
  echo "$port" > "$DIR/pg.port"
  DATABASE_URL="postgresql://postgres:$(secret "$DIR/pg-owner.pass")@127.0.0.1:$port/punyaka"
}

stop_postgres() {
  [ -f "$DIR/pgdir" ] && [ -f "$(cat "$DIR/pgdir")/data/postmaster.pid" ] || return 0
  local pid; pid=$(pid_of "$DIR" postgres)
  if running "$pid"; then kill -CONT "$pid" 2>/dev/null || true; fi
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$(cat "$DIR/pgdir")/data" -m fast -w -t 30 stop >>"$DIR/logs/postgres.log" 2>&1 || true
  return 0
}

# Redis keeps sessions, carts and pending-command notes: as in production
# (docker-compose.yml) it writes an append-only file, fsynced every second,
# in DIR/redis, so a restart loses at most the last second.
# Clients must AUTH with the password (requirepass, in an owner-only config
# file rather than on the command line, where `ps` would show it).
start_redis() {  # start_redis [PORT]
  local port=${1:-} pass
  [ -n "$port" ] || port=$(free_port)
  mkdir -p "$DIR/redis"
  pass=$(secret "$DIR/redis.pass" "${PUNYAKA_REDIS_PASSWORD:-}")
  (umask 077; printf 'requirepass %s\n' "$pass" > "$DIR/redis/redis.conf")
  # A memory budget, and what goes first when it is reached: volatile-ttl
  # evicts the keys nearest their expiry — rate-limit counters (≤ 1 h),
  # command markers and Idempotency-Key records (≤ 24 h) — before sessions
  # (14 days, sliding) and carts (30 days); docs/operations.md "Redis memory".
  start redis redis-server "$DIR/redis/redis.conf" --port "$port" --bind 127.0.0.1 --save '' --appendonly yes --appendfsync everysec \
    --dir "$DIR/redis" --daemonize no --maxclients 2000 \
    --maxmemory "${PUNYAKA_REDIS_MAXMEMORY:-256mb}" --maxmemory-policy volatile-ttl
  echo "$port" > "$DIR/redis.port"
  wait_for "redis" env REDISCLI_AUTH="$pass" redis-cli -p "$port" ping
  REDIS_URL="redis://default:$pass@127.0.0.1:$port"   # `default`: the requirepass user (redis-cli -u needs a name)
}

# The dev Kafka records its brokers' ports in DIR/kafka.ports at the first
# start and listens on them again after a restart (tools/devkafka/devkafka.c), so the
# API and the workers reconnect by themselves. Its data is in memory only: a
# restarted one is empty, with the topics created again.
start_kafka() {
  rm -f "$DIR/kafka.bootstrap"
  # kafka.ctl: fault commands for tests (punyaka-devkafka ctl DIR/kafka.ctl down all)
  start devkafka "$BUILD/tools/devkafka/punyaka-devkafka" --bootstrap-file "$DIR/kafka.bootstrap" \
    --ports-file "$DIR/kafka.ports" --control "$DIR/kafka.ctl"
  wait_for "dev kafka" test -s "$DIR/kafka.bootstrap"
  KAFKA_BROKERS=$(cat "$DIR/kafka.bootstrap")
}

api_start() {
  # The API reads PostgreSQL only: it connects as the read-only role.
  # shellcheck disable=SC1091
  (set -a; . "$DIR/env"; set +a; DATABASE_URL=${PUNYAKA_API_DATABASE_URL:-$DATABASE_URL} PUNYAKA_INSTANCE_ID=api-1 \
     start api "$BUILD/api/punyaka-api")
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

# punyaka-notifier (workers/notify/): the events topic's notifications, in
# its own consumer group (PUNYAKA_NOTIFIER_GROUP_ID from the caller's
# environment wins: tests re-consume the log from offset 0 with a new group).
notifier_start() {
  # shellcheck disable=SC1091
  set -a; . "$DIR/env"; set +a
  rm -f "$DIR/notifier.ready"
  PUNYAKA_INSTANCE_ID=notifier PUNYAKA_READY_FILE="$DIR/notifier.ready" \
  PUNYAKA_METRICS_PORT="${PUNYAKA_NOTIFIER_METRICS_PORT:-0}" \
    start notifier "$BUILD/workers/punyaka-notifier"
}

# The test stack's SMTP server (PUNYAKA_STACK_SMTP_SINK=1, ctest's stack
# fixture): tests/support/smtp_sink.py (Debian's aiosmtpd) saves every mail
# the stack's mailer delivers into DIR/smtp-sink, so the integration tests
# read what really went out over SMTP (tests/support/mail_sink.h).
smtp_sink_start() {
  rm -f "$DIR/smtp-sink.port"; mkdir -p "$DIR/smtp-sink"
  start smtp-sink /usr/bin/python3 "$SRC/tests/support/smtp_sink.py" --dir "$DIR/smtp-sink" \
    --port-file "$DIR/smtp-sink.port"
  wait_for "the SMTP sink" test -s "$DIR/smtp-sink.port"
  SMTP_URL="smtp://127.0.0.1:$(cat "$DIR/smtp-sink.port")"
}

# punyaka-mailer: the notification e-mails (docs/mail.md), as the workers'
# role. SMTP_URL (and SMTP_TLS) from the environment or DIR/env; without it
# the mails become .eml files in DIR/outbox.
mailer_start() {
  # shellcheck disable=SC1091
  set -a; . "$DIR/env"; set +a
  rm -f "$DIR/mailer.ready"
  PUNYAKA_INSTANCE_ID=mailer PUNYAKA_READY_FILE="$DIR/mailer.ready" \
    PUNYAKA_MAIL_OUTBOX="${PUNYAKA_MAIL_OUTBOX:-$DIR/outbox}" \
    start mailer "$BUILD/workers/punyaka-mailer"
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
  # A new stack's dev Kafka chooses new ports (an old record may name a port
  # taken since); only `restart devkafka` reuses them.
  [ -n "$ext_kafka" ] || { rm -f "$DIR/kafka.ports"; start_kafka; }
  # Migrations as the owner; the services as roles that own nothing (issue 13).
  local owner_url=$DATABASE_URL api_url=$DATABASE_URL worker_url=$DATABASE_URL roles=()
  if [ -z "$ext_pg" ]; then
    local pg
    pg="127.0.0.1:$(cat "$DIR/pg.port")/punyaka"
    api_url="postgresql://punyaka_api:$(secret "$DIR/pg-api.pass")@$pg"
    worker_url="postgresql://punyaka_worker:$(secret "$DIR/pg-worker.pass")@$pg"
    roles=(--reader punyaka_api --writer punyaka_worker)
  fi
  PUNYAKA_DB_READER_PASSWORD=$(cat "$DIR/pg-api.pass" 2>/dev/null || true) \
  PUNYAKA_DB_WRITER_PASSWORD=$(cat "$DIR/pg-worker.pass" 2>/dev/null || true) \
    "$BUILD/migrations/punyaka-migrate" --create-db --dsn "$owner_url" "${roles[@]}" >>"$DIR/logs/migrate.log" 2>&1 \
    || die "migrations failed (see $DIR/logs/migrate.log)"
  local port=${PUNYAKA_HTTP_PORT:-$(free_port)}
  # Secret keys, 32 random bytes as 64 hex characters each: an operator's
  # value in the environment wins; otherwise one is made once and kept in
  # DIR (owner only), because losing it loses data:
  #   PUNYAKA_DATA_KEY        seals priest KYC (docs/kyc.md)
  #   PUNYAKA_CREDENTIAL_KEY  seals password hashes in the log (common/sealed.h);
  #                           `punyaka-replay rebuild` needs the one the log was written with
  #   PUNYAKA_IDEMPOTENCY_KEY keys command ids derived from Idempotency-Keys, so
  #                           a retry maps to the same command after a restart
  #   PUNYAKA_COMMAND_KEY     signs every command (schemas/command-envelope.md); the
  #                           workers apply only what verifies (an operator's
  #                           PUNYAKA_COMMAND_KEY_PREVIOUS is passed on during a rotation)
  local data_key credential_key idem_key command_key
  data_key=$(secret "$DIR/data.key" "${PUNYAKA_DATA_KEY:-}")
  credential_key=$(secret "$DIR/credential.key" "${PUNYAKA_CREDENTIAL_KEY:-}")
  idem_key=$(secret "$DIR/idempotency.key" "${PUNYAKA_IDEMPOTENCY_KEY:-}")
  command_key=$(secret "$DIR/command.key" "${PUNYAKA_COMMAND_KEY:-}")
  # The dev Kafka answers an empty fetch only after fetch.wait.max.ms, even
  # when data arrives meanwhile (docs/kafka.md): workers poll it every 5 ms.
  # Tests register hundreds of users from 127.0.0.1: the per-address
  # limits (20 registrations an hour, 4 waiting password checks) are for
  # real clients; it_throttle tests them on an API of its own.
  local register_max=20 hash_per_client=4
  [ "${PUNYAKA_STACK_FAST:-0}" = 1 ] && register_max=1000000 hash_per_client=32
  # The build's web/ carries the precompressed `.gz` files (CMakeLists.txt,
  # api/compress.h); a build without it (older) gets the sources.
  local web_root="$BUILD/web"; [ -d "$web_root" ] || web_root="$SRC/web"
  local session_key; session_key=$(secret "$DIR/session.key" "${PUNYAKA_SESSION_KEY:-}")
  rm -f "$DIR/env"; (umask 077; : > "$DIR/env")   # it holds the keys: owner only
  cat > "$DIR/env" <<ENV
DATABASE_URL=$worker_url
PUNYAKA_API_DATABASE_URL=$api_url
PUNYAKA_OWNER_DATABASE_URL=$owner_url
REDIS_URL=$REDIS_URL
PUNYAKA_SESSION_KEY=$session_key
KAFKA_BROKERS=$KAFKA_BROKERS
PUNYAKA_HTTP_PORT=$port
PUNYAKA_API_URL=http://127.0.0.1:$port
PUNYAKA_TOPIC_PREFIX=${PUNYAKA_TOPIC_PREFIX:-punyaka.}
PUNYAKA_WEB_ROOT=${PUNYAKA_WEB_ROOT:-$web_root}
PUNYAKA_OPENAPI_FILE=${PUNYAKA_OPENAPI_FILE:-$SRC/schemas/openapi.yaml}
PUNYAKA_OPENAPI_JSON_FILE=${PUNYAKA_OPENAPI_JSON_FILE:-$BUILD/openapi.json}
PUNYAKA_CORS_ORIGINS=${PUNYAKA_CORS_ORIGINS:-http://localhost:3000}
PUNYAKA_DATA_KEY=$data_key
PUNYAKA_CREDENTIAL_KEY=$credential_key
PUNYAKA_IDEMPOTENCY_KEY=$idem_key
PUNYAKA_COMMAND_KEY=$command_key
PUNYAKA_KAFKA_FETCH_WAIT_MS=${PUNYAKA_KAFKA_FETCH_WAIT_MS:-5}
PUNYAKA_REGISTER_MAX_PER_IP=${PUNYAKA_REGISTER_MAX_PER_IP:-$register_max}
PUNYAKA_HASH_QUEUE_PER_CLIENT=${PUNYAKA_HASH_QUEUE_PER_CLIENT:-$hash_per_client}
PUNYAKA_PUBLIC_URL=${PUNYAKA_PUBLIC_URL:-http://localhost:$port}
ENV
  # The mailer's SMTP server, when the operator gave one (else: DIR/outbox).
  [ "${PUNYAKA_STACK_SMTP_SINK:-0}" != 1 ] || smtp_sink_start
  # Quoted for the shell that sources DIR/env: a password may hold anything.
  [ -z "${SMTP_URL:-}" ] || printf 'SMTP_URL=%q\n' "$SMTP_URL" >> "$DIR/env"
  [ -z "${SMTP_TLS:-}" ] || printf 'SMTP_TLS=%q\n' "$SMTP_TLS" >> "$DIR/env"
  [ -z "${PUNYAKA_MAIL_FROM:-}" ] || printf 'PUNYAKA_MAIL_FROM=%q\n' "$PUNYAKA_MAIL_FROM" >> "$DIR/env"
  [ -n "$ext_kafka" ] || echo "PUNYAKA_DEVKAFKA_CONTROL=$DIR/kafka.ctl" >> "$DIR/env"
  [ -z "${PUNYAKA_COMMAND_KEY_PREVIOUS:-}" ] || echo "PUNYAKA_COMMAND_KEY_PREVIOUS=$PUNYAKA_COMMAND_KEY_PREVIOUS" >> "$DIR/env"
  local n p used=" $port "
  for n in $(seq 1 "${PUNYAKA_WORKERS:-2}"); do   # worker metrics ports, distinct
    p=$(free_port); while [[ $used == *" $p "* ]]; do p=$(free_port); done
    used="$used$p "; echo "PUNYAKA_WORKER_${n}_METRICS_PORT=$p" >> "$DIR/env"
  done
  p=$(free_port); while [[ $used == *" $p "* ]]; do p=$(free_port); done   # the notifier's /metrics
  used="$used$p "; echo "PUNYAKA_NOTIFIER_METRICS_PORT=$p" >> "$DIR/env"
  p=$(free_port); while [[ $used == *" $p "* ]]; do p=$(free_port); done   # the API's /metrics, on loopback
  echo "PUNYAKA_API_METRICS_PORT=$p" >> "$DIR/env"
  api_start
  for n in $(seq 1 "${PUNYAKA_WORKERS:-2}"); do worker_start "$n"; done
  notifier_start
  mailer_start
  wait_for "api /readyz" curl -fsS "http://127.0.0.1:$port/readyz"
  for n in $(seq 1 "${PUNYAKA_WORKERS:-2}"); do wait_for "worker-$n joining its group" test -f "$DIR/worker-$n.ready"; done
  wait_for "notifier joining its group" test -f "$DIR/notifier.ready"
  wait_for "the mailer" test -f "$DIR/mailer.ready"
  log "stack up: api http://127.0.0.1:$port"
}

# restart NAME: the process comes back on the ports it had (DIR/env is
# unchanged), so the others reconnect by themselves.
restart() {
  local name=$1
  case "$name" in
    api) stop api; api_start ;;
    worker-[0-9]*) stop "$name"; worker_start "${name#worker-}" ;;
    notifier) stop notifier; notifier_start ;;
    mailer) stop mailer; mailer_start ;;
    redis)
      [ -f "$DIR/redis.port" ] || die "redis was not started by this stack"
      stop redis; start_redis "$(cat "$DIR/redis.port")" ;;
    postgres)
      [ -f "$DIR/pg.port" ] || die "postgres was not started by this stack"
      stop_postgres; start_postgres "$(cat "$DIR/pg.port")" ;;
    devkafka)
      [ -f "$DIR/kafka.ports" ] || die "the dev Kafka was not started by this stack"
      stop devkafka; start_kafka
      [ "$KAFKA_BROKERS" = "$(env_get KAFKA_BROKERS)" ] \
        || die "the dev Kafka came back on $KAFKA_BROKERS, not $(env_get KAFKA_BROKERS)" ;;
    *) die "restart: unknown process $name" ;;
  esac
  log "restarted $name"
}

env_get() { sed -n "s/^$1=//p" "$DIR/env" 2>/dev/null | tail -n 1; }

# Partitions of the topics the workers consume (workers/commands.c WK_TOPICS),
# from Kafka's metadata; fails when Kafka does not answer.
command_partitions() {
  local meta prefix t n sum=0
  meta=$(timeout 15 kcat -b "$(env_get KAFKA_BROKERS)" -L -m 5 2>/dev/null) || return 1
  prefix=$(env_get PUNYAKA_TOPIC_PREFIX)
  for t in accounts bookings orders catalog; do
    n=$(sed -n "s/^ *topic \"${prefix//./\\.}$t\" with \([0-9]*\) partitions:.*/\1/p" <<<"$meta" | head -n 1)
    sum=$((sum + ${n:-0}))
  done
  echo "$sum"
}

# "PARTITIONS LAG" over the running workers' /metrics: how many distinct
# partitions they report and their total lag; "0 0" when none answers.
worker_lag() {
  local f n port
  for f in "$DIR"/worker-*.pid; do
    [ -e "$f" ] || continue
    n=$(basename "$f" .pid); n=${n#worker-}
    running "$(pid_of "$DIR" "worker-$n")" || continue
    port=$(env_get "PUNYAKA_WORKER_${n}_METRICS_PORT")
    if [ -z "$port" ] || [ "$port" = 0 ]; then continue; fi
    curl -s --max-time 3 "http://127.0.0.1:$port/metrics" 2>/dev/null || true
  done | awk '/^punyaka_worker_consumer_lag\{/ { seen[$1] = 1; lag += $2 }
              END { n = 0; for (k in seen) n++; print n, lag + 0 }'
}

any_worker_running() {
  local f
  for f in "$DIR"/worker-*.pid; do
    [ -e "$f" ] && running "$(pid_of "$DIR" "$(basename "$f" .pid)")" && return 0
  done
  return 1
}

# Bounded wait (PUNYAKA_DRAIN_TIMEOUT_S, 30 s) until the running workers have
# taken everything Kafka holds: every command partition is owned by a running
# worker whose /metrics reports lag 0 for it, in 5 samples in a row (≥ 1 s: a
# worker that was just resumed still shows the watermarks it knew before).
# Never fails; says why when it gives up.
drain() {
  local limit=${PUNYAKA_DRAIN_TIMEOUT_S:-30} want have=0 lag=0 calm=0 deadline
  any_worker_running || { log "drain: no worker running"; return 0; }
  if [ -f "$DIR/devkafka.pid" ] && ! alive devkafka; then log "drain: the dev Kafka is gone, nothing to drain"; return 0; fi
  want=$(command_partitions) || { log "drain: Kafka does not answer, nothing to drain"; return 0; }
  deadline=$((SECONDS + limit))
  while [ "$SECONDS" -lt "$deadline" ]; do
    read -r have lag < <(worker_lag)
    if [ "$have" -ge "$want" ] && [ "$lag" = 0 ]; then calm=$((calm + 1)); else calm=0; fi
    if [ "$calm" -ge 5 ]; then log "drained: lag 0 on $have partitions"; return 0; fi
    any_worker_running || { log "drain: no worker running any more (lag $lag)"; return 0; }
    sleep 0.2
  done
  log "drain: gave up after ${limit} s: lag $lag on $have of $want partitions"
  return 0
}

down() {
  [ -d "$DIR" ] || return 0
  mkdir -p "$DIR/logs"
  local f pid
  # 1. The API: no new commands (it flushes what it has published, then exits).
  stop api
  # 2. Paused processes resume (tests pause them with SIGSTOP); the workers
  #    take what Kafka still holds.
  for f in "$DIR"/*.pid; do
    [ -e "$f" ] || continue
    pid=$(pid_of "$DIR" "$(basename "$f" .pid)")
    if running "$pid"; then kill -CONT "$pid" 2>/dev/null || true; fi
  done
  drain
  # 3. The workers, in parallel: each finishes the message in hand, commits,
  #    leaves its group.
  for f in "$DIR"/worker-*.pid; do
    [ -e "$f" ] && stop "$(basename "$f" .pid)" &
  done
  wait || true
  # 4. The notifier: it finishes the event in hand and commits its offset.
  stop notifier
  # 5. The mailer: it finishes the mail in hand and gives back the rest of
  #    its batch (they stay pending in PostgreSQL for the next start).
  stop mailer
  stop smtp-sink
  # 6. Kafka, then Redis and PostgreSQL.
  stop devkafka
  stop redis
  stop_postgres
  log "stack down"
  # Sanitizer builds report leaks and UB at exit, into the process logs.
  if grep -l -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$DIR"/logs/*.log 2>/dev/null; then
    grep -h -A30 -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$DIR"/logs/*.log | head -120 >&2
    die "sanitizer reports found in the logs above"
  fi
  return 0
}

cmd=${1:-}; DIR=${2:-}
[ -n "$cmd" ] && [ -n "$DIR" ] || die "usage: stack.sh up|down|restart|worker-start|worker-stop|worker-signal DIR ..."
mkdir -p "$DIR"; DIR=$(cd "$DIR" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
case "$cmd" in
  # A failed start stops whatever it had started (die exits, so no ERR trap).
  up) BUILD=$(cd "${3:?build dir}" && pwd); trap 'rc=$?; if [ "$rc" != 0 ]; then down || true; fi' EXIT; up ;;
  down) down ;;
  restart) BUILD=$(cat "$DIR/build"); restart "${3:?process name}" ;;
  worker-start) BUILD=$(cat "$DIR/build"); worker_start "${3:?worker number}" ;;
  worker-stop) stop "worker-${3:?worker number}" "${4:-TERM}" ;;
  worker-signal) kill -"${4:?signal}" "$(cat "$DIR/worker-${3:?worker number}.pid")" ;;
  *) die "unknown command $cmd" ;;
esac
