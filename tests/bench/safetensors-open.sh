#!/usr/bin/env bash
# Issue 2's reader figures: a 1 GiB safetensors file (64 F32 tensors of 2048 x 2048) written through SafetensorsWriter
# in 1 MiB chunks, then opened by SafetensorsReader.open (maps the file, validates the header, reads no tensor data):
#   write     wall time of the streamed write (the JVM's -Xmx256m: the file never sits in the heap)
#   warm      20 opens in one JVM after 3 untimed ones: min / median / max ms and the resident-memory change of each
#   fresh     one open in a fresh JVM, under /usr/bin/time: wall and peak RSS (JVM start and class loading included)
#   touched   one byte read per 4 KiB page of every tensor after opening: time and RSS (what open did not read)
#
#   tests/bench/safetensors-open.sh WORK        (needs 1 GiB free in WORK)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
work="$(mkdir -p "${1:?work directory}" && cd "$1" && pwd)"
snapshot_jar "$work" falconq.jar
cat > "$work/SafetensorsOpen.java" <<'JAVA'
import io.falconq.formats.safetensors.SafetensorsDtype;
import io.falconq.formats.safetensors.SafetensorsFile;
import io.falconq.formats.safetensors.SafetensorsReader;
import io.falconq.formats.safetensors.SafetensorsWriter;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

void main(String[] args) throws Exception {
    Path file = Path.of(args[1]);
    switch (args[0]) {
        case "write" -> {
            List<SafetensorsWriter.PlannedTensor> plan = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                plan.add(new SafetensorsWriter.PlannedTensor("t" + i, SafetensorsDtype.F32, new long[] {2048, 2048}));
            }
            long t0 = System.nanoTime();
            try (Arena arena = Arena.ofConfined(); var w = SafetensorsWriter.begin(file, plan, true)) {
                MemorySegment chunk = arena.allocate(1 << 20);
                for (var t : w.order()) {
                    w.startTensor(t.name());
                    for (long done = 0; done < t.byteSize(); done += chunk.byteSize()) {
                        chunk.fill((byte) (done >>> 20));
                        w.writeChunk(chunk);
                    }
                    w.endTensor();
                }
                w.finish();
            }
            System.out.printf("write: %.1f s, %d bytes%n", (System.nanoTime() - t0) / 1e9, Files.size(file));
        }
        case "warm" -> {
            for (int i = 0; i < 3; i++) {
                SafetensorsReader.open(file).close(); // warm-up: class loading and the first compilations
            }
            double[] ms = new double[20];
            long[] rss = new long[ms.length];
            for (int i = 0; i < ms.length; i++) {
                long r0 = rssKb(), t0 = System.nanoTime();
                try (SafetensorsFile f = SafetensorsReader.open(file)) {
                    ms[i] = (System.nanoTime() - t0) / 1e6;
                    rss[i] = rssKb() - r0;
                }
            }
            double[] sorted = ms.clone();
            Arrays.sort(sorted);
            System.out.printf("warm open: min %.1f ms, median %.1f ms, max %.1f ms; RSS change per open %d..%d KB%n",
                    sorted[0], sorted[ms.length / 2], sorted[ms.length - 1],
                    Arrays.stream(rss).min().orElseThrow(), Arrays.stream(rss).max().orElseThrow());
        }
        case "fresh" -> {
            try (SafetensorsFile f = SafetensorsReader.open(file)) {
                System.out.println("fresh open: " + f.names().size() + " tensors");
            }
        }
        case "touched" -> {
            try (SafetensorsFile f = SafetensorsReader.open(file)) {
                long t0 = System.nanoTime(), sum = 0;
                for (String name : f.names()) {
                    MemorySegment bytes = f.rawBytes(name);
                    for (long o = 0; o < bytes.byteSize(); o += 4096) {
                        sum += bytes.get(ValueLayout.JAVA_BYTE, o);
                    }
                }
                System.out.printf("touched: %.0f ms, RSS %d MB (checksum %d)%n", (System.nanoTime() - t0) / 1e6,
                        rssKb() / 1024, sum);
            }
        }
        default -> throw new IllegalArgumentException(args[0]);
    }
}

static long rssKb() throws Exception {
    return Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("VmRSS:"))
            .mapToLong(l -> Long.parseLong(l.replaceAll("\\D", ""))).findFirst().orElseThrow();
}
JAVA
"$(dirname "$java")/javac" -d "$work/classes" -cp "$work/falconq.jar" "$work/SafetensorsOpen.java"
cp=("$java" -Xmx256m --enable-native-access=ALL-UNNAMED -cp "$work/classes:$work/falconq.jar" SafetensorsOpen)
run() { "${cp[@]}" "$@"; }
machine_line load
file="$work/t64x2048x2048.safetensors"
run write "$file"
run warm "$file"
/usr/bin/time -f "fresh JVM: %e s wall, max RSS %M KB" "${cp[@]}" fresh "$file"
run touched "$file"
load_line
