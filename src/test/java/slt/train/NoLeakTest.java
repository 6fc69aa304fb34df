package slt.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import slt.DeviceTraffic;
import slt.NativeCensus;
import slt.TestRuns;
import slt.checkpoint.HfExport;
import slt.checkpoint.Ticket;
import slt.config.ConfigLoader;

/**
 * A run frees everything it reads back to the host: what lives under the model's manager (native
 * arrays and child managers) is the same after the last step as after the second, through a
 * checkpoint every step, evaluations, a log line every step and exports. On a GPU, DJL leaves a
 * host copy and a manager behind for each read that does not go through {@link slt.model.Host};
 * Host takes the same route on the CPU, so a missing close shows here, and a read that bypasses
 * Host is caught by {@link DeviceTraffic}.
 */
class NoLeakTest {
    @TempDir
    Path tmp;

    @Test
    void nativeArraysAndManagersStayFlatOverARun() throws IOException {
        var config = TestRuns.tiny(tmp, "run.name=flat", "data.seq_len=16", "train.epochs=1", "train.steps_per_epoch=8",
                "train.batch_size=2", "train.micro_batch=1", "train.checkpoint_every=1", "train.eval_every=2",
                "train.eval_windows=2", "train.log_every=1", "train.grad_clip=1.0");
        try (Trainer t = Trainer.create(config, false); DeviceTraffic traffic = DeviceTraffic.count()) {
            NDManager manager = t.model().weights().get(0).weight().getArray().getManager();
            t.stopAfter(2);
            assertNull(t.run(), "stopped after step 2");
            export(t, "at2");
            NativeCensus afterSecond = NativeCensus.of(manager);
            t.stopAfter(-1);
            Map<String, Object> summary = t.run();
            assertEquals(8L, summary.get("steps"));
            export(t, "atEnd");
            NativeCensus afterLast = NativeCensus.of(manager);
            assertEquals(afterSecond, afterLast, "native arrays and child managers under the model's manager");
            assertEquals(List.of(), traffic.readsOutsideHost(), "every read of values goes through Host");
        }
    }

    private void export(Trainer t, String name) throws IOException {
        Ticket.of(t.model(), ConfigLoader.toYaml(ConfigLoader.load(null, List.of())), t.step(), Double.NaN)
                .write(tmp.resolve(name + ".ticket"));
        HfExport.write(t.model(), tmp.resolve(name + "-hf"));
    }
}
