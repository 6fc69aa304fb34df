package slt.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.training.initializer.Initializer;

/**
 * Edge-popup (Ramanujan et al. 2020): the whole algorithm lives in {@link #setMask} (forward) and
 * {@link #scoreGradient} (backward).
 *
 * <p>A weight W keeps its random initialisation, frozen. A trainable score S of the same shape
 * ranks its entries, and the forward pass uses W * M, where the 0/1 mask M keeps the entries with
 * the largest |S| ({@link MaskSelector} computes M once per optimizer step, since S only changes
 * there). Top-k has no useful derivative, so the backward pass goes straight through it and
 * through the absolute value (hidden-networks' semantics):
 *
 * <pre>  dL/dS = dL/d(W*M) * W * sign(S)</pre>
 *
 * With no custom autograd in DJL, that is done by hand: W * M is computed once per optimizer step
 * as a leaf of autograd's graph ({@link #effectiveWeight()}), autograd sums dL/d(W*M) over the
 * step's micro-batches into the leaf's gradient, and {@link #scoreGradient} turns it into dL/dS
 * with the formula above. (PyTorch's hidden-networks does the same in an autograd.Function.)
 *
 * <p>Roles: MASKED (the above), FROZEN (W used as is, nothing trains: unmasked embeddings), and
 * TRAINED (W itself trains: the dense "trained model" baseline).
 */
public abstract class MaskedBlock extends AbstractBlock {

    /** How a weight takes part in training. */
    public enum Role { MASKED, FROZEN, TRAINED }

    private final String name;
    private final Role role;
    private final Parameter weight;
    private final Parameter scores;
    private final float rescale;
    private NDArray mask;
    private NDArray product; // W * M (* rescale), MASKED only: one buffer, rewritten by each step's setMask
    private NDArray effective; // this step's leaf: a fresh autograd handle on product's memory

    protected MaskedBlock(
            String name, Shape shape, Role role, Initializer weightInit, Initializer scoreInit, double rescale) {
        this.name = name;
        this.role = role;
        this.rescale = (float) rescale;
        this.weight = addParameter(Parameter.builder()
                .setName("weight")
                .setType(Parameter.Type.WEIGHT)
                .optShape(shape)
                .optInitializer(weightInit)
                .optRequiresGrad(role == Role.TRAINED)
                .build());
        this.scores = role != Role.MASKED ? null : addParameter(Parameter.builder()
                .setName("scores")
                .setType(Parameter.Type.OTHER)
                .optShape(shape)
                .optInitializer(scoreInit)
                .optRequiresGrad(false) // its gradient comes from scoreGradient(), not from autograd
                .build());
    }

    /** W * M (MASKED: this step's leaf, whose gradient autograd accumulates), or W itself. */
    public NDArray effectiveWeight() {
        if (role != Role.MASKED) {
            return weight.getArray();
        }
        if (effective == null) {
            throw new IllegalStateException(name + ": no mask yet; MaskSelector.update must run first");
        }
        return effective;
    }

    /**
     * Installs this step's boolean mask (owned by this block from now on; the previous one is freed)
     * and computes the step's effective weight W * M (times the rescale factor), a fresh leaf that
     * collects dL/d(W*M) over the step's backward passes. Its values live in one buffer kept from
     * step to step (a tensor-sized block of fresh memory per step is slow on a CPU); the leaf is a
     * new handle on it, so autograd starts it with no gradient.
     */
    public void setMask(Kernels kernels, NDArray newMask) {
        if (!newMask.getShape().equals(weight.getArray().getShape()) || newMask.getDataType() != DataType.BOOLEAN) {
            throw new IllegalArgumentException(name + ": mask " + newMask.getDataType() + " " + newMask.getShape()
                    + " is not a boolean mask of the weight's shape " + weight.getArray().getShape());
        }
        NDScope.unregister(newMask);
        if (mask != null) {
            mask.close();
        }
        mask = newMask;
        if (effective != null) {
            effective.close(); // the previous step's leaf and its gradient
        }
        if (product == null) {
            product = weight.getArray().getManager().create(weight.getShape(), DataType.FLOAT32);
            NDScope.unregister(product);
        }
        kernels.maskedWeight(weight.getArray(), mask, rescale, product); // W * M (* rescale), in place
        effective = product.stopGradient();
        NDScope.unregister(effective);
        effective.setRequiresGradient(true);
    }

    /**
     * The straight-through gradient of the scores, dL/dS = dL/d(W*M) * W * sign(S), from the
     * gradient the effective weight collected (times the rescale factor when there is one), computed
     * in place on that gradient ({@link Kernels#straightThrough}: g.muli(W).muli(S.sign()) without
     * a tensor-sized sign(S)); the next step's leaf starts a new one. A new handle in the caller's scope.
     */
    public NDArray scoreGradient(Kernels kernels) {
        if (role != Role.MASKED) {
            throw new IllegalStateException(name + " has no scores (" + role + ")");
        }
        return kernels.straightThrough(effectiveWeight().getGradient(), weight.getArray(), scores.getArray(), rescale);
    }

    /** The gradient of the trained tensor (MASKED: {@link #scoreGradient}; TRAINED: autograd's, of W). */
    public NDArray gradient(Kernels kernels) {
        if (role == Role.FROZEN) {
            throw new IllegalStateException(name + " is frozen: it has no gradient");
        }
        return role == Role.MASKED ? scoreGradient(kernels) : weight.getArray().getGradient(); // W's own gradient
    }

    /** Forgets this step's gradients (TRAINED: zeroes W's; MASKED: the next mask brings a fresh leaf). */
    public void clearGradient() {
        if (role == Role.TRAINED) {
            try (NDScope ignored = new NDScope()) {
                NDArray g = weight.getArray().getGradient();
                g.subi(g);
            }
        }
    }

    /** The current mask (boolean: true = kept), or null before the first {@link MaskSelector#update}. */
    public NDArray mask() {
        return mask;
    }

    /** Tensor name in GPT-2 (Hugging Face) terms, e.g. {@code h.0.attn.c_attn}. */
    public String name() {
        return name;
    }

    public Role role() {
        return role;
    }

    public Parameter weight() {
        return weight;
    }

    /** The trainable scores, or null unless MASKED. */
    public Parameter scores() {
        return scores;
    }

    /** The parameter the optimizer updates: the scores (MASKED), the weight (TRAINED), or null. */
    public Parameter trainable() {
        return switch (role) {
            case MASKED -> scores;
            case TRAINED -> weight;
            case FROZEN -> null;
        };
    }

    /** Number of entries of the weight. */
    public long numel() {
        return weight.getShape().size();
    }
}
