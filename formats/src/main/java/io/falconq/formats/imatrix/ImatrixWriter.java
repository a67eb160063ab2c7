package io.falconq.formats.imatrix;

import io.falconq.formats.gguf.GgmlType;
import io.falconq.formats.gguf.GgufMetadata;
import io.falconq.formats.gguf.GgufValue;
import io.falconq.formats.gguf.GgufWriter;
import io.falconq.formats.io.AtomicOutput;
import io.falconq.formats.io.LittleEndianLayout;
import io.falconq.formats.io.OutputException;

import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes importance matrices as llama.cpp does, so that llama-quantize (and {@link ImatrixReader}) read them.
 *
 * <p>GGUF ({@code IMatrixCollector::save_imatrix}, tools/imatrix/imatrix.cpp; GGUF-NOTES.md §6.4): keys in this
 * order, {@code general.type = "imatrix"}, {@code imatrix.datasets} (array of string), {@code imatrix.chunk_count}
 * and {@code imatrix.chunk_size} (UINT32); no {@code general.architecture}. Then, for each weight sorted by name
 * (byte order, as {@code std::sort}), {@code W.in_sum2} F32 with ne = [columns, n_mat] and {@code W.counts} F32 with
 * ne = [1, n_mat]. ggml drops trailing dimensions of 1 when writing tensor infos ({@code ggml_n_dims}), so a dense
 * weight's entries are 1-D: [columns] and [1]. Alignment 32.
 *
 * <p>Legacy {@code .dat} ({@code save_imatrix_legacy}): int32 n_entries; per entry int32 name length, name,
 * int32 ncall = ⌈max count / chunk_size⌉, int32 nval, float32[nval] = (sum / count) · ncall (1·ncall where the count
 * is 0); then int32 chunk count, int32 dataset length, dataset name.
 */
public final class ImatrixWriter {
    private ImatrixWriter() {
    }

    /** Writes the GGUF form. */
    public static void writeGguf(Path out, List<String> datasets, int chunkCount, int chunkSize,
                                 Collection<ImatrixEntry> entries, boolean force) {
        writeGguf(out, datasets, chunkCount, chunkSize, Map.of(), entries, force);
    }

    /**
     * Writes the GGUF form with {@code extraKeys} after llama-imatrix's three (in the map's order), e.g. falconq's
     * record of the calibration tokens; llama-quantize reads only the keys it knows and ignores the rest.
     */
    public static void writeGguf(Path out, List<String> datasets, int chunkCount, int chunkSize,
                                 Map<String, GgufValue> extraKeys, Collection<ImatrixEntry> entries, boolean force) {
        TreeMap<String, ImatrixEntry> sorted = sorted(entries);
        GgufMetadata meta = new GgufMetadata();
        meta.putString("general.type", "imatrix");
        meta.put(ImatrixReader.DATASETS_KEY, GgufValue.stringArray(datasets));
        meta.putU32(ImatrixReader.CHUNK_COUNT_KEY, chunkCount);
        meta.putU32(ImatrixReader.CHUNK_SIZE_KEY, chunkSize);
        extraKeys.forEach(meta::put);
        List<GgufWriter.PlannedTensor> plan = new ArrayList<>();
        for (ImatrixEntry e : sorted.values()) {
            int nMat = e.counts().length;
            plan.add(new GgufWriter.PlannedTensor(e.name() + ".in_sum2", GgmlType.F32,
                    nMat == 1 ? new long[] {e.columns()} : new long[] {e.columns(), nMat}));
            plan.add(new GgufWriter.PlannedTensor(e.name() + ".counts", GgmlType.F32,
                    nMat == 1 ? new long[] {1} : new long[] {1, nMat}));
        }
        try (GgufWriter w = GgufWriter.begin(out, meta, plan, force); Arena arena = Arena.ofConfined()) {
            for (ImatrixEntry e : sorted.values()) {
                float[] sums = e.sums();
                long[] counts = e.counts();
                float[] countsF = new float[counts.length];
                for (int i = 0; i < counts.length; i++) {
                    countsF[i] = (float) counts[i];
                }
                w.write(e.name() + ".in_sum2", floats(arena, sums));
                w.write(e.name() + ".counts", floats(arena, countsF));
            }
            w.finish();
        }
    }

    /** Writes the legacy {@code .dat} form; {@code chunkSize} is the tokens per chunk used to derive ncall. */
    public static void writeLegacy(Path out, String dataset, int chunkCount, int chunkSize,
                                   Collection<ImatrixEntry> entries, boolean force) {
        if (chunkSize <= 0) {
            throw new IllegalArgumentException("chunk size must be positive, found " + chunkSize);
        }
        TreeMap<String, ImatrixEntry> sorted = sorted(entries);
        try (AtomicOutput output = AtomicOutput.create(out, force)) {
            try (OutputStream os = output.stream()) {
                LittleEndianOut le = new LittleEndianOut(new DataOutputStream(os));
                le.i32(sorted.size());
                for (ImatrixEntry e : sorted.values()) {
                    byte[] name = e.name().getBytes(StandardCharsets.UTF_8);
                    le.i32(name.length);
                    le.out.write(name);
                    long[] counts = e.counts();
                    long maxCount = 0;
                    for (long c : counts) {
                        maxCount = Math.max(maxCount, c);
                    }
                    int ncall = (int) ((maxCount + chunkSize - 1) / chunkSize);
                    le.i32(ncall);
                    float[] sums = e.sums();
                    le.i32(sums.length);
                    int perMat = sums.length / counts.length;
                    for (int i = 0; i < sums.length; i++) {
                        float count = (float) counts[i / perMat];
                        float value = sums[i];
                        if (count == 0.0f) {
                            value = 1.0f;
                            count = 1.0f;
                        }
                        le.f32((value / count) * (float) ncall);
                    }
                }
                le.i32(chunkCount);
                byte[] ds = dataset.getBytes(StandardCharsets.UTF_8);
                le.i32(ds.length);
                le.out.write(ds);
            } catch (IOException e) {
                throw new OutputException(out + ": write failed: " + e.getMessage(), e);
            }
            output.commit();
        }
    }

    private static TreeMap<String, ImatrixEntry> sorted(Collection<ImatrixEntry> entries) {
        TreeMap<String, ImatrixEntry> sorted = new TreeMap<>();
        for (ImatrixEntry e : entries) {
            if (e.counts().length == 0 || e.sums().length % e.counts().length != 0) {
                throw new IllegalArgumentException(e.name() + ": " + e.sums().length + " sums for "
                        + e.counts().length + " matrices");
            }
            if (sorted.put(e.name(), e) != null) {
                throw new IllegalArgumentException("duplicate imatrix entry " + e.name());
            }
        }
        return sorted;
    }

    private static MemorySegment floats(Arena arena, float[] v) {
        MemorySegment s = arena.allocate(4L * v.length);
        for (int i = 0; i < v.length; i++) {
            s.set(LittleEndianLayout.FLOAT, 4L * i, v[i]);
        }
        return s;
    }

    private record LittleEndianOut(DataOutputStream out) {
        void i32(int v) throws IOException {
            out.writeInt(Integer.reverseBytes(v));
        }

        void f32(float v) throws IOException {
            out.writeInt(Integer.reverseBytes(Float.floatToRawIntBits(v)));
        }
    }
}
