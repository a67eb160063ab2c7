package io.falconq.jobs.intquant;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.falconq.core.calib.LinearRole;
import io.falconq.formats.hf.HfCheckpoint;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.io.MappedFile;
import io.falconq.formats.io.OutputException;
import io.falconq.formats.safetensors.SafetensorsDtype;
import io.falconq.formats.safetensors.SafetensorsFile;
import io.falconq.formats.safetensors.SafetensorsReader;
import io.falconq.formats.safetensors.SafetensorsShardPlan;
import io.falconq.formats.safetensors.SafetensorsWriter;
import io.falconq.formats.safetensors.SafetensorsWriter.PlannedTensor;
import io.falconq.formats.safetensors.ShardedSafetensorsWriter;
import io.falconq.formats.tensor.TensorView;
import io.falconq.core.intquant.GptqLayout;
import io.falconq.core.intquant.IntQuantScheme;
import io.falconq.core.intquant.QuantizedLinear;
import io.falconq.core.model.FalconH1Config;
import io.falconq.core.model.TensorNameMap;
import io.falconq.core.model.TensorRole;
import io.falconq.runtime.TensorFloats;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The GPTQ-layout checkpoint folder (SPEC.md §3): every quantized linear as {@code qweight/qzeros/scales/g_idx},
 * everything else as stored in the source (AWQ's changed norm gains in the source dtype), sharded as
 * {@code save_pretrained(max_shard_size=…)} does, with {@code config.json} carrying {@code quantization_config},
 * {@code quantize_config.json}, and the source folder's other files (tokenizer, generation config).
 *
 * <p>While the job runs, each finished layer's new tensors are staged in the work folder
 * ({@code layer-NNNNN.safetensors}, written atomically: the layer's checkpoint for a resumed job); {@link #assemble}
 * then streams the shards in plan order from the staged files and the source, deleting a staged file once the
 * shards holding its tensors are committed.
 */
public final class GptqFolderWriter {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private GptqFolderWriter() {
    }

    /**
     * Every tensor of the output, in shard order: embeddings, each layer's tensors by name, then the rest; from the
     * source's tensors as stored (name, dtype, shape), each quantized linear replaced by its four GPTQ tensors.
     */
    static List<PlannedTensor> plannedTensors(List<PlannedTensor> stored, FalconH1Config cfg, IntQuantScheme scheme,
                                              Set<LinearRole> unquantized) {
        List<PlannedTensor> sorted = new ArrayList<>(stored);
        sorted.sort(Comparator.comparing(PlannedTensor::name, Comparator.comparingInt((String n) -> sortLayer(n, cfg))
                .thenComparing(Comparator.naturalOrder())));
        List<PlannedTensor> out = new ArrayList<>();
        for (PlannedTensor t : sorted) {
            var at = TensorNameMap.fromHf(t.name());
            if (at.isPresent() && isQuantizedLinear(at.get(), unquantized)) {
                out.addAll(quantizedTensors(t.name().substring(0, t.name().length() - ".weight".length()), t.shape(),
                        scheme));
            } else {
                out.add(t);
            }
        }
        return out;
    }

    /** The checkpoint's tensors as stored. */
    static List<PlannedTensor> storedTensors(HfCheckpoint src) {
        List<PlannedTensor> out = new ArrayList<>();
        for (String name : src.names()) {
            TensorView v = src.view(name);
            SafetensorsDtype dt = SafetensorsDtype.of(v.type()).orElseThrow(() -> new InvalidInputException(
                    name + ": type " + v.type() + " has no safetensors dtype"));
            out.add(new PlannedTensor(name, dt, v.shape()));
        }
        return out;
    }

    /** The output's tensors copied through as stored are refused before any work if they hold NaN/Inf. */
    static void requireFiniteCopies(HfCheckpoint src, List<PlannedTensor> output) {
        for (PlannedTensor t : output) {
            if (src.contains(t.name())) {
                TensorFloats.requireFinite(src.view(t.name()));
            }
        }
    }

    private static int sortLayer(String name, FalconH1Config cfg) {
        return TensorNameMap.fromHf(name).map(at -> at.role().perLayer() ? at.layer()
                : at.role() == TensorRole.TOKEN_EMBD ? -1 : cfg.numLayers()).orElse(cfg.numLayers());
    }

    /**
     * Whether a tensor is the weight of one of the linears the job quantizes ({@link LinearRole#perLayer()} but the
     * {@code unquantized}, which keep their name and stored dtype).
     */
    private static boolean isQuantizedLinear(TensorNameMap.RoleAt at, Set<LinearRole> unquantized) {
        return at.role().perLayer() && Arrays.stream(LinearRole.perLayer()).filter(r -> !unquantized.contains(r))
                .anyMatch(r -> (r.hfModulePath(at.layer()) + ".weight").equals(at.hfName()));
    }

    /** The four GPTQ tensors (qweight, qzeros, scales, g_idx) that replace the (out, in) weight of {@code module}. */
    static List<PlannedTensor> quantizedTensors(String module, long[] shape, IntQuantScheme s) {
        int out = Math.toIntExact(shape[0]);
        int in = Math.toIntExact(shape[1]);
        int groups = s.groupCount(in);
        return List.of(new PlannedTensor(module + ".qweight", SafetensorsDtype.I32, new long[] {in / s.packFactor(), out}),
                new PlannedTensor(module + ".qzeros", SafetensorsDtype.I32,
                        new long[] {groups, GptqLayout.qzerosWidth(out, s)}),
                new PlannedTensor(module + ".scales", SafetensorsDtype.F16, new long[] {groups, out}),
                new PlannedTensor(module + ".g_idx", SafetensorsDtype.I32, new long[] {in}));
    }

    static Path stagedLayer(Path work, int layer) {
        return work.resolve(String.format("layer-%05d.safetensors", layer));
    }

    /** One output tensor with its bytes. */
    record TensorBytes(PlannedTensor tensor, MemorySegment bytes) {
    }

    /** A quantized linear as its four GPTQ tensors (qweight, qzeros, scales, g_idx), little-endian. */
    static List<TensorBytes> pack(QuantizedLinear q) {
        List<PlannedTensor> four = quantizedTensors(q.name(), new long[] {q.out(), q.in()}, q.scheme());
        return List.of(new TensorBytes(four.get(0), ints(GptqLayout.packQweight(q))),
                new TensorBytes(four.get(1), ints(GptqLayout.packQzeros(q))),
                new TensorBytes(four.get(2), shorts(GptqLayout.scalesFp16(q))),
                new TensorBytes(four.get(3), ints(q.gIdx())));
    }

    /** {@code values} as tensor {@code name}, in {@code like}'s stored dtype and shape. */
    static TensorBytes storedLike(String name, TensorView like, float[] values) {
        return new TensorBytes(new PlannedTensor(name, SafetensorsDtype.of(like.type()).orElseThrow(), like.shape()),
                StoredDtype.encodeLike(like, values));
    }

    /** Writes a finished layer's packed linears and changed norms to its staging file, atomically. */
    static void stageLayer(Path work, HfCheckpoint src, int layer, List<TensorBytes> packed,
                           Map<TensorRole, float[]> replacedNorms) {
        List<TensorBytes> all = new ArrayList<>(packed);
        for (Map.Entry<TensorRole, float[]> e : replacedNorms.entrySet()) {
            String name = e.getKey().hfName(layer);
            all.add(storedLike(name, src.view(name), e.getValue()));
        }
        Map<String, MemorySegment> bytes = new HashMap<>();
        all.forEach(t -> bytes.put(t.tensor().name(), t.bytes()));
        try (SafetensorsWriter w = SafetensorsWriter.begin(stagedLayer(work, layer),
                all.stream().map(TensorBytes::tensor).toList(), true)) {
            for (var info : w.order()) {
                w.write(info.name(), bytes.get(info.name()));
            }
            w.finish();
        }
    }

    /**
     * Streams the shards of {@code plan} into {@code folder}: staged tensors from the work folder, the rest from the
     * source. Shards a resumed job already committed are kept ({@link ShardedSafetensorsWriter}).
     */
    static void assemble(Path folder, Path work, HfCheckpoint src, SafetensorsShardPlan plan, int layers) {
        Map<String, Integer> stagedLayerOf = new HashMap<>();
        Map<Integer, SafetensorsFile> open = new LinkedHashMap<>();
        try (ShardedSafetensorsWriter w = ShardedSafetensorsWriter.open(folder, plan, GptqFolderPlan.SHARD_METADATA)) {
            for (int layer = 0; layer < layers; layer++) {
                Path staged = stagedLayer(work, layer);
                if (Files.exists(staged)) {
                    SafetensorsFile f = SafetensorsReader.open(staged);
                    open.put(layer, f);
                    for (String n : f.names()) {
                        stagedLayerOf.put(n, layer);
                    }
                }
            }
            for (PlannedTensor t : plan.tensors()) {
                if (!w.needs(t.name())) {
                    continue;
                }
                Integer layer = stagedLayerOf.get(t.name());
                copy(w, t.name(), layer != null ? open.get(layer).rawBytes(t.name()) : src.rawBytes(t.name()));
            }
            w.finish();
        } finally {
            open.values().forEach(SafetensorsFile::close);
        }
    }

    /** Bytes copied between releases of the source's mapped pages. */
    static final long COPY_CHUNK_BYTES = 64L << 20;

    /**
     * Copies a mapped tensor in chunks, dropping each chunk's pages once written: each is read once, and the
     * largest (the embeddings) is 2.7 GB at 34B.
     */
    private static void copy(ShardedSafetensorsWriter w, String name, MemorySegment bytes) {
        w.startTensor(name);
        for (long off = 0; off < bytes.byteSize(); off += COPY_CHUNK_BYTES) {
            MemorySegment chunk = bytes.asSlice(off, Math.min(COPY_CHUNK_BYTES, bytes.byteSize() - off));
            w.writeChunk(chunk);
            MappedFile.unloadIfMapped(chunk);
        }
        w.endTensor();
    }

    /** config.json with quantization_config, quantize_config.json, and the source folder's other files. */
    static void writeConfigAndFiles(HfCheckpoint src, ObjectNode quantizationConfig, Path dir) {
        try {
            for (Map.Entry<String, byte[]> f : configFiles(src.configJson(), quantizationConfig).entrySet()) {
                Files.write(dir.resolve(f.getKey()), f.getValue());
            }
            for (Path f : copiedFiles(src.dir())) {
                Files.copy(f, dir.resolve(f.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new OutputException(dir + ": cannot write the folder's files: " + e.getMessage(), e);
        }
    }

    /** {@code config.json} (the source's, with {@code quantization_config}) and {@code quantize_config.json}. */
    static Map<String, byte[]> configFiles(JsonNode sourceConfig, ObjectNode quantizationConfig) {
        JsonNode cfg = sourceConfig.deepCopy();
        ((ObjectNode) cfg).set("quantization_config", quantizationConfig);
        try {
            Map<String, byte[]> files = new LinkedHashMap<>();
            files.put("config.json", JSON.writeValueAsBytes(cfg));
            files.put("quantize_config.json", JSON.writeValueAsBytes(quantizationConfig));
            return files;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The source folder's other top-level files (tokenizer, generation config), which the folder gets as they are. */
    static List<Path> copiedFiles(Path sourceDir) throws IOException {
        try (Stream<Path> files = Files.list(sourceDir)) {
            return files.sorted(Comparator.naturalOrder()).filter(f -> {
                String n = f.getFileName().toString();
                return Files.isRegularFile(f) && !n.endsWith(".safetensors") && !n.equals(HfCheckpoint.INDEX_FILE)
                        && !n.equals("config.json") && !n.equals("quantize_config.json") && !n.startsWith(".");
            }).toList();
        }
    }

    private static MemorySegment ints(int[] v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asIntBuffer().put(v);
        return MemorySegment.ofArray(b.array());
    }

    private static MemorySegment shorts(short[] v) {
        ByteBuffer b = ByteBuffer.allocate(2 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asShortBuffer().put(v);
        return MemorySegment.ofArray(b.array());
    }
}
