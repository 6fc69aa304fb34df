package slt.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import slt.model.Constants;
import slt.model.Gpt2;
import slt.model.Scoped;

/** Token-level cross-entropy of next-token logits. */
public final class Losses {
    private Losses() {}

    /** Summed negative log-likelihood of {@code targets} (B, T) under {@code logits} (B, T, V). */
    public static NDArray nllSum(NDArray logits, NDArray targets) {
        return logits.logSoftmax(-1).gather(targets.expandDims(-1), -1).sum().neg();
    }

    /** Mean cross-entropy per token. */
    public static NDArray crossEntropy(NDArray logits, NDArray targets) {
        return Constants.div(nllSum(logits, targets), targets.size());
    }

    /**
     * The summed negative log-likelihood of {@code targets} (N) under the LM head applied to
     * {@code hidden} (N, d), a chunk of {@link Gpt2#headChunkRows()} rows at a time, so that only
     * one chunk's logits (N x vocab in all) live at once (evaluation; training's head and loss are
     * {@link Gpt2#headLoss}). Returns the sum as a float32 scalar on the device, without a graph.
     */
    public static NDArray chunkedNllSum(Gpt2 model, NDArray hidden, NDArray targets) {
        long n = hidden.getShape().get(0);
        long rows = model.headChunkRows();
        NDArray total = null;
        for (long from = 0; from < n; from += rows) {
            long to = Math.min(n, from + rows);
            try (NDScope ignored = new NDScope()) {
                NDIndex range = new NDIndex(from + ":" + to);
                NDArray nll = Scoped.call(() -> nllSum(model.head(hidden.get(range)), targets.get(range)));
                NDArray value = nll.stopGradient(); // the number, without the chunk's graph
                NDArray sum = total == null ? value : total.add(value);
                NDScope.unregister(sum);
                if (total != null) {
                    total.close();
                }
                total = sum;
            }
        }
        NDScope.register(total);
        return total;
    }
}
