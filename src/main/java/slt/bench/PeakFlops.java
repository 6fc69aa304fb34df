package slt.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import slt.model.Host;

/**
 * The peak MFU is measured against: fp32 FLOP/s of a large square matrix multiply through DJL on
 * the same device, timed after a warm-up (n = 2048 on CPU, 8192 on GPU; 2 n^3 FLOPs each).
 */
final class PeakFlops {
    private PeakFlops() {}

    /** Measured fp32 matmul FLOP/s, and the size used. */
    record Peak(double flopsPerSecond, int n) {}

    static Peak measure(Device device) {
        int n = device.isGpu() ? 8192 : 2048;
        int reps = device.isGpu() ? 20 : 6;
        try (NDManager m = NDManager.newBaseManager(device)) {
            NDArray a = m.randomNormal(new Shape(n, n));
            NDArray b = m.randomNormal(new Shape(n, n));
            for (int i = 0; i < 2; i++) { // warm-up: allocator, BLAS handles, clocks
                try (NDArray c = a.matMul(b); NDArray v = c.get("0,0")) {
                    Host.value(v);
                }
            }
            double best = Double.MAX_VALUE;
            for (int round = 0; round < 3; round++) { // best of three rounds: the peak, not the noise
                long t0 = System.nanoTime();
                for (int i = 0; i < reps; i++) {
                    try (NDArray c = a.matMul(b); NDArray v = c.get("0,0")) {
                        Host.value(v); // waits for the product
                    }
                }
                best = Math.min(best, (System.nanoTime() - t0) / 1e9 / reps);
            }
            return new Peak(2.0 * n * n * n / best, n);
        }
    }
}
