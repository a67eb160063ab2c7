#!/usr/bin/env bash
# Conversion speed and memory next to llama.cpp (issue 4): a synthetic Falcon-H1 checkpoint of a real size (`falconq
# synth --config CONFIG --seed 1`, made once) and its BF16 GGUF; then for each TYPE, ROUNDS interleaved rounds of
#   llama.cpp   llama-quantize BF16.gguf OUT TYPE 2   (the pinned release's own tool, tests/node/build-llama-quantize.sh)
#   falconq     requantize BF16.gguf --type TYPE -o OUT --force -q -t 2   (a snapshot of the tree's launcher)
# each under /usr/bin/time (wall, user CPU, peak RSS), the two outputs compared byte for byte after every round, and
# per type the median wall times and their ratio.
#
#   tests/bench/convert-vs-llama.sh WORK [ROUNDS] [TYPES] [CONFIG]
#   e.g. nice -n 19 tests/bench/convert-vs-llama.sh /work/bench/convert 3 "Q4_0 Q8_0 Q4_K_M"
#
# Defaults: 3 rounds, "Q4_0 Q8_0 Q4_K_M", the 0.5B config. Needs ~3 GB in WORK for the 0.5B.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
work="$(mkdir -p "${1:?work directory}" && cd "$1" && pwd)"
rounds="${2:-3}"
types="${3:-Q4_0 Q8_0 Q4_K_M}"
config="$(realpath "${4:-$shared/configs/falcon-h1-0.5b.json}")"
quantize="$("$repo/tests/node/build-llama-quantize.sh" "$work/llama-tools" | tail -1)"
snapshot_launcher "$work"
name="$(basename "$config" .json)"
model="$work/synth-$name"
synth_once "$config" "$model" --seed 1
bf16="$work/$name-BF16.gguf"
[[ -f "$bf16" ]] || "$fq" convert "$model" --type BF16 -o "$bf16" -q -t 2

timed() { # LABEL COMMAND... -> one table row; the wall seconds go to $work/LABEL.walls
  local log="$work/time.log" wall user rss
  /usr/bin/time -f '%e %U %M' -o "$log" "${@:2}" >/dev/null 2>"$work/run.err" || { cat "$work/run.err" >&2; exit 1; }
  read -r wall user rss < "$log"
  echo "$wall" >> "$work/$1.walls"
  printf '| %s | %s s | %s s | %d MiB | %s |\n' "$1" "$wall" "$user" $((rss / 1024)) "$(cut -d' ' -f1 /proc/loadavg)"
}
median() { sort -g "$1" | awk '{v[NR] = $1} END {print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }

machine_line load
echo "| run | wall | user CPU | peak RSS | load (1 min) |"
echo "|---|---|---|---|---|"
for type in $types; do
  rm -f "$work/llama-quantize $type.walls" "$work/falconq requantize $type.walls"
  for ((r = 1; r <= rounds; r++)); do
    timed "llama-quantize $type" "$quantize" "$bf16" "$work/llama-$type.gguf" "$type" 2
    timed "falconq requantize $type" "$fq" requantize "$bf16" --type "$type" -o "$work/falconq-$type.gguf" --force -q -t 2
    cmp -s "$work/llama-$type.gguf" "$work/falconq-$type.gguf" || { echo "$type round $r: outputs differ" >&2; exit 1; }
  done
  l="$(median "$work/llama-quantize $type.walls")"; f="$(median "$work/falconq requantize $type.walls")"
  echo "$type: median wall llama-quantize $l s, falconq $f s, falconq / llama.cpp $(awk -v a="$f" -v b="$l" 'BEGIN {printf "%.2f", a / b}'); outputs byte-identical in every round"
done
load_line
