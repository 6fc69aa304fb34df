package slt.model;

/**
 * The one place that counts FLOPs (floating-point operations; a multiply-add is 2). Per token of
 * training (forward + backward), the usual estimate (Kaplan et al. 2020; PaLM's MFU):
 *
 * <pre>  6 * N  +  6 * n_layer * n_head * (qk_dim + v_dim) * T      (= 12 n_layer d T in GPT-2)</pre>
 *
 * where N counts the parameters of matrix multiplies: per layer the fused QKV (d x n_head (2
 * qk_dim + v_dim); 3d^2 in GPT-2), the attention output (n_head v_dim x d; d^2) and the MLP (8d^2),
 * plus the tied LM head (vocab * d). Embedding lookups are not matrix multiplies and are
 * excluded. The second term is attention: q k^T (qk_dim per head) and the weighted sum of values
 * (v_dim per head), T being the sequence length. Edge-popup adds only elementwise work (masks,
 * W * M), which this formula leaves out on purpose: it is the cost of the same dense model.
 */
public final class Flops {
    private Flops() {}

    /** Parameters that take part in matrix multiplies (embedding lookups excluded, tied head included). */
    public static long matmulParams(ModelSpec s) {
        long d = s.dModel();
        long attention = d * s.qkvRows() + (long) s.attnOutputWidth() * d;
        return s.nLayer() * (attention + 8L * d * d) + (long) s.vocab() * d;
    }

    /** Every weight entry of the model: the matrices of {@link #matmulParams} plus the position table. */
    public static long weights(ModelSpec s) {
        return matmulParams(s) + (long) s.context() * s.dModel();
    }

    /** Training FLOPs per token (forward and backward) at sequence length {@code seqLen}. */
    public static double trainingPerToken(ModelSpec s, int seqLen) {
        return 6.0 * matmulParams(s) + 6.0 * s.nLayer() * s.nHead() * (s.qkDim() + s.vDim()) * seqLen;
    }

    /** Forward-only FLOPs per token (evaluation): a third of training. */
    public static double forwardPerToken(ModelSpec s, int seqLen) {
        return trainingPerToken(s, seqLen) / 3;
    }

    /** The formula, for printing next to numbers derived from it. */
    public static String formula() {
        return "6 x N_matmul + 6 x n_layer x n_head x (qk_dim + v_dim) x T per training token "
                + "(N_matmul = n_layer (d n_head (2 qk_dim + v_dim) + n_head v_dim d + 8 d^2) + vocab d; = 12 n_layer d^2 + vocab d in GPT-2)";
    }
}
