package io.falconq.cli.inspect;

import io.falconq.cli.inspect.ModelInspection.Architecture;
import io.falconq.cli.inspect.ModelInspection.EstimateRow;
import io.falconq.cli.inspect.ModelInspection.FileEntry;
import io.falconq.cli.inspect.ModelInspection.Parameters;
import io.falconq.cli.inspect.ModelInspection.TensorRow;
import io.falconq.cli.inspect.ModelInspection.TypeUsage;

import io.falconq.core.convert.alloc.AllocationKeys;

import java.io.PrintWriter;
import java.math.BigDecimal;
import java.math.MathContext;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;

/**
 * The human-readable rendering of a {@link ModelInspection}. Sections: header, Architecture, Parameters, Stored
 * types, (GGUF) Types by tensor role, (GGUF) Quantization keys, Estimated GGUF size, Warnings, Files, and with {@code --tensors} the tensor
 * table. Everything except the header line and Files is independent of where the checkpoint lives and how it is
 * sharded.
 */
public final class InspectionText {
    /** Title of the section listing files and their sizes on disk. */
    public static final String FILES_SECTION = "Files";

    private InspectionText() {
    }

    public static void render(ModelInspection m, boolean tensors, PrintWriter out) {
        out.println(title(m));
        Architecture a = m.architecture();
        if (a != null) {
            section(out, "Architecture (from " + a.from() + ")");
            if (a.name() != null) {
                kv(out, "name", a.name());
            }
            kv(out, "layers", a.layers() + " (attention and Mamba-2 SSM in parallel, then a SwiGLU MLP)");
            kv(out, "hidden size", a.hiddenSize());
            kv(out, "vocabulary", a.vocabSize());
            kv(out, "attention", a.attentionHeads() + " query heads, " + a.kvHeads() + " KV heads, head_dim "
                    + a.headDim());
            String norm = a.ssmGatedNorm() == null ? "" : a.ssmGatedNorm()
                    ? ", gated RMSNorm" + (a.ssmNormBeforeGate() == null ? "" : a.ssmNormBeforeGate()
                    ? " (norm before gate)" : " (gate before norm)")
                    : ", no gated norm";
            kv(out, "SSM", "d_ssm " + a.ssmInnerSize() + " = " + a.ssmHeads() + " heads × " + a.ssmHeadDim() + ", "
                    + a.ssmGroups() + (a.ssmGroups() == 1 ? " group" : " groups") + ", d_state " + a.ssmStateSize()
                    + ", conv kernel " + a.convKernel() + norm);
            kv(out, "MLP", "intermediate size " + a.intermediateSize());
            if (a.tiedEmbeddings() != null) {
                kv(out, "embeddings", a.tiedEmbeddings() ? "tied (lm_head = embed_tokens)" : "untied");
            }
            kv(out, "context", a.contextLength() + " positions, rope_theta " + number(a.ropeTheta()) + ", rms_norm_eps "
                    + number(a.rmsNormEps()));
            if (a.multipliers() != null) {
                StringBuilder sb = new StringBuilder();
                for (Map.Entry<String, Object> e : a.multipliers().entrySet()) {
                    if (!sb.isEmpty()) {
                        sb.append(", ");
                    }
                    Object v = e.getValue();
                    sb.append(e.getKey()).append(' ').append(v instanceof double[] d ? numbers(d) : number((Double) v));
                }
                kv(out, "µP multipliers", sb.toString());
            }
        }

        Parameters p = m.parameters();
        section(out, "Parameters (" + ("config".equals(p.countedFrom()) ? "computed from config.json"
                : "sum of the element counts of " + p.tensorCount() + " tensors") + ")");
        for (Component c : Component.values()) {
            long n = p.of(c);
            if (n != 0 || c != Component.OTHER && c != Component.LM_HEAD) {
                out.printf(Locale.ROOT, "  %-18s %,16d  %6.2f %%%n", c.label(), n, p.total() == 0 ? 0 : 100.0 * n / p.total());
            }
        }
        out.printf(Locale.ROOT, "  %-18s %,16d  (%s)%n", "total", p.total(), humanCount(p.total()));

        if (m.types() != null && !m.types().isEmpty()) {
            boolean gguf = "gguf".equals(m.source().kind());
            section(out, "config".equals(m.source().kind()) ? "Checkpoint size in torch_dtype (computed)"
                    : gguf ? "Tensor types" : "Stored dtypes");
            out.printf(Locale.ROOT, "  %-8s %8s %16s %12s %10s%n", "type", "tensors", "parameters", "size", "bits/weight");
            long bytes = 0;
            long params = 0;
            for (TypeUsage t : m.types()) {
                out.printf(Locale.ROOT, "  %-8s %8d %,16d %12s %10.3f%n", t.type(), t.tensors(), t.parameters(),
                        bytes(t.bytes()), t.bitsPerWeight());
                bytes += t.bytes();
                params += t.parameters();
            }
            out.printf(Locale.ROOT, "  %-8s %8d %,16d %12s %10.3f%n", "all", p.tensorCount(), params, bytes(bytes),
                    params == 0 ? 0 : 8.0 * bytes / params);
        }

        if (m.typesByRole() != null) {
            section(out, "Types by tensor role");
            for (Map.Entry<String, Map<String, Integer>> e : m.typesByRole().entrySet()) {
                StringBuilder sb = new StringBuilder();
                for (Map.Entry<String, Integer> t : e.getValue().entrySet()) {
                    if (!sb.isEmpty()) {
                        sb.append(", ");
                    }
                    sb.append(t.getKey()).append(" ×").append(t.getValue());
                }
                kv(out, e.getKey(), sb.toString());
            }
        }

        if (m.quantization() != null) {
            section(out, "Quantization (quantize.* keys)");
            for (Map.Entry<String, String> e : m.quantization().entrySet()) {
                out.printf(Locale.ROOT, "  %-48s %s%n", e.getKey(), e.getValue());
            }
            if (m.quantization().containsKey(AllocationKeys.PREFIX + "target")) {
                out.println("  per-tensor types chosen by falconq to the target from the sensitivity file of that "
                        + "SHA-256 (convert --target-size/--target-bpw); predicted ΔKLD in nats/token");
            }
        }

        if (m.estimates() != null) {
            section(out, "Estimated GGUF size (tensor data; + header with metadata and tokenizer)");
            out.printf(Locale.ROOT, "  %-8s %12s %10s  %s%n", "mix", "size", "bits/weight", "notes");
            for (EstimateRow e : m.estimates().sizes()) {
                String notes = e.fallbackTensors() > 0
                        ? e.fallbackTensors() + " tensors fall back (rows not a block multiple)" : "";
                out.printf(Locale.ROOT, "  %-8s %12s %10.3f  %s%n", e.type(), bytes(e.bytes()), e.bitsPerWeight(), notes);
            }
            out.println("  method: " + m.estimates().method());
        }

        if (!m.warnings().isEmpty()) {
            section(out, "Warnings");
            for (String w : m.warnings()) {
                out.println("  ! " + w);
            }
        }

        if (m.source().files() != null) {
            section(out, FILES_SECTION);
            for (FileEntry f : m.source().files()) {
                out.printf(Locale.ROOT, "  %12s  %s%n", bytes(f.bytes()), f.path());
            }
            if (m.source().files().size() > 1) {
                out.printf(Locale.ROOT, "  %12s  total on disk%n", bytes(m.source().bytesOnDisk()));
            }
        }

        if (tensors) {
            section(out, "Tensors");
            int width = 8;
            for (TensorRow r : m.tensors()) {
                width = Math.max(width, r.name().length());
            }
            out.printf(Locale.ROOT, "  %-" + width + "s  %-10s %-7s %-18s %14s %11s %9s%n", "name", "component", "type",
                    "shape", "parameters", "size", "bits/w");
            for (TensorRow r : m.tensors()) {
                out.printf(Locale.ROOT, "  %-" + width + "s  %-10s %-7s %-18s %,14d %11s %9.3f%n", r.name(), r.component(),
                        r.type() == null ? "-" : r.type(), Arrays.toString(r.shape()), r.elements(),
                        r.bytes() == 0 ? "-" : bytes(r.bytes()), r.bitsPerWeight());
            }
        }
        out.flush();
    }

    private static String title(ModelInspection m) {
        String kind = switch (m.source().kind()) {
            case "hf-checkpoint" -> "Hugging Face checkpoint, " + m.source().files().size()
                    + (m.source().files().size() == 1 ? " weights file" : " shards");
            case "safetensors-file" -> "safetensors file";
            case "config" -> "config only";
            case "gguf" -> "GGUF" + (m.source().fileType() == null ? "" : " " + m.source().fileType());
            default -> m.source().kind();
        };
        return m.source().path() + "  (" + kind + ")";
    }

    private static void section(PrintWriter out, String title) {
        out.println();
        out.println(title);
    }

    private static void kv(PrintWriter out, String key, Object value) {
        out.printf(Locale.ROOT, "  %-18s %s%n", key, value);
    }

    /** Binary units, as du -h and llama.cpp print sizes. */
    public static String bytes(long n) {
        if (n < 1024) {
            return n + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = n;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, v >= 100 ? "%.0f %s" : v >= 10 ? "%.1f %s" : "%.2f %s", v, units[u]);
    }

    static String humanCount(long n) {
        if (n >= 1_000_000_000L) {
            return String.format(Locale.ROOT, "%.2f B", n / 1e9);
        }
        if (n >= 1_000_000L) {
            return String.format(Locale.ROOT, "%.2f M", n / 1e6);
        }
        return String.format(Locale.ROOT, "%.1f K", n / 1e3);
    }

    /** Six significant digits, trailing zeros dropped: 1E+11, 0.00001, 0.15625, 5.65685. */
    private static String number(double v) {
        if (!Double.isFinite(v)) {
            return Double.toString(v);
        }
        return new BigDecimal(v).round(new MathContext(6)).stripTrailingZeros().toString();
    }

    private static String numbers(double[] v) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < v.length; i++) {
            sb.append(i == 0 ? "" : ", ").append(number(v[i]));
        }
        return sb.append(']').toString();
    }
}
