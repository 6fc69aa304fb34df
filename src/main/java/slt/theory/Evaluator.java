package slt.theory;

import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;

/**
 * Outputs of attention layers on a data set, and the output error of many pruned sources against
 * a target in one pass (each sample's sequence is computed once for all networks). Work is split
 * into fixed chunks of samples and the partial sums are added in chunk order, so results do not
 * depend on the number of threads.
 */
public final class Evaluator {
    private Evaluator() {}

    private static final int CHUNKS = 64;

    /** The output (dimension 1) at the regression token's position for every sample. */
    public static double[] outputs(AngularData data, double[] token, Mha.Merged net, ForkJoinPool pool) {
        double[] out = new double[data.size()];
        run(pool, data.size(), (from, to) -> {
            double[] xs = new double[2 * data.length()];
            double[] logits = new double[data.length() + 1];
            double[] y = new double[1];
            for (int s = from; s < to; s++) {
                data.sequence(s, xs);
                out[s] = output(net, token, xs, data.length(), logits, y);
            }
            return null;
        });
        return out;
    }

    /** Mean over samples of |output of nets[k] - reference output|, for every k. */
    public static double[] meanAbsErrors(AngularData data, double[] token, Mha.Merged[] nets, double[] reference, ForkJoinPool pool) {
        return meanAbsErrors(data, token, nets, reference, pool, Experiments.Progress.NONE);
    }

    /** As above, reporting (to - from) * (T + 1) units of progress per finished chunk of samples. */
    public static double[] meanAbsErrors(AngularData data, double[] token, Mha.Merged[] nets, double[] reference, ForkJoinPool pool,
            Experiments.Progress progress) {
        int n = data.size();
        double[][] partial = new double[CHUNKS][];
        run(pool, n, (from, to) -> {
            double[] xs = new double[2 * data.length()];
            double[] logits = new double[data.length() + 1];
            double[] y = new double[1];
            double[] sums = new double[nets.length];
            for (int s = from; s < to; s++) {
                data.sequence(s, xs);
                for (int k = 0; k < nets.length; k++) {
                    sums[k] += Math.abs(output(nets[k], token, xs, data.length(), logits, y) - reference[s]);
                }
            }
            progress.step((long) (to - from) * (data.length() + 1));
            return sums;
        }, partial);
        double[] err = new double[nets.length];
        for (double[] p : partial) {
            if (p != null) {
                for (int k = 0; k < nets.length; k++) {
                    err[k] += p[k];
                }
            }
        }
        for (int k = 0; k < nets.length; k++) {
            err[k] /= n;
        }
        return err;
    }

    private static double output(Mha.Merged net, double[] token, double[] xs, int length, double[] logits, double[] y) {
        if (token.length == 2 && net.b()[0].length == 1) {
            return net.tokenOutput2(token, xs, length, logits);
        }
        net.tokenOutput(token, xs, length, logits, y);
        return y[0];
    }

    interface Chunk {
        double[] run(int from, int to);
    }

    private static void run(ForkJoinPool pool, int n, Chunk chunk) {
        run(pool, n, chunk, new double[CHUNKS][]);
    }

    private static void run(ForkJoinPool pool, int n, Chunk chunk, double[][] partial) {
        pool.submit(() -> IntStream.range(0, CHUNKS).parallel().forEach(c -> {
            int from = (int) ((long) n * c / CHUNKS);
            int to = (int) ((long) n * (c + 1) / CHUNKS);
            partial[c] = chunk.run(from, to);
        })).join();
    }
}
