package io.falconq.bench;

import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * Settings every falconq benchmark inherits (JMH reads these annotations from superclasses): one fork with the JVM
 * flags of the {@code ./falconq} launcher (Vector API module, ParallelGC with the small young generation, the
 * kernel packages' compile thresholds), 3 warm-up and 5 measured iterations of 1 s, average time per operation.
 * Command-line options ({@code -f -wi -i -w -r}) override them. The launcher's C2 directives file is not in the
 * defaults because its path is relative to the repository; from the repository root add it with
 * {@code -jvmArgsAppend "-XX:+UnlockDiagnosticVMOptions -XX:CompilerDirectivesFile=cli/src/main/jvm/c2-directives.json"}
 * ({@code -jvmArgsAppend} adds to these flags, {@code -jvmArgs} replaces them).
 */
@Fork(value = 1, jvmArgs = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "-XX:+UseParallelGC", "-XX:MaxNewSize=64m", "-XX:CompileCommand=quiet",
        "-XX:CompileCommand=CompileThresholdScaling,io.falconq.core.quant.*::*,0.05",
        "-XX:CompileCommand=CompileThresholdScaling,io.falconq.core.convert.*::*,0.05",
        "-XX:CompileCommand=CompileThresholdScaling,io.falconq.runtime.kernel.*::*,0.05", "-Xmx4g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public abstract class BenchmarkDefaults {
}
