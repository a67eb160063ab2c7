# Sourced by the benchmark scripts (tests/bench/*.sh): the setup they share. Sets
#   repo    the repository root          shared  ../shared beside it (resolved)
# and defines
#   snapshot_launcher WORK      copies the launcher, its jar and its JVM files (cli/src/main/jvm) into WORK/launcher (building the
#                               jar first if the tree's is missing or stale), links WORK/shared so the copy's AOT
#                               training run finds ../shared, makes the AOT cache outside any measurement, and sets
#                               fq to the copied launcher: a long benchmark keeps one build while the tree changes
#   snapshot_jar WORK NAME      copies the jar alone to WORK/NAME (and cli/src/main/jvm/runtime.args to WORK/NAME.args)
#                               and sets the array fq_jar to java with those JVM flags (no JIT thresholds, AOT cache
#                               or directives) on that copy
#   synth_once CONFIG MODEL [OPTIONS...]   `falconq synth --config CONFIG -o MODEL -q` unless MODEL already holds a
#                               checkpoint, through the last snapshot taken (fq_cmd: the launcher or fq_jar)
#   load_line                   "load 1m 5m 15m at HH:MM:SSZ"
#   machine_line [load]         "machine: N cores, CPU model, [load 1m 5m 15m, ]date, commit C"
#   compare_sides WORK          cmp's every file under WORK/old with its namesake under WORK/new (the byte-identity
#                               scripts' two builds): "DIFFERS: FILE" for each, the count compared; status 1 on any
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
shared="$(cd "$repo/../shared" && pwd -P)"
java="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java"

snapshot_launcher() {
  local work="$1"
  mkdir -p "$work/launcher/cli/target" "$work/launcher/cli/src/main/jvm"
  (cd "$repo" && ./falconq --version >/dev/null)
  cp "$repo/falconq" "$work/launcher/falconq"
  cp "$repo/cli/target/falconq.jar" "$work/launcher/cli/target/falconq.jar"
  cp "$repo"/cli/src/main/jvm/* "$work/launcher/cli/src/main/jvm/"
  [[ -e "$work/shared" ]] || ln -s "$shared" "$work/shared"
  fq="$work/launcher/falconq"
  fq_cmd=("$fq")
  "$fq" --version >/dev/null # the AOT cache, outside the measurements
}

snapshot_jar() {
  local work="$1" name="$2"
  mkdir -p "$work"
  (cd "$repo" && ./falconq --version >/dev/null)
  cp "$repo/cli/target/falconq.jar" "$work/$name"
  cp "$repo/cli/src/main/jvm/runtime.args" "$work/$name.args"
  fq_jar=("$java" "@$work/$name.args" -jar "$work/$name")
  fq_cmd=("${fq_jar[@]}")
}

synth_once() {
  local config="$1" model="$2"
  [[ -f "$model/config.json" ]] || "${fq_cmd[@]}" synth --config "$config" -o "$model" -q "${@:3}"
}

load_line() {
  echo "load $(cut -d' ' -f1-3 /proc/loadavg) at $(date -u +%H:%M:%SZ)"
}

machine_line() {
  local load=""
  [[ "${1:-}" == load ]] && load="load $(cut -d' ' -f1-3 /proc/loadavg), "
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $load$(date -u +%Y-%m-%dT%H:%MZ), commit $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '(export)')"
}

compare_sides() {
  local work="$1" status=0 f
  (cd "$work/old" && find . -type f | sort) > "$work/files.txt"
  while read -r f; do
    if ! cmp -s "$work/old/$f" "$work/new/$f"; then
      echo "DIFFERS: $f"; status=1
    fi
  done < "$work/files.txt"
  (cd "$work/new" && find . -type f | sort) | diff - "$work/files.txt" >/dev/null || { echo "file lists differ"; status=1; }
  echo "$(wc -l < "$work/files.txt") files compared"
  return $status
}
