package slt.theory;

import java.util.SplittableRandom;

/** Small dense double matrices (row-major double[][]) and the initialisations of the experiments. */
public final class Matrices {
    private Matrices() {}

    /** a (r x k) times b (k x c); k may be 0 (a zero matrix). */
    public static double[][] mul(double[][] a, double[][] b) {
        int r = a.length;
        int k = b.length;
        int c = k == 0 ? 0 : b[0].length;
        double[][] out = new double[r][c];
        for (int i = 0; i < r; i++) {
            for (int j = 0; j < k; j++) {
                double x = a[i][j];
                if (x == 0) {
                    continue;
                }
                for (int o = 0; o < c; o++) {
                    out[i][o] += x * b[j][o];
                }
            }
        }
        return out;
    }

    /** a (r x k) times b^T (b: c x k). */
    public static double[][] mulT(double[][] a, double[][] b) {
        int r = a.length;
        int c = b.length;
        double[][] out = new double[r][c];
        for (int i = 0; i < r; i++) {
            for (int o = 0; o < c; o++) {
                double s = 0;
                for (int j = 0; j < a[i].length; j++) {
                    s += a[i][j] * b[o][j];
                }
                out[i][o] = s;
            }
        }
        return out;
    }

    public static double[][] transpose(double[][] a) {
        int r = a.length;
        int c = r == 0 ? 0 : a[0].length;
        double[][] out = new double[c][r];
        for (int i = 0; i < r; i++) {
            for (int j = 0; j < c; j++) {
                out[j][i] = a[i][j];
            }
        }
        return out;
    }

    public static double[][] scale(double[][] a, double f) {
        double[][] out = new double[a.length][];
        for (int i = 0; i < a.length; i++) {
            out[i] = new double[a[i].length];
            for (int j = 0; j < a[i].length; j++) {
                out[i][j] = a[i][j] * f;
            }
        }
        return out;
    }

    /** w * m elementwise (the effective weights of a pruned matrix). */
    public static double[][] masked(double[][] w, boolean[][] m) {
        double[][] out = new double[w.length][];
        for (int i = 0; i < w.length; i++) {
            out[i] = new double[w[i].length];
            for (int j = 0; j < w[i].length; j++) {
                out[i][j] = m[i][j] ? w[i][j] : 0;
            }
        }
        return out;
    }

    /** A rows x cols matrix with entries U[-bound, bound] from the stream seeded by {@code seed}. */
    public static double[][] uniform(long seed, int rows, int cols, double bound) {
        SplittableRandom r = new SplittableRandom(seed);
        double[][] out = new double[rows][cols];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                out[i][j] = (2 * r.nextDouble() - 1) * bound;
            }
        }
        return out;
    }

    /** Xavier (Glorot) uniform bound for a fan_in x fan_out matrix: sqrt(6 / (fan_in + fan_out)). */
    public static double xavierBound(int fanIn, int fanOut) {
        return fanIn + fanOut == 0 ? 0 : Math.sqrt(6.0 / (fanIn + fanOut));
    }

    public static double maxAbs(double[][] a) {
        double m = 0;
        for (double[] row : a) {
            for (double v : row) {
                m = Math.max(m, Math.abs(v));
            }
        }
        return m;
    }

    public static int count(boolean[][] m) {
        int c = 0;
        for (boolean[] row : m) {
            for (boolean b : row) {
                c += b ? 1 : 0;
            }
        }
        return c;
    }
}
