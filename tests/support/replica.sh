#!/usr/bin/env bash
# replica.sh — a streaming replica of the test stack's PostgreSQL, for
# tests/it/it_read_replica.c (api/replica.h). Runs as root like
# scripts/lib/stack.sh and starts the server as the OS user postgres.
#   replica.sh start STACK_DIR PORT   pg_basebackup -R from the stack's primary, then start it on PORT
#   replica.sh stop STACK_DIR         stop it (immediate: like a crash; its data stays for `restart`)
#   replica.sh restart STACK_DIR      start the stopped replica again on its port
#   replica.sh remove STACK_DIR       stop it and delete its data
# The replica's data lives in /tmp (the user postgres may not reach
# STACK_DIR); STACK_DIR/replica.dir and replica.port say where.
set -euo pipefail
PGBIN=/usr/lib/postgresql/15/bin
cmd=${1:?usage: replica.sh start|stop|restart|remove STACK_DIR [PORT]}
DIR=${2:?STACK_DIR}

pg_ctl_start() {  # pg_ctl_start DATA_DIR PORT
  # The primary runs with max_connections=200 (stack.sh): a hot standby
  # needs at least as many.
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$1/data" -l "$1/server.log" -w -t 60 \
    -o "-p $2 -k $1 -c listen_addresses=127.0.0.1 -c max_connections=200 -c hot_standby=on" start >/dev/null
}

case "$cmd" in
  start)
    port=${3:?PORT}
    d=$(mktemp -d /tmp/punyaka-replica.XXXXXX)
    chown postgres:postgres "$d"
    echo "$d" > "$DIR/replica.dir"
    # The password reaches pg_basebackup (and the replica's primary_conninfo,
    # written by -R) through a passfile only the user postgres can read.
    (umask 077; printf '127.0.0.1:%s:*:postgres:%s\n' "$(cat "$DIR/pg.port")" "$(cat "$DIR/pg-owner.pass")" > "$d/pgpass")
    chown postgres "$d/pgpass"
    runuser -u postgres -- env PGPASSFILE="$d/pgpass" "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$(cat "$DIR/pg.port")" \
      -U postgres -D "$d/data" -R -X stream -c fast -N >"$d/basebackup.log" 2>&1 \
      || { cat "$d/basebackup.log" >&2; exit 1; }
    echo "$port" > "$DIR/replica.port"
    pg_ctl_start "$d" "$port"
    ;;
  stop)
    d=$(cat "$DIR/replica.dir")
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$d/data" -m immediate -w -t 30 stop >/dev/null
    ;;
  restart)
    pg_ctl_start "$(cat "$DIR/replica.dir")" "$(cat "$DIR/replica.port")"
    ;;
  remove)
    [ -f "$DIR/replica.dir" ] || exit 0
    d=$(cat "$DIR/replica.dir")
    if [ -f "$d/data/postmaster.pid" ]; then
      runuser -u postgres -- "$PGBIN/pg_ctl" -D "$d/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    fi
    case "$d" in /tmp/punyaka-replica.*) rm -rf "$d" ;; esac
    rm -f "$DIR/replica.dir" "$DIR/replica.port"
    ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
