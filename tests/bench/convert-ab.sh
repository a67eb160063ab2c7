#!/usr/bin/env bash
# Convert speed of two builds, interleaved (a refactor's "speed unchanged" check): ROUNDS rounds of
#   OLD convert MODEL --type TYPE -t THREADS -o WORK/old.gguf --force -q
#   NEW convert ... -o WORK/new.gguf
# each under /usr/bin/time (wall, user CPU, peak RSS, 1-minute load), the two outputs cmp'ed after every round, then
# the median wall time of each build. OLD/NEW are launchers, e.g. copies by tests/bench/snapshot-launcher.sh.
#
#   tests/bench/convert-ab.sh OLD NEW WORK [MODEL] [TYPE] [ROUNDS] [THREADS]
#   e.g. nice -n 19 tests/bench/convert-ab.sh /work/bench/h3-base/launcher/falconq ./falconq /tmp/ab
# Defaults: the tiny model, Q4_K_M, 3 rounds, 2 threads.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
old="${1:?old launcher}"; new="${2:?new launcher}"
work="$(mkdir -p "${3:?work directory}" && cd "$3" && pwd)"
model="${4:-$shared/models/falcon-h1-tiny}"; type="${5:-Q4_K_M}"; rounds="${6:-3}"; threads="${7:-2}"
median() { sort -g "$1" | awk '{v[NR] = $1} END {print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }
machine_line load
echo "convert $(basename "$model") --type $type -t $threads, $rounds interleaved rounds"
echo "| round | build | wall | user CPU | peak RSS | load (1 min) |"
echo "|---|---|---|---|---|---|"
rm -f "$work/old.walls" "$work/new.walls"
for round in $(seq "$rounds"); do
  for side in old new; do
    launcher="$old"; [[ $side == new ]] && launcher="$new"
    /usr/bin/time -f '%e %U %M' -o "$work/time.log" "$launcher" convert "$model" --type "$type" -t "$threads" \
        -o "$work/$side.gguf" --force -q >/dev/null
    read -r wall user rss < "$work/time.log"
    echo "$wall" >> "$work/$side.walls"
    printf '| %d | %s | %s s | %s s | %d MiB | %s |\n' "$round" "$side" "$wall" "$user" $((rss / 1024)) \
        "$(cut -d' ' -f1 /proc/loadavg)"
  done
  cmp "$work/old.gguf" "$work/new.gguf"
done
echo "median wall: old $(median "$work/old.walls") s, new $(median "$work/new.walls") s; outputs identical"
