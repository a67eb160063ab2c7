package io.falconq.core.convert.alloc;

import io.falconq.formats.gguf.GgmlType;
import io.falconq.formats.io.AtomicOutput;
import io.falconq.formats.io.FormatException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * llama-quantize's {@code --tensor-type-file}: whitespace-separated {@code PATTERN=TYPE} tokens (tools/quantize/
 * quantize.cpp {@code parse_tensor_type_file}). Its semantics, read in the pinned release's source, decide how this
 * file must be written:
 * <ul>
 *   <li>PATTERN is lower-cased and compiled as a {@code std::regex} that is <em>searched</em> in the tensor name
 *       (llama-quant.cpp {@code llama_tensor_get_type}); the first matching pattern wins. A bare name would also
 *       match longer ones ({@code blk.1.attn_q.weight} matches {@code blk.11.attn_q.weight}, and {@code .} matches
 *       any character), so every name is written anchored and escaped: {@code ^blk\.1\.attn_q\.weight$}.</li>
 *   <li>TYPE is a ggml type name, case-insensitive.</li>
 *   <li>A matched tensor skips the file type's mix (and its layer counters); the row-length fallbacks still apply
 *       after it, and {@code --output-tensor-type}/{@code --token-embedding-type}, when given, take precedence. The
 *       overrides apply only to tensors llama-quantize quantizes, and only when the file type's base is quantized.</li>
 *   <li>Types that need an importance matrix (IQ1–IQ3_XXS) still need {@code --imatrix}.</li>
 * </ul>
 * falconq writes every quantized tensor's concrete type, so no mix rule or fallback is left for llama-quantize to
 * decide.
 */
public final class TensorTypeFile {
    /** One {@code PATTERN=TYPE} token. */
    public record Rule(String pattern, GgmlType type) {
    }

    private TensorTypeFile() {
    }

    /** Writes one anchored rule per tensor, in the given order, atomically. */
    public static void write(Path file, Map<String, GgmlType> types, boolean force) {
        AtomicOutput.writeBytes(file, text(types).getBytes(StandardCharsets.UTF_8), force);
    }

    /** The file's text: one {@code ^NAME$=type} line per tensor. */
    public static String text(Map<String, GgmlType> types) {
        StringBuilder sb = new StringBuilder();
        types.forEach((name, type) -> sb.append(exactName(name)).append('=')
                .append(type.name().toLowerCase(Locale.ROOT)).append('\n'));
        return sb.toString();
    }

    /** A regular expression matching exactly {@code name}. */
    static String exactName(String name) {
        StringBuilder sb = new StringBuilder("^");
        for (char c : name.toCharArray()) {
            if (!Character.isLetterOrDigit(c) && c != '_') {
                sb.append('\\');
            }
            sb.append(c);
        }
        return sb.append('$').toString();
    }

    /** Reads the rules, as llama-quantize parses them; a malformed token is a {@link FormatException}. */
    public static List<Rule> read(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new FormatException(file, 0, "cannot read tensor type file: " + e.getMessage());
        }
        List<Rule> rules = new ArrayList<>();
        for (String token : text.trim().split("\\s+")) {
            if (token.isEmpty()) {
                continue;
            }
            int eq = token.indexOf('=');
            if (eq <= 0 || eq == token.length() - 1) {
                throw new FormatException(file, 0, "malformed tensor type \"" + token + "\" (expected PATTERN=TYPE)");
            }
            GgmlType type;
            try {
                type = GgmlType.valueOf(token.substring(eq + 1).toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new FormatException(file, 0, "unknown type in \"" + token + "\"");
            }
            rules.add(new Rule(token.substring(0, eq).toLowerCase(Locale.ROOT), type));
        }
        return rules;
    }

    /** What the rules give each named tensor, llama-quantize's way (first pattern found in the name wins). */
    public static Map<String, GgmlType> resolve(List<Rule> rules, List<String> tensorNames) {
        List<Pattern> compiled = new ArrayList<>();
        for (Rule r : rules) {
            try {
                compiled.add(Pattern.compile(r.pattern()));
            } catch (PatternSyntaxException e) {
                throw new IllegalArgumentException("bad pattern " + r.pattern() + ": " + e.getDescription());
            }
        }
        Map<String, GgmlType> out = new LinkedHashMap<>();
        for (String name : tensorNames) {
            for (int i = 0; i < compiled.size(); i++) {
                if (compiled.get(i).matcher(name).find()) {
                    out.put(name, rules.get(i).type());
                    break;
                }
            }
        }
        return out;
    }
}
