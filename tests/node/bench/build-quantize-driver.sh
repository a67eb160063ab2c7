#!/usr/bin/env bash
# Builds quantize-driver against node-llama-cpp's prebuilt libllama (linux-x64) and the llama.h of the same
# llama.cpp release, taken from node-llama-cpp's bundled source (llama/gitRelease.bundle). Needs gcc and git.
# usage: tests/node/bench/build-quantize-driver.sh OUT_DIR      (run 'npm ci' in tests/node first)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:?output directory}"
source "$(dirname "${BASH_SOURCE[0]}")/../llama-source.sh"
lib="$(basename "$(ls "$bins"/libllama.v*.so | head -1)")"
gcc -O2 -I"$src/include" -I"$src/ggml/include" "$here/quantize-driver.c" -o "$out/quantize-driver" \
    -L"$bins" -l:"$lib" -Wl,-rpath,"$bins"
echo "$out/quantize-driver"
