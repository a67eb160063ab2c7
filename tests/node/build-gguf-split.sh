#!/usr/bin/env bash
# Builds llama.cpp's own llama-gguf-split (tools/gguf-split/gguf-split.cpp, unmodified) from node-llama-cpp's bundled
# llama.cpp source (llama/gitRelease.bundle, the release its prebuilt binaries were built from), linked against
# those prebuilt libraries (libllama, libllama-common, libggml-base; linux-x64). Needs g++ and git. Prints the binary.
# usage: tests/node/build-gguf-split.sh OUT_DIR      (run 'npm ci' in tests/node first)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:?output directory}"
source "$(dirname "${BASH_SOURCE[0]}")/llama-source.sh"
bin="$out/llama-gguf-split"
if [[ ! -x "$bin" ]]; then
  llama="$(basename "$(ls "$bins"/libllama.v*.so | head -1)")"
  ggml="$(basename "$(ls "$bins"/libggml.v*.so | head -1)")"
  g++ -std=c++17 -O1 -I"$src/include" -I"$src/ggml/include" -I"$src/common" "$src/tools/gguf-split/gguf-split.cpp" \
      -o "$bin.tmp" -L"$bins" -l:libllama-common.so -l:"$llama" -l:libggml-base.so -l:"$ggml" -Wl,-rpath,"$bins"
  mv "$bin.tmp" "$bin"
fi
echo "$bin"
