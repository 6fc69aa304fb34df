package slt.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.ndarray.NDList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import slt.config.Config;

/**
 * The straight-through estimator of {@link MaskedBlock}, checked against independent float64
 * computations: the analytic gradient sign(S) * dL/dW_eff * W, and central finite differences of
 * the smooth surrogate L(W * (M0 + |S| - |S0|)) whose derivative at S0 the estimator defines.
 */
class MaskedBlockTest {
    private static final int OUT = 5;
    private static final int IN = 7;
    private static final int BATCH = 3;

    /** Loss used throughout: L = sum_ij c_ij * tanh(y_ij), y = x W_eff^T (smooth, non-linear). */
    private static double loss(double[][] x, double[] wEff, double[][] c) {
        double l = 0;
        for (int b = 0; b < BATCH; b++) {
            for (int o = 0; o < OUT; o++) {
                double y = 0;
                for (int i = 0; i < IN; i++) {
                    y += x[b][i] * wEff[o * IN + i];
                }
                l += c[b][o] * Math.tanh(y);
            }
        }
        return l;
    }

    @Test
    void scoreGradientIsSignTimesUpstreamTimesWeightAndMatchesFiniteDifferences() {
        SplittableRandom rng = new SplittableRandom(7);
        double[][] x = new double[BATCH][IN];
        double[][] c = new double[BATCH][OUT];
        for (double[] row : x) {
            Arrays.setAll(row, i -> rng.nextDouble(-1, 1));
        }
        for (double[] row : c) {
            Arrays.setAll(row, i -> rng.nextDouble(-1, 1));
        }
        float[] w = new float[OUT * IN];
        float[] s = new float[OUT * IN];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rng.nextDouble(-1, 1);
            s[i] = (float) rng.nextDouble(-1, 1); // both signs: the gradient must carry sign(S)
        }
        double density = 0.4;
        try (NDManager m = NDManager.newBaseManager()) {
            MaskedLinear layer = new MaskedLinear("t", IN, OUT, MaskedBlock.Role.MASKED,
                    (mm, shape, dt) -> mm.create(w, shape), (mm, shape, dt) -> mm.create(s, shape), 1.0);
            layer.initialize(m, DataType.FLOAT32, new Shape(BATCH, IN));
            Kernels kernels = Kernels.on(m); // closed with the manager
            MaskSelector.update(kernels, List.of(layer), density, Config.Scope.TENSOR);
            float[] mask = layer.mask().toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray();

            // the forward pass keeps exactly the round(density*n) largest |S|
            int k = (int) Math.round(density * w.length);
            Integer[] order = IntStream.range(0, s.length).boxed().toArray(Integer[]::new);
            Arrays.sort(order, Comparator.comparingDouble(i -> -Math.abs(s[i])));
            double[] m0 = new double[w.length];
            for (int r = 0; r < k; r++) {
                m0[order[r]] = 1;
            }
            assertArrayEquals(toFloat(m0), mask, "mask = top-k |S|");

            float[] xf = new float[BATCH * IN];
            for (int b = 0; b < BATCH; b++) {
                for (int i = 0; i < IN; i++) {
                    xf[b * IN + i] = (float) x[b][i];
                }
            }
            float[] cf = new float[BATCH * OUT];
            for (int b = 0; b < BATCH; b++) {
                for (int o = 0; o < OUT; o++) {
                    cf[b * OUT + o] = (float) c[b][o];
                }
            }
            NDArray xs = m.create(xf, new Shape(BATCH, IN));
            NDArray cs = m.create(cf, new Shape(BATCH, OUT));
            float[] forward;
            float[] grad;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray y = layer.forward(new ParameterStore(m, false), new NDList(xs), true).singletonOrThrow();
                forward = y.toFloatArray();
                gc.backward(y.tanh().mul(cs).sum());
            }
            grad = layer.scoreGradient(kernels).toFloatArray(); // the straight-through rule applied to dL/d(W*M)

            // forward equals x (W*M)^T computed independently
            for (int b = 0; b < BATCH; b++) {
                for (int o = 0; o < OUT; o++) {
                    double y = 0;
                    for (int i = 0; i < IN; i++) {
                        y += x[b][i] * w[o * IN + i] * m0[o * IN + i];
                    }
                    assertEquals(y, forward[b * OUT + o], 1e-5);
                }
            }

            // analytic: dL/dW_eff[o,i] = sum_b c_bo (1 - tanh^2 y_bo) x_bi ; dL/dS = sign(S) * that * W
            double[] wEff = new double[w.length];
            for (int i = 0; i < w.length; i++) {
                wEff[i] = w[i] * m0[i];
            }
            double[] expected = new double[w.length];
            for (int o = 0; o < OUT; o++) {
                for (int i = 0; i < IN; i++) {
                    double g = 0;
                    for (int b = 0; b < BATCH; b++) {
                        double y = 0;
                        for (int j = 0; j < IN; j++) {
                            y += x[b][j] * wEff[o * IN + j];
                        }
                        double t = Math.tanh(y);
                        g += c[b][o] * (1 - t * t) * x[b][i];
                    }
                    expected[o * IN + i] = Math.signum(s[o * IN + i]) * g * w[o * IN + i];
                }
            }
            for (int i = 0; i < w.length; i++) {
                assertEquals(expected[i], grad[i], 1e-5, "analytic STE gradient at " + i);
            }

            // finite differences of the surrogate L(W * (M0 + |S| - |S0|)) at S0
            double h = 1e-6;
            for (int i = 0; i < w.length; i++) {
                double[] plus = wEff.clone();
                double[] minus = wEff.clone();
                plus[i] = w[i] * (m0[i] + Math.abs(s[i] + h) - Math.abs(s[i]));
                minus[i] = w[i] * (m0[i] + Math.abs(s[i] - h) - Math.abs(s[i]));
                double fd = (loss(x, plus, c) - loss(x, minus, c)) / (2 * h);
                assertEquals(fd, grad[i], 1e-5, "finite difference at " + i);
            }
            // kept and pruned entries both receive gradient (the point of straight-through)
            assertTrue(IntStream.range(0, w.length).anyMatch(i -> m0[i] == 0 && grad[i] != 0));
        }
    }

    @Test
    void everyStepStartsAFreshGradientAndANewMaskRewritesTheEffectiveWeight() {
        float[] w = {1, -2, 3, -4, 5, -6};
        float[] s = {0.1f, 0.4f, -0.3f, 0.2f, -0.6f, 0.5f};
        float[] x = {0.3f, -0.7f, 0.2f};
        try (NDManager m = NDManager.newBaseManager()) {
            MaskedLinear layer = new MaskedLinear("g", 3, 2, MaskedBlock.Role.MASKED,
                    (mm, shape, dt) -> mm.create(w, shape), (mm, shape, dt) -> mm.create(s, shape), 1.0);
            layer.initialize(m, DataType.FLOAT32, new Shape(1, 3));
            Kernels kernels = Kernels.on(m); // closed with the manager
            float[][] grads = new float[2][];
            for (int step = 0; step < 2; step++) { // the same mask and batch twice: the same gradient twice
                MaskSelector.update(kernels, List.of(layer), 0.5, Config.Scope.TENSOR);
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray y = layer.forward(new ParameterStore(m, false), new NDList(m.create(x, new Shape(1, 3))), true)
                            .singletonOrThrow();
                    gc.backward(y.sum());
                }
                grads[step] = layer.scoreGradient(kernels).toFloatArray();
            }
            // dL/dW_eff[o,i] = x_i, so dL/dS = x_i * W * sign(S) for every entry, kept or not
            float[] expected = new float[w.length];
            for (int i = 0; i < w.length; i++) {
                expected[i] = x[i % 3] * w[i] * Math.signum(s[i]);
            }
            assertArrayEquals(expected, grads[0], 1e-6f);
            assertArrayEquals(expected, grads[1], 1e-6f, "the second step's gradient must not add to the first's");

            // new scores, a new mask: the kept buffer holds W * M of the new mask only
            layer.scores().getArray().set(new float[] {0.9f, 0.1f, 0.1f, 0.1f, 0.1f, 0.8f});
            MaskSelector.update(kernels, List.of(layer), 0.5, Config.Scope.TENSOR);
            // k = 3: 0.9 and 0.8, then of the four tied at 0.1 the first in flat order
            assertArrayEquals(new float[] {1, -2, 0, -0f, 0, -6}, layer.effectiveWeight().toFloatArray()); // W * 0 keeps W's sign
        }
    }

    @Test
    void rescaleMultipliesKeptWeightsAndFrozenOrTrainedRolesUseTheWeightItself() {
        float[] w = {1, -2, 3, -4};
        float[] s = {0.1f, 0.4f, -0.3f, 0.2f};
        try (NDManager m = NDManager.newBaseManager()) {
            MaskedLinear scaled = new MaskedLinear("r", 2, 2, MaskedBlock.Role.MASKED,
                    (mm, shape, dt) -> mm.create(w, shape), (mm, shape, dt) -> mm.create(s, shape), 1 / Math.sqrt(0.5));
            scaled.initialize(m, DataType.FLOAT32, new Shape(1, 2));
            assertThrows(IllegalStateException.class, scaled::effectiveWeight, "no mask before MaskSelector.update");
            try (Kernels k = Kernels.on(m)) {
                MaskSelector.update(k, List.of(scaled), 0.5, Config.Scope.TENSOR);
            }
            float c = (float) (1 / Math.sqrt(0.5));
            assertArrayEquals(new float[] {0, -2 * c, 3 * c, 0}, scaled.effectiveWeight().toFloatArray(), 1e-6f);

            MaskedLinear frozen = new MaskedLinear("f", 2, 2, MaskedBlock.Role.FROZEN,
                    (mm, shape, dt) -> mm.create(w, shape), null, 1.0);
            frozen.initialize(m, DataType.FLOAT32, new Shape(1, 2));
            assertArrayEquals(w, frozen.effectiveWeight().toFloatArray());
            assertEquals(null, frozen.trainable());
            assertTrue(!frozen.weight().requiresGradient());

            MaskedLinear trained = new MaskedLinear("d", 2, 2, MaskedBlock.Role.TRAINED,
                    (mm, shape, dt) -> mm.create(w, shape), null, 1.0);
            trained.initialize(m, DataType.FLOAT32, new Shape(1, 2));
            assertEquals(trained.weight(), trained.trainable());
            assertTrue(trained.weight().requiresGradient());
            assertEquals(null, trained.scores());
        }
    }

    private static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }
}
