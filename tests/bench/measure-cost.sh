#!/usr/bin/env bash
# Issue 15's measurement cost: `falconq measure --dry-run` for every Falcon-H1 config and method, and a timed direct
# measurement on a synthetic checkpoint (`falconq synth --config CONFIG`, made once), one candidate type, stopped
# after TENSORS tensors: every progress line is stamped with wall seconds and the JVM's CPU seconds (utime + stime
# from /proc), so rates can be read even on a loaded machine. A layer's tensors are reported together when the layer
# is done (the first line is token_embd, then nine per layer). The formula (SensitivityCost) extrapolates.
#
#   tests/bench/measure-cost.sh WORK CONFIG [TENSORS] [CHUNKS]
#   e.g. tests/bench/measure-cost.sh /work/bench ../shared/configs/falcon-h1-0.5b.json 6 2
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
work="${1:?work directory}"
config="${2:?Falcon-H1 config.json}"
tensors="${3:-6}"
chunks="${4:-2}"
snapshot_jar "$work" falconq-measure.jar
fq=("${fq_jar[@]}")
for c in "$shared"/configs/*.json; do
  for method in direct probe layer-gain; do
    "${fq[@]}" measure "$c" --dry-run --chunks 4 --method "$method" 2>/dev/null | sed "s|^|$(basename "$c" .json) |"
  done
done
name="$(basename "$config" .json)"
model="$work/synth-$name"
synth_once "$config" "$model"
out="$work/$name-measure-cost.json"
coproc FQ { exec "${fq[@]}" measure "$model" --data "$shared/corpus/calib.txt" --types Q4_K --ctx 512 \
  --chunks "$chunks" -o "$out" -t 2 -v --force 2>&1 >/dev/null; }
pid=$FQ_PID
t0=$EPOCHREALTIME
seen=0
measuring=0
# bash builtins only inside the loop: a fork per line would lag hundreds of conversion lines behind on a loaded machine
while IFS= read -r line <&"${FQ[0]}"; do
  read -r -a stat < /proc/"$pid"/stat || break
  now=$EPOCHREALTIME
  printf "%8.1f s wall %8.1f s cpu  %s\n" "$(( (${now/./} - ${t0/./}) / 100000 ))e-1" \
    "$(( (stat[13] + stat[14]) * 10 ))e-3" "$line"
  [[ $line == *"reference window"* || $line == *"] token_embd.weight"* ]] && measuring=1
  [[ $measuring == 1 && $line == *"] "*".weight"* ]] && seen=$((seen + 1))
  if (( seen >= tensors )); then kill "$pid"; break; fi
done
echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
