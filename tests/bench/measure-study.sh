#!/usr/bin/env bash
# Issue 15's proxy study: `falconq measure` on the tiny model with each method (direct, probe, layer-gain) on two
# texts (corpus/calib.txt, and the first half of corpus/train.txt cut at a line end; never valid.txt), then how well
# each cheaper method and the other text rank the direct measurement's (tensor, type) pairs: Spearman and Kendall
# (Apache Commons Math, SensitivityAgreement) and the median factor between values.
#
#   tests/bench/measure-study.sh WORK [CHUNKS]
#
# WORK receives a snapshot of the jar (edits to the tree during the run change nothing) and the tables
# WORK/tiny-{calib,train}-{direct,probe,layer-gain}.json. 16 chunks of 512 tokens, llama.cpp's imatrix, 2 threads.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
work="${1:?work directory}"
chunks="${2:-16}"
snapshot_jar "$work" falconq.jar
fq=("${fq_jar[@]}")
python3 - "$shared/corpus/train.txt" "$work/train-first-half.txt" <<'PY'
import sys
b = open(sys.argv[1], 'rb').read()
open(sys.argv[2], 'wb').write(b[:b.rfind(b'\n', 0, len(b) // 2) + 1])
PY
for text in calib train; do
  data="$shared/corpus/calib.txt"; [[ $text == train ]] && data="$work/train-first-half.txt"
  for method in direct probe layer-gain; do
    out="$work/tiny-$text-$method.json"
    [[ -f "$out" ]] && continue
    start=$(date +%s)
    "${fq[@]}" measure "$shared/llamacpp/tiny-F32.gguf" --data "$data" --imatrix "$shared/llamacpp/imatrix-calib.gguf" \
      --ctx 512 --chunks "$chunks" --method "$method" -o "$out" -t 2 -q 2> >(grep -v "incubator modules" >&2)
    echo "tiny $text $method: $(( $(date +%s) - start )) s wall, load $(cut -d' ' -f1-3 /proc/loadavg)"
  done
done
agree() { "$java" -cp "$work/falconq.jar" io.falconq.jobs.sensitivity.SensitivityAgreement "$@"; }
for text in calib train; do
  for method in probe layer-gain; do
    echo "== $method vs direct, $text"; agree "$work/tiny-$text-direct.json" "$work/tiny-$text-$method.json" 1e-7
  done
done
echo "== direct train vs direct calib (the texts' own disagreement)"
agree "$work/tiny-calib-direct.json" "$work/tiny-train-direct.json" 1e-7
for method in probe layer-gain; do
  echo "== $method calib vs direct train (cheap method on one text against the truth on the other)"
  agree "$work/tiny-train-direct.json" "$work/tiny-calib-$method.json" 1e-7
done
