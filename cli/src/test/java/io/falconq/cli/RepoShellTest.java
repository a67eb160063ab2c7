package io.falconq.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The repository's shell around the code: README's first commands, .ci/run, the ./falconq launcher's checks. */
class RepoShellTest {
    /** Surefire runs in the module folder (cli/); the repository root is its parent. */
    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();

    private static List<String> readmeCommands() throws IOException {
        Path readme = ROOT.resolve("README.md");
        assertTrue(Files.isRegularFile(readme), "expected README.md at " + readme);
        List<String> lines = Files.readAllLines(readme);
        assertEquals("```bash", lines.get(1), "README must open with the commands block");
        return lines.subList(2, 4).stream().map(l -> l.replaceFirst("\\s+#.*$", "")).toList();
    }

    @Test
    void readmeOpensWithRunAndTestCommands() throws IOException {
        List<String> commands = readmeCommands();
        assertEquals("./falconq pipeline --model ../shared/models/falcon-h1-tiny --variants-file "
                + "examples/pipeline/falcon-h1-variants.txt --eval-data ../shared/corpus/valid.txt --chunks 20 -o dist",
                commands.get(0));
        assertEquals("JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64 mvn -q verify", commands.get(1));
    }

    @Test
    void ciRunEndsWithExactlyTheReadmeTestCommand() throws IOException {
        Path run = ROOT.resolve(".ci/run");
        assertTrue(Files.isExecutable(run), run + " must be executable");
        List<String> lines = Files.readAllLines(run).stream().filter(l -> !l.isBlank()).toList();
        assertEquals(readmeCommands().get(1), lines.getLast());
        assertTrue(lines.contains("set -euo pipefail"));
    }

    @Test
    void scriptsParse() throws Exception {
        for (String script : List.of("falconq", ".ci/run")) {
            Result r = bash(List.of("-n", ROOT.resolve(script).toString()), null);
            assertEquals(0, r.code(), script + ": " + r.err());
        }
        assertTrue(Files.isExecutable(ROOT.resolve("falconq")));
    }

    @Test
    void launcherRefusesAMissingJdk() throws Exception {
        Result r = bash(List.of(ROOT.resolve("falconq").toString(), "--help"), "/nonexistent/jdk");
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains("no java at /nonexistent/jdk/bin/java") && r.err().contains("JDK 25"), r.err());
    }

    @Test
    void launcherRefusesAnOlderJdk(@TempDir Path fakeJdk) throws Exception {
        Path java = Files.createDirectories(fakeJdk.resolve("bin")).resolve("java");
        // what `java -XshowSettings:properties -version` prints on a JDK 17, reduced to the line the launcher reads
        Files.writeString(java, "#!/bin/sh\necho '    java.specification.version = 17' >&2\n", StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
        Result r = bash(List.of(ROOT.resolve("falconq").toString(), "--help"), fakeJdk.toString());
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains("is Java 17; falconq needs JDK 25 or newer"), r.err());
    }

    /** The launcher's compiler directives must parse, or every command would fail to start the JVM. */
    @Test
    void launcherCompilerDirectivesParse() throws Exception {
        Path directives = ROOT.resolve("cli/src/main/jvm/c2-directives.json");
        assertTrue(Files.readString(ROOT.resolve("falconq")).contains("cli/src/main/jvm/c2-directives.json"),
                "the launcher no longer names the directives file");
        String java = ProcessHandle.current().info().command().orElseThrow();
        Process p = new ProcessBuilder(java, "-XX:+UnlockDiagnosticVMOptions", "-XX:CompilerDirectivesFile=" + directives,
                "-XX:+CompilerDirectivesPrint", "-version").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "timed out");
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("1 compiler directives added"), out);
        assertTrue(out.contains("jdk/incubator/vector/*.bOpTemplate"), out);
    }

    private record Result(int code, String err) {
    }

    private static Result bash(List<String> args, String javaHome) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of("bash"));
        command.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        if (javaHome != null) {
            pb.environment().put("JAVA_HOME", javaHome);
        }
        Process p = pb.start();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "timed out: " + command);
        return new Result(p.exitValue(), err);
    }
}
