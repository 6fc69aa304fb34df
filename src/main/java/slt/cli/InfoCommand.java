package slt.cli;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import slt.UserError;
import slt.config.Config;
import slt.model.Host;
import slt.train.Devices;

/** {@code slt info}: what libtorch this process loaded and which devices it sees. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Show the engine, libtorch version, devices, threads, and a timed matmul on the chosen device.")
final class InfoCommand implements Callable<Integer> {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--device", defaultValue = "auto", description = "auto, cpu or gpu (default: ${DEFAULT-VALUE})")
    Config.Device device;

    @Option(names = "--size", defaultValue = "2048", description = "matmul size for the timing (default: ${DEFAULT-VALUE})")
    int size;

    @Override
    public Integer call() {
        if (size < 1 || size > 32768) {
            throw new UserError("--size " + size + " is not a matrix size: give 1 to 32768 (default 2048)");
        }
        PrintWriter out = spec.commandLine().getOut();
        Devices.configureThreads(0);
        Engine engine = Engine.getInstance();
        Devices.Libtorch lib = Devices.libtorch();
        Device d = Devices.resolve(device);
        out.println("engine:        " + engine.getEngineName() + " " + engine.getVersion());
        out.println("engine info:   " + engine.toString().replace('\n', ' '));
        out.println("libtorch:      " + lib.version() + " " + lib.flavour() + " (CUDA " + lib.cudaVersion() + ") at "
                + lib.path() + (System.getenv("PYTORCH_LIBRARY_PATH") != null ? " (PYTORCH_LIBRARY_PATH)" : " (from the jar)"));
        out.println("gpus:          " + lib.gpus() + " counted by DJL (through libcudart)");
        out.println("device:        " + d);
        out.println("allocator:     " + Devices.allocator());
        String tf32 = Devices.tf32Value();
        out.println("tf32 matmuls:  " + (Devices.tf32() ? "on" : "off") + " on a GPU, as libtorch reads " + Devices.TF32_ENV
                + (tf32 == null ? " (unset; =1 turns them on)" : "=" + tf32 + (Devices.tf32() ? ""
                        : " (libtorch accepts only 1; this value is ignored)")));
        out.println("precision:     train.precision auto = " + Devices.precision(Config.Precision.AUTO, d).name().toLowerCase()
                + " on " + d + " (fp32 | tf32 | bf16 | fp16 selectable; bf16/fp16: 16-bit products, fp32 scores and AdamW)");
        out.println("cpu threads:   " + System.getProperty("ai.djl.pytorch.num_threads", "libtorch default")
                + " intra-op, " + Runtime.getRuntime().availableProcessors() + " processors");
        try (NDManager m = NDManager.newBaseManager(d)) {
            NDArray a = m.randomNormal(new Shape(size, size));
            NDArray b = m.randomNormal(new Shape(size, size));
            Host.value(a.matMul(b).sum()); // warm-up
            int reps = d.isGpu() ? 20 : 3;
            long t0 = System.nanoTime();
            float acc = 0;
            for (int i = 0; i < reps; i++) {
                try (NDArray c = a.matMul(b)) {
                    acc += (float) Host.value(c.get("0,0")); // copies one value to the host: synchronises
                }
            }
            double s = (System.nanoTime() - t0) / 1e9;
            out.printf("fp32 matmul:   %dx%d, %.1f GFLOP/s (%.1f ms each)%s%n", size, size,
                    2.0 * size * size * size * reps / s / 1e9, s / reps * 1e3, Float.isFinite(acc) ? "" : " (non-finite!)");
        }
        return 0;
    }
}
