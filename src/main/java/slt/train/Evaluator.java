package slt.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import java.util.ArrayList;
import java.util.List;
import slt.data.TokenWindows;
import slt.model.Gpt2;
import slt.model.Host;

/** Mean token cross-entropy of a model over (the first windows of) an evaluation set. */
public final class Evaluator {
    private Evaluator() {}

    /**
     * Mean negative log-likelihood per token over windows 0 .. min(limit, windows) - 1, in
     * batches of {@code batch}; the model's masks must be current. Sums are kept in double.
     */
    public static double meanLoss(Gpt2 model, TokenWindows set, Integer limit, int batch, NDManager manager) {
        long windows = limit == null ? set.windows() : Math.min(limit, set.windows());
        long tokens = 0;
        List<NDArray> sums = new ArrayList<>(); // stay on the device: one read for the whole evaluation
        try {
            for (long start = 0; start < windows; start += batch) {
                int n = (int) Math.min(batch, windows - start);
                long[] idx = new long[n];
                for (int i = 0; i < n; i++) {
                    idx[i] = start + i;
                }
                try (NDScope ignored = new NDScope()) {
                    NDList b = set.batch(manager, idx);
                    NDArray h = model.hidden(b.get(0));
                    long rows = b.get(1).size();
                    NDArray sum = Losses.chunkedNllSum(model, h.reshape(rows, h.getShape().get(2)), b.get(1).reshape(rows));
                    NDScope.unregister(sum);
                    sums.add(sum);
                    tokens += b.get(1).size();
                }
            }
            double nll = 0;
            for (double s : Host.stacked(sums)) { // float32 batch sums added in double, in batch order
                nll += s;
            }
            return nll / tokens;
        } finally {
            sums.forEach(NDArray::close);
        }
    }
}
