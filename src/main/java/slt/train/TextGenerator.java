package slt.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.SplittableRandom;
import slt.data.Gpt2Tokenizer;
import slt.model.Gpt2;
import slt.model.Host;

/**
 * Samples text from a model: each new token from softmax(logits / temperature) over the top-k
 * logits of the last position (temperature 0 = greedy), with a seeded Java RNG so the same seed
 * gives the same text. The whole window is recomputed per token (no KV cache: fine for the short
 * samples this is for); prompts longer than the context keep their last tokens.
 */
public final class TextGenerator {
    private TextGenerator() {}

    /** The {@code count} token ids generated after {@code prompt}. */
    public static int[] generate(Gpt2 model, NDManager manager, int[] prompt, int count, double temperature, int topK,
            long seed) {
        return generate(model, manager, prompt, count, temperature, topK, seed, id -> { });
    }

    /** As {@link #generate(Gpt2, NDManager, int[], int, double, int, long)}, handing each id to {@code onToken} as it comes. */
    public static int[] generate(Gpt2 model, NDManager manager, int[] prompt, int count, double temperature, int topK,
            long seed, java.util.function.IntConsumer onToken) {
        if (prompt.length == 0) {
            prompt = new int[] {Gpt2Tokenizer.EOT};
        }
        int context = model.spec().context();
        int[] tokens = Arrays.copyOf(prompt, prompt.length + count);
        SplittableRandom rng = new SplittableRandom(seed);
        for (int i = 0; i < count; i++) {
            int end = prompt.length + i;
            int start = Math.max(0, end - context);
            float[] logits;
            try (NDScope ignored = new NDScope()) {
                long[] window = new long[end - start];
                for (int j = start; j < end; j++) {
                    window[j - start] = tokens[j];
                }
                NDArray out = model.logits(manager.create(window, new Shape(1, window.length)));
                logits = Host.floats(out.get("0, -1"));
            }
            tokens[end] = pick(logits, temperature, topK, rng);
            onToken.accept(tokens[end]);
        }
        return Arrays.copyOfRange(tokens, prompt.length, tokens.length);
    }

    /** One draw from softmax(logits / temperature) restricted to the topK largest (all if topK <= 0). */
    static int pick(float[] logits, double temperature, int topK, SplittableRandom rng) {
        if (temperature <= 0) {
            int best = 0;
            for (int i = 1; i < logits.length; i++) {
                if (logits[i] > logits[best]) {
                    best = i;
                }
            }
            return best;
        }
        float cut = Float.NEGATIVE_INFINITY;
        if (topK > 0 && topK < logits.length) {
            float[] sorted = logits.clone();
            Arrays.sort(sorted);
            cut = sorted[sorted.length - topK];
        }
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double[] p = new double[logits.length];
        double z = 0;
        for (int i = 0; i < logits.length; i++) {
            p[i] = logits[i] >= cut ? Math.exp((logits[i] - max) / temperature) : 0;
            z += p[i];
        }
        double u = rng.nextDouble() * z;
        for (int i = 0; i < p.length; i++) {
            u -= p[i];
            if (u < 0 && p[i] > 0) {
                return i;
            }
        }
        for (int i = p.length - 1; i >= 0; i--) { // rounding: the last candidate
            if (p[i] > 0) {
                return i;
            }
        }
        return 0;
    }
}
