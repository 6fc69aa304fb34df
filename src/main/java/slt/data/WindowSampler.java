package slt.data;

import ai.djl.training.dataset.RandomAccessDataset;
import ai.djl.training.dataset.Sampler;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.SplittableRandom;
import slt.config.Seeds;

/**
 * Deterministic shuffled order over a dataset's windows: pass {@code e} visits every window once
 * in a permutation seeded by (seed, e), and passes follow each other without end. The whole state
 * is one number, {@link #position()} (windows drawn so far), so a run can save it and resume the
 * exact same order; unlike DJL's RandomSampler, no global RNG is involved.
 */
public final class WindowSampler implements Sampler {
    private final long windows;
    private final long seed;
    private final int batchSize;
    private long position;
    private long permutationPass = -1;
    private int[] permutation;

    public WindowSampler(long windows, long seed, int batchSize) {
        if (windows < 1) {
            throw new IllegalArgumentException("no windows to sample from");
        }
        this.windows = windows;
        this.seed = seed;
        this.batchSize = batchSize;
    }

    /** Windows drawn so far (the resumable state). */
    public long position() {
        return position;
    }

    public void seek(long newPosition) {
        this.position = newPosition;
    }

    /** The next {@code n} window indices. */
    public long[] next(int n) {
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            long pass = position / windows;
            if (pass != permutationPass) {
                permutation = permutation(Math.toIntExact(windows), Seeds.derive(seed, "data-order", pass));
                permutationPass = pass;
            }
            out[i] = permutation[Math.toIntExact(position % windows)];
            position++;
        }
        return out;
    }

    /** Fisher-Yates shuffle of 0..n-1 with a seeded SplittableRandom. */
    static int[] permutation(int n, long seed) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        SplittableRandom rng = new SplittableRandom(seed);
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    /** DJL's view: one pass of batches from the current position (for DJL's own training loops). */
    @Override
    public Iterator<List<Long>> sample(RandomAccessDataset dataset) {
        long batches = windows / batchSize;
        return new Iterator<>() {
            private long done;

            @Override
            public boolean hasNext() {
                return done < batches;
            }

            @Override
            public List<Long> next() {
                done++;
                List<Long> list = new ArrayList<>(batchSize);
                for (long i : WindowSampler.this.next(batchSize)) {
                    list.add(i);
                }
                return list;
            }
        };
    }

    @Override
    public int getBatchSize() {
        return batchSize;
    }
}
