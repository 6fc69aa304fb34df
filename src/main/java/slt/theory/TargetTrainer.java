package slt.theory;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import slt.config.Seeds;
import slt.model.Constants;
import slt.model.Host;

/**
 * Trains the target of the MHA experiment with DJL (PyTorch engine, CPU): a single-head attention
 * layer (input 2, Q/K width d_K, V width d_V, output 1, no biases) whose query is a learned
 * regression token (initialised to zero) at position 0; the output, read at that position, is
 * regressed on the angular velocity with mean squared error. AdamW exactly as torch.optim.AdamW
 * (decoupled decay w *= 1 - lr wd, bias-corrected moments, eps added to the corrected sqrt(v)),
 * written here with DJL arrays. Initialisation: W_Q, W_K ~ U[-d_K^(1/4), d_K^(1/4)], W_V, W_O ~
 * U[-1, 1] (the theory's initialisation, at the target's own width), generated in Java from the seed.
 */
public final class TargetTrainer {
    private TargetTrainer() {}

    /** Hyper-parameters (paper: AdamW, batch 1024, lr 0.1, 25 epochs, weight decay 0.01). */
    public record Settings(int dK, int dV, int epochs, int batch, double lr, double weightDecay, long seed) {}

    /** The trained target: the attention layer, the regression token and the training loss of the last epoch. */
    public record Target(Mha mha, double[] token, double lastEpochLoss, double seconds) {}

    public static Target train(AngularData train, Settings s) {
        long start = System.nanoTime();
        int d = 2;
        int t = train.length();
        Map<String, double[][]> init = new LinkedHashMap<>();
        init.put("token", new double[1][d]);
        init.put("wq", Matrices.uniform(Seeds.derive(s.seed(), "theory-target", t, "W_Q"), d, s.dK(), Math.pow(s.dK(), 0.25)));
        init.put("wk", Matrices.uniform(Seeds.derive(s.seed(), "theory-target", t, "W_K"), d, s.dK(), Math.pow(s.dK(), 0.25)));
        init.put("wv", Matrices.uniform(Seeds.derive(s.seed(), "theory-target", t, "W_V"), d, s.dV(), 1));
        init.put("wo", Matrices.uniform(Seeds.derive(s.seed(), "theory-target", t, "W_O"), s.dV(), 1, 1));
        double lastLoss = Double.NaN;
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            Map<String, NDArray> params = new LinkedHashMap<>();
            Map<String, NDArray[]> moments = new LinkedHashMap<>();
            for (Map.Entry<String, double[][]> e : init.entrySet()) {
                double[][] w = e.getValue();
                NDArray a = manager.create(toFloat(w), new Shape(w.length, w[0].length));
                a.setRequiresGradient(true);
                params.put(e.getKey(), a);
                moments.put(e.getKey(), new NDArray[] {a.zerosLike(), a.zerosLike()});
            }
            int n = train.size();
            int[] order = new int[n];
            for (int i = 0; i < n; i++) {
                order[i] = i;
            }
            long step = 0;
            for (int epoch = 0; epoch < s.epochs(); epoch++) {
                shuffle(order, Seeds.derive(s.seed(), "theory-target-order", t, epoch));
                double lossSum = 0;
                for (int from = 0; from < n; from += s.batch()) {
                    int to = Math.min(n, from + s.batch());
                    float[] y = new float[to - from];
                    for (int b = from; b < to; b++) {
                        y[b - from] = (float) train.target(order[b]);
                    }
                    try (NDScope ignored = new NDScope()) {
                        NDArray x = manager.create(train.batch(order, from, to), new Shape(to - from, t, d));
                        NDArray target = manager.create(y, new Shape(to - from, 1));
                        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                            NDArray out = forward(params, x, s.dK());
                            NDArray loss = out.sub(target).square().mean();
                            gc.backward(loss);
                            lossSum += (float) Host.value(loss) * (to - from); // float product, as before
                        }
                    }
                    step++;
                    adamW(params, moments, step, s.lr(), s.weightDecay());
                }
                lastLoss = lossSum / n;
                if (!Double.isFinite(lastLoss)) {
                    throw new IllegalStateException("target training diverged (loss " + lastLoss + " in epoch " + epoch + ")");
                }
            }
            double[][] token = toDouble(params.get("token"));
            Mha mha = new Mha(toDouble(params.get("wq")), toDouble(params.get("wk")), toDouble(params.get("wv")),
                    toDouble(params.get("wo")));
            return new Target(mha, token[0], lastLoss, (System.nanoTime() - start) / 1e9);
        }
    }

    /** The model: output at the token's position, (B, 1). x: (B, T, 2). */
    static NDArray forward(Map<String, NDArray> p, NDArray x, int dK) {
        long batch = x.getShape().get(0);
        NDArray token = p.get("token");                                    // (1, 2)
        NDArray tok = token.reshape(1, 1, 2).broadcast(new Shape(batch, 1, 2));
        NDArray full = NDArrays.concat(new NDList(tok, x), 1);            // (B, T+1, 2)
        NDArray q = token.matMul(p.get("wq"));                             // (1, dK)
        NDArray k = full.matMul(p.get("wk"));                              // (B, T+1, dK)
        NDArray logits = Constants.div(k.matMul(q.transpose()), Math.sqrt(dK)); // (B, T+1, 1)
        NDArray a = logits.softmax(1);                                      // over positions
        NDArray ctx = a.transpose(0, 2, 1).matMul(full);                   // (B, 1, 2)
        return ctx.reshape(batch, 2).matMul(p.get("wv")).matMul(p.get("wo"));
    }

    /** torch.optim.AdamW's update (betas 0.9, 0.999, eps 1e-8); zeroes the gradients. */
    private static void adamW(Map<String, NDArray> params, Map<String, NDArray[]> moments, long step, double lr, double wd) {
        double b1 = 0.9;
        double b2 = 0.999;
        double bc1 = 1 - Math.pow(b1, step);
        double bc2Sqrt = Math.sqrt(1 - Math.pow(b2, step));
        for (Map.Entry<String, NDArray> e : params.entrySet()) {
            try (NDScope ignored = new NDScope()) {
                NDArray w = e.getValue();
                NDArray g = w.getGradient();
                NDArray[] mv = moments.get(e.getKey());
                w.muli((float) (1 - lr * wd));
                mv[0].muli((float) b1).addi(g.mul((float) (1 - b1)));
                mv[1].muli((float) b2).addi(g.mul(g).muli((float) (1 - b2)));
                NDArray denom = mv[1].sqrt().divi((float) bc2Sqrt).addi(1e-8f);
                w.subi(mv[0].div(denom).muli((float) (lr / bc1)));
                g.subi(g);
            }
        }
    }

    private static void shuffle(int[] a, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = a.length - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int tmp = a[i];
            a[i] = a[j];
            a[j] = tmp;
        }
    }

    private static float[] toFloat(double[][] w) {
        float[] out = new float[w.length * w[0].length];
        for (int i = 0; i < w.length; i++) {
            for (int j = 0; j < w[0].length; j++) {
                out[i * w[0].length + j] = (float) w[i][j];
            }
        }
        return out;
    }

    private static double[][] toDouble(NDArray a) {
        float[] f = Host.floats(a.toType(DataType.FLOAT32, false));
        int rows = (int) a.getShape().get(0);
        int cols = (int) a.getShape().get(1);
        double[][] out = new double[rows][cols];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                out[i][j] = f[i * cols + j];
            }
        }
        return out;
    }
}
