package io.falconq.cli.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A Hugging Face model card ({@code README.md} with YAML front matter, huggingface_hub's {@code ModelCardData}
 * fields) for one Hub repository of a pipeline run: the GGUF files of a model, or one GPTQ folder. Every number in
 * the file table is the {@code report.json} value, rounded as {@link #bpw}, {@link #deltaPpl}, {@link #kld} and
 * {@link #top1} say (the pipeline test re-derives each from report.json). Pure function of its inputs.
 */
public final class ModelCard {
    public static final String FILE_NAME = "README.md";

    private ModelCard() {
    }

    /**
     * What the card says beyond report.json.
     *
     * @param baseModel   the source's Hub id, or null when the checkpoint does not name one
     * @param license     {@code license}, {@code license_name}, {@code license_link} from the source's card, in
     *                    that order; empty when the source states none
     * @param imatrix     how the importance matrix was made, or null when no variant used one
     * @param command     the exact pipeline command line
     * @param library     {@code gguf} or {@code transformers}
     * @param folderOf    prefix of the report's artifact paths to strip, so paths are relative to the card's folder
     */
    public record Inputs(String baseModel, Map<String, String> license, Imatrix imatrix, String command,
                         String library, String folderOf) {
    }

    /**
     * @param text       the calibration text as given ({@code builtin:en} or a path)
     * @param textSha256 SHA-256 of its bytes
     * @param tokens     tokens the calibration pass ran through the model
     * @param chunks     chunks of {@code chunkSize} tokens recorded in the imatrix ({@code imatrix.chunk_count})
     * @param file       the imatrix file as published (relative to the card's folder), or null when not published here
     * @param fileBytes  its size
     */
    public record Imatrix(String text, String textSha256, long tokens, int chunks, int chunkSize, String file,
                          long fileBytes) {
    }

    public static String render(ModelReport model, EvaluationSetup eval, List<VariantReport> variants, Inputs in) {
        StringBuilder s = new StringBuilder("---\n");
        s.append("base_model: ").append(yaml(in.baseModel() != null ? in.baseModel() : model.name())).append('\n');
        s.append("base_model_relation: quantized\n");
        in.license().forEach((k, v) -> s.append(k).append(": ").append(yaml(v)).append('\n'));
        s.append("tags:\n- falcon-h1\n- quantized\n");
        boolean gguf = variants.stream().anyMatch(v -> v.kind() == VariantReport.Kind.GGUF);
        s.append(gguf ? "- gguf\n" : "- gptq\n");
        if (in.imatrix() != null && gguf) {
            s.append("- imatrix\n");
        }
        s.append("library_name: ").append(in.library()).append('\n');
        s.append("pipeline_tag: text-generation\n---\n\n");

        s.append("# ").append(model.name()).append(gguf ? " GGUF" : " " + variants.getFirst().name()).append("\n\n");
        s.append("Quantized from `").append(in.baseModel() != null ? in.baseModel() : model.source().path())
                .append("` (").append(model.source().dtype()).append(", ")
                .append(String.format(Locale.ROOT, "%,d", model.parameterCount())).append(" weights) by falconq.\n\n");
        if (in.baseModel() == null) {
            s.append("> **Before publishing:** the checkpoint does not name its Hub repository, so `base_model` is the "
                    + "local name `").append(model.name()).append("`; set it to the base model's Hub id.\n\n");
        }
        if (in.license().isEmpty()) {
            s.append("> **License:** the source checkpoint (`").append(model.source().path()).append("`) states no "
                    + "license (no `license` in its README.md front matter), so none is given here; add the base "
                    + "model's license before publishing.\n\n");
        }

        s.append("## Files\n\n");
        s.append("Measured against the original (").append(model.source().dtype()).append(", perplexity ")
                .append(fixed(model.baseline().ppl(), 4)).append(") on ").append(eval.scoredTokens())
                .append(" scored tokens of `").append(eval.dataset()).append("` (SHA-256 `").append(eval.datasetSha256())
                .append("`, ").append(eval.chunks()).append(" windows of ").append(eval.contextLength())
                .append(" tokens, ").append(eval.protocol()).append(" protocol). ΔPPL = variant − original perplexity "
                        + "± one standard error; KLD = mean KL divergence (nats) of the variant's next-token "
                        + "distribution from the original's; top-1 = % of positions with the original's most likely token.\n\n");
        s.append("| file | size | bits/weight | ΔPPL | KLD | top-1 % |\n|---|---:|---:|---:|---:|---:|\n");
        for (VariantReport v : variants) {
            s.append("| `").append(file(v, in.folderOf())).append("` | ").append(size(v.fileSizeBytes()))
                    .append(" | ").append(bpw(v.bitsPerWeight())).append(" | ").append(deltaPpl(v.deltaPpl()))
                    .append(" ± ").append(deltaPpl(v.deltaPplError())).append(" | ").append(kld(v.kld().mean()))
                    .append(" | ").append(top1(v.top1Percent())).append(" |\n");
        }
        Imatrix im = in.imatrix();
        if (im != null && im.file() != null) {
            s.append("| `").append(im.file()).append("` | ").append(size(im.fileBytes()))
                    .append(" | importance matrix | | | |\n");
        }
        s.append('\n');
        List<VariantReport> split = variants.stream().filter(v -> !v.artifact().shards().isEmpty()).toList();
        if (!split.isEmpty()) {
            s.append("Split files (llama.cpp's `gguf-split` convention): llama.cpp and falconq open the first shard, "
                    + "the one named above, and load the others from beside it; `llama-gguf-split --merge FIRST OUT` "
                    + "joins them into one file. A split variant's size above is the sum of its shards:\n\n");
            s.append("| shard | size |\n|---|---:|\n");
            for (VariantReport v : split) {
                for (VariantReport.Shard shard : v.artifact().shards()) {
                    s.append("| `").append(relative(shard.path(), in.folderOf())).append("` | ")
                            .append(size(shard.sizeBytes())).append(" |\n");
                }
            }
            s.append('\n');
        }

        if (im != null) {
            s.append("## Importance matrix\n\n");
            s.append("The importance matrix (used by the `-imatrix` variants) was computed from `").append(im.text())
                    .append("` (SHA-256 `").append(im.textSha256()).append("`): ").append(im.tokens())
                    .append(" tokens through the original model, ").append(im.chunks()).append(" chunks of ")
                    .append(im.chunkSize()).append(" tokens recorded. GGUF files made with it carry llama-quantize's "
                            + "`quantize.imatrix.file`, `quantize.imatrix.dataset`, `quantize.imatrix.entries_count` "
                            + "and `quantize.imatrix.chunks_count` keys.\n\n");
        }

        s.append("## How these files were made\n\n```bash\n").append(in.command()).append("\n```\n\n");
        s.append("falconq writes the GGUF bytes llama.cpp's `convert_hf_to_gguf.py` + `llama-quantize` write from the "
                + "same checkpoint and importance matrix (checked bit for bit on falconq's test model); each file's "
                + "SHA-256 is in the run's `manifest.json`.\n\n");
        s.append("## Use\n\n```bash\n");
        if (gguf) {
            s.append("llama-cli -m ").append(file(variants.getFirst(), in.folderOf())).append(" -p \"Hello\"\n");
        } else {
            s.append("# a GPTQ (AutoGPTQ v1 layout) folder; see the engine notes in falconq's README before use\n");
        }
        s.append("```\n");
        return s.toString();
    }

    /** A variant's path relative to the card's folder: the GGUF file, or the GPTQ folder with a trailing slash. */
    static String file(VariantReport v, String folderOf) {
        String p = v.artifact().path();
        if (v.kind() == VariantReport.Kind.GPTQ && p.endsWith("/model.safetensors")) {
            p = p.substring(0, p.length() - "model.safetensors".length());
        }
        String relative = relative(p, folderOf);
        // a GPTQ repository's own card: the weights file at its root
        return relative.isEmpty() ? "model.safetensors" : relative;
    }

    private static String relative(String path, String folderOf) {
        return folderOf != null && path.startsWith(folderOf) ? path.substring(folderOf.length()) : path;
    }

    public static String bpw(double v) {
        return fixed(v, 3);
    }

    public static String deltaPpl(double v) {
        return fixed(v, 4);
    }

    public static String kld(double v) {
        return fixed(v, 6);
    }

    public static String top1(double v) {
        return fixed(v, 2);
    }

    private static String fixed(double v, int decimals) {
        return new java.math.BigDecimal(Double.toString(v)).setScale(decimals, java.math.RoundingMode.HALF_EVEN)
                .toPlainString();
    }

    static String size(long bytes) {
        String[] units = {"B", "KB", "MB", "GB", "TB"};
        double v = bytes;
        int u = 0;
        while (v >= 1000 && u < units.length - 1) {
            v /= 1000;
            u++;
        }
        return (u == 0 ? bytes + " B" : String.format(Locale.ROOT, "%.2f %s", v, units[u]));
    }

    /** A YAML plain scalar when safe, else double-quoted. */
    private static String yaml(String v) {
        if (v.matches("[A-Za-z0-9][A-Za-z0-9._/ -]*") && !v.endsWith(" ")) {
            return v;
        }
        List<String> out = new ArrayList<>();
        for (char c : v.toCharArray()) {
            out.add(c == '"' || c == '\\' ? "\\" + c : String.valueOf(c));
        }
        return "\"" + String.join("", out) + "\"";
    }
}
