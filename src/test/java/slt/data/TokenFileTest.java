package slt.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenFileTest {
    /** From ../shared/data/wikitext-103/README.md: per-line GPT-2 BPE token count of wiki.valid.raw. */
    private static final long VALID_BPE_TOKENS = 249_887;
    private static final int VALID_ARTICLES = 60;

    @TempDir
    static Path realCache;

    private static Path realSource;
    private static TokenFile real;

    @TempDir
    Path tmp;

    @BeforeAll
    static void tokeniseRealValidationSplit() {
        realSource = WikiFixtures.sharedValid();
        real = TokenFile.load(realSource, realCache);
    }

    // ---- (a) the real file --------------------------------------------------------------

    @Test
    void realFileHasReadmeTokenCountPlusOneEotPerArticle() throws IOException {
        String text = Files.readString(realSource, StandardCharsets.UTF_8);
        List<Integer> headings = WikiFixtures.headingOffsets(text);
        assertEquals(VALID_ARTICLES, headings.size(), "independent heading count of the real file");

        assertEquals(VALID_BPE_TOKENS + VALID_ARTICLES, real.size());
        long[] starts = real.articleStarts();
        assertEquals(VALID_ARTICLES, starts.length);
        for (int k = 0; k < starts.length; k++) {
            assertEquals(Gpt2Tokenizer.EOT, real.get(starts[k]), "article " + k + " starts at an EOT");
            if (k > 0) {
                assertTrue(starts[k] > starts[k - 1], "article starts ascend");
            }
        }
        long eots = 0;
        for (long i = 0; i < real.size(); i++) {
            if (real.get(i) == Gpt2Tokenizer.EOT) {
                eots++;
            }
        }
        assertEquals(VALID_ARTICLES, eots, "EOTs appear only at article starts");
    }

    @Test
    void realFileDecodesToItsExactBytes() throws IOException {
        byte[] expected = Files.readAllBytes(realSource);
        assertEquals(1_146_846, expected.length, "README's byte count");
        byte[] decoded = Gpt2Tokenizer.decodeBytes(real.slice(0, real.size()));
        assertArrayEquals(expected, decoded);
    }

    @Test
    void eachRealArticleDecodesToTheTextFromItsHeadingToTheNext() throws IOException {
        String text = Files.readString(realSource, StandardCharsets.UTF_8);
        List<Integer> headings = WikiFixtures.headingOffsets(text);
        long[] starts = real.articleStarts();
        assertEquals(headings.size(), starts.length);
        // Tokens before the first article: the file's leading lines.
        assertEquals(text.substring(0, headings.get(0)), Gpt2Tokenizer.decode(real.slice(0, starts[0])));
        for (int k = 0; k < starts.length; k++) {
            long end = k + 1 < starts.length ? starts[k + 1] : real.size();
            int textEnd = k + 1 < headings.size() ? headings.get(k + 1) : text.length();
            String article = Gpt2Tokenizer.decode(real.slice(starts[k] + 1, end));
            assertEquals(text.substring(headings.get(k), textEnd), article, "article " + k);
        }
        assertTrue(Gpt2Tokenizer.decode(real.slice(starts[0], starts[0] + 30)).startsWith(" = Homarus gammarus = "),
                "the first article is Homarus gammarus");
    }

    @Test
    void realCacheIsWrittenIntoTheGivenCacheDirWithDocumentedLayout() throws IOException {
        Path cache = real.cachePath();
        assertEquals(realCache.toAbsolutePath(), cache.toAbsolutePath().getParent());
        String name = cache.getFileName().toString();
        assertTrue(name.startsWith("wiki.valid.raw.") && name.endsWith(".gpt2.bin"), name);
        assertNotEquals("wiki.valid.raw.gpt2.bin", name, "away from the source the name carries the source directory");
        // magic (8) + size, mtime, count (3 x 8) + article count (4) + 8 per article + 2 per token
        assertEquals(36 + 8L * VALID_ARTICLES + 2 * real.size(), Files.size(cache));
        byte[] magic = new byte[8];
        System.arraycopy(Files.readAllBytes(cache), 0, magic, 0, 8);
        assertEquals("SLTTOK01", new String(magic, StandardCharsets.US_ASCII));
        try (var list = Files.list(realCache)) {
            assertEquals(1, list.count(), "no temporary files left behind");
        }
    }

    // ---- (b) cache reuse -----------------------------------------------------------------

    @Test
    void secondLoadReusesTheCache() throws IOException {
        Path cache = real.cachePath();
        // Backdate the cache: a rebuild would replace the file (new inode, current mtime).
        FileTime old = FileTime.fromMillis(System.currentTimeMillis() - 3_600_000L);
        Files.setLastModifiedTime(cache, old);
        Object inode = Files.readAttributes(cache, BasicFileAttributes.class).fileKey();

        TokenFile again = TokenFile.load(realSource, realCache);

        assertEquals(old, Files.getLastModifiedTime(cache));
        assertEquals(inode, Files.readAttributes(cache, BasicFileAttributes.class).fileKey());
        assertEquals(real.size(), again.size());
        assertArrayEquals(real.articleStarts(), again.articleStarts());
        assertArrayEquals(real.slice(0, 1000), again.slice(0, 1000));
    }

    @Test
    void secondLoadOfSyntheticFileReusesTheCache() throws IOException {
        Path src = WikiFixtures.write(tmp.resolve("wiki.valid.raw"), WikiFixtures.wikiText(3, 2));
        Path cacheDir = tmp.resolve("cache");
        TokenFile first = TokenFile.load(src, cacheDir);
        FileTime old = FileTime.fromMillis(System.currentTimeMillis() - 3_600_000L);
        Files.setLastModifiedTime(first.cachePath(), old);
        Object inode = Files.readAttributes(first.cachePath(), BasicFileAttributes.class).fileKey();

        TokenFile second = TokenFile.load(src, cacheDir);

        assertEquals(first.cachePath(), second.cachePath());
        assertEquals(old, Files.getLastModifiedTime(second.cachePath()));
        assertEquals(inode, Files.readAttributes(second.cachePath(), BasicFileAttributes.class).fileKey());
        assertArrayEquals(first.slice(0, first.size()), second.slice(0, second.size()));
    }

    @Test
    void invalidUtf8NamesTheFileTheByteAndTheLine() throws IOException {
        // it said "MalformedInputException: Input length = 1"
        byte[] head = " = A = \n\n héllo wörld \n".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] text = new byte[head.length + 4 + 70_000];
        System.arraycopy(head, 0, text, 0, head.length);
        java.util.Arrays.fill(text, head.length, text.length, (byte) 'x');
        int bad = head.length + 70_001; // past the first 64 KB read: offsets carry over between reads
        text[bad - 1] = '\n';
        text[bad] = (byte) 0xE9; // latin-1 é
        Path src = Files.write(tmp.resolve("wiki.valid.raw"), text);
        slt.UserError e = assertThrows(slt.UserError.class, () -> TokenFile.load(src, tmp.resolve("cache")));
        assertTrue(e.getMessage().contains(src + " is not valid UTF-8 at byte " + bad + " (line 5)")
                && e.getMessage().contains("iconv"), e.getMessage());
        try (var files = Files.list(tmp.resolve("cache"))) {
            assertEquals(List.of(), files.toList(), "no cache or temporary left");
        }
    }

    // ---- (c) invalidation when the source changes ------------------------------------

    @Test
    void changedSourceSizeRebuildsTheCache() throws IOException {
        Path src = WikiFixtures.write(tmp.resolve("wiki.valid.raw"), WikiFixtures.wikiText(3, 2));
        Path cacheDir = tmp.resolve("cache");
        TokenFile first = TokenFile.load(src, cacheDir);
        assertEquals(3, first.articleStarts().length);
        Object inode = Files.readAttributes(first.cachePath(), BasicFileAttributes.class).fileKey();

        String changed = WikiFixtures.wikiText(5, 1) + " trailing line without newline";
        WikiFixtures.write(src, changed);
        TokenFile second = TokenFile.load(src, cacheDir);

        assertNotEquals(inode, Files.readAttributes(second.cachePath(), BasicFileAttributes.class).fileKey());
        assertEquals(changed, Gpt2Tokenizer.decode(second.slice(0, second.size())));
        assertEquals(5, second.articleStarts().length);
        assertEquals(WikiFixtures.headingOffsets(changed).size(), second.articleStarts().length);
    }

    @Test
    void sameSizeButNewerSourceRebuildsTheCache() throws IOException {
        String v1 = WikiFixtures.wikiText(2, 2);
        Path src = WikiFixtures.write(tmp.resolve("wiki.valid.raw"), v1);
        FileTime t1 = FileTime.fromMillis(1_600_000_000_000L);
        Files.setLastModifiedTime(src, t1);
        Path cacheDir = tmp.resolve("cache");
        TokenFile first = TokenFile.load(src, cacheDir);
        assertEquals(v1, Gpt2Tokenizer.decode(first.slice(0, first.size())));

        String v2 = v1.replace("Article 1", "Episode 1"); // same length in bytes
        assertEquals(v1.getBytes(StandardCharsets.UTF_8).length, v2.getBytes(StandardCharsets.UTF_8).length);
        WikiFixtures.write(src, v2);
        Files.setLastModifiedTime(src, FileTime.fromMillis(t1.toMillis() + 5_000));
        TokenFile second = TokenFile.load(src, cacheDir);

        assertEquals(v2, Gpt2Tokenizer.decode(second.slice(0, second.size())));
        assertTrue(Gpt2Tokenizer.decode(second.slice(second.articleStarts()[1], second.size())).startsWith(" = Episode 1 = "));
    }

    @Test
    void onlyTheMtimeChangedStillRebuilds() throws IOException {
        Path src = WikiFixtures.write(tmp.resolve("wiki.valid.raw"), WikiFixtures.wikiText(2, 1));
        Files.setLastModifiedTime(src, FileTime.fromMillis(1_600_000_000_000L));
        Path cacheDir = tmp.resolve("cache");
        TokenFile first = TokenFile.load(src, cacheDir);
        Object inode = Files.readAttributes(first.cachePath(), BasicFileAttributes.class).fileKey();

        Files.setLastModifiedTime(src, FileTime.fromMillis(1_600_000_001_000L));
        TokenFile second = TokenFile.load(src, cacheDir);

        assertNotEquals(inode, Files.readAttributes(second.cachePath(), BasicFileAttributes.class).fileKey());
        assertEquals(Files.readString(src), Gpt2Tokenizer.decode(second.slice(0, second.size())));
    }

    // ---- (d) damaged caches ---------------------------------------------------------------

    @Test
    void truncatedCacheIsDetectedAndRebuilt() throws IOException {
        String text = WikiFixtures.wikiText(4, 2);
        Path src = WikiFixtures.write(tmp.resolve("wiki.valid.raw"), text);
        Path cacheDir = tmp.resolve("cache");
        TokenFile first = TokenFile.load(src, cacheDir);
        long size = first.size();
        int[] tokens = first.slice(0, size);
        long[] starts = first.articleStarts();
        Path cache = first.cachePath();
        long cacheBytes = Files.size(cache);
        first = null; // its mapping must not be touched once the file is truncated

        try (FileChannel ch = FileChannel.open(cache, StandardOpenOption.WRITE)) {
            ch.truncate(cacheBytes - 2); // drop the last token
        }
        TokenFile second = TokenFile.load(src, cacheDir);
        assertEquals(cacheBytes, Files.size(cache), "cache rebuilt to full length");
        assertEquals(size, second.size());
        assertArrayEquals(tokens, second.slice(0, second.size()));
        assertArrayEquals(starts, second.articleStarts());
        assertEquals(text, Gpt2Tokenizer.decode(second.slice(0, second.size())));
    }

    @Test
    void cacheShorterThanItsHeaderIsRebuilt() throws IOException {
        String text = WikiFixtures.wikiText(2, 1);
        Path src = WikiFixtures.write(tmp.resolve("wiki.valid.raw"), text);
        Path cacheDir = tmp.resolve("cache");
        Path cache = TokenFile.load(src, cacheDir).cachePath();
        long cacheBytes = Files.size(cache);

        try (FileChannel ch = FileChannel.open(cache, StandardOpenOption.WRITE)) {
            ch.truncate(20);
        }
        TokenFile again = TokenFile.load(src, cacheDir);
        assertEquals(cacheBytes, Files.size(cache));
        assertEquals(text, Gpt2Tokenizer.decode(again.slice(0, again.size())));
    }

    @Test
    void cacheWithForeignMagicIsRebuilt() throws IOException {
        String text = WikiFixtures.wikiText(2, 1);
        Path src = WikiFixtures.write(tmp.resolve("wiki.valid.raw"), text);
        Path cacheDir = tmp.resolve("cache");
        Path cache = TokenFile.load(src, cacheDir).cachePath();

        try (FileChannel ch = FileChannel.open(cache, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap("NOTSLT00".getBytes(StandardCharsets.US_ASCII)), 0);
        }
        TokenFile again = TokenFile.load(src, cacheDir);
        assertEquals(text, Gpt2Tokenizer.decode(again.slice(0, again.size())));
        byte[] head = Files.readAllBytes(cache);
        assertEquals("SLTTOK01", new String(head, 0, 8, StandardCharsets.US_ASCII));
    }

    // ---- cache placement and accessors ---------------------------------------------------

    @Test
    void nullCacheDirPutsTheCacheNextToAWritableSource() throws IOException {
        Path src = WikiFixtures.write(tmp.resolve("data").resolve("wiki.test.raw"), WikiFixtures.wikiText(1, 1));
        TokenFile tf = TokenFile.load(src, null);
        assertEquals(src.toAbsolutePath().getParent(), tf.cachePath().toAbsolutePath().getParent());
        assertTrue(Files.isRegularFile(src.resolveSibling("wiki.test.raw.gpt2.bin")));
    }

    @Test
    void articleStartsIsADefensiveCopy() throws IOException {
        Path src = WikiFixtures.write(tmp.resolve("wiki.valid.raw"), WikiFixtures.wikiText(2, 1));
        TokenFile tf = TokenFile.load(src, tmp.resolve("cache"));
        long[] starts = tf.articleStarts();
        long firstStart = starts[0];
        starts[0] = -1;
        assertEquals(firstStart, tf.articleStarts()[0]);
    }

    @Test
    void sliceAgreesWithGet() {
        int[] s = real.slice(1000, 1100);
        for (int i = 0; i < s.length; i++) {
            assertEquals(real.get(1000 + i), s[i]);
        }
        assertEquals(0, real.slice(5, 5).length);
    }

    // ---- (e) headings -------------------------------------------------------------------

    @Test
    void articleHeadingsAreTopLevelOnly() {
        assertTrue(WikiText.isArticleHeading(" = Homarus gammarus = \n"));
        assertTrue(WikiText.isArticleHeading(" = Homarus gammarus = "));
        assertTrue(WikiText.isArticleHeading(" = A = "));
        assertFalse(WikiText.isArticleHeading(" = = Description = = \n"), "section heading");
        assertFalse(WikiText.isArticleHeading(" = = = Life cycle = = = \n"), "subsection heading");
        assertFalse(WikiText.isArticleHeading(" Homarus gammarus is a species of clawed lobster .\n"));
        assertFalse(WikiText.isArticleHeading(" The sum 1 = 2 = 3 holds \n"), "an = inside text");
        assertFalse(WikiText.isArticleHeading(" \n"));
        assertFalse(WikiText.isArticleHeading(""));
        assertFalse(WikiText.isArticleHeading(" = \n"));
        assertFalse(WikiText.isArticleHeading("= Title =\n"), "no leading space");
    }

    @Test
    void headingPredicateAgreesWithTheRealFile() throws IOException {
        // Every heading-like line of the real file: top-level ones start articles, others do not.
        List<String> lines = Files.readAllLines(realSource, StandardCharsets.UTF_8);
        int top = 0;
        int sections = 0;
        for (String line : lines) {
            boolean heading = line.startsWith(" = ") && line.endsWith(" = ");
            boolean section = line.startsWith(" = = ");
            if (heading && section) {
                sections++;
                assertFalse(WikiText.isArticleHeading(line + "\n"), line);
            } else if (heading) {
                top++;
                assertTrue(WikiText.isArticleHeading(line + "\n"), line);
            } else {
                assertFalse(WikiText.isArticleHeading(line + "\n"), line);
            }
        }
        assertEquals(VALID_ARTICLES, top);
        assertTrue(sections > VALID_ARTICLES, "the real file has many section headings");
    }
}
