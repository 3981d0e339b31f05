#!/usr/bin/env bash
# bench/run.sh [soak] [BUILD_DIR] — everything issue 16 measures, in one run,
# written to docs/performance.md (and docs/performance.png):
#   the machine; the ceilings (a static file through the same h2o, pgbench -S
#   and TPC-B -c8 on the same PostgreSQL); catalog lists, product detail and
#   availability; per-user reads (cart, me, bookings, orders) by 64 signed-in
#   users; commands (PATCH me, booking create on distinct slots, checkout)
#   with 16 and 64 users; accept→applied latency; HTTP/1.1 with wrk and
#   HTTP/2 with h2load; a plot of throughput and p99 against connections for
#   one read and one command. Each figure's ratio to its ceiling is in the
#   table: catalog reads against the static file, per-user reads against
#   pgbench -S, commands against TPC-B.
# `bench/run.sh soak` instead runs a mixed load for SOAK_S seconds (600) and
# records the API's and the workers' RSS every 10 s (the doc's Soak section).
#
# A throwaway embedded stack (PostgreSQL with fsync off, Redis, the dev Kafka,
# the API with one loop per core, two workers) with bench/fixture.sql's data
# (1,200 products in a category tree, 200 verified priests, 10,000
# bookings). wrk and h2load share the machine with the servers, so every
# figure is a floor. Not a test: nothing here asserts a time.
#
# Environment: BENCH_SECONDS (10) per phase; BENCH_QUICK=1 (3-second phases,
# fewer plot points, a small pgbench: a smoke run that proves the script, its
# numbers are not a measurement); BENCH_OUT (docs/performance.md).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
mode=measure
if [ "${1:-}" = soak ]; then mode=soak; shift; fi
build=${1:-$src/build}
quick=${BENCH_QUICK:-0}
duration=${BENCH_SECONDS:-10}
[ "$quick" = 1 ] && duration=${BENCH_SECONDS:-3}
out=${BENCH_OUT:-$src/docs/performance.md}
png=${out%.md}.png
dir=$(mktemp -d)
trap '"$src/scripts/lib/stack.sh" down "$dir" >/dev/null 2>&1; rm -rf "$dir"' EXIT
for tool in wrk h2load pgbench gnuplot curl; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (scripts/lib/deps.sh installs it)" >&2; exit 1; }
done

# The commit measured, read before this run rewrites the doc and the PNG.
commit="$(git -C "$src" rev-parse --short HEAD)$(git -C "$src" diff --quiet HEAD || echo ' (with local changes)')"

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ---- the stack and its data ----

log "stack up ($build)"
PUNYAKA_STACK_FAST=1 "$src/scripts/lib/stack.sh" up "$dir" "$build" 2>/dev/null
set -a; . "$dir/env"; set +a
api=$PUNYAKA_API_URL
"$src/scripts/lib/demo.sh" "$api" "$build" "$dir" >/dev/null 2>&1
pgdir=$(cat "$dir/pgdir")
pgport=$(echo "$DATABASE_URL" | sed -n 's|.*@[^:/]*:\([0-9]*\)/.*|\1|p')
as_pg() { runuser -u postgres -- "$@"; }
sql() { as_pg psql -X -q -A -t -h "$pgdir" -p "$pgport" -d punyaka "$@"; }

# 64 signed-in customers (registered over HTTP, 8 at a time), one cart line each.
log "registering 64 users"
register_one() {  # register_one N — prints "N cookie|csrf"
  local i=$1 jar=$dir/bench-$1.cookies reply
  reply=$(curl -s -c "$jar" -X POST "$api/api/auth/register/" -H 'content-type: application/json' -H 'Prefer: wait=10' \
    -d "{\"username\":\"bench$i\",\"email\":\"bench$i@example.com\",\"password\":\"bench-password-$i\",\"role\":\"customer\",\"phone\":\"+91 98765 43210\"}")
  printf '%s punyaka_session=%s|%s\n' "$i" "$(awk '$6 == "punyaka_session" {print $7}' "$jar")" \
    "$(echo "$reply" | sed -n 's/.*"csrf_token": *"\([^"]*\)".*/\1/p')"
}
export -f register_one; export api dir
seq 1 64 | xargs -P 8 -I{} bash -c 'register_one {}' > "$dir/users"
[ "$(awk '$2 ~ /\|./' "$dir/users" | wc -l)" = 64 ] || { echo "bench: registration failed" >&2; head -3 "$dir/users" >&2; exit 1; }
ids=$(sql -c "SELECT '{' || string_agg(id::text, ',') || '}' FROM users WHERE username LIKE 'bench%' AND role = 'customer'")
log "loading bench/fixture.sql"
load_start=$(date +%s.%N)
sql -v customers="$ids" -f "$src/bench/fixture.sql" >/dev/null
load_s=$(echo "$(date +%s.%N) - $load_start" | bc)
sessions_n() { awk -v n="$1" 'NR <= n {printf "%s;", $2}' "$dir/users"; }
product=$(sql -c "SELECT id FROM products WHERE slug = 'bench-product-1'")
priest=$(sql -c "SELECT p.id FROM priest_profiles p JOIN users u ON u.id = p.user_id WHERE u.username = 'bench.priest1'")
priests=$(sql -c "SELECT string_agg(p.id::text, ',') FROM priest_profiles p JOIN users u ON u.id = p.user_id WHERE u.username LIKE 'bench.priest%'")
service=$(sql -c "SELECT min(id) FROM services WHERE name LIKE 'Bench puja %'")
dates=$(for d in $(seq 1 170); do TZ=Asia/Kolkata date -d "+$d day" +%F; done | paste -sd,)
tomorrow=${dates%%,*}
fill_carts() {  # a line in every user's cart (checkout empties carts), for GET /api/cart/
  local i s
  for i in $(seq 1 64); do
    s=$(sed -n "${i}p" "$dir/users" | cut -d' ' -f2)
    curl -s -o /dev/null -X POST "$api/api/cart/add_item/" -H 'content-type: application/json' \
      -H "Cookie: ${s%%|*}" -H "X-CSRF-Token: ${s#*|}" -d "{\"product_id\":$product,\"quantity\":1}"
  done
}
fill_carts
counts=$(sql -c "SELECT (SELECT count(*) FROM products) || ' products in ' || (SELECT count(*) FROM categories) ||
  ' categories, ' || (SELECT count(*) FROM priest_profiles WHERE is_verified) || ' verified priests, ' ||
  (SELECT count(*) FROM bookings) || ' bookings'")
log "data: $counts (fixture ${load_s}s)"

# ---- measuring ----

results=$dir/results.tsv   # group, label, conns, rps, p50 ms, p99 ms, ceiling, note
: > "$results"
to_ms() { awk '{ v = $1; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) }
                 else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 } printf "%.2f", v }'; }
# wrk_row GROUP LABEL CONNS CEILING [DIVIDE] -- wrk args…: one row of results
wrk_row() {
  local group=$1 label=$2 c=$3 ceiling=$4 divide=1 o rps p50 p99 bad
  shift 4
  if [ "$1" != -- ]; then divide=$1; shift; fi
  shift
  o=$(wrk -t"$([ "$c" -ge 2 ] && echo 2 || echo 1)" -c"$c" -d"${duration}s" --latency "$@" 2>&1) || true
  rps=$(echo "$o" | awk -v d="$divide" '/Requests\/sec/ {printf "%.0f", $2 / d}')
  p50=$(echo "$o" | awk '$1 == "50%" {print $2}' | to_ms)
  p99=$(echo "$o" | awk '$1 == "99%" {print $2}' | to_ms)
  bad=$(echo "$o" | awk '/Non-2xx/ {printf "%s non-2xx ", $NF} /Socket errors/ {printf "socket errors "}')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$group" "$label" "$c" "${rps:-0}" "${p50:-?}" "${p99:-?}" "$ceiling" \
    "$bad" >> "$results"
  log "$label -c$c: ${rps:-0}/s p50 ${p50:-?} ms p99 ${p99:-?} ms $bad"
}
# h2_row LABEL CEILING URL [header…]: h2load -c64 -m10 (HTTP/2 over cleartext)
h2_row() {
  local label=$1 ceiling=$2 url=$3 o rps mean bad args=()
  shift 3
  for h in "$@"; do args+=(-H "$h"); done
  o=$(h2load -c64 -m10 -t2 -D "$duration" "${args[@]}" "$url" 2>&1) || true
  rps=$(echo "$o" | awk '/^finished in/ {gsub(",", "", $4); printf "%.0f", $4}')
  mean=$(echo "$o" | awk '/^time for request:/ {print $6}' | to_ms)
  bad=$(echo "$o" | awk '/^status codes:/ {if ($5 + $7 + $9 > 0) printf "%s 3xx-5xx", $5 + $7 + $9}')
  printf 'h2\t%s\t64×10\t%s\t%s\t-\t%s\t%s\n' "$label" "${rps:-0}" "${mean:-?} (mean)" "$ceiling" "$bad" >> "$results"
  log "h2 $label: ${rps:-0}/s mean ${mean:-?} ms $bad"
}
percent() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f×", a / b; else printf "—" }'; }

# ---- soak: SOAK_S seconds of mixed load, RSS every 10 s ----

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
if [ "$mode" = soak ]; then
  soak_s=${SOAK_S:-600}
  api_pid=$(cat "$dir/api.pid")
  workers=$(cat "$dir"/worker-*.pid | paste -sd' ')
  log "soak: ${soak_s}s of cart reads (-c16) and PATCH me commands (-c4); RSS every 10 s"
  export SESSIONS; SESSIONS=$(sessions_n 64)
  METHOD=GET BODY= wrk -t1 -c16 -d"${soak_s}s" -s "$src/bench/write.lua" "$api/api/cart/" > "$dir/soak-read.out" 2>&1 &
  read_job=$!
  METHOD=PATCH BODY='{"first_name":"Soak"}' wrk -t1 -c4 -d"${soak_s}s" -s "$src/bench/write.lua" "$api/api/auth/me/" \
    > "$dir/soak-cmd.out" 2>&1 &
  cmd_job=$!
  samples=$dir/soak.tsv; : > "$samples"
  for t in $(seq 0 10 "$soak_s"); do
    row="$t $(rss_kb "$api_pid")"
    for w in $workers; do row="$row $(rss_kb "$w")"; done
    echo "$row" >> "$samples"
    [ "$t" -ge "$soak_s" ] || sleep 10
  done
  wait "$read_job" "$cmd_job" || true
  section=$dir/soak.md
  {
    echo "<!-- soak -->"
    echo "## Soak"
    echo
    [ "$soak_s" -ge 600 ] || echo "**Shortened (SOAK_S=$soak_s: a smoke run of the soak, not the 10-minute soak).**" && echo
    echo "\`bench/run.sh soak\` on $(date -u '+%F %H:%M UTC'), commit $commit: ${soak_s} s of"
    echo "GET /api/cart/ (wrk -c16: $(awk '/Requests\/sec/ {print $2}' "$dir/soak-read.out") req/s) and PATCH /api/auth/me/ commands"
    echo "(wrk -c4: $(awk '/Requests\/sec/ {print $2}' "$dir/soak-cmd.out") req/s) by 64 users, resident memory every 10 s (VmRSS, MiB)."
    echo
    printf '| s | punyaka-api |'; n=0; for w in $workers; do n=$((n + 1)); printf ' worker %s |' "$n"; done; echo
    printf '|---|---|'; for w in $workers; do printf -- '---|'; done; echo
    awk '{ printf "| %s |", $1; for (i = 2; i <= NF; i++) printf " %.1f |", $i / 1024; print "" }' "$samples"
    echo "<!-- /soak -->"
  } > "$section"
  if [ -f "$out" ] && grep -q '^<!-- soak -->$' "$out"; then
    awk -v f="$section" '/^<!-- soak -->$/ { while ((getline l < f) > 0) print l; skip = 1; next }
                         /^<!-- \/soak -->$/ { skip = 0; next } !skip' "$out" > "$out.tmp" && mv "$out.tmp" "$out"
  else
    { [ -f "$out" ] && cat "$out" && echo; cat "$section"; } > "$out.tmp" && mv "$out.tmp" "$out"
  fi
  log "soak written to $out"
  exit 0
fi

log "ceilings"
static=/js/api.js
wrk_row ceiling "static file $static" 64 - -- "$api$static"
static_rps=$(awk -F'\t' '$1 == "ceiling" {print $4; exit}' "$results")

log "catalog"
day=$(TZ=Asia/Kolkata date -d '+3 day' +%F)
for path in /api/priests/ "/api/priests/?ordering=-rating&language=Sanskrit" /api/products/ \
            "/api/products/?category=bench-root-3" /api/categories/ /api/services/ \
            "/api/products/$product/" "/api/priests/$priest/availability/?date=$day&service=$service"; do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$api$path")" = 200 ] || { log "skip $path (not 200)"; continue; }
  wrk_row catalog "GET $path" 64 static -- "$api$path"
done

export PRIESTS=$priests SERVICE=$service DATES=$dates
log "commands"
cmd_start=$(sql -c "SELECT now()")
for users in 16 64; do
  export SESSIONS; SESSIONS=$(sessions_n "$users")
  METHOD=PATCH BODY='{"first_name":"Bench"}' wrk_row command "PATCH /api/auth/me/ ($users users)" "$users" tpcb -- \
    -s "$src/bench/write.lua" "$api/api/auth/me/"
  [ "$users" = 16 ] && lat16=$(sql -c "SELECT round(1000 * extract(epoch FROM percentile_disc(0.5) WITHIN GROUP (ORDER BY processed_at - issued_at)))::text || ' / ' ||
      round(1000 * extract(epoch FROM percentile_disc(0.99) WITHIN GROUP (ORDER BY processed_at - issued_at)))::text
      FROM processed_commands WHERE processed_at > '$cmd_start' AND type = 'user.update'")
  DAY0=$([ "$users" = 16 ] && echo 0 || echo 40) wrk_row command "POST /api/bookings/ ($users users)" "$users" tpcb -- \
    -s "$src/bench/booking.lua" "$api/api/bookings/"
  PRODUCT=$product wrk_row command "checkout + add_item ($users users; checkouts/s)" "$users" tpcb 2 -- \
    -s "$src/bench/checkout.lua" "$api/"
done

log "per-user reads"
fill_carts
# The users just checked out: for PUNYAKA_READ_PRIMARY_AFTER_WRITE_MS (5 s)
# their reads skip the per-loop cache (a writer reads their own write,
# api/session.h). Measure readers, as most of a day's traffic is: wait it out.
sleep $(( ${PUNYAKA_READ_PRIMARY_AFTER_WRITE_MS:-5000} / 1000 + 1 ))
export SESSIONS; SESSIONS=$(sessions_n 64)
# The API's per-loop cache answers most of these (api/reads.h, API_READ_OWN):
# each row's note says which share, from the API's own counter.
own_hits() { curl -s "http://127.0.0.1:$PUNYAKA_API_METRICS_PORT/metrics" |
  awk '$1 == "punyaka_api_cache_hits_total{kind=\"own\"}" {print $2}'; }
for path in /api/cart/ /api/auth/me/ /api/bookings/ /api/orders/; do
  hits0=$(own_hits)
  METHOD=GET BODY= wrk_row user "GET $path (64 users)" 64 pgbench_s -- -s "$src/bench/write.lua" "$api$path"
  share=$(awk -v h="$(( $(own_hits) - hits0 ))" -v r="$(tail -1 "$results" | cut -f4)" -v d="$duration" \
    'BEGIN { if (r > 0) printf "%.0f %% from the cache", 100 * h / (r * d) }')
  sed -i '$ s/$/'"$share"'/' "$results"
done

log "HTTP/2 (h2load)"
first=$(sed -n 1p "$dir/users" | cut -d' ' -f2)
h2_row "static file $static" - "$api$static"
h2_row "GET /api/products/" static "$api/api/products/"
h2_row "GET /api/cart/ (one user)" pgbench_s "$api/api/cart/" "cookie: ${first%%|*}"

log "plot"
points="1 4 16 64"; [ "$quick" = 1 ] && points="1 16 64"
plot=$dir/plot.tsv; : > "$plot"
for c in $points; do
  export SESSIONS; SESSIONS=$(sessions_n 64)
  METHOD=GET BODY= wrk_row plot "GET /api/bookings/" "$c" - -- -s "$src/bench/write.lua" "$api/api/bookings/"
  METHOD=PATCH BODY='{"first_name":"Plot"}' wrk_row plot "PATCH /api/auth/me/" "$c" - -- \
    -s "$src/bench/write.lua" "$api/api/auth/me/"
done
awk -F'\t' '$1 == "plot" && $2 ~ /GET/ {print $3, $4, $6}' "$results" > "$dir/read.dat"
awk -F'\t' '$1 == "plot" && $2 ~ /PATCH/ {print $3, $4, $6}' "$results" > "$dir/cmd.dat"
gnuplot <<EOF
set terminal pngcairo size 1000,420 font ",10"
set output "$png"
set multiplot layout 1,2 title "Punyaka bench — $(date -u +%F)$([ "$quick" = 1 ] && echo ' (SMOKE RUN, not a measurement)')"
set logscale x 2
set xlabel "connections"
set key left top
set title "throughput"
set ylabel "requests/s"
plot "$dir/read.dat" using 1:2 with linespoints title "GET /api/bookings/", "$dir/cmd.dat" using 1:2 with linespoints title "PATCH /api/auth/me/ (command)"
set title "p99 latency"
set ylabel "ms"
plot "$dir/read.dat" using 1:3 with linespoints title "GET /api/bookings/", "$dir/cmd.dat" using 1:3 with linespoints title "PATCH /api/auth/me/ (command)"
unset multiplot
EOF

log "pgbench"
scale=8; [ "$quick" = 1 ] && scale=1
as_pg psql -X -q -h "$pgdir" -p "$pgport" -d postgres -c 'CREATE DATABASE bench_pgbench' >/dev/null
as_pg pgbench -q -i -s "$scale" -h "$pgdir" -p "$pgport" bench_pgbench >/dev/null 2>&1
pg_s=$(as_pg pgbench -S -c 64 -j 2 -T "$duration" -h "$pgdir" -p "$pgport" bench_pgbench 2>/dev/null | awk '/^tps/ {printf "%.0f", $3; exit}')
pg_tpcb=$(as_pg pgbench -c 8 -j 2 -T "$duration" -h "$pgdir" -p "$pgport" bench_pgbench 2>/dev/null | awk '/^tps/ {printf "%.0f", $3; exit}')
printf 'ceiling\tpgbench -S (select only, -c64)\t64\t%s\t-\t-\t-\t\nceiling\tpgbench TPC-B (-c8)\t8\t%s\t-\t-\t-\t\n' \
  "$pg_s" "$pg_tpcb" >> "$results"
log "pgbench -S $pg_s tps, TPC-B $pg_tpcb tps"

# ---- the document ----

ceiling_of() { case $1 in static) echo "$static_rps" ;; pgbench_s) echo "$pg_s" ;; tpcb) echo "$pg_tpcb" ;; *) echo 0 ;; esac; }
ceiling_name() { case $1 in static) echo "static file" ;; pgbench_s) echo "pgbench -S" ;; tpcb) echo "TPC-B" ;; *) echo "" ;; esac; }
table() {  # table GROUP…
  echo "| what | connections | req/s | p50 ms | p99 ms | ratio to ceiling | notes |"
  echo "|---|---|---|---|---|---|---|"
  for g in "$@"; do
    while IFS=$'\t' read -r group label c rps p50 p99 ceiling note; do
      [ "$group" = "$g" ] || continue
      local r="—"
      [ "$ceiling" = - ] || r="$(percent "$rps" "$(ceiling_of "$ceiling")") $(ceiling_name "$ceiling")"
      printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$label" "$c" "$rps" "$p50" "$p99" "$r" "$note"
    done < "$results"
  done
}
soak_section=
[ -f "$out" ] && soak_section=$(sed -n '/^<!-- soak -->$/,/^<!-- \/soak -->$/p' "$out")
# The hand-written analysis (what limits each figure, with its profile) is
# kept from one run to the next, like the soak.
notes_section=
[ -f "$out" ] && notes_section=$(sed -n '/^<!-- notes -->$/,/^<!-- \/notes -->$/p' "$out")
{
  echo "# Performance"
  echo
  if [ "$quick" = 1 ]; then
    echo "**SMOKE RUN (\`BENCH_QUICK=1\`, ${duration}-second phases, pgbench scale 1): it proves that \`bench/run.sh\`"
    echo "works end to end; its numbers are not a measurement.** Run \`bench/run.sh BUILD_DIR\` on a quiet machine for one."
    echo
  fi
  echo "Written by \`bench/run.sh\` (issue 16) on $(date -u '+%F %H:%M UTC'), commit $commit, build \`$(basename "$build")\` ($(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt" 2>/dev/null))."
  echo "What each figure is and what the targets are: bench/README.md and issue 16."
  echo
  echo "## Machine"
  echo
  echo "- $(nproc) cores: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
  echo "- memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- $(uname -sr); PostgreSQL $(as_pg psql -X -A -t -h "$pgdir" -p "$pgport" -d postgres -c 'SHOW server_version' | cut -d' ' -f1) (fsync off), Redis $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p'), the dev Kafka, 2 workers"
  echo "- data: $counts, loaded by bench/fixture.sql in ${load_s%.*} s; 64 signed-in customers"
  echo "- every phase ${duration} s, wrk -t2 (HTTP/1.1, keep-alive) and h2load -t2 -c64 -m10 (HTTP/2, h2c), on the same cores as the servers"
  echo
  echo "## Ceilings"
  echo
  table ceiling
  echo
  echo "## Catalog (public; ratio to the static file)"
  echo
  table catalog
  echo
  echo "## Per-user reads, 64 signed-in users (ratio to pgbench -S)"
  echo
  table user
  echo
  echo "## Commands end to end (ratio to pgbench TPC-B -c8)"
  echo
  echo "Accept→applied (the API's \`issued_at\` to the worker's transaction, \`processed_commands\`), PATCH me with 16 users: p50 / p99 = ${lat16:-?} ms."
  echo
  table command
  echo
  echo "## HTTP/2 (h2load; latency is h2load's mean)"
  echo
  table h2
  echo
  echo "## Against connections"
  echo
  echo "![throughput and p99 against connections]($(basename "$png"))"
  echo
  table plot
  echo
  if [ -n "$soak_section" ]; then echo "$soak_section"; else
    echo "<!-- soak -->"; echo "## Soak"; echo; echo "Not run yet: \`bench/run.sh soak BUILD_DIR\` (SOAK_S, default 600 s) writes this section."; echo "<!-- /soak -->"
  fi
  [ -z "$notes_section" ] || { echo; echo "$notes_section"; }
} > "$out.tmp"
mv "$out.tmp" "$out"
log "wrote $out and $png"
