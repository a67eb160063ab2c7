package io.falconq.formats.imatrix;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An importance-matrix file as llama.cpp's {@code common_imatrix_load} sees it.
 *
 * @param datasets    {@code imatrix.datasets} (GGUF) or the one trailing dataset name (legacy), possibly empty
 * @param chunkCount  {@code imatrix.chunk_count} (GGUF) or the trailing {@code last_chunk} (legacy); 0 when absent
 * @param chunkSize   {@code imatrix.chunk_size}; 0 for the legacy format
 * @param legacy      true for the {@code .dat} format
 * @param hasMetadata whether all three {@code imatrix.*} keys were present (llama-quantize requires it for GGUF)
 * @param entries     per weight name, sorted by name
 */
public record ImatrixFile(Path path, List<String> datasets, int chunkCount, int chunkSize, boolean legacy,
                          boolean hasMetadata, Map<String, ImatrixEntry> entries) {
    public ImatrixFile {
        datasets = List.copyOf(datasets);
        entries = java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(entries));
    }

    public Optional<ImatrixEntry> entry(String weightName) {
        return Optional.ofNullable(entries.get(weightName));
    }

    /**
     * The per-column importance llama-quantize passes to the quantizers for {@code weightName}, computed as
     * {@code load_imatrix} in tools/quantize/quantize.cpp does: for GGUF files {@code in_sum2 / (float) count} per
     * matrix in float32 (1 for a matrix that saw no tokens, "partial imatrix data"); for legacy files
     * {@code sums / ncall} (or the sums unchanged when ncall is 0).
     */
    public Optional<float[]> importance(String weightName) {
        ImatrixEntry e = entries.get(weightName);
        if (e == null) {
            return Optional.empty();
        }
        float[] sums = e.sums();
        long[] counts = e.counts();
        float[] out = new float[sums.length];
        if (!legacy) {
            int ne0 = sums.length / counts.length;
            for (int j = 0; j < counts.length; j++) {
                float count = (float) counts[j];
                for (int i = 0; i < ne0; i++) {
                    out[j * ne0 + i] = count > 0.0f ? sums[j * ne0 + i] / count : 1.0f;
                }
            }
        } else {
            long ncall = counts.length == 0 ? 0 : counts[0];
            for (int i = 0; i < sums.length; i++) {
                out[i] = ncall > 0 ? sums[i] / (float) ncall : sums[i];
            }
        }
        return Optional.of(out);
    }
}
