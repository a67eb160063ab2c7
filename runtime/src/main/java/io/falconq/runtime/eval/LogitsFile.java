package io.falconq.runtime.eval;

import io.falconq.formats.io.AtomicOutput;
import io.falconq.formats.io.FormatException;
import io.falconq.formats.io.InputFiles;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.io.OutputException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Full-vocabulary log-probabilities of every scored position of an evaluation, streamed to disk one window at a
 * time so that two models (or a model and its quantized variants) can later be compared on identical tokens.
 * Every record is llama.cpp's 16-bit encoding ({@link LogProbRecord}), in scoring order. Two headers:
 *
 * <p><b>llama.cpp</b> ({@link EvalProtocol#LLAMA_CPP} only): exactly the file {@code llama-perplexity
 * --kl-divergence-base} writes and reads (GGUF-NOTES.md §7.2), so llama.cpp can score against falconq's logits and
 * falconq against llama.cpp's:
 * <pre>
 *   char[8] "_logits_"; int32 n_ctx; int32 n_vocab; int32 n_chunk; int32 tokens[n_chunk·n_ctx]
 *   then per chunk, n_ctx − 1 − n_ctx/2 records
 * </pre>
 * <p><b>falconq</b> (any protocol; the default protocol's windows have a variable scored count):
 * <pre>
 *   char[8] "FQLOGIT1"
 *   int32 protocol       0 = falconq windows, 1 = llama.cpp chunks
 *   int32 ctx            window / chunk length
 *   int32 n_vocab
 *   int32 n_windows      windows evaluated (the first n_windows of the protocol over the stream)
 *   int32 bos_id         id substituted at chunk starts by the llama.cpp protocol, −1 if none
 *   int32 n_tokens
 *   int32 tokens[n_tokens]   the whole token stream, BOS included
 *   then, window by window, one record per scored position
 * </pre>
 * All integers little-endian. The record count is implied by the header; readers check the file size against it.
 * Size: {@code 2·⌈V/2⌉·2 + 8} bytes per scored token (8.2 kB for V = 4096, 131 kB for V = 65 537).
 */
public final class LogitsFile {
    static final byte[] LLAMA_MAGIC = "_logits_".getBytes(StandardCharsets.US_ASCII);
    static final byte[] FALCONQ_MAGIC = "FQLOGIT1".getBytes(StandardCharsets.US_ASCII);

    private LogitsFile() {
    }

    /** Which header a file has. */
    public enum Layout {
        LLAMA_CPP, FALCONQ
    }

    /**
     * What a logits file describes: enough to rebuild the windows and check the records.
     *
     * @param tokens the token stream (for {@link Layout#LLAMA_CPP}: the n_chunk·n_ctx tokens of the chunks)
     */
    public record Header(Layout layout, EvalProtocol protocol, int ctx, int vocab, int windows, int bosId, int[] tokens) {
        public Header {
            tokens = tokens.clone();
        }

        @Override
        public int[] tokens() {
            return tokens.clone();
        }

        /** The windows this file holds records for. */
        public List<EvalProtocol.Window> windowList() {
            return protocol.windows(tokens, ctx, bosId, windows);
        }

        long headerBytes() {
            return layout == Layout.LLAMA_CPP ? 20L + 4L * tokens.length : 32L + 4L * tokens.length;
        }

        long recordCount() {
            long n = 0;
            for (EvalProtocol.Window w : windowList()) {
                n += w.scoredCount();
            }
            return n;
        }
    }

    /** Opens a writer; the header is written at once, records follow with {@link Writer#write}. */
    public static Writer create(Path path, boolean force, Header header) {
        if (header.layout() == Layout.LLAMA_CPP) {
            if (header.protocol() != EvalProtocol.LLAMA_CPP) {
                throw new IllegalArgumentException("llama.cpp's logits layout holds llama.cpp-protocol chunks only");
            }
            if (header.tokens().length != header.windows() * header.ctx()) {
                throw new IllegalArgumentException("llama.cpp's layout stores exactly n_chunk·n_ctx tokens");
            }
        }
        AtomicOutput out = AtomicOutput.create(path, force);
        try {
            Writer w = new Writer(out, header);
            w.writeHeader();
            return w;
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
    }

    /** Streams records after the header. Close without {@link #commit()} deletes the partial file. */
    public static final class Writer implements AutoCloseable {
        private final AtomicOutput out;
        private final Header header;
        private final long expectedRecords;
        private long records;

        private Writer(AtomicOutput out, Header header) {
            this.out = out;
            this.header = header;
            this.expectedRecords = header.recordCount();
        }

        private void writeHeader() {
            int[] tokens = header.tokens();
            ByteBuffer b = ByteBuffer.allocate((int) header.headerBytes()).order(ByteOrder.LITTLE_ENDIAN);
            if (header.layout() == Layout.LLAMA_CPP) {
                b.put(LLAMA_MAGIC).putInt(header.ctx()).putInt(header.vocab()).putInt(header.windows());
            } else {
                b.put(FALCONQ_MAGIC).putInt(header.protocol().ordinal()).putInt(header.ctx()).putInt(header.vocab())
                        .putInt(header.windows()).putInt(header.bosId()).putInt(tokens.length);
            }
            for (int t : tokens) {
                b.putInt(t);
            }
            write(b.flip());
        }

        private void write(ByteBuffer b) {
            try {
                while (b.hasRemaining()) {
                    out.channel().write(b);
                }
            } catch (IOException e) {
                throw new OutputException(out.target() + ": write failed: " + e.getMessage(), e);
            }
        }

        /** Appends one record (its position is rewound first). */
        public void write(ByteBuffer record, int count) {
            if (records + count > expectedRecords) {
                throw new IllegalStateException("more records than the header declares (" + expectedRecords + ")");
            }
            write(record.position(0).limit(count * LogProbRecord.bytes(header.vocab())));
            records += count;
        }

        public void commit() {
            if (records != expectedRecords) {
                throw new IllegalStateException(out.target() + ": " + records + " records written, header declares "
                        + expectedRecords);
            }
            out.commit();
        }

        @Override
        public void close() {
            out.close();
        }
    }

    /** Reads the header and then the records in order. */
    public static Reader open(Path path) {
        return new Reader(path);
    }

    public static final class Reader implements AutoCloseable {
        private final Path path;
        private final FileChannel channel;
        private final Header header;
        private final int recordBytes;
        private long position;

        private Reader(Path path) {
            this.path = path;
            try {
                this.channel = FileChannel.open(InputFiles.requireRegular(path), StandardOpenOption.READ);
            } catch (NoSuchFileException e) {
                throw new InvalidInputException(path + ": no such logits file");
            } catch (IOException e) {
                throw InvalidInputException.unreadable(path, e);
            }
            try {
                this.header = readHeader();
                this.recordBytes = LogProbRecord.bytes(header.vocab());
                long expected = header.headerBytes() + header.recordCount() * recordBytes;
                long size = channel.size();
                if (size != expected) {
                    throw new FormatException(path, size, "file size " + size + " bytes, expected " + expected
                            + " for " + header.recordCount() + " records of " + recordBytes + " bytes after a "
                            + header.headerBytes() + "-byte header (truncated or not a logits file?)");
                }
                this.position = header.headerBytes();
            } catch (IOException e) {
                close();
                throw InvalidInputException.unreadable(path, e);
            } catch (RuntimeException e) {
                close();
                throw e;
            }
        }

        private ByteBuffer read(long offset, int n) throws IOException {
            ByteBuffer b = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
            while (b.hasRemaining()) {
                if (channel.read(b, offset + b.position()) < 0) {
                    throw new FormatException(path, offset + b.position(), "unexpected end of file");
                }
            }
            return b.flip();
        }

        private Header readHeader() throws IOException {
            long size = channel.size();
            if (size < 20) {
                throw new FormatException(path, 0, "file of " + size + " bytes is too short for a logits header");
            }
            ByteBuffer magicBuf = read(0, 8);
            byte[] magic = new byte[8];
            magicBuf.get(magic);
            if (java.util.Arrays.equals(magic, LLAMA_MAGIC)) {
                ByteBuffer b = read(8, 12);
                int ctx = b.getInt();
                int vocab = b.getInt();
                int chunks = b.getInt();
                checkPositive(ctx, "n_ctx", 8);
                checkPositive(vocab, "n_vocab", 12);
                checkPositive(chunks, "n_chunk", 16);
                long nTokens = (long) ctx * chunks;
                if (20 + 4 * nTokens > size) {
                    throw new FormatException(path, 16, n_tokensMessage(nTokens, size));
                }
                int[] tokens = readInts(20, (int) nTokens);
                return new Header(Layout.LLAMA_CPP, EvalProtocol.LLAMA_CPP, ctx, vocab, chunks, -1, tokens);
            }
            if (java.util.Arrays.equals(magic, FALCONQ_MAGIC)) {
                if (size < 32) {
                    throw new FormatException(path, 0, "file of " + size + " bytes is too short for a FQLOGIT1 header");
                }
                ByteBuffer b = read(8, 24);
                int protocol = b.getInt();
                int ctx = b.getInt();
                int vocab = b.getInt();
                int windows = b.getInt();
                int bos = b.getInt();
                int nTokens = b.getInt();
                if (protocol < 0 || protocol >= EvalProtocol.values().length) {
                    throw new FormatException(path, 8, "protocol " + protocol + ", expected 0 (falconq) or 1 (llama.cpp)");
                }
                checkPositive(ctx, "ctx", 12);
                checkPositive(vocab, "n_vocab", 16);
                checkPositive(windows, "n_windows", 20);
                checkPositive(nTokens, "n_tokens", 28);
                if (32 + 4L * nTokens > size) {
                    throw new FormatException(path, 28, n_tokensMessage(nTokens, size));
                }
                int[] tokens = readInts(32, nTokens);
                Header h = new Header(Layout.FALCONQ, EvalProtocol.values()[protocol], ctx, vocab, windows, bos, tokens);
                int available = h.protocol().windows(tokens, ctx, bos, 0).size();
                if (windows > available) {
                    throw new FormatException(path, 20, "n_windows " + windows + ", but the " + nTokens
                            + " stored tokens make only " + available + " windows of " + ctx);
                }
                return h;
            }
            throw new FormatException(path, 0, "magic " + new String(magic, StandardCharsets.ISO_8859_1)
                    + ", expected \"_logits_\" (llama-perplexity) or \"FQLOGIT1\" (falconq eval --save-logits)");
        }

        private static String n_tokensMessage(long nTokens, long size) {
            return nTokens + " tokens declared, more than the file of " + size + " bytes holds";
        }

        private void checkPositive(long v, String what, long offset) {
            if (v <= 0) {
                throw new FormatException(path, offset, what + " = " + v + ", expected > 0");
            }
        }

        private int[] readInts(long offset, int n) throws IOException {
            ByteBuffer b = read(offset, Math.multiplyExact(n, 4));
            int[] out = new int[n];
            b.asIntBuffer().get(out);
            return out;
        }

        public Header header() {
            return header;
        }

        /** Reads the next {@code count} records into {@code dst} (from its start, little-endian). */
        public void next(ByteBuffer dst, int count) {
            int n = count * recordBytes;
            dst.position(0).limit(n);
            try {
                while (dst.hasRemaining()) {
                    if (channel.read(dst, position + dst.position()) < 0) {
                        throw new FormatException(path, position + dst.position(), "unexpected end of records");
                    }
                }
            } catch (IOException e) {
                throw new InvalidInputException(path + ": read failed: " + e.getMessage(), e);
            }
            position += n;
            dst.position(0);
        }

        @Override
        public void close() {
            try {
                channel.close();
            } catch (IOException ignored) {
                // read-only channel: nothing to lose
            }
        }
    }
}
