package io.falconq.formats.safetensors;

import java.util.Locale;

/**
 * A JSON string literal as the writers of our two JSON files write it: the short escapes {@code " \\ \b \f \n \r \t},
 * then {@code \\u00xx} (lower-case hex) for the other control characters. The safetensors header follows serde_json,
 * which stops there; the shard index follows Python's {@code json.dump} with {@code ensure_ascii}
 * ({@code py_encode_basestring_ascii}), which also escapes everything above 0x7e, UTF-16 unit by unit.
 */
final class JsonString {
    private JsonString() {
    }

    /** serde_json's escaping (the safetensors header). */
    static void appendSerde(StringBuilder json, String s) {
        append(json, s, false);
    }

    /** Python's {@code ensure_ascii} escaping (model.safetensors.index.json). */
    static void appendPythonAscii(StringBuilder json, String s) {
        append(json, s, true);
    }

    private static void append(StringBuilder json, String s, boolean escapeNonAscii) {
        json.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> json.append("\\\"");
                case '\\' -> json.append("\\\\");
                case '\b' -> json.append("\\b");
                case '\f' -> json.append("\\f");
                case '\n' -> json.append("\\n");
                case '\r' -> json.append("\\r");
                case '\t' -> json.append("\\t");
                default -> {
                    if (c < 0x20 || (escapeNonAscii && c > 0x7e)) {
                        json.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        json.append(c);
                    }
                }
            }
        }
        json.append('"');
    }
}
