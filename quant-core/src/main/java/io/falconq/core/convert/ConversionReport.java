package io.falconq.core.convert;

import io.falconq.formats.gguf.GgmlType;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a conversion wrote.
 *
 * @param output      the file written, or the first shard of a split GGUF
 * @param files       every file written ({@code output} first)
 * @param fileBytes   size of the finished file (all shards together)
 * @param tensors     every tensor written, in file order
 * @param fallbacks   tensors whose type came from the fallback chain, each with the reason
 * @param wallNanos   elapsed time of the data phase
 */
public record ConversionReport(Path output, List<Path> files, String recipe, long fileBytes, List<PlannedTensor> tensors,
                               List<String> fallbacks, long wallNanos, int threads) {
    public ConversionReport {
        files = List.copyOf(files);
        tensors = List.copyOf(tensors);
        fallbacks = List.copyOf(fallbacks);
    }

    /** Bits per weight over all tensors (data bytes only, header excluded). */
    public double bitsPerWeight() {
        long n = tensors.stream().mapToLong(PlannedTensor::elementCount).sum();
        long b = tensors.stream().mapToLong(PlannedTensor::bytes).sum();
        return n == 0 ? 0 : 8.0 * b / n;
    }

    /** Tensor count per written type. */
    public Map<GgmlType, Integer> typeCounts() {
        Map<GgmlType, Integer> m = new TreeMap<>();
        for (PlannedTensor t : tensors) {
            m.merge(t.type(), 1, Integer::sum);
        }
        return m;
    }
}
