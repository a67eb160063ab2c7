package io.falconq.convert;

import io.falconq.convert.recipe.FallbackChain;
import io.falconq.convert.recipe.QuantRecipe;
import io.falconq.convert.recipe.RecipeContext;
import io.falconq.formats.gguf.GgmlType;
import io.falconq.formats.gguf.GgufFile;
import io.falconq.formats.gguf.GgufMetadata;
import io.falconq.formats.gguf.GgufTensorInfo;
import io.falconq.formats.gguf.GgufSplit;
import io.falconq.formats.gguf.GgufSplitWriter;
import io.falconq.formats.gguf.GgufTensorSink;
import io.falconq.formats.gguf.GgufWriter;
import io.falconq.formats.hf.HfCheckpoint;
import io.falconq.formats.imatrix.ImatrixFile;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.io.ProgressListener;
import io.falconq.formats.tensor.TensorSource;
import io.falconq.formats.tensor.TensorView;
import io.falconq.model.FalconH1Config;
import io.falconq.model.MupFolding;
import io.falconq.model.TensorNameMap;
import io.falconq.model.TensorNameMap.RoleAt;
import io.falconq.model.TensorRole;
import io.falconq.quant.BlockCodec;
import io.falconq.quant.FloatRows;
import io.falconq.quant.QuantType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;

/**
 * Converts a Hugging Face Falcon-H1 checkpoint, or an F32/F16/BF16 GGUF, into a GGUF that llama.cpp loads unchanged,
 * in two phases: {@code plan*} decides every name, shape, type and metadata key (a {@link ConversionPlan}); then
 * {@link #run} streams the tensors through the {@link GgufWriter} one at a time.
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
     * Elements per work chunk (at least one row); llama-quantize uses at least 32·512. 64 Ki floats keep every
     * buffer at 256 KiB or less, below G1's humongous-object threshold, so chunk buffers never grow the old generation.
     */
    static final int CHUNK_ELEMENTS = 1 << 16;

    /** Per-worker float32 scratch for one chunk, reused across chunks and tensors. */
    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[CHUNK_ELEMENTS]);
    private static final ThreadLocal<short[]> HALF_SCRATCH = ThreadLocal.withInitial(() -> new short[CHUNK_ELEMENTS]);

    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * Conversion settings.
     *
     * @param recipe        target type or mix
     * @param imatrix       importance matrix, or null
     * @param imatrixLabel  the imatrix path as the user gave it, recorded in {@code quantize.imatrix.file} (llama-quantize
     *                      records its argument verbatim)
     * @param modelName     {@code general.name} for conversions from HF (the converter uses the model folder's name)
     * @param typeOverrides per-tensor types (GGUF names) that replace the recipe's mix rule, as llama-quantize's
     *                      {@code --tensor-type}: only for quantizable tensors of a quantized recipe, and still subject
     *                      to the {@link FallbackChain}; empty for a stock mix
     * @param extraKeys     metadata appended after {@code general.file_type} and before the imatrix keys, where
     *                      llama-quantize puts its {@code --override-kv} keys; empty for none
     */
    public record Options(QuantRecipe recipe, ImatrixFile imatrix, String imatrixLabel, String modelName,
                          Map<String, GgmlType> typeOverrides, GgufMetadata extraKeys) {
        public Options {
            typeOverrides = Map.copyOf(typeOverrides);
            extraKeys = extraKeys.copy();
        }

        public Options(QuantRecipe recipe, ImatrixFile imatrix, String imatrixLabel, String modelName) {
            this(recipe, imatrix, imatrixLabel, modelName, Map.of(), new GgufMetadata());
        }

        public static Options of(QuantRecipe recipe) {
            return new Options(recipe, null, null, null);
        }

        /** The same options with another recipe. */
        public Options withRecipe(QuantRecipe other) {
            return new Options(other, imatrix, imatrixLabel, modelName, typeOverrides, extraKeys);
        }

        /** The same options with per-tensor types and extra metadata (an allocation). */
        public Options withOverrides(Map<String, GgmlType> types, GgufMetadata keys) {
            return new Options(recipe, imatrix, imatrixLabel, modelName, types, keys);
        }
    }

    private GgufConversion() {
    }

    // ---- planning: HF checkpoint ------------------------------------------------------------------------------

    /** Plans the conversion of a Hugging Face checkpoint. */
    public static ConversionPlan planFromHf(HfCheckpoint ckpt, Options options) {
        Path configPath = ckpt.configPath().orElseThrow(
                () -> new InvalidInputException(ckpt.dir() + ": no config.json"));
        FalconH1Config config = FalconH1Config.read(configPath);
        FalconH1GgufMetadata.checkRepresentable(config, ckpt.configJson(), configPath.toString());
        List<String> notes = new ArrayList<>(config.warnings());

        // every HF tensor must map to a role; llama.cpp's converter fails on unmapped names too
        Map<String, RoleAt> byName = new HashMap<>();
        for (String name : ckpt.names()) {
            RoleAt r = TensorNameMap.fromHf(name).orElseThrow(() -> new InvalidInputException(ckpt.dir()
                    + ": tensor \"" + name + "\" is not part of a Falcon-H1 checkpoint (cannot map it to GGUF)"));
            if (r.layer() >= config.numLayers()) {
                throw new InvalidInputException(ckpt.dir() + ": tensor \"" + name + "\" is in layer " + r.layer()
                        + " but num_hidden_layers is " + config.numLayers());
            }
            if (!r.role().presentIn(config)) {
                throw new InvalidInputException(ckpt.dir() + ": tensor \"" + name + "\" is present but config.json says "
                        + (r.role() == TensorRole.SSM_NORM ? "mamba_rms_norm=false" : "mamba_conv_bias=false"));
            }
            byName.put(name, r);
        }

        // converter order: global tensors, then each layer in role order
        List<RoleAt> wanted = new ArrayList<>();
        for (TensorRole role : TensorRole.values()) {
            if (!role.perLayer() && role.presentIn(config)) {
                wanted.add(new RoleAt(role, -1));
            }
        }
        for (int layer = 0; layer < config.numLayers(); layer++) {
            for (TensorRole role : TensorRole.values()) {
                if (role.perLayer() && role.presentIn(config)) {
                    wanted.add(new RoleAt(role, layer));
                }
            }
        }

        QuantRecipe recipe = options.recipe();
        boolean converterLayout = recipe.base() == GgmlType.F32;
        int gqa = config.gqaGroupSize();
        List<PlannedTensor> tensors = new ArrayList<>();
        for (RoleAt at : wanted) {
            String source = at.hfName();
            if (!ckpt.contains(source)) {
                if (at.role() == TensorRole.OUTPUT && config.tieWordEmbeddings()) {
                    // tied: llama.cpp would reuse token_embd, which carries embedding_multiplier; write lm_head explicitly
                    source = TensorRole.TOKEN_EMBD.hfName(-1);
                    notes.add("tie_word_embeddings: output.weight written from " + source + " × lm_head_multiplier");
                } else {
                    throw new InvalidInputException(ckpt.dir() + ": checkpoint has no tensor \"" + source + "\"");
                }
            }
            TensorView view = ckpt.view(source);
            checkSourceType(ckpt.dir().toString(), view);
            long[] expected = at.role().hfShape(config);
            if (!Arrays.equals(view.shape(), expected)) {
                throw new InvalidInputException(ckpt.dir() + ": tensor \"" + source + "\" has shape "
                        + Arrays.toString(view.shape()) + ", expected " + Arrays.toString(expected) + " from config.json");
            }
            long[] shape = at.role().convertedShape(config);
            long[] ne = converterLayout ? reverse(shape) : ggmlNDims(reverse(shape));
            String target = at.ggufName();
            RecipeContext ctx = new RecipeContext(at.role(), at.layer(), config.numLayers(), gqa,
                    options.imatrix() != null, ne[0], true);
            TypeChoice choice = chooseType(recipe, ctx, target, GgmlType.F32, options, notes);
            tensors.add(new PlannedTensor(at.role(), at.layer(), source, view.type(), target, choice.type, ne,
                    choice.type.bytesFor(product(ne)), MupFolding.of(at.role(), config), at.role().transform(),
                    choice.resolution, choice.importance));
        }

        String name = options.modelName() != null ? options.modelName() : ckpt.dir().getFileName().toString();
        GgufMetadata metadata = FalconH1GgufMetadata.architecture(config, name, QuantRecipe.F32.ftype());
        GgufTokenizerMetadata.append(ckpt.dir(), ckpt.configJson(), metadata);
        if (!converterLayout) {
            metadata = FalconH1GgufMetadata.requantized(metadata, recipe.ftype());
            addExtraKeys(metadata, options);
            addImatrixKeys(metadata, options);
            checkImatrixMatches(options, tensors);
            checkOverridesNamed(options, tensors);
            tensors.sort(LOADER_ORDER);
        }
        return new ConversionPlan(recipe, converterLayout ? ConversionPlan.Layout.CONVERTER : ConversionPlan.Layout.QUANTIZE,
                metadata, tensors, notes);
    }

    // ---- planning: GGUF (requantize) --------------------------------------------------------------------------

    /** Plans {@code llama-quantize IN OUT TYPE} for an F32, F16 or BF16 Falcon-H1 GGUF. */
    public static ConversionPlan planFromGguf(GgufFile in, Options options) {
        GgufMetadata meta = in.metadata();
        FalconH1GgufLayout.checkTensors(in, FalconH1GgufLayout.config(in));
        int layers = meta.getU32AsInt(FalconH1GgufMetadata.ARCH + ".block_count");
        int heads = meta.getU32AsInt(FalconH1GgufMetadata.ARCH + ".attention.head_count");
        int kvHeads = meta.containsKey(FalconH1GgufMetadata.ARCH + ".attention.head_count_kv")
                ? meta.getU32AsInt(FalconH1GgufMetadata.ARCH + ".attention.head_count_kv") : heads;
        boolean hasOutput = in.contains(TensorRole.OUTPUT.ggufName(-1));
        List<String> notes = new ArrayList<>();

        List<GgufTensorInfo> infos = new ArrayList<>(in.tensorInfos());
        infos.sort(Comparator.comparing(GgufTensorInfo::name, LOADER_NAME_ORDER));
        List<PlannedTensor> tensors = new ArrayList<>();
        QuantRecipe recipe = options.recipe();
        for (GgufTensorInfo info : infos) {
            RoleAt at = TensorNameMap.fromGguf(info.name()).orElseThrow(() -> new InvalidInputException(in.path()
                    + ": tensor \"" + info.name() + "\" is not a Falcon-H1 tensor"));
            if (info.type() != GgmlType.F32 && info.type() != GgmlType.F16 && info.type() != GgmlType.BF16) {
                throw new InvalidInputException(in.path() + ": tensor \"" + info.name() + "\" is " + info.type()
                        + "; requantize reads F32, F16 or BF16 GGUFs only (requantizing quantized weights loses accuracy)");
            }
            long[] ne = ggmlNDims(info.ne());
            RecipeContext ctx = new RecipeContext(at.role(), at.layer(), layers, heads / kvHeads,
                    options.imatrix() != null, ne[0], hasOutput);
            TypeChoice choice = chooseType(recipe, ctx, info.name(), info.type(), options, notes);
            tensors.add(new PlannedTensor(at.role(), at.layer(), info.name(), info.type(), info.name(), choice.type, ne,
                    choice.type.bytesFor(product(ne)), null, TensorRole.Transform.NONE, choice.resolution,
                    choice.importance));
        }
        // llama-quantize removes the split keys of a split input (llama-quant.cpp, "Remove split metadata")
        GgufMetadata metadata = FalconH1GgufMetadata.requantized(GgufSplit.withoutSplitKeys(meta), recipe.ftype());
        addExtraKeys(metadata, options);
        addImatrixKeys(metadata, options);
        checkImatrixMatches(options, tensors);
        checkOverridesNamed(options, tensors);
        return new ConversionPlan(recipe, ConversionPlan.Layout.QUANTIZE, metadata, tensors, notes);
    }

    private record TypeChoice(GgmlType type, FallbackChain.Resolution resolution, float[] importance) {
    }

    private static TypeChoice chooseType(QuantRecipe recipe, RecipeContext ctx, String target, GgmlType storedAs,
                                         Options options, List<String> notes) {
        GgmlType override = options.typeOverrides().get(target);
        if (override != null && !(recipe.isQuantized() && ctx.role().quantizable())) {
            throw new InvalidInputException(target + ": a per-tensor type (" + override + ") needs a quantizable tensor "
                    + "and a quantized file type; llama-quantize ignores it for " + recipe.name());
        }
        FallbackChain.Resolution r = override != null ? FallbackChain.resolve(override, ctx.rowLength(), target)
                : recipe.chooseType(ctx, target);
        if (r == null) {
            // never quantized: the converter writes F32; llama-quantize copies the stored type
            return new TypeChoice(storedAs, null, null);
        }
        if (r.isFallback()) {
            notes.add(target + ": " + r.reason() + " -> falling back to " + r.type());
        }
        float[] importance = null;
        if (options.imatrix() != null && r.type().isQuantized()) {
            Optional<float[]> imp = options.imatrix().importance(target);
            if (imp.isEmpty()) {
                notes.add(target + ": no imatrix entry; quantized without importance");
            } else if (imp.get().length != ctx.rowLength()) {
                // llama-quantize aborts on a size mismatch, except for the token embedding, which only warns
                String msg = "imatrix entry for " + target + " has " + imp.get().length + " values, the tensor has "
                        + ctx.rowLength() + " columns";
                if (ctx.role() != TensorRole.TOKEN_EMBD) {
                    throw new InvalidInputException(options.imatrix().path() + ": " + msg);
                }
                notes.add(msg + "; ignored for the token embedding");
            } else {
                importance = imp.get();
                for (float v : importance) {
                    if (!(v >= 0) || v == Float.POSITIVE_INFINITY) {
                        throw new InvalidInputException(options.imatrix().path() + ": imatrix for " + target
                                + " contains " + v + " (expected finite sums of squares, at least 0)");
                    }
                }
            }
        }
        if (importance == null && recipe.requiresImatrix(ctx.role(), r.type())) {
            throw new InvalidInputException(target + ": type " + r.type() + " in a " + recipe.name()
                    + " file requires an importance matrix (--imatrix)");
        }
        return new TypeChoice(r.type(), r, importance);
    }

    /** An importance matrix none of whose entries names a tensor of the model is another model's: refused. */
    private static void checkImatrixMatches(Options options, List<PlannedTensor> tensors) {
        ImatrixFile im = options.imatrix();
        if (im == null || tensors.stream().anyMatch(t -> im.entries().containsKey(t.targetName()))) {
            return;
        }
        throw new InvalidInputException(im.path() + ": none of its " + im.entries().size() + " entries names a tensor "
                + "of this model (an importance matrix of another model?)");
    }

    /** A per-tensor type for a name the model does not have is a mistake (another model's allocation): refused. */
    private static void checkOverridesNamed(Options options, List<PlannedTensor> tensors) {
        java.util.Set<String> names = new java.util.HashSet<>(options.typeOverrides().keySet());
        tensors.forEach(t -> names.remove(t.targetName()));
        if (!names.isEmpty()) {
            throw new InvalidInputException("per-tensor types name tensors this model does not have: "
                    + names.stream().sorted().limit(5).toList() + (names.size() > 5 ? " …" : ""));
        }
    }

    private static void addExtraKeys(GgufMetadata m, Options options) {
        for (String key : options.extraKeys().keys()) {
            m.put(key, options.extraKeys().get(key));
        }
    }

    /** llama-quantize's imatrix keys ({@code quantize.imatrix.*}), appended after {@code general.file_type}. */
    private static void addImatrixKeys(GgufMetadata m, Options options) {
        ImatrixFile im = options.imatrix();
        if (im == null || im.entries().isEmpty()) {
            return;
        }
        String label = options.imatrixLabel() != null ? options.imatrixLabel() : im.path().toString();
        m.putString("quantize.imatrix.file", truncate127(label));
        if (!im.datasets().isEmpty()) {
            m.putString("quantize.imatrix.dataset", truncate127(im.datasets().getFirst()));
        }
        m.putU32("quantize.imatrix.entries_count", im.entries().size());
        if (im.chunkCount() > 0) {
            m.putU32("quantize.imatrix.chunks_count", im.chunkCount());
        }
    }

    /** llama-quantize passes these strings through a 128-byte {@code kv_override} buffer. */
    public static String truncate127(String s) {
        byte[] b = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        return b.length <= 127 ? s : new String(Arrays.copyOf(b, 127), java.nio.charset.StandardCharsets.UTF_8);
    }

    // ---- running ----------------------------------------------------------------------------------------------

    /** {@link #run(ConversionPlan, TensorSource, Path, boolean, int, Function, ProgressListener)} with falconq's codecs. */
    public static ConversionReport run(ConversionPlan plan, TensorSource source, Path out, boolean force, int threads,
                                       ProgressListener progress) {
        return run(plan, source, out, null, force, threads, GgufConversion::codecOrNull, progress);
    }

    /** The same, written as a split GGUF ({@code split} null: one file); {@code out} names the shards' prefix. */
    public static ConversionReport run(ConversionPlan plan, TensorSource source, Path out, GgufSplit.Rule split,
                                       boolean force, int threads, ProgressListener progress) {
        return run(plan, source, out, split, force, threads, GgufConversion::codecOrNull, progress);
    }

    /** {@link #run(ConversionPlan, TensorSource, Path, GgufSplit.Rule, boolean, int, Function, ProgressListener)} unsplit. */
    public static ConversionReport run(ConversionPlan plan, TensorSource source, Path out, boolean force, int threads,
                                       Function<GgmlType, BlockCodec> codecs, ProgressListener progress) {
        return run(plan, source, out, null, force, threads, codecs, progress);
    }

    /** The codec of {@link QuantType}, or null for types falconq cannot write. */
    public static BlockCodec codecOrNull(GgmlType type) {
        try {
            return QuantType.of(type).codec();
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /**
     * Writes the planned file atomically.
     *
     * @param codecs  the codec for each written type
     * @param threads worker threads (1 = the calling thread only); the output bytes do not depend on it
     */
    public static ConversionReport run(ConversionPlan plan, TensorSource source, Path out, GgufSplit.Rule split,
                                       boolean force, int threads, Function<GgmlType, BlockCodec> codecs,
                                       ProgressListener progress) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        Map<GgmlType, BlockCodec> codecByType = new HashMap<>();
        for (PlannedTensor t : plan.tensors()) {
            codecByType.computeIfAbsent(t.type(), type -> {
                BlockCodec c = codecs.apply(type);
                if (c == null) {
                    throw new InvalidInputException("type " + type + " (for " + t.targetName()
                            + ") has no quantizer in this build");
                }
                return c;
            });
        }
        long start = System.nanoTime();
        ChunkBuffers buffers = new ChunkBuffers(2 * threads + 2);
        ExecutorService pool = threads > 1 ? Executors.newFixedThreadPool(threads, r -> {
            Thread th = new Thread(r, "falconq-convert");
            th.setDaemon(true);
            return th;
        }) : null;
        List<PlannedTensor> writeOrder = writeOrder(plan.tensors());
        List<GgufWriter.PlannedTensor> planned = plan.tensors().stream().map(PlannedTensor::forWriter).toList();
        List<String> names = writeOrder.stream().map(PlannedTensor::targetName).toList();
        try (GgufTensorSink writer = split == null ? GgufWriter.begin(out, plan.metadata(), planned, force, names)
                : GgufSplitWriter.begin(out, plan.metadata(), planned, split, force, names)) {
            int i = 0;
            for (PlannedTensor t : writeOrder) {
                writeTensor(t, source.view(t.sourceName()), codecByType.get(t.type()), writer, pool, threads, buffers);
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
        } finally {
            if (pool != null) {
                pool.shutdownNow();
            }
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

    private static void writeTensor(PlannedTensor t, TensorView view, BlockCodec codec, GgufTensorSink writer,
                                    ExecutorService pool, int threads, ChunkBuffers buffers) {
        long rows = t.rowCount();
        int rowLength = Math.toIntExact(t.rowLength());
        long expectedElements = t.elementCount();
        if (view.elementCount() != expectedElements || view.type() != t.sourceType()) {
            throw new IllegalStateException(t.sourceName() + ": source changed since planning");
        }
        long rowBytes = t.type().bytesFor(rowLength);
        int chunkRows = (int) Math.max(1, Math.min(rows, CHUNK_ELEMENTS / Math.max(1, rowLength)));
        writer.startTensor(t.targetName());
        SourceRelease release = new SourceRelease(view, rowLength);
        if (pool == null) {
            for (long r0 = 0; r0 < rows; r0 += chunkRows) {
                int n = (int) Math.min(chunkRows, rows - r0);
                writeAndRecycle(writer, buffers, convertRows(t, view, codec, r0, n, rowLength, rowBytes, buffers));
                release.doneUpTo(r0 + n);
            }
        } else {
            // a sliding window of chunks: workers convert ahead, the writer drains in row order
            Deque<Future<Chunk>> window = new ArrayDeque<>();
            long next = 0;
            int maxInFlight = 2 * threads;
            try {
                while (next < rows || !window.isEmpty()) {
                    while (next < rows && window.size() < maxInFlight) {
                        long r0 = next;
                        int n = (int) Math.min(chunkRows, rows - r0);
                        window.add(pool.submit(() -> convertRows(t, view, codec, r0, n, rowLength, rowBytes, buffers)));
                        next += n;
                    }
                    Chunk c = window.removeFirst().get();
                    writeAndRecycle(writer, buffers, c);
                    release.doneUpTo(c.endRow());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while converting " + t.targetName(), e);
            } catch (ExecutionException e) {
                window.forEach(f -> f.cancel(true));
                if (e.getCause() instanceof RuntimeException re) {
                    throw re;
                }
                throw new IllegalStateException(t.targetName() + ": " + e.getCause(), e.getCause());
            }
        }
        writer.endTensor();
        release.rest();
    }

    /**
     * One planned tensor encoded in memory exactly as {@link #run} writes it (the same decode, transform, µP folding,
     * importance and codec): what {@code falconq measure} swaps into the forward pass to price a single tensor's type.
     */
    public static MemorySegment encode(PlannedTensor t, TensorView view, BlockCodec codec) {
        if (view.elementCount() != t.elementCount() || view.type() != t.sourceType()) {
            throw new IllegalStateException(t.sourceName() + ": source changed since planning");
        }
        int rowLength = Math.toIntExact(t.rowLength());
        long rowBytes = t.type().bytesFor(rowLength);
        long rows = t.rowCount();
        int chunkRows = (int) Math.max(1, Math.min(rows, CHUNK_ELEMENTS / Math.max(1, rowLength)));
        MemorySegment out = java.lang.foreign.Arena.ofAuto().allocate(t.bytes(), 64);
        ChunkBuffers buffers = new ChunkBuffers(1);
        for (long r0 = 0; r0 < rows; r0 += chunkRows) {
            int n = (int) Math.min(chunkRows, rows - r0);
            Chunk c = convertRows(t, view, codec, r0, n, rowLength, rowBytes, buffers);
            MemorySegment.copy(MemorySegment.ofArray(c.bytes()), 0, out, r0 * rowBytes, c.length());
            buffers.give(c.bytes());
        }
        return out;
    }

    /** Encoded rows {@code [.., endRow)}: the first {@code length} bytes of {@code bytes}, a recycled buffer. */
    private record Chunk(byte[] bytes, int length, long endRow) {
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

        SourceRelease(TensorView view, int rowLength) {
            this.data = view.data().isMapped() ? view.data() : null;
            this.rowBytes = view.type().bytesFor(rowLength);
        }

        /** Rows {@code [0, rows)} are converted and written. */
        void doneUpTo(long rows) {
            if (data != null && rows * rowBytes - released >= STEP_BYTES) {
                releaseTo(rows * rowBytes);
            }
        }

        /** The whole tensor is written. */
        void rest() {
            if (data != null && released < data.byteSize()) {
                releaseTo(data.byteSize());
            }
        }

        private void releaseTo(long end) {
            data.asSlice(released, end - released).unload();
            released = end;
        }
    }

    private static void writeAndRecycle(GgufTensorSink writer, ChunkBuffers buffers, Chunk c) {
        writer.writeChunk(MemorySegment.ofArray(c.bytes()).asSlice(0, c.length()));
        buffers.give(c.bytes());
    }

    /**
     * Output buffers recycled between chunks, so a conversion allocates a handful of buffers rather than one per
     * chunk: without reuse, gigabytes of short-lived garbage let the collector grow the heap, and peak RSS with it.
     */
    private static final class ChunkBuffers {
        private final Deque<byte[]> free = new ArrayDeque<>();
        private final int keep;

        ChunkBuffers(int keep) {
            this.keep = keep;
        }

        synchronized byte[] take(int size) {
            for (var it = free.iterator(); it.hasNext(); ) {
                byte[] b = it.next();
                if (b.length >= size) {
                    it.remove();
                    return b;
                }
            }
            return new byte[Math.max(size, 4 * CHUNK_ELEMENTS)];
        }

        synchronized void give(byte[] b) {
            if (free.size() < keep) {
                free.push(b);
            }
        }
    }

    /** Rows {@code [r0, r0+n)}: decode to float32, transform and fold, check finiteness, encode. */
    private static Chunk convertRows(PlannedTensor t, TensorView view, BlockCodec codec, long r0, int n, int rowLength,
                                     long rowBytes, ChunkBuffers buffers) {
        int count = n * rowLength;
        float[] buf = SCRATCH.get();
        if (buf.length < count) {
            buf = new float[count];
            SCRATCH.set(buf);
        }
        decode(view, r0 * rowLength, buf, count);
        int bad = FloatRows.firstNonFinite(buf, 0, count);
        if (bad >= 0) {
            throw new InvalidInputException(t.sourceName() + ": non-finite weight " + buf[bad] + " at row "
                    + (r0 + bad / rowLength) + ", column " + (bad % rowLength) + " (the source checkpoint is corrupt)");
        }
        for (int i = 0; i < n; i++) {
            int off = i * rowLength;
            long row = r0 + i;
            if (t.transform() == TensorRole.Transform.NEG_EXP) {
                for (int j = off; j < off + rowLength; j++) {
                    buf[j] = -NumpyFloat32Exp.exp(buf[j]);
                }
            }
            if (t.folding() != null && !t.folding().isIdentity()) {
                t.folding().applyToRow(row, buf, off, rowLength);
            }
        }
        int length = Math.toIntExact(n * rowBytes);
        byte[] out = buffers.take(length);
        MemorySegment seg = MemorySegment.ofArray(out);
        for (int i = 0; i < n; i++) {
            codec.quantizeRow(buf, i * rowLength, rowLength, t.importance(), seg, i * rowBytes);
        }
        return new Chunk(out, length, r0 + n);
    }

    /** Elements {@code [first, first+count)} of a BF16, F16 or F32 tensor as float32 (exact widening). */
    private static void decode(TensorView view, long first, float[] dst, int count) {
        MemorySegment d = view.data();
        switch (view.type()) {
            case F32 -> MemorySegment.copy(d, F32_LE, 4 * first, dst, 0, count);
            case BF16 -> QuantType.BF16.codec().dequantizeRow(d, 2 * first, dst, 0, count);
            case F16 -> {
                short[] half = HALF_SCRATCH.get();
                if (half.length < count) {
                    half = new short[count];
                    HALF_SCRATCH.set(half);
                }
                MemorySegment.copy(d, I16_LE, 2 * first, half, 0, count);
                for (int i = 0; i < count; i++) {
                    dst[i] = Float.float16ToFloat(half[i]);
                }
            }
            default -> throw new IllegalStateException(view.name() + ": cannot decode " + view.type());
        }
    }

    // ---- helpers ----------------------------------------------------------------------------------------------

    private static void checkSourceType(String where, TensorView v) {
        if (v.type() != GgmlType.BF16 && v.type() != GgmlType.F16 && v.type() != GgmlType.F32) {
            throw new InvalidInputException(where + ": tensor \"" + v.name() + "\" is " + v.type()
                    + "; only BF16, F16 and F32 checkpoints can be converted");
        }
    }

    /**
     * llama.cpp's loader order ({@code weight_name_comparer}, llama-model-loader.h): by the layer number parsed from
     * {@code blk.N.} (-1 for global tensors), then by name (byte order).
     */
    static final Comparator<String> LOADER_NAME_ORDER = Comparator
            .comparingInt(TensorNameMap::ggufLayerOf).thenComparing(Comparator.naturalOrder());

    private static final Comparator<PlannedTensor> LOADER_ORDER =
            Comparator.comparing(PlannedTensor::targetName, LOADER_NAME_ORDER);

    private static long[] reverse(long[] shape) {
        long[] ne = new long[shape.length];
        for (int i = 0; i < shape.length; i++) {
            ne[i] = shape[shape.length - 1 - i];
        }
        return ne;
    }

    /** {@code ggml_n_dims}: trailing dimensions of 1 dropped, at least one kept. */
    static long[] ggmlNDims(long[] ne) {
        int n = ne.length;
        while (n > 1 && ne[n - 1] == 1) {
            n--;
        }
        return Arrays.copyOf(ne, n);
    }

    private static long product(long[] ne) {
        long n = 1;
        for (long d : ne) {
            n = Math.multiplyExact(n, d);
        }
        return n;
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
