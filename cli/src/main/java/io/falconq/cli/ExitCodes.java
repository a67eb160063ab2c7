package io.falconq.cli;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The exit codes of every falconq command, defined once. {@link FalconqCli} lists them in every help screen;
 * {@link ErrorHandling} maps exceptions onto them.
 */
public final class ExitCodes {
    /** The command did what was asked. */
    public static final int OK = 0;
    /** A bug in falconq: an exception that is not one of falconq's own failures. */
    public static final int INTERNAL = 1;
    /** Bad command line: unknown option, missing or malformed argument. */
    public static final int USAGE = 2;
    /** Unusable input: malformed or truncated file, wrong model_type, missing tensor, NaN weights. */
    public static final int INVALID_INPUT = 3;
    /** Output cannot be written: it exists and --force was not given, disk full, rename failed. */
    public static final int OUTPUT = 4;

    private ExitCodes() {
    }

    /** Code → description, in the form picocli's {@code exitCodeList} renders. */
    public static Map<String, String> helpList() {
        Map<String, String> codes = new LinkedHashMap<>();
        codes.put(" " + OK, "success");
        codes.put(" " + INTERNAL, "internal error: a falconq bug (rerun with --verbose, report the trace)");
        codes.put(" " + USAGE, "usage error: unknown option, missing or malformed argument");
        codes.put(" " + INVALID_INPUT, "invalid input: malformed/truncated file, wrong model_type, missing tensor");
        codes.put(" " + OUTPUT, "output error: output exists (use --force), cannot write or rename");
        return codes;
    }
}
