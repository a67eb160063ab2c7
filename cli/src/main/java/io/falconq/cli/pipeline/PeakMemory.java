package io.falconq.cli.pipeline;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The process's peak resident memory over one step, on Linux: {@code VmHWM} in {@code /proc/self/status}, reset
 * before the step by writing 5 to {@code /proc/self/clear_refs} (proc(5)). Elsewhere, or when the kernel refuses,
 * it reports 0 ("not measured"). Only a measurement for the step records and the cost model; never affects results.
 */
final class PeakMemory {
    private static final Path STATUS = Path.of("/proc/self/status");
    private static final Path CLEAR_REFS = Path.of("/proc/self/clear_refs");

    private PeakMemory() {
    }

    /** Starts a new peak; false when this platform cannot. */
    static boolean reset() {
        try {
            Files.writeString(CLEAR_REFS, "5");
            return true;
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return false;
        }
    }

    /** Peak resident bytes since the last {@link #reset}, or 0 when unknown. */
    static long peakBytes() {
        try {
            for (String line : Files.readAllLines(STATUS)) {
                if (line.startsWith("VmHWM:")) {
                    String[] parts = line.substring(6).trim().split("\\s+");
                    return Long.parseLong(parts[0]) * 1024;
                }
            }
        } catch (IOException | NumberFormatException | UnsupportedOperationException | SecurityException e) {
            return 0;
        }
        return 0;
    }
}
