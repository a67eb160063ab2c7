package io.falconq.cli;

import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;

/** Runs a command line through {@link FalconqCli}'s wiring and captures exit code, stdout and stderr. */
record CliHarness(int exitCode, String out, String err) {

    static CliHarness run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = new FalconqCli().run(new PrintWriter(out), new PrintWriter(err), args);
        return new CliHarness(code, out.toString(), err.toString());
    }

    /** Like {@link #run}, with {@code extra} added as a subcommand to the fully configured root. */
    static CliHarness runWith(Object extra, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = new FalconqCli().commandLine();
        cli.addSubcommand(extra);
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        int code = cli.execute(args);
        return new CliHarness(code, out.toString(), err.toString());
    }
}
