#!/usr/bin/env bash
# test_install.sh — the image's file layout comes from the CMake install()
# rules (issue 15). There is no Docker engine here, so the Dockerfile's own
# `cmake --install …` line is taken from the Dockerfile and run on this build
# tree into a temporary prefix (its /src/build and /out replaced), then:
# exactly the production programs in bin/ (no mock Kafka, no tests), every
# migration, the web UI (with its precompressed .gz), the OpenAPI
# document and the mail templates in share/punyaka/, identical to the sources; every `COPY --from=build /out/…` source of the
# runtime stage exists; the installed programs run.
# Env: PUNYAKA_SOURCE_DIR, PUNYAKA_BUILD_DIR (set by ctest; scripts/test
# also runs it on the Release build, as the Dockerfile builds).
set -euo pipefail

: "${PUNYAKA_SOURCE_DIR:?PUNYAKA_SOURCE_DIR must point at the source tree}"
: "${PUNYAKA_BUILD_DIR:?PUNYAKA_BUILD_DIR must point at a configured and built tree}"
SRC=$PUNYAKA_SOURCE_DIR
DOCKERFILE="$SRC/Dockerfile"
fail() { echo "FAIL: $*" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/punyaka-install-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
OUT="$TMP/out"

# 1. The Dockerfile installs with CMake, and copies nothing by hand.
install_line=$(grep -Eo 'cmake --install /src/build --prefix /out[^\\&;]*' "$DOCKERFILE" | head -n1) \
    || fail "the Dockerfile does not run 'cmake --install /src/build --prefix /out'"
if grep -En '(^|[^-])\binstall -[dmD]|\bcp -|find /src/build' "$DOCKERFILE"; then
    fail "the Dockerfile still copies build outputs by hand (lines above)"
fi
echo "ok Dockerfile: $install_line"

# 2. The same command, on this build tree, into a temporary prefix.
cmd=${install_line//\/src\/build/$PUNYAKA_BUILD_DIR}
cmd=${cmd//\/out/$OUT}
# shellcheck disable=SC2086
$cmd >"$TMP/install.log" 2>&1 || { cat "$TMP/install.log" >&2; fail "$cmd"; }
echo "ok $cmd"

# 3. bin/: exactly the production programs.
want_bin="punyaka-admin punyaka-api punyaka-mailer punyaka-migrate punyaka-notifier punyaka-replay punyaka-worker"
have_bin=$(ls "$OUT/bin" | tr '\n' ' ' | sed 's/ $//')
[[ "$have_bin" == "$want_bin" ]] || fail "bin/ holds '$have_bin', expected '$want_bin'"
for b in $want_bin; do [[ -x "$OUT/bin/$b" ]] || fail "bin/$b is not executable"; done
echo "ok bin: $have_bin"

# 4. share/punyaka/: migrations, web, openapi.yaml — the sources, byte for byte.
SHARE="$OUT/share/punyaka"
diff <(cd "$SRC/migrations" && ls *.sql) <(cd "$SHARE/migrations" && ls) >/dev/null \
    || fail "share/punyaka/migrations differs from migrations/*.sql: $(ls "$SHARE/migrations" | tr '\n' ' ')"
for f in "$SRC"/migrations/*.sql; do cmp -s "$f" "$SHARE/migrations/${f##*/}" || fail "${f##*/} differs"; done
# web/: the sources byte for byte, plus the build's precompressed `.gz`
# (issue 16, scripts/lib/precompress.sh): one beside every compressible
# source of 1 KiB or more, none beside anything else, each gunzipping to
# exactly its source.
diff -r -x '*.gz' "$SRC/web" "$SHARE/web" >"$TMP/web.diff" || { head -20 "$TMP/web.diff" >&2; fail "share/punyaka/web differs from web/"; }
[[ -f "$SHARE/web/index.html" ]] || fail "no web/index.html"
n_gz=0
while IFS= read -r -d '' f; do
    rel=${f#"$SRC/web/"} size=$(stat -c %s "$f")
    case "$rel" in *.html|*.css|*.js|*.mjs|*.json|*.svg|*.txt|*.map|*.webmanifest) text=1 ;; *) text=0 ;; esac
    if [[ $text == 1 && $size -ge 1024 ]]; then
        [[ -f "$SHARE/web/$rel.gz" ]] || fail "no share/punyaka/web/$rel.gz ($size bytes of text)"
        gzip -dc "$SHARE/web/$rel.gz" | cmp -s - "$f" || fail "share/punyaka/web/$rel.gz does not gunzip to web/$rel"
        n_gz=$((n_gz + 1))
    else
        [[ ! -e "$SHARE/web/$rel.gz" ]] || fail "share/punyaka/web/$rel.gz exists ($size bytes, text=$text)"
    fi
done < <(find "$SRC/web" -type f -print0)
n_all_gz=$(find "$SHARE/web" -name '*.gz' | wc -l)
[[ $n_all_gz == "$n_gz" ]] || fail "share/punyaka/web has $n_all_gz .gz files, $n_gz expected"
[[ $n_gz -gt 0 ]] || fail "no precompressed file in share/punyaka/web"
echo "ok share/punyaka/web: the sources and $n_gz precompressed .gz"
cmp -s "$SRC/schemas/openapi.yaml" "$SHARE/openapi.yaml" || fail "share/punyaka/openapi.yaml differs"
[ -s "$SHARE/openapi.json" ] || fail "share/punyaka/openapi.json (built from the YAML) is missing"
gzip -dc "$SHARE/openapi.json.gz" 2>/dev/null | cmp -s - "$SHARE/openapi.json" \
    || fail "share/punyaka/openapi.json.gz is missing or does not gunzip to openapi.json"
# The mailer's templates (workers/mail/templates), byte for byte.
diff -r "$SRC/workers/mail/templates" "$SHARE/mail-templates" >"$TMP/mail.diff" \
    || { head -20 "$TMP/mail.diff" >&2; fail "share/punyaka/mail-templates differs from workers/mail/templates"; }
[[ -f "$SHARE/mail-templates/default.txt" && -f "$SHARE/mail-templates/default.html" ]] || fail "no default mail template"
n_sql=$(ls "$SHARE/migrations" | wc -l)
echo "ok share/punyaka: $n_sql migrations, web ($(find "$SHARE/web" -type f | wc -l) files), openapi.yaml"

# 5. Whatever the runtime stage copies from the build stage exists here.
while read -r from; do
    [[ -e "$OUT${from#/out}" ]] || fail "the Dockerfile copies $from, which the install does not produce"
done < <(grep -Eo 'COPY --from=build /out/[^ ]*' "$DOCKERFILE" | awk '{print $3}')
# …and the ENV paths the runtime image sets are the installed ones.
for v in PUNYAKA_MIGRATIONS_DIR=/usr/share/punyaka/migrations PUNYAKA_WEB_ROOT=/usr/share/punyaka/web \
         PUNYAKA_OPENAPI_FILE=/usr/share/punyaka/openapi.yaml PUNYAKA_MAIL_TEMPLATES=/usr/share/punyaka/mail-templates; do
    grep -q "$v" "$DOCKERFILE" || fail "the Dockerfile does not set $v"
    [[ -e "$SHARE/${v#*=/usr/share/punyaka/}" ]] || fail "$v names nothing installed"
done
echo "ok runtime COPY sources and ENV paths"

# 6. The installed programs run: the migrator finds the installed migrations.
"$OUT/bin/punyaka-migrate" --help >"$TMP/help" 2>&1 || fail "installed punyaka-migrate --help failed"
grep -q -- "--writer" "$TMP/help" || fail "punyaka-migrate --help printed: $(head -3 "$TMP/help")"
"$OUT/bin/punyaka-admin" --help | grep -q "create-admin USERNAME EMAIL" || fail "installed punyaka-admin does not run"
# The installed mailer finds and renders the installed templates, as the
# image's PUNYAKA_MAIL_TEMPLATES makes it (not the source tree's).
PUNYAKA_MAIL_TEMPLATES="$SHARE/mail-templates" "$OUT/bin/punyaka-mailer" --check >"$TMP/mail.out" 2>&1 \
    || fail "installed punyaka-mailer --check: $(head -3 "$TMP/mail.out")"
grep -q "templates in $SHARE/mail-templates: ok" "$TMP/mail.out" || fail "punyaka-mailer --check printed: $(head -3 "$TMP/mail.out")"
echo "ok installed programs run"

echo "PASS test_install"
