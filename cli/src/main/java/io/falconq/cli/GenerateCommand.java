package io.falconq.cli;

import io.falconq.cli.options.CountLimits;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.runtime.FalconH1Forward;
import io.falconq.runtime.FalconH1Model;
import io.falconq.runtime.InferenceState;
import io.falconq.runtime.Sampler;
import io.falconq.runtime.text.ChatTemplate;
import io.falconq.runtime.text.HfTokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

import java.io.PrintWriter;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/** {@code falconq generate}: streaming text generation from a prompt. */
@Command(name = "generate",
        description = {"Generate text from a prompt, streamed to stdout as it is produced.",
                "The prompt runs as one window; then one token at a time with the KV cache and SSM states. Greedy by "
                        + "default; --temperature > 0 samples (with --top-p nucleus and --seed). Stops at the "
                        + "end-of-text token or after -n tokens."})
public final class GenerateCommand extends ForwardPassCommand {
    @Option(names = {"-p", "--prompt"}, required = true, paramLabel = "TEXT", description = "The prompt.")
    private String prompt;

    @Option(names = {"-n", "--max-tokens"}, paramLabel = "N", defaultValue = "128",
            description = "Tokens to generate at most (default ${DEFAULT-VALUE}).")
    private int maxTokens;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "0",
            description = "0 = greedy (default); > 0 samples from softmax(logits / T).")
    private float temperature;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "1.0",
            description = "Nucleus sampling: keep the most likely tokens up to this mass (default ${DEFAULT-VALUE}).")
    private float topP;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "0", description = "Sampling seed (default ${DEFAULT-VALUE}).")
    private long seed;

    @Option(names = "--chat", description = "Wrap the prompt as a user turn with the tokenizer's chat template.")
    private boolean chat;

    @Override
    public Integer call() {
        CountLimits.tokens(spec, "-n", maxTokens, 1);
        if (temperature < 0 || !(topP > 0 && topP <= 1)) {
            throw new ParameterException(spec.commandLine(), "--temperature must be ≥ 0 and --top-p in (0, 1]");
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try (FalconH1Model m = FalconH1Model.load(model)) {
            m.config().warnings().forEach(w -> err.println("warning: " + w));
            try (HfTokenizer tok = tokenizer.load(m);
                 FalconH1Forward forward = new FalconH1Forward(m, threads.threads(), activations.mode())) {
                int[] ids = chat
                        ? tok.encode(ChatTemplate.of(tok).render(List.of(new ChatTemplate.Message("user", prompt))))
                        : tok.encodeForModel(prompt);
                if (ids.length == 0) {
                    throw new InvalidInputException("the prompt encodes to no tokens");
                }
                int eos = tok.eosId().orElse(-1);
                int vocab = m.config().vocabSize();
                Sampler sampler = new Sampler(temperature, topP, seed);
                InferenceState state = forward.newState(ids.length + maxTokens);
                long t0 = System.nanoTime();
                float[] logits = forward.forward(state, ids, 0, ids.length, ids.length - 1, null);
                long t1 = System.nanoTime();
                int[] generated = new int[maxTokens];
                int count = 0;
                int printed = 0;
                String text = "";
                if (!chat) {
                    out.print(prompt);
                    out.flush();
                }
                while (count < maxTokens) {
                    int next = sampler.sample(logits, vocab);
                    if (next == eos) {
                        break;
                    }
                    generated[count++] = next;
                    text = tok.decode(Arrays.copyOf(generated, count), true);
                    // a token may end inside a UTF-8 sequence: hold back until it decodes cleanly
                    if (!text.endsWith("\uFFFD")) {
                        out.print(text.substring(Math.min(printed, text.length())));
                        out.flush();
                        printed = text.length();
                    }
                    if (count < maxTokens) {
                        logits = forward.forward(state, new int[] {next}, 0, 1, 0, null);
                    }
                }
                if (printed < text.length()) {
                    out.print(text.substring(printed));
                }
                out.println();
                out.flush();
                long t2 = System.nanoTime();
                if (!verbosity.quiet()) {
                    err.printf(Locale.ROOT, "generate: prompt %d tokens (%.0f tokens/s), %d generated (%.1f tokens/s), "
                                    + "%s%n", ids.length, ids.length / ((t1 - t0) / 1e9), count,
                            count / Math.max(1e-9, (t2 - t1) / 1e9),
                            count < maxTokens ? "stopped at end-of-text" : "reached -n");
                }
            }
        }
        return ExitCodes.OK;
    }
}
