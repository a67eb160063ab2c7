package io.falconq.cli.pipeline;

import io.falconq.core.convert.recipe.QuantRecipe;
import io.falconq.jobs.intquant.IntQuantMethod;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.core.intquant.IntQuantScheme;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One entry of a variant list: what artifact to make from a model.
 * <ul>
 *   <li>a llama-quantize mix name ({@code Q8_0}, {@code Q4_K_M}, …), optionally with {@code -imatrix}: a GGUF file
 *       made by {@code falconq convert}, the imatrix variant using the model's importance matrix from
 *       {@code falconq calibrate};</li>
 *   <li>{@code w8} / {@code w4}, optionally {@code -rtn|-clip|-awq|-gptq} and {@code -g<N>} or {@code -gch}: an int8
 *       or int4 safetensors folder in the GPTQ layout made by {@code falconq quantize} (SPEC §3);</li>
 *   <li>{@code auto@<MIX>-size} or {@code auto@<BITS>bpw}: a GGUF file with per-tensor types chosen from the model's
 *       measured sensitivities ({@link MeasureStep}) to a budget, as {@code falconq convert --target-size SIZE} (SIZE:
 *       the byte size of stock mix MIX's file for this model, e.g. {@code auto@Q4_K_M-imatrix-size}) or
 *       {@code --target-bpw BITS} makes it, always with the model's importance matrix.</li>
 * </ul>
 */
public sealed interface VariantSpec permits VariantSpec.Gguf, VariantSpec.IntQuant, VariantSpec.Auto {

    /** The name as written in the list, normalised ({@code q4_k_m} → {@code Q4_K_M}); used in file names. */
    String name();

    /** The name as it appears in file names and step ids: {@link #name()}, except {@code auto@X} → {@code auto-X}. */
    default String fileName() {
        return name();
    }

    /** True when the artifact needs the model's calibration statistics. */
    boolean needsCalibration();

    /**
     * @param recipe  llama-quantize mix
     * @param imatrix quantize with the model's importance matrix
     */
    record Gguf(String name, QuantRecipe recipe, boolean imatrix) implements VariantSpec {
        @Override
        public boolean needsCalibration() {
            return imatrix;
        }
    }

    /**
     * @param scheme bits, group size, symmetry
     * @param method how the integers are chosen: {@code rtn}, {@code clip}, {@code awq} or {@code gptq}
     */
    record IntQuant(String name, IntQuantScheme scheme, String method) implements VariantSpec {
        /** The job's method that {@link #method()} names. */
        public IntQuantMethod intQuantMethod() {
            return IntQuantMethod.ofLabel(method).orElseThrow(() -> new IllegalArgumentException(
                    "no int-quant method \"" + method + "\""));
        }

        @Override
        public boolean needsCalibration() {
            return intQuantMethod().needsCalibration();
        }
    }

    /**
     * A GGUF allocated to a budget ({@link AutoConvertStep}).
     *
     * @param sizeOf        the stock mix whose file size is the budget, or null for a bits-per-weight budget
     * @param bitsPerWeight the bits-per-weight budget (NaN with {@code sizeOf})
     */
    record Auto(String name, Gguf sizeOf, double bitsPerWeight) implements VariantSpec {
        @Override
        public boolean needsCalibration() {
            return true;
        }

        @Override
        public String fileName() {
            return name.replace('@', '-');
        }
    }

    String AUTO_PREFIX = "auto@";

    /** Group size of {@code w4} when none is given: 128, the size of TII's and most published GPTQ int4 releases. */
    int DEFAULT_W4_GROUP = 128;

    Pattern INT_NAME = Pattern.compile("w([48])(?:-(rtn|clip|awq|gptq))?(?:-g(\\d+|ch))?");
    String IMATRIX_SUFFIX = "-imatrix";

    static VariantSpec parse(String text) {
        String trimmed = text.strip();
        if (trimmed.isEmpty()) {
            throw new InvalidInputException("empty variant name");
        }
        Matcher m = INT_NAME.matcher(trimmed.toLowerCase(Locale.ROOT));
        if (m.matches()) {
            int bits = Integer.parseInt(m.group(1));
            String method = m.group(2) == null ? "rtn" : m.group(2);
            int group = m.group(3) == null ? (bits == 8 ? -1 : DEFAULT_W4_GROUP)
                    : m.group(3).equals("ch") ? -1 : Integer.parseInt(m.group(3));
            IntQuantScheme scheme;
            try {
                scheme = new IntQuantScheme(bits, group, true, false);
            } catch (IllegalArgumentException e) {
                throw new InvalidInputException("variant " + trimmed + ": " + e.getMessage(), e);
            }
            return new IntQuant(trimmed.toLowerCase(Locale.ROOT), scheme, method);
        }
        if (trimmed.toLowerCase(Locale.ROOT).startsWith(AUTO_PREFIX)) {
            return parseAuto(trimmed);
        }
        String upper = trimmed.toUpperCase(Locale.ROOT);
        boolean imatrix = upper.endsWith(IMATRIX_SUFFIX.toUpperCase(Locale.ROOT));
        String mix = imatrix ? trimmed.substring(0, trimmed.length() - IMATRIX_SUFFIX.length()) : trimmed;
        QuantRecipe recipe;
        try {
            recipe = QuantRecipe.named(mix);
        } catch (InvalidInputException e) {
            throw new InvalidInputException("unknown variant \"" + trimmed + "\": expected a llama-quantize mix ("
                    + e.getMessage().replaceFirst("^.*expected one of ", "") + "), optionally with -imatrix, "
                    + "or w8 / w4 with -rtn, -clip, -awq or -gptq and -g<N> or -gch", e);
        }
        return new Gguf(recipe.name() + (imatrix ? IMATRIX_SUFFIX : ""), recipe, imatrix);
    }

    private static Auto parseAuto(String text) {
        String budget = text.substring(AUTO_PREFIX.length());
        String lower = budget.toLowerCase(Locale.ROOT);
        if (lower.endsWith("-size")) {
            VariantSpec mix;
            try {
                mix = parse(budget.substring(0, budget.length() - "-size".length()));
            } catch (InvalidInputException e) {
                throw new InvalidInputException("variant " + text + ": " + e.getMessage(), e);
            }
            if (!(mix instanceof Gguf gguf) || !gguf.recipe().isQuantized()) {
                throw new InvalidInputException("variant " + text + ": the budget must be a quantized llama-quantize "
                        + "mix's size, e.g. auto@Q4_K_M-size or auto@Q4_K_M-imatrix-size");
            }
            return new Auto(AUTO_PREFIX + gguf.name() + "-size", gguf, Double.NaN);
        }
        if (lower.endsWith("bpw")) {
            String number = budget.substring(0, budget.length() - 3);
            double bits;
            try {
                bits = Double.parseDouble(number);
            } catch (NumberFormatException e) {
                bits = Double.NaN;
            }
            if (!(bits > 0 && bits <= 32) || !number.matches("[0-9]+(\\.[0-9]+)?")) {
                throw new InvalidInputException("variant " + text + ": bits per weight must be a number in (0, 32], "
                        + "e.g. auto@3.5bpw");
            }
            return new Auto(AUTO_PREFIX + new java.math.BigDecimal(number).stripTrailingZeros().toPlainString() + "bpw",
                    null, bits);
        }
        throw new InvalidInputException("variant " + text + ": expected auto@<MIX>-size (e.g. auto@Q4_K_M-size) or "
                + "auto@<BITS>bpw (e.g. auto@3.5bpw)");
    }
}
