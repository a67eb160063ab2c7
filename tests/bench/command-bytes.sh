#!/usr/bin/env bash
# Byte identity of what the other commands write, between two builds (the companion of conversion-bytes.sh, which
# covers convert/requantize/inspect): calibrate (GGUF and legacy dat, --in-file), quantize (w8 rtn, w4 gptq), measure
# and its --dry-run, eval (--json, --save-logits, --baseline, per-language), synth, a pipeline run of the tiny model,
# and the usage and output errors of every command (message and exit code). Texts: corpus/train.txt and calib.txt,
# never the evaluation text valid.txt. Each output goes to WORK/old and WORK/new; every file is cmp'ed after
# masking what legitimately differs (the side's own folder, wall times, speeds, timestamps); exit 1 on any difference.
#   usage: tests/bench/command-bytes.sh OLD_LAUNCHER NEW_LAUNCHER WORK
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
old="${1:?old launcher}"; new="${2:?new launcher}"; work="${3:?work directory}"
tiny="$shared/models/falcon-h1-tiny"
calib="$shared/corpus/calib.txt"; text="$shared/corpus/train.txt"
run() {  # run LAUNCHER SIDE NAME ARGS... : stdout to SIDE/NAME.out, stderr to SIDE/NAME.err, exit code appended
  local launcher="$1" side="$2" name="$3"; shift 3
  local code=0
  nice -n 19 "$launcher" "$@" > "$work/$side/$name.out" 2> "$work/$side/$name.err" || code=$?
  echo "exit $code" >> "$work/$side/$name.out"
}
for side in old new; do
  launcher="$old"; [ "$side" = new ] && launcher="$new"
  w="$work/$side"; rm -rf "${w:?}"; mkdir -p "$w"
  run "$launcher" "$side" calibrate calibrate --data "$calib" --ctx 128 --chunks 6 -t 2 -q -o "$w/imatrix.gguf" "$tiny"
  run "$launcher" "$side" calibrate-dat calibrate --data "$calib" --ctx 128 --chunks 3 --output-format dat -q \
      -o "$w/imatrix.dat" "$tiny"
  run "$launcher" "$side" calibrate-in-file calibrate --data builtin:en --ctx 64 --chunks 2 --in-file "$w/imatrix.gguf" \
      --process-output -q -o "$w/imatrix-merged.gguf" "$tiny"
  run "$launcher" "$side" quantize-w8 quantize --scheme w8 -t 2 -q -o "$w/w8" "$tiny"
  run "$launcher" "$side" quantize-w4-gptq quantize --scheme w4 --method gptq --data "$calib" --ctx 64 --chunks 4 \
      --group-size 64 -t 2 -q -o "$w/w4-gptq" "$tiny"
  run "$launcher" "$side" quantize-dry-run quantize --scheme w4 --method awq --ctx 256 --chunks 8 --dry-run -t 2 "$tiny"
  run "$launcher" "$side" measure measure --data "$calib" --ctx 64 --chunks 2 --types Q4_K,Q8_0 --imatrix "$w/imatrix.gguf" \
      -t 2 -q -o "$w/sensitivity.json" "$tiny"
  run "$launcher" "$side" measure-dry-run measure --dry-run -t 2 "$tiny"
  run "$launcher" "$side" measure-dry-run-config measure --dry-run --ctx 1024 --chunks -1 -t 2 \
      "$shared/configs/falcon-h1-7b.json"
  run "$launcher" "$side" eval eval --data "$text" --ctx 128 --chunks 4 --json -t 2 -q --save-logits "$w/base.logits" "$tiny"
  run "$launcher" "$side" eval-llama eval --data "$text" --protocol llama.cpp --ctx 128 --chunks 3 -t 2 -q \
      --save-logits "$w/base-llama.logits" "$tiny"
  run "$launcher" "$side" eval-baseline eval --baseline "$w/base.logits" --chunks 2 --json -t 2 -q \
      "$shared/llamacpp/tiny-Q4_K_M.gguf"
  run "$launcher" "$side" eval-languages eval --data en=builtin:en --data de=builtin:de --ctx 64 --chunks 2 --json -t 2 -q \
      --save-logits "$w/languages" "$tiny"
  run "$launcher" "$side" generate generate -p "The" -n 8 -t 2 -q --tokenizer "$tiny" "$shared/llamacpp/tiny-Q8_0.gguf"
  run "$launcher" "$side" synth synth --config "$shared/configs/falcon-h1-0.5b.json" --dtype f16 --max-shard-size 64 \
      --tokenizer "$tiny" -t 2 -q -o "$w/synth-0.5b"
  rm -f "$w"/synth-0.5b/*.safetensors.tmp* 2>/dev/null || true
  run "$launcher" "$side" pipeline pipeline --model "$tiny" --variants Q8_0,Q4_K_M-imatrix,w8,w4-gptq-g64 \
      --eval-data "$text" --ctx 128 --chunks 3 --calib-data "$calib" --calib-ctx 64 --calib-chunks 4 -t 2 -q -o "$w/dist"
  # usage and output errors: message and exit code
  run "$launcher" "$side" err-calibrate-ctx calibrate --data "$calib" --ctx 8 -o "$w/x.gguf" "$tiny"
  run "$launcher" "$side" err-calibrate-no-output calibrate --data "$calib" "$tiny"
  run "$launcher" "$side" err-calibrate-exists calibrate --data "$calib" --ctx 64 --chunks 1 -o "$w/imatrix.gguf" "$tiny"
  run "$launcher" "$side" err-quantize-chunks quantize --scheme w8 --chunks 0 -o "$w/x" "$tiny"
  run "$launcher" "$side" err-quantize-no-output quantize --scheme w8 "$tiny"
  run "$launcher" "$side" err-measure-ctx measure --data "$calib" --ctx 3 -o "$w/x.json" "$tiny"
  run "$launcher" "$side" err-measure-no-output measure --data "$calib" "$tiny"
  run "$launcher" "$side" err-eval-ctx eval --data "$text" --ctx 1 "$tiny"
  run "$launcher" "$side" err-eval-chunks eval --data "$text" --chunks 0 "$tiny"
  run "$launcher" "$side" err-pipeline-ctx pipeline --model "$tiny" --variants Q8_0 --eval-data "$text" --ctx 1 -o "$w/d2"
  run "$launcher" "$side" err-synth-no-output synth --config "$shared/configs/falcon-h1-0.5b.json"
  run "$launcher" "$side" err-convert-exists convert --type Q8_0 -o "$w/imatrix.gguf" "$tiny"
  run "$launcher" "$side" err-convert-gguf convert --type Q8_0 "$shared/llamacpp/tiny-F32.gguf"
  run "$launcher" "$side" err-requantize-type requantize --type Q9 "$shared/llamacpp/tiny-F32.gguf"
  run "$launcher" "$side" err-generate-n generate -p x -n 0 "$tiny"
  run "$launcher" "$side" err-threads convert --type Q8_0 -t 0 -o "$w/x.gguf" "$tiny"
  run "$launcher" "$side" err-verbose-quiet eval -v -q --data "$text" "$tiny"
done
# masked before the comparison: each side's folder, wall times and speeds, file times, the per-phase time line (a
# phase that took no time is not printed); report.md, report.html and manifest.json are left out (their tables carry
# tokens/s, the manifest their hashes): report.json, timings masked, stands for them
for side in old new; do
  rm -f "$work/$side/dist/report.md" "$work/$side/dist/report.html" "$work/$side/dist/manifest.json"
  find "$work/$side" -type f \( -name '*.out' -o -name '*.err' -o -name '*.json' -o -name '*.md' -o -name '*.html' \) \
      -print0 | while IFS= read -r -d '' f; do
    sed -E -i "s#$work/$side/#WORK/#g; s#[0-9]+(\.[0-9]+)? (s|ms|tokens/s)\b#TIME \2#g;
        s#\"(seconds|cpuSeconds|lastModified|tokens_per_second|tokensPerSecond|calibrationSeconds|wallSeconds|createdAt|created_at|elapsedSeconds|peakRssBytes|peakHeapBytes)\" *: *[^,}]+#\"\1\": MASKED#g;
        s#time by phase: .*#time by phase: MASKED#;
        s#[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z?#TIMESTAMP#g" "$f"
  done
done
compare_sides "$work"
