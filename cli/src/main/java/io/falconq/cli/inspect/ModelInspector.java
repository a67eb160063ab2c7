package io.falconq.cli.inspect;

import io.falconq.cli.SizeEstimate;
import io.falconq.cli.inspect.ModelInspection.Architecture;
import io.falconq.cli.inspect.ModelInspection.EstimateRow;
import io.falconq.cli.inspect.ModelInspection.Estimates;
import io.falconq.cli.inspect.ModelInspection.FileEntry;
import io.falconq.cli.inspect.ModelInspection.Parameters;
import io.falconq.cli.inspect.ModelInspection.Source;
import io.falconq.cli.inspect.ModelInspection.TensorRow;
import io.falconq.cli.inspect.ModelInspection.TypeUsage;
import io.falconq.formats.gguf.GgufFile;
import io.falconq.formats.gguf.GgufMetadata;
import io.falconq.formats.gguf.GgufReader;
import io.falconq.formats.gguf.GgufTensorInfo;
import io.falconq.formats.hf.HfCheckpoint;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.safetensors.SafetensorsFile;
import io.falconq.formats.safetensors.SafetensorsTensorInfo;
import io.falconq.core.convert.FalconH1GgufLayout;
import io.falconq.core.model.FalconH1Config;
import io.falconq.core.model.TensorNameMap;
import io.falconq.core.model.TensorNameMap.RoleAt;
import io.falconq.formats.tensor.Shapes;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Builds a {@link ModelInspection} from a Hugging Face checkpoint (folder or one {@code .safetensors} file), a
 * GGUF file, or a {@code config.json} alone. Reads headers only, never tensor data. Malformed input fails with the
 * readers' {@link InvalidInputException}s; inconsistencies that do not stop inspection become warnings.
 */
public final class ModelInspector {
    private ModelInspector() {
    }

    /** A folder or {@code .safetensors} file is a checkpoint; {@code .gguf}, or a file starting with "GGUF", a GGUF. */
    public static ModelInspection inspect(Path path) {
        if (!Files.exists(path)) {
            throw new InvalidInputException(path + ": no such file or folder");
        }
        if (Files.isRegularFile(path) && isGguf(path)) {
            return gguf(path);
        }
        if (Files.isRegularFile(path) && path.getFileName().toString().endsWith(".json")) {
            throw new InvalidInputException(path + ": is a JSON file; to inspect a config alone use --config " + path);
        }
        return checkpoint(path);
    }

    private static boolean isGguf(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".gguf")) {
            return true;
        }
        if (name.endsWith(".safetensors")) {
            return false;
        }
        return GgufReader.startsWithMagic(file);
    }

    // ---- Hugging Face checkpoint ---------------------------------------------------------------------------

    public static ModelInspection checkpoint(Path path) {
        try (HfCheckpoint ckpt = HfCheckpoint.open(path)) {
            List<String> warnings = new ArrayList<>();
            FalconH1Config config = null;
            Optional<Path> configPath = ckpt.configPath();
            if (configPath.isPresent()) {
                config = FalconH1Config.parse(ckpt.configJson(), configPath.get().toString());
                warnings.addAll(config.warnings());
            } else {
                warnings.add("no config.json beside " + path + ": architecture, config checks and size estimates skipped");
            }

            List<FileEntry> files = new ArrayList<>();
            long onDisk = 0;
            for (SafetensorsFile shard : ckpt.shards()) {
                files.add(new FileEntry(shard.path().toString(), shard.fileSize()));
                onDisk += shard.fileSize();
            }
            boolean folder = Files.isDirectory(path);
            Source source = new Source(folder ? "hf-checkpoint" : "safetensors-file", path.toString(), files, onDisk, null);

            List<TensorRow> rows = new ArrayList<>();
            for (String name : ckpt.names()) { // sorted: a sharded checkpoint lists the same table
                SafetensorsTensorInfo info = ckpt.info(name);
                Optional<RoleAt> role = TensorNameMap.fromHf(name);
                Component component = role.map(r -> Component.of(r.role())).orElse(Component.OTHER);
                if (role.isEmpty()) {
                    warnings.add("tensor " + name + " is not part of Falcon-H1 (counted under \"other\")");
                }
                rows.add(row(name, component, info.dtype().name(), info.shape(), info.elementCount(), info.byteSize(),
                        ckpt.shardOf(name).path().getFileName().toString()));
            }
            Parameters parameters = countTensors(rows);
            if (config != null) {
                checkAgainstConfig(config, ckpt, parameters, warnings);
            }
            return new ModelInspection(source, config == null ? null : architecture(config), parameters,
                    typeUsage(rows), rows, null, config == null ? null : estimates(config), warnings, null);
        }
    }

    /** Shapes and per-component counts the config implies, against what the checkpoint holds. */
    private static void checkAgainstConfig(FalconH1Config config, HfCheckpoint ckpt, Parameters fromTensors,
                                           List<String> warnings) {
        for (RoleAt tensor : TensorNameMap.stored(config)) {
            long[] expected = tensor.role().hfShape(config);
            String name = tensor.hfName();
            if (!ckpt.contains(name)) {
                warnings.add("tensor " + name + " is missing (config.json implies " + Arrays.toString(expected) + ")");
            } else if (!Arrays.equals(expected, ckpt.info(name).shape())) {
                warnings.add("tensor " + name + " has shape " + Arrays.toString(ckpt.info(name).shape())
                        + ", config.json implies " + Arrays.toString(expected));
            }
        }
        Parameters fromConfig = countConfig(config);
        for (Component c : Component.values()) {
            if (fromConfig.of(c) != fromTensors.of(c)) {
                warnings.add(c.label() + ": the tensors hold " + fromTensors.of(c) + " parameters, config.json implies "
                        + fromConfig.of(c));
            }
        }
    }

    // ---- config alone --------------------------------------------------------------------------------------

    public static ModelInspection config(Path configFile) {
        if (Files.isDirectory(configFile)) {
            throw new InvalidInputException(configFile + ": is a folder; --config takes a config.json file "
                    + "(to inspect a checkpoint folder, pass it without --config)");
        }
        FalconH1Config config = FalconH1Config.read(configFile);
        List<String> warnings = new ArrayList<>(config.warnings());
        String dtype = torchDtypeName(config.torchDtype());
        List<TensorRow> rows = new ArrayList<>();
        for (RoleAt tensor : TensorNameMap.stored(config)) {
            long[] shape = tensor.role().hfShape(config);
            long elements = Shapes.elementCount(shape);
            long bytes = dtype == null ? 0 : elements * bytesPerElement(dtype);
            rows.add(row(tensor.hfName(), Component.of(tensor.role()), dtype, shape, elements, bytes, null));
        }
        Parameters parameters = countConfig(config);
        Parameters fromRows = countTensors(rows);
        if (fromRows.total() != parameters.total()) {
            // two codings of SPEC.md §1.2 (formula and tensor table) disagree: a falconq bug, say so
            warnings.add("internal inconsistency: tensor table holds " + fromRows.total() + " parameters, formula "
                    + parameters.total());
        }
        Source source = new Source("config", configFile.toString(), null, null, null);
        return new ModelInspection(source, architecture(config), parameters, dtype == null ? List.of() : typeUsage(rows),
                rows, null, estimates(config), warnings, null);
    }

    private static String torchDtypeName(String torchDtype) {
        if (torchDtype == null) {
            return null;
        }
        return switch (torchDtype) {
            case "bfloat16" -> "BF16";
            case "float16" -> "F16";
            case "float32" -> "F32";
            default -> null;
        };
    }

    private static long bytesPerElement(String dtype) {
        return "F32".equals(dtype) ? 4 : 2;
    }

    // ---- GGUF ----------------------------------------------------------------------------------------------

    public static ModelInspection gguf(Path file) {
        try (GgufFile gguf = GgufReader.open(file)) {
            GgufMetadata md = gguf.metadata();
            FalconH1GgufLayout.requireFalconH1(gguf);
            List<String> warnings = new ArrayList<>();
            List<TensorRow> rows = new ArrayList<>();
            Map<String, Map<String, Integer>> typesByRole = new LinkedHashMap<>();
            for (GgufTensorInfo t : gguf.tensorInfos()) {
                Optional<RoleAt> role = TensorNameMap.fromGguf(t.name());
                Component component = role.map(r -> Component.of(r.role())).orElse(Component.OTHER);
                if (role.isEmpty()) {
                    warnings.add("tensor " + t.name() + " is not part of Falcon-H1 (counted under \"other\")");
                }
                rows.add(row(t.name(), component, t.type().name(), t.shape(), t.elementCount(), t.byteSize(), null));
                String roleName = role.map(r -> r.role().ggufTemplate().replace("blk.{bid}.", ""))
                        .orElse(t.name());
                typesByRole.computeIfAbsent(roleName, k -> new TreeMap<>()).merge(t.type().name(), 1, Integer::sum);
            }
            String fileType = md.find("general.file_type").map(v -> fileTypeName(((Number) v.value()).intValue()))
                    .orElse(null);
            List<FileEntry> files = gguf.shards().stream()
                    .map(s -> new FileEntry(s.path().toString(), s.fileSize())).toList();
            Source source = new Source("gguf", file.toString(), files, gguf.fileSize(), fileType);
            Architecture architecture = architecture(FalconH1GgufLayout.config(gguf), "GGUF metadata",
                    md.find("general.name").map(v -> String.valueOf(v.value())).orElse(null), null, null);
            return new ModelInspection(source, architecture, countTensors(rows), typeUsage(rows), rows,
                    typesByRole, null, warnings, quantizeKeys(md));
        }
    }

    /** The {@code quantize.*} keys (imatrix provenance, falconq's allocation), or null when there are none. */
    private static Map<String, String> quantizeKeys(GgufMetadata md) {
        Map<String, String> keys = new LinkedHashMap<>();
        for (String key : md.keys()) {
            if (key.startsWith("quantize.")) {
                keys.put(key, String.valueOf(md.get(key).value()));
            }
        }
        return keys.isEmpty() ? null : keys;
    }

    /** {@code enum llama_ftype} in llama.h, for the mixes llama-quantize writes. */
    static String fileTypeName(int ftype) {
        return switch (ftype) {
            case 0 -> "F32";
            case 1 -> "F16";
            case 2 -> "Q4_0";
            case 3 -> "Q4_1";
            case 7 -> "Q8_0";
            case 8 -> "Q5_0";
            case 9 -> "Q5_1";
            case 10 -> "Q2_K";
            case 11 -> "Q3_K_S";
            case 12 -> "Q3_K_M";
            case 13 -> "Q3_K_L";
            case 14 -> "Q4_K_S";
            case 15 -> "Q4_K_M";
            case 16 -> "Q5_K_S";
            case 17 -> "Q5_K_M";
            case 18 -> "Q6_K";
            case 25 -> "IQ4_NL";
            case 30 -> "IQ4_XS";
            case 32 -> "BF16";
            default -> "file_type " + ftype;
        };
    }

    // ---- shared --------------------------------------------------------------------------------------------

    private static TensorRow row(String name, Component component, String type, long[] shape, long elements, long bytes,
                                 String file) {
        double bpw = elements == 0 || bytes == 0 ? 0 : 8.0 * bytes / elements;
        return new TensorRow(name, component.name().toLowerCase(Locale.ROOT), type, shape, elements, bytes, bpw, file);
    }

    private static Parameters countTensors(List<TensorRow> rows) {
        Map<Component, Long> by = new EnumMap<>(Component.class);
        for (TensorRow r : rows) {
            by.merge(Component.valueOf(r.component().toUpperCase(Locale.ROOT)), r.elements(), Math::addExact);
        }
        return parameters("tensors", rows.size(), by);
    }

    private static Parameters countConfig(FalconH1Config config) {
        FalconH1Config.ParameterCounts c = config.parameterCounts();
        Map<Component, Long> by = new EnumMap<>(Component.class);
        by.put(Component.EMBEDDINGS, c.embeddings());
        by.put(Component.LM_HEAD, c.lmHead());
        by.put(Component.ATTENTION, c.attention());
        by.put(Component.SSM, c.ssm());
        by.put(Component.MLP, c.mlp());
        by.put(Component.NORMS, c.norms());
        return parameters("config", TensorNameMap.stored(config).size(), by);
    }

    private static Parameters parameters(String from, int tensors, Map<Component, Long> by) {
        long total = 0;
        for (long v : by.values()) {
            total = Math.addExact(total, v);
        }
        return new Parameters(from, tensors, by.getOrDefault(Component.EMBEDDINGS, 0L),
                by.getOrDefault(Component.LM_HEAD, 0L), by.getOrDefault(Component.ATTENTION, 0L),
                by.getOrDefault(Component.SSM, 0L), by.getOrDefault(Component.MLP, 0L),
                by.getOrDefault(Component.NORMS, 0L), by.getOrDefault(Component.OTHER, 0L), total);
    }

    private static List<TypeUsage> typeUsage(List<TensorRow> rows) {
        Map<String, long[]> by = new LinkedHashMap<>();
        for (TensorRow r : rows) {
            long[] acc = by.computeIfAbsent(r.type(), k -> new long[3]);
            acc[0]++;
            acc[1] += r.elements();
            acc[2] += r.bytes();
        }
        List<TypeUsage> out = new ArrayList<>();
        by.entrySet().stream()
                .sorted((a, b) -> Long.compare(b.getValue()[1], a.getValue()[1]))
                .forEach(e -> out.add(new TypeUsage(e.getKey(), (int) e.getValue()[0], e.getValue()[1], e.getValue()[2],
                        e.getValue()[1] == 0 ? 0 : 8.0 * e.getValue()[2] / e.getValue()[1])));
        return out;
    }

    private static Architecture architecture(FalconH1Config c) {
        Map<String, Object> mult = new LinkedHashMap<>();
        mult.put("embedding", c.embeddingMultiplier());
        mult.put("lm_head", c.lmHeadMultiplier());
        mult.put("attention_in", c.attentionInMultiplier());
        mult.put("attention_out", c.attentionOutMultiplier());
        mult.put("key", c.keyMultiplier());
        mult.put("ssm_in", c.ssmInMultiplier());
        mult.put("ssm_out", c.ssmOutMultiplier());
        mult.put("ssm [z, x, B, C, dt]", c.ssmMultipliers());
        mult.put("mlp [gate, down]", c.mlpMultipliers());
        return architecture(c, "config.json", null, c.ssmNormBeforeGate(), mult);
    }

    /**
     * The architecture section from a config; a GGUF's is {@link FalconH1GgufLayout#config}'s reading of its keys,
     * with no norm order or multipliers (llama.cpp's converter folds them into the weights).
     */
    private static Architecture architecture(FalconH1Config c, String from, String name, Boolean normBeforeGate,
                                             Map<String, Object> multipliers) {
        return new Architecture(from, name, c.numLayers(), c.hiddenSize(), c.vocabSize(), c.numHeads(),
                c.numKvHeads(), c.headDim(), c.intermediateSize(), c.ssmInnerSize(), c.ssmHeads(), c.ssmHeadDim(),
                c.ssmGroups(), c.ssmStateSize(), c.convKernel(), c.ssmRmsNorm(), normBeforeGate,
                c.tieWordEmbeddings(), c.maxPositionEmbeddings(), c.ropeTheta(), c.rmsNormEps(), multipliers);
    }

    private static Estimates estimates(FalconH1Config config) {
        List<EstimateRow> sizes = new ArrayList<>();
        for (SizeEstimate.Estimate e : SizeEstimate.all(config)) {
            sizes.add(new EstimateRow(e.mix(), e.tensorBytes(), e.bitsPerWeight(), e.fallbacks()));
        }
        return new Estimates(SizeEstimate.METHOD, sizes);
    }
}
