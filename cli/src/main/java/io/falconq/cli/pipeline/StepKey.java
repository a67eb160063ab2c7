package io.falconq.cli.pipeline;

import io.falconq.formats.io.Sha256;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The cache key of a step: SHA-256 over its id, every option that changes its outputs, the content hash of every
 * input file, and the key and output hashes of every step it depends on. Equal keys mean equal outputs, so a
 * step whose record carries the same key is skipped. Changing any option or input byte changes the key of the
 * step and, through the upstream hashes, of every step after it.
 */
public final class StepKey {
    /** Bump when the key's composition changes, so old records stop matching. */
    static final String KEY_FORMAT = "falconq-step-key/1";

    private StepKey() {
    }

    public static final class Builder {
        private final ContentHashes hashes;
        private final Map<String, String> entries = new TreeMap<>();

        Builder(ContentHashes hashes) {
            this.hashes = hashes;
        }

        /** An option by name; its {@code toString()} must describe the value completely. */
        public Builder option(String name, Object value) {
            put("option:" + name, String.valueOf(value));
            return this;
        }

        /** A file or folder the step reads, by content. */
        public Builder file(String name, Path path) {
            put("file:" + name, hashes.hash(path));
            return this;
        }

        void upstream(StepRecord record) {
            StringBuilder value = new StringBuilder(record.key());
            for (StepRecord.OutputHash output : record.outputs()) {
                value.append(' ').append(output.path()).append('=').append(output.sha256());
            }
            put("upstream:" + record.stepId(), value.toString());
        }

        private void put(String name, String value) {
            Objects.requireNonNull(value, name);
            if (entries.putIfAbsent(name, value) != null) {
                throw new IllegalArgumentException("step key entry " + name + " given twice");
            }
        }

        /** The canonical text the key hashes (for --verbose and for tests). */
        String canonical(String stepId) {
            StringBuilder text = new StringBuilder(KEY_FORMAT).append('\n').append("step=").append(stepId).append('\n');
            entries.forEach((k, v) -> text.append(k).append('=').append(v.replace('\n', ' ')).append('\n'));
            return text.toString();
        }

        String build(String stepId) {
            return Sha256.of(canonical(stepId).getBytes(StandardCharsets.UTF_8));
        }
    }
}
