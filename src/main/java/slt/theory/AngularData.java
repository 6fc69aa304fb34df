package slt.theory;

import java.util.SplittableRandom;
import slt.config.Seeds;

/**
 * The angular-velocity data set of the paper's synthetic experiment: sample s has an angular
 * velocity w ~ U[-pi, pi] and a phase p ~ U[0, pi]; its sequence is x_t = (cos(w t + p),
 * sin(w t + p)), t = 1..T, and its regression target is w. (The regression token, position 0,
 * belongs to the model, not to the data.) A split is a pure function of (seed, split name): the
 * same samples at every length T, so experiments over T vary nothing else.
 */
public final class AngularData {
    private final double[] omega;
    private final double[] phase;
    private final int length;

    private AngularData(double[] omega, double[] phase, int length) {
        this.omega = omega;
        this.phase = phase;
        this.length = length;
    }

    /** {@code samples} samples of split {@code split} ("train", "val", "test") with sequences of length T. */
    public static AngularData of(long seed, String split, int samples, int length) {
        SplittableRandom r = new SplittableRandom(Seeds.derive(seed, "theory-data", split));
        double[] w = new double[samples];
        double[] p = new double[samples];
        for (int s = 0; s < samples; s++) {
            w[s] = (2 * r.nextDouble() - 1) * Math.PI;
            p[s] = r.nextDouble() * Math.PI;
        }
        return new AngularData(w, p, length);
    }

    /** The same samples at another sequence length. */
    public AngularData withLength(int t) {
        return new AngularData(omega, phase, t);
    }

    public int size() {
        return omega.length;
    }

    public int length() {
        return length;
    }

    /** The regression target of sample s: its angular velocity. */
    public double target(int s) {
        return omega[s];
    }

    /** Writes x_1..x_T of sample s into buf[2(t-1)], buf[2(t-1)+1] (double precision). */
    public void sequence(int s, double[] buf) {
        double w = omega[s];
        double p = phase[s];
        for (int t = 1; t <= length; t++) {
            double a = w * t + p;
            buf[2 * (t - 1)] = Math.cos(a);
            buf[2 * (t - 1) + 1] = Math.sin(a);
        }
    }

    /** Samples idx[from..to) as a float array of shape (to - from, T, 2), for training. */
    public float[] batch(int[] idx, int from, int to) {
        float[] out = new float[(to - from) * length * 2];
        double[] buf = new double[length * 2];
        for (int b = from; b < to; b++) {
            sequence(idx[b], buf);
            int off = (b - from) * length * 2;
            for (int k = 0; k < buf.length; k++) {
                out[off + k] = (float) buf[k];
            }
        }
        return out;
    }
}
