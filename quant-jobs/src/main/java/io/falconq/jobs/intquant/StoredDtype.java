package io.falconq.jobs.intquant;

import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.tensor.TensorView;
import io.falconq.core.quant.HalfFloat;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Float values in a checkpoint tensor's stored dtype (F32, F16, BF16), as the written folder will hold them. */
final class StoredDtype {
    private StoredDtype() {
    }

    /** {@code values} rounded to what {@code like}'s dtype can store (round to nearest even, as torch does). */
    static float[] roundLike(TensorView like, float[] values) {
        float[] out = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = switch (like.type()) {
                case BF16 -> HalfFloat.bf16ToFp32(HalfFloat.fp32ToBf16(values[i]));
                case F16 -> Float.float16ToFloat(Float.floatToFloat16(values[i]));
                case F32 -> values[i];
                default -> throw new InvalidInputException(like.name() + ": unsupported dtype " + like.type());
            };
        }
        return out;
    }

    /** {@code values} encoded little-endian in {@code like}'s dtype. */
    static MemorySegment encodeLike(TensorView like, float[] values) {
        int width = switch (like.type()) {
            case BF16, F16 -> 2;
            case F32 -> 4;
            default -> throw new InvalidInputException(like.name() + ": unsupported dtype " + like.type());
        };
        ByteBuffer b = ByteBuffer.allocate(values.length * width).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            switch (like.type()) {
                case BF16 -> b.putShort(HalfFloat.fp32ToBf16(v));
                case F16 -> b.putShort(Float.floatToFloat16(v));
                default -> b.putFloat(v);
            }
        }
        return MemorySegment.ofArray(b.array());
    }
}
