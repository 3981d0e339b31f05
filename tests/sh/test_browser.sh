#!/usr/bin/env bash
# Browser tests of the web UI (issue 6): Debian's headless Chromium driven by
# playwright-core (tests/browser, plain node:test files, no browser download)
# against a stack of our own — PostgreSQL, Redis, the dev Kafka, the API
# serving web/, two workers — started here, loaded with the demo data, and
# always stopped again (trap), whatever happens. axe-core (pinned in
# package.json) audits every page for WCAG 2.1 A/AA (tests/60-a11y.test.js).
#
# Environment (ctest sets the first two):
#   PUNYAKA_SOURCE_DIR, PUNYAKA_BUILD_DIR
#   PUNYAKA_SCREENSHOTS_DIR    where the page screenshots go
#                              (default: $PUNYAKA_BUILD_DIR/screenshots)
#   PUNYAKA_UPDATE_SCREENSHOTS=1   write them into docs/screenshots/ instead
#   CHROMIUM                   browser binary (default /usr/bin/chromium)
set -euo pipefail
: "${PUNYAKA_SOURCE_DIR:?}" "${PUNYAKA_BUILD_DIR:?}"
src=$(cd "$PUNYAKA_SOURCE_DIR" && pwd)
build=$(cd "$PUNYAKA_BUILD_DIR" && pwd)
tests="$src/tests/browser"

fail() { echo "FAIL: $*" >&2; exit 1; }
command -v node >/dev/null || fail "node is not installed (scripts/lib/deps.sh installs it)"
command -v npm >/dev/null || fail "npm is not installed (scripts/lib/deps.sh installs it)"
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || fail "chromium is not installed (scripts/lib/deps.sh installs Debian's chromium)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || fail "playwright-core needs Node.js 20 or newer (found $(node --version))"

work=$(mktemp -d /tmp/punyaka-browser.XXXXXX)
chmod 755 "$work"   # PostgreSQL runs as user postgres and keeps its cluster below
stack="$work/stack"
stopped=""
runner=""
stop_stack() {
  [ -n "$stopped" ] && return 0
  stopped=1
  "$src/scripts/lib/stack.sh" down "$stack" >"$work/stack-down.log" 2>&1
}
cleanup() {
  local rc=$?
  # The test runner and every browser it started share one process group.
  [ -n "$runner" ] && kill -KILL -- "-$runner" 2>/dev/null
  stop_stack || true
  # A cluster the stack had to keep outside $work (see stack.sh pg_dir).
  if [ -f "$stack/pgdir" ]; then
    case "$(cat "$stack/pgdir")" in /tmp/punyaka-pg.*) rm -rf "$(cat "$stack/pgdir")" ;; esac
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# As scripts/test sets it, for a sanitizer build run straight from ctest:
# libh2o's buffer recycler is the one known third-party leak (tests/lsan.supp).
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$src/tests/lsan.supp:print_suppressions=0}

t0=$(date +%s)
# Reinstall when a pinned package is missing (a node_modules from before it was added).
if [ ! -d "$tests/node_modules/playwright-core" ] || [ ! -f "$tests/node_modules/axe-core/axe.min.js" ]; then
  echo "installing playwright-core and axe-core (npm ci, no browser download)"
  (cd "$tests" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi

PUNYAKA_STACK_FAST=1 PUNYAKA_STACK_FRESH=1 PUNYAKA_WORKERS=2 \
  "$src/scripts/lib/stack.sh" up "$stack" "$build" 2>"$work/stack-up.log" ||
  { tail -n 20 "$work/stack-up.log" >&2; fail "the stack did not start"; }
api=$(sed -n 's/^PUNYAKA_API_URL=//p' "$stack/env")
"$src/scripts/lib/demo.sh" "$api" "$build" "$stack" 2>"$work/demo.log" ||
  { cat "$work/demo.log" >&2; fail "demo data could not be loaded"; }
echo "stack and demo data ready in $(( $(date +%s) - t0 )) s at $api"

shots=${PUNYAKA_SCREENSHOTS_DIR:-$build/screenshots}
[ "${PUNYAKA_UPDATE_SCREENSHOTS:-0}" = 1 ] && shots="$src/docs/screenshots"
export PUNYAKA_API_URL="$api" PUNYAKA_STACK_DIR="$stack" PUNYAKA_FIXTURES="$work/fixtures.json" \
  PUNYAKA_SCREENSHOTS_DIR="$shots" PUNYAKA_TAG="r$(date +%s)"

rc=0
# Its own session (process group), so nothing it starts can outlive this script.
setsid bash -c 'cd "$1" && node setup.mjs && exec node --test --test-concurrency=1 --test-reporter=spec tests/*.test.js' \
  _ "$tests" &
runner=$!
wait "$runner" || rc=$?
kill -KILL -- "-$runner" 2>/dev/null || true   # a browser left by a crashed runner
runner=""
if [ "$rc" != 0 ]; then
  echo "--- last API log lines ---" >&2
  tail -n 40 "$stack/logs/api.log" >&2 || true
fi
stop_stack || { cat "$work/stack-down.log" >&2; fail "stopping the stack failed (sanitizer report?)"; }
echo "browser tests finished in $(( $(date +%s) - t0 )) s; screenshots in $shots"
exit "$rc"
