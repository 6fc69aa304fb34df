package slt.theory;

import java.util.List;

/**
 * The transformer of the paper's Fig. 6, with no normalisation: Blk(x) = F(Attn(x) + x) +
 * Attn(x) + x, single-head attention over all positions (no causal mask), F a stack of ReLU
 * layers with no biases (relu after every layer: one layer in a target, two in a source).
 */
public record Transformer(List<Block> blocks) {

    /** One block: its attention layer and its feed-forward layers (each d_in x d_out). */
    public record Block(Mha attn, double[][][] ffn) {}

    /**
     * The outputs after each block for one input sequence x (L x d): result[b] = output of block b
     * (0-based), L x d. Attention is evaluated in merged form (logits x_s L x_t^T, values x_t B);
     * the feed-forward layers as they are.
     */
    public double[][][] forward(double[][] x) {
        return forward(x, merged(x[0].length));
    }

    /** The merged attention matrices of every block (for repeated {@link #forward(double[][], Mha.Merged[])}). */
    public Mha.Merged[] merged(int d) {
        Mha.Merged[] m = new Mha.Merged[blocks.size()];
        for (int b = 0; b < m.length; b++) {
            m[b] = blocks.get(b).attn().merged(d);
        }
        return m;
    }

    /** As {@link #forward(double[][])} with the blocks' merged attention matrices given. */
    public double[][][] forward(double[][] x, Mha.Merged[] merged) {
        int len = x.length;
        int d = x[0].length;
        double[][][] out = new double[blocks.size()][][];
        double[][] cur = x;
        double[] logits = new double[len];
        for (int bi = 0; bi < blocks.size(); bi++) {
            Block blk = blocks.get(bi);
            Mha.Merged m = merged[bi];
            double[][] next = new double[len][];
            for (int s = 0; s < len; s++) {
                double[] c = new double[d];
                for (int j = 0; j < d; j++) {
                    double v = 0;
                    for (int i = 0; i < d; i++) {
                        v += cur[s][i] * m.l()[i][j];
                    }
                    c[j] = v;
                }
                double max = Double.NEGATIVE_INFINITY;
                for (int t = 0; t < len; t++) {
                    double v = 0;
                    for (int j = 0; j < d; j++) {
                        v += c[j] * cur[t][j];
                    }
                    logits[t] = v;
                    max = Math.max(max, v);
                }
                double z = 0;
                double[] ctx = new double[d];
                for (int t = 0; t < len; t++) {
                    double e = Math.exp(logits[t] - max);
                    z += e;
                    for (int j = 0; j < d; j++) {
                        ctx[j] += e * cur[t][j];
                    }
                }
                double[] h = new double[d];
                for (int o = 0; o < d; o++) {
                    double v = 0;
                    for (int j = 0; j < d; j++) {
                        v += ctx[j] / z * m.b()[j][o];
                    }
                    h[o] = v + cur[s][o];
                }
                double[] f = h;
                for (double[][] layer : blk.ffn()) {
                    f = reluLayer(f, layer);
                }
                double[] y = new double[d];
                for (int o = 0; o < d; o++) {
                    y[o] = f[o] + h[o];
                }
                next[s] = y;
            }
            out[bi] = next;
            cur = next;
        }
        return out;
    }

    /** relu(z W). */
    static double[] reluLayer(double[] z, double[][] w) {
        int out = w.length == 0 ? 0 : w[0].length;
        double[] y = new double[out];
        for (int i = 0; i < z.length; i++) {
            double zi = z[i];
            if (zi == 0) {
                continue;
            }
            for (int o = 0; o < out; o++) {
                y[o] += zi * w[i][o];
            }
        }
        for (int o = 0; o < out; o++) {
            y[o] = Math.max(0, y[o]);
        }
        return y;
    }
}
