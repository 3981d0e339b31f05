#!/usr/bin/env bash
# demo.sh API_URL BUILD_DIR DATA_DIR — demo data, loaded through the public API and
# the admin CLI like any client, so every row travels the real command path
# and is in the journal. Safe to re-run (existing users answer 409 and are
# left alone; after a first complete run the users are not sent again).
# Refused when PUNYAKA_ENV=production.
#
#   admin          PUNYAKA_ADMIN_PASSWORD, else a random one generated once and
#                  kept in DATA_DIR/admin.password (printed)
#   asha, vikram   customers          password punyaka-demo
#   pandit.sharma, acharya.iyer   verified priests     password punyaka-demo
#   shastri.rao    priest awaiting verification        password punyaka-demo
set -euo pipefail
api=$1 build=$2 data=$3
if [ "${PUNYAKA_ENV:-}" = production ]; then
  echo "demo data is refused when PUNYAKA_ENV=production" >&2
  exit 0
fi
jar=$(mktemp); trap 'rm -f "$jar"' EXIT

post() {  # post PATH JSON [extra curl args…] — prints the HTTP status
  local path=$1 body=$2; shift 2
  curl -s -o /dev/null -w '%{http_code}' -X POST "$api$path" -H 'content-type: application/json' \
    -H 'Prefer: wait=10' "$@" -d "$body"
}

register() {  # register JSON
  local code; code=$(post /api/auth/register/ "$1")
  case "$code" in 201|409) ;; *) echo "demo data: register answered $code" >&2; return 1 ;; esac
}

priest_id() {  # priest_id USERNAME — profile id from the admin queue
  curl -s -b "$jar" "$api/api/admin/priests/?page_size=100" |
    grep -o "\"id\":[0-9]*,\"user_id\":[0-9]*,\"user\":\"[^\"]*\",\"username\":\"$1\"" | head -n1 |
    sed 's/"id":\([0-9]*\).*/\1/'
}

password=${PUNYAKA_ADMIN_PASSWORD:-}
if [ -z "$password" ]; then
  if [ ! -s "$data/admin.password" ]; then
    (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$data/admin.password")
  fi
  password=$(cat "$data/admin.password")
  echo "admin password (PUNYAKA_ADMIN_PASSWORD unset; kept in $data/admin.password): $password" >&2
fi
# The CLI talks to Kafka and PostgreSQL directly: give it the stack's addresses.
(set -a; . "$data/env"; set +a
 PUNYAKA_ADMIN_PASSWORD=$password "$build/workers/punyaka-admin" create-admin admin admin@punyaka.example >/dev/null) ||
  echo "demo data: admin exists with another password? (punyaka-admin failed)" >&2

# Registrations count against the per-address limit (PUNYAKA_REGISTER_MAX_PER_IP,
# 20 an hour): once they are in, later runs on the same data folder skip them.
if [ ! -f "$data/demo.users" ]; then
  register '{"username":"asha","email":"asha@example.com","password":"punyaka-demo","first_name":"Asha","last_name":"Iyer","role":"customer","phone":"+91 98450 11111","address":"12 Temple Street, Bengaluru"}'
  register '{"username":"vikram","email":"vikram@example.com","password":"punyaka-demo","first_name":"Vikram","last_name":"Mehta","role":"customer","phone":"+91 98200 22222"}'
  register '{"username":"pandit.sharma","email":"sharma@example.com","password":"punyaka-demo","first_name":"Raghav","last_name":"Sharma","role":"priest","specializations":["Griha Pravesh","Satyanarayan Puja"],"languages":["Hindi","Sanskrit","English"],"experience_years":18,"service_radius_km":25}'
  register '{"username":"acharya.iyer","email":"iyer@example.com","password":"punyaka-demo","first_name":"Subramanya","last_name":"Iyer","role":"priest","specializations":["Ganapati Homam","Navagraha Puja"],"languages":["Tamil","Kannada","Sanskrit"],"experience_years":25,"service_radius_km":30}'
  register '{"username":"shastri.rao","email":"rao@example.com","password":"punyaka-demo","first_name":"Keshav","last_name":"Rao","role":"priest","specializations":["Vivah"],"languages":["Telugu","Sanskrit"],"experience_years":6,"service_radius_km":15}'
  touch "$data/demo.users"
fi

# Admin session for the catalog and verifications.
curl -s -c "$jar" -o /dev/null -X POST "$api/api/auth/login/" -H 'content-type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$password\"}"
csrf=$(awk '$6 == "csrftoken" {print $7}' "$jar" | tail -n1)
if [ -z "$csrf" ]; then
  echo "demo data: could not log in as admin; skipping verifications and catalog" >&2
  exit 0
fi
for p in pandit.sharma acharya.iyer; do
  id=$(priest_id "$p")
  [ -n "$id" ] && post "/api/admin/priests/$id/verify/" '{"verified":true,"notes":"demo: documents checked"}' \
    -b "$jar" -H "X-CSRF-Token: $csrf" >/dev/null
done
# The catalog (services, categories, products) follows when its admin endpoints exist.
if [ -x "$(dirname "$0")/demo_catalog.sh" ]; then
  "$(dirname "$0")/demo_catalog.sh" "$api" "$jar" "$csrf"
fi
echo "demo users: admin; customers asha, vikram; priests pandit.sharma, acharya.iyer (verified), shastri.rao (pending) — password punyaka-demo" >&2
