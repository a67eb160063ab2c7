#!/usr/bin/env bash
# Copies the falconq launcher and its current jar into WORK/launcher and prints the copied launcher's path, so a long
# benchmark keeps running one build while the tree changes (the copy never rebuilds: no sources beside it). Builds
# the jar first if the tree's is missing or stale.   usage: tests/bench/snapshot-launcher.sh WORK
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
snapshot_launcher "${1:?work directory}"
echo "$fq"
