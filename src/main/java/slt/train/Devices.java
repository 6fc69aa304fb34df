package slt.train;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.engine.StandardCapabilities;
import ai.djl.pytorch.jni.LibUtils;
import com.sun.jna.NativeLibrary;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import slt.UserError;
import slt.config.Config;

/**
 * Chooses where a run computes, sets libtorch's threads before the engine loads, and names the
 * memory allocator the process runs on.
 */
public final class Devices {
    private static final Logger LOG = LogManager.getLogger(Devices.class);

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

    /** The device for {@code run.device}: auto = the first GPU DJL counts, else the CPU (loudly, on a CUDA libtorch). */
    public static Device resolve(Config.Device wanted) {
        Engine engine = Engine.getInstance();
        boolean cudaBuild = engine.hasCapability(StandardCapabilities.CUDA);
        int gpus = engine.getGpuCount();
        Choice c = choose(wanted, cudaBuild, gpus, () -> noGpuOnCudaBuild(flavour(cudaBuild)));
        if (c.warning() != null) {
            LOG.warn(c.warning());
        }
        return c.device();
    }

    /**
     * The devices of the run's {@code run.replicas} model replicas: the CPU once per replica, or
     * the GPUs {@code run.gpus} names (default: the first ones); too few GPUs is one line.
     */
    public static List<Device> resolve(Config.Run run) {
        Device first = resolve(run.device());
        return replicaDevices(first.isGpu(), run.replicas(), run.gpus(), first.isGpu() ? Engine.getInstance().getGpuCount() : 0);
    }

    /** The rule behind {@link #resolve(Config.Run)}. */
    static List<Device> replicaDevices(boolean gpu, int replicas, List<Integer> gpus, int available) {
        if (!gpu) {
            return java.util.Collections.nCopies(replicas, Device.cpu());
        }
        List<Integer> ids = gpus != null ? gpus : java.util.stream.IntStream.range(0, replicas).boxed().toList();
        for (int id : ids) {
            if (id >= available) {
                throw new UserError("run " + (gpus != null ? "names GPU " + id + " in run.gpus" : "needs " + replicas
                        + " GPUs for run.replicas " + replicas) + " but libtorch sees " + available + " GPU(s): "
                        + (gpus != null ? "name GPUs 0.." + (available - 1) + " in run.gpus" : "set run.replicas to at most "
                        + available) + " (or run.device=cpu)");
            }
        }
        return ids.stream().map(Device::gpu).toList();
    }

    /** A device, and the warning that choosing it deserves (null: none). */
    record Choice(Device device, String warning) {}

    /**
     * The rule behind {@link #resolve}: {@code run.device: auto} with a CUDA libtorch but no GPU
     * counted trains on the CPU with {@code noGpuLine}'s warning (a GPU node whose libcudart was not
     * found would otherwise silently run a GPU job on its CPU); {@code gpu} refuses with the same line.
     */
    static Choice choose(Config.Device wanted, boolean cudaBuild, int gpus, Supplier<String> noGpuLine) {
        return switch (wanted) {
            case CPU -> new Choice(Device.cpu(), null);
            case GPU -> {
                if (gpus > 0) {
                    yield new Choice(Device.gpu(0), null);
                }
                throw new UserError(cudaBuild ? noGpuLine.get()
                        : "run.device is gpu but the loaded libtorch is its CPU build, which sees no GPU: build with ./mvnw -Pcuda package "
                                + "(or point PYTORCH_LIBRARY_PATH and PYTORCH_FLAVOR at a CUDA libtorch 2.5.1; README, 'GPU'), "
                                + "or set run.device=cpu");
            }
            case AUTO -> gpus > 0 ? new Choice(Device.gpu(0), null)
                    : new Choice(Device.cpu(), cudaBuild ? noGpuLine.get() + " (training on the CPU now)" : null);
        };
    }

    /** The one line for a CUDA libtorch that DJL counts no GPU for: cause and fix. */
    static String noGpuOnCudaBuild(String flavour) {
        String cudart;
        try {
            cudart = "it loaded " + NativeLibrary.getInstance("cudart").getFile() + ", which reports no device "
                    + "(check nvidia-smi and CUDA_VISIBLE_DEVICES)";
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            cudart = "no libcudart.so was found on the library path";
        }
        return "libtorch is the CUDA build (" + flavour + ") but DJL counts no GPU: DJL counts GPUs by loading "
                + "libcudart.so through JNA, and " + cudart + "; put the directory holding libcudart.so.12 first on "
                + "LD_LIBRARY_PATH (the GPU kit's <kit>/cudart: source .gpu/ctl/env.sh; a CUDA install's "
                + "/usr/local/cuda/lib64), or set run.device=cpu to train on the CPU on purpose";
    }

    /** What this process runs on, for {@code slt info} and the run log. */
    public record Libtorch(String version, String flavour, String cudaVersion, int gpus, String path) {}

    /** The libtorch this process loaded: version, flavour (cpu, cu124), its CUDA version, the GPUs DJL counts. */
    public static Libtorch libtorch() {
        Engine engine = Engine.getInstance();
        boolean cudaBuild = engine.hasCapability(StandardCapabilities.CUDA);
        String flavour = flavour(cudaBuild);
        return new Libtorch(engine.getVersion(), flavour, cudaVersionOf(flavour), engine.getGpuCount(),
                LibUtils.getLibtorchPath());
    }

    /** The flavour DJL loaded: PYTORCH_FLAVOR when set, else read from the library's directory name. */
    static String flavour(boolean cudaBuild) {
        String env = System.getenv("PYTORCH_FLAVOR");
        if (env != null && !env.isBlank()) {
            return env.trim();
        }
        String fromPath = flavourIn(LibUtils.getLibtorchPath());
        return fromPath != null ? fromPath : cudaBuild ? "cuda" : "cpu";
    }

    /** The flavour in a DJL cache directory name such as {@code 2.5.1-20241113-cu124-linux-x86_64}, or null. */
    static String flavourIn(String path) {
        Matcher m = Pattern.compile("-(cpu|cu\\d{3})(?:-precxx11)?-linux").matcher(path == null ? "" : path);
        return m.find() ? m.group(1) : null;
    }

    /** "12.4" for cu124; "none" for the CPU build; "unknown" otherwise. */
    static String cudaVersionOf(String flavour) {
        Matcher m = Pattern.compile("cu(\\d{2})(\\d)(?:-.*)?").matcher(flavour);
        if (m.matches()) {
            return Integer.parseInt(m.group(1)) + "." + m.group(2);
        }
        return flavour.startsWith("cpu") ? "none" : "unknown";
    }

    /**
     * The malloc this process uses: "jemalloc" when the {@code slt} launcher preloaded it, else
     * "glibc malloc", with " (huge pages)" when GLIBC_TUNABLES asks for transparent huge pages
     * (as the launcher does); read from /proc/self/maps, "unknown" where that cannot be read.
     */
    public static String allocator() {
        try {
            return allocatorIn(Files.readAllLines(Path.of("/proc/self/maps")), System.getenv("GLIBC_TUNABLES"));
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    /** The environment variable that lets libtorch run fp32 matmuls on a GPU's TF32 tensor cores. */
    public static final String TF32_ENV = "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE";

    /**
     * Whether libtorch runs this process's fp32 GPU matmuls on TF32 tensor cores: it reads
     * {@value #TF32_ENV} once, and only the exact value {@code 1} turns them on (c10::utils::check_env
     * ignores, with a warning, anything but 0 and 1). DJL has no switch for it. No effect on the CPU.
     */
    public static boolean tf32() {
        return tf32In(tf32Value());
    }

    /**
     * The value of {@value #TF32_ENV} in this process's C environment, where libtorch reads it
     * (null when unset); Java's {@link System#getenv} would miss a value set by {@link #switchTf32}.
     */
    public static String tf32Value() {
        try {
            return NativeLibrary.getInstance("c").getFunction("getenv").invokeString(new Object[] {TF32_ENV}, false);
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            return System.getenv(TF32_ENV);
        }
    }

    /** The value of {@value #TF32_ENV} that the first {@link #switchTf32} of this process set (null: none yet). */
    private static String tf32Set;

    /**
     * Sets {@value #TF32_ENV} in this process's C environment to {@code 1} or {@code 0}, where
     * libtorch reads it (once, at its first cuBLAS matmul): so must be called before any GPU matrix
     * product. A later call asking for the other value cannot change what libtorch already read:
     * on a GPU it says so.
     */
    public static synchronized void switchTf32(boolean on, Device device) {
        String value = on ? "1" : "0";
        if (tf32Set != null && !tf32Set.equals(value) && device.isGpu()) {
            LOG.warn("{}={} was already set in this process and libtorch reads it once: TF32 stays {} for this run",
                    TF32_ENV, tf32Set, tf32Set.equals("1") ? "on" : "off");
            return;
        }
        String before = tf32Value();
        if (before != null && !before.equals(value) && tf32Set == null) {
            LOG.info("train.precision overrides {}={} from the environment with {}", TF32_ENV, before, value);
        }
        int rc = NativeLibrary.getInstance("c").getFunction("setenv").invokeInt(new Object[] {TF32_ENV, value, 1});
        if (rc != 0 || !value.equals(tf32Value())) {
            throw new IllegalStateException("setenv(" + TF32_ENV + ", " + value + ") failed (rc " + rc + ")");
        }
        tf32Set = tf32Set == null ? value : tf32Set;
    }

    /**
     * The precision a run computes in on {@code device}: {@code auto} is TF32 on a GPU and FP32 on
     * the CPU; the others as given (TF32 computes in fp32 on the CPU, which has no TF32).
     */
    public static Config.Precision precision(Config.Precision configured, Device device) {
        return configured == Config.Precision.AUTO ? device.isGpu() ? Config.Precision.TF32 : Config.Precision.FP32
                : configured;
    }

    /**
     * Makes {@code device} compute matrix products as {@code configured} asks, before any of them
     * runs: TF32 on for TF32, BF16 and FP16 (what fp32 products remain use the tensor cores, as a
     * PyTorch script with autocast and allow_tf32 does), off for FP32. Returns the precision.
     */
    public static Config.Precision applyPrecision(Config.Precision configured, Device device) {
        Config.Precision p = precision(configured, device);
        switchTf32(p != Config.Precision.FP32, device);
        return p;
    }

    /** {@link #tf32()} for a value of the variable (null when unset), exactly as libtorch reads it. */
    static boolean tf32In(String value) {
        return "1".equals(value);
    }

    /** {@link #allocator()} for the lines of a /proc/PID/maps file and a GLIBC_TUNABLES value (null: unset). */
    static String allocatorIn(List<String> mapsLines, String glibcTunables) {
        for (String line : mapsLines) {
            if (line.contains("/libjemalloc.so")) {
                return "jemalloc";
            }
        }
        boolean hugePages = glibcTunables != null
                && Pattern.compile("(^|:)glibc\\.malloc\\.hugetlb=[12](:|$)").matcher(glibcTunables).find();
        return hugePages ? "glibc malloc (huge pages)" : "glibc malloc";
    }
}
