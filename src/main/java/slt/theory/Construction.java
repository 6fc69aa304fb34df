package slt.theory;

/**
 * Lemma 7 applied to whole networks: a random source attention layer (and a source two-layer
 * ReLU feed-forward net) pruned to approximate a target one. The pruned network keeps the
 * source's shapes; pruned weights are zero.
 */
public final class Construction {
    private Construction() {}

    /**
     * A pruned attention layer: the network, the largest entry error of its logit matrix
     * (W_Q W_K^T / sqrt(n_K) against the target's, in logit units) and of W_V W_O, and kept/total weights.
     */
    public record PrunedMha(Mha net, double qkError, double voError, int kept, int total, int maxItems, Masks masks) {}

    /** The masks of a pruned attention layer, each the shape of its weight (true = kept). */
    public record Masks(boolean[][] q, boolean[][] k, boolean[][] v, boolean[][] o) {}

    /**
     * Prunes {@code source} (W_Q, W_K: d x n_K, W_V: d x n_V, W_O: n_V x d_out) to approximate
     * {@code target}. Q/K: W_Q is pruned to the block structure and each entry (i, l) of
     * W_Q' W_K'^T is a subset sum aiming at sqrt(n_K / d_K) (W_Q^t W_K^t^T)[i][l] (so that the logits,
     * scaled by 1/sqrt(n_K) and 1/sqrt(d_K) respectively, agree). V/O: W_V is pruned to the block
     * structure and each entry of W_V' W_O' is a subset sum aiming at (W_V^t W_O^t)[i][o].
     */
    public static PrunedMha pruneMha(Mha source, Mha target, SubsetSum.Solver solver) {
        double[][] logits = Matrices.scale(Matrices.mulT(target.wq(), target.wk()), Mha.logitScale(target.nK()));
        double[][] qkTarget = Matrices.scale(logits, 1 / Mha.logitScale(source.nK()));
        Lemma7.Pruned qk = Lemma7.pruneLinear(source.wq(), Matrices.transpose(source.wk()), qkTarget, solver);
        double[][] voTarget = Matrices.mul(target.wv(), target.wo());
        Lemma7.Pruned vo = Lemma7.pruneLinear(source.wv(), source.wo(), voTarget, solver);
        Mha pruned = new Mha(
                Matrices.masked(source.wq(), qk.maskP()),
                maskedByTransposed(source.wk(), qk.maskS()),
                Matrices.masked(source.wv(), vo.maskP()),
                Matrices.masked(source.wo(), vo.maskS()));
        boolean[][] maskK = new boolean[source.wk().length][source.nK()];
        for (int j = 0; j < source.nK(); j++) {
            for (int l = 0; l < maskK.length; l++) {
                maskK[l][j] = qk.maskS()[j][l];
            }
        }
        return new PrunedMha(pruned, qk.maxError() * Mha.logitScale(source.nK()), vo.maxError(),
                qk.kept() + vo.kept(), qk.total() + vo.total(), Math.max(qk.maxItems(), vo.maxItems()),
                new Masks(qk.maskP(), maskK, vo.maskP(), vo.maskS()));
    }

    /** w * m^T elementwise (w: r x c, m: c x r), keeping w's shape also when c = 0. */
    static double[][] maskedByTransposed(double[][] w, boolean[][] mT) {
        double[][] out = new double[w.length][];
        for (int i = 0; i < w.length; i++) {
            out[i] = new double[w[i].length];
            for (int j = 0; j < w[i].length; j++) {
                out[i][j] = mT[j][i] ? w[i][j] : 0;
            }
        }
        return out;
    }

    /** A pruned transformer block: the block, its attention pruning, the feed-forward entry error. */
    public record PrunedBlock(Transformer.Block block, PrunedMha attn, double ffnError, int kept, int total, int maxItems,
            boolean[][] maskFc1, boolean[][] maskFc2) {}

    /**
     * Prunes a source block (attention + two-layer ReLU net U, V) to approximate a target block
     * (attention + one ReLU layer W): attention as {@link #pruneMha}, the feed-forward net by
     * {@link Lemma7#pruneRelu}.
     */
    public static PrunedBlock pruneBlock(Transformer.Block source, Transformer.Block target, SubsetSum.Solver solver) {
        if (source.ffn().length != 2 || target.ffn().length != 1) {
            throw new IllegalArgumentException("source blocks need a two-layer feed-forward net, targets a one-layer one");
        }
        PrunedMha attn = pruneMha(source.attn(), target.attn(), solver);
        double[][] u = source.ffn()[0];
        double[][] v = source.ffn()[1];
        Lemma7.Pruned ffn = Lemma7.pruneRelu(u, v, target.ffn()[0], solver);
        Transformer.Block block = new Transformer.Block(attn.net(),
                new double[][][] {Matrices.masked(u, ffn.maskP()), Matrices.masked(v, ffn.maskS())});
        return new PrunedBlock(block, attn, ffn.maxError(), attn.kept() + ffn.kept(), attn.total() + ffn.total(),
                Math.max(attn.maxItems(), ffn.maxItems()), ffn.maskP(), ffn.maskS());
    }
}
