package io.falconq.cli.report;

import java.util.List;
import java.util.Objects;

/**
 * Everything {@code falconq pipeline} measured, as written to {@code report.json} and documented in
 * {@code docs/report-schema.md}. The Markdown and HTML reports are pure functions of this record, which is what
 * lets {@code falconq report dist/} re-render them from the JSON alone.
 *
 * <p>Only {@link #createdAt()} and the {@code tokensPerSecond} measurements vary between two runs on the same
 * inputs; {@code createdAt} honours {@code SOURCE_DATE_EPOCH} (see {@link ReportClock}) so a build can pin it.
 *
 * @param schemaVersion {@link #SCHEMA_VERSION} when written by this build
 * @param tool          always {@code "falconq"}
 * @param toolVersion   version of the falconq build that produced the numbers
 * @param createdAt     ISO-8601 UTC instant, seconds precision
 * @param evaluation    the one token sequence every model and variant was scored on
 * @param models        in the order the models were given on the command line
 */
public record Report(int schemaVersion, String tool, String toolVersion, String createdAt,
                     EvaluationSetup evaluation, List<ModelReport> models) {

    /**
     * Bumped on any change an older reader would misread (renamed/removed field, changed unit or meaning).
     * Adding a field does not bump it: readers ignore fields they do not know.
     */
    public static final int SCHEMA_VERSION = 3;
    public static final String TOOL = "falconq";

    public Report {
        Objects.requireNonNull(tool, "tool");
        Objects.requireNonNull(toolVersion, "toolVersion");
        Objects.requireNonNull(createdAt, "createdAt");
        Objects.requireNonNull(evaluation, "evaluation");
        models = List.copyOf(models);
    }

    /** A report of the current schema version. */
    public static Report of(String toolVersion, String createdAt, EvaluationSetup evaluation, List<ModelReport> models) {
        return new Report(SCHEMA_VERSION, TOOL, toolVersion, createdAt, evaluation, models);
    }
}
