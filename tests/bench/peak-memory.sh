#!/usr/bin/env bash
# Runs a command and reports its wall time and the peak of its resident memory split into anonymous (heap, JIT,
# thread stacks, direct buffers) and file-backed (mapped model and output files) pages, sampled from
# /proc/PID/smaps_rollup every 0.2 s over the whole process tree's main java process.
# Usage: tests/bench/peak-memory.sh COMMAND [ARGS...]   (prints one line: wall_s anon_peak_mib file_peak_mib rss_peak_mib)
set -euo pipefail
start=$(date +%s.%N)
"$@" &
pid=$!
anon=0 file=0 rss=0
while kill -0 "$pid" 2>/dev/null; do
  for p in $(pgrep -P "$pid" java 2>/dev/null) $pid; do
    if [[ -r /proc/$p/smaps_rollup ]]; then
      read -r a f r < <(awk '/^Rss:/ {r=$2} /^Anonymous:/ {a=$2} END {print a+0, r-a, r+0}' /proc/$p/smaps_rollup 2>/dev/null || echo "0 0 0")
      (( a > anon )) && anon=$a
      (( f > file )) && file=$f
      (( r > rss )) && rss=$r
    fi
  done
  sleep 0.2
done
wait "$pid"
status=$?
end=$(date +%s.%N)
printf 'wall %.1f s  peak anon %d MiB  peak file %d MiB  peak rss %d MiB  exit %d\n' "$(echo "$end - $start" | bc -l)" \
  $((anon / 1024)) $((file / 1024)) $((rss / 1024)) "$status"
