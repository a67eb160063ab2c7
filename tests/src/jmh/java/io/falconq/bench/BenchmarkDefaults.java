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
 * flags of the {@code ./falconq} launcher, read from its java argument files {@code cli/src/main/jvm/runtime.args}
 * and {@code jit.args} (paths relative to the repository root: run from there, as {@code tests/bench/kernel-benchmarks.sh}
 * does), 3 warm-up and 5 measured iterations of 1 s, average time per operation. Command-line options
 * ({@code -f -wi -i -w -r}) override them. The launcher's C2 directives file is added by that script with
 * {@code -jvmArgsAppend} ({@code -jvmArgs} would replace these flags).
 */
@Fork(value = 1, jvmArgs = {"@cli/src/main/jvm/runtime.args", "@cli/src/main/jvm/jit.args", "-Xmx4g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public abstract class BenchmarkDefaults {
}
