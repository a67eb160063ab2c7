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
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="${1:?work directory}"
config="${2:?Falcon-H1 config.json}"
sequences="${3:?number of 512-token calibration sequences}"
methods="${4:-gptq}"
mkdir -p "$work/launcher/cli/target" "$work/launcher/cli/src/main/jvm"
cd "$repo"
./falconq --version >/dev/null
cp falconq "$work/launcher/falconq"
cp cli/target/falconq.jar "$work/launcher/cli/target/falconq.jar"
cp cli/src/main/jvm/c2-directives.json "$work/launcher/cli/src/main/jvm/"
[[ -e "$work/shared" ]] || ln -s "$(cd "$repo/../shared" && pwd -P)" "$work/shared"
fq="$work/launcher/falconq"
"$fq" --version >/dev/null # the AOT cache, outside the measurements
name="$(basename "$config" .json)"
model="$work/synth-$name"
[[ -f "$model/config.json" ]] || "$fq" synth --config "$config" -o "$model" -q
data="$repo/../shared/corpus/train.txt"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ), commit $(git -C "$repo" rev-parse --short HEAD)"
for m in $methods; do
  "$fq" quantize "$model" --scheme w4 --method "$m" --data "$data" --chunks "$sequences" -t 2 --dry-run | sed "s/^/plan $name $m: /"
done
load() { echo "load $(cut -d' ' -f1-3 /proc/loadavg) at $(date -u +%H:%M:%SZ)"; }
load
printf '%s calibrate forward (%s x 512): ' "$name" "$sequences"
"$repo/tests/bench/peak-memory.sh" "$fq" calibrate "$model" --data "$data" --chunks "$sequences" --ctx 512 -t 2 -q \
  -o "$work/$name-imatrix.gguf" --force
for m in $methods; do
  load
  printf '%s w4 %s (%s x 512): ' "$name" "$m" "$sequences"
  "$repo/tests/bench/peak-memory.sh" "$fq" quantize "$model" --scheme w4 --method "$m" --data "$data" \
    --chunks "$sequences" -t 2 -q -o "$work/$name-w4-$m" --force
done
load
