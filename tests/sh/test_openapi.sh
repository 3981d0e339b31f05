#!/usr/bin/env bash
# test_openapi.sh — the API's contract is a valid OpenAPI document and the
# API serves it (issue 15).
#   0. schemas/openapi.yaml (OpenAPI 3.1) passes `redocly lint` (@redocly/cli,
#      pinned in tests/browser/package.json) under the repository's
#      redocly.yaml, which names each rule it turns off and why
#      (.redocly.lint-ignore.yaml beside it lists the one exception kept at
#      a single location, with its reason).
#   1. schemas/openapi.yaml passes @apidevtools/swagger-parser's validate
#      (pinned in tests/browser/package.json; tests/browser/lib/validate-openapi.mjs):
#      it used to be rejected (unquoted commas in flow mappings splitting keys,
#      two identical path templates for products, nullable without a type).
#   2. GET /api/openapi.yaml on a throwaway stack answers 200, application/yaml,
#      and exactly the bytes of schemas/openapi.yaml (it used to be a 404).
#   2b. the response checker run after the suite (lib/validate-responses.mjs,
#      tests/support/check_responses.sh) passes conforming answers and names
#      each kind of nonconforming one: an undocumented status, a body that
#      misses a required field, an unknown problem code, an undocumented
#      Content-Type, a path outside every operation answering 200.
#   3. GET /api/openapi.json answers 200, application/json, the same document
#      (the build's rendering, scripts/lib/openapi_json.py); /api/docs/ is the
#      docs page (HTML under the pages' CSP, its script a file: no inline
#      script), /api/docs redirects to it. tests/browser/tests/70-api-docs
#      renders it in Chromium.
set -euo pipefail
. "$(dirname "$0")/support.sh"
tests="$PUNYAKA_SOURCE_DIR/tests/browser"
spec="$PUNYAKA_SOURCE_DIR/schemas/openapi.yaml"
command -v node >/dev/null || fail "node is not installed (scripts/lib/deps.sh installs it)"

# Reinstall when a pinned package is missing (a node_modules from before it was added).
if [ ! -d "$tests/node_modules/@apidevtools/swagger-parser" ] || [ ! -x "$tests/node_modules/.bin/redocly" ] ||
   [ ! -d "$tests/node_modules/ajv-formats" ]; then
  echo "installing tests/browser's npm packages (npm ci, no browser download)"
  (cd "$tests" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
# No telemetry, no update check: the test must not need the network.
out=$(REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
      "$tests/node_modules/.bin/redocly" lint --config "$PUNYAKA_SOURCE_DIR/redocly.yaml" --format=stylish "$spec" 2>&1) ||
  fail "redocly lint rejects $spec: $(printf '%s\n' "$out" | grep -v '[║╔╚]')"
# A warning fails too: the rules we accept are the ones redocly.yaml keeps.
if printf '%s\n' "$out" | grep -q ' warning '; then fail "redocly lint warns about $spec: $out"; fi
echo "ok redocly lint: no errors, no warnings"
out=$(cd "$tests" && node lib/validate-openapi.mjs "$spec" 2>&1) || fail "swagger-parser rejects $spec: $out"
echo "ok $out"

work=$(new_work); dir="$work/stack"
trap 'cleanup_stack; rm -rf "$work"' EXIT

check_log() { (cd "$tests" && node lib/validate-responses.mjs "$spec" "$1" 2>&1); }
good='{"source":"t","method":"GET","path":"/api/auth/csrf/","status":200,"content_type":"application/json","body":"{\"csrfToken\":\"x\"}"}
{"source":"t","method":"POST","path":"/api/bookings/","status":409,"content_type":"application/problem+json","body":"{\"type\":\"https://punyaka.dev/problems/slot-taken\",\"title\":\"Slot taken\",\"status\":409,\"code\":\"slot_taken\",\"detail\":null,\"errors\":{}}"}
{"source":"t","method":"GET","path":"/api/nothing/?x=1","status":404,"content_type":"application/problem+json","body":"{\"type\":\"https://punyaka.dev/problems/not-found\",\"title\":\"Not found\",\"status\":404,\"code\":\"not_found\",\"detail\":\"no such endpoint\",\"errors\":{}}"}
{"source":"t","method":"OPTIONS","path":"/api/auth/login/","status":204,"content_type":null,"body":""}
{"source":"t","method":"GET","path":"/login.html","status":200,"content_type":"text/html","body":"<html>"}'
printf '%s\n' "$good" > "$work/good.ndjson"
out=$(check_log "$work/good.ndjson") || fail "conforming responses were refused: $out"
case "$out" in *"4 responses"*"every response conforms"*) ;; *) fail "unexpected checker output: $out" ;; esac
bad='{"source":"t","method":"GET","path":"/api/priests/","status":409,"content_type":"application/problem+json","body":"{}"}
{"source":"t","method":"GET","path":"/api/auth/csrf/","status":200,"content_type":"application/json","body":"{\"token\":\"x\"}"}
{"source":"t","method":"POST","path":"/api/bookings/","status":409,"content_type":"application/problem+json","body":"{\"type\":\"https://punyaka.dev/problems/made-up\",\"title\":\"t\",\"status\":409,\"code\":\"made_up\",\"detail\":null,\"errors\":{}}"}
{"source":"t","method":"GET","path":"/api/orders/1/","status":200,"content_type":"text/html","body":"<p>"}
{"source":"t","method":"GET","path":"/api/nothing/","status":200,"content_type":"application/json","body":"{}"}'
printf '%s\n' "$bad" > "$work/bad.ndjson"
if out=$(check_log "$work/bad.ndjson"); then fail "the checker passed nonconforming responses: $out"; fi
for want in "GET /api/priests/ 409 (1×): status 409 is not documented" \
            "GET /api/auth/csrf/ 200 (1×): the body does not match the schema: / must have required property 'csrfToken'" \
            "POST /api/bookings/ 409 (1×): the body does not match the schema: /code must be equal to one of the allowed values" \
            "GET /api/orders/{id}/ 200 (1×): Content-Type text/html is not documented" \
            "GET /api/nothing/ 200 (1×): no operation has this path" \
            "5 kinds of nonconforming responses"; do
  printf '%s\n' "$out" | grep -qF "$want" || fail "the checker did not report \"$want\": $out"
done
echo "ok the response checker passes conforming answers and names each kind of nonconforming one"
PUNYAKA_STACK_FRESH=1 PUNYAKA_STACK_FAST=1 "$STACK" up "$dir" "$PUNYAKA_BUILD_DIR" 2> "$work/up.log" ||
  { tail -n 20 "$work/up.log" >&2; fail "stack up"; }
remember_pids
api=$(env_of PUNYAKA_API_URL)

code=$(curl -s -D "$work/headers" -o "$work/served.yaml" -w '%{http_code}' "$api/api/openapi.yaml")
[ "$code" = 200 ] || fail "GET /api/openapi.yaml answered $code"
grep -qi '^content-type: application/yaml' "$work/headers" ||
  fail "GET /api/openapi.yaml is not application/yaml: $(grep -i '^content-type' "$work/headers")"
cmp -s "$work/served.yaml" "$spec" || fail "the served document differs from schemas/openapi.yaml"
grep -qi '^x-content-type-options: nosniff' "$work/headers" || fail "the served document lacks the hardening headers"
echo "ok GET /api/openapi.yaml: 200, application/yaml, the same $(wc -c < "$spec") bytes"

code=$(curl -s -D "$work/jheaders" -o "$work/served.json" -w '%{http_code}' "$api/api/openapi.json")
[ "$code" = 200 ] || fail "GET /api/openapi.json answered $code"
grep -qi '^content-type: application/json' "$work/jheaders" ||
  fail "GET /api/openapi.json is not application/json: $(grep -i '^content-type' "$work/jheaders")"
python3 - "$work/served.json" "$spec" <<'PY' || fail "GET /api/openapi.json is not schemas/openapi.yaml as JSON (the build renders it: rebuild after editing the YAML)"
import json, sys, yaml
sys.exit(0 if json.load(open(sys.argv[1])) == yaml.safe_load(open(sys.argv[2])) else 1)
PY
echo "ok GET /api/openapi.json: 200, application/json, the same document"

code=$(curl -s -D "$work/dheaders" -o "$work/docs.html" -w '%{http_code}' "$api/api/docs/")
[ "$code" = 200 ] || fail "GET /api/docs/ answered $code"
grep -qi '^content-type: text/html' "$work/dheaders" || fail "/api/docs/ is not HTML"
grep -qi "^content-security-policy: default-src 'self'; script-src 'self'" "$work/dheaders" ||
  fail "/api/docs/ lacks the pages' CSP: $(grep -i '^content-security-policy' "$work/dheaders")"
grep -q '<script type="module" src="docs.js"></script>' "$work/docs.html" || fail "/api/docs/ does not load docs.js"
if grep -q '<script>' "$work/docs.html"; then fail "/api/docs/ has an inline script, which its CSP refuses"; fi
[ "$(curl -s -o /dev/null -w '%{http_code}' "$api/api/docs/docs.js")" = 200 ] || fail "/api/docs/docs.js is missing"
code=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "$api/api/docs")
case "$code" in 30[12]" $api/api/docs/") ;; *) fail "/api/docs does not redirect to /api/docs/: $code" ;; esac
echo "ok /api/docs/: the docs page, under the pages' CSP"

# The dispatcher still owns the rest of /api.
[ "$(curl -s -o /dev/null -w '%{http_code}' "$api/api/openapi.xml")" = 404 ] || fail "/api/openapi.xml is not a 404"

# down exits non-zero when a sanitizer reported anything in the stack's logs.
"$STACK" down "$dir" 2> "$work/down.log" || { cat "$work/down.log" >&2; fail "stack down"; }
echo PASS test_openapi
