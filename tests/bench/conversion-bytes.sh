#!/usr/bin/env bash
# Byte identity of everything the GGUF planning/conversion code produces, between two builds (e.g. a launcher copied
# by tests/bench/snapshot-launcher.sh before a refactor, and the tree's ./falconq after): convert of the tiny model to
# every type in ../shared/llamacpp (the imatrix ones with and without the imatrix), requantize, a --target-size
# allocation, a split convert, convert --dry-run, inspect (folder, GGUF, configs) and a pipeline --dry-run.
# Each output goes to WORK/old and WORK/new; every file is cmp'ed; exit 1 on any difference.
#   usage: tests/bench/conversion-bytes.sh OLD_LAUNCHER NEW_LAUNCHER WORK [SENSITIVITY_JSON]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
old="${1:?old launcher}"; new="${2:?new launcher}"; work="${3:?work directory}"
tiny="$shared/models/falcon-h1-tiny"
imatrix="$shared/llamacpp/imatrix-calib.gguf"
sensitivity="${4:-}"  # a sensitivity.json (falconq measure) for the --target-size case; skipped without one
run() {  # run LAUNCHER SIDE NAME ARGS... : stdout to SIDE/NAME.out
  local launcher="$1" side="$2" name="$3"; shift 3
  nice -n 19 "$launcher" "$@" > "$work/$side/$name.out" 2> "$work/$side/$name.err" || echo "exit $?" >> "$work/$side/$name.out"
}
for side in old new; do
  launcher="$old"; [ "$side" = new ] && launcher="$new"
  rm -rf "${work:?}/$side"; mkdir -p "$work/$side/split"
  for f in "$shared"/llamacpp/tiny-*.gguf; do
    t="$(basename "$f" .gguf)"; t="${t#tiny-}"; base="${t%-imatrix}"
    if [ "$base" = "$t" ]; then
      run "$launcher" "$side" "convert-$base" convert --type "$base" -t 2 -q -o "$work/$side/$base.gguf" "$tiny"
    else
      run "$launcher" "$side" "convert-$t" convert --type "$base" --imatrix "$imatrix" -t 2 -q \
          -o "$work/$side/$t.gguf" "$tiny"
    fi
  done
  run "$launcher" "$side" convert-Q4_K_M-t1 convert --type Q4_K_M -t 1 -q -o "$work/$side/Q4_K_M-t1.gguf" "$tiny"
  run "$launcher" "$side" requantize-Q4_K_M requantize --type Q4_K_M --imatrix "$imatrix" -t 2 -q \
      -o "$work/$side/requantize-Q4_K_M.gguf" "$shared/llamacpp/tiny-F32.gguf"
  [ -n "$sensitivity" ] && run "$launcher" "$side" alloc convert --target-size 3604640 --sensitivity "$sensitivity" \
      --imatrix "$imatrix" --allow-worse-than-stock --tensor-type-file "$work/$side/alloc-types.txt" -t 2 -q \
      -o "$work/$side/alloc.gguf" "$tiny"
  run "$launcher" "$side" split convert --type Q8_0 --split-max-tensors 20 -t 2 -q -o "$work/$side/split/tiny.gguf" "$tiny"
  run "$launcher" "$side" convert-dry-run convert --type Q3_K_M --imatrix "$imatrix" --dry-run "$tiny"
  run "$launcher" "$side" inspect inspect "$tiny"
  run "$launcher" "$side" inspect-json inspect --json "$tiny"
  run "$launcher" "$side" inspect-gguf inspect --tensors "$shared/llamacpp/tiny-Q4_K_M.gguf"
  for c in falcon-h1-0.5b falcon-h1-34b; do
    run "$launcher" "$side" "inspect-$c" inspect --json --config "$shared/configs/$c.json"
  done
  run "$launcher" "$side" pipeline-dry-run pipeline --dry-run --model "$tiny" --config "$shared/configs/falcon-h1-0.5b.json" \
      --config "$shared/configs/falcon-h1-34b.json" --variants "Q8_0,Q6_K,Q5_K_M,Q4_K_M,Q4_K_M-imatrix,Q3_K_M,Q2_K,IQ4_XS,w8,w4-gptq,w4-g64,auto@Q4_K_M-imatrix-size,auto@3.5bpw" \
      --eval-data "$shared/corpus/valid.txt" -o "$work/$side/dist"
done
# printed lines name the side's own folder and the wall time: both are masked before the comparison
for side in old new; do
  for f in "$work/$side"/*.out "$work/$side"/*.err; do
    sed -E "s#$work/$side/#WORK/#g; s#[0-9.]+ s on ([0-9]+) thread#TIME s on \1 thread#g" "$f" > "$f.masked" && mv "$f.masked" "$f"
  done
done
compare_sides "$work"
