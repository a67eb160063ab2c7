#!/usr/bin/env bash
# Builds one of llama.cpp's tools (tools/TOOL/TOOL.cpp + main.cpp of node-llama-cpp's bundled llama.cpp source, the
# release its prebuilt binaries were built from, unmodified) linked against those prebuilt libraries (libllama,
# libllama-common, libggml-base; linux-x64) into OUT_DIR/llama-TOOL. Needs g++ and git; a few seconds. Prints the binary.
# usage: tests/node/build-llama-tool.sh TOOL OUT_DIR      (TOOL: quantize, perplexity; run 'npm ci' in tests/node first)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tool="${1:?tool name (quantize, perplexity)}"
out="${2:?output directory}"
source "$here/llama-source.sh"
bin="$out/llama-$tool"
if [[ ! -x "$bin" ]]; then
  [[ -f "$src/tools/$tool/$tool.cpp" ]] || { echo "no tools/$tool/$tool.cpp in $src" >&2; exit 2; }
  llama="$(basename "$(ls "$bins"/libllama.v*.so | head -1)")"
  ggml="$(basename "$(ls "$bins"/libggml.v*.so | head -1)")"
  g++ -std=c++17 -O1 -I"$src/include" -I"$src/ggml/include" -I"$src/common" -I"$src/tools/$tool" \
      "$src/tools/$tool/$tool.cpp" "$src/tools/$tool/main.cpp" -o "$bin.tmp.$$" \
      -L"$bins" -l:libllama-common.so -l:"$llama" -l:libggml-base.so -l:"$ggml" -Wl,-rpath,"$bins"
  mv "$bin.tmp.$$" "$bin"
fi
# ggml's CPU backends are separate libraries, found by ggml_backend_load_all() beside the executable
for lib in "$bins"/libggml-cpu-*.so; do
  ln -sf "$lib" "$out/$(basename "$lib")"
done
echo "$bin"
