package slt.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.nn.Parameter;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * AdamW (Loshchilov and Hutter) exactly as torch.optim.AdamW computes it, with its state kept
 * here, keyed by tensor name, so that a checkpoint can save and restore it (DJL's optimizers keep
 * moments private, keyed by ids that change between runs). Per step t, for weight w, gradient g:
 *
 * <pre>
 *   w = w * (1 - lr * wd)
 *   m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g^2
 *   w = w - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * </pre>
 *
 * Gradients are zeroed after the update (the PyTorch engine accumulates them across backward
 * passes, which is what gradient accumulation relies on).
 */
public final class AdamW {
    private final Map<String, Parameter> params;
    private final Map<String, NDArray[]> moments = new LinkedHashMap<>();
    private final float beta1;
    private final float beta2;
    private final float eps;
    private final float weightDecay;
    private long step;

    /** Creates zero moments for every parameter now, outside any NDScope. */
    public AdamW(Map<String, Parameter> params, double beta1, double beta2, double eps, double weightDecay) {
        this.params = new LinkedHashMap<>(params);
        this.beta1 = (float) beta1;
        this.beta2 = (float) beta2;
        this.eps = (float) eps;
        this.weightDecay = (float) weightDecay;
        for (Map.Entry<String, Parameter> e : this.params.entrySet()) {
            NDArray w = e.getValue().getArray();
            NDArray m = w.zerosLike();
            NDArray v = w.zerosLike();
            NDScope.unregister(m, v);
            moments.put(e.getKey(), new NDArray[] {m, v});
        }
    }

    /** Number of updates done. */
    public long steps() {
        return step;
    }

    /** First and second moments of {@code name}: {m, v} (live arrays; for checkpoints). */
    public NDArray[] moments(String name) {
        return moments.get(name);
    }

    /** Restores the step count (moments are restored in place through {@link #moments}). */
    public void setSteps(long steps) {
        this.step = steps;
    }

    /** One update of every parameter with learning rate {@code lr}; zeroes the gradients. */
    public void step(double lr) {
        step++;
        double bc1 = 1 - Math.pow(beta1, step);
        double bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, step));
        float stepSize = (float) (lr / bc1);
        float decay = (float) (1 - lr * weightDecay);
        for (Map.Entry<String, Parameter> e : params.entrySet()) {
            try (NDScope ignored = new NDScope()) {
                NDArray w = e.getValue().getArray();
                NDArray g = w.getGradient();
                NDArray[] mv = moments.get(e.getKey());
                if (weightDecay != 0) {
                    w.muli(decay);
                }
                mv[0].muli(beta1).addi(g.mul(1 - beta1));
                mv[1].muli(beta2).addi(g.mul(g).muli(1 - beta2));
                NDArray denom = mv[1].sqrt().divi((float) bc2Sqrt).addi(eps);
                w.subi(mv[0].div(denom).muli(stepSize));
                g.subi(g);
            }
        }
    }

    /** Global L2 norm of all gradients (for clipping and logging). */
    public double gradNorm() {
        double sq = 0;
        for (Parameter p : params.values()) {
            try (NDScope ignored = new NDScope()) {
                NDArray g = p.getArray().getGradient();
                sq += g.mul(g).sum().getFloat();
            }
        }
        return Math.sqrt(sq);
    }

    /** Scales every gradient by {@code factor} in place. */
    public void scaleGradients(double factor) {
        for (Parameter p : params.values()) {
            try (NDScope ignored = new NDScope()) {
                p.getArray().getGradient().muli((float) factor);
            }
        }
    }
}
