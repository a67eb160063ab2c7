# Sourced by the build scripts: node-llama-cpp's prebuilt linux-x64 libraries ($bins) and its bundled llama.cpp
# source of the same release cloned into $out/llama.cpp-src ($src). Expects $here (the script's folder, tests/node or
# below) and $out (the output folder).
nlc="$(cd "$here" && while [[ ! -d node_modules && "$PWD" != / ]]; do cd ..; done; pwd)/node_modules/node-llama-cpp"
bins="$nlc/../@node-llama-cpp/linux-x64/bins/linux-x64"
mkdir -p "$out"
src="$out/llama.cpp-src"
[[ -d "$src" ]] || git -c advice.detachedHead=false clone -q "$nlc/llama/gitRelease.bundle" "$src"
