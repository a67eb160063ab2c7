package io.falconq.cli.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.falconq.core.convert.ConversionOptions;
import io.falconq.core.convert.ConversionPlan;
import io.falconq.core.convert.ConversionPlanner;
import io.falconq.core.convert.PlannedTensor;
import io.falconq.formats.gguf.GgufSplit;
import io.falconq.formats.gguf.GgufSplitWriter;
import io.falconq.formats.gguf.GgufWriter;
import io.falconq.formats.hf.HfCheckpoint;
import io.falconq.formats.imatrix.ImatrixEntry;
import io.falconq.formats.imatrix.ImatrixFile;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.safetensors.SafetensorsDtype;
import io.falconq.formats.safetensors.SafetensorsWriter;
import io.falconq.jobs.intquant.AwqLoss;
import io.falconq.jobs.intquant.GptqFolderPlan;
import io.falconq.jobs.intquant.IntQuantJob;
import io.falconq.jobs.intquant.IntQuantMethod;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Predicts each artifact's size before anything is made, from the same planning code that makes it:
 * <ul>
 *   <li>GGUF from a checkpoint folder: {@link ConversionPlanner#planFromHf} (every tensor's type and the complete
 *       metadata, tokenizer included) laid out by {@link GgufWriter#plannedFileSize}, the writer's own arithmetic:
 *       the prediction is exact;</li>
 *   <li>GGUF from a config alone: {@link ConversionPlanner#planFromConfig}, the same routine without a checkpoint,
 *       exact tensors, types and metadata; only the tokenizer part of the header is estimated
 *       ({@link #estimatedTokenizerBytes}), since there is no tokenizer.json;</li>
 *   <li>GPTQ folders: the int-quant job's own plan ({@link IntQuantJob#planFolder}).</li>
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

    /** The artifact of a variant written as one file (or a safetensors folder): {@link #artifactPath(String, VariantSpec, GgufSplit.Rule)}. */
    public static Path artifactPath(String model, VariantSpec variant) {
        return artifactPath(model, variant, null);
    }

    /**
     * A variant's artifact relative to dist, as the make step writes it: {@code <model>/<model>-<variant>.gguf}, or
     * {@code <model>/<model>-<variant>} for a safetensors folder and, with a split rule, for the folder of a GGUF's
     * shards.
     *
     * @param split how GGUF variants are split, or null for one file
     */
    public static Path artifactPath(String model, VariantSpec variant, GgufSplit.Rule split) {
        String stem = model + "-" + variant.fileName();
        return Path.of(model, variant instanceof VariantSpec.IntQuant || split != null ? stem : stem + ".gguf");
    }

    /**
     * Plans a GGUF variant with the converter's own planner: from the checkpoint folder (exact), or, when
     * {@code checkpoint} is null, from the config alone (exact tensors and metadata, estimated tokenizer metadata).
     *
     * @param imatrix the labels the calibrate step will record, for an imatrix variant (otherwise unused, may be null)
     * @param split   how the file is split, or null for one file
     */
    public static PlannedArtifact planGguf(ModelInput model, HfCheckpoint checkpoint, VariantSpec.Gguf variant,
                                           ImatrixLabel imatrix, GgufSplit.Rule split) {
        ConversionOptions options = options(model, variant, imatrix);
        if (checkpoint != null) {
            return artifact(model, variant, ConversionPlanner.planFromHf(checkpoint, options), split, 0, true);
        }
        ConversionPlan plan = ConversionPlanner.planFromConfig(model.config(), model.name(), options);
        return artifact(model, variant, plan, split, estimatedTokenizerBytes(model.config().vocabSize()), false);
    }

    /** Plans a GGUF variant of a checkpoint folder, as one file, with the given conversion options (a real imatrix, say). */
    public static PlannedArtifact planGgufWith(ModelInput model, HfCheckpoint checkpoint, VariantSpec variant,
                                               ConversionOptions options) {
        return artifact(model, variant, ConversionPlanner.planFromHf(checkpoint, options), null, 0, true);
    }

    /**
     * The planned file, or with a split rule its shards, laid out by {@link GgufWriter#plannedFileSize} or
     * {@link GgufSplitWriter#plannedFileSize}, the writers' own arithmetic.
     */
    private static PlannedArtifact artifact(ModelInput model, VariantSpec variant, ConversionPlan plan,
                                            GgufSplit.Rule split, long estimatedBytes, boolean exact) {
        List<GgufWriter.PlannedTensor> layout = new ArrayList<>();
        Map<String, Integer> mix = new TreeMap<>();
        for (PlannedTensor t : plan.tensors()) {
            layout.add(t.forWriter());
            mix.merge(t.type().name(), 1, Integer::sum);
        }
        long fileBytes = split == null ? GgufWriter.plannedFileSize(plan.metadata(), layout)
                : GgufSplitWriter.plannedFileSize(plan.metadata(), layout, split);
        return new PlannedArtifact(model.name(), variant, artifactPath(model.name(), variant, split),
                fileBytes + estimatedBytes, plan.dataBytes(), plan.elementCount(), mix, exact);
    }

    /** The conversion options the pipeline uses for a GGUF variant (the same object the convert step gets). */
    public static ConversionOptions options(ModelInput model, VariantSpec.Gguf variant, ImatrixLabel imatrix) {
        if (!variant.imatrix()) {
            return new ConversionOptions(variant.recipe(), null, null, model.name());
        }
        // planning needs only the imatrix's presence and its recorded labels, not its values; its one entry names a
        // tensor of the model, as the imatrix the calibrate step will make does (the converter refuses one that
        // names none)
        String entry = io.falconq.core.calib.LinearRole.ATTN_Q.ggufWeightName(0);
        ImatrixFile labelsOnly = new ImatrixFile(Path.of(imatrix.file()), List.of(imatrix.dataset()), imatrix.chunks(),
                0, false, true, Map.of(entry, new ImatrixEntry(entry,
                new float[model.config().hiddenSize()], new long[]{1})));
        return new ConversionOptions(variant.recipe(), labelsOnly, imatrix.file(), model.name());
    }

    /**
     * Bytes of {@code tokenizer.json} per vocabulary entry, for a config-only GPTQ folder: the tiny model's file is
     * 264 kB for 4096 tokens (vocabulary, merges and added tokens as JSON).
     */
    static final long TOKENIZER_JSON_BYTES_PER_TOKEN = 64;

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * Plans a GPTQ-layout folder with the int-quant job's own plan ({@link IntQuantJob#planFolder}: shards, index,
     * configs, the checkpoint's other files copied) for the options the quantize step passes. Exact from a
     * checkpoint but for a calibrated method's calibration record; from a config alone the weights are assumed BF16
     * and the tokenizer files are estimated.
     *
     * @param checkpoint the source checkpoint, or null for a config-only model
     */
    public static PlannedArtifact planGptq(ModelInput model, HfCheckpoint checkpoint, VariantSpec.IntQuant variant,
                                           double dampPercent) {
        IntQuantMethod method = variant.intQuantMethod();
        IntQuantJob.Options options = new IntQuantJob.Options(variant.scheme(), method, dampPercent,
                AwqLoss.NORMED_OUTPUT, IntQuantJob.DEFAULT_MAX_SHARD_BYTES, 1);
        GptqFolderPlan folder;
        long estimatedFiles = 0;
        if (checkpoint != null) {
            folder = IntQuantJob.planFolder(checkpoint, model.config(), options);
        } else {
            JsonNode configJson;
            try {
                configJson = JSON.readTree(model.path().toFile());
            } catch (IOException e) {
                throw InvalidInputException.unreadable(model.path(), e);
            }
            folder = IntQuantJob.planFolder(model.config(), configJson, SafetensorsDtype.BF16, options);
            estimatedFiles = (long) model.config().vocabSize() * TOKENIZER_JSON_BYTES_PER_TOKEN + 4096;
        }
        Map<String, Integer> mix = new TreeMap<>();
        for (SafetensorsWriter.PlannedTensor t : folder.shards().tensors()) {
            QuantizeStep.countType(mix, t.name(), t.dtype(), variant.scheme().bits());
        }
        return new PlannedArtifact(model.name(), variant, artifactPath(model.name(), variant),
                folder.totalBytes() + estimatedFiles, folder.tensorBytes(), model.parameterCount(), mix,
                checkpoint != null && !method.needsCalibration());
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
}
