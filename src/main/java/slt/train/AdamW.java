package slt.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import slt.model.Host;

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
    /** beta1, 1 - beta1, beta2, 1 - beta2, eps as device scalars: an op with a Java number would upload it, per tensor. */
    private final NDArray[] constants;

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
        NDArray like = this.params.isEmpty() ? null : this.params.values().iterator().next().getArray();
        constants = like == null ? new NDArray[0] : new NDArray[] {
            scalar(like, this.beta1), scalar(like, 1 - this.beta1), scalar(like, this.beta2), scalar(like, 1 - this.beta2),
            scalar(like, this.eps)};
        NDScope.unregister(constants);
    }

    /**
     * A float32 scalar on {@code like}'s device, filled there (torch::full: no host-to-device copy).
     * The same value DJL would upload for {@code x.mul(value)}, so results are bit for bit the same.
     */
    private static NDArray scalar(NDArray like, float value) {
        return like.getManager().full(new Shape(), value, DataType.FLOAT32);
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
        if (params.isEmpty()) {
            return;
        }
        double bc1 = 1 - Math.pow(beta1, step);
        double bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, step));
        NDArray b1 = constants[0];
        NDArray oneMinusB1 = constants[1];
        NDArray b2 = constants[2];
        NDArray oneMinusB2 = constants[3];
        NDArray epsilon = constants[4];
        try (NDScope stepScope = new NDScope()) {
            NDArray like = b1;
            NDArray stepSize = scalar(like, (float) (lr / bc1));
            NDArray decay = scalar(like, (float) (1 - lr * weightDecay));
            NDArray bc2 = scalar(like, (float) bc2Sqrt);
            for (Map.Entry<String, Parameter> e : params.entrySet()) {
                try (NDScope ignored = new NDScope()) {
                    NDArray w = e.getValue().getArray();
                    NDArray g = w.getGradient();
                    NDArray[] mv = moments.get(e.getKey());
                    if (weightDecay != 0) {
                        w.muli(decay);
                    }
                    mv[0].muli(b1).addi(g.mul(oneMinusB1));
                    mv[1].muli(b2).addi(g.mul(g).muli(oneMinusB2));
                    NDArray denom = mv[1].sqrt().divi(bc2).addi(epsilon);
                    w.subi(mv[0].div(denom).muli(stepSize));
                    g.subi(g);
                }
            }
        }
    }

    /**
     * Global L2 norm of all gradients (for clipping and logging): per-tensor sums of squares in
     * float32 on the device, read with one transfer and added up in double in tensor order.
     */
    public double gradNorm() {
        try (NDScope ignored = new NDScope()) {
            List<NDArray> squares = new ArrayList<>();
            for (Parameter p : params.values()) {
                NDArray g = p.getArray().getGradient();
                squares.add(g.mul(g).sum());
            }
            double sq = 0;
            for (double s : Host.stacked(squares)) {
                sq += s;
            }
            return Math.sqrt(sq);
        }
    }

    /** Scales every gradient by {@code factor} in place. */
    public void scaleGradients(double factor) {
        if (params.isEmpty()) {
            return;
        }
        try (NDScope ignored = new NDScope()) {
            NDArray f = scalar(constants[0], (float) factor);
            for (Parameter p : params.values()) {
                p.getArray().getGradient().muli(f);
            }
        }
    }
}
