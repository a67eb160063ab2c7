#!/usr/bin/env bash
# Converter speed and memory next to llama.cpp (BENCHMARKS.md): a synthetic Falcon-H1 0.5B BF16 checkpoint
# (real shapes from ../shared/configs/falcon-h1-0.5b.json, seeded random weights), converted by falconq to a BF16
# GGUF; then for Q8_0, Q4_0 and Q4_K_M, interleaved in the same run:
#   llama.cpp   quantize-driver BF16.gguf OUT TYPE 2        (llama_model_quantize, node-llama-cpp's libllama)
#   falconq     requantize BF16.gguf --type TYPE -t 2       (same input, same output bytes expected)
#   falconq     convert CHECKPOINT --type TYPE -t 2         (straight from safetensors, µP folding included)
# Wall time and peak RSS from /usr/bin/time -v, RUNS runs each (default 3); outputs of llama.cpp and falconq
# requantize are compared byte for byte.
# usage: tests/node/bench/convert-benchmark.sh WORK_DIR [RUNS]     (from the repository root, after npm ci)
#   LLAMA_QUANTIZE=/path/to/llama-quantize: use that binary (built from node-llama-cpp@3.22.1's bundle, outside the
#   repository) instead of the driver over node-llama-cpp 3.21.1's prebuilt libllama
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
work="${1:?work directory (needs ~4 GB)}"
runs="${2:-3}"
mkdir -p "$work"
cd "$repo"
if [[ -z "${LLAMA_QUANTIZE:-}" ]]; then
  driver="$(tests/node/bench/build-quantize-driver.sh "$work/driver" | tail -1)"
fi
./falconq --version >/dev/null || echo "warning: falconq.jar could not be rebuilt; using cli/target/falconq.jar as is" >&2
# run the launcher on a snapshot of the jar (a copy of the launcher beside a copy of the jar, no sources), so the
# measured runs use exactly its JVM flags and AOT cache and a rebuild can never fall inside a measurement
mkdir -p "$work/launcher/cli/target"
cp falconq "$work/launcher/falconq"
cp cli/target/falconq.jar "$work/launcher/cli/target/falconq.jar"
mkdir -p "$work/launcher/cli/src/main/jvm"
cp cli/src/main/jvm/* "$work/launcher/cli/src/main/jvm/"
ln -sfn "$repo/../shared" "$work/shared" # the launcher's AOT training run reads ../shared/llamacpp/tiny-F32.gguf
fq="$work/launcher/falconq"
"$fq" --version >/dev/null # creates the AOT cache outside the measurements
if [[ ! -f "$work/synth-0.5b/config.json" ]]; then
  "$fq" synth --config ../shared/configs/falcon-h1-0.5b.json --seed 1 --dtype bf16 \
    --tokenizer ../shared/models/falcon-h1-tiny -o "$work/synth-0.5b" -q
fi
"$fq" convert "$work/synth-0.5b" --type BF16 -o "$work/synth-BF16.gguf" --force -q -t 2

measure() { # label command...
  local log="$work/time.log"
  /usr/bin/time -v "${@:2}" >/dev/null 2>"$log" || { tail -30 "$log" >&2; exit 1; }
  local wall rss user
  wall="$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$log")"
  user="$(sed -n 's/.*User time (seconds): //p' "$log")"
  rss="$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$log")"
  printf '| %-34s | %8s | %6s s | %7.0f MiB |\n' "$1" "$wall" "$user" "$(echo "$rss / 1024" | bc -l)"
}

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "| run | wall (m:ss) | user CPU | peak RSS |"
echo "|---|---|---|---|"
for spec in Q8_0:7 Q4_0:2 Q4_K_M:15; do
  type="${spec%%:*}"; ftype="${spec##*:}"
  for ((r = 1; r <= runs; r++)); do
    if [[ -n "${LLAMA_QUANTIZE:-}" ]]; then
      measure "llama-quantize $type (#$r)" "$LLAMA_QUANTIZE" "$work/synth-BF16.gguf" "$work/llama-$type.gguf" "$type" 2
    else
      measure "llama.cpp quantize $type (#$r)" "$driver" "$work/synth-BF16.gguf" "$work/llama-$type.gguf" "$ftype" 2
    fi
    measure "falconq requantize $type (#$r)" "$fq" requantize "$work/synth-BF16.gguf" --type "$type" \
      -o "$work/falconq-rq-$type.gguf" --force -q -t 2
    measure "falconq convert $type (#$r)" "$fq" convert "$work/synth-0.5b" --type "$type" \
      -o "$work/falconq-cv-$type.gguf" --force -q -t 2
  done
  cmp "$work/llama-$type.gguf" "$work/falconq-rq-$type.gguf" && echo "$type: falconq requantize output is byte-identical to llama.cpp's"
done
