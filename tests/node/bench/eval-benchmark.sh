#!/usr/bin/env bash
# Evaluation speed next to llama.cpp (BENCHMARKS.md, issue 5): for each GGUF given, llama.cpp's llama-perplexity
# and `falconq eval --protocol llama.cpp` run back to back on the same file, same text, ctx 512, same thread count.
# Reported: tokens/s of the evaluation loop of each tool (llama.cpp: n_chunks·512 / time between its "calculating
# perplexity" and "Final estimate" log lines; falconq: tokens_per_second of --json, which excludes loading and
# tokenization the same way), process CPU seconds, perplexity, and the ratio falconq/llama.cpp.
# usage: tests/node/bench/eval-benchmark.sh LLAMA_PERPLEXITY TOKENIZER_DIR CHUNKS THREADS FILE.gguf...
#   LLAMA_PERPLEXITY: a llama-perplexity binary built outside the repository (BENCHMARKS.md says how)
#   FALCONQ: the falconq command (default: the repository launcher)
#   extra falconq flags through FALCONQ_EVAL_FLAGS, e.g. "--activations q8"
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
llama="${1:?llama-perplexity binary}"; tokenizer="${2:?tokenizer dir}"; chunks="${3:?chunks}"; threads="${4:?threads}"
shift 4
text="$repo/../shared/corpus/valid.txt"
falconq="${FALCONQ:-$repo/falconq}" # FALCONQ: e.g. a wrapper around a snapshot of the jar, so no rebuild can fall inside a run
stamp() { awk '{split($1,p,"."); print p[1]*60+p[2]+p[3]/1000+p[4]/1e6}'; } # llama.cpp log time m.ss.mmm.uuu
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "| file | llama.cpp tok/s | llama.cpp CPU s | llama.cpp ppl | falconq tok/s | falconq CPU s | falconq ppl | ratio |"
echo "|---|---|---|---|---|---|---|---|"
for f in "$@"; do
  lo="$({ /usr/bin/time -f "CPU %U %S" "$llama" -m "$f" -f "$text" -c 512 -b 512 -t "$threads" --chunks "$chunks"; } 2>&1)"
  s="$(grep 'calculating perplexity' <<<"$lo" | stamp)"; e="$(grep 'Final estimate' <<<"$lo" | stamp)"
  lt="$(python3 -c "print('%.1f' % ($chunks * 512 / ($e - $s)))")"
  lc="$(grep '^CPU' <<<"$lo" | awk '{print $2 + $3}')"
  lp="$(grep 'Final estimate' <<<"$lo" | sed 's/.*PPL = //; s/ .*//')"
  # shellcheck disable=SC2086
  fo="$({ /usr/bin/time -f "CPU %U %S" "$falconq" eval "$f" --tokenizer "$tokenizer" --data "$text" \
      --protocol llama.cpp --ctx 512 --chunks "$chunks" -t "$threads" -q --json ${FALCONQ_EVAL_FLAGS:-}; } 2>&1)"
  ft="$(grep '"tokens_per_second"' <<<"$fo" | sed 's/.*: //; s/,//' | xargs printf '%.1f')"
  fp="$(grep '"ppl"' <<<"$fo" | sed 's/.*: //; s/,//' | xargs printf '%.4f')"
  fc="$(grep '^CPU' <<<"$fo" | awk '{print $2 + $3}')"
  echo "| $(basename "$f") | $lt | $lc | $lp | $ft | $fc | $fp | $(python3 -c "print('%.2f' % ($ft / $lt))") |"
done
