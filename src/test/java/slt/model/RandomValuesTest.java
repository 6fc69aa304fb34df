package slt.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.Test;

class RandomValuesTest {

    @Test
    void sameSeedGivesBitIdenticalValuesWhateverTheThreadCount() throws Exception {
        int n = 300_001; // several chunks and an odd tail
        float[] a = RandomValues.gaussian(9, n, 0.02);
        float[] b = new ForkJoinPool(1).submit(() -> RandomValues.gaussian(9, n, 0.02)).get();
        float[] c = new ForkJoinPool(7).submit(() -> RandomValues.gaussian(9, n, 0.02)).get();
        assertArrayEquals(a, b);
        assertArrayEquals(a, c);
        assertFalse(Arrays.equals(a, RandomValues.gaussian(10, n, 0.02)));
        assertArrayEquals(RandomValues.uniform(4, n, 0.1), new ForkJoinPool(3).submit(() -> RandomValues.uniform(4, n, 0.1)).get());
    }

    @Test
    void gaussianAndUniformHaveTheirMoments() {
        int n = 1 << 20;
        float[] g = RandomValues.gaussian(1, n, 2.0);
        double mean = 0;
        double sq = 0;
        double fourth = 0;
        for (float x : g) {
            mean += x;
        }
        mean /= n;
        for (float x : g) {
            sq += (x - mean) * (x - mean);
            fourth += Math.pow(x - mean, 4);
        }
        double var = sq / n;
        assertEquals(0, mean, 4 * 2.0 / Math.sqrt(n));
        assertEquals(4.0, var, 0.02 * 4.0);
        assertEquals(3.0, fourth / n / (var * var), 0.05, "normal kurtosis");
        long within1 = 0;
        for (float x : g) {
            if (Math.abs(x) < 2.0) {
                within1++;
            }
        }
        assertEquals(0.6827, within1 / (double) n, 0.003, "68% within one std");

        float[] u = RandomValues.uniform(2, n, 0.5);
        double um = 0;
        double uv = 0;
        for (float x : u) {
            assertTrue(x >= -0.5 && x < 0.5);
            um += x;
        }
        um /= n;
        for (float x : u) {
            uv += (x - um) * (x - um);
        }
        assertEquals(0, um, 0.002);
        assertEquals(0.25 / 3, uv / n, 0.01 * 0.25 / 3);
    }
}
