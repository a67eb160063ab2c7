package io.falconq.core.model;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Name lookups in both directions over the {@link TensorRole} table: a Hugging Face or GGUF tensor name resolves to
 * its role and layer, and a role plus layer gives either name. A name matches a whole template (the layer number in
 * place of {@code {bid}}) of exactly one role or none: no substring tests, unlike {@code falcon_h1.py} and
 * {@code llama-quant.cpp}, and no regular expressions, which made the lookups of a 0.5B model's 579 tensor names hot
 * enough for C2 to compile the regex engine during start-up.
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

    private static final Table HF = table(true);
    private static final Table GGUF = table(false);

    private TensorNameMap() {
    }

    /**
     * Every tensor a checkpoint of {@code c} stores ({@link TensorRole#storedIn}): role by role in table order, each
     * role's layers in order.
     */
    public static List<RoleAt> stored(FalconH1Config c) {
        List<RoleAt> tensors = new ArrayList<>();
        for (TensorRole role : TensorRole.values()) {
            if (role.storedIn(c)) {
                for (int layer = 0; layer < (role.perLayer() ? c.numLayers() : 1); layer++) {
                    tensors.add(new RoleAt(role, role.perLayer() ? layer : -1));
                }
            }
        }
        return tensors;
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

    private static Optional<RoleAt> match(Table table, String name) {
        TensorRole global = table.global().get(name);
        if (global != null) {
            return Optional.of(new RoleAt(global, -1));
        }
        for (Map.Entry<String, Map<String, TensorRole>> perLayer : table.byPrefix().entrySet()) {
            String prefix = perLayer.getKey();
            if (!name.startsWith(prefix)) {
                continue;
            }
            int digitsEnd = prefix.length();
            while (digitsEnd < name.length() && name.charAt(digitsEnd) >= '0' && name.charAt(digitsEnd) <= '9') {
                digitsEnd++;
            }
            TensorRole role = perLayer.getValue().get(name.substring(digitsEnd));
            if (digitsEnd == prefix.length() || role == null) {
                continue;
            }
            String digits = name.substring(prefix.length(), digitsEnd);
            // reject "007": llama.cpp writes the layer as a plain decimal
            if (digits.length() > 1 && digits.charAt(0) == '0' || digits.length() > 9) {
                return Optional.empty();
            }
            return Optional.of(new RoleAt(role, Integer.parseInt(digits)));
        }
        return Optional.empty();
    }

    /**
     * A format's templates: global names exactly, per-layer ones split around the layer number into prefix and
     * suffix. Every suffix starts with a non-digit, so the digits after a prefix are exactly the layer number and a
     * name matches at most one template.
     */
    private record Table(Map<String, TensorRole> global, Map<String, Map<String, TensorRole>> byPrefix) {
    }

    private static Table table(boolean hf) {
        Map<String, TensorRole> global = new HashMap<>();
        Map<String, Map<String, TensorRole>> byPrefix = new LinkedHashMap<>();
        for (TensorRole r : TensorRole.values()) {
            String template = hf ? r.hfTemplate() : r.ggufTemplate();
            int at = template.indexOf(TensorRole.LAYER);
            TensorRole clash;
            if (at < 0) {
                clash = global.put(template, r);
            } else {
                String suffix = template.substring(at + TensorRole.LAYER.length());
                if (suffix.isEmpty() || Character.isDigit(suffix.charAt(0))) {
                    throw new IllegalStateException(r + ": the layer number must be followed by a non-digit");
                }
                clash = byPrefix.computeIfAbsent(template.substring(0, at), k -> new HashMap<>()).put(suffix, r);
            }
            if (clash != null) {
                throw new IllegalStateException(r + " and " + clash + " share the template " + template);
            }
        }
        return new Table(Map.copyOf(global), Collections.unmodifiableMap(byPrefix));
    }
}
