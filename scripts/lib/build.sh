#!/usr/bin/env bash
# build.sh DIR [cmake args...] — configure (once) and build every target into DIR.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
dir=$1; shift
[ -f "$dir/CMakeCache.txt" ] || cmake -S "$src" -B "$dir" "$@" >&2
cmake --build "$dir" -j"$(nproc)" >&2
