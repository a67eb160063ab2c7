package io.falconq.cli.report;

import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.Map;

/**
 * The {@code createdAt} stamp of a report: the one timestamp falconq writes. It follows the reproducible-builds
 * convention: when {@code SOURCE_DATE_EPOCH} (seconds since 1970) is set it is used instead of the clock, so two
 * runs on the same inputs produce the same report bytes apart from measured speeds.
 */
public final class ReportClock {
    public static final String SOURCE_DATE_EPOCH = "SOURCE_DATE_EPOCH";

    private ReportClock() {
    }

    /** {@code SOURCE_DATE_EPOCH} from the process environment if set, else now. */
    public static String createdAt() {
        return createdAt(System.getenv(), Instant.now());
    }

    static String createdAt(Map<String, String> environment, Instant now) {
        String epoch = environment.get(SOURCE_DATE_EPOCH);
        Instant instant = now;
        if (epoch != null && !epoch.isBlank()) {
            try {
                instant = Instant.ofEpochSecond(Long.parseLong(epoch.strip()));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(SOURCE_DATE_EPOCH + " must be whole seconds since 1970, found '"
                        + epoch + "'", e);
            }
        }
        return format(instant);
    }

    /** ISO-8601 UTC with seconds precision, e.g. {@code 2025-01-31T12:00:00Z}. */
    public static String format(Instant instant) {
        return DateTimeFormatter.ISO_INSTANT.format(instant.truncatedTo(ChronoUnit.SECONDS));
    }
}
