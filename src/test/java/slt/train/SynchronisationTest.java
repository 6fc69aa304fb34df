package slt.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import slt.DeviceTraffic;
import slt.config.Config;
import slt.config.ConfigLoader;

/**
 * Host-device synchronisations per optimizer step, counted at DJL's JNI boundary
 * ({@link DeviceTraffic}): a small constant per micro-batch plus a small constant per step,
 * whatever the number of layers, and every read of values through {@link slt.model.Host}.
 */
class SynchronisationTest {
    @TempDir
    Path tmp;

    /** Synchronisations of one optimizer step (after a warm-up step), and the count itself. */
    static DeviceTraffic perStep(Config config, Path scratch, int steps) {
        try (Trainer t = Trainer.forBenchmark(config, scratch)) {
            Config.Train tr = config.train();
            t.trainStep(tr.lr(), null);
            DeviceTraffic traffic = DeviceTraffic.count();
            try {
                for (int i = 0; i < steps; i++) {
                    t.trainStep(tr.lr(), null);
                }
            } finally {
                traffic.close();
            }
            return traffic;
        }
    }

    private Config tiny(String... extra) {
        List<String> o = new java.util.ArrayList<>(List.of("run.device=cpu", "model.preset=tiny", "data.seq_len=16",
                "model.context=16", "train.batch_size=4", "train.micro_batch=1", "train.grad_clip=1.0",
                "train.weight_decay=0.01"));
        o.addAll(List.of(extra));
        return ConfigLoader.load(null, o);
    }

    @Test
    void aStepWaitsForTheDeviceAConstantNumberOfTimes() throws IOException {
        DeviceTraffic four = perStep(tiny(), tmp, 2);
        DeviceTraffic two = perStep(tiny("train.batch_size=2"), tmp, 2);
        DeviceTraffic deep = perStep(tiny("train.batch_size=2", "model.preset=mini", "model.width=0.25"), tmp, 2);
        System.out.println("syncs per 2 steps: tiny 4 micro-batches " + four + "; tiny 2 micro-batches " + two
                + "; 4-layer model, 2 micro-batches " + deep);
        long perMicro = (four.synchronisations() - two.synchronisations()) / 4;
        long perStep = two.synchronisations() / 2 - 2 * perMicro;
        assertTrue(perMicro <= 1, "per micro-batch: the batch's one upload only, was " + perMicro);
        // the masks' counts at their thresholds (one read for all tensors), the loss, the gradient norm
        assertTrue(perStep <= 3, "per step: masks, loss, gradient norm; was " + perStep);
        assertEquals(two.synchronisations(), deep.synchronisations(), "independent of the number of layers");
        assertEquals(List.of(), four.readsOutsideHost(), "every read goes through Host");
    }

    /** Prints the counts at the bench shapes: -Dslt.syncs.shapes=tiny:16:16:128,mini:2:2:512,small:4:4:128 */
    @Test
    void benchShapes() throws IOException {
        String shapes = System.getProperty("slt.syncs.shapes");
        org.junit.jupiter.api.Assumptions.assumeTrue(shapes != null, "measurement only: -Dslt.syncs.shapes=...");
        for (String s : shapes.split(",")) {
            String[] p = s.split(":");
            Config c = ConfigLoader.load(null, List.of("run.device=cpu", "model.preset=" + p[0], "train.batch_size=" + p[1],
                    "train.micro_batch=" + p[2], "data.seq_len=" + p[3]));
            System.out.println("SYNCS " + s + " per step: " + perStep(c, tmp, 1));
        }
    }
}
