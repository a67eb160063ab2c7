package io.falconq.examples;

import io.falconq.runtime.FalconH1Forward;
import io.falconq.runtime.FalconH1Model;
import io.falconq.runtime.eval.EvalProtocol;
import io.falconq.runtime.eval.EvalResult;
import io.falconq.runtime.eval.PerplexityEvaluator;
import io.falconq.runtime.text.HfTokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Perplexity of a Falcon-H1 model (HF folder or GGUF) on a text file with falconq's default protocol, through the
 * library API only. Usage: {@code ComputePerplexity MODEL TOKENIZER_DIR TEXT [MAX_WINDOWS]}.
 */
public final class ComputePerplexity {
    public static void main(String[] args) throws Exception {
        Path model = Path.of(args[0]);
        Path tokenizerDir = Path.of(args[1]);
        String text = Files.readString(Path.of(args[2]));
        int maxWindows = args.length > 3 ? Integer.parseInt(args[3]) : Integer.MAX_VALUE;
        int ctx = 512;
        try (FalconH1Model m = FalconH1Model.load(model);
             HfTokenizer tokenizer = HfTokenizer.load(tokenizerDir);
             FalconH1Forward forward = new FalconH1Forward(m, Runtime.getRuntime().availableProcessors())) {
            int[] tokens = tokenizer.encodeForModel(text);
            int bos = tokenizer.addedBosId();
            List<EvalProtocol.Window> windows = EvalProtocol.FALCONQ.windows(tokens, ctx, bos, maxWindows);
            EvalResult r = PerplexityEvaluator.evaluate(forward, EvalProtocol.FALCONQ, ctx, windows, tokens, null, null,
                    (done, total, ppl, tps) -> System.err.printf("[%d/%d] ppl %.4f%n", done, total, ppl));
            System.out.printf("ppl %.6f ± %.5f over %d scored tokens%n", r.ppl(), r.pplStdErr(), r.scoredTokens());
        }
    }

    private ComputePerplexity() {
    }
}
