package io.falconq.core.convert.alloc;

import io.falconq.formats.gguf.GgmlType;

import java.util.List;

/**
 * The types one tensor may take in an allocation, each with what it costs against the budget and its predicted ΔKLD.
 *
 * @param name    GGUF tensor name
 * @param options at least one
 */
public record TensorChoice(String name, List<Option> options) {
    public TensorChoice {
        options = List.copyOf(options);
        if (options.isEmpty()) {
            throw new IllegalArgumentException(name + ": no type to choose from");
        }
    }

    /**
     * @param type     the concrete GGUF type written
     * @param cost     what it takes from the budget (bytes, padded as the file lays them out when the budget is a
     *                 file size)
     * @param deltaKld predicted increase of the mean KLD, nats per token
     */
    public record Option(GgmlType type, long cost, double deltaKld) {
        public Option {
            if (cost < 0 || !Double.isFinite(deltaKld)) {
                throw new IllegalArgumentException(type + ": cost " + cost + ", ΔKLD " + deltaKld);
            }
        }
    }
}
