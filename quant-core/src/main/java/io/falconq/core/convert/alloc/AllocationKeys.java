package io.falconq.core.convert.alloc;

import io.falconq.core.convert.ConversionPlanner;
import io.falconq.formats.gguf.GgufMetadata;
import io.falconq.formats.gguf.GgufValue;

import java.util.ArrayList;
import java.util.List;

/**
 * The {@code quantize.falconq.allocation.*} metadata an allocated GGUF carries, so {@code inspect} can say where its
 * per-tensor types came from. Every value's size is known before the allocation is solved (strings fixed by the
 * inputs, the prediction a float32), so the file-size budget can count the header exactly. llama-quantize can write
 * the same keys ({@link #overrideKvArguments}) at the same place: after {@code general.file_type}, before its imatrix
 * keys.
 *
 * @param target           {@link AllocationBudget#label()}
 * @param sensitivitySha256 SHA-256 of the sensitivity file, lower-case hex
 * @param sensitivityData  the text the sensitivities were measured on (the table's {@code source.data})
 * @param predictedDeltaKld the summed ΔKLD of the chosen types over the tensors the table covers, nats per token
 */
public record AllocationKeys(String target, String sensitivitySha256, String sensitivityData, float predictedDeltaKld) {
    public static final String PREFIX = "quantize.falconq.allocation.";
    static final String TARGET = PREFIX + "target";
    static final String SHA256 = PREFIX + "sensitivity_sha256";
    static final String DATA = PREFIX + "sensitivity_data";
    static final String PREDICTED = PREFIX + "predicted_delta_kld";

    public AllocationKeys {
        sensitivityData = ConversionPlanner.truncate127(sensitivityData == null ? "" : sensitivityData);
    }

    public AllocationKeys withPrediction(double predicted) {
        return new AllocationKeys(target, sensitivitySha256, sensitivityData, (float) predicted);
    }

    public GgufMetadata toMetadata() {
        GgufMetadata m = new GgufMetadata();
        m.putString(TARGET, target);
        m.putString(SHA256, sensitivitySha256);
        m.putString(DATA, sensitivityData);
        m.putF32(PREDICTED, predictedDeltaKld);
        return m;
    }

    /** The keys of a GGUF, or null when it was not allocated by falconq. */
    public static AllocationKeys read(GgufMetadata m) {
        if (!m.containsKey(TARGET)) {
            return null;
        }
        return new AllocationKeys(text(m, TARGET), text(m, SHA256), text(m, DATA),
                m.containsKey(PREDICTED) ? ((Number) m.get(PREDICTED).value()).floatValue() : Float.NaN);
    }

    /**
     * {@code llama-quantize --override-kv} arguments writing the same keys ({@code KEY=TYPE:VALUE}); the float as a
     * hexadecimal literal, which {@code atof} reads back exactly.
     */
    public List<String> overrideKvArguments() {
        List<String> args = new ArrayList<>();
        args.add(TARGET + "=str:" + target);
        args.add(SHA256 + "=str:" + sensitivitySha256);
        args.add(DATA + "=str:" + sensitivityData);
        args.add(PREDICTED + "=float:" + Double.toHexString(predictedDeltaKld));
        return args;
    }

    private static String text(GgufMetadata m, String key) {
        GgufValue v = m.containsKey(key) ? m.get(key) : null;
        return v == null ? "" : String.valueOf(v.value());
    }
}
