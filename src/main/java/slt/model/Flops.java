package slt.model;

/**
 * The one place that counts FLOPs (floating-point operations; a multiply-add is 2). Per token of
 * training (forward + backward), the usual estimate (Kaplan et al. 2020; PaLM's MFU):
 *
 * <pre>  6 * N  +  12 * n_layer * d * T</pre>
 *
 * where N counts the parameters of matrix multiplies: per layer the fused QKV (3d^2), the
 * attention output (d^2) and the MLP (8d^2), plus the tied LM head (vocab * d). Embedding lookups
 * are not matrix multiplies and are excluded. The second term is attention: q k^T and the
 * weighted sum of values, T being the sequence length. Edge-popup adds only elementwise work
 * (masks, W * M), which this formula leaves out on purpose: it is the cost of the same dense model.
 */
public final class Flops {
    private Flops() {}

    /** Parameters that take part in matrix multiplies (embedding lookups excluded, tied head included). */
    public static long matmulParams(ModelSpec s) {
        long d = s.dModel();
        return 12L * s.nLayer() * d * d + (long) s.vocab() * d;
    }

    /** Training FLOPs per token (forward and backward) at sequence length {@code seqLen}. */
    public static double trainingPerToken(ModelSpec s, int seqLen) {
        return 6.0 * matmulParams(s) + 12.0 * s.nLayer() * s.dModel() * seqLen;
    }

    /** Forward-only FLOPs per token (evaluation): a third of training. */
    public static double forwardPerToken(ModelSpec s, int seqLen) {
        return trainingPerToken(s, seqLen) / 3;
    }

    /** The formula, for printing next to numbers derived from it. */
    public static String formula() {
        return "6 x N_matmul + 12 x n_layer x d x T per training token (N_matmul = 12 n_layer d^2 + vocab d)";
    }
}
