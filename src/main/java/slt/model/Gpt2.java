package slt.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;
import ai.djl.util.PairList;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Function;
import slt.config.Config;

/**
 * GPT-2 (pre-LayerNorm decoder) with an edge-popup weight in every matrix.
 *
 * <pre>
 *   x = wte[ids] + wpe[0:T]
 *   for each block:  x = x + attn(ln(x));  x = x + mlp(ln(x))
 *   logits = logit_scale * ln(x) wte^T                      (LM head tied to the token embedding)
 *   attn(x) = c_proj(softmax(q k^T / sqrt(qk_dim) + causal) v),  [q k v] = c_attn(x) split in heads (one fused kernel)
 *   mlp(x)  = c_proj(gelu_tanh(c_fc(x)))                    (gelu_tanh: one fused kernel, see Kernels)
 * </pre>
 *
 * No biases, no dropout, LayerNorms non-affine (frozen at gamma 1, beta 0). Tensor names follow
 * Hugging Face's GPT-2 ({@code wte}, {@code h.0.attn.c_attn}, ...) with torch's (out, in) layout.
 * Per head, q and k have qk_dim entries and v has v_dim (both d / n_head = 64 in GPT-2; see
 * {@link ModelSpec#qkvRows()} for the layout).
 * Input: token ids (B, T) int64; output: logits (B, T, vocab).
 */
public final class Gpt2 extends AbstractBlock {

    private final ModelSpec spec;
    private final MaskedEmbedding wte;
    private final MaskedEmbedding wpe;
    private final List<Layer> layers = new ArrayList<>();
    private final List<MaskedBlock> weights = new ArrayList<>();
    private NDArray lnGamma;
    private NDArray lnBeta;
    private Kernels kernels;
    private Config.Precision precision = Config.Precision.FP32;

    public Gpt2(ModelSpec spec) {
        this.spec = spec;
        long seed = spec.seed();
        int d = spec.dModel();
        MaskedBlock.Role emb = spec.roleOf(true);
        wte = register(new MaskedEmbedding("wte", spec.vocab(), d, emb,
                Gpt2Init.normal(seed, "wte", spec.embeddingStd()), Gpt2Init.scores(seed, "wte"), spec.rescale()));
        wpe = register(new MaskedEmbedding("wpe", spec.context(), d, emb,
                Gpt2Init.normal(seed, "wpe", spec.embeddingStd()), Gpt2Init.scores(seed, "wpe"), spec.rescale()));
        for (int i = 0; i < spec.nLayer(); i++) {
            layers.add(new Layer(i));
        }
    }

    /** A model built and initialised on {@code manager}'s device (weights and scores from the seed). */
    public static Gpt2 create(ModelSpec spec, NDManager manager) {
        Gpt2 model = new Gpt2(spec);
        model.initialize(manager, DataType.FLOAT32, new Shape(1, spec.context()));
        return model;
    }

    /** {@link #create(ModelSpec, NDManager)}, computing its matrix products in {@code precision} ({@link #setPrecision}). */
    public static Gpt2 create(ModelSpec spec, NDManager manager, Config.Precision precision) {
        Gpt2 model = create(spec, manager);
        model.setPrecision(precision);
        return model;
    }

    /**
     * The trained tensors by name, in model order: {@code <tensor>.scores} (edge-popup) or
     * {@code <tensor>.weight} (dense). With the seed, they are the whole trained model.
     */
    public Map<String, Parameter> trainable() {
        return byTrainedName(MaskedBlock::trainable);
    }

    /** The trained tensors' gradients after a step's backward passes, named as {@link #trainable()} names them. */
    public Map<String, NDArray> gradients() {
        return byTrainedName(w -> w.gradient(kernels));
    }

    private <T> Map<String, T> byTrainedName(Function<MaskedBlock, T> f) {
        Map<String, T> out = new LinkedHashMap<>();
        for (MaskedBlock w : weights) {
            if (w.role() != MaskedBlock.Role.FROZEN) {
                out.put(w.name() + (w.role() == MaskedBlock.Role.MASKED ? ".scores" : ".weight"), f.apply(w));
            }
        }
        return out;
    }

    /**
     * Recomputes every mask from the current scores, with this model's own density and scope (once
     * per optimizer step, before evaluating, and before reading a ticket).
     */
    public void refreshMasks() {
        MaskSelector.update(kernels, weights, spec.density(), spec.scope());
    }

    /** Forgets the step's gradients (see {@link MaskedBlock#clearGradient()}). */
    public void clearGradients() {
        weights.forEach(MaskedBlock::clearGradient);
    }

    /**
     * Computes the matrix products (the masked weights with the activations entering them,
     * attention's q k^T and its product with v, the tied LM head) in 16 bits for {@code BF16} and
     * {@code FP16}, each result back in fp32 (LayerNorm, softmax, GELU, log-softmax and the loss stay
     * fp32); in fp32 otherwise (TF32 is libtorch's own switch, see Devices). The weights and scores
     * themselves stay fp32, so the straight-through gradient is computed from an fp32 W.
     */
    public void setPrecision(Config.Precision precision) {
        this.precision = precision;
    }

    /** The fused kernels on this model's device (GELU, AdamW). */
    public Kernels kernels() {
        return kernels;
    }

    /** Every weight tensor in a fixed order (wte, wpe, then each layer's c_attn, c_proj, c_fc, c_proj). */
    public List<MaskedBlock> weights() {
        return Collections.unmodifiableList(weights);
    }

    public ModelSpec spec() {
        return spec;
    }

    /** Logits (B, T, vocab) for token ids (B, T): {@link #head} of {@link #hidden}. */
    public NDArray logits(NDArray ids) {
        NDArray h = hidden(ids);
        return Scoped.call(() -> head(h));
    }

    /**
     * The final hidden states (B, T, d) for token ids (B, T): embeddings, the blocks, and the final
     * LayerNorm; what the tied LM head ({@link #head}) turns into logits.
     */
    public NDArray hidden(NDArray ids) {
        long t = ids.getShape().get(1);
        if (t > spec.context()) {
            throw new IllegalArgumentException("sequence of " + t + " tokens exceeds the model's " + spec.context() + " positions");
        }
        NDArray tokenTable = wte.effectiveWeight();
        NDArray x = MaskedEmbedding.lookup(ids, tokenTable).add(wpe.effectiveWeight().get("0:" + t));
        for (Layer layer : layers) {
            NDArray in = x;
            x = Scoped.call(() -> layer.forward(in)); // the layer's temporaries die here
        }
        NDArray last = x;
        return Scoped.call(() -> layerNorm(last));
    }

    /** Logits (..., vocab) of hidden states (..., d): the LM head tied to the token embedding, times logit_scale. */
    public NDArray head(NDArray hidden) {
        NDArray logits = linear(hidden, wte.effectiveWeight());
        return spec.logitScale() == 1.0 ? logits : Constants.mul(logits, spec.logitScale());
    }

    /**
     * Training's LM head and loss: the summed cross-entropy of {@code targets} (N) under the head
     * applied to {@code hidden} (N, d), with the gradient of {@code gradScale} times that loss sent
     * into autograd's graph through {@code backward(root, gradient)}: into the token table (the tied
     * head's weight) and into {@code hidden}, whose graph carries it through the blocks. The head
     * and the loss are one fused pass per chunk of {@link #headChunkRows()} rows ({@link
     * Kernels#headLoss}), so no logits graph is kept. Returns the summed loss (a float32 scalar).
     */
    public NDArray headLoss(NDArray hidden, NDArray targets, double gradScale, BiConsumer<NDArray, NDArray> backward) {
        NDArray w = wte.effectiveWeight();
        boolean weightGrad = wte.role() != MaskedBlock.Role.FROZEN;
        int dtype = switch (precision) {
            case BF16 -> 15; // torch's ScalarType codes
            case FP16 -> 5;
            default -> 6;
        };
        NDList out = kernels.headLoss(hidden, w, targets, spec.logitScale(), gradScale, headChunkRows(), dtype, weightGrad);
        try (NDArray dHidden = out.get(1); NDArray dWeight = out.get(2)) {
            backward.accept(hidden, dHidden); // first: the token table's lookup gives W's gradient its memory
            if (weightGrad) {
                backward.accept(w, dWeight); // then the head's share is added into it (dWeight is the kernels' scratch)
            }
        }
        return out.get(0);
    }

    /**
     * Rows of hidden states per chunk of the LM head when a whole batch's logits are not needed at
     * once (training's {@link #headLoss}, evaluation's calls of {@link #head}): only one chunk's
     * logits and log-probabilities (at most 3 x 2048 x 50,257 floats, 1.2 GB, in evaluation; two in
     * training) live at a time, where a micro-batch of 8 x 1024 tokens would hold 4.9 GB. Each
     * chunk adds its share to the token table's gradient (a full vocab x d pass), which is why
     * chunks are not smaller (measured: 128-row chunks made mini 2 x 512 steps 18 % slower on the
     * CPU, docs/BENCHMARKS.md).
     */
    public long headChunkRows() {
        return 2048;
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> p) {
        return new NDList(logits(inputs.singletonOrThrow()));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0].add(spec.vocab())};
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        for (MaskedBlock w : weights) {
            w.initialize(manager, dataType);
        }
        lnGamma = manager.ones(new Shape(spec.dModel()));
        lnBeta = manager.zeros(new Shape(spec.dModel()));
        NDScope.unregister(lnGamma, lnBeta);
        kernels = Kernels.on(manager); // GELU in one kernel; closed with the manager
    }

    private NDArray layerNorm(NDArray x) {
        return LayerNorm.layerNorm(x, new Shape(spec.dModel()), lnGamma, lnBeta, (float) spec.layerNormEps())
                .singletonOrThrow();
    }

    /** x W^T, in the model's precision. */
    private NDArray linear(NDArray x, NDArray weight) {
        return switch (precision) {
            case BF16, FP16 -> kernels.linear16(x, weight, precision == Config.Precision.BF16);
            default -> Linear.linear(x, weight).singletonOrThrow();
        };
    }

    private NDArray causalAttention(NDArray q, NDArray k, NDArray v) {
        return switch (precision) {
            case BF16, FP16 -> kernels.causalAttention16(q, k, v, precision == Config.Precision.BF16);
            default -> kernels.causalAttention(q, k, v);
        };
    }


    /** A weight tensor: a child block named as in GPT-2 ({@code h.0.attn.c_attn}), in {@link #weights()} order. */
    private <B extends MaskedBlock> B register(B block) {
        weights.add(addChildBlock(block.name(), block));
        return block;
    }

    /** One transformer block: causal self-attention and MLP, each pre-LayerNorm with a residual. */
    private final class Layer {
        private final MaskedLinear cAttn;
        private final MaskedLinear attnProj;
        private final MaskedLinear cFc;
        private final MaskedLinear mlpProj;

        Layer(int i) {
            String p = "h." + i + ".";
            int d = spec.dModel();
            cAttn = matrix(p + "attn.c_attn", d, spec.qkvRows(),
                    Gpt2Init.qkv(spec.seed(), p + "attn.c_attn", spec.initStd(), spec.qkvBlockStart(2), spec.qkScale()));
            attnProj = matrix(p + "attn.c_proj", spec.attnOutputWidth(), d,
                    Gpt2Init.normal(spec.seed(), p + "attn.c_proj", spec.residualStd()));
            cFc = matrix(p + "mlp.c_fc", d, 4L * d, Gpt2Init.normal(spec.seed(), p + "mlp.c_fc", spec.initStd()));
            mlpProj = matrix(p + "mlp.c_proj", 4L * d, d, Gpt2Init.normal(spec.seed(), p + "mlp.c_proj", spec.residualStd()));
        }

        private MaskedLinear matrix(String name, long in, long out, Initializer weightInit) {
            return register(new MaskedLinear(name, in, out, spec.roleOf(false), weightInit,
                    Gpt2Init.scores(spec.seed(), name), spec.rescale()));
        }

        NDArray forward(NDArray x) {
            x = x.add(attention(layerNorm(x)));
            return x.add(linear(kernels.geluTanh(linear(layerNorm(x), cFc.effectiveWeight())),
                    mlpProj.effectiveWeight()));
        }

        private NDArray attention(NDArray x) {
            Shape s = x.getShape();
            long b = s.get(0);
            long t = s.get(1);
            int h = spec.nHead();
            NDList qkv = linear(x, cAttn.effectiveWeight()).split(new long[] {spec.qkvBlockStart(1), spec.qkvBlockStart(2)}, 2);
            NDArray q = heads(qkv.get(0), b, t, h, spec.qkDim());
            NDArray k = heads(qkv.get(1), b, t, h, spec.qkDim());
            NDArray v = heads(qkv.get(2), b, t, h, spec.vDim());
            NDArray y = causalAttention(q, k, v).transpose(0, 2, 1, 3).reshape(b, t, spec.attnOutputWidth());
            return linear(y, attnProj.effectiveWeight());
        }

        private NDArray heads(NDArray a, long b, long t, int h, int hd) {
            return a.reshape(b, t, h, hd).transpose(0, 2, 1, 3);
        }
    }
}
