package slt.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The TorchScript kernels against float64 computations of their formulas, values and gradients. */
class KernelsTest {

    private static float[] random(SplittableRandom rng, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (rng.nextGaussian() * scale);
        }
        return a;
    }

    @Test
    void maskedWeightAndStraightThroughAreTheirFloat32FormulasBitForBit() {
        SplittableRandom rng = new SplittableRandom(11);
        int rows = 5;
        int cols = 131_071; // 655,355 entries: two whole chunks of 2^18 and a ragged third
        int n = rows * cols;
        float[] w = random(rng, n, 1);
        float[] g = random(rng, n, 1e-3);
        float[] s = random(rng, n, 0.1);
        boolean[] m = new boolean[n];
        for (int i = 0; i < n; i++) {
            m[i] = rng.nextDouble() < 0.3;
            if (i % 97 == 0) {
                s[i] = i % 2 == 0 ? 0f : -0f; // sign(+-0) = 0: no gradient
            }
        }
        w[3] = -w[3]; // W * 0 of a negative W is -0: kept, bit for bit
        m[3] = false;
        for (double scale : new double[] {1.0, 2.8284271247461903}) {
            float c = (float) scale;
            try (NDManager nd = NDManager.newBaseManager(); Kernels k = Kernels.on(nd)) {
                Shape shape = new Shape(rows, cols);
                NDArray out = nd.create(new Shape(rows, cols));
                NDArray product = k.maskedWeight(nd.create(w, shape), nd.create(m, shape), scale, out);
                assertSame(out, product);
                float[] got = out.toFloatArray();
                NDArray grad = nd.create(g, shape);
                k.straightThrough(grad, nd.create(w, shape), nd.create(s, shape), scale);
                float[] ste = grad.toFloatArray();
                for (int i = 0; i < n; i++) {
                    float want = (w[i] * (m[i] ? 1f : 0f)) * c; // one float32 rounding per product, as torch
                    assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(got[i]), "W*M*c at " + i);
                    float wantG = g[i] * c * w[i] * (s[i] > 0 ? 1f : s[i] < 0 ? -1f : 0f); // torch's sign(-0) is +0
                    assertEquals(Float.floatToRawIntBits(wantG), Float.floatToRawIntBits(ste[i]), "g*c*W*sign(S) at " + i);
                }
            }
        }
    }

    @Test
    void geluIsGpt2sTanhFormulaWithItsDerivative() {
        float[] x = random(new SplittableRandom(1), 200, 3);
        try (NDManager m = NDManager.newBaseManager(); Kernels k = Kernels.on(m)) {
            NDArray in = m.create(x);
            in.setRequiresGradient(true);
            float[] y;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray out = k.geluTanh(in);
                y = out.toFloatArray();
                gc.backward(out.sum());
            }
            float[] dy = in.getGradient().toFloatArray();
            double c = Math.sqrt(2 / Math.PI);
            for (int i = 0; i < x.length; i++) {
                double u = c * (x[i] + 0.044715 * x[i] * x[i] * x[i]);
                double t = Math.tanh(u);
                assertEquals(0.5 * x[i] * (1 + t), y[i], 1e-5 * Math.max(1, Math.abs(x[i])), "gelu at " + x[i]);
                double d = 0.5 * (1 + t) + 0.5 * x[i] * (1 - t * t) * c * (1 + 3 * 0.044715 * x[i] * x[i]);
                assertEquals(d, dy[i], 1e-5, "gelu' at " + x[i]);
            }
        }
    }

    @Test
    void causalAttentionMatchesFloat64AndFiniteDifferences() {
        int b = 2;
        int h = 2;
        int t = 5;
        int d = 3;
        SplittableRandom rng = new SplittableRandom(2);
        float[] q = random(rng, b * h * t * d, 1);
        float[] kk = random(rng, b * h * t * d, 1);
        float[] v = random(rng, b * h * t * d, 1);
        float[] c = random(rng, b * h * t * d, 1); // loss = sum(c * y)
        try (NDManager m = NDManager.newBaseManager(); Kernels k = Kernels.on(m)) {
            Shape s = new Shape(b, h, t, d);
            NDArray qa = m.create(q, s);
            qa.setRequiresGradient(true);
            float[] y;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray out = k.causalAttention(qa, m.create(kk, s), m.create(v, s));
                y = out.toFloatArray();
                gc.backward(out.mul(m.create(c, s)).sum());
            }
            float[] dq = qa.getGradient().toFloatArray();
            double[] qd = new double[q.length];
            for (int i = 0; i < q.length; i++) {
                qd[i] = q[i];
            }
            double[] ref = attention(qd, kk, v, b * h, t, d);
            for (int i = 0; i < y.length; i++) {
                assertEquals(ref[i], y[i], 1e-5, "output " + i);
            }
            double eps = 1e-6;
            for (int i = 0; i < q.length; i++) {
                double[] plus = qd.clone();
                double[] minus = qd.clone();
                plus[i] += eps;
                minus[i] -= eps;
                double fd = (dot(c, attention(plus, kk, v, b * h, t, d)) - dot(c, attention(minus, kk, v, b * h, t, d))) / (2 * eps);
                assertEquals(fd, dq[i], 1e-4, "d loss / d q[" + i + "]");
            }
        }
    }

    /** softmax(q k^T / sqrt(d) + causal) v per (batch, head), in float64. */
    private static double[] attention(double[] q, float[] k, float[] v, int bh, int t, int d) {
        double[] out = new double[bh * t * d];
        for (int g = 0; g < bh; g++) {
            for (int i = 0; i < t; i++) {
                double[] w = new double[i + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j <= i; j++) {
                    double sc = 0;
                    for (int e = 0; e < d; e++) {
                        sc += q[(g * t + i) * d + e] * k[(g * t + j) * d + e];
                    }
                    w[j] = sc / Math.sqrt(d);
                    max = Math.max(max, w[j]);
                }
                double z = 0;
                for (int j = 0; j <= i; j++) {
                    w[j] = Math.exp(w[j] - max);
                    z += w[j];
                }
                for (int j = 0; j <= i; j++) {
                    for (int e = 0; e < d; e++) {
                        out[(g * t + i) * d + e] += w[j] / z * v[(g * t + j) * d + e];
                    }
                }
            }
        }
        return out;
    }

    private static double dot(float[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    @Test
    void headLossIsCrossEntropyOfTheScaledHeadWithItsGradientsInFloat64() {
        int n = 7; // 3 chunks of 3, 3 and 1 rows
        int d = 4;
        int v = 11;
        SplittableRandom rng = new SplittableRandom(5);
        float[] x = random(rng, n * d, 1);
        float[] w = random(rng, v * d, 1);
        long[] target = new long[n];
        for (int i = 0; i < n; i++) {
            target[i] = rng.nextInt(v);
        }
        double s = 1.7;
        double gs = 0.3;
        double nll = 0;
        double[] dx = new double[n * d];
        double[] dw = new double[v * d];
        for (int i = 0; i < n; i++) {
            double[] z = new double[v];
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < v; j++) {
                for (int c = 0; c < d; c++) {
                    z[j] += s * x[i * d + c] * w[j * d + c];
                }
                max = Math.max(max, z[j]);
            }
            double sum = 0;
            for (int j = 0; j < v; j++) {
                sum += Math.exp(z[j] - max);
            }
            double lse = max + Math.log(sum);
            nll += lse - z[(int) target[i]];
            for (int j = 0; j < v; j++) {
                double g = gs * s * (Math.exp(z[j] - lse) - (j == target[i] ? 1 : 0)); // d(gs * loss)/d(x.w_j)
                for (int c = 0; c < d; c++) {
                    dx[i * d + c] += g * w[j * d + c];
                    dw[j * d + c] += g * x[i * d + c];
                }
            }
        }
        try (NDManager m = NDManager.newBaseManager(); Kernels k = Kernels.on(m)) {
            ai.djl.ndarray.NDList out = k.headLoss(m.create(x, new Shape(n, d)), m.create(w, new Shape(v, d)), m.create(target),
                    s, gs, 3, 6, true);
            assertEquals(nll, out.get(0).getFloat(), 1e-5 * nll);
            assertClose(dx, out.get(1).toFloatArray(), "dL/dx");
            assertClose(dw, out.get(2).toFloatArray(), "dL/dW");
            ai.djl.ndarray.NDList frozen = k.headLoss(m.create(x, new Shape(n, d)), m.create(w, new Shape(v, d)),
                    m.create(target), s, gs, 5, 6, false);
            assertEquals(nll, frozen.get(0).getFloat(), 1e-5 * nll);
            assertClose(dx, frozen.get(1).toFloatArray(), "dL/dx (chunks of 5)");
            assertEquals(0.0, frozen.get(2).abs().sum().getFloat(), "no weight gradient asked for");
        }
    }

    private static void assertClose(double[] want, float[] got, String what) {
        assertEquals(want.length, got.length, what);
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], got[i], 1e-5 * Math.max(1, Math.abs(want[i])), what + "[" + i + "]");
        }
    }
}
