#!/usr/bin/env bash
# Evaluation speed next to llama.cpp (issue 5): a synthetic Falcon-H1 checkpoint of a real size (`falconq synth
# --config CONFIG`, made once, the tiny model's tokenizer), converted by falconq to each TYPE; then, file by file and
# back to back, llama.cpp's own llama-perplexity (the pinned release, built by tests/node/build-llama-perplexity.sh)
# and `falconq eval --protocol llama.cpp` on the same file, text (corpus/valid.txt), ctx 512 and 2 threads, through
# tests/node/bench/eval-benchmark.sh: tokens/s of each tool's evaluation loop (loading and tokenizing excluded on
# both sides), process CPU seconds, perplexity, ratio falconq / llama.cpp.
#
#   tests/bench/eval-vs-llama.sh WORK [CONFIG] [CHUNKS] [TYPES]
#   e.g. nice -n 19 tests/bench/eval-vs-llama.sh /work/bench/eval ../shared/configs/falcon-h1-0.5b.json 10 "Q8_0 Q4_0 Q4_K_M"
#
# Defaults: the 0.5B config, 10 chunks of 512, "Q8_0 Q4_0 Q4_K_M". F16/F32/BF16 are types too (issue 3's rows).
# WORK receives a snapshot of the launcher and jar (tests/bench/common.sh), the llama.cpp tools, the checkpoint and
# the GGUFs. FALCONQ_EVAL_FLAGS passes extra eval options (e.g. "--activations q8").
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
work="$(mkdir -p "${1:?work directory}" && cd "$1" && pwd)"
config="$(realpath "${2:-$shared/configs/falcon-h1-0.5b.json}")"
chunks="${3:-10}"
types="${4:-Q8_0 Q4_0 Q4_K_M}"
ppl="$("$repo/tests/node/build-llama-perplexity.sh" "$work/llama-tools" | tail -1)"
snapshot_launcher "$work"
name="$(basename "$config" .json)"
model="$work/synth-$name"
synth_once "$config" "$model"
files=()
for t in $types; do
  f="$work/$name-$t.gguf"
  [[ -f "$f" ]] || "$fq" convert "$model" --type "$t" -o "$f" -q -t 2
  files+=("$f")
done
machine_line load
FALCONQ="$fq" "$repo/tests/node/bench/eval-benchmark.sh" "$ppl" "$model" "$chunks" 2 "${files[@]}"
load_line
