package io.falconq.jobs.imatrix;

import io.falconq.core.calib.LinearInputObserver;
import io.falconq.core.calib.LinearRole;
import io.falconq.runtime.Tap;
import io.falconq.runtime.TapListener;

/**
 * Feeds a {@link LinearInputObserver} from the forward pass's taps: every activation a linear layer reads
 * ({@link Tap#readers()}) is reported once per reading role, as llama.cpp's {@code MUL_MAT} callback sees it, and
 * the embeddings as {@link LinearInputObserver#onEmbeddings}. Activations are those of the HF forward, which
 * applies the input multipliers after the tap, i.e. what the GGUF's folded weights multiply.
 */
public record LinearInputTaps(LinearInputObserver observer) implements TapListener {
    @Override
    public void onTap(Tap tap, int layer, float[] data, int rows, int cols) {
        if (tap == Tap.EMBEDDINGS) {
            observer.onEmbeddings(data, rows, cols);
            return;
        }
        for (LinearRole role : tap.readers()) {
            observer.onLinearInput(role == LinearRole.OUTPUT ? -1 : layer, role, data, rows, cols);
        }
    }
}
