package io.falconq.core.convert.alloc;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.falconq.formats.gguf.GgmlType;
import io.falconq.formats.io.AtomicOutput;
import io.falconq.formats.io.FormatException;
import io.falconq.formats.safetensors.StrictJson;
import io.falconq.core.model.TensorRole;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code sensitivity.json}: what quantizing each tensor alone to each candidate type costs, as the increase in mean
 * KL divergence (nats per token) of the model's next-token distribution against the unquantized model. Written by
 * {@code falconq measure}, read by the allocator ({@code convert --target-size/--target-bpw --sensitivity}).
 *
 * <pre>
 * {
 *   "format": "falconq-sensitivity", "version": 1,
 *   "source": {"model": …, "data": …, "tokens": …, "data_sha256": …, "imatrix": … | null,
 *              "reference": "F32", "method": "direct" | …},
 *   "tensors": [
 *     {"name": "blk.0.attn_q.weight", "role": "ATTN_Q", "layer": 0, "elements": 65536,
 *      "delta_kld": {"Q2_K": 1.2e-3, "Q3_K": 4.1e-4, …},
 *      "kind": {"Q2_K": "measured", "Q3_K": "predicted", …}}      (optional; absent means every value was measured)
 *   ]
 * }
 * </pre>
 * Tensor names are GGUF names; {@code layer} is −1 for the global tensors. Entries keep file order. A value may be
 * negative (quantization noise that happens to lower the KLD on the measured tokens) and must be finite.
 *
 * @param source  where the numbers come from
 * @param tensors one entry per measured tensor, in the file's order
 */
public record SensitivityTable(Source source, List<Entry> tensors) {
    public static final String FORMAT = "falconq-sensitivity";
    public static final int VERSION = 1;

    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public SensitivityTable {
        tensors = List.copyOf(tensors);
        Set<String> names = new HashSet<>();
        for (Entry e : tensors) {
            if (!names.add(e.name())) {
                throw new IllegalArgumentException("tensor " + e.name() + " appears twice");
            }
        }
    }

    /**
     * @param model     the measured model (path or name)
     * @param data      the measurement text (path or builtin name)
     * @param tokens    tokens the KLD is averaged over
     * @param dataSha256 SHA-256 of the measured token ids or text, as the writer documents
     * @param imatrix   the importance matrix the types that use one were quantized with, or null
     * @param reference the type of the unquantized reference weights (e.g. F32)
     * @param method    how the numbers were obtained (e.g. {@code direct}: each tensor swapped, downstream re-run)
     */
    public record Source(String model, String data, long tokens, String dataSha256, String imatrix, String reference,
                         String method) {
    }

    /** How a value was obtained: run end to end, or predicted from a proxy. */
    public enum Kind {
        MEASURED, PREDICTED
    }

    /**
     * @param name     GGUF tensor name
     * @param role     the tensor's role
     * @param layer    its layer, or −1 for a global tensor
     * @param elements its element count
     * @param deltaKld ΔKLD per candidate type
     * @param kind     how each value was obtained (same keys as {@code deltaKld})
     */
    public record Entry(String name, TensorRole role, int layer, long elements, Map<GgmlType, Double> deltaKld,
                        Map<GgmlType, Kind> kind) {
        public Entry {
            if (deltaKld.isEmpty()) {
                throw new IllegalArgumentException(name + ": no candidate type");
            }
            for (Map.Entry<GgmlType, Double> v : deltaKld.entrySet()) {
                if (!Double.isFinite(v.getValue())) {
                    throw new IllegalArgumentException(name + ": ΔKLD of " + v.getKey() + " is " + v.getValue());
                }
            }
            if (!kind.keySet().equals(deltaKld.keySet())) {
                throw new IllegalArgumentException(name + ": kinds " + kind.keySet() + " do not match types "
                        + deltaKld.keySet());
            }
            deltaKld = Collections.unmodifiableMap(new EnumMap<>(deltaKld));
            kind = Collections.unmodifiableMap(new EnumMap<>(kind));
        }

        /** An entry whose every value was measured. */
        public static Entry measured(String name, TensorRole role, int layer, long elements,
                                     Map<GgmlType, Double> deltaKld) {
            Map<GgmlType, Kind> kind = new EnumMap<>(GgmlType.class);
            deltaKld.keySet().forEach(t -> kind.put(t, Kind.MEASURED));
            return new Entry(name, role, layer, elements, deltaKld, kind);
        }
    }

    /** The entry of a tensor, or null. */
    public Entry entry(String name) {
        for (Entry e : tensors) {
            if (e.name().equals(name)) {
                return e;
            }
        }
        return null;
    }

    /** Writes the table atomically. */
    public void write(Path file, boolean force) {
        AtomicOutput.writeBytes(file, toJson().getBytes(StandardCharsets.UTF_8), force);
    }

    /** The file's text (deterministic: fixed key order, types in {@link GgmlType} order). */
    public String toJson() {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("format", FORMAT);
        root.put("version", VERSION);
        ObjectNode s = root.putObject("source");
        s.put("model", source.model());
        s.put("data", source.data());
        s.put("tokens", source.tokens());
        s.put("data_sha256", source.dataSha256());
        s.put("imatrix", source.imatrix());
        s.put("reference", source.reference());
        s.put("method", source.method());
        ArrayNode list = root.putArray("tensors");
        for (Entry e : tensors) {
            ObjectNode t = list.addObject();
            t.put("name", e.name());
            t.put("role", e.role().name());
            t.put("layer", e.layer());
            t.put("elements", e.elements());
            ObjectNode d = t.putObject("delta_kld");
            e.deltaKld().forEach((type, v) -> d.put(type.name(), v));
            if (e.kind().containsValue(Kind.PREDICTED)) {
                ObjectNode k = t.putObject("kind");
                e.kind().forEach((type, v) -> k.put(type.name(), v.name().toLowerCase(java.util.Locale.ROOT)));
            }
        }
        try {
            return MAPPER.writeValueAsString(root) + "\n";
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Reads and validates a table; every violation is a {@link FormatException} naming the file. */
    public static SensitivityTable read(Path file) {
        JsonNode root = StrictJson.readFile(file);
        if (!root.isObject() || !FORMAT.equals(root.path("format").asText(null))) {
            throw bad(file, "is not a falconq sensitivity file (\"format\": \"" + FORMAT + "\" missing)");
        }
        if (root.path("version").asInt(-1) != VERSION) {
            throw bad(file, "has version " + root.path("version") + "; this falconq reads version " + VERSION);
        }
        JsonNode s = root.path("source");
        if (!s.isObject()) {
            throw bad(file, "has no \"source\" object");
        }
        Source source = new Source(text(s, "model"), text(s, "data"), s.path("tokens").asLong(0),
                text(s, "data_sha256"), s.path("imatrix").isNull() ? null : text(s, "imatrix"),
                text(s, "reference"), text(s, "method"));
        JsonNode list = root.path("tensors");
        if (!list.isArray()) {
            throw bad(file, "has no \"tensors\" array");
        }
        List<Entry> entries = new ArrayList<>();
        for (JsonNode t : list) {
            String name = t.path("name").asText("");
            TensorRole role;
            try {
                role = TensorRole.valueOf(t.path("role").asText(""));
            } catch (IllegalArgumentException e) {
                throw bad(file, "tensor " + name + " has an unknown role " + t.path("role"));
            }
            Map<GgmlType, Double> delta = new LinkedHashMap<>();
            Map<GgmlType, Kind> kind = new LinkedHashMap<>();
            JsonNode d = t.path("delta_kld");
            if (!d.isObject()) {
                throw bad(file, "tensor " + name + " has no \"delta_kld\" object");
            }
            for (Map.Entry<String, JsonNode> v : d.properties()) {
                GgmlType type = type(file, name, v.getKey());
                if (!v.getValue().isNumber()) {
                    throw bad(file, "tensor " + name + ": ΔKLD of " + v.getKey() + " is not a number");
                }
                delta.put(type, v.getValue().asDouble());
                kind.put(type, Kind.MEASURED);
            }
            for (Map.Entry<String, JsonNode> v : t.path("kind").properties()) {
                try {
                    kind.put(type(file, name, v.getKey()),
                            Kind.valueOf(v.getValue().asText("").toUpperCase(java.util.Locale.ROOT)));
                } catch (IllegalArgumentException e) {
                    throw bad(file, "tensor " + name + ": unknown kind " + v.getValue());
                }
            }
            try {
                entries.add(new Entry(name, role, t.path("layer").asInt(-1), t.path("elements").asLong(0), delta,
                        kind));
            } catch (IllegalArgumentException e) {
                throw bad(file, e.getMessage());
            }
        }
        try {
            return new SensitivityTable(source, entries);
        } catch (IllegalArgumentException e) {
            throw bad(file, e.getMessage());
        }
    }

    private static GgmlType type(Path file, String tensor, String name) {
        try {
            return GgmlType.valueOf(name);
        } catch (IllegalArgumentException e) {
            throw bad(file, "tensor " + tensor + ": unknown type " + name);
        }
    }

    private static String text(JsonNode o, String key) {
        JsonNode v = o.path(key);
        return v.isMissingNode() || v.isNull() ? null : v.asText();
    }

    private static FormatException bad(Path file, String what) {
        return new FormatException(file, 0, "sensitivity file " + what);
    }
}
