#!/usr/bin/env bash
# Issue 15 on a configuration nothing was tuned on: `falconq synth` of the tiny model's config with 6 layers, 8 query /
# 4 KV heads (head_dim 32), 12 SSM heads x 32 in 2 groups, FFN 512 (random weights, seed 0); its importance matrix
# from corpus/calib.txt (16 chunks of 512); `falconq measure` direct / probe / layer-gain on calib.txt (8 chunks of
# 512) and how well probe and layer-gain rank direct (SensitivityAgreement, pairs above 1e-7 nats); then the direct
# table judged by tests/bench/allocation-kld.sh against llama.cpp's own llama-quantize mixes of the same model
# (its F32 GGUF from `falconq convert --type F32`).
#
#   tests/bench/synth-shape.sh WORK
#
# WORK receives a snapshot of the jar and launcher, synth-shape/ (config, model, imatrix), synth-F32.gguf, the tables
# synth-shape-{direct,probe,layer-gain}.json and alloc/ (allocation-kld.sh's work folder and stock files).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
work="$(mkdir -p "${1:?work directory}" && cd "$1" && pwd)"
snapshot_launcher "$work"
mkdir -p "$work/synth-shape"
python3 - "$shared/models/falcon-h1-tiny/config.json" "$work/synth-shape/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c.update(num_hidden_layers=6, num_attention_heads=8, num_key_value_heads=4, head_dim=32, mamba_n_heads=12,
         mamba_d_head=32, mamba_n_groups=2, intermediate_size=512)
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY
model="$work/synth-shape/model"
synth_once "$work/synth-shape/config.json" "$model"
imatrix="$work/synth-shape/imatrix.gguf"
[[ -f "$imatrix" ]] || "$fq" calibrate "$model" --data "$shared/corpus/calib.txt" --chunks 16 -o "$imatrix" -t 2 -q
for m in direct probe layer-gain; do
  out="$work/synth-shape-$m.json"
  [[ -f "$out" ]] && continue
  start=$(date +%s)
  "$fq" measure "$model" --data "$shared/corpus/calib.txt" --imatrix "$imatrix" --ctx 512 --chunks 8 --method "$m" \
    -o "$out" -t 2 -q
  echo "synth-shape $m: $(( $(date +%s) - start )) s wall, $(load_line)"
done
for m in probe layer-gain; do
  echo "== $m vs direct, synth-shape"
  "$java" -cp "$work/launcher/cli/target/falconq.jar" io.falconq.jobs.sensitivity.SensitivityAgreement \
    "$work/synth-shape-direct.json" "$work/synth-shape-$m.json" 1e-7
done
f32="$work/synth-F32.gguf"
[[ -f "$f32" ]] || "$fq" convert "$model" --type F32 -o "$f32" -q -t 2
mkdir -p "$work/alloc/stock"
MODEL="$f32" STOCK_DIR="$work/alloc/stock" PREFIX=synth IMATRIX="$imatrix" FALCONQ="$fq" \
  "$repo/tests/bench/allocation-kld.sh" "$work/synth-shape-direct.json" "$work/alloc"
