#!/usr/bin/env bash
# precompress.sh SRC DEST — the web UI as punyaka-api serves and installs it
# (issue 16; api/compress.h): DEST is SRC file for file (modes and mtimes
# kept, so ETags and Last-Modified are the sources'), plus FILE.gz beside
# every compressible FILE of at least 1 KiB (API_COMPRESS_MIN_SIZE): h2o's
# file handler sends it to clients that accept gzip. gzip -9 -n: the best
# ratio zlib has, paid once per build; no name or time inside, so the same
# sources give the same bytes. Built beside DEST and swapped in whole, so a
# server reading DEST never sees half a tree.
set -euo pipefail
src=${1:?source directory} dest=${2:?destination directory}
min=1024
tmp="$dest.tmp.$$"
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
cp -a "$src/." "$tmp/"
# Text types only: images other than SVG, fonts and archives are already compressed.
find "$tmp" -type f \( -name '*.html' -o -name '*.css' -o -name '*.js' -o -name '*.mjs' -o -name '*.json' \
  -o -name '*.svg' -o -name '*.txt' -o -name '*.map' -o -name '*.webmanifest' \) -size +$((min - 1))c -print0 |
  while IFS= read -r -d '' f; do
    gzip -9 -n -c "$f" > "$f.gz"
    touch -r "$f" "$f.gz"
  done
rm -rf "$dest.old"
[ ! -e "$dest" ] || mv "$dest" "$dest.old"
mv "$tmp" "$dest"
rm -rf "$dest.old"
