package slt.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.training.initializer.Initializer;

/**
 * Edge-popup (Ramanujan et al. 2020): the whole algorithm lives in {@link #effectiveWeight()}.
 *
 * <p>A weight W keeps its random initialisation, frozen. A trainable score S of the same shape
 * ranks its entries, and the forward pass uses W * M, where the 0/1 mask M keeps the entries with
 * the largest |S| ({@link MaskSelector} computes M once per optimizer step, since S only changes
 * there). Top-k has no useful derivative, so the backward pass goes straight through it and
 * through the absolute value (hidden-networks' semantics):
 *
 * <pre>  dL/dS = dL/d(W*M) * W * sign(S)</pre>
 *
 * With no custom autograd in DJL, the estimator is one line: {@code m = M + (|S| - stop(|S|))}.
 * Its value is exactly M (the bracket is exactly 0); its derivative with respect to S is sign(S).
 * So {@code W * m} is W * M going forward and gives the gradient above going backward.
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
                .optRequiresGrad(true)
                .build());
    }

    /** W * M with the straight-through gradient into S (MASKED), or W itself. */
    public NDArray effectiveWeight() {
        NDArray w = weight.getArray();
        if (role != Role.MASKED) {
            return w;
        }
        if (mask == null) {
            throw new IllegalStateException(name + ": no mask yet; MaskSelector.update must run first");
        }
        return Scoped.call(() -> { // |S| and m are freed on return; autograd keeps what it needs
            NDArray a = scores.getArray().abs();
            NDArray m = mask.add(a.sub(a.stopGradient()));
            NDArray wm = w.mul(m);
            return rescale == 1f ? wm : Constants.mul(wm, rescale);
        });
    }

    /** Installs this step's 0/1 mask (owned by this block from now on; the previous one is freed). */
    public void setMask(NDArray newMask) {
        if (!newMask.getShape().equals(weight.getArray().getShape())) {
            throw new IllegalArgumentException(name + ": mask shape " + newMask.getShape()
                    + " != weight shape " + weight.getArray().getShape());
        }
        NDScope.unregister(newMask);
        if (mask != null) {
            mask.close();
        }
        mask = newMask;
    }

    /** The current 0/1 mask, or null before the first {@link MaskSelector#update}. */
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
