#!/usr/bin/env bash
# Builds llama.cpp's own llama-perplexity (tools/perplexity, unmodified) against node-llama-cpp's prebuilt libraries.
# usage: tests/node/build-llama-perplexity.sh OUT_DIR      (prints the binary; see build-llama-tool.sh)
exec "$(dirname "${BASH_SOURCE[0]}")/build-llama-tool.sh" perplexity "${1:?output directory}"
