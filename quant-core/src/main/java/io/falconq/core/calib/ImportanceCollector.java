package io.falconq.core.calib;

import io.falconq.formats.imatrix.ImatrixEntry;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Collects an importance matrix the way llama-imatrix does ({@code tools/imatrix/imatrix.cpp collect_imatrix}):
 * one entry per GGUF weight name, every linear of every block, the LM head only when asked
 * ({@code --process-output}), and calls with fewer than {@value #MIN_ROWS} token rows ignored.
 */
public final class ImportanceCollector implements LinearInputObserver {
    /** llama-imatrix ignores matrix products with fewer rows than this ({@code src1->ne[1] < 16}). */
    public static final int MIN_ROWS = 16;

    private final boolean processOutput;
    private final SortedMap<String, ImportanceStats> stats = new TreeMap<>();

    public ImportanceCollector(boolean processOutput) {
        this.processOutput = processOutput;
    }

    @Override
    public void onLinearInput(int layer, LinearRole role, float[] x, int rows, int cols) {
        if (rows < MIN_ROWS || (role == LinearRole.OUTPUT && !processOutput)) {
            return;
        }
        String name = role.ggufWeightName(layer);
        stats.computeIfAbsent(name, n -> new ImportanceStats(n, cols)).add(x, rows, cols);
    }

    /** Entries sorted by name (byte order, as {@code std::sort} of the names in {@code save_imatrix}). */
    public SortedMap<String, ImportanceStats> stats() {
        return Collections.unmodifiableSortedMap(stats);
    }

    /** Adds previously collected statistics under their names. */
    public void mergeAll(Map<String, ImportanceStats> other) {
        for (ImportanceStats s : other.values()) {
            ImportanceStats mine = stats.get(s.name());
            if (mine == null) {
                stats.put(s.name(), ImportanceStats.ofSums(s.name(), s.sumSq(), s.count()));
            } else {
                mine.merge(s);
            }
        }
    }

    /** The statistics as imatrix entries, in {@link #stats()}' order, one matrix each (Falcon-H1's are dense). */
    public List<ImatrixEntry> imatrixEntries() {
        List<ImatrixEntry> entries = new ArrayList<>(stats.size());
        for (ImportanceStats s : stats.values()) {
            entries.add(new ImatrixEntry(s.name(), s.sumSq(), new long[] {s.count()}));
        }
        return entries;
    }

    /** The imatrix's chunk count: whole chunks of {@code ctx} tokens in the most-counted entry, as llama-imatrix. */
    public int chunkCount(int ctx) {
        long maxCount = 0;
        for (ImportanceStats s : stats.values()) {
            maxCount = Math.max(maxCount, s.count());
        }
        return (int) (maxCount / ctx);
    }
}
