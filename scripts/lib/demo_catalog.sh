#!/usr/bin/env bash
# demo_catalog.sh API_URL COOKIE_JAR CSRF_TOKEN — the demo catalog, created
# through the admin HTTP endpoints with an admin session (scripts/lib/demo.sh
# logs in and calls this), so every row is a command in the journal:
#   services    Griha Pravesh, Satyanarayan Puja, Ganapati Homam
#   categories  Puja Samagri ⇒ Incense, Lamps & Diyas; Gifts; Kits
#   products    10 with stock (some featured, one discounted) and one kit
# Safe to re-run: a slug that exists answers 409 slug_taken and is left as it
# is (so stock is set once, at creation); services are looked up by name
# first, since service names are not unique. Failures are reported, and the
# rest of the catalog is still attempted.
set -uo pipefail
api=$1 jar=$2 csrf=$3
failures=0

send() {  # send METHOD PATH JSON — prints the HTTP status, body to $tmp
  curl -s -o "$tmp" -w '%{http_code}' -X "$1" "$api$2" -b "$jar" -H "X-CSRF-Token: $csrf" \
    -H 'content-type: application/json' -H 'Prefer: wait=10' -d "$3"
}
tmp=$(mktemp); trap 'rm -f "$tmp"' EXIT

create() {  # create PATH JSON — 201 or 409 (exists) are fine
  local code; code=$(send POST "$1" "$2")
  case "$code" in
    201|409) ;;
    *) echo "demo catalog: POST $1 answered $code: $(head -c 300 "$tmp")" >&2; failures=$((failures + 1)) ;;
  esac
}

category_id() {  # category_id SLUG — from the public category tree
  curl -s "$api/api/categories/" | grep -o "\"id\":[0-9]*,\"name\":\"[^\"]*\",\"slug\":\"$1\"" |
    head -n1 | sed 's/"id":\([0-9]*\).*/\1/'
}

product_id() {  # product_id SLUG
  curl -s "$api/api/products/$1/" | grep -o '"id": *[0-9]*' | head -n1 | sed 's/"id": *//'
}

service() {  # service NAME TYPE MINUTES PRICE DESCRIPTION
  if curl -s "$api/api/services/?page_size=100" | grep -q "\"name\":\"$1\""; then return 0; fi
  create /api/admin/services/ "{\"name\":\"$1\",\"service_type\":\"$2\",\"duration_minutes\":$3,\"base_price\":\"$4\",\"description\":\"$5\"}"
}

category() {  # category SLUG NAME SORT [PARENT_SLUG]
  local parent=null
  if [ -n "${4:-}" ]; then parent=$(category_id "$4"); parent=${parent:-null}; fi
  create /api/admin/categories/ "{\"slug\":\"$1\",\"name\":\"$2\",\"sort_order\":$3,\"parent\":$parent}"
}

product() {  # product CATEGORY_SLUG JSON_FIELDS (without category)
  local cat; cat=$(category_id "$1")
  create /api/admin/products/ "{\"category\":${cat:-null},$2}"
}

# Services only when the API has the endpoint (an empty body: 422, nothing published).
if [ "$(send POST /api/admin/services/ '{}')" = 422 ]; then
  service "Griha Pravesh" griha_pravesh 180 5100.00 "House-warming puja with Vastu shanti and havan."
  service "Satyanarayan Puja" satyanarayan 120 2100.00 "Katha, puja and prasad for the family."
  service "Ganapati Homam" ganapati_homam 150 3500.00 "Homam to remove obstacles before a new beginning."
fi

category puja-samagri "Puja Samagri" 10
category incense "Incense" 10 puja-samagri
category lamps-diyas "Lamps & Diyas" 20 puja-samagri
category gifts "Gifts" 20
category kits "Kits" 30

product incense '"slug":"mysore-sandal-agarbatti","name":"Mysore Sandal Agarbatti","description":"100 sticks of sandalwood incense.","price":"120.00","stock":200,"is_featured":true'
product incense '"slug":"rose-dhoop-cones","name":"Rose Dhoop Cones","description":"Box of 40 cones.","price":"90.00","stock":150'
product incense '"slug":"camphor-tablets","name":"Camphor Tablets (100 g)","description":"Pure bhimseni camphor for aarti.","price":"150.00","discount_price":"129.00","stock":120'
product lamps-diyas '"slug":"brass-diya","name":"Brass Diya","description":"Hand-polished five-wick brass lamp.","price":"450.00","stock":40,"is_featured":true'
product lamps-diyas '"slug":"clay-diyas-12","name":"Clay Diyas (set of 12)","description":"Hand-made terracotta diyas.","price":"180.00","stock":80'
product lamps-diyas '"slug":"cotton-wicks","name":"Cotton Wicks (pack of 100)","description":"Round cotton wicks for diyas.","price":"60.00","stock":300'
product puja-samagri '"slug":"kumkum-haldi-set","name":"Kumkum & Haldi Set","description":"Kumkum, haldi and akshat in a brass box.","price":"110.00","stock":100'
product puja-samagri '"slug":"cow-ghee-500","name":"Pure Cow Ghee (500 ml)","description":"For diyas and havan.","price":"380.00","stock":60'
product gifts '"slug":"ganesha-idol-silver","name":"Silver-plated Ganesha Idol","description":"A 6-inch idol in a gift box.","product_type":"gift","price":"1499.00","stock":15,"is_featured":true'
product gifts '"slug":"rudraksha-mala","name":"Rudraksha Mala","description":"108 five-faced rudraksha beads.","product_type":"gift","price":"799.00","stock":25'
product kits '"slug":"satyanarayan-puja-kit","name":"Satyanarayan Puja Kit","description":"Everything for the katha: incense, camphor, diyas, wicks, kumkum and ghee.","product_type":"kit","price":"999.00","is_featured":true'

# The kit's composition (replaced as a whole, so re-running is harmless).
components=""
for part in mysore-sandal-agarbatti camphor-tablets clay-diyas-12 cotton-wicks kumkum-haldi-set cow-ghee-500; do
  id=$(product_id "$part")
  [ -n "$id" ] && components="$components${components:+,}{\"product_id\":$id,\"quantity\":1}"
done
kit=$(product_id satyanarayan-puja-kit)
if [ -n "$kit" ]; then
  code=$(send POST "/api/admin/products/$kit/kit/" "{\"components\":[$components]}")
  [ "$code" = 200 ] || { echo "demo catalog: kit answered $code: $(head -c 300 "$tmp")" >&2; failures=$((failures + 1)); }
fi

[ "$failures" = 0 ] || echo "demo catalog: $failures step(s) failed (see above)" >&2
exit 0
