package slt.bench;

import ai.djl.Device;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.util.cuda.CudaUtils;
import com.sun.jna.NativeLibrary;
import java.io.IOException;
import java.lang.management.MemoryUsage;
import java.nio.file.Files;
import java.nio.file.Path;
import slt.train.Devices;

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

    /**
     * Starts a new peak: sets VmHWM to the current RSS (Linux's /proc/self/clear_refs "5").
     * Memory the allocator kept from earlier work still counts. Does nothing where unsupported.
     */
    static void resetPeakRss() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
        } catch (IOException | RuntimeException e) {
            // not Linux, or not allowed: the peak then covers the whole process
        }
    }

    /**
     * Hands memory that was freed but kept by the C allocator back to the OS, so that the RSS a
     * later measurement sees is its own: jemalloc purges all arenas ({@code mallctl
     * "arena.4096.purge"}), glibc trims its heaps ({@code malloc_trim(0)}). Best effort.
     */
    static void releaseFreedNative() {
        try {
            NativeLibrary process = NativeLibrary.getProcess();
            if (Devices.allocator().equals("jemalloc")) {
                process.getFunction("mallctl").invokeInt(new Object[] {"arena.4096.purge", null, null, null, 0L});
            } else {
                process.getFunction("malloc_trim").invokeInt(new Object[] {0L});
            }
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            // another libc or allocator: peaks then include what earlier work left behind
        }
    }

    /** Gives libtorch's cached, unused GPU blocks back to the driver (nothing on CPU). */
    static void emptyDeviceCache(Device device) {
        if (device.isGpu()) {
            JniUtils.emptyCudaCache();
        }
    }

    /** Physical memory in bytes (MemTotal of /proc/meminfo), or -1. */
    static long physicalBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    return Long.parseLong(line.substring("MemTotal:".length()).trim().split("\\s+")[0]) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // not Linux
        }
        return -1;
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
