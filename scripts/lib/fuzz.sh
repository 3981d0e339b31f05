#!/usr/bin/env bash
# fuzz.sh — builds the libFuzzer harnesses (tests/fuzz/fuzz_*.c) with clang
# into a build directory of their own and runs them (docs/testing.md).
#
#   fuzz.sh ci [TOTAL_SECONDS]     every harness, TOTAL_SECONDS of wall time
#                                  in all (default $PUNYAKA_FUZZ_TOTAL_S, else
#                                  180), two at a time
#   fuzz.sh run NAME [SECONDS]     one harness, SECONDS (default 600)
#   fuzz.sh list                   the harnesses
#
# Each run starts from a scratch copy of tests/fuzz/corpus/NAME, so the
# repository is never written; new inputs stay in the scratch directory
# (printed). Any crash, leak, timeout (-timeout) or memory blow-up
# (-rss_limit_mb) fails the run and prints the reproducer: rerun it with
#   build-fuzz/tests/fuzz/NAME REPRODUCER
# Environment: PUNYAKA_FUZZ_BUILD_DIR (default <repo>/build-fuzz),
# PUNYAKA_FUZZ_WORK (scratch, default a new directory under /tmp),
# PUNYAKA_FUZZ_JOBS (harnesses run at once in `ci`, default 2).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${PUNYAKA_FUZZ_BUILD_DIR:-$src/build-fuzz}
jobs=${PUNYAKA_FUZZ_JOBS:-2}

harnesses() {
  local f
  for f in "$src"/tests/fuzz/fuzz_*.c; do
    f=$(basename "$f" .c)
    [ "$f" = fuzz_support ] || echo "$f"
  done
}

build() {
  command -v clang >/dev/null || { echo "fuzz.sh: clang is missing (scripts/lib/deps.sh installs it)" >&2; exit 1; }
  [ -f "$build/CMakeCache.txt" ] ||
    CC=clang cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPUNYAKA_FUZZ=ON >&2
  cmake --build "$build" -j"$(nproc)" --target fuzz_all >&2
}

# run_one NAME SECONDS WORKDIR: 0 when the harness ran its time without a finding.
run_one() {
  local name=$1 secs=$2 work=$3
  local bin="$build/tests/fuzz/$name" corpus="$work/$name/corpus" log="$work/$name/log"
  mkdir -p "$corpus" "$work/$name/artifacts"
  cp -r "$src/tests/fuzz/corpus/$name/." "$corpus/" 2>/dev/null || true
  # detect_leaks: libFuzzer reports a leak as a finding; the API's pool-
  # allocated memory is freed per request, so a leak is a real one.
  if ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:allocator_may_return_null=1 \
     UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 -max_len=8192 -print_final_stats=1 \
       -artifact_prefix="$work/$name/artifacts/" "$corpus" >"$log" 2>&1; then
    echo "fuzz: $name ok ($(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') runs in ${secs}s)" >&2
    return 0
  fi
  echo "fuzz: $name FAILED — log $log" >&2
  grep -E 'ERROR:|runtime error|SUMMARY' "$log" | head -5 >&2 || true
  local a
  for a in "$work/$name/artifacts"/*; do
    [ -e "$a" ] && echo "fuzz: reproducer $a (run: $bin $a)" >&2
  done
  return 1
}

ci() {
  local total=$1 list n secs work failed=0 pids=() names=() i
  list=$(harnesses)
  n=$(echo "$list" | wc -l)
  # `jobs` at a time: ceil(n / jobs) rounds share the total (≥ 10 s each).
  secs=$(( total / ((n + jobs - 1) / jobs) ))
  [ "$secs" -ge 10 ] || secs=10
  work=${PUNYAKA_FUZZ_WORK:-$(mktemp -d /tmp/punyaka-fuzz.XXXXXX)}
  echo "fuzz: $n harnesses, ${secs}s each, $jobs at a time; scratch $work" >&2
  for name in $list; do
    run_one "$name" "$secs" "$work" &
    pids+=($!) names+=("$name")
    if [ "${#pids[@]}" -ge "$jobs" ]; then
      wait "${pids[0]}" || failed=1
      pids=("${pids[@]:1}") names=("${names[@]:1}")
    fi
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || failed=1
  done
  [ "$failed" = 0 ] || { echo "fuzz: a harness found a problem (above)" >&2; return 1; }
  echo "fuzz: all harnesses passed" >&2
}

case "${1:-}" in
  list) harnesses ;;
  ci) build; ci "${2:-${PUNYAKA_FUZZ_TOTAL_S:-180}}" ;;
  run)
    [ -n "${2:-}" ] || { echo "usage: fuzz.sh run NAME [SECONDS]" >&2; exit 2; }
    name=$2
    name=fuzz_${name#fuzz_}
    harnesses | grep -x "$name" >/dev/null || { echo "fuzz.sh: no harness $name (fuzz.sh list)" >&2; exit 2; }
    build
    work=${PUNYAKA_FUZZ_WORK:-$(mktemp -d /tmp/punyaka-fuzz.XXXXXX)}
    echo "fuzz: $name for ${3:-600}s; scratch $work (new inputs in $work/$name/corpus)" >&2
    run_one "$name" "${3:-600}" "$work"
    ;;
  *) echo "usage: fuzz.sh ci [TOTAL_SECONDS] | run NAME [SECONDS] | list" >&2; exit 2 ;;
esac
