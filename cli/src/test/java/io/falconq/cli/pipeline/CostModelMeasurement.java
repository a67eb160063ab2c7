package io.falconq.cli.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import io.falconq.jobs.intquant.IntQuantCost;
import io.falconq.core.model.FalconH1Config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Where {@link CostModel}'s constants come from: reads the step records of a finished {@code falconq pipeline}
 * run (each holds the CPU seconds it took) and divides by the work the dry run counts for that step.
 * Not a test; run it by hand after a pipeline run:
 * <pre>
 *   java -cp … io.falconq.cli.pipeline.CostModelMeasurement DIST MODEL_DIR EVAL_CTX CALIB_CTX
 * </pre>
 */
public final class CostModelMeasurement {
    private CostModelMeasurement() {
    }

    public static void main(String[] args) throws IOException {
        Path dist = Path.of(args[0]);
        ModelInput model = ModelInput.folder(Path.of(args[1]));
        int ctx = Integer.parseInt(args[2]);
        FalconH1Config c = model.config();
        long perToken = CostModel.weightsPerToken(c);
        List<Path> records;
        try (Stream<Path> walk = Files.walk(StepStore.stateDir(dist).resolve("steps").resolve(model.name()))) {
            records = walk.filter(p -> p.toString().endsWith(".json")).sorted().toList();
        }
        for (Path file : records) {
            JsonNode r = StepStore.MAPPER.readTree(file.toFile());
            String id = r.get("stepId").asText();
            double cpu = r.get("cpuSeconds").asDouble();
            System.out.printf(Locale.ROOT, "%-40s peak RSS %.1f MiB%n", id, r.path("peakRssBytes").asLong(0) / 1048576.0);
            JsonNode result = r.get("result");
            if (id.endsWith("/eval")) {
                long tokens = (long) result.get("windows").asInt() * ctx;
                System.out.printf(Locale.ROOT, "%-40s forward %.3f ns/(weight·token)  (%.1f CPU-s, %d tokens)%n", id,
                        cpu * 1e9 / (tokens * (double) perToken), cpu, tokens);
            } else if (id.endsWith("/make") && result.has("linears")) {
                double calib = result.path("calibrationSeconds").asDouble(0);
                long calibTokens = result.path("calibrationTokens").asLong(0);
                double linearWeights = (double) IntQuantCost.layerLinearWeights(c) * c.numLayers();
                double gptqMacs = IntQuantCost.gptqMacs(c);
                // the calibration pass ran on the step's threads: its wall time × 2 approximates its CPU share
                double quantCpu = cpu - calib * 2;
                System.out.printf(Locale.ROOT, "%-40s %.1f CPU-s; per linear weight %.2f ns; per GPTQ MAC %.3f ns;"
                                + " calibration %.1f s wall for %d tokens (%.3f ns per weight·token at 2 threads)%n",
                        id, cpu, quantCpu * 1e9 / linearWeights, quantCpu * 1e9 / gptqMacs, calib, calibTokens,
                        calibTokens == 0 ? 0 : calib * 2 * 1e9 / (calibTokens * (double) perToken));
            } else {
                System.out.printf(Locale.ROOT, "%-40s %.1f CPU-s, %.1f s wall%n", id, cpu, r.get("seconds").asDouble());
            }
        }
    }
}
