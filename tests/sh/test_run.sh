#!/usr/bin/env bash
# scripts/run on a fresh clone: /readyz answers 200 after start-up, the demo
# data is there, and SIGTERM leaves no child process behind.
# Reuses the binaries of the build under test (PUNYAKA_BUILD_DIR) so the test
# does not compile the project a third time; everything else is the clone's.
set -euo pipefail
: "${PUNYAKA_SOURCE_DIR:?}" "${PUNYAKA_BUILD_DIR:?}"

work=$(mktemp -d)
clone="$work/punyaka"
run_pid=""
cleanup() {
  [ -n "$run_pid" ] && kill -KILL "$run_pid" 2>/dev/null || true
  "$clone/scripts/lib/stack.sh" down "$clone/data" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; tail -n 30 "$work/run.log" >&2 || true; exit 1; }

git clone -q "$PUNYAKA_SOURCE_DIR" "$clone"
# A working tree with uncommitted changes under test: bring them along.
(cd "$PUNYAKA_SOURCE_DIR" && git diff HEAD) | (cd "$clone" && git apply --allow-empty 2>/dev/null || true)

port=$(( (RANDOM % 12000) + 20000 ))   # below the ephemeral range
PUNYAKA_HTTP_PORT=$port PUNYAKA_BUILD_DIR="$PUNYAKA_BUILD_DIR" setsid "$clone/scripts/run" > "$work/run.log" 2>&1 &
run_pid=$!

ready=""
for _ in $(seq 1 900); do   # ≤ 90 s
  if curl -fsS "http://127.0.0.1:$port/readyz" > "$work/readyz" 2>/dev/null && grep -q "Punyaka is running" "$work/run.log"; then
    ready=1; break
  fi
  kill -0 "$run_pid" 2>/dev/null || fail "scripts/run exited early"
  sleep 0.1
done
[ -n "$ready" ] || fail "/readyz never answered 200"
grep -q '"status":"ready"' "$work/readyz" || fail "readyz body: $(cat "$work/readyz")"
grep -q "http://localhost:$port/" "$work/run.log" || fail "the URL was not printed"
echo "ok readyz 200 and URL printed"

# Demo users were registered through the API.
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/api/auth/register/" \
  -H 'content-type: application/json' -d '{"username":"asha","email":"asha2@example.com","password":"another-pass-1"}')
[ "$code" = 409 ] || fail "demo user asha missing (register answered $code)"
pw=$(cat "$clone/data/admin.password")
jar="$work/jar"
curl -s -c "$jar" -o /dev/null -X POST "http://127.0.0.1:$port/api/auth/login/" -H 'content-type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$pw\"}"
queue=$(curl -s -b "$jar" "http://127.0.0.1:$port/api/admin/priests/?page_size=100")
verified=$(echo "$queue" | { grep -o '"is_verified":true' || true; } | wc -l)
pending=$(echo "$queue" | { grep -o '"is_verified":false' || true; } | wc -l)
[ "$verified" = 2 ] && [ "$pending" = 1 ] || fail "demo priests: $verified verified, $pending pending: $queue"
echo "ok demo data (admin, customers, 2 verified + 1 pending priests)"

# Every process it started, by pid.
pids=$(cat "$clone"/data/*.pid 2>/dev/null)
pg_pid=$(head -n 1 "$(cat "$clone/data/pgdir")/data/postmaster.pid")
[ -n "$pids" ] && [ -n "$pg_pid" ] || fail "no pid files"

kill -TERM "$run_pid"
for _ in $(seq 1 600); do kill -0 "$run_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$run_pid" 2>/dev/null && fail "scripts/run did not exit within 60 s of SIGTERM"
run_pid=""
# A zombie is dead (it only waits for a reaper, which PID 1 of a container may never be).
running() { [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
for p in $pids $pg_pid; do
  if running "$p"; then fail "process $p ($(tr '\0' ' ' < "/proc/$p/cmdline")) survived"; fi
done
if pgrep -f "$clone" | while read -r p; do running "$p" && echo "$p"; done | grep -q .; then fail "processes still reference the clone: $(pgrep -af "$clone")"; fi
echo "ok SIGTERM stopped every child ($(echo $pids $pg_pid | wc -w) processes)"
echo PASS test_run
