package io.falconq.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The repository's shell around the code: README's first commands against .ci/run and the launcher, the links and
 * class names of the docs, the ./falconq launcher's checks.
 */
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

    /** The value of {@code jdk=} in .ci/run: the one JDK location the CI script checks. */
    private static String ciJdk() throws IOException {
        return Files.readAllLines(ROOT.resolve(".ci/run")).stream().filter(l -> l.startsWith("jdk="))
                .map(l -> l.substring("jdk=".length())).findFirst().orElseThrow(() -> new AssertionError(".ci/run sets no jdk="));
    }

    @Test
    void readmeRunCommandUsesTheLauncherAndFilesThatExist() throws IOException {
        String run = readmeCommands().get(0);
        assertTrue(run.startsWith("./falconq "), run);
        for (String word : run.split("\\s+")) {
            if (!word.startsWith("-") && !word.startsWith("../") && word.contains("/") && !word.startsWith("./")) {
                assertTrue(Files.exists(ROOT.resolve(word)), "README's first command names " + word + ", which is not in the repository");
            }
        }
    }

    @Test
    void readmeTestCommandUsesTheJdkThatCiRunAndTheLauncherUse() throws IOException {
        String jdk = ciJdk();
        assertTrue(readmeCommands().get(1).startsWith("JAVA_HOME=" + jdk + " mvn "), readmeCommands().get(1));
        assertTrue(Files.readString(ROOT.resolve("falconq")).contains("JAVA_HOME:-" + jdk + "}"),
                "the launcher's default JAVA_HOME is not .ci/run's " + jdk);
    }

    @Test
    void ciRunEndsWithExactlyTheReadmeTestCommand() throws IOException {
        Path run = ROOT.resolve(".ci/run");
        assertTrue(Files.isExecutable(run), run + " must be executable");
        List<String> lines = Files.readAllLines(run).stream().filter(l -> !l.isBlank()).toList();
        assertEquals(readmeCommands().get(1), lines.getLast());
        assertTrue(lines.contains("set -euo pipefail"));
    }

    /** Every relative link of README.md, BENCHMARKS.md and docs/*.md names a file that exists, and an anchor a heading. */
    @Test
    void relativeDocLinksResolve() throws IOException {
        List<Path> docs = new ArrayList<>(List.of(ROOT.resolve("README.md"), ROOT.resolve("BENCHMARKS.md")));
        try (Stream<Path> files = Files.list(ROOT.resolve("docs"))) {
            files.filter(f -> f.toString().endsWith(".md")).sorted().forEach(docs::add);
        }
        Pattern link = Pattern.compile("\\]\\(([^)\\s]+)\\)");
        List<String> broken = new ArrayList<>();
        int checked = 0;
        for (Path doc : docs) {
            Matcher m = link.matcher(Files.readString(doc));
            while (m.find()) {
                String target = m.group(1);
                if (target.matches("^[a-z]+:.*")) {
                    continue; // http:, https:, mailto:
                }
                checked++;
                int hash = target.indexOf('#');
                Path file = hash == 0 ? doc : doc.getParent().resolve(hash < 0 ? target : target.substring(0, hash)).normalize();
                if (!Files.exists(file)) {
                    broken.add(ROOT.relativize(doc) + ": " + target + " (no such file)");
                } else if (hash >= 0 && file.toString().endsWith(".md") && !anchors(file).contains(target.substring(hash + 1))) {
                    broken.add(ROOT.relativize(doc) + ": " + target + " (no such heading)");
                }
            }
        }
        assertTrue(checked > 5, "found only " + checked + " relative links: is the pattern still right?");
        assertEquals(List.of(), broken);
    }

    /** GitHub's heading anchors: lower case, punctuation other than '-' and '_' dropped, spaces to '-'. */
    private static Set<String> anchors(Path markdown) throws IOException {
        Set<String> anchors = new HashSet<>();
        for (String line : Files.readAllLines(markdown)) {
            if (line.matches("^#{1,6} .*")) {
                anchors.add(line.replaceFirst("^#+ ", "").strip().toLowerCase(Locale.ROOT)
                        .replaceAll("[^\\p{L}\\p{N}\\- _]", "").replace(' ', '-'));
            }
        }
        return anchors;
    }

    /** The README's module and job tables name classes a newcomer can open: each must exist in the tree. */
    @Test
    void readmeModuleTablesNameClassesThatExist() throws IOException {
        String readme = Files.readString(ROOT.resolve("README.md"));
        String modules = readme.substring(readme.indexOf("\n## Modules"), readme.indexOf("\n## Commands"));
        Set<String> classes = new HashSet<>();
        try (Stream<Path> files = Files.walk(ROOT)) {
            files.filter(f -> f.toString().endsWith(".java") && f.toString().contains("/src/main/"))
                    .forEach(f -> classes.add(f.getFileName().toString().replace(".java", "")));
        }
        Matcher m = Pattern.compile("`([A-Z][A-Za-z0-9]+)(\\.\\w+)?`").matcher(modules);
        List<String> missing = new ArrayList<>();
        int named = 0;
        while (m.find()) {
            named++;
            if (!classes.contains(m.group(1))) {
                missing.add(m.group(1));
            }
        }
        assertTrue(named > 20, "found only " + named + " class names in the README's Modules section");
        assertEquals(List.of(), missing, "classes the README's Modules section names but the tree does not hold");
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

    /**
     * The launcher's JVM argument files must parse and take effect, or every command, benchmark and forked test would
     * fail to start or run with other flags.
     */
    @Test
    void launcherJvmArgumentFilesParse() throws Exception {
        String launcher = Files.readString(ROOT.resolve("falconq"));
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow()));
        for (String file : List.of("runtime.args", "jit.args")) {
            assertTrue(launcher.contains("@$repo/cli/src/main/jvm/" + file), "the launcher no longer passes " + file);
            command.add("@" + ROOT.resolve("cli/src/main/jvm/" + file));
        }
        command.addAll(List.of("-XX:+PrintFlagsFinal", "-version"));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "timed out");
        assertEquals(0, p.exitValue(), out);
        assertTrue(Pattern.compile("bool UseParallelGC\\s+= true").matcher(out).find(), out);
        assertTrue(Pattern.compile("size_t MaxNewSize\\s+= 67108864\\b").matcher(out).find(), out);
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
