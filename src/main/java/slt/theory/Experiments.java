package slt.theory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;

/**
 * The three experiments of the paper's section 4 (Figs. 4-6). Each returns one {@link Row} per
 * measurement (a pruned source at one setting) and what the summary needs; nothing here writes
 * files or prints (see {@link Outputs}). Pruning and evaluation run in parallel on {@code threads}
 * cores; results do not depend on the number of threads.
 */
public final class Experiments {
    private Experiments() {}

    /** Settings shared by all experiments. */
    public record Common(long seed, int sources, SubsetSum.Kind solverKind, int exactMax, int core, int rounds,
            Sources.Init init, int samples, int threads) {
        public SubsetSum.Solver solver() {
            return SubsetSum.of(solverKind, exactMax, core, rounds);
        }
    }

    /** One measurement: a pruned source against its target at one setting. */
    public record Row(String experiment, int nHidden, int source, int length, int trainLength, int blocks, double error,
            double relativeError, double qkEntryError, double voEntryError, double ffnEntryError, double keptFraction, int maxItems) {}

    /** A finished experiment: rows, facts for the summary (ordered), wall times of the phases (s). */
    public record Outcome(String experiment, List<Row> rows, Map<String, String> facts, Map<String, Double> seconds) {}

    /** Progress callback: total work units announced once, then one tick per unit. */
    public interface Progress {
        void start(String task, long total);

        void step(long units);

        default void step() {
            step(1);
        }

        void log(String line);

        Progress NONE = new Progress() {
            @Override
            public void start(String task, long total) {}

            @Override
            public void step(long units) {}

            @Override
            public void log(String line) {}
        };
    }

    // -------------------------------------------------------------------------------------------
    // Fig. 4: error against hidden size

    public record MhaSettings(List<Integer> hidden, int length, TargetTrainer.Settings train) {}

    public static Outcome mha(Common c, MhaSettings m, Progress progress) {
        long t0 = System.nanoTime();
        Map<String, Double> secs = new LinkedHashMap<>();
        Map<String, String> facts = new LinkedHashMap<>();
        ForkJoinPool pool = new ForkJoinPool(c.threads());
        try {
            SubsetSum.Solver solver = c.solver();
            facts.put("solver", solver.describe());
            TrainedTarget tt = trainTarget(c, m.train(), m.length(), m.length(), progress, facts, secs, pool);
            AngularData test = AngularData.of(c.seed(), "test", c.samples(), m.length());
            int total = m.hidden().size() * c.sources();
            Construction.PrunedMha[] pruned = new Construction.PrunedMha[total];
            long tp = System.nanoTime();
            progress.start("pruning", total);
            pool.submit(() -> IntStream.range(0, total).parallel().forEach(k -> {
                int n = m.hidden().get(k / c.sources());
                int s = k % c.sources();
                Mha src = Sources.mha(c.seed(), new Object[] {"theory-source", n, s}, 2, n, n, 1, c.init());
                pruned[k] = Construction.pruneMha(src, tt.target().mha(), solver);
                progress.step();
            })).join();
            secs.put("pruning", (System.nanoTime() - tp) / 1e9);
            long te = System.nanoTime();
            double[] errors = errors(test, tt.target().token(), pruned, tt.testOut(), pool);
            secs.put("evaluation", (System.nanoTime() - te) / 1e9);
            List<Row> rows = new ArrayList<>();
            double scale = meanAbs(tt.testOut());
            for (int k = 0; k < total; k++) {
                Construction.PrunedMha p = pruned[k];
                rows.add(new Row("mha", m.hidden().get(k / c.sources()), k % c.sources(), m.length(), m.length(), 1, errors[k],
                        errors[k] / scale, p.qkError(), p.voError(), Double.NaN, p.total() == 0 ? Double.NaN : (double) p.kept() / p.total(), p.maxItems()));
            }
            secs.put("total", (System.nanoTime() - t0) / 1e9);
            return new Outcome("mha", rows, facts, secs);
        } finally {
            pool.shutdown();
        }
    }

    /** The target, its outputs on the test split, and its fit to the task. */
    record TrainedTarget(TargetTrainer.Target target, double[] testOut) {}

    private static TrainedTarget trainTarget(Common c, TargetTrainer.Settings ts, int trainLength, int testLength,
            Progress progress, Map<String, String> facts, Map<String, Double> secs, ForkJoinPool pool) {
        AngularData train = AngularData.of(c.seed(), "train", c.samples(), trainLength);
        AngularData val = AngularData.of(c.seed(), "val", c.samples(), trainLength);
        AngularData test = AngularData.of(c.seed(), "test", c.samples(), testLength);
        progress.log("training the target MHA (T = " + trainLength + ", " + ts.epochs() + " epochs) with DJL ...");
        TargetTrainer.Target target = TargetTrainer.train(train, ts);
        secs.merge("target training", target.seconds(), Double::sum);
        Mha.Merged merged = target.mha().merged(1);
        double[] valOut = Evaluator.outputs(val, target.token(), merged, pool);
        double[] testOut = Evaluator.outputs(test, target.token(), merged, pool);
        String key = trainLength == testLength ? "" : " (trained at T = " + trainLength + ")";
        String line = String.format(Locale.ROOT, "train MSE %.4f (last epoch), val MSE %.4f, test MSE %.4f at T = %d; predicting 0 gives MSE %.4f; "
                        + "mean |target output| %.4f", target.lastEpochLoss(), mse(valOut, val), mse(testOut, test), testLength,
                meanSquare(test), meanAbs(testOut));
        facts.put("target" + key, line);
        facts.put("target weights" + key, weights(target));
        progress.log("target" + key + ": " + line);
        return new TrainedTarget(target, testOut);
    }

    private static double[] errors(AngularData test, double[] token, Construction.PrunedMha[] pruned, double[] ref, ForkJoinPool pool) {
        return errors(test, token, pruned, ref, pool, Progress.NONE);
    }

    private static double[] errors(AngularData test, double[] token, Construction.PrunedMha[] pruned, double[] ref, ForkJoinPool pool,
            Progress progress) {
        Mha.Merged[] nets = new Mha.Merged[pruned.length];
        for (int k = 0; k < pruned.length; k++) {
            nets[k] = pruned[k].net().merged(1);
        }
        return Evaluator.meanAbsErrors(test, token, nets, ref, pool, progress);
    }

    // -------------------------------------------------------------------------------------------
    // Fig. 5: error against sequence length

    public record LengthSettings(List<Integer> hidden, List<Integer> lengths, int maxTrainLength, TargetTrainer.Settings train) {}

    public static Outcome length(Common c, LengthSettings m, Progress progress) {
        long t0 = System.nanoTime();
        Map<String, Double> secs = new LinkedHashMap<>();
        Map<String, String> facts = new LinkedHashMap<>();
        ForkJoinPool pool = new ForkJoinPool(c.threads());
        try {
            SubsetSum.Solver solver = c.solver();
            facts.put("solver", solver.describe());
            facts.put("training lengths", "each target is trained at T_train = min(T, " + m.maxTrainLength()
                    + ") and evaluated, with its pruned sources, at T");
            Map<Integer, TargetTrainer.Target> targets = new TreeMap<>();
            Map<Integer, Construction.PrunedMha[]> prunedByTrain = new TreeMap<>();
            List<Row> rows = new ArrayList<>();
            int perTarget = m.hidden().size() * c.sources();
            AtomicLong evalNanos = new AtomicLong();
            AtomicLong pruneNanos = new AtomicLong();
            long work = 0;
            for (int t : m.lengths()) {
                work += (long) c.samples() * (t + 1);
            }
            for (int t : m.lengths()) {
                int tt = Math.min(t, m.maxTrainLength());
                if (!targets.containsKey(tt)) {
                    AngularData train = AngularData.of(c.seed(), "train", c.samples(), tt);
                    AngularData val = AngularData.of(c.seed(), "val", c.samples(), tt);
                    progress.log("training the target MHA at T = " + tt + " with DJL ...");
                    TargetTrainer.Target target = TargetTrainer.train(train, m.train());
                    secs.merge("target training", target.seconds(), Double::sum);
                    double[] valOut = Evaluator.outputs(val, target.token(), target.mha().merged(1), pool);
                    String line = String.format(Locale.ROOT, "train MSE %.4f (last epoch), val MSE %.4f (predicting 0: %.4f); %s",
                            target.lastEpochLoss(), mse(valOut, val), meanSquare(val), weights(target));
                    facts.put("target T_train = " + tt, line);
                    progress.log("target T_train = " + tt + ": " + line);
                    targets.put(tt, target);
                    long tp = System.nanoTime();
                    Construction.PrunedMha[] pruned = new Construction.PrunedMha[perTarget];
                    pool.submit(() -> IntStream.range(0, perTarget).parallel().forEach(k -> {
                        int n = m.hidden().get(k / c.sources());
                        int s = k % c.sources();
                        Mha src = Sources.mha(c.seed(), new Object[] {"theory-source", n, s}, 2, n, n, 1, c.init());
                        pruned[k] = Construction.pruneMha(src, target.mha(), solver);
                    })).join();
                    pruneNanos.addAndGet(System.nanoTime() - tp);
                    prunedByTrain.put(tt, pruned);
                }
            }
            progress.start("evaluating (sample positions)", work);
            for (int t : m.lengths()) {
                int tt = Math.min(t, m.maxTrainLength());
                TargetTrainer.Target target = targets.get(tt);
                Construction.PrunedMha[] pruned = prunedByTrain.get(tt);
                long te = System.nanoTime();
                AngularData test = AngularData.of(c.seed(), "test", c.samples(), t);
                double[] ref = Evaluator.outputs(test, target.token(), target.mha().merged(1), pool);
                double[] errors = errors(test, target.token(), pruned, ref, pool, progress);
                evalNanos.addAndGet(System.nanoTime() - te);
                double scale = meanAbs(ref);
                for (int k = 0; k < perTarget; k++) {
                    Construction.PrunedMha p = pruned[k];
                    rows.add(new Row("length", m.hidden().get(k / c.sources()), k % c.sources(), t, tt, 1, errors[k],
                            errors[k] / scale, p.qkError(), p.voError(), Double.NaN, p.total() == 0 ? Double.NaN : (double) p.kept() / p.total(),
                            p.maxItems()));
                }
                progress.log(String.format(Locale.ROOT, "T = %d: mean error %s", t, meansByHidden(rows, t)));
            }
            secs.put("pruning", pruneNanos.get() / 1e9);
            secs.put("evaluation", evalNanos.get() / 1e9);
            secs.put("total", (System.nanoTime() - t0) / 1e9);
            return new Outcome("length", rows, facts, secs);
        } finally {
            pool.shutdown();
        }
    }

    private static String meansByHidden(List<Row> rows, int t) {
        Map<Integer, double[]> acc = new TreeMap<>();
        for (Row r : rows) {
            if (r.length() == t) {
                double[] a = acc.computeIfAbsent(r.nHidden(), k -> new double[2]);
                a[0] += r.error();
                a[1]++;
            }
        }
        StringBuilder sb = new StringBuilder();
        acc.forEach((n, a) -> sb.append(sb.length() == 0 ? "" : ", ").append("n = ").append(n).append(": ")
                .append(String.format(Locale.ROOT, "%.3g", a[0] / a[1])));
        return sb.toString();
    }

    // -------------------------------------------------------------------------------------------
    // Fig. 6: transformers

    public record TransformerSettings(List<Integer> blocks, List<Integer> hidden, int length, int dK, int dV) {}

    public static Outcome transformer(Common c, TransformerSettings m, Progress progress) {
        long t0 = System.nanoTime();
        Map<String, Double> secs = new LinkedHashMap<>();
        Map<String, String> facts = new LinkedHashMap<>();
        ForkJoinPool pool = new ForkJoinPool(c.threads());
        try {
            SubsetSum.Solver solver = c.solver();
            facts.put("solver", solver.describe());
            int maxBlocks = m.blocks().get(m.blocks().size() - 1);
            int d = 2;
            Transformer target = Sources.targetTransformer(c.seed(), maxBlocks, d, m.dK(), m.dV());
            AngularData test = AngularData.of(c.seed(), "test", c.samples(), m.length());
            int len = m.length() + 1;
            double[][][][] ref = new double[test.size()][][][];
            Mha.Merged[] targetMerged = target.merged(d);
            pool.submit(() -> IntStream.range(0, test.size()).parallel().forEach(s -> ref[s] = target.forward(input(test, s), targetMerged)))
                    .join();
            double[] scale = new double[maxBlocks];
            for (double[][][] r : ref) {
                for (int b = 0; b < maxBlocks; b++) {
                    for (double[] row : r[b]) {
                        for (double v : row) {
                            scale[b] += Math.abs(v);
                        }
                    }
                }
            }
            StringBuilder sc = new StringBuilder();
            for (int b = 0; b < maxBlocks; b++) {
                sc.append(b == 0 ? "" : ", ").append(b + 1).append(": ").append(String.format(Locale.ROOT, "%.3g", scale[b] / (test.size() * len * d)));
            }
            facts.put("target", "untrained, " + maxBlocks + " blocks (the first b blocks are the b-block target); mean |output| after block "
                    + sc);
            int total = m.hidden().size() * c.sources();
            Row[][] rows = new Row[total][];
            progress.start("pruning + evaluation", total);
            long tp = System.nanoTime();
            pool.submit(() -> IntStream.range(0, total).parallel().forEach(k -> {
                int n = m.hidden().get(k / c.sources());
                int s = k % c.sources();
                Transformer src = Sources.sourceTransformer(c.seed(), new Object[] {"theory-source-transformer", n, s}, maxBlocks, d, n, c.init());
                List<Transformer.Block> prunedBlocks = new ArrayList<>();
                double[] qk = new double[maxBlocks];
                double[] vo = new double[maxBlocks];
                double[] ffn = new double[maxBlocks];
                int[] kept = new int[maxBlocks];
                int[] all = new int[maxBlocks];
                int maxItems = 0;
                for (int b = 0; b < maxBlocks; b++) {
                    Construction.PrunedBlock pb = Construction.pruneBlock(src.blocks().get(b), target.blocks().get(b), solver);
                    prunedBlocks.add(pb.block());
                    qk[b] = pb.attn().qkError();
                    vo[b] = pb.attn().voError();
                    ffn[b] = pb.ffnError();
                    kept[b] = pb.kept();
                    all[b] = pb.total();
                    maxItems = Math.max(maxItems, pb.maxItems());
                }
                Transformer pruned = new Transformer(prunedBlocks);
                Mha.Merged[] merged = pruned.merged(d);
                double[] sum = new double[maxBlocks];
                for (int smp = 0; smp < test.size(); smp++) {
                    double[][][] out = pruned.forward(input(test, smp), merged);
                    for (int b = 0; b < maxBlocks; b++) {
                        for (int p = 0; p < len; p++) {
                            for (int j = 0; j < d; j++) {
                                sum[b] += Math.abs(out[b][p][j] - ref[smp][b][p][j]);
                            }
                        }
                    }
                }
                Row[] r = new Row[m.blocks().size()];
                for (int bi = 0; bi < r.length; bi++) {
                    int b = m.blocks().get(bi);
                    double mq = 0;
                    double mv = 0;
                    double mf = 0;
                    int kk = 0;
                    int aa = 0;
                    for (int x = 0; x < b; x++) {
                        mq = Math.max(mq, qk[x]);
                        mv = Math.max(mv, vo[x]);
                        mf = Math.max(mf, ffn[x]);
                        kk += kept[x];
                        aa += all[x];
                    }
                    double err = sum[b - 1] / ((double) test.size() * len * d);
                    r[bi] = new Row("transformer", n, s, m.length(), 0, b, err, err / (scale[b - 1] / ((double) test.size() * len * d)), mq, mv, mf,
                            (double) kk / aa, maxItems);
                }
                rows[k] = r;
                progress.step();
            })).join();
            secs.put("pruning + evaluation", (System.nanoTime() - tp) / 1e9);
            List<Row> out = new ArrayList<>();
            for (int bi = 0; bi < m.blocks().size(); bi++) {
                for (Row[] r : rows) {
                    out.add(r[bi]);
                }
            }
            secs.put("total", (System.nanoTime() - t0) / 1e9);
            return new Outcome("transformer", out, facts, secs);
        } finally {
            pool.shutdown();
        }
    }

    /** The transformer's input for sample s: the regression token (zero: untrained) then x_1..x_T. */
    static double[][] input(AngularData data, int s) {
        double[] xs = new double[2 * data.length()];
        data.sequence(s, xs);
        double[][] x = new double[data.length() + 1][2];
        for (int t = 0; t < data.length(); t++) {
            x[t + 1][0] = xs[2 * t];
            x[t + 1][1] = xs[2 * t + 1];
        }
        return x;
    }

    // -------------------------------------------------------------------------------------------

    private static double mse(double[] out, AngularData data) {
        double s = 0;
        for (int i = 0; i < out.length; i++) {
            double e = out[i] - data.target(i);
            s += e * e;
        }
        return s / out.length;
    }

    private static double meanSquare(AngularData data) {
        double s = 0;
        for (int i = 0; i < data.size(); i++) {
            s += data.target(i) * data.target(i);
        }
        return s / data.size();
    }

    private static double meanAbs(double[] v) {
        double s = 0;
        for (double x : v) {
            s += Math.abs(x);
        }
        return s / v.length;
    }

    private static String weights(TargetTrainer.Target t) {
        double[][] a = Matrices.scale(Matrices.mulT(t.mha().wq(), t.mha().wk()), Mha.logitScale(t.mha().nK()));
        double[][] b = Matrices.mul(t.mha().wv(), t.mha().wo());
        return String.format(Locale.ROOT, "token (%.4g, %.4g); W_Q W_K^T / sqrt(d_K) = [[%.4g, %.4g], [%.4g, %.4g]]; W_V W_O = [%.4g, %.4g]",
                t.token()[0], t.token()[1], a[0][0], a[0][1], a[1][0], a[1][1], b[0][0], b[1][0]);
    }

}
