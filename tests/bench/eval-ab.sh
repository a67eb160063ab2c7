#!/usr/bin/env bash
# Eval speed of two builds, interleaved (a runtime refactor's "speed unchanged, numbers identical" check): ROUNDS
# rounds of, for each GGUF,
#   OLD eval GGUF --data TEXT -t THREADS --json -q
#   NEW eval GGUF ...
# printing tokens/s and the 1-minute load of every run, and checking after every pair that the two JSON results are
# identical apart from timing (seconds, tokens_per_second): same windows, mean NLL, perplexity and stderr to the last
# digit. Then the median tokens/s of each build per file. OLD/NEW are launchers, e.g. copies by
# tests/bench/snapshot-launcher.sh.
#
#   tests/bench/eval-ab.sh OLD NEW [TEXT] [ROUNDS] [THREADS] [GGUF...]
#   e.g. nice -n 19 tests/bench/eval-ab.sh /work/bench/h4-base/launcher/falconq /work/bench/h4-new/launcher/falconq
# Defaults: ../shared/corpus/valid.txt, 3 rounds, 2 threads, tiny Q4_K_M, Q8_0, IQ4_XS and Q6_K from ../shared/llamacpp.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
old="${1:?old launcher}"; new="${2:?new launcher}"
text="${3:-$shared/corpus/valid.txt}"; rounds="${4:-3}"; threads="${5:-2}"
files=("${@:6}")
[[ ${#files[@]} -gt 0 ]] || files=("$shared"/llamacpp/tiny-{Q4_K_M,Q8_0,IQ4_XS,Q6_K}.gguf)
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }
untimed() { grep -v -e '"seconds"' -e '"tokens_per_second"' "$1"; }
machine_line load
echo "eval --data $(basename "$text") -t $threads, $rounds interleaved rounds"
echo "| round | file | build | tokens/s | ppl | load (1 min) |"
echo "|---|---|---|---|---|---|"
for round in $(seq "$rounds"); do
  for f in "${files[@]}"; do
    name="$(basename "$f" .gguf)"
    for side in old new; do
      launcher="$old"; [[ $side == new ]] && launcher="$new"
      "$launcher" eval "$f" --data "$text" -t "$threads" --json -q > "$work/$side.json"
      tps="$(grep '"tokens_per_second"' "$work/$side.json" | tr -dc '0-9.')"
      echo "$tps" >> "$work/$name.$side.tps"
      printf '| %d | %s | %s | %.1f | %s | %s |\n' "$round" "$name" "$side" "$tps" \
          "$(grep '"ppl"' "$work/$side.json" | tr -dc '0-9.')" "$(cut -d' ' -f1 /proc/loadavg)"
    done
    diff <(untimed "$work/old.json") <(untimed "$work/new.json") >&2 \
        || { echo "$name: results differ between the builds" >&2; exit 1; }
  done
done
for f in "${files[@]}"; do
  name="$(basename "$f" .gguf)"
  echo "$name median tokens/s: old $(median < "$work/$name.old.tps"), new $(median < "$work/$name.new.tps"); results identical"
done
