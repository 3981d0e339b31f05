# shellcheck shell=bash
# procs.sh — sourced by scripts/lib/stack.sh and scripts/run: which of the
# processes of a stack folder are alive, by the pid files stack.sh keeps there.

# running PID — PID is a live process. A zombie counts as dead: it only waits
# for its reaper, and PID 1 of a container or VM may take seconds to be one.
running() {
  local pid=${1:-} stat
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  stat=${stat##*) }            # after "pid (comm) ": the state letter first
  [ "${stat%% *}" != Z ]
}

# pid_of DIR NAME — the pid recorded for NAME (api, worker-N, redis,
# devkafka, postgres), or nothing. Never fails.
pid_of() {
  local f="$1/$2.pid"
  if [ "$2" = postgres ]; then f="$(cat "$1/pgdir" 2>/dev/null)/data/postmaster.pid"; fi
  local pid=""
  if [ -f "$f" ]; then pid=$(head -n 1 "$f" 2>/dev/null | tr -cd '0-9'); fi
  if [ -n "$pid" ]; then echo "$pid"; fi
  return 0
}

# proc_alive DIR NAME
proc_alive() { running "$(pid_of "$1" "$2")"; }
