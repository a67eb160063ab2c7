package io.falconq.core.quant;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The vector paths are written once for any lane count; this runs {@link DotAgreement} in child JVMs whose
 * {@code -XX:MaxVectorSize} makes {@code FloatVector.SPECIES_PREFERRED} 4 and 8 floats wide, so machines with wider
 * (or narrower) vectors than the build machine are covered too. The in-process {@link CodecDifferentialTest} covers
 * the build machine's own width.
 */
class VectorWidthsTest {
    private static Process child(String... jvmArgs) throws IOException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = new java.util.ArrayList<>(List.of(java.toString(), "--add-modules", "jdk.incubator.vector",
                "-Xmx256m", "-cp", System.getProperty("java.class.path")));
        cmd.addAll(List.of(jvmArgs));
        cmd.addAll(List.of(DotAgreement.class.getName(), "77"));
        return new ProcessBuilder(cmd).redirectErrorStream(true).start();
    }

    @Test
    void falconqVectorFalseSwitchesTheVectorPathsOff() throws IOException, InterruptedException {
        Process p = child("-Dfalconq.vector=false");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child JVM timed out");
        assertEquals(2, p.exitValue(), out);
        assertTrue(out.contains("vector paths disabled"), out);
    }

    @ParameterizedTest(name = "MaxVectorSize={0} → {1} lanes")
    @CsvSource({"16, 4", "32, 8"})
    void vectorDotAgreesWithScalarAtThisWidth(int maxVectorBytes, int lanes) throws IOException, InterruptedException {
        Process p = child("-XX:MaxVectorSize=" + maxVectorBytes);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child JVM timed out");
        assertEquals(0, p.exitValue(), "child JVM failed:\n" + out);
        assertTrue(out.contains("lanes=" + lanes + " "), "expected " + lanes + " lanes:\n" + out);
        if (lanes >= 8) {
            assertTrue(out.contains("q8_0/q4_0 vector blocks"), "the Q8_0/Q4_0 vector quantizers must run at "
                    + lanes + " lanes:\n" + out);
        }
        System.out.println("MaxVectorSize=" + maxVectorBytes + ": " + out.lines().filter(l -> l.startsWith("lanes="))
                .findFirst().orElse(""));
    }
}
