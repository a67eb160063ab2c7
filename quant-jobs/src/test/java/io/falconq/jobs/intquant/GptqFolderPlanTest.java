package io.falconq.jobs.intquant;

import io.falconq.formats.hf.HfCheckpoint;
import io.falconq.formats.io.ProgressListener;
import io.falconq.formats.testing.SharedGroundTruth;
import io.falconq.core.intquant.IntQuantScheme;
import io.falconq.core.model.FalconH1Config;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The job's folder plan names every file the job writes with its size, sharded (shards, index) or not: what the
 * pipeline's dry run prints (the folder's content; AtomicFolder's dot-file marker is not part of it). RTN, so the plan is exact (no calibration record).
 */
class GptqFolderPlanTest {
    @Test
    void plannedFilesAreTheWrittenFiles(@TempDir Path tmp) throws IOException {
        Path tiny = SharedGroundTruth.path("models/falcon-h1-tiny");
        for (long maxShard : new long[] {IntQuantJob.DEFAULT_MAX_SHARD_BYTES, 2_000_000}) {
            IntQuantJob.Options opt = new IntQuantJob.Options(IntQuantScheme.w4(128), IntQuantMethod.RTN, 0.01,
                    AwqLoss.NORMED_OUTPUT, maxShard, 2);
            Path out = tmp.resolve("w4-" + maxShard);
            IntQuantJob.run(tiny, opt, null, out, false, ProgressListener.NONE);
            GptqFolderPlan plan;
            try (HfCheckpoint src = HfCheckpoint.open(tiny)) {
                plan = IntQuantJob.planFolder(src, FalconH1Config.read(tiny.resolve("config.json")), opt);
            }
            assertEquals(written(out), new TreeMap<>(plan.fileBytes()), "max shard " + maxShard);
            assertEquals(maxShard < 1e9, plan.shards().sharded(), "max shard " + maxShard);
        }
    }

    private static Map<String, Long> written(Path folder) throws IOException {
        Map<String, Long> files = new TreeMap<>();
        try (Stream<Path> list = Files.list(folder)) {
            for (Path f : list.toList()) {
                if (f.getFileName().toString().startsWith(".")) {
                    continue; // AtomicFolder's ownership marker, not content
                }
                assertTrue(Files.isRegularFile(f), f + " is not a file");
                files.put(f.getFileName().toString(), Files.size(f));
            }
        }
        return files;
    }
}
