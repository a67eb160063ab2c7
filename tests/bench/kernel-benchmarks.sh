#!/usr/bin/env bash
# Issue 18's kernel microbenchmarks (JMH, tests/src/jmh/java): builds tests/target/falconq-benchmarks.jar with the
# benchmarks profile, then runs it from the repository root (where BenchmarkDefaults finds the launcher's JVM
# argument files) with the launcher's C2 directives file added to the flags every benchmark forks with. Arguments go to JMH:
#
#   tests/bench/kernel-benchmarks.sh [JMH options and benchmark regexps]
#   e.g. tests/bench/kernel-benchmarks.sh CodecBenchmark -p type=Q4_K -rf json -rff /tmp/codec.json
#        tests/bench/kernel-benchmarks.sh -l          # list the benchmarks; -lp with their parameters
#
# Environment: MVN_FLAGS extra Maven flags (e.g. -o once the JMH artifacts are in ~/.m2), SKIP_BUILD=1 to reuse the
# jar. Defaults per benchmark: 1 fork, 3 warm-up + 5 measured iterations of 1 s (override with -f -wi -i -w -r).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
cd "$repo"
if [[ "${SKIP_BUILD:-}" != 1 ]]; then
  # shellcheck disable=SC2086
  PATH="$JAVA_HOME/bin:$PATH" mvn -q -B ${MVN_FLAGS:-} -Pbenchmarks -pl tests -am package -DskipTests
fi
exec "$JAVA_HOME/bin/java" @cli/src/main/jvm/runtime.args -jar tests/target/falconq-benchmarks.jar \
  -jvmArgsAppend "-XX:+UnlockDiagnosticVMOptions -XX:CompilerDirectivesFile=cli/src/main/jvm/c2-directives.json" "$@"
