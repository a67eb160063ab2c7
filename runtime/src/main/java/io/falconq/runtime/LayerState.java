package io.falconq.runtime;

import io.falconq.core.model.FalconH1Config;
import io.falconq.runtime.kernel.AttentionKernel;

/**
 * What one decoder layer carries from one token of a sequence to the next: the attention KV cache, the last K−1
 * inputs of the causal convolution and the SSM state. A job that runs one layer over many sequences needs only
 * one of these, {@link #reset} per sequence.
 */
public final class LayerState {
    /** Row length of a transposed key: the capacity padded to whole vectors. */
    final int keyStride;
    final int capacity;
    /** (nkv, hd, keyStride): keys transposed, so one query's scores over 16 positions are one FMA row. */
    final float[] keysT;
    /** (capacity, nkv·hd). */
    final float[] values;
    /** (K−1, conv_dim): the pre-convolution xBC of the previous K−1 tokens, oldest first. */
    final float[] convState;
    /** (Hs, S, P): SSM state per head, state index n outer so a head's P channels are contiguous. */
    final float[] ssmState;

    public LayerState(FalconH1Config c, int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be ≥ 1");
        }
        this.capacity = capacity;
        keyStride = AttentionKernel.paddedCapacity(capacity);
        keysT = new float[Math.multiplyExact(c.kvSize(), keyStride)];
        values = new float[Math.multiplyExact(c.kvSize(), capacity)];
        convState = new float[(c.convKernel() - 1) * c.convDim()];
        ssmState = new float[Math.multiplyExact(c.ssmInnerSize(), c.ssmStateSize())];
    }

    /** Bytes of one layer's state for {@code capacity} tokens (what {@link #LayerState} allocates). */
    public static long bytes(FalconH1Config c, int capacity) {
        long kv = (long) c.kvSize() * (AttentionKernel.paddedCapacity(capacity) + capacity);
        return 4 * (kv + (long) (c.convKernel() - 1) * c.convDim() + (long) c.ssmInnerSize() * c.ssmStateSize());
    }

    public int capacity() {
        return capacity;
    }

    /** Back to an empty sequence (zero states); KV entries beyond the position are never read. */
    public void reset() {
        java.util.Arrays.fill(convState, 0f);
        java.util.Arrays.fill(ssmState, 0f);
    }
}
