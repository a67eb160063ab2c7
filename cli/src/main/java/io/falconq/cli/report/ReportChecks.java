package io.falconq.cli.report;

/** Construction-time checks shared by the report records: JSON has no NaN or infinity. */
final class ReportChecks {
    private ReportChecks() {
    }

    static void requireFinite(String owner, String field, double value) {
        if (!Double.isFinite(value)) {
            throw new IllegalArgumentException(owner + ": " + field + " must be finite, found " + value);
        }
    }
}
