package slt.theory;

/**
 * A single-head attention layer with no biases, in double precision: W_Q, W_K (d x n_K), W_V
 * (d x n_V), W_O (n_V x d_out); logits (x W_Q)(x W_K)^T / sqrt(n_K) (no scaling when n_K = 0:
 * the logits are then all 0), softmax over the positions, output sum_t a_t (x_t W_V) W_O.
 * Weights are stored as effective weights (a pruned network stores W * M).
 *
 * <p>In the MHA experiment the query is the regression token only (the output is read at its
 * position) and the keys and values are the token and x_1..x_T. By associativity the output is
 * (sum_t a_t x_t) B with logits_t = (token L) . x_t, where L = W_Q W_K^T / sqrt(n_K) (d x d) and
 * B = W_V W_O (d x d_out): {@link Merged} evaluates it in O(T d) per sample.
 */
public record Mha(double[][] wq, double[][] wk, double[][] wv, double[][] wo) {

    public int inDim() {
        return wq.length;
    }

    public int nK() {
        return wq[0].length;
    }

    public int nV() {
        return wv[0].length;
    }

    /** The 1/sqrt(n_K) of the logits (1 when n_K = 0: an empty sum). */
    public static double logitScale(int nK) {
        return nK == 0 ? 1 : 1 / Math.sqrt(nK);
    }

    /** L = W_Q W_K^T / sqrt(n_K) and B = W_V W_O. */
    public Merged merged(int outDim) {
        int d = inDim();
        double[][] l = Matrices.scale(Matrices.mulT(wq, wk), logitScale(nK()));
        double[][] b = nV() == 0 ? new double[d][outDim] : Matrices.mul(wv, wo);
        return new Merged(l, b);
    }

    /** The merged form of an attention layer: logits x_s L x_t^T, values x_t B. */
    public record Merged(double[][] l, double[][] b) {

        /**
         * The output at the token's position for input dimension 2 and output dimension 1, in one
         * pass: the softmax is shifted by M = max(token logit, |c|) where c = token L, which bounds
         * every logit c . x_t since |x_t| = 1 (x_t are points on the unit circle); when |c| is too
         * large for exp(-2|c|) to stay representable it falls back to {@link #tokenOutput}.
         */
        public double tokenOutput2(double[] token, double[] xs, int length, double[] logits) {
            double c0 = token[0] * l[0][0] + token[1] * l[1][0];
            double c1 = token[0] * l[0][1] + token[1] * l[1][1];
            double norm = Math.sqrt(c0 * c0 + c1 * c1);
            if (norm > 300) {
                double[] out = new double[1];
                tokenOutput(token, xs, length, logits, out);
                return out[0];
            }
            double l0 = c0 * token[0] + c1 * token[1];
            double m = Math.max(l0, norm);
            double z = Math.exp(l0 - m);
            double s0 = z * token[0];
            double s1 = z * token[1];
            for (int t = 0; t < length; t++) {
                double x = xs[2 * t];
                double y = xs[2 * t + 1];
                double e = Math.exp(c0 * x + c1 * y - m);
                z += e;
                s0 += e * x;
                s1 += e * y;
            }
            return s0 / z * b[0][0] + s1 / z * b[1][0];
        }

        /**
         * The output at position 0 (the regression token {@code token}) for a sequence xs (x_1..x_T,
         * flattened pairs); {@code logits} is a work array of at least T + 1; result in out (d_out).
         */
        public void tokenOutput(double[] token, double[] xs, int length, double[] logits, double[] out) {
            int d = token.length;
            double[] c = new double[d];
            for (int j = 0; j < d; j++) {
                double s = 0;
                for (int i = 0; i < d; i++) {
                    s += token[i] * l[i][j];
                }
                c[j] = s;
            }
            double max = 0;
            for (int j = 0; j < d; j++) {
                max += c[j] * token[j];
            }
            logits[0] = max;
            for (int t = 0; t < length; t++) {
                double v = 0;
                for (int j = 0; j < d; j++) {
                    v += c[j] * xs[t * d + j];
                }
                logits[t + 1] = v;
                if (v > max) {
                    max = v;
                }
            }
            double z = Math.exp(logits[0] - max);
            double[] ctx = new double[d];
            for (int j = 0; j < d; j++) {
                ctx[j] = z * token[j];
            }
            for (int t = 0; t < length; t++) {
                double e = Math.exp(logits[t + 1] - max);
                z += e;
                for (int j = 0; j < d; j++) {
                    ctx[j] += e * xs[t * d + j];
                }
            }
            for (int o = 0; o < out.length; o++) {
                double s = 0;
                for (int j = 0; j < d; j++) {
                    s += ctx[j] / z * b[j][o];
                }
                out[o] = s;
            }
        }
    }
}
