#!/usr/bin/env bash
# test_redis_aof.sh — the embedded Redis keeps what it holds across a restart
# (append-only file, as in production): a signed-in user is still signed in
# and a key written before is still there after `stack.sh restart DIR redis`.
# (It used to run with --appendonly no --save '': a restart logged everyone
# out and emptied every cart.)
set -euo pipefail
. "$(dirname "$0")/support.sh"

work=$(new_work); dir="$work/stack"
trap 'cleanup_stack; rm -rf "$work"' EXIT

PUNYAKA_STACK_FRESH=1 PUNYAKA_STACK_FAST=1 "$STACK" up "$dir" "$PUNYAKA_BUILD_DIR" 2> "$work/up.log" ||
  { tail -n 20 "$work/up.log" >&2; fail "stack up"; }
remember_pids
api=$(env_of PUNYAKA_API_URL)
redis_url=$(env_of REDIS_URL); port=${redis_url##*:}

sign_in "$api" "aof$$" > /dev/null
me() { curl -s -o /dev/null -w '%{http_code}' -b "$work/jar" "$api/api/auth/me/"; }
[ "$(me)" = 200 ] || fail "GET me before the restart answered $(me)"
redis-cli --no-auth-warning -u "$redis_url" set punyaka:test:aof "still-here" > /dev/null
echo "ok signed in, key written"

old_pid=$(pid_of "$dir" redis)
timeout 60 "$STACK" restart "$dir" redis 2> "$work/restart.log" || { cat "$work/restart.log" >&2; fail "stack.sh restart redis"; }
new_pid=$(pid_of "$dir" redis)
running "$new_pid" && [ "$new_pid" != "$old_pid" ] || fail "redis was not restarted (pid $old_pid -> $new_pid)"
[ "$(env_of REDIS_URL)" = "$redis_url" ] || fail "redis moved: $(env_of REDIS_URL)"
echo "ok redis restarted on port $port (pid $old_pid -> $new_pid)"

got=$(redis-cli --no-auth-warning -u "$redis_url" get punyaka:test:aof)
[ "$got" = still-here ] || fail "the key is gone after the restart (got '$got')"
ls "$dir"/redis/appendonlydir/*.aof* > /dev/null 2>&1 || fail "no append-only file in $dir/redis"
# The API reconnects by itself; the session is the same one.
wait_until 15 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -b '$work/jar' '$api/api/auth/me/')\" = 200 ]" ||
  fail "GET me after the restart answered $(me): the session was lost"
echo "ok the key and the session survived the restart"
echo PASS test_redis_aof
