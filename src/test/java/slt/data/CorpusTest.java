package slt.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import slt.UserError;
import slt.config.Config;
import slt.config.ConfigLoader;

class CorpusTest {
    private static final int ARTICLES = 10;
    private static final int T = 16;

    @TempDir
    Path tmp;

    private Config.Data data(Path dataDir, String trainSplit, double holdout) {
        return ConfigLoader.load(null, List.of(
                "data.path=" + dataDir,
                "data.train_split=" + trainSplit,
                "data.holdout=" + holdout,
                "data.seq_len=" + T,
                "data.cache_dir=" + tmp.resolve("cache"),
                "model.preset=tiny")).data();
    }

    private Path syntheticValid() throws IOException {
        Path d = tmp.resolve("wikitext-103");
        WikiFixtures.write(d.resolve("wiki.valid.raw"), WikiFixtures.wikiText(ARTICLES, 2));
        return d;
    }

    private static long[] firstInputs(TokenWindows w, long window) {
        try (NDManager m = NDManager.newBaseManager()) {
            return w.batch(m, new long[] {window}).get(0).toLongArray();
        }
    }

    @Test
    void aFileWithOneArticleOrNoneCannotBeSplitAndSaysSo() throws IOException {
        for (int n : new int[] {0, 1}) {
            Path d = tmp.resolve("one-" + n);
            WikiFixtures.write(d.resolve("wiki.valid.raw"), n == 0 ? "" : WikiFixtures.wikiText(1, 30));
            UserError e = assertThrows(UserError.class, () -> Corpus.train(data(d, "valid", 0.1), 1, 2));
            assertTrue(e.getMessage().contains(n == 0 ? "holds no article" : "holds a single article"), e.getMessage());
            assertFalse(e.getMessage().contains("Infinity"), e.getMessage());
        }
    }

    @Test
    void holdoutSplitsAtAnArticleStartAndCoversTheFile() throws IOException {
        Path d = syntheticValid();
        for (double holdout : new double[] {0.1, 0.3, 0.5, 0.8, 0.9}) { // 0.3, 0.8, 0.9: (1-h)*n rounds below a whole number
            Config.Data cfg = data(d, "valid", holdout);
            assertEquals(holdout, cfg.holdout());
            TokenWindows train = Corpus.train(cfg, 1, 2);
            TokenWindows valid = Corpus.eval(cfg, Config.Split.VALID, 2);
            TokenFile file = TokenFile.load(d.resolve("wiki.valid.raw"), tmp.resolve("cache"));

            // the last round(holdout * n) articles are held out
            int heldOut = (int) Math.round(holdout * ARTICLES);
            long[] starts = file.articleStarts();
            long expectedCut = starts[ARTICLES - heldOut];

            assertEquals(file.size(), train.tokenCount() + valid.tokenCount(), "train + valid cover the file");
            assertEquals(expectedCut, train.tokenCount(), "train is [0, cut)");
            assertEquals(expectedCut, Corpus.holdoutStart(file, cfg));
            assertEquals(Gpt2Tokenizer.EOT, file.get(expectedCut));

            // the first validation window starts with the held-out article's EOT and heading
            long[] v0 = firstInputs(valid, 0);
            assertEquals(Gpt2Tokenizer.EOT, v0[0]);
            int[] ids = new int[v0.length];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = (int) v0[i];
            }
            assertTrue(Gpt2Tokenizer.decode(ids).startsWith(" = Article " + (ARTICLES - heldOut) + " = "),
                    Gpt2Tokenizer.decode(ids));
            // the first training window is the file's start
            long[] t0 = firstInputs(train, 0);
            for (int i = 0; i < T; i++) {
                assertEquals(file.get(i), t0[i]);
            }
            assertEquals((expectedCut - 1) / T, train.windows());
            assertEquals((file.size() - expectedCut - 1) / T, valid.windows());
            assertEquals(train.windows(), train.sampler().next((int) train.windows()).length);
        }
    }

    @Test
    void trainingOrderIsSeededByTheRunSeed() throws IOException {
        Config.Data cfg = data(syntheticValid(), "valid", 0.2);
        long[] a = Corpus.train(cfg, 1, 2).sampler().next(20);
        long[] b = Corpus.train(cfg, 1, 2).sampler().next(20);
        long[] c = Corpus.train(cfg, 2, 2).sampler().next(20);
        assertEquals(java.util.Arrays.toString(a), java.util.Arrays.toString(b));
        assertFalse(java.util.Arrays.equals(a, c));
    }

    @Test
    void holdoutOnRealDataHoldsOutTheLastSixOfSixtyArticles() throws IOException {
        Config.Data cfg = data(WikiFixtures.SHARED, "valid", 0.1);
        TokenWindows train = Corpus.train(cfg, 1, 8);
        TokenWindows valid = Corpus.eval(cfg, Config.Split.VALID, 8);
        TokenFile file = TokenFile.load(WikiFixtures.sharedValid(), tmp.resolve("cache"));
        long[] starts = file.articleStarts();
        assertEquals(60, starts.length);
        long cut = train.tokenCount();
        assertEquals(file.size(), cut + valid.tokenCount());
        assertEquals(starts[54], cut, "validation starts at the 55th article");
        assertEquals(Gpt2Tokenizer.EOT, firstInputs(valid, 0)[0]);
        try (var list = Files.list(WikiFixtures.SHARED)) {
            assertTrue(list.noneMatch(p -> p.getFileName().toString().endsWith(".gpt2.bin")), "nothing written into ../shared");
        }
    }

    @Test
    void noHoldoutTrainsOnTrainAndValidatesOnValid() throws IOException {
        Path d = tmp.resolve("wikitext-103");
        String trainText = WikiFixtures.wikiText(3, 2);
        String validText = WikiFixtures.wikiText(2, 1).replace("Article", "Valid");
        WikiFixtures.write(d.resolve("wiki.train.raw"), trainText);
        WikiFixtures.write(d.resolve("wiki.valid.raw"), validText);
        Config.Data cfg = data(d, "train", 0.0);

        TokenWindows train = Corpus.train(cfg, 1, 2);
        TokenWindows valid = Corpus.eval(cfg, Config.Split.VALID, 2);
        TokenFile trainFile = TokenFile.load(d.resolve("wiki.train.raw"), tmp.resolve("cache"));
        TokenFile validFile = TokenFile.load(d.resolve("wiki.valid.raw"), tmp.resolve("cache"));
        assertEquals(trainFile.size(), train.tokenCount());
        assertEquals(validFile.size(), valid.tokenCount());
        long[] v0 = firstInputs(valid, 0);
        for (int i = 0; i < T; i++) {
            assertEquals(validFile.get(i), v0[i]);
        }
    }

    @Test
    void missingTestFileNamesThePathAndTheDownloadCommand() throws IOException {
        Path d = syntheticValid();
        Config.Data cfg = data(d, "valid", 0.1);
        UserError e = assertThrows(UserError.class, () -> Corpus.eval(cfg, Config.Split.TEST, 2));
        assertTrue(e.getMessage().contains(d.resolve("wiki.test.raw").toString()), e.getMessage());
        assertTrue(slt.cli.Main.message(e).contains("./slt data download"), slt.cli.Main.message(e)); // as the CLI says it
        assertFalse(e.getMessage().contains("\n"), "one-line message");
    }

    @Test
    void holdoutLeavingNoArticleOnOneSideIsAUserError() throws IOException {
        Path d = tmp.resolve("one");
        WikiFixtures.write(d.resolve("wiki.valid.raw"), WikiFixtures.wikiText(3, 1));
        Config.Data tooSmall = data(d, "valid", 0.1); // round(0.3) = 0, but a holdout > 0 holds out at least one article
        assertTrue(Corpus.train(tooSmall, 1, 1).windows() > 0);
        Config.Data tooLarge = data(d, "valid", 0.9); // would keep no article for training
        UserError e = assertThrows(UserError.class, () -> Corpus.train(tooLarge, 1, 1));
        assertTrue(e.getMessage().contains("data.holdout"), e.getMessage());
    }

    @Test
    void spanShorterThanOneWindowIsAUserError() throws IOException {
        Path d = tmp.resolve("short");
        // two tiny articles: the held-out one is far shorter than seq_len + 1 tokens
        WikiFixtures.write(d.resolve("wiki.valid.raw"), WikiFixtures.wikiText(1, 3) + " = B = \n");
        Config.Data cfg = data(d, "valid", 0.5);
        assertEquals(2, TokenFile.load(d.resolve("wiki.valid.raw"), tmp.resolve("cache")).articleStarts().length);
        UserError e = assertThrows(UserError.class, () -> Corpus.eval(cfg, Config.Split.VALID, 1));
        assertTrue(e.getMessage().contains("data.seq_len"), e.getMessage());
    }
}
