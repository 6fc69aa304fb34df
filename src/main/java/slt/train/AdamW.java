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
import slt.model.Kernels;

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
 * The update is libtorch's fused kernel ({@code torch._fused_adamw_}, what
 * {@code torch.optim.AdamW(fused=True)} runs; see {@link Kernels}): one pass over each tensor. The
 * gradients are given per step ({@link slt.model.Gpt2#gradients()}); the caller clears them.
 */
public final class AdamW {
    private final Map<String, Parameter> params;
    private final Map<String, NDArray[]> moments = new LinkedHashMap<>();
    private final Kernels kernels;
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private long step;

    /** Creates zero moments for every parameter now, outside any NDScope. */
    public AdamW(Map<String, Parameter> params, Kernels kernels, double beta1, double beta2, double eps, double weightDecay) {
        this.params = new LinkedHashMap<>(params);
        this.kernels = kernels;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        for (Map.Entry<String, Parameter> e : this.params.entrySet()) {
            NDArray w = e.getValue().getArray();
            NDArray m = w.zerosLike();
            NDArray v = w.zerosLike();
            NDScope.unregister(m, v);
            moments.put(e.getKey(), new NDArray[] {m, v});
        }
    }

    /**
     * A float32 scalar on {@code like}'s device, filled there (torch::full: no host-to-device copy,
     * where {@code x.mul(value)} would upload the value).
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

    /** One update of every parameter with learning rate {@code lr}, from {@code grads} (by parameter name). */
    public void step(double lr, Map<String, NDArray> grads) {
        step++;
        if (params.isEmpty()) {
            return;
        }
        List<NDArray> ws = new ArrayList<>();
        List<NDArray> gs = new ArrayList<>();
        List<NDArray> ms = new ArrayList<>();
        List<NDArray> vs = new ArrayList<>();
        for (Map.Entry<String, Parameter> e : params.entrySet()) {
            NDArray g = grads.get(e.getKey());
            if (g == null) {
                throw new IllegalArgumentException("no gradient for " + e.getKey());
            }
            ws.add(e.getValue().getArray());
            gs.add(g);
            ms.add(moments.get(e.getKey())[0]);
            vs.add(moments.get(e.getKey())[1]);
        }
        try (NDArray t = scalar(ws.get(0), step)) {
            kernels.adamw(ws, gs, ms, vs, t, lr, beta1, beta2, weightDecay, eps);
        }
    }

    /**
     * Global L2 norm of {@code grads} (for clipping and logging): per-tensor sums of squares in
     * float32 on the device, read with one transfer and added up in double in tensor order.
     */
    public static double gradNorm(Map<String, NDArray> grads) {
        try (NDScope ignored = new NDScope()) {
            List<NDArray> squares = new ArrayList<>();
            for (NDArray g : grads.values()) {
                squares.add(g.mul(g).sum());
            }
            double sq = 0;
            for (double s : Host.stacked(squares)) {
                sq += s;
            }
            return Math.sqrt(sq);
        }
    }

    /** Scales every gradient of {@code grads} by {@code factor} in place. */
    public static void scaleGradients(Map<String, NDArray> grads, double factor) {
        if (grads.isEmpty()) {
            return;
        }
        try (NDScope ignored = new NDScope()) {
            NDArray f = scalar(grads.values().iterator().next(), (float) factor);
            for (NDArray g : grads.values()) {
                g.muli(f);
            }
        }
    }
}
