package io.falconq.formats.tensor;

import java.util.List;
import java.util.Optional;

/** Named tensors, however stored (one safetensors file, shards, a GGUF). Implemented by every reader. */
public interface TensorSource extends AutoCloseable {
    /** Tensor names in storage order. */
    List<String> names();

    /** The tensor, if present. */
    Optional<TensorView> find(String name);

    /** The tensor, or an {@link io.falconq.formats.io.InvalidInputException} naming what is missing and where. */
    TensorView view(String name);

    @Override
    void close();
}
