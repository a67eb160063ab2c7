package io.falconq.cli.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import io.falconq.cli.report.ModelCard;
import io.falconq.cli.report.ModelReport;
import io.falconq.cli.report.Report;
import io.falconq.cli.report.VariantReport;
import io.falconq.formats.io.AtomicFolder;
import io.falconq.formats.io.AtomicOutput;
import io.falconq.formats.io.OutputException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The publishable side of a pipeline run: a Hugging Face model card per model ({@code dist/<model>/README.md},
 * {@link ModelCard}), and with {@code --publish-layout hub} one folder per Hub repository under {@code dist/hub/}:
 * {@code <model>-GGUF/} (every GGUF, a split one as its folder of shards; the imatrix; a card) and {@code <model>-<variant>/} per GPTQ folder (its files
 * but falconq's dot-files, and a card). Hub folders hold hard links to the artifacts (copies where the file system has none), are built in a
 * temporary folder and renamed into place, so {@code dist/hub} is always whole. Nothing here uses the network.
 */
public final class PublishFolders {
    public static final String HUB = "hub";

    public enum Layout { FLAT, HUB }

    private PublishFolders() {
    }

    public static void write(Report report, List<ModelInput> models, PipelineSettings settings,
                             Map<String, StepRecord> records, Path dist, Layout layout, String command) {
        for (int i = 0; i < models.size(); i++) {
            ModelInput input = models.get(i);
            ModelReport model = report.models().get(i);
            List<VariantReport> all = model.variants();
            ModelCard.Imatrix imatrix = imatrix(input, settings, records, dist, ImatrixStep.fileName(input));
            String card = ModelCard.render(model, report.evaluation(), all,
                    inputs(input, imatrix, command, all, model.name() + "/"));
            AtomicOutput.writeBytes(dist.resolve(model.name()).resolve(ModelCard.FILE_NAME),
                    card.getBytes(StandardCharsets.UTF_8), true);
        }
        if (layout == Layout.HUB) {
            writeHub(report, models, settings, records, dist, command);
        }
    }

    private static void writeHub(Report report, List<ModelInput> models, PipelineSettings settings,
                                 Map<String, StepRecord> records, Path dist, String command) {
        Path hub = dist.resolve(HUB);
        Path temp = dist.resolve(".hub-partial");
        AtomicFolder.deleteRecursively(temp);
        try {
            for (int i = 0; i < models.size(); i++) {
                ModelInput input = models.get(i);
                ModelReport model = report.models().get(i);
                List<VariantReport> ggufs = model.variants().stream().filter(v -> v.kind() == VariantReport.Kind.GGUF).toList();
                if (!ggufs.isEmpty()) {
                    Path repo = Files.createDirectories(temp.resolve(model.name() + "-GGUF"));
                    for (VariantReport v : ggufs) {
                        if (v.artifact().shards().isEmpty()) {
                            link(dist.resolve(v.artifact().path()), repo);
                        }
                        for (VariantReport.Shard shard : v.artifact().shards()) {
                            Path file = dist.resolve(shard.path());
                            link(file, Files.createDirectories(repo.resolve(file.getParent().getFileName().toString())));
                        }
                    }
                    ModelCard.Imatrix im = imatrix(input, settings, records, dist, ImatrixStep.fileName(input));
                    if (im != null) {
                        link(dist.resolve(ImatrixStep.path(input).toString()), repo);
                    }
                    Files.writeString(repo.resolve(ModelCard.FILE_NAME), ModelCard.render(model, report.evaluation(),
                            ggufs, inputs(input, im, command, ggufs, model.name() + "/")));
                }
                for (VariantReport v : model.variants()) {
                    if (v.kind() != VariantReport.Kind.GPTQ) {
                        continue;
                    }
                    Path folder = dist.resolve(v.artifact().path()).getParent();
                    Path repo = Files.createDirectories(temp.resolve(folder.getFileName().toString()));
                    try (Stream<Path> files = Files.list(folder)) {
                        for (Path f : files.filter(f -> Files.isRegularFile(f) && !f.getFileName().toString().startsWith(".")).sorted().toList()) {
                            link(f, repo);
                        }
                    }
                    String prefix = model.name() + "/" + folder.getFileName() + "/";
                    Files.writeString(repo.resolve(ModelCard.FILE_NAME), ModelCard.render(model, report.evaluation(),
                            List.of(v), inputs(input, imatrix(input, settings, records, dist, null), command, List.of(v), prefix)));
                }
            }
            AtomicFolder.deleteRecursively(hub);
            AtomicOutput.rename(temp, hub, false);
        } catch (IOException e) {
            AtomicFolder.deleteRecursively(temp);
            throw new OutputException(hub + ": cannot lay out the Hub folders: " + e.getMessage(), e);
        }
    }

    private static void link(Path file, Path repo) throws IOException {
        Path target = repo.resolve(file.getFileName().toString());
        try {
            Files.createLink(target, file);
        } catch (UnsupportedOperationException | IOException e) {
            Files.copy(file, target, StandardCopyOption.COPY_ATTRIBUTES);
        }
    }

    private static ModelCard.Inputs inputs(ModelInput model, ModelCard.Imatrix imatrix, String command,
                                           List<VariantReport> variants, String folderOf) {
        boolean gguf = variants.stream().anyMatch(v -> v.kind() == VariantReport.Kind.GGUF);
        SourceCard source = SourceCard.read(model.path());
        return new ModelCard.Inputs(source.baseModel(), source.license(), imatrix, command,
                gguf ? "gguf" : "transformers", folderOf);
    }

    /** How the imatrix was made, from its step record; null when the run made none. */
    private static ModelCard.Imatrix imatrix(ModelInput model, PipelineSettings settings, Map<String, StepRecord> records,
                                             Path dist, String publishedAs) {
        StepRecord r = records.get(ImatrixStep.id(model));
        if (r == null) {
            return null;
        }
        JsonNode result = r.result();
        long bytes = 0;
        if (publishedAs != null) {
            try {
                bytes = Files.size(dist.resolve(ImatrixStep.path(model).toString()));
            } catch (IOException e) {
                throw new OutputException(dist.resolve(ImatrixStep.path(model).toString()) + ": " + e.getMessage(), e);
            }
        }
        return new ModelCard.Imatrix(settings.calibTexts().label(), settings.calibTexts().sha256(),
                result.path("tokens").asLong(), result.path("chunks").asInt(), settings.calibCtx(), publishedAs, bytes);
    }

    /** What the source checkpoint says about itself: its Hub id and license, when it says. */
    record SourceCard(String baseModel, Map<String, String> license) {
        static SourceCard read(Path folder) {
            Map<String, String> license = new LinkedHashMap<>();
            String baseModel = null;
            Path readme = folder.resolve("README.md");
            Path config = folder.resolve("config.json");
            try {
                if (Files.isRegularFile(readme)) {
                    String text = Files.readString(readme);
                    if (text.startsWith("---")) {
                        int end = text.indexOf("\n---", 3);
                        for (String line : text.substring(3, end < 0 ? text.length() : end).split("\n")) {
                            for (String key : List.of("license", "license_name", "license_link")) {
                                if (line.startsWith(key + ":")) {
                                    license.put(key, unquote(line.substring(key.length() + 1).strip()));
                                }
                            }
                        }
                    }
                }
                if (Files.isRegularFile(config)) {
                    JsonNode name = StepStore.MAPPER.readTree(config.toFile()).path("_name_or_path");
                    if (name.isTextual() && name.asText().matches("[\\w.-]+/[\\w.-]+")) {
                        baseModel = name.asText();
                    }
                }
            } catch (IOException e) {
                throw new io.falconq.formats.io.InvalidInputException(folder + ": cannot read its README.md or "
                        + "config.json for the model card: " + e.getMessage(), e);
            }
            return new SourceCard(baseModel, license);
        }

        private static String unquote(String v) {
            return v.length() >= 2 && (v.startsWith("\"") && v.endsWith("\"") || v.startsWith("'") && v.endsWith("'"))
                    ? v.substring(1, v.length() - 1) : v;
        }
    }
}
