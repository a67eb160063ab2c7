package io.falconq.runtime;

import io.falconq.model.FalconH1Config;
import io.falconq.runtime.kernel.AttentionKernel;

/**
 * Everything a Falcon-H1 sequence carries from one token to the next, per layer: the attention KV cache, the last
 * K−1 inputs of the causal convolution and the SSM state. A fresh state is an empty sequence at position 0.
 */
public final class InferenceState {
    private final int capacity;
    /** Row length of a transposed key: the capacity padded to whole vectors. */
    final int keyStride;
    private int position;
    /** [layer] (nkv, hd, keyStride): keys transposed, so one query's scores over 16 positions are one FMA row. */
    final float[][] keysT;
    /** [layer] (capacity, nkv·hd). */
    final float[][] values;
    /** [layer] (K−1, conv_dim): the pre-convolution xBC of the previous K−1 tokens, oldest first. */
    final float[][] convState;
    /** [layer] (Hs, S, P): SSM state per head, state index n outer so a head's P channels are contiguous. */
    final float[][] ssmState;

    public InferenceState(FalconH1Config c, int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be ≥ 1");
        }
        this.capacity = capacity;
        int layers = c.numLayers();
        keyStride = AttentionKernel.paddedCapacity(capacity);
        keysT = new float[layers][(int) Math.multiplyExact((long) c.kvSize(), keyStride)];
        values = new float[layers][(int) Math.multiplyExact((long) c.kvSize(), capacity)];
        convState = new float[layers][(c.convKernel() - 1) * c.convDim()];
        ssmState = new float[layers][(int) Math.multiplyExact((long) c.ssmInnerSize(), c.ssmStateSize())];
    }

    /** Tokens already processed: the position of the next token. */
    public int position() {
        return position;
    }

    /** Maximum sequence length (KV cache size). */
    public int capacity() {
        return capacity;
    }

    void advance(int tokens) {
        position += tokens;
    }

    /** Back to an empty sequence (zero states), reusing the memory. */
    public void reset() {
        position = 0;
        for (float[] s : convState) {
            java.util.Arrays.fill(s, 0f);
        }
        for (float[] s : ssmState) {
            java.util.Arrays.fill(s, 0f);
        }
        // KV entries beyond position are never read, so the caches need no clearing.
    }
}
