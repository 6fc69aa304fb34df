package slt.train;

import slt.config.Config;
import slt.data.Corpus;
import slt.data.TokenWindows;

/** Evaluation of a loaded model (a run's checkpoint or a ticket) on a split. */
public final class Evaluation {
    private Evaluation() {}

    /** Loss of one model on one split. */
    public record Result(long step, double loss, long windows, int seqLen) {}

    /**
     * Mean token loss over the first {@code windows} windows of {@code split} (null: the run's
     * {@code train.eval_windows}, which is what the run itself measured; 0: all windows).
     */
    public static Result of(LoadedModel m, Config.Split split, Integer windows) {
        return of(m, dataOf(m.config(), split), windows);
    }

    /** The evaluation windows of {@code split} under {@code config} (fails fast when files are missing). */
    public static TokenWindows dataOf(Config config, Config.Split split) {
        return Corpus.eval(config.data(), split, config.train().microBatch());
    }

    /** As {@link #of(LoadedModel, Config.Split, Integer)} on windows already loaded. */
    public static Result of(LoadedModel m, TokenWindows set, Integer windows) {
        Config c = m.config();
        Integer limit = windows == null ? c.train().evalWindows() : windows == 0 ? null : windows;
        long n = limit == null ? set.windows() : Math.min(limit, set.windows());
        double loss = Evaluator.meanLoss(m.model(), set, limit, c.train().microBatch(), m.manager());
        return new Result(m.step(), loss, n, set.seqLen());
    }
}
