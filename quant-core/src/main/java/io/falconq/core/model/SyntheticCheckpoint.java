package io.falconq.core.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.falconq.formats.io.AtomicFolder;
import io.falconq.formats.io.AtomicOutput;
import io.falconq.formats.io.InputFiles;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.io.OutputException;
import io.falconq.formats.io.ProgressListener;
import io.falconq.formats.safetensors.SafetensorsDtype;
import io.falconq.formats.safetensors.SafetensorsWriter;
import io.falconq.core.parallel.WorkerPool;
import io.falconq.formats.tensor.Shapes;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * Writes a random-initialised Falcon-H1 checkpoint in Hugging Face layout with the exact shapes of a config, so any
 * model size can be run for speed and memory without downloading it. The values follow transformers' init for
 * Falcon-H1: linear and embedding weights N(0, initializer_range), norms 1, A_log = log(1…Hs), D = 1, dt_bias = 1,
 * conv1d weight and bias U(±1/√K) (PyTorch's Conv1d default). They are a deterministic function of the seed (each
 * tensor chunk draws from its own {@link SplittableRandom} seeded by seed, tensor index and chunk index), whatever
 * the thread count.
 *
 * <p>Output: config.json (the input without {@code _}-prefixed annotation keys), shards
 * {@code model-0000i-of-0000n.safetensors} plus {@code model.safetensors.index.json} (or one
 * {@code model.safetensors}), generation_config.json, and the tokenizer files of a given folder. Everything is
 * written into {@code <out>.partial-<pid>} and renamed onto {@code out} at the end.
 */
public final class SyntheticCheckpoint {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final int CHUNK = 1 << 20;
    private static final List<String> TOKENIZER_FILES = List.of("tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json");

    private SyntheticCheckpoint() {
    }

    /** One tensor to generate. */
    private record Planned(String name, long[] shape, Init init) {
        long elements() {
            return Shapes.elementCount(shape);
        }
    }

    private sealed interface Init {
    }

    private record Normal(double std) implements Init {
    }

    private record Uniform(double bound) implements Init {
    }

    private record Constant(float value) implements Init {
    }

    /** log(1), log(2), … log(n) along the single dimension. */
    private record LogArange() implements Init {
    }

    /** What was written. */
    public record Summary(Path dir, long parameters, long bytes, int shards, List<String> warnings) {
    }

    /**
     * @param dtype         BF16, F16 or F32
     * @param maxShardBytes cut a new shard before a tensor that would take the current one past this size
     * @param tokenizerDir  folder whose tokenizer files are copied, or null for none
     */
    public static Summary write(Path configFile, Path out, long seed, SafetensorsDtype dtype, long maxShardBytes,
                                Path tokenizerDir, boolean force, int threads, ProgressListener progress) {
        if (dtype != SafetensorsDtype.BF16 && dtype != SafetensorsDtype.F16 && dtype != SafetensorsDtype.F32) {
            throw new IllegalArgumentException("dtype must be BF16, F16 or F32, got " + dtype);
        }
        ObjectNode config = readConfig(configFile);
        config.put("torch_dtype", switch (dtype) {
            case BF16 -> "bfloat16";
            case F16 -> "float16";
            default -> "float32";
        });
        FalconH1Config cfg = FalconH1Config.parse(config, configFile.toString());
        cfg.requireNoProjectionBiases(configFile);
        double std = config.path("initializer_range").asDouble(0.02);
        List<Planned> plan = plan(cfg, std);
        List<List<Planned>> shards = shard(plan, dtype, maxShardBytes);

        long total = 0;
        long params = 0;
        Path target;
        try (AtomicFolder folder = AtomicFolder.create(out, force)) {
            target = folder.target();
            Path temp = folder.folder();
            writeJson(temp.resolve("config.json"), config);
            ObjectNode gen = JSON.createObjectNode();
            gen.put("_from_model_config", true);
            if (cfg.bosTokenId() != null) {
                gen.put("bos_token_id", cfg.bosTokenId());
            }
            if (cfg.eosTokenId() != null) {
                gen.put("eos_token_id", cfg.eosTokenId());
            }
            writeJson(temp.resolve("generation_config.json"), gen);
            if (tokenizerDir != null) {
                for (String f : TOKENIZER_FILES) {
                    Path src = tokenizerDir.resolve(f);
                    if (Files.exists(src)) {
                        AtomicOutput.writeBytes(temp.resolve(f), InputFiles.readAll(src, InputFiles.MAX_TOKENIZER_BYTES), false);
                    } else if (f.equals("tokenizer.json")) {
                        throw new InvalidInputException(tokenizerDir + ": no tokenizer.json to copy");
                    }
                }
            }
            Map<String, String> weightMap = new TreeMap<>();
            int done = 0;
            try (WorkerPool pool = new WorkerPool(threads)) {
                for (int s = 0; s < shards.size(); s++) {
                    String file = shards.size() == 1 ? "model.safetensors"
                            : String.format("model-%05d-of-%05d.safetensors", s + 1, shards.size());
                    List<Planned> group = shards.get(s);
                    List<SafetensorsWriter.PlannedTensor> planned = group.stream()
                            .map(p -> new SafetensorsWriter.PlannedTensor(p.name(), dtype, p.shape())).toList();
                    Map<String, Planned> byName = new LinkedHashMap<>();
                    group.forEach(p -> byName.put(p.name(), p));
                    try (SafetensorsWriter w = SafetensorsWriter.begin(temp.resolve(file), Map.of("format", "pt"),
                            planned, false)) {
                        for (var info : w.order()) {
                            Planned p = byName.get(info.name());
                            generate(p, plan.indexOf(p), seed, dtype, pool, w);
                            params += p.elements();
                            weightMap.put(p.name(), file);
                            progress.onStep(++done, plan.size(), p.name());
                        }
                        w.finish();
                        total += w.fileSize();
                    }
                }
            }
            if (shards.size() > 1) {
                ObjectNode index = JSON.createObjectNode();
                index.putObject("metadata").put("total_size", plan.stream()
                        .mapToLong(p -> dtype.bytesFor(p.elements())).sum());
                ObjectNode map = index.putObject("weight_map");
                weightMap.forEach(map::put);
                writeJson(temp.resolve("model.safetensors.index.json"), index);
            }
            folder.commit();
        } catch (IOException e) {
            throw new OutputException(out + ": cannot write the checkpoint: " + e.getMessage(), e);
        }
        return new Summary(target, params, total, shards.size(), cfg.warnings());
    }

    private static ObjectNode readConfig(Path file) {
        JsonNode root;
        try {
            root = JSON.readTree(InputFiles.readAll(file, InputFiles.MAX_JSON_BYTES));
        } catch (IOException e) {
            throw new InvalidInputException(file + ": cannot read config JSON: " + e.getMessage(), e);
        }
        if (!(root instanceof ObjectNode obj)) {
            throw new InvalidInputException(file + ": expected a JSON object");
        }
        ObjectNode clean = JSON.createObjectNode();
        obj.properties().forEach(e -> {
            if (!e.getKey().startsWith("_")) {
                clean.set(e.getKey(), e.getValue());
            }
        });
        return clean;
    }

    /**
     * The tensors of an HF Falcon-H1 checkpoint (SPEC.md §1.2, {@link TensorRole}'s names and shapes) in module order:
     * the embeddings, each layer's tensors, the final norm and the LM head unless tied. A tensor's position in this
     * list seeds its values, so the order is part of the output.
     */
    private static List<Planned> plan(FalconH1Config c, double std) {
        List<Planned> p = new ArrayList<>();
        p.add(planned(TensorRole.TOKEN_EMBD, -1, c, std));
        for (int layer = 0; layer < c.numLayers(); layer++) {
            for (TensorRole role : TensorRole.values()) {
                if (role.perLayer() && role.presentIn(c)) {
                    p.add(planned(role, layer, c, std));
                }
            }
        }
        p.add(planned(TensorRole.OUTPUT_NORM, -1, c, std));
        if (!c.tieWordEmbeddings()) {
            p.add(planned(TensorRole.OUTPUT, -1, c, std));
        }
        return p;
    }

    private static Planned planned(TensorRole role, int layer, FalconH1Config c, double std) {
        Init init = switch (role) {
            case OUTPUT_NORM, ATTN_NORM, FFN_NORM, SSM_NORM, SSM_DT_BIAS, SSM_D -> new Constant(1f);
            case SSM_CONV1D, SSM_CONV1D_BIAS -> new Uniform(1 / Math.sqrt(c.convKernel()));
            case SSM_A -> new LogArange();
            default -> new Normal(std);
        };
        return new Planned(role.hfName(layer), role.hfShape(c), init);
    }

    private static List<List<Planned>> shard(List<Planned> plan, SafetensorsDtype dtype, long maxShardBytes) {
        List<List<Planned>> shards = new ArrayList<>();
        List<Planned> current = new ArrayList<>();
        long bytes = 0;
        for (Planned p : plan) {
            long b = dtype.bytesFor(p.elements());
            if (!current.isEmpty() && bytes + b > maxShardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                bytes = 0;
            }
            current.add(p);
            bytes += b;
        }
        shards.add(current);
        return shards;
    }

    private static void generate(Planned p, int tensorIndex, long seed, SafetensorsDtype dtype, WorkerPool pool,
                                 SafetensorsWriter w) {
        long n = p.elements();
        int width = dtype.byteSize();
        int chunksPerBatch = 16;
        float[][] values = new float[chunksPerBatch][];
        MemorySegment batch = MemorySegment.ofArray(new byte[Math.toIntExact(Math.min(n, (long) CHUNK * chunksPerBatch) * width)]);
        w.startTensor(p.name());
        long chunks = (n + CHUNK - 1) / CHUNK;
        for (long c0 = 0; c0 < chunks; c0 += chunksPerBatch) {
            int inBatch = (int) Math.min(chunksPerBatch, chunks - c0);
            long first = c0;
            pool.forEach(inBatch, (i, worker) -> {
                long chunk = first + i;
                long start = chunk * CHUNK;
                int len = (int) Math.min(CHUNK, n - start);
                float[] v = values[i] == null || values[i].length < len ? new float[len] : values[i];
                values[i] = v;
                fill(p.init(), v, len, start, new SplittableRandom(mix(seed, tensorIndex, chunk)));
                long off = (long) i * CHUNK * width;
                for (int k = 0; k < len; k++) {
                    long at = off + (long) k * width;
                    switch (dtype) {
                        case BF16 -> batch.set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(
                                java.nio.ByteOrder.LITTLE_ENDIAN), at, toBf16(v[k]));
                        case F16 -> batch.set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(
                                java.nio.ByteOrder.LITTLE_ENDIAN), at, Float.floatToFloat16(v[k]));
                        default -> batch.set(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(
                                java.nio.ByteOrder.LITTLE_ENDIAN), at, v[k]);
                    }
                }
            });
            long elements = Math.min((long) inBatch * CHUNK, n - c0 * CHUNK);
            w.writeChunk(batch.asSlice(0, elements * width));
        }
        w.endTensor();
    }

    private static void fill(Init init, float[] v, int len, long start, SplittableRandom r) {
        switch (init) {
            case Normal nrm -> {
                for (int k = 0; k < len; k++) {
                    v[k] = (float) (r.nextGaussian() * nrm.std());
                }
            }
            case Uniform u -> {
                for (int k = 0; k < len; k++) {
                    v[k] = (float) ((r.nextDouble() * 2 - 1) * u.bound());
                }
            }
            case Constant cst -> java.util.Arrays.fill(v, 0, len, cst.value());
            case LogArange la -> {
                for (int k = 0; k < len; k++) {
                    v[k] = (float) Math.log(start + k + 1);
                }
            }
        }
    }

    /** Round to nearest even, as PyTorch's float → bfloat16 cast (NaN never occurs here). */
    static short toBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    private static long mix(long seed, int tensor, long chunk) {
        long z = seed * 0x9E3779B97F4A7C15L + tensor * 0xBF58476D1CE4E5B9L + chunk * 0x94D049BB133111EBL;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private static void writeJson(Path file, JsonNode node) throws IOException {
        AtomicOutput.writeBytes(file, JSON.writeValueAsBytes(node), false);
    }
}
