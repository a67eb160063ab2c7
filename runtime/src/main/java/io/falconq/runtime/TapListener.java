package io.falconq.runtime;

/** Receives the activations of a forward pass at its {@link Tap}s. */
@FunctionalInterface
public interface TapListener {
    /**
     * @param layer decoder layer, or -1 for the taps outside the layers
     * @param data  row-major {@code rows × cols} floats starting at index 0, one row per token of the call; the
     *              buffer is reused after the call returns, so copy what you keep
     */
    void onTap(Tap tap, int layer, float[] data, int rows, int cols);

    /** Reports {@code data} at {@code tap} unless {@code taps} is null (no listener). */
    static void emit(TapListener taps, Tap tap, int layer, float[] data, int rows, int cols) {
        if (taps != null) {
            taps.onTap(tap, layer, data, rows, cols);
        }
    }
}
