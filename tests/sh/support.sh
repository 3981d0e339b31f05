# shellcheck shell=bash
# support.sh — sourced by the shell tests that start their own stack
# (test_supervise.sh, test_shutdown_drain.sh, test_stack_down.sh,
# test_redis_aof.sh, test_rebalance.sh). Not a test itself (ctest runs test_*.sh).
#
# The test sets `work` (its temporary folder) and `dir` (the stack folder);
# `cleanup_stack` stops that stack and, should anything survive, kills the
# processes the stack recorded, by pid.
: "${PUNYAKA_SOURCE_DIR:?}" "${PUNYAKA_BUILD_DIR:?}"
STACK="$PUNYAKA_SOURCE_DIR/scripts/lib/stack.sh"
# shellcheck source=scripts/lib/procs.sh
. "$PUNYAKA_SOURCE_DIR/scripts/lib/procs.sh"

fail() {
  echo "FAIL: $*" >&2
  if [ -n "${dir:-}" ] && [ -f "$dir/logs/stack.log" ]; then tail -n 15 "$dir/logs/stack.log" >&2; fi
  exit 1
}

# every pid the stack folder names right now (servers, workers, the API)
stack_pids() {
  local f
  for f in "$dir"/*.pid; do [ -e "$f" ] && pid_of "$dir" "$(basename "$f" .pid)"; done
  pid_of "$dir" postgres
  return 0
}

seen_pids=""
remember_pids() { seen_pids="$seen_pids $(stack_pids | tr '\n' ' ')"; }

cleanup_stack() {
  local p pg
  [ -n "${dir:-}" ] && [ -d "$dir" ] || return 0
  remember_pids
  "$STACK" down "$dir" >/dev/null 2>&1 || true
  for p in $seen_pids; do
    if running "$p"; then kill -KILL "$p" 2>/dev/null || true; fi
  done
  pg=$(cat "$dir/pgdir" 2>/dev/null || true)   # a cluster stack.sh had to put in /tmp
  case "$pg" in /tmp/punyaka-pg.*) rm -rf "$pg" ;; esac
}

# new_work: a temporary folder PostgreSQL (user postgres) may enter, so the
# stack's cluster lives inside it and goes with it
new_work() { local w; w=$(mktemp -d); chmod 755 "$w"; echo "$w"; }

# wait_until SECONDS COMMAND... — poll every 0.1 s; fails when time is up
wait_until() {
  local limit=$1; shift
  for _ in $(seq 1 $((limit * 10))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  return 1
}

env_of() { sed -n "s/^$1=//p" "$dir/env" | tail -n 1; }

# A customer signed in, in cookie jar $work/jar; prints the CSRF token.
# sign_in API_URL USERNAME
sign_in() {
  local api=$1 user=$2 code
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$api/api/auth/register/" -H 'content-type: application/json' \
    -H 'Prefer: wait=10' -d "{\"username\":\"$user\",\"email\":\"$user@example.com\",\"password\":\"correct-horse-1\"}")
  [ "$code" = 201 ] || fail "register $user answered $code"
  code=$(curl -s -c "$work/jar" -o /dev/null -w '%{http_code}' -X POST "$api/api/auth/login/" \
    -H 'content-type: application/json' -d "{\"username\":\"$user\",\"password\":\"correct-horse-1\"}")
  [ "$code" = 200 ] || fail "login $user answered $code"
  awk '$6 == "csrftoken" {print $7}' "$work/jar" | tail -n 1
}
