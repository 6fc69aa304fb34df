package slt.theory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.Test;

/**
 * The pruned networks compute what their masks say: outputs equal an independent, naive
 * recomputation (full-width queries, keys and values per position) from source weights times
 * masks; and the Java evaluation of the trained target equals the DJL model it was trained as.
 */
class PrunedNetworkTest {
    private static final SubsetSum.Solver SOLVER = SubsetSum.of(SubsetSum.Kind.AUTO, 40, 36, 1);

    private static double[][] apply(double[][] w, boolean[][] m) {
        double[][] out = new double[w.length][w.length == 0 ? 0 : w[0].length];
        for (int i = 0; i < w.length; i++) {
            for (int j = 0; j < w[i].length; j++) {
                out[i][j] = m[i][j] ? w[i][j] : 0;
            }
        }
        return out;
    }

    private static double[] vecMat(double[] x, double[][] w) {
        double[] y = new double[w[0].length];
        for (int j = 0; j < y.length; j++) {
            for (int i = 0; i < x.length; i++) {
                y[j] += x[i] * w[i][j];
            }
        }
        return y;
    }

    /** Attention over positions xs (L x d) for query position s, full width, from the given weights. */
    private static double[] naiveAttention(double[][] xs, int s, double[][] wq, double[][] wk, double[][] wv, double[][] wo) {
        int n = wq[0].length;
        double[] q = vecMat(xs[s], wq);
        double[] logits = new double[xs.length];
        double max = Double.NEGATIVE_INFINITY;
        for (int t = 0; t < xs.length; t++) {
            double[] k = vecMat(xs[t], wk);
            double dot = 0;
            for (int j = 0; j < n; j++) {
                dot += q[j] * k[j];
            }
            logits[t] = n == 0 ? dot : dot / Math.sqrt(n);
            max = Math.max(max, logits[t]);
        }
        double z = 0;
        for (int t = 0; t < xs.length; t++) {
            z += Math.exp(logits[t] - max);
        }
        double[] v = new double[wv[0].length];
        for (int t = 0; t < xs.length; t++) {
            double a = Math.exp(logits[t] - max) / z;
            double[] vt = vecMat(xs[t], wv);
            for (int j = 0; j < v.length; j++) {
                v[j] += a * vt[j];
            }
        }
        return vecMat(v, wo);
    }

    @Test
    void prunedSourceMhaOutputEqualsARecomputationFromTheMaskedMatrices() {
        AngularData data = AngularData.of(3, "test", 200, 6);
        double[] token = {0.3, -0.7};
        Mha target = Sources.mha(3, new Object[] {"t"}, 2, 8, 8, 1, Sources.Init.THEORY);
        for (int n : new int[] {4, 24, 50}) {
            Mha source = Sources.mha(3, new Object[] {"s", n}, 2, n, n, 1, Sources.Init.THEORY);
            Construction.PrunedMha p = Construction.pruneMha(source, target, SOLVER);
            Construction.Masks m = p.masks();
            double[][] wq = apply(source.wq(), m.q());
            double[][] wk = apply(source.wk(), m.k());
            double[][] wv = apply(source.wv(), m.v());
            double[][] wo = apply(source.wo(), m.o());
            double[] fast = Evaluator.outputs(data, token, p.net().merged(1), ForkJoinPool.commonPool());
            double[] xs = new double[2 * data.length()];
            for (int s = 0; s < data.size(); s++) {
                data.sequence(s, xs);
                double[][] seq = new double[data.length() + 1][];
                seq[0] = token;
                for (int t = 0; t < data.length(); t++) {
                    seq[t + 1] = new double[] {xs[2 * t], xs[2 * t + 1]};
                }
                double want = naiveAttention(seq, 0, wq, wk, wv, wo)[0];
                assertEquals(want, fast[s], 1e-12 * Math.max(1, Math.abs(want)), "n=" + n + " sample " + s);
            }
            int kept = Matrices.count(m.q()) + Matrices.count(m.k()) + Matrices.count(m.v()) + Matrices.count(m.o());
            assertEquals(p.kept(), kept);
            assertEquals(n, Matrices.count(m.q()), "one kept W_Q entry per hidden unit");
            assertEquals(n, Matrices.count(m.v()), "one kept W_V entry per hidden unit");
        }
    }

    @Test
    void prunedSourceTransformerOutputEqualsARecomputationFromTheMaskedMatrices() {
        int blocks = 2;
        int n = 30;
        Transformer target = Sources.targetTransformer(4, blocks, 2, 8, 8);
        Transformer source = Sources.sourceTransformer(4, new Object[] {"s"}, blocks, 2, n, Sources.Init.THEORY);
        List<Transformer.Block> pruned = new ArrayList<>();
        List<Construction.PrunedBlock> info = new ArrayList<>();
        for (int b = 0; b < blocks; b++) {
            Construction.PrunedBlock pb = Construction.pruneBlock(source.blocks().get(b), target.blocks().get(b), SOLVER);
            pruned.add(pb.block());
            info.add(pb);
        }
        Transformer net = new Transformer(pruned);
        AngularData data = AngularData.of(4, "test", 50, 5);
        for (int s = 0; s < data.size(); s++) {
            double[][] x = Experiments.input(data, s);
            double[][][] fast = net.forward(x);
            double[][] cur = x;
            for (int b = 0; b < blocks; b++) {
                Transformer.Block src = source.blocks().get(b);
                Construction.Masks m = info.get(b).attn().masks();
                double[][] wq = apply(src.attn().wq(), m.q());
                double[][] wk = apply(src.attn().wk(), m.k());
                double[][] wv = apply(src.attn().wv(), m.v());
                double[][] wo = apply(src.attn().wo(), m.o());
                double[][] u = apply(src.ffn()[0], info.get(b).maskFc1());
                double[][] v = apply(src.ffn()[1], info.get(b).maskFc2());
                double[][] next = new double[cur.length][];
                for (int p = 0; p < cur.length; p++) {
                    double[] attn = naiveAttention(cur, p, wq, wk, wv, wo);
                    double[] h = {attn[0] + cur[p][0], attn[1] + cur[p][1]};
                    double[] hidden = vecMat(h, u);
                    for (int j = 0; j < hidden.length; j++) {
                        hidden[j] = Math.max(0, hidden[j]);
                    }
                    double[] f = vecMat(hidden, v);
                    next[p] = new double[] {Math.max(0, f[0]) + h[0], Math.max(0, f[1]) + h[1]};
                }
                cur = next;
                for (int p = 0; p < cur.length; p++) {
                    for (int j = 0; j < 2; j++) {
                        assertEquals(cur[p][j], fast[b][p][j], 1e-10 * Math.max(1, Math.abs(cur[p][j])),
                                "sample " + s + " block " + b + " position " + p);
                    }
                }
            }
        }
    }

    @Test
    void javaEvaluationOfTheTrainedTargetEqualsTheDjlModel() {
        AngularData train = AngularData.of(5, "train", 512, 4);
        TargetTrainer.Target t = TargetTrainer.train(train, new TargetTrainer.Settings(8, 8, 2, 128, 0.1, 0.01, 5));
        assertTrue(Double.isFinite(t.lastEpochLoss()));
        assertTrue(Math.abs(t.token()[0]) + Math.abs(t.token()[1]) > 0, "the regression token was trained away from zero");
        AngularData test = AngularData.of(5, "test", 64, 4);
        double[] java = Evaluator.outputs(test, t.token(), t.mha().merged(1), ForkJoinPool.commonPool());
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            Map<String, NDArray> p = new LinkedHashMap<>();
            p.put("token", array(manager, new double[][] {t.token()}));
            p.put("wq", array(manager, t.mha().wq()));
            p.put("wk", array(manager, t.mha().wk()));
            p.put("wv", array(manager, t.mha().wv()));
            p.put("wo", array(manager, t.mha().wo()));
            int[] idx = new int[test.size()];
            for (int i = 0; i < idx.length; i++) {
                idx[i] = i;
            }
            NDArray x = manager.create(test.batch(idx, 0, idx.length), new Shape(idx.length, 4, 2));
            float[] djl = TargetTrainer.forward(p, x, 8).toFloatArray();
            for (int s = 0; s < idx.length; s++) {
                assertEquals(djl[s], java[s], 1e-4 * Math.max(1, Math.abs(java[s])), "sample " + s);
            }
        }
    }

    private static NDArray array(NDManager m, double[][] w) {
        float[] f = new float[w.length * w[0].length];
        for (int i = 0; i < w.length; i++) {
            for (int j = 0; j < w[0].length; j++) {
                f[i * w[0].length + j] = (float) w[i][j];
            }
        }
        return m.create(f, new Shape(w.length, w[0].length));
    }
}
