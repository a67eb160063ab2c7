#!/usr/bin/env bash
# Copies the falconq launcher and its current jar into WORK/launcher and prints the copied launcher's path, so a long
# benchmark keeps running one build while the tree changes (the copy never rebuilds: no sources beside it). Builds
# the jar first if the tree's is missing or stale.   usage: tests/bench/snapshot-launcher.sh WORK
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="${1:?work directory}"
mkdir -p "$work/launcher/cli/target" "$work/launcher/cli/src/main/jvm"
(cd "$repo" && ./falconq --version >/dev/null)
cp "$repo/falconq" "$work/launcher/falconq"
cp "$repo/cli/target/falconq.jar" "$work/launcher/cli/target/falconq.jar"
cp "$repo/cli/src/main/jvm/c2-directives.json" "$work/launcher/cli/src/main/jvm/"
"$work/launcher/falconq" --version >/dev/null  # the AOT cache, outside any measurement
echo "$work/launcher/falconq"
