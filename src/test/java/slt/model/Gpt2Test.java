package slt.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import slt.config.Config;

/** The GPT-2 forward pass against a float64 re-implementation, causality, and initialisation. */
class Gpt2Test {

    static ModelSpec spec(int vocab, int layers, int heads, int context, Config.Mode mode, double qk, double logitScale,
            double rescale, boolean maskEmbeddings, long seed) {
        return widened(vocab, layers, heads, 64, 64, context, mode, qk, logitScale, rescale, maskEmbeddings, seed);
    }

    /** A spec whose heads have qkDim query/key and vDim value entries (64 and 64 in GPT-2). */
    static ModelSpec widened(int vocab, int layers, int heads, int qkDim, int vDim, int context, Config.Mode mode, double qk,
            double logitScale, double rescale, boolean maskEmbeddings, long seed) {
        return new ModelSpec(layers, heads, heads * 64, qkDim, vDim, context, vocab, 0.02, 0.02, qk, logitScale, 1e-5, mode,
                maskEmbeddings, 0.5, Config.Scope.TENSOR, rescale, seed);
    }

    @Test
    void logitsMatchAFloat64ReferenceImplementation() {
        for (ModelSpec spec : new ModelSpec[] {
            spec(101, 2, 2, 16, Config.Mode.EDGEPOPUP, 2.0, 2.0, 1 / Math.sqrt(0.5), true, 3),
            spec(101, 1, 2, 16, Config.Mode.EDGEPOPUP, 1.0, 1.0, 1.0, false, 4),
            spec(101, 1, 2, 16, Config.Mode.DENSE, 2.83, 1.0, 1.0, true, 5),
            widened(101, 2, 2, 96, 40, 16, Config.Mode.EDGEPOPUP, 3.1, 2.0, 1.0, true, 6), // qk_dim != v_dim
            widened(101, 1, 3, 16, 128, 16, Config.Mode.DENSE, 2.0, 1.0, 1.0, true, 7)
        }) {
            try (NDManager m = NDManager.newBaseManager()) {
                Gpt2 model = Gpt2.create(spec, m);
                model.refreshMasks();
                int[][] ids = randomIds(2, 10, spec.vocab(), 9);
                float[] got = model.logits(m.create(toLong(ids), new Shape(2, 10))).toFloatArray();
                double[] want = Reference.logits(model, ids);
                assertEquals(want.length, got.length);
                double maxErr = 0;
                double maxAbs = 0;
                for (int i = 0; i < got.length; i++) {
                    maxErr = Math.max(maxErr, Math.abs(got[i] - want[i]));
                    maxAbs = Math.max(maxAbs, Math.abs(want[i]));
                }
                assertTrue(maxErr < 1e-4 * Math.max(1, maxAbs), spec.mode() + ": max error " + maxErr + " (max |logit| " + maxAbs + ")");
                assertTrue(maxAbs > 1e-3, "logits are not trivially zero");
            }
        }
    }

    /**
     * Training's fused head and loss ({@link Gpt2#headLoss}) send the same gradients into every
     * trained tensor (the tied token table included) as autograd through the logits does.
     */
    @Test
    void fusedHeadLossGivesAutogradsGradients() {
        for (ModelSpec spec : new ModelSpec[] {
            spec(101, 2, 2, 16, Config.Mode.EDGEPOPUP, 2.0, 2.0, 1 / Math.sqrt(0.5), true, 3), // masked tied head
            spec(101, 1, 2, 16, Config.Mode.EDGEPOPUP, 1.0, 1.0, 1.0, false, 4), // frozen embeddings
            spec(101, 1, 2, 16, Config.Mode.DENSE, 2.83, 3.0, 1.0, true, 5) // the head's weight trained
        }) {
            try (NDManager m = NDManager.newBaseManager()) {
                Gpt2 model = Gpt2.create(spec, m);
                int[][] ids = randomIds(2, 10, spec.vocab(), 9);
                ai.djl.ndarray.NDArray in = m.create(toLong(ids), new Shape(2, 10));
                ai.djl.ndarray.NDArray targets = m.create(toLong(randomIds(2, 10, spec.vocab(), 10))).reshape(20);
                double gradScale = 0.25;
                Map<String, float[]> want = new HashMap<>();
                float wantLoss;
                model.refreshMasks();
                try (ai.djl.training.GradientCollector gc = ai.djl.engine.Engine.getInstance().newGradientCollector()) {
                    ai.djl.ndarray.NDArray logits = model.logits(in).reshape(20, spec.vocab());
                    ai.djl.ndarray.NDArray nll = logits.logSoftmax(-1).gather(targets.expandDims(-1), -1).sum().neg();
                    wantLoss = nll.getFloat();
                    gc.backward(nll.mul(gradScale));
                }
                model.gradients().forEach((name, g) -> want.put(name, g.toFloatArray()));
                model.clearGradients();
                model.refreshMasks(); // fresh leaves, no gradients
                float gotLoss;
                try (ai.djl.training.GradientCollector gc = ai.djl.engine.Engine.getInstance().newGradientCollector()) {
                    ai.djl.ndarray.NDArray h = model.hidden(in);
                    gotLoss = model.headLoss(h.reshape(20, h.getShape().get(2)), targets, gradScale,
                            (root, g) -> ai.djl.pytorch.jni.JniUtils.backward((ai.djl.pytorch.engine.PtNDArray) root,
                                    (ai.djl.pytorch.engine.PtNDArray) g, false, false)).getFloat();
                }
                assertEquals(wantLoss, gotLoss, 1e-5 * wantLoss, spec.mode() + ": loss");
                Map<String, ai.djl.ndarray.NDArray> got = model.gradients();
                assertEquals(want.keySet(), got.keySet());
                for (String name : want.keySet()) {
                    float[] a = want.get(name);
                    float[] b = got.get(name).toFloatArray();
                    double maxAbs = 0;
                    double maxErr = 0;
                    for (int i = 0; i < a.length; i++) {
                        maxAbs = Math.max(maxAbs, Math.abs(a[i]));
                        maxErr = Math.max(maxErr, Math.abs(a[i] - b[i]));
                    }
                    assertTrue(maxAbs > 0, name + ": a gradient to compare");
                    assertTrue(maxErr <= 1e-5 * maxAbs, spec.mode() + " " + name + ": max error " + maxErr + " of " + maxAbs);
                }
            }
        }
    }

    @Test
    void changingTokenTChangesNoOutputBeforeT() {
        for (ModelSpec spec : new ModelSpec[] {spec(101, 2, 2, 16, Config.Mode.EDGEPOPUP, 2.83, 4.0, 1.0, true, 1),
                widened(101, 2, 2, 128, 32, 16, Config.Mode.EDGEPOPUP, 3.36, 4.0, 1.0, true, 1)}) {
            assertCausal(spec);
        }
    }

    private static void assertCausal(ModelSpec spec) {
        try (NDManager m = NDManager.newBaseManager()) {
            Gpt2 model = Gpt2.create(spec, m);
            model.refreshMasks();
            int t = 6;
            int len = 12;
            int[][] a = randomIds(1, len, spec.vocab(), 2);
            int[][] b = {a[0].clone()};
            b[0][t] = (a[0][t] + 17) % spec.vocab();
            float[] la = model.logits(m.create(toLong(a), new Shape(1, len))).toFloatArray();
            float[] lb = model.logits(m.create(toLong(b), new Shape(1, len))).toFloatArray();
            int v = spec.vocab();
            for (int pos = 0; pos < len; pos++) {
                double diff = 0;
                for (int j = 0; j < v; j++) {
                    diff = Math.max(diff, Math.abs(la[pos * v + j] - lb[pos * v + j]));
                }
                if (pos < t) {
                    assertTrue(diff <= 1e-6, "position " + pos + " changed by " + diff);
                } else {
                    assertTrue(diff > 1e-4, "position " + pos + " should depend on token " + t + " (diff " + diff + ")");
                }
            }
        }
    }

    @Test
    void initialisationFollowsGpt2WithScaledQueryAndKeyAndIsSeeded() {
        int layers = 4;
        double qk = 2.5;
        try (NDManager m = NDManager.newBaseManager()) {
            Gpt2 scaled = Gpt2.create(spec(1000, layers, 4, 64, Config.Mode.EDGEPOPUP, qk, 1, 1, true, 42), m);
            Gpt2 plain = Gpt2.create(spec(1000, layers, 4, 64, Config.Mode.EDGEPOPUP, 1.0, 1, 1, true, 42), m);
            Gpt2 again = Gpt2.create(spec(1000, layers, 4, 64, Config.Mode.EDGEPOPUP, qk, 1, 1, true, 42), m);
            Gpt2 other = Gpt2.create(spec(1000, layers, 4, 64, Config.Mode.EDGEPOPUP, qk, 1, 1, true, 43), m);
            int d = 256;
            double residual = 0.02 / Math.sqrt(2 * layers);
            Map<String, MaskedBlock> w = byName(scaled);
            assertStd(w.get("wte").weight().getArray().toFloatArray(), 0.02);
            assertStd(w.get("wpe").weight().getArray().toFloatArray(), 0.02);
            for (int i = 0; i < layers; i++) {
                float[] qkv = w.get("h." + i + ".attn.c_attn").weight().getArray().toFloatArray();
                float[] qkvPlain = byName(plain).get("h." + i + ".attn.c_attn").weight().getArray().toFloatArray();
                int block = d * d;
                assertStd(Arrays.copyOfRange(qkv, 0, block), 0.02 * qk);
                assertStd(Arrays.copyOfRange(qkv, block, 2 * block), 0.02 * qk);
                assertStd(Arrays.copyOfRange(qkv, 2 * block, 3 * block), 0.02);
                for (int j = 0; j < 2 * block; j++) {
                    assertEquals((float) (qkvPlain[j] * qk), qkv[j], "Q/K entry " + j + " scaled by exactly " + qk);
                }
                assertArrayEquals(Arrays.copyOfRange(qkvPlain, 2 * block, 3 * block),
                        Arrays.copyOfRange(qkv, 2 * block, 3 * block), "V block untouched");
                assertStd(w.get("h." + i + ".mlp.c_fc").weight().getArray().toFloatArray(), 0.02);
                assertStd(w.get("h." + i + ".attn.c_proj").weight().getArray().toFloatArray(), residual);
                assertStd(w.get("h." + i + ".mlp.c_proj").weight().getArray().toFloatArray(), residual);
            }
            for (MaskedBlock b : scaled.weights()) {
                float[] s = b.scores().getArray().toFloatArray();
                double bound = 1 / Math.sqrt(b.weight().getShape().get(1));
                for (float x : s) {
                    assertTrue(Math.abs(x) <= bound, b.name() + " score " + x + " outside +-" + bound);
                }
                assertEquals(bound / Math.sqrt(3), std(s), 0.05 * bound, b.name() + " scores are uniform");
                assertArrayEquals(b.weight().getArray().toFloatArray(),
                        byName(again).get(b.name()).weight().getArray().toFloatArray(), "same seed, same weights");
                assertArrayEquals(s, byName(again).get(b.name()).scores().getArray().toFloatArray(), "same seed, same scores");
                assertFalse(Arrays.equals(b.weight().getArray().toFloatArray(),
                        byName(other).get(b.name()).weight().getArray().toFloatArray()), "another seed differs");
                assertFalse(b.weight().requiresGradient(), "edge-popup weights are frozen");
            }
        }
    }

    private static void assertStd(float[] values, double std) {
        assertEquals(0, mean(values), 4 * std / Math.sqrt(values.length), "mean");
        assertEquals(std, std(values), 0.03 * std, "std");
    }

    private static double mean(float[] v) {
        double s = 0;
        for (float x : v) {
            s += x;
        }
        return s / v.length;
    }

    private static double std(float[] v) {
        double mu = mean(v);
        double s = 0;
        for (float x : v) {
            s += (x - mu) * (x - mu);
        }
        return Math.sqrt(s / v.length);
    }

    static Map<String, MaskedBlock> byName(Gpt2 model) {
        Map<String, MaskedBlock> out = new HashMap<>();
        for (MaskedBlock b : model.weights()) {
            out.put(b.name(), b);
        }
        return out;
    }

    static int[][] randomIds(int batch, int len, int vocab, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        int[][] ids = new int[batch][len];
        for (int[] row : ids) {
            Arrays.setAll(row, i -> rng.nextInt(vocab));
        }
        return ids;
    }

    static long[] toLong(int[][] ids) {
        return Arrays.stream(ids).flatMapToInt(Arrays::stream).asLongStream().toArray();
    }

    /** GPT-2 forward in float64 from the model's effective weights (W * M * rescale), written without DJL. */
    static final class Reference {
        static double[] logits(Gpt2 model, int[][] ids) {
            ModelSpec s = model.spec();
            Map<String, double[]> w = new HashMap<>();
            for (MaskedBlock b : model.weights()) {
                float[] weight = b.weight().getArray().toFloatArray();
                double[] eff = new double[weight.length];
                float[] mask = b.role() == MaskedBlock.Role.MASKED ? b.mask().toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray() : null;
                double scale = b.role() == MaskedBlock.Role.MASKED ? s.rescale() : 1.0;
                for (int i = 0; i < eff.length; i++) {
                    eff[i] = weight[i] * (mask == null ? 1 : mask[i]) * scale;
                }
                w.put(b.name(), eff);
            }
            int d = s.dModel();
            int nh = s.nHead();
            int qd = s.qkDim();
            int vd = s.vDim();
            int len = ids[0].length;
            double[] out = new double[ids.length * len * s.vocab()];
            for (int b = 0; b < ids.length; b++) {
                double[][] x = new double[len][d];
                for (int t = 0; t < len; t++) {
                    for (int j = 0; j < d; j++) {
                        x[t][j] = w.get("wte")[ids[b][t] * d + j] + w.get("wpe")[t * d + j];
                    }
                }
                for (int l = 0; l < s.nLayer(); l++) {
                    String p = "h." + l + ".";
                    // rows of c_attn: Q (nh x qd), then K (nh x qd), then V (nh x vd); head h owns the h-th run of each
                    double[][] qkv = matmul(ln(x, s.layerNormEps()), w.get(p + "attn.c_attn"), nh * (2 * qd + vd));
                    double[][] y = new double[len][nh * vd];
                    for (int h = 0; h < nh; h++) {
                        for (int t = 0; t < len; t++) {
                            double[] att = new double[t + 1];
                            double max = Double.NEGATIVE_INFINITY;
                            for (int u = 0; u <= t; u++) {
                                double dot = 0;
                                for (int j = 0; j < qd; j++) {
                                    dot += qkv[t][h * qd + j] * qkv[u][nh * qd + h * qd + j];
                                }
                                att[u] = dot / Math.sqrt(qd);
                                max = Math.max(max, att[u]);
                            }
                            double z = 0;
                            for (int u = 0; u <= t; u++) {
                                att[u] = Math.exp(att[u] - max);
                                z += att[u];
                            }
                            for (int u = 0; u <= t; u++) {
                                for (int j = 0; j < vd; j++) {
                                    y[t][h * vd + j] += att[u] / z * qkv[u][2 * nh * qd + h * vd + j];
                                }
                            }
                        }
                    }
                    add(x, matmul(y, w.get(p + "attn.c_proj"), d));
                    double[][] hidden = matmul(ln(x, s.layerNormEps()), w.get(p + "mlp.c_fc"), 4 * d);
                    for (double[] row : hidden) {
                        for (int j = 0; j < row.length; j++) {
                            double v = row[j];
                            row[j] = 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
                        }
                    }
                    add(x, matmul(hidden, w.get(p + "mlp.c_proj"), d));
                }
                double[][] logits = matmul(ln(x, s.layerNormEps()), w.get("wte"), s.vocab());
                for (int t = 0; t < len; t++) {
                    for (int v = 0; v < s.vocab(); v++) {
                        out[(b * len + t) * s.vocab() + v] = s.logitScale() * logits[t][v];
                    }
                }
            }
            return out;
        }

        /** rows of a times W^T, W stored (out, in) row-major. */
        private static double[][] matmul(double[][] a, double[] weight, int out) {
            int in = a[0].length;
            double[][] r = new double[a.length][out];
            for (int t = 0; t < a.length; t++) {
                for (int o = 0; o < out; o++) {
                    double sum = 0;
                    for (int i = 0; i < in; i++) {
                        sum += a[t][i] * weight[o * in + i];
                    }
                    r[t][o] = sum;
                }
            }
            return r;
        }

        private static double[][] ln(double[][] x, double eps) {
            double[][] r = new double[x.length][];
            for (int t = 0; t < x.length; t++) {
                double mu = Arrays.stream(x[t]).average().orElse(0);
                double var = 0;
                for (double v : x[t]) {
                    var += (v - mu) * (v - mu);
                }
                var /= x[t].length;
                double inv = 1 / Math.sqrt(var + eps);
                r[t] = Arrays.stream(x[t]).map(v -> (v - mu) * inv).toArray();
            }
            return r;
        }

        private static void add(double[][] x, double[][] y) {
            for (int t = 0; t < x.length; t++) {
                for (int j = 0; j < x[t].length; j++) {
                    x[t][j] += y[t][j];
                }
            }
        }
    }
}
