package io.falconq.runtime.text;

import io.falconq.formats.io.InvalidInputException;

import java.util.List;

/**
 * The chat formatting of a tokenizer_config.json {@code chat_template}, for the one family of templates Falcon-H1
 * tokenizers use: ChatML turns ({@code <|im_start|>role\ncontent<|im_end|>\n}), optionally preceded by
 * {@code {{bos_token}}}, closed by {@code <|im_start|>assistant\n} as the generation prompt. falconq has no Jinja
 * engine: a template that does not have this shape is refused rather than guessed.
 */
public final class ChatTemplate {
    private static final String IM_START = "<|im_start|>";
    private static final String IM_END = "<|im_end|>";

    private final boolean startsWithBos;
    private final String bosToken;

    private ChatTemplate(boolean startsWithBos, String bosToken) {
        this.startsWithBos = startsWithBos;
        this.bosToken = bosToken;
    }

    /** One chat message. */
    public record Message(String role, String content) {
    }

    /** Recognises the tokenizer's template, or fails naming why. */
    public static ChatTemplate of(HfTokenizer tokenizer) {
        String t = tokenizer.chatTemplate().orElseThrow(() -> new InvalidInputException(
                "the tokenizer has no chat_template in tokenizer_config.json; run without --chat"));
        if (!t.contains(IM_START) || !t.contains(IM_END) || !t.contains("add_generation_prompt")) {
            throw new InvalidInputException("unsupported chat_template (falconq renders ChatML-style templates only): "
                    + (t.length() > 120 ? t.substring(0, 120) + "…" : t));
        }
        boolean bos = t.replace(" ", "").startsWith("{{bos_token}}");
        if (bos && tokenizer.bosToken().isEmpty()) {
            throw new InvalidInputException("chat_template starts with bos_token but tokenizer_config.json has none");
        }
        return new ChatTemplate(bos, tokenizer.bosToken().orElse(""));
    }

    /** The prompt text for {@code messages}, ending with the assistant's generation prompt. */
    public String render(List<Message> messages) {
        StringBuilder sb = new StringBuilder();
        if (startsWithBos) {
            sb.append(bosToken);
        }
        for (Message m : messages) {
            sb.append(IM_START).append(m.role()).append('\n').append(m.content()).append(IM_END).append('\n');
        }
        sb.append(IM_START).append("assistant\n");
        return sb.toString();
    }
}
