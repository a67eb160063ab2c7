package io.falconq.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Name lookups in both directions over the {@link TensorRole} table: a Hugging Face or GGUF tensor name resolves to
 * its role and layer, and a role plus layer gives either name. Each template becomes one anchored pattern, so a name
 * matches exactly one role or none (no substring tests, unlike {@code falcon_h1.py} and {@code llama-quant.cpp}).
 */
public final class TensorNameMap {
    /** A role at a layer ({@code layer} is -1 for the global tensors). */
    public record RoleAt(TensorRole role, int layer) {
        public String hfName() {
            return role.hfName(layer);
        }

        public String ggufName() {
            return role.ggufName(layer);
        }
    }

    private static final List<Entry> HF = compile(true);
    private static final List<Entry> GGUF = compile(false);

    private TensorNameMap() {
    }

    /** The role of a Hugging Face checkpoint tensor, e.g. {@code model.layers.3.mamba.A_log → (SSM_A, 3)}. */
    public static Optional<RoleAt> fromHf(String name) {
        return match(HF, name);
    }

    /** The role of a GGUF tensor, e.g. {@code blk.3.ffn_norm → (FFN_NORM, 3)}. */
    public static Optional<RoleAt> fromGguf(String name) {
        return match(GGUF, name);
    }

    /**
     * The layer index in a GGUF name as llama.cpp's loader reads it ({@code sscanf(name, "blk.%d.")}), or -1 for
     * names outside any layer. Used for the loader's tensor order.
     */
    public static int ggufLayerOf(String name) {
        if (!name.startsWith("blk.")) {
            return -1;
        }
        int end = name.indexOf('.', 4);
        if (end <= 4) {
            return -1;
        }
        try {
            return Integer.parseInt(name.substring(4, end));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static Optional<RoleAt> match(List<Entry> entries, String name) {
        for (Entry e : entries) {
            Matcher m = e.pattern.matcher(name);
            if (m.matches()) {
                int layer = -1;
                if (e.role.perLayer()) {
                    String digits = m.group(1);
                    // reject "007": llama.cpp writes the layer as a plain decimal
                    if (digits.length() > 1 && digits.charAt(0) == '0' || digits.length() > 9) {
                        return Optional.empty();
                    }
                    layer = Integer.parseInt(digits);
                }
                return Optional.of(new RoleAt(e.role, layer));
            }
        }
        return Optional.empty();
    }

    private record Entry(TensorRole role, Pattern pattern) {
    }

    private static List<Entry> compile(boolean hf) {
        List<Entry> out = new ArrayList<>();
        for (TensorRole r : TensorRole.values()) {
            String template = hf ? r.hfTemplate() : r.ggufTemplate();
            int at = template.indexOf(TensorRole.LAYER);
            String regex = at < 0 ? Pattern.quote(template)
                    : Pattern.quote(template.substring(0, at)) + "(\\d+)"
                    + Pattern.quote(template.substring(at + TensorRole.LAYER.length()));
            out.add(new Entry(r, Pattern.compile(regex)));
        }
        return List.copyOf(out);
    }
}
