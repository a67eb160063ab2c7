#!/usr/bin/env bash
# Issue 15's judge: per-tensor types allocated by falconq to the byte size of llama.cpp's own mixes (by default the
# tiny model's Q4_K_M-imatrix, Q3_K_M and Q2_K files), scored by llama.cpp's own llama-perplexity --kl-divergence
# (tools/perplexity of the pinned release, built by tests/node/build-llama-perplexity.sh) on the first 20 chunks of
# corpus/valid.txt, the protocol of ../shared/llamacpp/README.md, next to the stock files scored the same way.
# valid.txt is used here only: the sensitivities must come from other text (measure --data calib.txt/train.txt).
#
#   tests/bench/allocation-kld.sh SENSITIVITY.json WORK [TARGETS]
#   e.g. tests/bench/allocation-kld.sh /work/bench/tiny-sensitivity.json /work/bench/alloc-kld
#
# TARGETS: space-separated NAME:FACTOR (default "Q4_K_M-imatrix:0.85 Q3_K_M:0.7 Q2_K:0.7"): the budget is the size of
# the stock file STOCK_DIR/PREFIX-NAME.gguf, the acceptance bound FACTOR x that file's KLD. Environment:
#   MODEL      F32 GGUF to quantize (default ../shared/llamacpp/tiny-F32.gguf; the KLD base is its logits)
#   STOCK_DIR  folder of the stock files (default ../shared/llamacpp); a missing PREFIX-NAME.gguf is made there by
#              llama.cpp's own llama-quantize (NAME ending in -imatrix: with IMATRIX), so any model can be judged
#   PREFIX     stock file prefix (default tiny)
#   IMATRIX    importance matrix for every allocation and -imatrix stock file (default llama.cpp's calib.txt one)
#   FALCONQ    a falconq launcher to use instead of a snapshot of the tree's (tests/bench/snapshot-launcher.sh)
#   ALLOC_OPTS extra convert options
# Scores are cached per file in WORK (stock-NAME.log); delete WORK to start over. Prints one TSV row per file: name,
# bytes, PPL, mean KLD, its error, same-top-p %, and for allocations the stock KLD, the ratio, the bound, PASS/MISS.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
sens="$(realpath "${1:?sensitivity.json}")"
work="$(mkdir -p "${2:?work directory}" && cd "$2" && pwd)"
targets="${3:-Q4_K_M-imatrix:0.85 Q3_K_M:0.7 Q2_K:0.7}"
shared="$(cd "$repo/../shared" && pwd -P)"
model="$(realpath "${MODEL:-$shared/llamacpp/tiny-F32.gguf}")"
stock_dir="$(realpath "${STOCK_DIR:-$shared/llamacpp}")"
prefix="${PREFIX:-tiny}"
imatrix="$(realpath "${IMATRIX:-$shared/llamacpp/imatrix-calib.gguf}")"
ppl="$("$repo/tests/node/build-llama-perplexity.sh" "$work/llama-tools" | tail -1)"
fq="${FALCONQ:-$("$repo/tests/bench/snapshot-launcher.sh" "$work" | tail -1)}"

# llama.cpp's protocol: -c 512 -b 512, F32 KV cache, 2 threads, first 20 chunks; logits of MODEL as the base
run_ppl() {  # run_ppl LOG ARGS...
  (cd "$shared" && nice "$ppl" -f corpus/valid.txt -c 512 -b 512 -t 2 -ctk f32 -ctv f32 --chunks 20 "${@:2}") \
      > "$1" 2>&1 < /dev/null
}
score() {  # score FILE LOG -> "ppl<TAB>kld<TAB>err<TAB>same_top_p"
  local attempt status
  for attempt in 1 2 3; do
    grep -q '^Mean    KLD:' "$2" 2>/dev/null && break
    status=0
    run_ppl "$2" -m "$1" --kl-divergence-base "$work/f32.kld" --kl-divergence || status=$?
    grep -q '^Mean    KLD:' "$2" && break
    # seen on the busy shared machine: a run ended after chunk 19 with no statistics; said, then run again
    echo "llama-perplexity on $1: exit status $status and no KLD statistics (attempt $attempt); see $2" >&2
    mv "$2" "$2.failed-$attempt"
  done
  grep -q '^Mean    KLD:' "$2" || exit 1
  awk '/^Mean PPL\(Q\) +:/ {p=$4} /^Mean +KLD:/ {k=$3; e=$5} /^Same top p:/ {s=$4} END {printf "%s\t%s\t%s\t%s", p, k, e, s}' "$2"
}
[[ -s "$work/f32.kld" ]] || run_ppl "$work/f32.log" -m "$model" --kl-divergence-base "$work/f32.kld"
printf 'file\tbytes\tppl\tmean_kld\tkld_err\tsame_top_p_pct\tbaseline_kld\tratio\tbound\tresult\n'
for t in $targets; do
  name="${t%%:*}"; factor="${t##*:}"
  stock="$stock_dir/$prefix-$name.gguf"
  if [[ ! -f "$stock" ]]; then
    quantize="$("$repo/tests/node/build-llama-quantize.sh" "$work/llama-tools" | tail -1)"
    im=(); [[ "$name" == *-imatrix ]] && im=(--imatrix "$imatrix")
    "$quantize" "${im[@]}" "$model" "$stock" "${name%-imatrix}" 2 > "$work/stock-$name.quantize.log" 2>&1
  fi
  bytes="$(stat -c %s "$stock")"
  row="$(score "$stock" "$work/stock-$name.log")"
  printf '%s\t%s\t%s\n' "$(basename "$stock")" "$bytes" "$row"
  base_kld="$(cut -f2 <<<"$row")"
  out="$work/auto-$name.gguf"
  rm -f "$work/auto-$name.log"
  "$fq" requantize "$model" --target-size "$bytes" --sensitivity "$sens" --imatrix "$imatrix" \
      --tensor-type-file "$work/auto-$name.types.txt" -o "$out" --force -t 2 -q ${ALLOC_OPTS:-} > "$work/auto-$name.alloc.txt"
  row="$(score "$out" "$work/auto-$name.log")"
  kld="$(cut -f2 <<<"$row")"
  awk -v f="auto@$name" -v b="$(stat -c %s "$out")" -v r="$row" -v base="$base_kld" -v k="$kld" -v x="$factor" \
      'BEGIN {printf "%s\t%s\t%s\t%s\t%.4f\t%s\t%s\n", f, b, r, base, k / base, x, (k <= x * base ? "PASS" : "MISS")}'
done
