package slt.model;

import slt.config.Config;
import slt.config.Preset;

/**
 * Everything needed to build (and regenerate bit for bit) one GPT-2 with its edge-popup masks.
 *
 * @param nLayer transformer blocks
 * @param nHead attention heads
 * @param dModel residual width (nHead x headDim)
 * @param qkDim per-head query/key dimension n_K (GPT-2: headDim = 64)
 * @param vDim per-head value dimension n_V (GPT-2: headDim = 64)
 * @param context number of learned positions
 * @param vocab vocabulary size
 * @param initStd std of weight matrices at init
 * @param embeddingStd std of token and position embeddings at init
 * @param qkScale factor on the Q and K blocks of the fused QKV weight
 * @param logitScale fixed factor on the LM-head logits
 * @param layerNormEps LayerNorm epsilon
 * @param mode edge-popup (scores trained) or dense (weights trained)
 * @param maskEmbeddings whether token/position embeddings are masked too
 * @param density kept fraction of every masked tensor
 * @param scope per-tensor or global top-k
 * @param rescale factor on kept weights (1, or 1/sqrt(density))
 * @param seed run seed from which every tensor's seed is derived
 */
public record ModelSpec(
        int nLayer,
        int nHead,
        int dModel,
        int qkDim,
        int vDim,
        int context,
        int vocab,
        double initStd,
        double embeddingStd,
        double qkScale,
        double logitScale,
        double layerNormEps,
        Config.Mode mode,
        boolean maskEmbeddings,
        double density,
        Config.Scope scope,
        double rescale,
        long seed) {

    /** The model a validated run config describes. */
    public static ModelSpec from(Config c) {
        return new ModelSpec(
                c.model().preset().layers(),
                c.nHead(),
                c.dModel(),
                c.qkDim(),
                c.vDim(),
                c.context(),
                Preset.VOCAB,
                c.model().initStd(),
                c.model().embeddingStd(),
                c.qkScale(),
                c.model().logitScale(),
                c.model().layerNormEps(),
                c.slt().mode(),
                c.slt().maskEmbeddings(),
                c.slt().density(),
                c.slt().scope(),
                c.slt().rescale() == Config.Rescale.SQRT_DENSITY ? 1.0 / Math.sqrt(c.slt().density()) : 1.0,
                c.train().seed());
    }

    /** d_model / n_head: the width of one head's share of the residual stream (64 in GPT-2). */
    public int headDim() {
        return dModel / nHead;
    }

    /*
     * The attention layout, in one place. The fused input projection c_attn is (rows, d_model) with
     * rows [Q; K; V]: Q and K are nHead x qkDim rows each, V nHead x vDim, head h owning the h-th
     * run of qkDim (vDim) rows of its block. The output projection attn.c_proj is
     * (d_model, nHead x vDim), head h reading input columns h*vDim .. (h+1)*vDim. Widening happens
     * after the head split: d_model stays, every head gets a wider Q/K (V) space.
     */

    /** The block of c_attn: 0 = Q, 1 = K, 2 = V. */
    public int qkvBlockRows(int block) {
        return nHead * (block == 2 ? vDim : qkDim);
    }

    /** The first row of block {@code block} (0 Q, 1 K, 2 V) in c_attn. */
    public int qkvBlockStart(int block) {
        return block == 0 ? 0 : block == 1 ? nHead * qkDim : 2 * nHead * qkDim;
    }

    /** Rows of c_attn: nHead x (2 qkDim + vDim); 3 d_model in GPT-2. */
    public int qkvRows() {
        return nHead * (2 * qkDim + vDim);
    }

    /** Input columns of attn.c_proj: nHead x vDim; d_model in GPT-2. */
    public int attnOutputWidth() {
        return nHead * vDim;
    }

    /** Std of the two residual projections (attention output, MLP second layer): GPT-2's 1/sqrt(2 n_layer). */
    public double residualStd() {
        return initStd / Math.sqrt(2.0 * nLayer);
    }

    /** How a weight tensor of this model takes part in training. */
    public MaskedBlock.Role roleOf(boolean embedding) {
        if (mode == Config.Mode.DENSE) {
            return MaskedBlock.Role.TRAINED;
        }
        return embedding && !maskEmbeddings ? MaskedBlock.Role.FROZEN : MaskedBlock.Role.MASKED;
    }
}
