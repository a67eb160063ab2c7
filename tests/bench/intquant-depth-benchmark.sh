#!/usr/bin/env bash
# The int-quant job on the first LAYERS layers of a real Falcon-H1 size (same hidden, heads, SSM and MLP shapes;
# `falconq synth` of the config with num_hidden_layers = LAYERS), every method back to back on the same tokens, for a
# per-layer comparison of methods when the full depth takes too long on a shared machine. Each method's wall time,
# CPU time (user + sys of the whole JVM, which a loaded machine does not inflate as much) and peak RSS.
#
#   tests/bench/intquant-depth-benchmark.sh WORK CONFIG LAYERS SEQUENCES [METHODS]
#   e.g. tests/bench/intquant-depth-benchmark.sh /work/bench/h2 ../shared/configs/falcon-h1-0.5b.json 4 128 "gptq awq"
#
# WORK receives a snapshot of the launcher and jar, the truncated config and checkpoint (made once) and the
# outputs. Calibration text: ../shared/corpus/train.txt, SEQUENCES chunks of 512 tokens, 2 threads.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
work="${1:?work directory}"
config="${2:?Falcon-H1 config.json}"
layers="${3:?number of layers to keep}"
sequences="${4:?number of 512-token calibration sequences}"
methods="${5:-gptq awq}"
snapshot_launcher "$work"
cd "$repo"
name="$(basename "$config" .json)-${layers}l"
model="$work/synth-$name"
if [[ ! -f "$model/config.json" ]]; then
  python3 -c 'import json, sys
c = json.load(open(sys.argv[1])); c.pop("_provenance", None); c["num_hidden_layers"] = int(sys.argv[2])
json.dump(c, open(sys.argv[3], "w"), indent=2)' "$config" "$layers" "$work/$name.json"
fi
synth_once "$work/$name.json" "$model"
data="$repo/../shared/corpus/train.txt"
machine_line
for m in $methods; do
  "$fq" quantize "$model" --scheme w4 --method "$m" --data "$data" --chunks "$sequences" -t 2 --dry-run | sed "s/^/plan $name $m: /"
done
for m in $methods; do
  load_line
  echo "$name w4 $m ($sequences x 512):"
  /usr/bin/time -f "  cpu: user %U s, sys %S s" "$repo/tests/bench/peak-memory.sh" "$fq" quantize "$model" --scheme w4 \
    --method "$m" --data "$data" --chunks "$sequences" -t 2 -o "$work/$name-w4-$m" --force 2>&1 | grep -v '^\[' || true
done
load_line
