package io.falconq.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.falconq.formats.io.Sha256;
import io.falconq.core.convert.alloc.AllocationKeys;
import io.falconq.core.convert.alloc.SensitivityTable;
import io.falconq.core.convert.alloc.TensorTypeFile;
import io.falconq.core.convert.recipe.FallbackChain;
import io.falconq.formats.gguf.GgmlType;
import io.falconq.formats.gguf.GgufFile;
import io.falconq.formats.gguf.GgufReader;
import io.falconq.formats.gguf.GgufTensorInfo;
import io.falconq.core.model.TensorNameMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An allocated GGUF against llama.cpp's own tools: {@code requantize --target-size … --tensor-type-file T} on
 * tiny-F32.gguf with the imatrix, then llama.cpp's {@code llama-quantize} (tools/quantize of the pinned release,
 * built by {@code tests/node/build-llama-quantize.sh}) with {@code --tensor-type-file T}, the same imatrix, the same
 * file type and the allocation keys as {@code --override-kv}: the two files are identical byte for byte (so every
 * tensor is). {@code convert} from the checkpoint writes the same file, and llama.cpp (node-llama-cpp) loads and runs
 * it; {@code inspect} shows the allocation's keys. The sensitivity table is made up (types must differ from tensor to tensor; quality is judged elsewhere, by
 * llama-perplexity in tests/bench/allocation-kld.sh).
 */
class AllocationInteropIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static Path dir;
    private static Path table;
    private static Path ours;
    private static Path types;

    @BeforeAll
    static void allocate() throws IOException {
        dir = Files.createTempDirectory(ConvertedGgufs.dir(), "alloc-");
        table = dir.resolve("sensitivity.json");
        madeUpTable().write(table, false);
        ours = dir.resolve("ours.gguf");
        types = dir.resolve("types.txt");
        CliRun r = CliRun.of("requantize", CliRun.shared("llamacpp/tiny-F32.gguf"), "--target-size", "3604640",
                "--sensitivity", table, "--imatrix", imatrix(), "--tensor-type-file", types, "-o", ours, "-t", "2", "-q");
        assertEquals(0, r.exitCode(), r.describe());
        assertTrue(r.out().contains("stock mixes priced by the same table"), r.out());
        assertTrue(Files.size(ours) <= 3_604_640, "within the budget: " + Files.size(ours));
    }

    private static String imatrix() {
        return CliRun.shared("llamacpp/imatrix-calib.gguf").toString();
    }

    /** Made up, per tensor a different scale, so the optimum mixes types: ΔKLD = scale × elements × 4^-bpw. */
    private static SensitivityTable madeUpTable() throws IOException {
        List<SensitivityTable.Entry> entries = new ArrayList<>();
        Set<GgmlType> ladder = EnumSet.of(GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K,
                GgmlType.Q8_0, GgmlType.F16);
        try (GgufFile f32 = GgufReader.open(CliRun.shared("llamacpp/tiny-F32.gguf"))) {
            for (GgufTensorInfo t : f32.tensorInfos()) {
                TensorNameMap.RoleAt at = TensorNameMap.fromGguf(t.name()).orElseThrow();
                if (!at.role().quantizable()) {
                    continue;
                }
                double scale = 1 + Math.floorMod(t.name().hashCode(), 97) / 10.0;
                Map<GgmlType, Double> d = new EnumMap<>(GgmlType.class);
                for (GgmlType type : ladder) {
                    GgmlType concrete = FallbackChain.resolve(type, t.ne()[0], t.name()).type();
                    d.putIfAbsent(concrete, scale * t.elementCount() * Math.pow(4, -concrete.bitsPerWeight()) * 1e-3);
                }
                entries.add(SensitivityTable.Entry.measured(t.name(), at.role(), at.layer(), t.elementCount(), d));
            }
        }
        return new SensitivityTable(new SensitivityTable.Source("tiny", "made-up", 0, "", imatrix(), "F32", "made-up"),
                entries);
    }

    @Test
    void llamaQuantizeWithTheTensorTypeFileWritesTheSameFile() throws Exception {
        Path tool = LlamaTools.build("build-llama-quantize.sh", "llama-quantize");
        List<String> cmd = new ArrayList<>(List.of(tool.toString(), "--imatrix", imatrix(), "--tensor-type-file",
                types.toString()));
        String fileType;
        try (GgufFile f = GgufReader.open(ours)) {
            for (String kv : AllocationKeys.read(f.metadata()).overrideKvArguments()) {
                cmd.add("--override-kv");
                cmd.add(kv);
            }
            fileType = ftypeName(f.metadata().getU32AsInt("general.file_type"));
            long distinct = f.tensorInfos().stream().map(GgufTensorInfo::type).distinct().count();
            assertTrue(distinct >= 4, "the allocation mixes types (" + distinct + "), so the file is a real test");
        }
        Path theirs = dir.resolve("theirs.gguf");
        cmd.addAll(List.of(CliRun.shared("llamacpp/tiny-F32.gguf").toString(), theirs.toString(), fileType, "2"));
        LlamaTools.run(cmd);
        assertEquals(-1, Files.mismatch(ours, theirs), "llama-quantize --tensor-type-file == falconq's allocation");
        // and the file names every quantized tensor, so llama-quantize decided nothing by itself
        try (GgufFile f = GgufReader.open(ours)) {
            Map<String, GgmlType> resolved = TensorTypeFile.resolve(TensorTypeFile.read(types),
                    f.tensorInfos().stream().map(GgufTensorInfo::name).toList());
            for (GgufTensorInfo t : f.tensorInfos()) {
                if (t.type() != GgmlType.F32) {
                    assertEquals(t.type(), resolved.get(t.name()), t.name());
                }
            }
        }
    }

    @Test
    void inspectShowsWhereTheTypesCameFrom() throws Exception {
        CliRun r = CliRun.of("inspect", ours);
        assertEquals(0, r.exitCode(), r.describe());
        String sha = Sha256.ofFile(table);
        assertTrue(r.out().contains("quantize.falconq.allocation.sensitivity_sha256") && r.out().contains(sha), r.out());
        assertTrue(r.out().contains("size:3604640"), r.out());
        JsonNode json = JSON.readTree(CliRun.of("inspect", "--json", ours).out());
        assertEquals(sha, json.path("quantization").path("quantize.falconq.allocation.sensitivity_sha256").asText());
    }

    @Test
    void convertFromTheCheckpointWritesTheSameFileAndLlamaCppRunsIt() throws Exception {
        Path converted = dir.resolve("converted.gguf");
        CliRun r = CliRun.of("convert", CliRun.shared("models/falcon-h1-tiny"), "--target-size", "3604640",
                "--sensitivity", table, "--imatrix", imatrix(), "-o", converted, "-t", "2", "-q");
        assertEquals(0, r.exitCode(), r.describe());
        assertEquals(-1, Files.mismatch(ours, converted), "convert (HF) == requantize (F32 GGUF)");

        ObjectNode request = JSON.createObjectNode();
        request.put("threads", 2);
        ObjectNode m = request.putArray("models").addObject();
        m.put("path", ours.toString());
        m.putArray("prompts").add(CliRun.readJson(CliRun.shared("models/falcon-h1-tiny/golden/golden.json"))
                .path("prompts").get(0).path("ids"));
        JsonNode model = LlamaCppLoadsIT.runNode(request).path("models").get(0);
        assertTrue(model.path("ok").asBoolean(), "llama.cpp failed to load: " + model.path("error").asText());
        JsonNode logprobs = model.path("prompts").get(0).path("logprobs");
        assertEquals(4096, logprobs.size());
        double mass = 0;
        for (JsonNode v : logprobs) {
            assertTrue(Double.isFinite(v.asDouble()), "finite log-probabilities");
            mass += Math.exp(v.asDouble());
        }
        assertEquals(1.0, mass, 1e-3, "a distribution over the vocabulary");
    }

    /** llama-quantize's name of a file type number (the ones an allocation can carry). */
    private static String ftypeName(int ftype) {
        return io.falconq.core.convert.recipe.QuantRecipe.all().stream().filter(r -> r.ftype() == ftype).findFirst()
                .orElseThrow().name();
    }
}
