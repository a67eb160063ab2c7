package io.falconq.core.quant;

import io.falconq.formats.gguf.GgmlType;

/**
 * The tensor encodings falconq can write and read, each bound to its wire type and its codec. A closed set:
 * {@link #of(GgmlType)} rejects every other ggml type by name; {@link #find(GgmlType)} lets a reader report an
 * unsupported type in a file with the file's context.
 */
public enum QuantType {
    F32(F32Codec.INSTANCE),
    F16(F16Codec.INSTANCE),
    BF16(Bf16Codec.INSTANCE),
    Q8_0(Q8_0Codec.INSTANCE),
    Q4_0(Q4_0Codec.INSTANCE),
    Q4_1(Q4_1Codec.INSTANCE),
    Q5_0(Q5_0Codec.INSTANCE),
    Q5_1(Q5_1Codec.INSTANCE),
    Q2_K(Q2KCodec.INSTANCE),
    Q3_K(Q3KCodec.INSTANCE),
    Q4_K(Q4KCodec.INSTANCE),
    Q5_K(Q5KCodec.INSTANCE),
    Q6_K(Q6KCodec.INSTANCE),
    /** Activation format of llama.cpp's K-quant matmuls; not stored in model files. */
    Q8_K(Q8KCodec.INSTANCE),
    IQ4_NL(Iq4NlCodec.INSTANCE),
    IQ4_XS(Iq4XsCodec.INSTANCE);

    private final BlockCodec codec;

    QuantType(BlockCodec codec) {
        this.codec = codec;
    }

    public GgmlType ggmlType() {
        return codec.type();
    }

    public BlockCodec codec() {
        return codec;
    }

    /** The QuantType for a wire type, or an {@link IllegalArgumentException} naming the unsupported type. */
    public static QuantType of(GgmlType type) {
        return find(type).orElseThrow(() -> new IllegalArgumentException("ggml type " + type + " (id " + type.id()
                + ") has no falconq codec; supported: " + java.util.Arrays.toString(values())));
    }

    /** The QuantType for a wire type, if falconq has a codec for it. */
    public static java.util.Optional<QuantType> find(GgmlType type) {
        for (QuantType q : values()) {
            if (q.codec.type() == type) {
                return java.util.Optional.of(q);
            }
        }
        return java.util.Optional.empty();
    }
}
