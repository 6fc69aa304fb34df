package slt.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import org.junit.jupiter.api.Test;

class WindowSamplerTest {

    /** Draws {@code total} indices in chunks of the given (cycled) sizes. */
    private static long[] draw(WindowSampler s, long total, int... chunks) {
        long[] out = new long[Math.toIntExact(total)];
        int at = 0;
        int c = 0;
        while (at < total) {
            int n = (int) Math.min(chunks[c++ % chunks.length], total - at);
            long[] part = s.next(n);
            assertEquals(n, part.length);
            System.arraycopy(part, 0, out, at, n);
            at += n;
        }
        return out;
    }

    private static void assertPermutation(long[] pass, int n) {
        assertEquals(n, pass.length);
        boolean[] seen = new boolean[n];
        for (long v : pass) {
            assertFalse(v < 0 || v >= n, "index " + v + " outside 0.." + (n - 1));
            assertFalse(seen[(int) v], "index " + v + " drawn twice in one pass");
            seen[(int) v] = true;
        }
    }

    @Test
    void everyPassIsAPermutation() {
        for (int n : new int[] {1, 2, 7, 100, 1001}) {
            WindowSampler s = new WindowSampler(n, 42, 4);
            long[] all = draw(s, 4L * n, 3, 5, 11); // chunks straddle pass boundaries
            for (int pass = 0; pass < 4; pass++) {
                assertPermutation(Arrays.copyOfRange(all, pass * n, (pass + 1) * n), n);
            }
            assertEquals(4L * n, s.position());
        }
    }

    @Test
    void passesAreShuffledAndDifferFromEachOther() {
        int n = 200;
        long[] all = draw(new WindowSampler(n, 7, 1), 3L * n, n);
        long[] p0 = Arrays.copyOfRange(all, 0, n);
        long[] p1 = Arrays.copyOfRange(all, n, 2 * n);
        long[] p2 = Arrays.copyOfRange(all, 2 * n, 3 * n);
        long[] identity = new long[n];
        Arrays.setAll(identity, i -> i);
        assertFalse(Arrays.equals(identity, p0), "pass 0 is shuffled");
        assertFalse(Arrays.equals(p0, p1), "each pass has its own order");
        assertFalse(Arrays.equals(p1, p2), "each pass has its own order");
    }

    @Test
    void sameSeedSameSequenceDifferentSeedDifferentSequence() {
        int n = 500;
        long[] a = draw(new WindowSampler(n, 1234, 8), 1300, 8);
        long[] b = draw(new WindowSampler(n, 1234, 8), 1300, 1, 17, 250); // chunking must not matter
        long[] c = draw(new WindowSampler(n, 1235, 8), 1300, 8);
        assertArrayEquals(a, b);
        assertFalse(Arrays.equals(a, c));
        assertFalse(Arrays.equals(Arrays.copyOf(a, n), Arrays.copyOf(c, n)), "first passes differ too");
    }

    @Test
    void seekOnAFreshSamplerContinuesTheUninterruptedSequence() {
        int n = 37;
        long seed = 99;
        long total = 5L * n + 3;
        long[] reference = draw(new WindowSampler(n, seed, 4), total, 1);

        // stop at many points, including exact pass boundaries, and resume in a fresh sampler
        for (long stop : new long[] {0, 1, 13, n - 1, n, n + 1, 2L * n, 3L * n - 5, 4L * n + 2}) {
            WindowSampler first = new WindowSampler(n, seed, 4);
            long[] head = draw(first, stop, 5, 2, 9);
            assertEquals(stop, first.position());

            WindowSampler resumed = new WindowSampler(n, seed, 4);
            resumed.seek(first.position());
            assertEquals(stop, resumed.position());
            long[] tail = draw(resumed, total - stop, 6, 31, 1, 40);

            long[] joined = new long[(int) total];
            System.arraycopy(head, 0, joined, 0, head.length);
            System.arraycopy(tail, 0, joined, head.length, tail.length);
            assertArrayEquals(reference, joined, "resumed at " + stop);
        }
    }

    @Test
    void seekBackwardsOnAUsedSamplerReplays() {
        int n = 23;
        WindowSampler s = new WindowSampler(n, 5, 2);
        long[] first = draw(s, 60, 7);
        s.seek(10); // into pass 0 while pass 2's permutation is cached
        long[] again = draw(s, 50, 3, 4);
        assertArrayEquals(Arrays.copyOfRange(first, 10, 60), again);
    }

    @Test
    void djlSampleIteratesOnePassOfFullBatchesFromThePosition() {
        int n = 30;
        int batch = 4;
        long[] reference = draw(new WindowSampler(n, 3, batch), 2L * n, n);
        WindowSampler s = new WindowSampler(n, 3, batch);
        s.seek(5);
        Iterator<List<Long>> it = s.sample(null);
        List<Long> got = new ArrayList<>();
        int batches = 0;
        while (it.hasNext()) {
            List<Long> b = it.next();
            assertEquals(batch, b.size());
            got.addAll(b);
            batches++;
        }
        assertEquals(n / batch, batches);
        assertEquals(5 + (long) batches * batch, s.position());
        for (int i = 0; i < got.size(); i++) {
            assertEquals(reference[5 + i], got.get(i));
        }
        assertEquals(batch, s.getBatchSize());
    }

    @Test
    void permutationHelperIsAPermutation() {
        int[] p = WindowSampler.permutation(1000, 17);
        int[] sorted = p.clone();
        Arrays.sort(sorted);
        int[] identity = new int[1000];
        Arrays.setAll(identity, i -> i);
        assertArrayEquals(identity, sorted);
        assertFalse(Arrays.equals(identity, p));
        assertArrayEquals(p, WindowSampler.permutation(1000, 17));
    }

    @Test
    void refusesAnEmptyDataset() {
        assertThrows(IllegalArgumentException.class, () -> new WindowSampler(0, 1, 1));
    }
}
