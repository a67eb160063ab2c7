package io.falconq.formats.imatrix;

import io.falconq.formats.gguf.GgmlType;
import io.falconq.formats.gguf.GgufFile;
import io.falconq.formats.gguf.GgufReader;
import io.falconq.formats.gguf.GgufTensorInfo;
import io.falconq.formats.gguf.GgufValueType;
import io.falconq.formats.io.FormatException;
import io.falconq.formats.io.LittleEndianCursor;
import io.falconq.formats.io.LittleEndianLayout;
import io.falconq.formats.io.MappedFile;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads llama.cpp importance matrices in both formats, with the checks of {@code common_imatrix_load}
 * (common/imatrix-loader.cpp; GGUF-NOTES.md §6.4):
 *
 * <ul>
 *   <li>GGUF (what {@code llama-imatrix} writes by default): keys {@code imatrix.datasets} (array of string),
 *       {@code imatrix.chunk_count}, {@code imatrix.chunk_size} (UINT32); per weight {@code W} two F32 tensors
 *       {@code W.in_sum2} (ne = [columns, n_mat]) and {@code W.counts} (ne = [1, n_mat]). Every weight needs both;
 *       counts are rounded with {@code lround}.</li>
 *   <li>Legacy {@code .dat}: int32 n_entries; per entry int32 name length, the name, int32 ncall, int32 nval,
 *       float32[nval]; optionally int32 last_chunk, int32 dataset length, the dataset name.</li>
 * </ul>
 *
 * The format is chosen by the GGUF magic. All values are read into the heap (imatrix files are small: one float per
 * input column per weight).
 */
public final class ImatrixReader {
    public static final String DATASETS_KEY = "imatrix.datasets";
    public static final String CHUNK_COUNT_KEY = "imatrix.chunk_count";
    public static final String CHUNK_SIZE_KEY = "imatrix.chunk_size";
    private static final String SUMS_SUFFIX = ".in_sum2";
    private static final String COUNTS_SUFFIX = ".counts";

    private ImatrixReader() {
    }

    public static ImatrixFile read(Path path) {
        boolean gguf;
        try (MappedFile m = MappedFile.open(path)) {
            gguf = m.size() >= 4 && m.segment().get(LittleEndianLayout.INT, 0)
                    == GgufReader.MAGIC;
            if (!gguf) {
                return readLegacy(path, m.segment());
            }
        }
        return readGguf(path);
    }

    private static ImatrixFile readGguf(Path path) {
        try (GgufFile f = GgufReader.open(path)) {
            var meta = f.metadata();
            List<String> datasets = List.of();
            var ds = meta.find(DATASETS_KEY);
            if (ds.isPresent() && ds.get().isArray() && ds.get().elementType() == GgufValueType.STRING) {
                datasets = meta.getStringArray(DATASETS_KEY);
            }
            boolean hasMetadata = meta.containsKey(DATASETS_KEY) && meta.containsKey(CHUNK_COUNT_KEY)
                    && meta.containsKey(CHUNK_SIZE_KEY);
            int chunkCount = meta.containsKey(CHUNK_COUNT_KEY) ? meta.getU32AsInt(CHUNK_COUNT_KEY) : 0;
            int chunkSize = meta.containsKey(CHUNK_SIZE_KEY) ? meta.getU32AsInt(CHUNK_SIZE_KEY) : 0;
            if (f.tensorInfos().isEmpty()) {
                throw new FormatException(path, -1, "imatrix file holds no tensors (no data)");
            }
            Map<String, GgufTensorInfo[]> pairs = new TreeMap<>();
            for (GgufTensorInfo t : f.tensorInfos()) {
                String n = t.name();
                if (n.endsWith(SUMS_SUFFIX)) {
                    pairs.computeIfAbsent(n.substring(0, n.length() - SUMS_SUFFIX.length()), k -> new GgufTensorInfo[2])[0] = t;
                } else if (n.endsWith(COUNTS_SUFFIX)) {
                    pairs.computeIfAbsent(n.substring(0, n.length() - COUNTS_SUFFIX.length()), k -> new GgufTensorInfo[2])[1] = t;
                }
            }
            Map<String, ImatrixEntry> entries = new TreeMap<>();
            for (Map.Entry<String, GgufTensorInfo[]> e : pairs.entrySet()) {
                GgufTensorInfo sums = e.getValue()[0];
                GgufTensorInfo counts = e.getValue()[1];
                if (sums == null || counts == null) {
                    throw new FormatException(path, -1, "weight '" + e.getKey() + "' has " + (sums == null ? "no" : "a")
                            + " " + SUMS_SUFFIX + " and " + (counts == null ? "no" : "a") + " " + COUNTS_SUFFIX
                            + " tensor; both are required (mismatched sums and counts)");
                }
                if (sums.type() != GgmlType.F32 || counts.type() != GgmlType.F32) {
                    throw new FormatException(path, -1, "weight '" + e.getKey() + "': sums and counts must be F32, found "
                            + sums.type() + " and " + counts.type());
                }
                long nCounts = counts.elementCount();
                long nSums = sums.elementCount();
                if (nCounts == 0 || nSums % nCounts != 0) {
                    throw new FormatException(path, -1, "weight '" + e.getKey() + "': " + nSums + " sums are not a whole"
                            + " number of rows for " + nCounts + " counts");
                }
                float[] s = toFloats(f.rawBytes(sums.name()), nSums);
                float[] cf = toFloats(f.rawBytes(counts.name()), nCounts);
                long[] c = new long[cf.length];
                for (int i = 0; i < cf.length; i++) {
                    c[i] = lround(cf[i]);
                }
                entries.put(e.getKey(), new ImatrixEntry(e.getKey(), s, c));
            }
            return new ImatrixFile(path, datasets, chunkCount, chunkSize, false, hasMetadata, entries);
        }
    }

    private static ImatrixFile readLegacy(Path path, MemorySegment seg) {
        LittleEndianCursor in = new LittleEndianCursor(path, seg, 0);
        if (in.remaining() < 4) {
            throw in.error(0, "file is " + in.size() + " bytes: neither a GGUF imatrix nor a legacy .dat imatrix");
        }
        int nEntries = in.i32("n_entries");
        if (nEntries < 1) {
            throw in.error(0, "legacy imatrix n_entries = " + nEntries + ", expected at least 1 (no data, or not an imatrix file)");
        }
        Map<String, ImatrixEntry> entries = new TreeMap<>();
        for (int i = 0; i < nEntries; i++) {
            long at = in.position();
            int len = in.i32("name length of entry " + (i + 1));
            if (len < 0 || len > in.remaining()) {
                throw in.error(at, "entry " + (i + 1) + ": name length " + len + " exceeds the " + in.remaining()
                        + " bytes left (truncated or not a legacy imatrix)");
            }
            String name = new String(in.bytes(len, "name of entry " + (i + 1)), StandardCharsets.UTF_8);
            int ncall = in.i32("ncall of " + name);
            long nvalAt = in.position();
            int nval = in.i32("nval of " + name);
            if (nval < 1 || 4L * nval > in.remaining()) {
                throw in.error(nvalAt, "entry '" + name + "': nval " + nval + " is not in 1.." + in.remaining() / 4
                        + " (truncated?)");
            }
            float[] sums = new float[nval];
            for (int j = 0; j < nval; j++) {
                sums[j] = in.f32("value");
            }
            entries.put(name, new ImatrixEntry(name, sums, new long[]{ncall}));
        }
        int chunkCount = 0;
        List<String> datasets = new ArrayList<>();
        if (in.remaining() >= 4) {
            chunkCount = in.i32("last_chunk");
            if (in.remaining() >= 4) {
                int len = in.i32("dataset name length");
                if (len > 0 && len <= in.remaining()) {
                    datasets.add(new String(in.bytes(len, "dataset name"), StandardCharsets.UTF_8));
                }
            }
        }
        return new ImatrixFile(path, datasets, chunkCount, 0, true, false, entries);
    }

    private static float[] toFloats(MemorySegment seg, long n) {
        float[] out = new float[Math.toIntExact(n)];
        for (int i = 0; i < out.length; i++) {
            out[i] = seg.get(LittleEndianLayout.FLOAT, 4L * i);
        }
        return out;
    }

    /** C {@code lround}: nearest, halves away from zero. */
    private static long lround(float v) {
        double d = v;
        return (long) (d < 0 ? -Math.floor(-d + 0.5) : Math.floor(d + 0.5));
    }
}
