package io.falconq.cli.pipeline;

import io.falconq.convert.ConversionPlan;
import io.falconq.convert.FalconH1GgufMetadata;
import io.falconq.convert.ConversionOptions;
import io.falconq.convert.ConversionPlanner;
import io.falconq.convert.GgufConversion;
import io.falconq.convert.PlannedTensor;
import io.falconq.convert.recipe.FallbackChain;
import io.falconq.convert.recipe.QuantRecipe;
import io.falconq.convert.recipe.RecipeContext;
import io.falconq.formats.gguf.GgmlType;
import io.falconq.formats.gguf.GgufMetadata;
import io.falconq.formats.gguf.GgufWriter;
import io.falconq.formats.hf.HfCheckpoint;
import io.falconq.formats.imatrix.ImatrixFile;
import io.falconq.model.FalconH1Config;
import io.falconq.model.TensorRole;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.falconq.calib.LinearRole;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.safetensors.SafetensorsDtype;
import io.falconq.formats.safetensors.SafetensorsWriter;
import io.falconq.formats.tensor.TensorView;
import io.falconq.jobs.intquant.AwqLoss;
import io.falconq.jobs.intquant.GptqFolderWriter;
import io.falconq.jobs.intquant.IntQuantJob;
import io.falconq.jobs.intquant.IntQuantMethod;
import io.falconq.intquant.IntQuantScheme;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Predicts each artifact's size before anything is made, from the same planning code that makes it:
 * <ul>
 *   <li>GGUF from a checkpoint folder: {@link ConversionPlanner#planFromHf} (every tensor's type and the complete
 *       metadata, tokenizer included) laid out by {@link GgufWriter#plannedFileSize}, the writer's own arithmetic:
 *       the prediction is exact;</li>
 *   <li>GGUF from a config alone: the tensors and types of the same recipe rules ({@link QuantRecipe}) and the
 *       architecture metadata, exact; only the tokenizer part of the header is estimated
 *       ({@link #estimatedTokenizerBytes}), since there is no tokenizer.json.</li>
 * </ul>
 */
public final class ArtifactPlanner {
    /**
     * Average bytes of a token string of a byte-level BPE vocabulary, for the tokenizer-size estimate of a
     * config-only plan. Falcon-H1's published tokenizers are not in this repository; 6.5 bytes is typical of
     * byte-level BPE vocabularies of 32k–131k entries (GPT-2's 50,257 tokens average 6.2 bytes in their GGUF
     * encoding). An error of ±3 bytes moves a 0.5B Q2_K file by about ±0.3 MB (±0.1%).
     */
    static final double TOKEN_BYTES_ESTIMATE = 6.5;

    /** The dataset label and chunk count an imatrix variant will record (llama-quantize's quantize.imatrix.* keys). */
    public record ImatrixLabel(String file, String dataset, int chunks) {
    }

    /**
     * @param path        relative to dist
     * @param fileBytes   predicted size of the file (for folders, of all its files)
     * @param tensorBytes tensor data only
     * @param elements    weights stored (the denominator of bits/weight)
     * @param typeMix     tensors per storage type
     * @param exact       true when every byte is computed; false when part of the header is estimated
     */
    public record PlannedArtifact(String model, VariantSpec variant, Path path, long fileBytes, long tensorBytes,
                                  long elements, Map<String, Integer> typeMix, boolean exact) {
        public double bitsPerWeight() {
            return 8.0 * tensorBytes / elements;
        }
    }

    private ArtifactPlanner() {
    }

    /** {@code <model>/<model>-<variant>.gguf} or {@code <model>/<model>-<variant>} for a safetensors folder. */
    public static Path artifactPath(String model, VariantSpec variant) {
        String stem = model + "-" + variant.fileName();
        return Path.of(model, variant instanceof VariantSpec.IntQuant ? stem : stem + ".gguf");
    }

    /** Plans a GGUF variant of a checkpoint folder with the converter's own planner. */
    public static PlannedArtifact planGguf(ModelInput model, HfCheckpoint checkpoint, VariantSpec.Gguf variant,
                                           ImatrixLabel imatrix) {
        return planGgufWith(model, checkpoint, variant, options(model, variant, imatrix));
    }

    /** Plans a GGUF variant of a checkpoint folder with the given conversion options (a real imatrix, say). */
    public static PlannedArtifact planGgufWith(ModelInput model, HfCheckpoint checkpoint, VariantSpec variant,
                                               ConversionOptions options) {
        ConversionPlan plan = ConversionPlanner.planFromHf(checkpoint, options);
        List<GgufWriter.PlannedTensor> layout = new ArrayList<>();
        Map<String, Integer> mix = new TreeMap<>();
        for (PlannedTensor t : plan.tensors()) {
            layout.add(new GgufWriter.PlannedTensor(t.targetName(), t.type(), t.ne()));
            mix.merge(t.type().name(), 1, Integer::sum);
        }
        return new PlannedArtifact(model.name(), variant, artifactPath(model.name(), variant),
                GgufWriter.plannedFileSize(plan.metadata(), layout), plan.dataBytes(), plan.elementCount(), mix, true);
    }

    /** The conversion options the pipeline uses for a GGUF variant (the same object the convert step gets). */
    public static ConversionOptions options(ModelInput model, VariantSpec.Gguf variant, ImatrixLabel imatrix) {
        if (!variant.imatrix()) {
            return new ConversionOptions(variant.recipe(), null, null, model.name());
        }
        // planning needs only the imatrix's presence and its recorded labels, not its values; its one entry names a
        // tensor of the model, as the imatrix the calibrate step will make does (the converter refuses one that
        // names none)
        String entry = io.falconq.calib.LinearRole.ATTN_Q.ggufWeightName(0);
        ImatrixFile labelsOnly = new ImatrixFile(Path.of(imatrix.file()), List.of(imatrix.dataset()), imatrix.chunks(),
                0, false, true, Map.of(entry, new io.falconq.formats.imatrix.ImatrixEntry(entry,
                new float[model.config().hiddenSize()], new long[]{1})));
        return new ConversionOptions(variant.recipe(), labelsOnly, imatrix.file(), model.name());
    }

    /** Plans a GGUF variant from a config alone: exact tensors and metadata, estimated tokenizer metadata. */
    public static PlannedArtifact planGguf(ModelInput model, VariantSpec.Gguf variant) {
        FalconH1Config config = model.config();
        QuantRecipe recipe = variant.recipe();
        List<GgufWriter.PlannedTensor> layout = new ArrayList<>();
        Map<String, Integer> mix = new TreeMap<>();
        long tensorBytes = 0;
        long elements = 0;
        for (TensorRole role : TensorRole.values()) {
            if (!role.presentIn(config)) {
                continue;
            }
            long[] shape = role.convertedShape(config);
            long[] ne = new long[shape.length];
            long count = 1;
            for (int i = 0; i < shape.length; i++) {
                ne[i] = shape[shape.length - 1 - i];
                count = Math.multiplyExact(count, shape[i]);
            }
            int layers = role.perLayer() ? config.numLayers() : 1;
            for (int i = 0; i < layers; i++) {
                int layer = role.perLayer() ? i : -1;
                String name = role.ggufName(layer);
                RecipeContext context = new RecipeContext(role, layer, config.numLayers(), config.gqaGroupSize(),
                        variant.imatrix(), ne[0], true);
                FallbackChain.Resolution chosen = recipe.chooseType(context, name);
                GgmlType type = chosen == null ? GgmlType.F32 : chosen.type();
                layout.add(new GgufWriter.PlannedTensor(name, type, ggmlNDims(ne)));
                mix.merge(type.name(), 1, Integer::sum);
                tensorBytes = Math.addExact(tensorBytes, type.bytesFor(count));
                elements = Math.addExact(elements, count);
            }
        }
        GgufMetadata metadata = FalconH1GgufMetadata.requantized(
                FalconH1GgufMetadata.architecture(config, model.name(), QuantRecipe.F32.ftype()), recipe.ftype());
        long fileBytes = GgufWriter.plannedFileSize(metadata, layout) + estimatedTokenizerBytes(config.vocabSize());
        return new PlannedArtifact(model.name(), variant, artifactPath(model.name(), variant), fileBytes, tensorBytes,
                elements, mix, false);
    }

    /**
     * Bytes of {@code tokenizer.json} per vocabulary entry, for a config-only GPTQ folder: the tiny model's file is
     * 264 kB for 4096 tokens (vocabulary, merges and added tokens as JSON).
     */
    static final long TOKENIZER_JSON_BYTES_PER_TOKEN = 64;

    private static final ObjectMapper PRETTY_JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /**
     * Plans a GPTQ-layout folder as {@link IntQuantJob#run} lays it out: {@code model.safetensors} with
     * every quantized linear replaced by qweight/qzeros/scales/g_idx (sized by {@link SafetensorsWriter}'s own
     * arithmetic), {@code config.json} with {@code quantization_config}, {@code quantize_config.json}, and the
     * checkpoint's other files copied. Exact from a checkpoint; from a config alone the weights are assumed BF16 and
     * the tokenizer files are estimated.
     *
     * @param checkpoint the source checkpoint, or null for a config-only model
     */
    public static PlannedArtifact planGptq(ModelInput model, HfCheckpoint checkpoint, VariantSpec.IntQuant variant,
                                           double dampPercent) {
        FalconH1Config config = model.config();
        IntQuantScheme scheme = variant.scheme();
        Set<String> quantized = new HashSet<>();
        List<long[]> linearShapes = new ArrayList<>();
        for (int layer = 0; layer < config.numLayers(); layer++) {
            for (LinearRole role : LinearRole.perLayer()) {
                quantized.add(role.hfModulePath(layer));
            }
        }
        List<SafetensorsWriter.PlannedTensor> tensors = new ArrayList<>();
        Map<String, Integer> mix = new TreeMap<>();
        long otherFiles;
        JsonNode configJson;
        if (checkpoint != null) {
            for (String name : checkpoint.names()) {
                TensorView view = checkpoint.view(name);
                String module = name.endsWith(".weight") ? name.substring(0, name.length() - ".weight".length()) : null;
                if (module != null && quantized.contains(module)) {
                    linearShapes.add(new long[]{view.shape()[0], view.shape()[1]});
                    tensors.addAll(GptqFolderWriter.quantizedTensors(module, view.shape()[0], view.shape()[1], scheme));
                    mix.merge("gptq-int" + scheme.bits(), 1, Integer::sum);
                    continue;
                }
                SafetensorsDtype dtype = SafetensorsDtype.of(view.type()).orElseThrow();
                tensors.add(new SafetensorsWriter.PlannedTensor(name, dtype, view.shape()));
                mix.merge(dtype.name(), 1, Integer::sum);
            }
            otherFiles = copiedFilesBytes(checkpoint.dir());
            configJson = checkpoint.configJson();
        } else {
            for (TensorRole role : TensorRole.values()) {
                if (!role.presentIn(config) || role == TensorRole.OUTPUT && config.tieWordEmbeddings()) {
                    continue;
                }
                for (int i = 0; i < (role.perLayer() ? config.numLayers() : 1); i++) {
                    String name = role.hfName(role.perLayer() ? i : -1);
                    long[] shape = role.hfShape(config);
                    String module = name.substring(0, name.length() - ".weight".length());
                    if (name.endsWith(".weight") && quantized.contains(module)) {
                        linearShapes.add(shape);
                        tensors.addAll(GptqFolderWriter.quantizedTensors(module, shape[0], shape[1], scheme));
                        mix.merge("gptq-int" + scheme.bits(), 1, Integer::sum);
                    } else {
                        tensors.add(new SafetensorsWriter.PlannedTensor(name, SafetensorsDtype.BF16, shape));
                        mix.merge(SafetensorsDtype.BF16.name(), 1, Integer::sum);
                    }
                }
            }
            otherFiles = (long) config.vocabSize() * TOKENIZER_JSON_BYTES_PER_TOKEN + 4096;
            try {
                configJson = PRETTY_JSON.readTree(model.path().toFile());
            } catch (IOException e) {
                throw new InvalidInputException(model.path() + ": cannot read: " + e.getMessage(), e);
            }
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("format", "pt");
        long safetensors = SafetensorsWriter.plannedFileSize(metadata, tensors);
        long tensorBytes = safetensors - 8 - headerBytes(metadata, tensors);
        ObjectNode qc = IntQuantJob.quantizationConfig(new IntQuantJob.Options(scheme,
                IntQuantMethod.valueOf(variant.method().toUpperCase(Locale.ROOT)), dampPercent,
                AwqLoss.NORMED_OUTPUT, IntQuantJob.DEFAULT_MAX_SHARD_BYTES, 1));
        ObjectNode withQc = configJson.deepCopy();
        withQc.set("quantization_config", qc);
        long configs;
        try {
            configs = PRETTY_JSON.writeValueAsBytes(withQc).length + PRETTY_JSON.writeValueAsBytes(qc).length;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        // a calibrated folder's configs also carry the calibration record (meta.calibration), whose digits depend on
        // the tokens: that size is an estimate
        boolean calibrated = IntQuantMethod.valueOf(variant.method().toUpperCase(Locale.ROOT)).needsCalibration();
        return new PlannedArtifact(model.name(), variant, artifactPath(model.name(), variant),
                safetensors + configs + otherFiles, tensorBytes, model.parameterCount(), mix,
                checkpoint != null && !calibrated);
    }

    /** Header bytes: the planned file minus 8 and the data, which is the sum of the tensors' sizes. */
    private static long headerBytes(Map<String, String> metadata, List<SafetensorsWriter.PlannedTensor> tensors) {
        long data = 0;
        for (SafetensorsWriter.PlannedTensor t : tensors) {
            long n = 1;
            for (long d : t.shape()) {
                n *= d;
            }
            data += n * t.dtype().byteSize();
        }
        return SafetensorsWriter.plannedFileSize(metadata, tensors) - 8 - data;
    }

    /** The files the int-quant job copies: the folder's other top-level files (tokenizer, generation config). */
    private static long copiedFilesBytes(Path dir) {
        long total = 0;
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.toList()) {
                String n = f.getFileName().toString();
                if (Files.isRegularFile(f) && !n.endsWith(".safetensors") && !n.equals("model.safetensors.index.json")
                        && !n.equals("config.json") && !n.equals("quantize_config.json")) {
                    total += Files.size(f);
                }
            }
        } catch (IOException e) {
            throw new InvalidInputException(dir + ": cannot list: " + e.getMessage(), e);
        }
        return total;
    }

    /**
     * GGUF tokenizer metadata of a byte-level BPE vocabulary of {@code vocab} entries: {@code tokenizer.ggml.tokens}
     * (8-byte length + text each), {@code token_type} (4 bytes each) and {@code merges} (about one per token,
     * 8-byte length + "left right", whose two parts spell the merged token: its length plus a space), plus the
     * fixed keys. On the tiny model's tokenizer (4096 tokens averaging 5.8 bytes, 3826 merges averaging 7.0)
     * this formula is 7% above the real 130 kB with the 6.5-byte average.
     */
    static long estimatedTokenizerBytes(int vocab) {
        double perToken = 8 + TOKEN_BYTES_ESTIMATE + 4 + (8 + TOKEN_BYTES_ESTIMATE + 1);
        return Math.round(vocab * perToken) + 1024;
    }

    /** llama-quantize writes {@code ggml_n_dims}: trailing 1s dropped (GgufConversion does the same). */
    private static long[] ggmlNDims(long[] ne) {
        int n = ne.length;
        while (n > 1 && ne[n - 1] == 1) {
            n--;
        }
        return java.util.Arrays.copyOf(ne, n);
    }
}
