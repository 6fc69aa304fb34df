package slt.data;

import java.nio.file.Path;
import slt.UserError;
import slt.config.Config;

/**
 * The training and evaluation token spans a data config describes. With {@code data.holdout} 0
 * the model trains on {@code wiki.<train_split>} and validates on {@code wiki.valid}; with a
 * holdout h &gt; 0 the last round(h * articles) (at least one) of the training file's articles are held out as the validation set
 * (how tests and the quickstart use the one real split available here). {@code test} is always
 * {@code wiki.test}.
 */
public final class Corpus {
    private Corpus() {}

    /** Training windows, sampled in a deterministic order seeded by {@code seed}. */
    public static TokenWindows train(Config.Data data, long seed, int microBatch) {
        TokenFile file = load(data, data.trainSplit());
        long cut = holdoutStart(file, data);
        TokenWindows tmp = new TokenWindows(file, 0, cut, data.seqLen(), new WindowSampler(1, seed, microBatch));
        if (tmp.windows() < 1) {
            throw new UserError("training data " + file.cachePath() + " has fewer than " + (data.seqLen() + 1)
                    + " tokens: use a smaller data.seq_len or more data");
        }
        return new TokenWindows(file, 0, cut, data.seqLen(), new WindowSampler(tmp.windows(), seed, microBatch));
    }

    /** Evaluation windows of {@code split}: VALID = the validation set as configured, TEST = wiki.test. */
    public static TokenWindows eval(Config.Data data, Config.Split split, int microBatch) {
        TokenWindows w;
        if (split == Config.Split.VALID && data.holdout() > 0) {
            TokenFile file = load(data, data.trainSplit());
            w = new TokenWindows(file, holdoutStart(file, data), file.size(), data.seqLen(), new WindowSampler(1, 0, microBatch));
        } else {
            TokenFile file = load(data, split);
            w = new TokenWindows(file, 0, file.size(), data.seqLen(), new WindowSampler(1, 0, microBatch));
        }
        if (w.windows() < 1) {
            throw new UserError("the " + split.name().toLowerCase() + " set has fewer than " + (data.seqLen() + 1)
                    + " tokens: use a smaller data.seq_len or a larger data.holdout");
        }
        return w;
    }

    private static TokenFile load(Config.Data data, Config.Split split) {
        Path file = WikiText.file(Path.of(data.path()), split, data.variant());
        return TokenFile.load(file, data.cacheDir() == null ? null : Path.of(data.cacheDir()));
    }

    /** First token of the held-out articles (the file's end when there is no holdout). */
    static long holdoutStart(TokenFile file, Config.Data data) {
        if (data.holdout() <= 0) {
            return file.size();
        }
        long[] starts = file.articleStarts();
        if (starts.length < 2) {
            throw new UserError("the data file holds " + (starts.length == 0 ? "no article" : "a single article")
                    + ", so data.holdout cannot split it into training and validation: use a file with at least two "
                    + "articles (' = Title = ' lines), or data.holdout: 0 with a separate validation file");
        }
        int keep = starts.length - (int) Math.max(1, Math.round(data.holdout() * starts.length));
        if (keep < 1 || keep >= starts.length) {
            throw new UserError("data.holdout " + data.holdout() + " leaves no article on one side of the split ("
                    + starts.length + " articles): choose a holdout between " + String.format("%.3f", 1.0 / starts.length)
                    + " and " + String.format("%.3f", 1 - 1.0 / starts.length));
        }
        return starts[keep];
    }
}
