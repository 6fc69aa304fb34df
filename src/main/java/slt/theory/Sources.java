package slt.theory;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import slt.UserError;
import slt.config.Seeds;

/** Random source networks and the untrained target transformer, each matrix from its own derived seed. */
public final class Sources {
    private Sources() {}

    /** Source initialisation: the theorem's (default) or Xavier uniform (the paper's appendix). */
    public enum Init {
        /** W_Q, W_K ~ U[-n_K^(1/4), n_K^(1/4)]; W_V, W_O and feed-forward weights ~ U[-1, 1]. */
        THEORY,
        /** Every matrix ~ U[-sqrt(6/(fan_in + fan_out)), +sqrt(6/(fan_in + fan_out))]. */
        XAVIER;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }

        public static Init parse(String s) {
            for (Init i : values()) {
                if (i.label().equalsIgnoreCase(s.trim())) {
                    return i;
                }
            }
            throw new IllegalArgumentException("unknown initialisation '" + s + "': choose theory (Q/K ~ U[-n^(1/4), n^(1/4)], V/O ~ U[-1, 1]) or xavier (Xavier uniform)");
        }
    }

    private static double[][] matrix(long seed, Object[] tag, String name, int rows, int cols, double theoryBound, Init init) {
        Object[] parts = new Object[tag.length + 1];
        System.arraycopy(tag, 0, parts, 0, tag.length);
        parts[tag.length] = name;
        double bound = init == Init.THEORY ? theoryBound : Matrices.xavierBound(rows, cols);
        return Matrices.uniform(Seeds.derive(seed, parts), rows, cols, bound);
    }

    /** A source attention layer: d -> n_K (Q, K), d -> n_V -> dOut (V, O); tag names it among the run's sources. */
    public static Mha mha(long seed, Object[] tag, int d, int nK, int nV, int dOut, Init init) {
        double qk = Math.pow(nK, 0.25);
        return new Mha(matrix(seed, tag, "W_Q", d, nK, qk, init), matrix(seed, tag, "W_K", d, nK, qk, init),
                matrix(seed, tag, "W_V", d, nV, 1, init), matrix(seed, tag, "W_O", nV, dOut, 1, init));
    }

    /** A source transformer of {@code blocks} blocks: attention with n_K = n_V = n, feed-forward d -> n -> d. */
    public static Transformer sourceTransformer(long seed, Object[] tag, int blocks, int d, int n, Init init) {
        List<Transformer.Block> list = new ArrayList<>();
        for (int b = 0; b < blocks; b++) {
            Object[] t = append(tag, "block" + b);
            list.add(new Transformer.Block(mha(seed, t, d, n, n, d, init), new double[][][] {
                matrix(seed, t, "FC_1", d, n, 1, init), matrix(seed, t, "FC_2", n, d, 1, init)}));
        }
        return new Transformer(list);
    }

    /**
     * The untrained target transformer: Q/K (d x dK) ~ U[-dK^(1/4), dK^(1/4)], V (d x dV), O (dV x d)
     * and the one feed-forward layer (d x d) ~ U[-1, 1].
     */
    public static Transformer targetTransformer(long seed, int blocks, int d, int dK, int dV) {
        List<Transformer.Block> list = new ArrayList<>();
        for (int b = 0; b < blocks; b++) {
            Object[] t = {"theory-target-transformer", "block" + b};
            list.add(new Transformer.Block(mha(seed, t, d, dK, dV, d, Init.THEORY),
                    new double[][][] {matrix(seed, t, "FC", d, d, 1, Init.THEORY)}));
        }
        return new Transformer(list);
    }

    static Object[] append(Object[] a, Object x) {
        Object[] out = new Object[a.length + 1];
        System.arraycopy(a, 0, out, 0, a.length);
        out[a.length] = x;
        return out;
    }
}
