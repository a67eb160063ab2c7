package io.falconq.runtime;

import io.falconq.core.model.FalconH1Config;

/**
 * Everything a Falcon-H1 sequence carries from one token to the next: one {@link LayerState} per layer and the
 * position. A fresh state is an empty sequence at position 0.
 */
public final class InferenceState {
    private final int capacity;
    private int position;
    private final LayerState[] layers;

    public InferenceState(FalconH1Config c, int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be ≥ 1");
        }
        this.capacity = capacity;
        layers = new LayerState[c.numLayers()];
        for (int i = 0; i < layers.length; i++) {
            layers[i] = new LayerState(c, capacity);
        }
    }

    /** Tokens already processed: the position of the next token. */
    public int position() {
        return position;
    }

    /** Maximum sequence length (KV cache size). */
    public int capacity() {
        return capacity;
    }

    LayerState layer(int i) {
        return layers[i];
    }

    void advance(int tokens) {
        position += tokens;
    }

    /** Back to an empty sequence (zero states), reusing the memory. */
    public void reset() {
        position = 0;
        for (LayerState s : layers) {
            s.reset();
        }
    }
}
