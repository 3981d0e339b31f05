#!/usr/bin/env bash
# demo.sh API_URL — demo data for the flows that exist, loaded through the
# public API like any client (so it travels the real command path). Safe to
# re-run: an existing username answers 409 and is left alone.
set -euo pipefail
api=$1

register() {  # register JSON
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$api/api/auth/register/" \
    -H 'content-type: application/json' -H 'Prefer: wait=10' -d "$1")
  case "$code" in
    201|409) ;;
    *) echo "demo data: register answered $code" >&2; return 1 ;;
  esac
}

register '{"username":"asha","email":"asha@example.com","password":"punyaka-demo","first_name":"Asha","last_name":"Iyer","role":"customer","phone":"+91 98450 11111"}'
register '{"username":"pandit.sharma","email":"sharma@example.com","password":"punyaka-demo","first_name":"Raghav","last_name":"Sharma","role":"priest","specializations":["Griha Pravesh","Satyanarayan Puja"],"languages":["Hindi","Sanskrit","English"],"experience_years":18,"service_radius_km":25}'
echo "demo users: asha (customer), pandit.sharma (priest); password punyaka-demo" >&2
