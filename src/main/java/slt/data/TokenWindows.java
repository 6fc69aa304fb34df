package slt.data;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.dataset.RandomAccessDataset;
import ai.djl.training.dataset.Record;
import ai.djl.util.Progress;

/**
 * Non-overlapping windows over a span [from, to) of a token file: window {@code i} feeds tokens
 * {@code from + i*T ... from + i*T + T - 1} and predicts the same span shifted by one, so
 * {@code (to - from - 1) / T} windows fit (a shorter tail is left out). A DJL {@link
 * RandomAccessDataset} whose records are (input ids, target ids), both int64 of length T.
 */
public final class TokenWindows extends RandomAccessDataset {
    private final TokenFile tokens;
    private final long from;
    private final long to;
    private final int seqLen;

    public TokenWindows(TokenFile tokens, long from, long to, int seqLen, WindowSampler sampler) {
        super(new Builder().setSampling(sampler));
        if (from < 0 || to > tokens.size() || from > to) {
            throw new IllegalArgumentException("bad token span [" + from + ", " + to + ")");
        }
        this.tokens = tokens;
        this.from = from;
        this.to = to;
        this.seqLen = seqLen;
    }

    /** The sampler this dataset was built with (a {@link WindowSampler}). */
    public WindowSampler sampler() {
        return (WindowSampler) sampler;
    }

    /** Number of windows. */
    public long windows() {
        return Math.max(0, (to - from - 1) / seqLen);
    }

    /** Tokens covered by the span. */
    public long tokenCount() {
        return to - from;
    }

    public int seqLen() {
        return seqLen;
    }

    /**
     * A batch of windows: (inputs, targets), each int64 (indices.length, T), as two views of one
     * (indices.length, T + 1) array: one host-to-device copy per batch.
     */
    public NDList batch(NDManager manager, long[] indices) {
        int span = seqLen + 1;
        long[] windows = new long[indices.length * span];
        for (int b = 0; b < indices.length; b++) {
            if (indices[b] < 0 || indices[b] >= windows()) {
                throw new IndexOutOfBoundsException("window " + indices[b] + " of " + windows());
            }
            long start = from + indices[b] * seqLen;
            for (int t = 0; t < span; t++) {
                windows[b * span + t] = tokens.get(start + t);
            }
        }
        NDArray all = manager.create(windows, new Shape(indices.length, span));
        return new NDList(all.get(":, :-1"), all.get(":, 1:"));
    }

    @Override
    public Record get(NDManager manager, long index) {
        NDList b = batch(manager, new long[] {index});
        return new Record(new NDList(b.get(0).squeeze(0)), new NDList(b.get(1).squeeze(0)));
    }

    @Override
    protected long availableSize() {
        return windows();
    }

    @Override
    public void prepare(Progress progress) {
        // tokens are already loaded (memory-mapped)
    }

    private static final class Builder extends BaseBuilder<Builder> {
        @Override
        protected Builder self() {
            return this;
        }
    }
}
