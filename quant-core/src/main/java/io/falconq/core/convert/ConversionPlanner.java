package io.falconq.core.convert;

import io.falconq.core.convert.recipe.QuantRecipe;
import io.falconq.core.convert.recipe.RecipeContext;
import io.falconq.formats.gguf.GgmlType;
import io.falconq.formats.gguf.GgufFile;
import io.falconq.formats.gguf.GgufMetadata;
import io.falconq.formats.gguf.GgufSplit;
import io.falconq.formats.gguf.GgufTensorInfo;
import io.falconq.formats.hf.HfCheckpoint;
import io.falconq.formats.imatrix.ImatrixFile;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.tensor.Shapes;
import io.falconq.formats.tensor.TensorView;
import io.falconq.core.model.FalconH1Config;
import io.falconq.core.model.MupFolding;
import io.falconq.core.model.TensorNameMap;
import io.falconq.core.model.TensorNameMap.RoleAt;
import io.falconq.core.model.TensorRole;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The first phase of a {@link GgufConversion}: every name, shape, type and metadata key of the output, decided
 * before any tensor data is read (a {@link ConversionPlan}). One routine plans from a Hugging Face checkpoint, from a
 * config alone (what {@code inspect}'s size estimates and the pipeline's dry run report) and, for
 * {@code requantize}, from an F32/F16/BF16 GGUF; each tensor's type comes from {@link TensorTypeChoice}.
 */
public final class ConversionPlanner {
    /**
     * llama.cpp's loader order ({@code weight_name_comparer}, llama-model-loader.h): by the layer number parsed from
     * {@code blk.N.} (-1 for global tensors), then by name (byte order).
     */
    static final Comparator<String> LOADER_NAME_ORDER = Comparator
            .comparingInt(TensorNameMap::ggufLayerOf).thenComparing(Comparator.naturalOrder());

    private static final Comparator<PlannedTensor> LOADER_ORDER =
            Comparator.comparing(PlannedTensor::targetName, LOADER_NAME_ORDER);

    private ConversionPlanner() {
    }

    /** Plans the conversion of a Hugging Face checkpoint. */
    public static ConversionPlan planFromHf(HfCheckpoint ckpt, ConversionOptions options) {
        Path configPath = ckpt.configPath().orElseThrow(
                () -> new InvalidInputException(ckpt.dir() + ": no config.json"));
        FalconH1Config config = FalconH1Config.read(configPath);
        FalconH1GgufMetadata.checkRepresentable(config, ckpt.configJson(), configPath.toString());
        List<String> notes = new ArrayList<>(config.warnings());
        checkNamesMap(ckpt, config);
        String name = options.modelName() != null ? options.modelName() : ckpt.dir().getFileName().toString();
        return plan(config, name, options, notes, at -> checkedSource(ckpt, config, at, notes),
                metadata -> GgufTokenizerMetadata.append(ckpt.dir(), ckpt.configJson(), metadata));
    }

    /**
     * Plans the conversion of a checkpoint known only by its config: the tensors, types and metadata
     * {@link #planFromHf} plans for any checkpoint of that config, without the tokenizer metadata (there is no
     * tokenizer.json) and with no source names or types checked.
     */
    public static ConversionPlan planFromConfig(FalconH1Config config, String modelName, ConversionOptions options) {
        return plan(config, modelName, options, new ArrayList<>(config.warnings()),
                at -> new Source(at.hfName(), null), metadata -> { });
    }

    /** The HF tensor a planned tensor is read from, and its stored type (null when planning from a config). */
    private record Source(String name, GgmlType type) {
    }

    private static ConversionPlan plan(FalconH1Config config, String modelName, ConversionOptions options,
                                       List<String> notes, Function<RoleAt, Source> sources,
                                       Consumer<GgufMetadata> tokenizer) {
        QuantRecipe recipe = options.recipe();
        boolean converterLayout = recipe.base() == GgmlType.F32;
        List<PlannedTensor> tensors = new ArrayList<>();
        for (RoleAt at : converterOrder(config)) {
            Source source = sources.apply(at);
            long[] shape = at.role().convertedShape(config);
            long[] ne = converterLayout ? reverse(shape) : ggmlNDims(reverse(shape));
            String target = at.ggufName();
            RecipeContext ctx = new RecipeContext(at.role(), at.layer(), config.numLayers(), config.gqaGroupSize(),
                    options.imatrix() != null, ne[0], true);
            TensorTypeChoice choice = TensorTypeChoice.choose(ctx, target, GgmlType.F32, options, notes);
            tensors.add(new PlannedTensor(at.role(), at.layer(), source.name(), source.type(), target, choice.type(),
                    ne, choice.type().bytesFor(Shapes.elementCount(ne)), MupFolding.of(at.role(), config),
                    at.role().transform(), choice.resolution(), choice.importance()));
        }
        GgufMetadata metadata = FalconH1GgufMetadata.architecture(config, modelName, QuantRecipe.F32.ftype());
        tokenizer.accept(metadata);
        if (!converterLayout) {
            metadata = FalconH1GgufMetadata.requantized(metadata, recipe.ftype());
            addQuantizeKeys(metadata, options);
            TensorTypeChoice.checkOptionsNameThisModel(options, tensors);
            tensors.sort(LOADER_ORDER);
        }
        return new ConversionPlan(recipe, converterLayout ? ConversionPlan.Layout.CONVERTER : ConversionPlan.Layout.QUANTIZE,
                metadata, tensors, notes);
    }

    /** Every HF tensor must map to a role; llama.cpp's converter fails on unmapped names too. */
    private static void checkNamesMap(HfCheckpoint ckpt, FalconH1Config config) {
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
        }
    }

    /** The converter's order: global tensors, then each layer in role order. */
    private static List<RoleAt> converterOrder(FalconH1Config config) {
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
        return wanted;
    }

    /** The checkpoint's tensor for {@code at}, checked against the config. */
    private static Source checkedSource(HfCheckpoint ckpt, FalconH1Config config, RoleAt at, List<String> notes) {
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
        if (view.type() != GgmlType.BF16 && view.type() != GgmlType.F16 && view.type() != GgmlType.F32) {
            throw new InvalidInputException(ckpt.dir() + ": tensor \"" + view.name() + "\" is " + view.type()
                    + "; only BF16, F16 and F32 checkpoints can be converted");
        }
        long[] expected = at.role().hfShape(config);
        if (!Arrays.equals(view.shape(), expected)) {
            throw new InvalidInputException(ckpt.dir() + ": tensor \"" + source + "\" has shape "
                    + Arrays.toString(view.shape()) + ", expected " + Arrays.toString(expected) + " from config.json");
        }
        return new Source(source, view.type());
    }

    /** Plans {@code llama-quantize IN OUT TYPE} for an F32, F16 or BF16 Falcon-H1 GGUF. */
    public static ConversionPlan planFromGguf(GgufFile in, ConversionOptions options) {
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
            TensorTypeChoice choice = TensorTypeChoice.choose(ctx, info.name(), info.type(), options, notes);
            tensors.add(new PlannedTensor(at.role(), at.layer(), info.name(), info.type(), info.name(), choice.type(),
                    ne, choice.type().bytesFor(Shapes.elementCount(ne)), null, TensorRole.Transform.NONE,
                    choice.resolution(), choice.importance()));
        }
        // llama-quantize removes the split keys of a split input (llama-quant.cpp, "Remove split metadata")
        GgufMetadata metadata = FalconH1GgufMetadata.requantized(GgufSplit.withoutSplitKeys(meta),
                options.recipe().ftype());
        addQuantizeKeys(metadata, options);
        TensorTypeChoice.checkOptionsNameThisModel(options, tensors);
        return new ConversionPlan(options.recipe(), ConversionPlan.Layout.QUANTIZE, metadata, tensors, notes);
    }

    /**
     * What llama-quantize appends after {@code general.file_type}: its {@code --override-kv} keys (the options' extra
     * keys), then the imatrix keys ({@code quantize.imatrix.*}).
     */
    private static void addQuantizeKeys(GgufMetadata m, ConversionOptions options) {
        for (String key : options.extraKeys().keys()) {
            m.put(key, options.extraKeys().get(key));
        }
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
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return b.length <= 127 ? s : new String(Arrays.copyOf(b, 127), StandardCharsets.UTF_8);
    }

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
}
