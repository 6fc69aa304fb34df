package slt.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** AdamW against torch.optim.AdamW's update written out in float64. */
class AdamWTest {

    @Test
    void matchesTorchAdamWRecomputedInDoubleAndZeroesGradients() {
        int n = 50;
        double b1 = 0.9;
        double b2 = 0.999;
        double eps = 1e-8;
        double wd = 0.1;
        SplittableRandom rng = new SplittableRandom(1);
        float[] init = new float[n];
        for (int i = 0; i < n; i++) {
            init[i] = (float) rng.nextGaussian();
        }
        try (NDManager m = NDManager.newBaseManager()) {
            Parameter p = Parameter.builder().setName("w").setType(Parameter.Type.OTHER).optShape(new Shape(n)).optRequiresGrad(false)
                    .optInitializer((mm, shape, dt) -> mm.create(init, shape)).build();
            p.initialize(m, DataType.FLOAT32);
            Map<String, Parameter> params = new LinkedHashMap<>();
            params.put("w", p);
            AdamW opt = new AdamW(params, slt.model.Kernels.on(m), b1, b2, eps, wd);

            double[] w = new double[n];
            double[] mom = new double[n];
            double[] vel = new double[n];
            for (int i = 0; i < n; i++) {
                w[i] = init[i];
            }
            double[] lrs = {1e-2, 5e-3, 2e-2, 1e-3};
            for (int step = 1; step <= lrs.length; step++) {
                float[] g = new float[n];
                for (int i = 0; i < n; i++) {
                    g[i] = (float) (rng.nextGaussian() * (i % 3 == 0 ? 1e-3 : 1));
                }
                try (NDArray grad = m.create(g)) {
                    opt.step(lrs[step - 1], Map.of("w", grad));
                }
                double lr = lrs[step - 1];
                for (int i = 0; i < n; i++) {
                    w[i] *= 1 - lr * wd;
                    mom[i] = b1 * mom[i] + (1 - b1) * g[i];
                    vel[i] = b2 * vel[i] + (1 - b2) * g[i] * g[i];
                    double denom = Math.sqrt(vel[i]) / Math.sqrt(1 - Math.pow(b2, step)) + eps;
                    w[i] -= lr / (1 - Math.pow(b1, step)) * mom[i] / denom;
                }
                float[] got = p.getArray().toFloatArray();
                for (int i = 0; i < n; i++) {
                    assertEquals(w[i], got[i], 1e-6 * Math.max(1, Math.abs(w[i])), "step " + step + " entry " + i);
                }
            }
            assertEquals(lrs.length, opt.steps());
        }
    }
}
