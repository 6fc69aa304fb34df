package slt.train;

import ai.djl.Device;
import ai.djl.engine.Engine;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import slt.UserError;
import slt.config.Config;

/**
 * Chooses where a run computes, sets libtorch's threads before the engine loads, and names the
 * memory allocator the process runs on.
 */
public final class Devices {

    private Devices() {}

    /**
     * Sets libtorch's intra-op threads ({@code threads} &gt; 0) and one inter-op thread; takes
     * effect only before the PyTorch engine is first used in this JVM.
     */
    public static void configureThreads(int threads) {
        if (threads > 0 && System.getProperty("ai.djl.pytorch.num_threads") == null) {
            System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(threads));
        }
        if (System.getProperty("ai.djl.pytorch.num_interop_threads") == null) {
            System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        }
    }

    /** The device for {@code run.device}: auto = first GPU if libtorch sees one, else CPU. */
    public static Device resolve(Config.Device wanted) {
        int gpus = Engine.getInstance().getGpuCount();
        return switch (wanted) {
            case CPU -> Device.cpu();
            case GPU -> {
                if (gpus == 0) {
                    throw new UserError("run.device is gpu but libtorch sees no GPU: use the cuda build (see README, "
                            + "'GPU'), check LD_LIBRARY_PATH holds libcudart, or set run.device=cpu");
                }
                yield Device.gpu(0);
            }
            case AUTO -> gpus > 0 ? Device.gpu(0) : Device.cpu();
        };
    }

    /**
     * The malloc this process uses: "jemalloc" when the {@code slt} launcher preloaded it, else
     * "glibc malloc" (read from /proc/self/maps; "unknown" where that cannot be read).
     */
    public static String allocator() {
        try {
            return allocatorIn(Files.readAllLines(Path.of("/proc/self/maps")));
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    /** The environment variable that lets libtorch run fp32 matmuls on a GPU's TF32 tensor cores. */
    public static final String TF32_ENV = "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE";

    /**
     * Whether this process asked libtorch for TF32 fp32 matmuls on the GPU ({@value #TF32_ENV}=1,
     * read by libtorch once at start; DJL has no switch for it). No effect on the CPU.
     */
    public static boolean tf32() {
        return tf32In(System.getenv(TF32_ENV));
    }

    /** {@link #tf32()} for a value of the variable (null when unset), as libtorch reads it. */
    static boolean tf32In(String value) {
        return value != null && java.util.Set.of("1", "on", "yes", "true", "y").contains(value.trim().toLowerCase(java.util.Locale.ROOT));
    }

    /** {@link #allocator()} for the lines of a /proc/PID/maps file. */
    static String allocatorIn(List<String> mapsLines) {
        for (String line : mapsLines) {
            if (line.contains("/libjemalloc.so")) {
                return "jemalloc";
            }
        }
        return "glibc malloc";
    }
}
