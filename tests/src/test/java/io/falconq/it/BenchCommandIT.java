package io.falconq.it;

import io.falconq.formats.gguf.GgmlType;
import io.falconq.formats.gguf.GgufFile;
import io.falconq.formats.gguf.GgufReader;
import io.falconq.formats.gguf.GgufTensorInfo;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code falconq bench} times one product per distinct (type, rows, columns) of a GGUF's linear weights: the rows it
 * prints are exactly the groups of the file's 2-D quantized tensors (token embedding excluded, as it is a lookup),
 * with their counts, and every timing is a positive number.
 */
class BenchCommandIT {
    private static final Pattern ROW = Pattern.compile(
            "^(\\w+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+([\\d.]+)\\s+([\\d.]+)\\s+([\\d.]+)\\s+([\\d.]+)$");

    @Test
    void oneRowPerTypeAndShapeOfTheLinearWeights() throws Exception {
        var file = CliRun.shared("llamacpp/tiny-Q4_K_M.gguf");
        Map<String, Integer> expected = new TreeMap<>();
        try (GgufFile gguf = GgufReader.open(file)) {
            for (GgufTensorInfo t : gguf.tensorInfos()) {
                if (t.ne().length == 2 && t.type() != GgmlType.F32 && !t.name().equals("token_embd.weight")) {
                    expected.merge(t.type() + " " + t.ne()[1] + "x" + t.ne()[0], 1, Integer::sum);
                }
            }
        }
        CliRun run = CliRun.of("bench", file, "--tokens", 16, "--repeat", 1, "-t", 1);
        assertEquals(0, run.exitCode(), run.describe());
        Map<String, Integer> printed = new TreeMap<>();
        for (String line : run.out().split("\n")) {
            Matcher m = ROW.matcher(line.strip());
            if (m.matches()) {
                printed.put(m.group(1) + " " + m.group(2) + "x" + m.group(3), Integer.parseInt(m.group(4)));
                for (int g = 5; g <= 8; g++) {
                    assertTrue(Double.parseDouble(m.group(g)) > 0, line);
                }
            }
        }
        assertEquals(expected, printed, run.out());
        assertTrue(run.out().contains("all linear layers of one 16-token window"), run.out());
    }
}
