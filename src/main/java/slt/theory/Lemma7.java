package slt.theory;

/**
 * The pruning construction of the paper's Lemma 7 (two-layer linear nets by subset sum), and the
 * ReLU variant for a feed-forward layer (Pensia et al. 2020). See docs/THEORY.md.
 *
 * <p>A pair (P: d_in x n, S: n x d_out) is pruned so that (P*M_P)(S*M_S) approximates a target
 * T (d_in x d_out). Structured step: hidden unit j belongs to input coordinate g(j) (contiguous
 * blocks of n/d_in units, sizes differing by at most one) and keeps only its entry P[g(j)][j].
 * Then ((P*M_P)(S*M_S))[i][o] = sum over j in block i of P[i][j] S[j][o] M_S[j][o]: a
 * one-dimensional subset sum over the |block i| products P[i][j] S[j][o], and the instances are
 * independent because S's entry (j, o) enters only entry (g(j), o).
 */
public final class Lemma7 {
    private Lemma7() {}

    /** The pruned pair: masks, the achieved error of each target entry, and the subset-sum instances' sizes. */
    public record Pruned(boolean[][] maskP, boolean[][] maskS, double[][] entryError, int maxItems) {
        public double maxError() {
            return Matrices.maxAbs(entryError);
        }

        public int kept() {
            return Matrices.count(maskP) + Matrices.count(maskS);
        }

        public int total() {
            return maskP.length * (maskP.length == 0 ? 0 : maskP[0].length) + maskS.length * (maskS.length == 0 ? 0 : maskS[0].length);
        }
    }

    /** The input coordinate (block) of hidden unit j of n, with d blocks: floor(j d / n). */
    public static int block(int j, int n, int d) {
        return (int) ((long) j * d / n);
    }

    /** Linear pair: (P*M_P)(S*M_S) ~ target. */
    public static Pruned pruneLinear(double[][] p, double[][] s, double[][] target, SubsetSum.Solver solver) {
        return prune(p, s, target, solver, false);
    }

    /**
     * ReLU pair, target one ReLU layer z -> relu(z W): the source z -> relu(relu(z (U*M_U)) (V*M_V)).
     * Unit j of block i computes relu(U[i][j] z_i) = U[i][j] relu(z_i) if U[i][j] > 0, |U[i][j]|
     * relu(-z_i) if U[i][j] < 0; since z_i = relu(z_i) - relu(-z_i), the pre-activation equals
     * z W when, for each (i, o), the positive units' products U[i][j] V[j][o] and (separately) the
     * negative units' products both sum to W[i][o]: two independent subset sums per entry. The
     * entry error recorded is the larger of the two.
     */
    public static Pruned pruneRelu(double[][] u, double[][] v, double[][] w, SubsetSum.Solver solver) {
        return prune(u, v, w, solver, true);
    }

    private static Pruned prune(double[][] p, double[][] s, double[][] target, SubsetSum.Solver solver, boolean relu) {
        int d = p.length;
        int n = d == 0 ? 0 : p[0].length;
        int out = target.length == 0 ? 0 : target[0].length;
        boolean[][] maskP = new boolean[d][n];
        boolean[][] maskS = new boolean[n][out];
        double[][] err = new double[d][out];
        int[][] members = new int[d][];
        int[] counts = new int[d];
        for (int j = 0; j < n; j++) {
            counts[block(j, n, d)]++;
        }
        for (int i = 0; i < d; i++) {
            members[i] = new int[counts[i]];
            counts[i] = 0;
        }
        for (int j = 0; j < n; j++) {
            int i = block(j, n, d);
            members[i][counts[i]++] = j;
            maskP[i][j] = true;
        }
        int maxItems = 0;
        for (int i = 0; i < d; i++) {
            int[][] parts = relu ? bySign(p[i], members[i]) : new int[][] {members[i]};
            for (int o = 0; o < out; o++) {
                double e = 0;
                for (int[] units : parts) {
                    double[] values = new double[units.length];
                    for (int k = 0; k < units.length; k++) {
                        values[k] = p[i][units[k]] * s[units[k]][o];
                    }
                    maxItems = Math.max(maxItems, units.length);
                    SubsetSum.Result r = solver.solve(values, target[i][o]);
                    for (int k = 0; k < units.length; k++) {
                        maskS[units[k]][o] = r.chosen()[k];
                    }
                    e = Math.max(e, r.error());
                }
                err[i][o] = e;
            }
        }
        return new Pruned(maskP, maskS, err, maxItems);
    }

    /** The units of a block split into those with a positive and those with a negative first-layer weight. */
    private static int[][] bySign(double[] row, int[] units) {
        int pos = 0;
        int neg = 0;
        for (int j : units) {
            if (row[j] > 0) {
                pos++;
            } else if (row[j] < 0) {
                neg++;
            }
        }
        int[] a = new int[pos];
        int[] b = new int[neg];
        pos = 0;
        neg = 0;
        for (int j : units) {
            if (row[j] > 0) {
                a[pos++] = j;
            } else if (row[j] < 0) {
                b[neg++] = j;
            }
        }
        return new int[][] {a, b};
    }
}
