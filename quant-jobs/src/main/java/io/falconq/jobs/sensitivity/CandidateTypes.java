package io.falconq.jobs.sensitivity;

import io.falconq.core.convert.ConversionPlan;
import io.falconq.core.convert.ConversionOptions;
import io.falconq.core.convert.ConversionPlanner;
import io.falconq.core.convert.TensorEncoder;
import io.falconq.core.convert.PlannedTensor;
import io.falconq.core.convert.recipe.QuantRecipe;
import io.falconq.formats.gguf.GgmlType;
import io.falconq.formats.gguf.GgufFile;
import io.falconq.formats.imatrix.ImatrixFile;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.core.model.TensorRole;
import io.falconq.core.quant.BlockCodec;
import io.falconq.runtime.kernel.DenseWeightMatrix;
import io.falconq.runtime.kernel.QuantizedWeightMatrix;
import io.falconq.runtime.kernel.WeightMatrix;
import io.falconq.formats.tensor.TensorView;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What each quantizable tensor of an F32/F16/BF16 GGUF becomes under each requested type, decided by the converter's
 * own plan ({@link ConversionPlanner#planFromGguf} with a pure recipe of that type: llama-quantize's block-size
 * fallbacks, the importance matrix where the type uses one) and encoded by the converter's own per-tensor path
 * ({@link TensorEncoder#encode}). A requested type the rows cannot take is measured as its fallback (ssm_out's
 * 384-column rows: Q2_K and Q3_K become Q4_0), and two requests with the same concrete type are measured once.
 */
final class CandidateTypes {
    /** The types {@code measure} tries when none are given: the K-quant ladder, Q8_0, and F16 as "no loss". */
    static final List<GgmlType> DEFAULT = List.of(GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K,
            GgmlType.Q6_K, GgmlType.Q8_0, GgmlType.F16);

    /** One quantizable tensor and its plan per concrete type, in {@link GgmlType} order. */
    record Tensor(String name, TensorRole role, int layer, long elements, Map<GgmlType, PlannedTensor> byType) {
    }

    private final GgufFile source;
    private final List<Tensor> tensors;

    private CandidateTypes(GgufFile source, List<Tensor> tensors) {
        this.source = source;
        this.tensors = tensors;
    }

    /** Plans every requested type for every quantizable tensor of {@code in}. */
    static CandidateTypes plan(GgufFile in, List<GgmlType> types, ImatrixFile imatrix, String imatrixLabel) {
        Map<String, Tensor> byName = new LinkedHashMap<>();
        for (GgmlType type : types) {
            ConversionPlan plan = ConversionPlanner.planFromGguf(in,
                    new ConversionOptions(pureRecipe(type), imatrix, imatrixLabel, null));
            for (PlannedTensor t : plan.tensors()) {
                if (!t.role().quantizable()) {
                    continue;
                }
                Tensor entry = byName.computeIfAbsent(t.targetName(), n -> new Tensor(n, t.role(), t.layer(),
                        t.elementCount(), new EnumMap<>(GgmlType.class)));
                entry.byType().putIfAbsent(t.type(), t);
            }
        }
        List<Tensor> ordered = new ArrayList<>(byName.values());
        ordered.sort(Comparator.comparingInt(CandidateTypes::forwardOrder).thenComparing(Tensor::name));
        return new CandidateTypes(in, List.copyOf(ordered));
    }

    /** Forward order: the embedding, then layer by layer, the LM head last. */
    private static int forwardOrder(Tensor t) {
        return switch (t.role()) {
            case TOKEN_EMBD -> -1;
            case OUTPUT -> Integer.MAX_VALUE;
            default -> t.layer();
        };
    }

    /** llama-quantize with {@code --pure} for the file type whose base type is {@code type}. */
    static QuantRecipe pureRecipe(GgmlType type) {
        for (QuantRecipe r : QuantRecipe.all()) {
            if (r.base() == type) {
                return r.pure();
            }
        }
        throw new InvalidInputException("type " + type + " is no llama-quantize file type's base type; candidates: "
                + QuantRecipe.all().stream().map(r -> r.base().name()).distinct().toList());
    }

    List<Tensor> tensors() {
        return tensors;
    }

    /** The tensors in forward order, grouped: token_embd alone, each layer's, output alone. */
    List<List<Tensor>> byLayer() {
        List<List<Tensor>> groups = new ArrayList<>();
        for (Tensor t : tensors) {
            List<Tensor> last = groups.isEmpty() ? null : groups.getLast();
            if (last != null && t.role().perLayer() && last.getFirst().role().perLayer()
                    && last.getFirst().layer() == t.layer()) {
                last.add(t);
            } else {
                groups.add(new ArrayList<>(List.of(t)));
            }
        }
        return groups;
    }

    /** The tensor as stored in the unquantized model. */
    WeightMatrix reference(Tensor t) {
        return DenseWeightMatrix.of(source.view(t.name()));
    }

    /** The imatrix column weights the tensor's candidates were planned with, or null without an entry. */
    static float[] importance(Tensor t) {
        return t.byType().values().stream().map(PlannedTensor::importance).filter(java.util.Objects::nonNull)
                .findFirst().orElse(null);
    }

    /** The tensor encoded as {@code t} plans it, ready to swap into the forward pass. */
    WeightMatrix encode(PlannedTensor t) {
        TensorView src = source.view(t.sourceName());
        BlockCodec codec = TensorEncoder.codecOrNull(t.type());
        if (codec == null) {
            throw new InvalidInputException("type " + t.type() + " (for " + t.targetName() + ") has no quantizer");
        }
        MemorySegment bytes = TensorEncoder.encode(t, src, codec);
        TensorView view = new TensorView(t.targetName(), t.type(), src.shape(), bytes);
        return switch (t.type()) {
            case F32, F16, BF16 -> DenseWeightMatrix.of(view);
            default -> QuantizedWeightMatrix.of(view);
        };
    }
}
