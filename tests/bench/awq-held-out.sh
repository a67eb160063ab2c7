#!/usr/bin/env bash
# AWQ's held-out study on the tiny model (quant-jobs test class AwqHeldOut): int4 g128 on calib.txt, then Δppl and
# mean KL divergence against the float model on two disjoint sets of 120 train.txt windows of 512 (never
# valid.txt), for each method named: rtn, clip (AWQ's clip search alone), clip-only:ROLE, normed-output,
# layer-output (AWQ), downstream-kld / downstream-nll (AWQ scored by the final logits' KL divergence / NLL).
#
#   tests/bench/awq-held-out.sh WORK [METHODS]     e.g. tests/bench/awq-held-out.sh /tmp/awq "rtn normed-output"
#
# Builds the modules (offline), runs niced; prints the load before and after. Minutes per method on 2 cores.
# AWQ_JAVA_OPTS=-Dawq.asym=true runs the --asym scheme (zero point per group) instead of the default symmetric w4.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
work="${1:?work directory}"
methods="${2:-rtn clip normed-output}"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
export PATH="$JAVA_HOME/bin:$PATH"
cd "$repo"
nice -n 19 mvn -q -B -o install -Dmaven.test.skip=true -pl cli -am
nice -n 19 mvn -q -B -o test-compile -pl formats,quant-jobs
cp="formats/target/test-classes:quant-jobs/target/test-classes:cli/target/falconq.jar"
mkdir -p "$work"
machine_line load
# shellcheck disable=SC2086
nice -n 19 java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx4g ${AWQ_JAVA_OPTS:-} \
  -Dfalconq.shared="$shared" -cp "$cp" io.falconq.jobs.intquant.AwqHeldOut "$work" $methods 2>&1 \
  | grep -v '^WARNING'
load_line
