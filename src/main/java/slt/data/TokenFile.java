package slt.data;

import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.Reader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import slt.UserError;

/**
 * A WikiText file tokenised once with GPT-2 BPE and cached as a compact binary file, memory-mapped
 * on later runs. Each line is encoded on its own (newline included, so decoding gives the file
 * back byte for byte); an end-of-text id (50256) precedes every article. The cache records the
 * source's size and modification time and is rebuilt when either changes.
 *
 * <p>The cache is {@code <file>.gpt2.bin} next to the source, or {@code <file>.<dir hash>.gpt2.bin}
 * in a separate cache directory. Layout (little-endian): magic {@code SLTTOK01}, source size (i64), source mtime ms
 * (i64), token count (i64), article count (i32), article start offsets (i64 each, the offset of
 * the article's end-of-text id), then the ids as unsigned 16-bit integers.
 */
public final class TokenFile {
    private static final Logger LOG = LogManager.getLogger(TokenFile.class);
    private static final byte[] MAGIC = "SLTTOK01".getBytes(StandardCharsets.US_ASCII);
    private static final int LINES_PER_BATCH = 20_000;

    private final CharBuffer tokens;
    private final long[] articleStarts;
    private final Path cache;

    private TokenFile(CharBuffer tokens, long[] articleStarts, Path cache) {
        this.tokens = tokens;
        this.articleStarts = articleStarts;
        this.cache = cache;
    }

    /** Uniformly random token ids in [0, vocab), in memory: a stand-in corpus for speed measurements. */
    public static TokenFile random(int count, int vocab, long seed) {
        java.util.SplittableRandom rng = new java.util.SplittableRandom(seed);
        CharBuffer tokens = CharBuffer.allocate(count);
        for (int i = 0; i < count; i++) {
            tokens.put(i, (char) rng.nextInt(vocab));
        }
        return new TokenFile(tokens, new long[] {0}, null);
    }

    /** Number of tokens. */
    public long size() {
        return tokens.limit();
    }

    /** Token id at {@code i}. */
    public int get(long i) {
        return tokens.get(Math.toIntExact(i));
    }

    /** Token ids in [from, to). */
    public int[] slice(long from, long to) {
        int[] out = new int[Math.toIntExact(to - from)];
        for (int i = 0; i < out.length; i++) {
            out[i] = tokens.get(Math.toIntExact(from + i));
        }
        return out;
    }

    /** Offsets of the end-of-text id that opens each article, ascending. */
    public long[] articleStarts() {
        return articleStarts.clone();
    }

    /** The cache file this was read from. */
    public Path cachePath() {
        return cache;
    }

    /**
     * Tokens of {@code source}, from its cache under {@code cacheDir} (null = next to the source,
     * or {@code data/cache} when the source's directory is read-only), tokenising on a miss.
     */
    public static TokenFile load(Path source, Path cacheDir) {
        Path home = source.toAbsolutePath().normalize().getParent();
        Path dir = cacheDir != null ? cacheDir : home;
        if (cacheDir == null && !Files.isWritable(dir)) {
            dir = Path.of("data", "cache");
        }
        // away from its source, a cache's name also carries the source directory, so that two
        // data sets sharing one cache directory (wikitext-2 and -103 both have wiki.train.raw) do not collide
        String tag = dir.toAbsolutePath().normalize().equals(home) ? "" : "." + Integer.toHexString(home.toString().hashCode());
        Path cache = dir.resolve(source.getFileName() + tag + ".gpt2.bin");
        try {
            long size = Files.size(source);
            long mtime = Files.getLastModifiedTime(source).toMillis();
            TokenFile cached = read(cache, size, mtime);
            if (cached != null) {
                return cached;
            }
            LOG.info("tokenising {} with GPT-2 BPE into {}", source, cache);
            long t0 = System.nanoTime();
            Files.createDirectories(dir);
            write(source, cache, size, mtime);
            TokenFile fresh = read(cache, size, mtime);
            if (fresh == null) {
                throw new IllegalStateException("token cache " + cache + " unreadable right after writing it");
            }
            LOG.info("{} tokens, {} articles in {} s", fresh.size(), fresh.articleStarts.length,
                    String.format("%.1f", (System.nanoTime() - t0) / 1e9));
            return fresh;
        } catch (AccessDeniedException e) {
            throw new UserError("cannot write the token cache in " + dir + ": set data.cache_dir to a writable directory");
        } catch (java.nio.file.FileSystemException e) {
            String why = (e.getReason() != null ? e.getReason() : e.getClass().getSimpleName()) + " at " + e.getFile();
            if (e.getFile() != null && Path.of(e.getFile()).toAbsolutePath().startsWith(source.toAbsolutePath())) {
                throw new UserError("cannot read " + source + " (" + why + ")");
            }
            throw new UserError("cannot write the token cache in " + dir + " (" + why + "): set data.cache_dir to a "
                    + "writable directory");
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new UserError(source + " is not valid UTF-8 " + firstInvalidUtf8(source) + ": WikiText files are UTF-8; "
                    + "convert it (e.g. iconv -f latin1 -t utf-8), or", new UserError.Fix.Download(null, false));
        } catch (IOException e) {
            throw new UserError("cannot read " + source + " or its token cache " + cache + ": " + e);
        }
    }

    /** "at byte N (line L)" of the first byte sequence in {@code file} that is not UTF-8, or "" when none is found. */
    static String firstInvalidUtf8(Path file) {
        java.nio.charset.CharsetDecoder dec = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT);
        try (java.io.InputStream in = new java.io.BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            ByteBuffer bytes = ByteBuffer.allocate(1 << 16);
            CharBuffer chars = CharBuffer.allocate(1 << 16);
            long consumed = 0; // bytes decoded before bytes.position() 0
            long line = 1;
            boolean end = false;
            while (!end) {
                int n = in.read(bytes.array(), bytes.position(), bytes.remaining());
                end = n < 0;
                bytes.position(bytes.position() + Math.max(0, n));
                bytes.flip();
                int start = bytes.position();
                java.nio.charset.CoderResult r = dec.decode(bytes, chars, end);
                chars.flip();
                while (chars.hasRemaining()) {
                    if (chars.get() == '\n') {
                        line++;
                    }
                }
                chars.clear();
                if (r.isError()) {
                    return "at byte " + (consumed + bytes.position()) + " (line " + line + ")";
                }
                consumed += bytes.position() - start;
                bytes.compact();
            }
        } catch (IOException e) {
            return "";
        }
        return "";
    }

    private static TokenFile read(Path cache, long sourceSize, long sourceMtime) throws IOException {
        if (!Files.isRegularFile(cache)) {
            return null;
        }
        try (FileChannel ch = FileChannel.open(cache, StandardOpenOption.READ)) {
            long fileSize = ch.size();
            if (fileSize < 36) {
                return null;
            }
            ByteBuffer head = ByteBuffer.allocate(36).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(head, 0);
            head.flip();
            byte[] magic = new byte[8];
            head.get(magic);
            if (!java.util.Arrays.equals(magic, MAGIC) || head.getLong() != sourceSize || head.getLong() != sourceMtime) {
                return null;
            }
            long count = head.getLong();
            int articles = head.getInt();
            long dataStart = 36 + 8L * articles;
            if (count < 0 || articles < 0 || fileSize != dataStart + 2 * count) {
                return null; // truncated or foreign: rebuild
            }
            ByteBuffer starts = ByteBuffer.allocate(8 * articles).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(starts, 36);
            starts.flip();
            long[] articleStarts = new long[articles];
            starts.asLongBuffer().get(articleStarts);
            CharBuffer tokens = ch.map(FileChannel.MapMode.READ_ONLY, dataStart, 2 * count)
                    .order(ByteOrder.LITTLE_ENDIAN).asCharBuffer();
            return new TokenFile(tokens, articleStarts, cache);
        }
    }

    private static void write(Path source, Path cache, long size, long mtime) throws IOException {
        Path body = Files.createTempFile(cache.getParent(), cache.getFileName().toString(), ".body");
        Path tmp = Files.createTempFile(cache.getParent(), cache.getFileName().toString(), ".tmp");
        try {
            long count = 0;
            List<Long> starts = new ArrayList<>();
            try (Reader in = Files.newBufferedReader(source, StandardCharsets.UTF_8);
                    DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(body), 1 << 20))) {
                LineReader lines = new LineReader(in);
                List<String> batch;
                while (!(batch = lines.next(LINES_PER_BATCH)).isEmpty()) {
                    List<int[]> encoded = batch.parallelStream().map(Gpt2Tokenizer::encode).toList();
                    for (int i = 0; i < batch.size(); i++) {
                        if (WikiText.isArticleHeading(batch.get(i))) {
                            starts.add(count);
                            writeId(out, Gpt2Tokenizer.EOT);
                            count++;
                        }
                        for (int id : encoded.get(i)) {
                            writeId(out, id);
                        }
                        count += encoded.get(i).length;
                    }
                }
            }
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 20)) {
                ByteBuffer head = ByteBuffer.allocate(36 + 8 * starts.size()).order(ByteOrder.LITTLE_ENDIAN);
                head.put(MAGIC).putLong(size).putLong(mtime).putLong(count).putInt(starts.size());
                for (long s : starts) {
                    head.putLong(s);
                }
                out.write(head.array());
                Files.copy(body, out);
            }
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, cache, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(body);
            Files.deleteIfExists(tmp);
        }
    }

    private static void writeId(DataOutputStream out, int id) throws IOException {
        out.write(id & 0xFF);
        out.write(id >>> 8);
    }

    /** Splits a character stream into lines that keep their terminating {@code \n}. */
    private static final class LineReader {
        private final Reader in;
        private final char[] buf = new char[1 << 16];
        private final StringBuilder pending = new StringBuilder();
        private int pos;
        private boolean eof;

        LineReader(Reader in) {
            this.in = in;
        }

        List<String> next(int max) throws IOException {
            List<String> lines = new ArrayList<>();
            while (lines.size() < max) {
                int nl = pending.indexOf("\n", pos);
                if (nl >= 0) {
                    lines.add(pending.substring(pos, nl + 1));
                    pos = nl + 1;
                    continue;
                }
                pending.delete(0, pos);
                pos = 0;
                if (eof) {
                    if (pending.length() > 0) {
                        lines.add(pending.toString());
                        pending.setLength(0);
                    }
                    break;
                }
                int n = in.read(buf);
                if (n < 0) {
                    eof = true;
                } else {
                    pending.append(buf, 0, n);
                }
            }
            return lines;
        }
    }
}
