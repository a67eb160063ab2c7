#!/usr/bin/env bash
# Issue 15 item 4: the pipeline's auto@<MIX>-size variants on the tiny model, judged like allocation-kld.sh. One
# `falconq pipeline` run measures the sensitivities itself (calib.txt: the imatrix and the measurement, never the
# evaluation text) and makes auto@Q4_K_M-imatrix-size, auto@Q3_K_M-size and auto@Q2_K-size beside the stock mixes;
# llama.cpp's own llama-perplexity --kl-divergence (the pinned release, tests/node/build-llama-perplexity.sh) then
# scores each auto file on the first 20 chunks of corpus/valid.txt against tiny-F32.gguf's logits, next to the
# stock files' KLD from ../shared/llamacpp/perplexity.tsv (llama.cpp-made files of the same byte sizes).
#
#   tests/bench/pipeline-auto-kld.sh WORK [MEASURE_CHUNKS]     (default 4; MEASURE_METHOD=direct|probe|layer-gain)
#
# Prints one TSV row per auto variant: name, bytes, stock bytes, PPL, mean KLD, its error, stock KLD, ratio, bound.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mkdir -p "${1:?work directory}" && cd "$1" && pwd)"
chunks="${2:-4}"
shared="$(cd "$repo/../shared" && pwd -P)"
ppl="$("$repo/tests/node/build-llama-perplexity.sh" "$work/llama-tools" | tail -1)"
fq="${FALCONQ:-$("$repo/tests/bench/snapshot-launcher.sh" "$work" | tail -1)}"

nice "$fq" pipeline --model "$shared/models/falcon-h1-tiny" \
    --variants Q4_K_M-imatrix,Q3_K_M,Q2_K,auto@Q4_K_M-imatrix-size,auto@Q3_K_M-size,auto@Q2_K-size \
    --eval-data "$shared/corpus/valid.txt" --chunks 20 --calib-data "$shared/corpus/calib.txt" \
    --measure-chunks "$chunks" --measure-method "${MEASURE_METHOD:-direct}" -t 2 -o "$work/dist" > "$work/pipeline.log" 2>&1

run_ppl() {  # run_ppl LOG ARGS...  (llama.cpp's protocol: -c 512 -b 512, F32 KV cache, 2 threads, 20 chunks)
  (cd "$shared" && nice "$ppl" -f corpus/valid.txt -c 512 -b 512 -t 2 -ctk f32 -ctv f32 --chunks 20 "${@:2}") \
      > "$1" 2>&1 < /dev/null
}
[[ -s "$work/f32.kld" ]] || run_ppl "$work/f32.log" -m "$shared/llamacpp/tiny-F32.gguf" --kl-divergence-base "$work/f32.kld"
printf 'variant\tbytes\tstock_bytes\tppl\tmean_kld\tkld_err\tstock_kld\tratio\tbound\n'
for t in Q4_K_M-imatrix:0.85 Q3_K_M:0.7 Q2_K:0.7; do
  name="${t%%:*}"; bound="${t##*:}"
  file="$work/dist/falcon-h1-tiny/falcon-h1-tiny-auto-$name-size.gguf"
  run_ppl "$work/auto-$name.log" -m "$file" --kl-divergence-base "$work/f32.kld" --kl-divergence
  row="$(awk '/^Mean PPL\(Q\) +:/ {p=$4} /^Mean +KLD:/ {k=$3; e=$5} END {printf "%s\t%s\t%s", p, k, e}' "$work/auto-$name.log")"
  stock="$(awk -F'\t' -v f="tiny-$name.gguf" '$1 == f {print $2 "\t" $6}' "$shared/llamacpp/perplexity.tsv")"
  kld="$(cut -f2 <<<"$row")"; stock_kld="$(cut -f2 <<<"$stock")"
  printf 'auto@%s-size\t%s\t%s\t%s\t%s\t%.3f\t%s\n' "$name" "$(stat -c %s "$file")" "$(cut -f1 <<<"$stock")" "$row" \
      "$stock_kld" "$(awk -v a="$kld" -v b="$stock_kld" 'BEGIN {print a / b}')" "$bound"
done
grep -h '^- auto@' "$work/dist/report.md"
