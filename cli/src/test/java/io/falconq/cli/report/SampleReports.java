package io.falconq.cli.report;

import java.util.List;
import java.util.Map;

/** Reports built from explicit values, so every rendered number can be checked against its source here. */
final class SampleReports {
    static final String CREATED_AT = "2025-01-31T12:00:00Z";

    private SampleReports() {
    }

    static VariantReport variant(String name, VariantReport.Kind kind, long size, double bpw, double ppl,
                                 double deltaPpl, double kldMean, double top1) {
        String file = kind == VariantReport.Kind.GGUF ? "tiny/tiny-" + name + ".gguf"
                : "tiny/tiny-" + name + "/model.safetensors";
        return new VariantReport(name, kind,
                kind == VariantReport.Kind.GGUF ? Map.of("F32", 49, "Q8_0", 30) : Map.of("gptq-int4", 28, "BF16", 21),
                size, bpw, ppl, 0.0123, deltaPpl, 0.0045,
                new VariantReport.KldStats(kldMean, kldMean * 0.01, kldMean * 0.5, kldMean * 8, kldMean * 20), top1, 1234.5,
                new VariantReport.ArtifactRef(file, "ab".repeat(32)));
    }

    /**
     * Two languages evaluated and a calibration mix recorded: every field of schema version 2 present; the GGUF is
     * split in two shards.
     */
    static Report multilingualReport() {
        VariantReport.KldStats kld = new VariantReport.KldStats(0.02, 0.0015, 0.01, 0.2, 0.9);
        VariantReport q4 = new VariantReport("Q4_K_M", VariantReport.Kind.GGUF, Map.of("F32", 49, "Q4_K", 30),
                4_400_000L, 4.89, 120.5, 1.5, 2.25, 0.25, kld, 93.5, 1234.5,
                new VariantReport.ArtifactRef("tiny/tiny-Q4_K_M/tiny-Q4_K_M-00001-of-00002.gguf", "ab".repeat(32),
                        List.of(new VariantReport.Shard("tiny/tiny-Q4_K_M/tiny-Q4_K_M-00001-of-00002.gguf", 2_400_000L,
                                "ab".repeat(32)), new VariantReport.Shard(
                                "tiny/tiny-Q4_K_M/tiny-Q4_K_M-00002-of-00002.gguf", 2_000_000L, "ef".repeat(32)))),
                List.of(new VariantReport.LanguageResult("en", 300, 65.0, 1.0, 1.0, 0.1, kld, 95.0),
                        new VariantReport.LanguageResult("de", 100, 900.0, 30.0, 9.0, 1.0, kld, 89.0)));
        CalibrationReport calibration = new CalibrationReport("builtin:multi", 0, true, 64, 4, 256, "12".repeat(32),
                List.of(new CalibrationReport.LanguageTokens("en", 1, 2, 128, "34".repeat(32), "56".repeat(32), false),
                        new CalibrationReport.LanguageTokens("de", 1, 2, 128, "78".repeat(32), "9a".repeat(32), true)));
        ModelReport tiny = new ModelReport("falcon-h1-tiny",
                new ModelReport.ModelSource("../shared/models/falcon-h1-tiny", "cd".repeat(32), "BF16"), 6_543_360L,
                new ModelReport.BaselineResult(13_100_000L, 16.0, 118.0, 1.2, 987.6, List.of(
                        new ModelReport.LanguagePpl("en", 300, 64.0, 1.0), new ModelReport.LanguagePpl("de", 100,
                                891.0, 29.0))), List.of(q4), calibration);
        return Report.of("0.1.0-test", CREATED_AT, new EvaluationSetup("falconq", "en=a.txt,de=b.txt",
                "01".repeat(32), 64, 6, 400, List.of(new EvaluationSetup.EvalText("en", "a.txt", "02".repeat(32), 4, 300),
                new EvaluationSetup.EvalText("de", "b.txt", "03".repeat(32), 2, 100))), List.of(tiny));
    }

    /** An auto@ variant with its allocation: two layers' tensors, and the global ones. */
    static VariantReport autoVariant() {
        VariantReport v = variant("auto@Q4_K_M-size", VariantReport.Kind.GGUF, 4_399_000L, 4.88, 64.9, 0.8399,
                0.0071, 96.0);
        AllocationReport a = new AllocationReport("size:4400000", "Q4_K_M", 0.0055, true,
                Map.of("token_embd.weight", "Q4_K", "blk.0.attn_q.weight", "Q3_K", "blk.0.ssm_in.weight", "Q6_K",
                        "blk.1.attn_q.weight", "Q2_K", "blk.1.ssm_in.weight", "Q5_K", "output.weight", "Q8_0"),
                "Q4_K", Map.of("token_embd.weight", 5.7e-4, "blk.0.attn_q.weight", 8.9e-7, "blk.0.ssm_in.weight",
                3.1e-4, "blk.1.attn_q.weight", 2.0e-7, "blk.1.ssm_in.weight", 1.2e-4, "output.weight", 3.4e-5));
        return new VariantReport(v.name(), v.kind(), Map.of("F32", 49, "Q4_K", 10, "Q6_K", 20), v.fileSizeBytes(),
                v.bitsPerWeight(), v.ppl(), v.pplError(), v.deltaPpl(), v.deltaPplError(), v.kld(), v.top1Percent(),
                v.tokensPerSecond(), v.artifact(), List.of(), a);
    }

    static Report tinyReport() {
        ModelReport tiny = new ModelReport("falcon-h1-tiny",
                new ModelReport.ModelSource("../shared/models/falcon-h1-tiny", "cd".repeat(32), "BF16"),
                6_543_360L,
                new ModelReport.BaselineResult(13_100_000L, 16.0, 64.0601, 0.5432, 987.6),
                List.of(variant("Q8_0", VariantReport.Kind.GGUF, 7_200_000L, 8.5, 64.1002, 0.0401, 0.000312, 99.12),
                        variant("Q4_K_M", VariantReport.Kind.GGUF, 4_400_000L, 4.89, 65.4321, 1.3720, 0.021987, 93.5),
                        variant("Q2_K", VariantReport.Kind.GGUF, 2_900_000L, 3.2, 81.9, 17.8399, 0.3456, 71.25),
                        variant("w4-gptq", VariantReport.Kind.GPTQ, 4_100_000L, 4.25, 66.01, 1.9499, 0.03125, 92.0),
                        autoVariant()));
        ModelReport other = new ModelReport("falcon-h1-tiny-sharded",
                new ModelReport.ModelSource("../shared/models/falcon-h1-tiny-sharded", "ef".repeat(32), "BF16"),
                6_543_360L,
                new ModelReport.BaselineResult(13_100_500L, 16.0, 64.0601, 0.5432, 990.1),
                List.of(variant("Q6_K", VariantReport.Kind.GGUF, 5_500_000L, 6.56, 64.3, 0.2399, 0.0021, 97.8)));
        return Report.of("0.1.0-test", CREATED_AT,
                new EvaluationSetup("falconq", "corpus/valid.txt", "01".repeat(32), 512, 4, 2044),
                List.of(tiny, other));
    }
}
