#!/usr/bin/env bash
# Finds Vector API operations that C2 left on the API's Java fallback (README, "Vector kernels written flat").
# Runs one requantize twice through the launcher: as usual, then with the fallback-only methods of
# jdk.incubator.vector excluded from compilation. A kernel whose operations are all intrinsified takes about the same
# time both ways; one that still calls a fallback in steady state becomes many times slower in the second run, and
# its young-collection count shows the allocation. Then profile that run with JFR
# (FALCONQ_JAVA_OPTS=-XX:StartFlightRecording=...) to see which line calls the fallback.
# usage: tests/node/bench/vector-fallback-check.sh IN.gguf TYPE [THREADS]     (from the repository root)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
in="${1:?input GGUF (F32/F16/BF16)}"
type="${2:?target type, e.g. Q4_K_M}"
threads="${3:-2}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

fallbacks=(defaultCast defaultReinterpret bOp bOpTemplate uOp uOpTemplate tOp bTest ldOp stOp ldLongOp stLongOp rvOp
           prepare)
excluded=""
for m in "${fallbacks[@]}"; do
  excluded+=" -XX:CompileCommand=exclude,jdk.incubator.vector.*::$m"
done

run() { # label, extra JVM options
  local label="$1" opts="$2"
  local t0 t1
  t0="$(date +%s.%N)"
  FALCONQ_JAVA_OPTS="$opts -Xlog:gc:file=$work/gc-$label.txt" "$repo/falconq" requantize "$in" --type "$type" \
    -o "$work/$label.gguf" -q -t "$threads" >/dev/null
  t1="$(date +%s.%N)"
  printf '%-22s %6.2f s wall, %4d young collections\n' "$label" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" \
    "$(grep -c 'Pause Young' "$work/gc-$label.txt" || true)"
}

"$repo/falconq" --version >/dev/null # builds the jar and the AOT cache first, so neither lands inside a timing
run usual ""
run fallbacks-excluded "$excluded"
cmp -s "$work/usual.gguf" "$work/fallbacks-excluded.gguf" && echo "outputs identical" || echo "OUTPUTS DIFFER"
