package io.falconq.core.convert;

import io.falconq.core.convert.recipe.QuantRecipe;
import io.falconq.formats.gguf.GgmlType;
import io.falconq.formats.gguf.GgufSplit;
import io.falconq.formats.gguf.GgufSplitWriter;
import io.falconq.formats.gguf.GgufTensorSink;
import io.falconq.formats.gguf.GgufWriter;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.io.MappedFile;
import io.falconq.formats.io.ProgressListener;
import io.falconq.formats.tensor.TensorSource;
import io.falconq.formats.tensor.TensorView;
import io.falconq.core.model.MupFolding;
import io.falconq.core.model.TensorRole;
import io.falconq.core.parallel.WorkerPool;
import io.falconq.core.quant.BlockCodec;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Converts a Hugging Face Falcon-H1 checkpoint, or an F32/F16/BF16 GGUF, into a GGUF that llama.cpp loads unchanged,
 * in two phases: {@link ConversionPlanner} decides every name, shape, type and metadata key (a {@link ConversionPlan});
 * then {@link #run} streams the tensors through the {@link GgufWriter} one at a time, each row chunk encoded by
 * {@link TensorEncoder} on the run's {@link WorkerPool}.
 *
 * <p>What is produced is defined by llama.cpp's own tools, so that our files can be compared byte for byte:
 * <ul>
 *   <li>{@code F32} from a HF checkpoint: exactly what {@code convert_hf_to_gguf.py --outtype f32} writes
 *       ({@link ConversionPlan.Layout#CONVERTER}): BF16 upcast to float32, µP multipliers folded in float32
 *       ({@link MupFolding}), {@code A = −exp(A_log)}, the reshapes of {@link TensorRole#convertedShape}, every
 *       tensor F32.</li>
 *   <li>Any other type from a HF checkpoint: that F32 conversion followed by {@code llama-quantize} with the named
 *       {@link QuantRecipe}. The intermediate F32 file is never written: each tensor is converted to float32 rows
 *       and quantized directly.</li>
 *   <li>From a GGUF ({@code requantize}): what {@code llama-quantize IN OUT TYPE} writes.</li>
 * </ul>
 *
 * <p>Determinism: every row is quantized independently ({@code ggml_quantize_chunk} has no cross-row state), and
 * chunks of rows are written at their own position in the output, so the bytes do not depend on the thread count.
 * Memory: a bounded window of row chunks per tensor (a few MiB), independent of the model size.
 */
public final class GgufConversion {
    /**
     * Chunks per thread in a round. A round ends when its last chunk is encoded, so every round ends with a wait for
     * the slowest thread (on a shared machine, one the OS has descheduled); 16 per thread (at most 4 MiB of encoded
     * rows each) make the rounds few. Synthetic 0.5B to Q4_K_M, 2 threads, 3 runs interleaved with the build that
     * used an executor's sliding window instead (niced, loaded machine): 2 per thread took 4.6-28.6 s longer
     * (load 7-11), 16 per thread 0.3-2.3 s longer (load 7), within those runs' spread (39-49 s).
     */
    static final int CHUNKS_PER_THREAD_AND_ROUND = 16;

    private GgufConversion() {
    }

    /** Writes the planned file atomically, as one GGUF. */
    public static ConversionReport run(ConversionPlan plan, TensorSource source, Path out, boolean force, int threads,
                                       ProgressListener progress) {
        return run(plan, source, out, null, force, threads, progress);
    }

    /**
     * Writes the planned file atomically, as a split GGUF ({@code split} null: one file); {@code out} names the
     * shards' prefix.
     *
     * @param threads worker threads (1 = the calling thread only); the output bytes do not depend on it
     */
    public static ConversionReport run(ConversionPlan plan, TensorSource source, Path out, GgufSplit.Rule split,
                                       boolean force, int threads, ProgressListener progress) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        Map<GgmlType, BlockCodec> codecByType = new HashMap<>();
        for (PlannedTensor t : plan.tensors()) {
            codecByType.computeIfAbsent(t.type(), type -> {
                BlockCodec c = TensorEncoder.codecOrNull(type);
                if (c == null) {
                    throw new InvalidInputException("type " + type + " (for " + t.targetName()
                            + ") has no quantizer in this build");
                }
                return c;
            });
        }
        long start = System.nanoTime();
        TensorEncoder.ChunkBuffers buffers = new TensorEncoder.ChunkBuffers(CHUNKS_PER_THREAD_AND_ROUND * threads + 2);
        List<PlannedTensor> writeOrder = writeOrder(plan.tensors());
        List<GgufWriter.PlannedTensor> planned = plan.tensors().stream().map(PlannedTensor::forWriter).toList();
        List<String> names = writeOrder.stream().map(PlannedTensor::targetName).toList();
        try (WorkerPool pool = new WorkerPool(threads);
             GgufTensorSink writer = split == null ? GgufWriter.begin(out, plan.metadata(), planned, force, names)
                     : GgufSplitWriter.begin(out, plan.metadata(), planned, split, force, names)) {
            int i = 0;
            for (PlannedTensor t : writeOrder) {
                writeTensor(t, source.view(t.sourceName()), codecByType.get(t.type()), writer, pool, buffers);
                i++;
                progress.onStep(i, plan.tensors().size(), String.format("%-32s %-6s %s", t.targetName(), t.type(),
                        humanBytes(t.bytes())));
            }
            writer.finish();
            long fileBytes = writer.fileSize();
            List<String> fallbacks = plan.tensors().stream().filter(t -> t.fallback() != null && t.fallback().isFallback())
                    .map(t -> t.targetName() + ": " + t.fallback().reason() + " -> " + t.type()).toList();
            return new ConversionReport(writer.files().getFirst(), writer.files(), plan.recipe().name(), fileBytes, plan.tensors(), fallbacks,
                    System.nanoTime() - start, threads);
        }
    }

    /**
     * The order tensors are converted in: the file's, except that {@code output.weight} goes last when its type is
     * not that of the first quantized tensor after it. It comes first in the file, and in llama.cpp's legacy mixes it
     * is the only Q6_K tensor: converted first, its kernel warmed up while the JIT was still busy with start-up
     * and with the BF16 decoding, and two threads ran it interpreted. Converted last, the same job took 0.5 s less
     * wall time in a two-thread scratch benchmark (Q6_K then Q4_0: 2.56–3.55 s; Q4_0 then Q6_K: 2.47–2.86 s, five
     * runs each; BENCHMARKS.md, issue #4). The bytes are the same: each tensor is written at its place in the file.
     */
    static List<PlannedTensor> writeOrder(List<PlannedTensor> fileOrder) {
        PlannedTensor output = null;
        for (PlannedTensor t : fileOrder) {
            if (t.targetName().equals("output.weight")) {
                output = t;
                break;
            }
        }
        if (output == null) {
            return fileOrder;
        }
        GgmlType bulk = null;
        for (PlannedTensor t : fileOrder) {
            if (t != output && t.type().isQuantized()) {
                bulk = t.type();
                break;
            }
        }
        if (bulk == null || bulk == output.type()) {
            return fileOrder;
        }
        List<PlannedTensor> order = new ArrayList<>(fileOrder);
        order.remove(output);
        order.add(output);
        return order;
    }

    /**
     * One tensor, in rounds of {@link #CHUNKS_PER_THREAD_AND_ROUND} {@code × threads} row chunks: the pool's threads
     * encode a round's chunks (any thread any chunk), then the calling thread writes them in row order.
     */
    private static void writeTensor(PlannedTensor t, TensorView view, BlockCodec codec, GgufTensorSink writer,
                                    WorkerPool pool, TensorEncoder.ChunkBuffers buffers) {
        TensorEncoder.checkUnchanged(t, view);
        long rows = t.rowCount();
        int chunkRows = TensorEncoder.chunkRows(t);
        TensorEncoder.Chunk[] round = new TensorEncoder.Chunk[CHUNKS_PER_THREAD_AND_ROUND * pool.threads()];
        writer.startTensor(t.targetName());
        SourceRelease release = new SourceRelease(view, t.rowLength());
        for (long first = 0; first < rows; ) {
            long roundStart = first;
            int chunks = (int) Math.min(round.length, (rows - first + chunkRows - 1) / chunkRows);
            pool.forEach(chunks, (chunk, worker) -> {
                long r0 = roundStart + (long) chunk * chunkRows;
                round[chunk] = TensorEncoder.convertRows(t, view, codec, r0, (int) Math.min(chunkRows, rows - r0),
                        buffers);
            });
            for (int c = 0; c < chunks; c++) {
                writer.writeChunk(MemorySegment.ofArray(round[c].bytes()).asSlice(0, round[c].length()));
                buffers.give(round[c].bytes());
                release.doneUpTo(round[c].endRow());
                first = round[c].endRow();
                round[c] = null;
            }
        }
        writer.endTensor();
        release.rest();
    }

    /**
     * Drops a mapped source tensor's pages from the resident set as the conversion passes them, in steps of
     * {@link #STEP_BYTES}, and the remainder when the tensor is done (llama-quantize likewise unmaps each weight after
     * use): each page is read once, and a mapped file read once would otherwise stay resident and scale peak RSS with
     * the model; released only per tensor, the largest tensor (a 64 MiB embedding in 0.5B) was still part of the peak.
     * Steps rather than every chunk: a {@code madvise} per 64 Ki-element chunk made a 2.7 s Q8_0 requantize about
     * 0.4 s slower (medians of 5 interleaved runs).
     */
    private static final class SourceRelease {
        static final long STEP_BYTES = 8L << 20;
        private final MemorySegment data;
        private final long rowBytes;
        private long released;

        SourceRelease(TensorView view, long rowLength) {
            this.data = view.data();
            this.rowBytes = view.type().bytesFor(rowLength);
        }

        /** Rows {@code [0, rows)} are converted and written. */
        void doneUpTo(long rows) {
            if (rows * rowBytes - released >= STEP_BYTES) {
                releaseTo(rows * rowBytes);
            }
        }

        /** The whole tensor is written. */
        void rest() {
            if (released < data.byteSize()) {
                releaseTo(data.byteSize());
            }
        }

        private void releaseTo(long end) {
            MappedFile.unloadIfMapped(data.asSlice(released, end - released));
            released = end;
        }
    }

    static String humanBytes(long b) {
        if (b >= 1L << 30) {
            return String.format("%.2f GiB", b / (double) (1L << 30));
        }
        if (b >= 1L << 20) {
            return String.format("%.2f MiB", b / (double) (1L << 20));
        }
        return String.format("%.1f KiB", b / 1024.0);
    }
}
