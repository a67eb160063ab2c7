#!/usr/bin/env bash
# The codec kernels of two builds, interleaved (a codec refactor's "kernels as fast as before" check): ROUNDS rounds of
# JMH CodecBenchmark (tests/src/jmh) from OLD_JAR, then from NEW_JAR, with the same JMH options and the launcher's C2
# directives (as tests/bench/kernel-benchmarks.sh runs it); then one row per benchmark and type: the median ns/op of
# each build over the rounds. The jars are copies of tests/target/falconq-benchmarks.jar (built by
# tests/bench/kernel-benchmarks.sh) taken before and after the change.
#
#   tests/bench/codec-ab.sh OLD_JAR NEW_JAR [ROUNDS] [JMH options...]
#   e.g. nice -n 19 tests/bench/codec-ab.sh /work/bench/base-benchmarks.jar tests/target/falconq-benchmarks.jar 2 \
#            -p type=Q8_0,Q4_K 'CodecBenchmark.(dot|decodeRow)'
# Defaults: 2 rounds; without a benchmark regexp, CodecBenchmark (every benchmark, its default types).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
old="${1:?old benchmarks jar}"; new="${2:?new benchmarks jar}"; rounds="${3:-2}"
options=("${@:4}")
[[ " ${options[*]} " == *Benchmark* ]] || options+=(CodecBenchmark)
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
cd "$repo"
machine_line load
for round in $(seq "$rounds"); do
  for side in old new; do
    jar="$old"; [[ $side == new ]] && jar="$new"
    "$java" --add-modules jdk.incubator.vector -jar "$jar" -jvmArgsAppend \
        "-XX:+UnlockDiagnosticVMOptions -XX:CompilerDirectivesFile=cli/src/main/jvm/c2-directives.json" \
        -rf csv -rff "$work/$side-$round.csv" "${options[@]}" > "$work/$side-$round.log" 2>&1 \
        || { cat "$work/$side-$round.log" >&2; exit 1; }
    echo "round $round $side done ($(load_line))"
  done
done
# CSV columns: "Benchmark","Mode","Threads","Samples","Score","Score Error (99.9%)","Unit", then the parameters
echo "| benchmark | params | old ns/op (median) | new ns/op (median) | new/old |"
echo "|---|---|---|---|---|"
for side in old new; do
  for f in "$work/$side"-*.csv; do
    tail -n +2 "$f" | awk -F, -v side="$side" '{gsub(/"/, ""); b = $1; sub(/.*\./, "", b); p = ""
      for (i = 8; i <= NF; i++) p = p (p == "" ? "" : " ") $i; print side "\t" b "\t" p "\t" $5}'
  done
done | sort -t$'\t' -k2,3 -k1,1 | awk -F'\t' '
  function median(s,   a, n, i, j, t) { n = split(s, a, " ")
    for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  { key = $2 "\t" $3; if (!(key in seen)) { seen[key] = 1; order[++k] = key } v[key, $1] = v[key, $1] " " $4 }
  END { for (i = 1; i <= k; i++) { split(order[i], kp, "\t"); o = median(v[order[i], "old"]); n = median(v[order[i], "new"])
        printf "| %s | %s | %.1f | %.1f | %.3f |\n", kp[1], kp[2], o, n, (o > 0 ? n / o : 0) } }'
