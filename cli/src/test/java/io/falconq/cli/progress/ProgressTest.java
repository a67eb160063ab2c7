package io.falconq.cli.progress;

import io.falconq.cli.FalconqCli;
import io.falconq.cli.options.VerbosityMixin;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProgressTest {
    private static final long SECOND = 1_000_000_000L;

    @Test
    void formatsTheCounterPaddedToTheTotal() {
        assertEquals("[ 12/345] blk.3.ssm_in.weight  Q4_K  12.3 MiB",
                PlainProgress.format(12, 345, "blk.3.ssm_in.weight  Q4_K  12.3 MiB"));
        assertEquals("[345/345] x", PlainProgress.format(345, 345, "x"));
        assertEquals("[7] x", PlainProgress.format(7, -1, "x"));
        assertEquals("[1/9]", PlainProgress.format(1, 9, ""));
    }

    @Test
    void throttlesToOneLinePerIntervalButAlwaysShowsFirstAndLast() {
        StringWriter sink = new StringWriter();
        AtomicLong now = new AtomicLong();
        PlainProgress p = PlainProgress.withClock(new PrintWriter(sink), "convert", 2 * SECOND, now::get);
        for (int i = 1; i <= 100; i++) {
            now.addAndGet(SECOND / 10); // 100 steps over 10 s
            p.onStep(i, 100, "t" + i);
        }
        p.close();
        List<String> lines = sink.toString().lines().toList();
        assertEquals("convert:", lines.get(0));
        assertEquals("[  1/100] t1", lines.get(1));
        assertEquals("[100/100] t100", lines.getLast());
        // first at 0.1 s, then one every 2 s of clock (2.1, 4.1, 6.1, 8.1), then the last: 6 step lines
        assertEquals(7, lines.size(), sink.toString());
        assertEquals("[ 21/100] t21", lines.get(2));
    }

    @Test
    void printsTheLastSkippedStepOnClose() {
        StringWriter sink = new StringWriter();
        AtomicLong now = new AtomicLong();
        PlainProgress p = PlainProgress.withClock(new PrintWriter(sink), "", 2 * SECOND, now::get);
        p.onStep(1, -1, "a");
        p.onStep(2, -1, "b");
        p.onStep(3, -1, "c");
        p.close();
        assertEquals(List.of("[1] a", "[3] c"), sink.toString().lines().toList());
    }

    @Test
    void everyStepModePrintsAll() {
        StringWriter sink = new StringWriter();
        PlainProgress p = PlainProgress.everyStep(new PrintWriter(sink), "");
        for (int i = 1; i <= 5; i++) {
            p.onStep(i, 5, "s");
        }
        p.close();
        assertEquals(5, sink.toString().lines().count());
    }

    @Test
    void detectsCi() {
        assertTrue(Progress.isCi(Map.of("CI", "true")));
        assertTrue(Progress.isCi(Map.of("CI", "1")));
        assertTrue(Progress.isCi(Map.of("TERM", "dumb")));
        assertFalse(Progress.isCi(Map.of("CI", "false")));
        assertFalse(Progress.isCi(Map.of()));
    }

    @Command(name = "work")
    static final class Work implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        VerbosityMixin verbosity;

        @Override
        public Integer call() {
            try (Progress p = Progress.create(spec, verbosity, "work")) {
                for (int i = 1; i <= 3; i++) {
                    p.onStep(i, 3, "step " + i);
                }
            }
            return 0;
        }
    }

    private static String runWork(String... flags) {
        CommandLine cli = new FalconqCli().commandLine();
        cli.addSubcommand(new Work());
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        String[] args = new String[flags.length + 1];
        args[0] = "work";
        System.arraycopy(flags, 0, args, 1, flags.length);
        assertEquals(0, cli.execute(args));
        assertEquals("", out.toString(), "progress never goes to stdout");
        return err.toString();
    }

    @Test
    void commandsRenderPlainLinesOnStderrAndNothingWhenQuiet() {
        // run() callers (tests, embedding) are never attached to a console: always plain lines
        String normal = runWork();
        assertTrue(normal.contains("[1/3] step 1") && normal.contains("[3/3] step 3"), normal);
        assertEquals("", runWork("--quiet"));
        assertEquals(List.of("work:", "[1/3] step 1", "[2/3] step 2", "[3/3] step 3"), runWork("-v").lines().toList());
    }
}
