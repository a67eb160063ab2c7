package io.falconq.formats.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import io.falconq.formats.io.FormatException;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code model.safetensors.index.json}: {@code {"metadata": {...}, "weight_map": {tensor name: shard file name}}}.
 * Shard names are validated to be plain file names (no path separators, no {@code ..}); whether they resolve
 * inside the checkpoint folder is checked by {@code HfCheckpoint} when it opens them.
 *
 * @param file      the index file
 * @param metadata  the raw {@code "metadata"} object (may be empty), e.g. {@code total_size}
 * @param weightMap tensor name to shard file name, in file order
 */
public record ShardIndex(Path file, JsonNode metadata, Map<String, String> weightMap) {
    public ShardIndex {
        weightMap = Collections.unmodifiableMap(new LinkedHashMap<>(weightMap));
    }

    /** Distinct shard file names in order of first appearance. */
    public List<String> shardNames() {
        return List.copyOf(new LinkedHashSet<>(weightMap.values()));
    }

    public static ShardIndex read(Path file) {
        JsonNode root = StrictJson.readFile(file);
        if (!root.isObject()) {
            throw new FormatException(file, -1, "index is a " + root.getNodeType().name().toLowerCase(Locale.ROOT) + ", expected an object");
        }
        JsonNode map = root.get("weight_map");
        if (map == null || !map.isObject()) {
            throw new FormatException(file, -1, map == null ? "missing \"weight_map\""
                    : "\"weight_map\" is a " + map.getNodeType().name().toLowerCase(Locale.ROOT) + ", expected an object");
        }
        JsonNode metadata = root.get("metadata");
        if (metadata != null && !metadata.isObject() && !metadata.isNull()) {
            throw new FormatException(file, -1, "\"metadata\" is a " + metadata.getNodeType().name().toLowerCase(Locale.ROOT)
                    + ", expected an object");
        }
        Map<String, String> weightMap = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : map.properties()) {
            if (!e.getValue().isTextual()) {
                throw new FormatException(file, -1, "weight_map entry \"" + e.getKey() + "\" is " + e.getValue()
                        + ", expected a shard file name");
            }
            String shard = e.getValue().textValue();
            String problem = plainFileNameProblem(shard);
            if (problem != null) {
                throw new FormatException(file, -1, "weight_map entry \"" + e.getKey() + "\" names shard \"" + shard
                        + "\", which " + problem + " (shards must be plain file names in the checkpoint folder)");
            }
            weightMap.put(e.getKey(), shard);
        }
        return new ShardIndex(file, metadata == null || metadata.isNull()
                ? com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode() : metadata, weightMap);
    }

    /**
     * The index as transformers writes it: {@code json.dumps(index, indent=2, sort_keys=True) + "\n"}, so keys sorted
     * by code point at every level and everything outside printable ASCII escaped ({@code ensure_ascii}).
     *
     * @param metadata  the {@code "metadata"} entries (e.g. {@code total_size}), any order
     * @param weightMap tensor name to shard file name, any order
     */
    public static byte[] toJson(Map<String, Long> metadata, Map<String, String> weightMap) {
        StringBuilder json = new StringBuilder(64 + 80 * weightMap.size());
        json.append("{\n  \"metadata\": ");
        appendSortedObject(json, metadata);
        json.append(",\n  \"weight_map\": ");
        appendSortedObject(json, weightMap);
        json.append("\n}\n");
        return json.toString().getBytes(StandardCharsets.US_ASCII);
    }

    private static void appendSortedObject(StringBuilder json, Map<String, ?> entries) {
        if (entries.isEmpty()) {
            json.append("{}");
            return;
        }
        List<String> keys = new ArrayList<>(entries.keySet());
        keys.sort(ShardIndex::compareCodePoints);
        json.append('{');
        for (int i = 0; i < keys.size(); i++) {
            json.append(i == 0 ? "\n    " : ",\n    ");
            JsonString.appendPythonAscii(json, keys.get(i));
            json.append(": ");
            Object value = entries.get(keys.get(i));
            if (value instanceof String s) {
                JsonString.appendPythonAscii(json, s);
            } else {
                json.append(value);
            }
        }
        json.append("\n  }");
    }

    /** Python's str order; Java's {@code compareTo} differs for characters above the surrogate range. */
    private static int compareCodePoints(String a, String b) {
        return Arrays.compare(a.codePoints().toArray(), b.codePoints().toArray());
    }

    /** Why {@code name} is not a plain file name, or null if it is. */
    static String plainFileNameProblem(String name) {
        if (name.isEmpty()) {
            return "is empty";
        }
        if (name.equals(".") || name.equals("..")) {
            return "is a directory reference";
        }
        if (name.indexOf('/') >= 0 || name.indexOf('\\') >= 0) {
            return "contains a path separator";
        }
        if (name.indexOf('\0') >= 0) {
            return "contains a NUL character";
        }
        if (name.length() >= 2 && name.charAt(1) == ':') {
            return "looks like an absolute Windows path";
        }
        return null;
    }
}
