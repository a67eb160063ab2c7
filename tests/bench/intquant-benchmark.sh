#!/usr/bin/env bash
# Issue 14's int-quant benchmark: the layer-by-layer GPTQ (and AWQ) job on synthetic checkpoints of real Falcon-H1
# sizes, next to one calibration forward over the same tokens (`falconq calibrate`: the imatrix pass, i.e. the
# forward pass without the LM head), and the job's dry-run plan. Prints one table row per run.
#
#   tests/bench/intquant-benchmark.sh WORK CONFIG SEQUENCES [METHODS]
#   e.g. tests/bench/intquant-benchmark.sh /work/bench ../shared/configs/falcon-h1-0.5b.json 128 gptq
#
# WORK receives a snapshot of the launcher and jar (so edits to the tree during the run change nothing), the
# synthetic checkpoint (`falconq synth --config CONFIG`, made once) and the outputs. Calibration text:
# ../shared/corpus/train.txt, SEQUENCES chunks of 512 tokens, 2 threads. The machine's load average is printed
# before and after each run; quantize's own last line splits its wall time by phase (forward, statistics, solve, …).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
work="${1:?work directory}"
config="${2:?Falcon-H1 config.json}"
sequences="${3:?number of 512-token calibration sequences}"
methods="${4:-gptq}"
snapshot_launcher "$work"
cd "$repo"
name="$(basename "$config" .json)"
model="$work/synth-$name"
synth_once "$config" "$model"
data="$repo/../shared/corpus/train.txt"
machine_line load
for m in $methods; do
  "$fq" quantize "$model" --scheme w4 --method "$m" --data "$data" --chunks "$sequences" -t 2 --dry-run | sed "s/^/plan $name $m: /"
done
load_line
printf '%s calibrate forward (%s x 512): ' "$name" "$sequences"
"$repo/tests/bench/peak-memory.sh" "$fq" calibrate "$model" --data "$data" --chunks "$sequences" --ctx 512 -t 2 -q \
  -o "$work/$name-imatrix.gguf" --force
for m in $methods; do
  load_line
  printf '%s w4 %s (%s x 512): ' "$name" "$m" "$sequences"
  "$repo/tests/bench/peak-memory.sh" "$fq" quantize "$model" --scheme w4 --method "$m" --data "$data" \
    --chunks "$sequences" -t 2 -q -o "$work/$name-w4-$m" --force
done
load_line
