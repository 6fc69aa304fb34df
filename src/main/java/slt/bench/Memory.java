package slt.bench;

import ai.djl.Device;
import ai.djl.util.cuda.CudaUtils;
import java.io.IOException;
import java.lang.management.MemoryUsage;
import java.nio.file.Files;
import java.nio.file.Path;

/** Memory of this process: resident set (now and peak, from /proc) and the GPU's used memory. */
final class Memory {
    private Memory() {}

    /** Current resident set size in bytes (VmRSS), or -1 where /proc is not available. */
    static long rssBytes() {
        return procStatus("VmRSS:");
    }

    /** Peak resident set size in bytes since the process started (VmHWM), or -1. */
    static long peakRssBytes() {
        return procStatus("VmHWM:");
    }

    /** Bytes in use on {@code device} (the whole GPU, as cudaMemGetInfo reports), or -1 on CPU. */
    static long deviceUsedBytes(Device device) {
        if (!device.isGpu()) {
            return -1;
        }
        try {
            MemoryUsage m = CudaUtils.getGpuMemory(device);
            return m.getUsed();
        } catch (RuntimeException | UnsatisfiedLinkError e) {
            return -1;
        }
    }

    private static long procStatus(String key) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(key)) {
                    return Long.parseLong(line.substring(key.length()).trim().split("\\s+")[0]) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // not Linux
        }
        return -1;
    }
}
