package io.falconq.examples;

import io.falconq.formats.hf.HfCheckpoint;
import io.falconq.formats.tensor.TensorView;
import io.falconq.core.model.FalconH1Config;

import java.nio.file.Path;

/**
 * Parameter counts of a Hugging Face Falcon-H1 folder, from its config and from its tensors (the two must agree),
 * through the library API only. Usage: {@code InspectCheckpoint MODEL_DIR}.
 */
public final class InspectCheckpoint {
    public static void main(String[] args) {
        try (HfCheckpoint checkpoint = HfCheckpoint.open(Path.of(args[0]))) {
            FalconH1Config config = FalconH1Config.parse(checkpoint.configJson(),
                    checkpoint.configPath().map(Path::toString).orElse("config.json"));
            config.warnings().forEach(w -> System.err.println("warning: " + w));
            long stored = 0;
            for (String name : checkpoint.names()) {
                TensorView view = checkpoint.view(name);
                stored += view.elementCount();
            }
            FalconH1Config.ParameterCounts counts = config.parameterCounts();
            System.out.printf("config: %,d parameters (attention %,d, SSM %,d, MLP %,d, embeddings %,d, lm_head %,d,"
                            + " norms %,d)%n", counts.total(), counts.attention(), counts.ssm(), counts.mlp(),
                    counts.embeddings(), counts.lmHead(), counts.norms());
            System.out.printf("tensors: %,d parameters in %d tensors%n", stored, checkpoint.names().size());
        }
    }

    private InspectCheckpoint() {
    }
}
