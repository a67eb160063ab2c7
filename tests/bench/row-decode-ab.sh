#!/usr/bin/env bash
# The runtime's weight-row decode of two builds, interleaved (tests/bench/RowDecodeBench.java: CPU ns per decoded
# element over every quantized 2-D tensor of each GGUF, checksums compared), ROUNDS rounds.
#   tests/bench/row-decode-ab.sh OLD_JAR NEW_JAR [ROUNDS] [GGUF...]
#   e.g. nice -n 19 tests/bench/row-decode-ab.sh /work/bench/h4-base/launcher/cli/target/falconq.jar cli/target/falconq.jar
# Defaults: 3 rounds, tiny Q4_K_M, Q8_0, IQ4_XS and Q6_K from ../shared/llamacpp.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
old="${1:?old falconq.jar}"; new="${2:?new falconq.jar}"; rounds="${3:-3}"
files=("${@:4}")
[[ ${#files[@]} -gt 0 ]] || files=("$shared"/llamacpp/tiny-{Q4_K_M,Q8_0,IQ4_XS,Q6_K}.gguf)
machine_line load
for round in $(seq "$rounds"); do
  for f in "${files[@]}"; do
    for jar in "$old" "$new"; do
      echo "round $round $(basename "$jar"): $("$java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
          -cp "$jar" "$repo/tests/bench/RowDecodeBench.java" "$f" 2>/dev/null) ($(load_line))"
    done
  done
done
