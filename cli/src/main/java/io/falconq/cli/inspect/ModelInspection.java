package io.falconq.cli.inspect;

import java.util.List;
import java.util.Map;

/**
 * What {@code falconq inspect} found, as data: rendered as text by {@link InspectionText} and as JSON by Jackson.
 * Fields that do not apply are {@code null} (omitted from the JSON): a config has no files or dtypes, a GGUF has
 * no size estimates.
 *
 * @param architecture null when no config.json is available
 * @param tensors      every tensor: sorted by name for checkpoints (so shards do not change it), file order for a GGUF
 * @param typesByRole  GGUF only: for each tensor role (e.g. {@code attn_v}), how many tensors have each type
 * @param estimates    null for a GGUF, or when no config is available
 * @param warnings     problems that do not stop inspection (absent µP multipliers, unknown tensors, count mismatches)
 * @param quantization GGUF only: its {@code quantize.*} keys as text (llama-quantize's imatrix keys, falconq's
 *                     {@code quantize.falconq.allocation.*} keys of a file whose types were allocated to a budget)
 */
public record ModelInspection(
        Source source,
        Architecture architecture,
        Parameters parameters,
        List<TypeUsage> types,
        List<TensorRow> tensors,
        Map<String, Map<String, Integer>> typesByRole,
        Estimates estimates,
        List<String> warnings,
        Map<String, String> quantization) {

    /**
     * What was inspected. {@code kind}: hf-checkpoint, safetensors-file, config, gguf. {@code fileType}: GGUF only,
     * {@code general.file_type} as llama.cpp names it (e.g. Q4_K_M).
     */
    public record Source(String kind, String path, List<FileEntry> files, Long bytesOnDisk, String fileType) {
    }

    public record FileEntry(String path, long bytes) {
    }

    /**
     * Architecture summary. {@code from}: "config.json" or "GGUF metadata". {@code multipliers} is null for a GGUF
     * (folded into the weights by the converter).
     */
    public record Architecture(
            String from,
            String name,
            int layers,
            int hiddenSize,
            int vocabSize,
            int attentionHeads,
            int kvHeads,
            int headDim,
            int intermediateSize,
            int ssmInnerSize,
            int ssmHeads,
            int ssmHeadDim,
            int ssmGroups,
            int ssmStateSize,
            int convKernel,
            Boolean ssmGatedNorm,
            Boolean ssmNormBeforeGate,
            Boolean tiedEmbeddings,
            int contextLength,
            double ropeTheta,
            double rmsNormEps,
            Map<String, Object> multipliers) {
    }

    /**
     * Parameter counts by component. {@code countedFrom}: "tensors" (sum of element counts) or "config" (computed
     * from the shapes of SPEC.md §1.2).
     */
    public record Parameters(
            String countedFrom,
            int tensorCount,
            long embeddings,
            long lmHead,
            long attention,
            long ssm,
            long mlp,
            long norms,
            long other,
            long total) {
        public long of(Component c) {
            return switch (c) {
                case EMBEDDINGS -> embeddings;
                case LM_HEAD -> lmHead;
                case ATTENTION -> attention;
                case SSM -> ssm;
                case MLP -> mlp;
                case NORMS -> norms;
                case OTHER -> other;
            };
        }
    }

    /** Tensors, parameters and bytes stored in one dtype (safetensors) or ggml type (GGUF). */
    public record TypeUsage(String type, int tensors, long parameters, long bytes, double bitsPerWeight) {
    }

    /** One tensor. {@code shape} is PyTorch order, outermost first; {@code file} names the shard (checkpoints). */
    public record TensorRow(String name, String component, String type, long[] shape, long elements, long bytes,
                            double bitsPerWeight, String file) {
    }

    /** Estimated output sizes, with the method in words (see {@code io.falconq.cli.SizeEstimate}). */
    public record Estimates(String method, List<EstimateRow> sizes) {
    }

    /** {@code fallbackTensors}: tensors whose rows are not a block multiple and take a fallback type. */
    public record EstimateRow(String type, long bytes, double bitsPerWeight, int fallbackTensors) {
    }
}
