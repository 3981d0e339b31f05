#!/usr/bin/env bash
# check_responses.sh LOG — the ctest fixture `responses`' cleanup step
# (tests/CMakeLists.txt): after every test that talks to the API, each
# response logged in LOG (PUNYAKA_RESPONSE_LOG, by tests/support/http.c and
# tests/browser/lib/responses.js) must conform to schemas/openapi.yaml
# (tests/browser/lib/validate-responses.mjs: documented status, Content-Type
# and body schema). Not a test of its own: not named test_*.sh.
set -euo pipefail
: "${PUNYAKA_SOURCE_DIR:?}"
log=${1:?usage: check_responses.sh LOG}
tests="$PUNYAKA_SOURCE_DIR/tests/browser"
command -v node >/dev/null || { echo "FAIL: node is not installed (scripts/lib/deps.sh installs it)" >&2; exit 1; }
if [ ! -d "$tests/node_modules/@apidevtools/swagger-parser" ] || [ ! -d "$tests/node_modules/ajv-formats" ]; then
  echo "installing tests/browser's npm packages (npm ci, no browser download)"
  (cd "$tests" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
[ -s "$log" ] || { echo "FAIL: $log is missing or empty: no test logged a response" >&2; exit 1; }
cd "$tests"
exec node lib/validate-responses.mjs "$PUNYAKA_SOURCE_DIR/schemas/openapi.yaml" "$log"
