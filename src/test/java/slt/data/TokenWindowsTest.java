package slt.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.dataset.Record;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenWindowsTest {
    @TempDir
    static Path dir;

    private static TokenFile file;

    @BeforeAll
    static void tokenise() throws IOException {
        Path src = WikiFixtures.write(dir.resolve("wiki.valid.raw"), WikiFixtures.wikiText(4, 3));
        file = TokenFile.load(src, dir.resolve("cache"));
        assertTrue(file.size() > 300, "fixture large enough for several windows: " + file.size());
    }

    /** Windows that fit, counted one by one: window i needs tokens from+i*T .. from+i*T+T (inclusive) inside [from, to). */
    private static long countWindows(long from, long to, int t) {
        long n = 0;
        while (from + n * t + t <= to - 1) {
            n++;
        }
        return n;
    }

    private static TokenWindows windows(long from, long to, int t) {
        long n = Math.max(1, countWindows(from, to, t));
        return new TokenWindows(file, from, to, t, new WindowSampler(n, 1, 2));
    }

    @Test
    void windowCountMatchesAnIndependentCount() {
        long size = file.size();
        int[][] cases = {{0, (int) size, 16}, {0, 33, 16}, {0, 32, 16}, {0, 34, 16}, {5, 5 + 16 * 7 + 1, 16},
            {5, 5 + 16 * 7, 16}, {3, 100, 7}, {0, 1, 2}, {0, 0, 2}, {10, (int) size, 2}, {0, 16, 16}};
        for (int[] c : cases) {
            TokenWindows w = new TokenWindows(file, c[0], c[1], c[2], new WindowSampler(1, 1, 1));
            assertEquals(countWindows(c[0], c[1], c[2]), w.windows(), "span [" + c[0] + ", " + c[1] + ") T=" + c[2]);
            assertEquals(c[1] - c[0], w.tokenCount());
            assertEquals(c[2], w.seqLen());
        }
        assertEquals(2, new TokenWindows(file, 0, 33, 16, new WindowSampler(1, 1, 1)).windows(), "33 tokens: 2 x 16 + 1");
        assertEquals(1, new TokenWindows(file, 0, 32, 16, new WindowSampler(1, 1, 1)).windows(), "32 tokens: last target missing");
    }

    @Test
    void batchHoldsInputsAndTargetsShiftedByOne() {
        long from = 37;
        long to = file.size() - 11;
        int t = 16;
        TokenWindows w = windows(from, to, t);
        long n = w.windows();
        long[] idx = {0, n - 1, 3, 1, n / 2};
        try (NDManager m = NDManager.newBaseManager()) {
            NDList b = w.batch(m, idx);
            assertEquals(2, b.size());
            NDArray in = b.get(0);
            NDArray target = b.get(1);
            assertEquals(DataType.INT64, in.getDataType());
            assertEquals(DataType.INT64, target.getDataType());
            assertEquals(new Shape(idx.length, t), in.getShape());
            assertEquals(new Shape(idx.length, t), target.getShape());
            long[] inFlat = in.toLongArray();
            long[] targetFlat = target.toLongArray();
            for (int r = 0; r < idx.length; r++) {
                long start = from + idx[r] * t;
                for (int j = 0; j < t; j++) {
                    assertEquals(file.get(start + j), inFlat[r * t + j], "input row " + r + " col " + j);
                    assertEquals(file.get(start + j + 1), targetFlat[r * t + j], "target row " + r + " col " + j);
                }
            }
            // the last window's last target is still inside the span
            assertTrue(from + (n - 1) * t + t < to);
        }
    }

    @Test
    void windowsTileTheSpanWithoutOverlap() {
        long from = 0;
        long to = 16 * 9 + 1;
        TokenWindows w = windows(from, to, 16);
        assertEquals(9, w.windows());
        long[] all = new long[9];
        for (int i = 0; i < 9; i++) {
            all[i] = i;
        }
        try (NDManager m = NDManager.newBaseManager()) {
            long[] in = w.batch(m, all).get(0).toLongArray();
            long[] expected = new long[16 * 9];
            for (int i = 0; i < expected.length; i++) {
                expected[i] = file.get(i);
            }
            assertArrayEquals(expected, in, "inputs of windows 0..8 concatenated are the span's first 144 tokens");
        }
    }

    @Test
    void recordIsOneWindow() {
        TokenWindows w = windows(10, file.size(), 8);
        try (NDManager m = NDManager.newBaseManager()) {
            Record r = w.get(m, 2);
            assertEquals(new Shape(8), r.getData().singletonOrThrow().getShape());
            assertEquals(new Shape(8), r.getLabels().singletonOrThrow().getShape());
            long[] data = r.getData().singletonOrThrow().toLongArray();
            long[] labels = r.getLabels().singletonOrThrow().toLongArray();
            for (int j = 0; j < 8; j++) {
                assertEquals(file.get(10 + 16 + j), data[j]);
                assertEquals(file.get(10 + 16 + j + 1), labels[j]);
            }
            assertEquals(w.windows(), w.size());
        }
    }

    @Test
    void outOfRangeWindowIsRefused() {
        TokenWindows w = windows(0, 100, 16);
        assertEquals(6, w.windows());
        try (NDManager m = NDManager.newBaseManager()) {
            assertThrows(IndexOutOfBoundsException.class, () -> w.batch(m, new long[] {6}));
            assertThrows(IndexOutOfBoundsException.class, () -> w.batch(m, new long[] {-1}));
        }
    }

    @Test
    void badSpanIsRefused() {
        WindowSampler s = new WindowSampler(1, 1, 1);
        assertThrows(IllegalArgumentException.class, () -> new TokenWindows(file, -1, 10, 4, s));
        assertThrows(IllegalArgumentException.class, () -> new TokenWindows(file, 0, file.size() + 1, 4, s));
        assertThrows(IllegalArgumentException.class, () -> new TokenWindows(file, 20, 10, 4, s));
    }

    @Test
    void samplerIsTheOneGiven() {
        WindowSampler s = new WindowSampler(3, 9, 2);
        assertSame(s, new TokenWindows(file, 0, 100, 16, s).sampler());
    }
}
