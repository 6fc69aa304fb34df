package slt.train;

import ai.djl.ndarray.NDArray;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import slt.model.MaskedBlock;

/**
 * Fault injection for tests, as a listener that only tests (and processes started by tests, via
 * {@link #fromSystemProperties()}) install; nothing in the training step knows about it.
 *
 * <ul>
 *   <li>{@code slt.test.nan_at_step=N}: optimizer step N computes a NaN loss (the first weight
 *       matrix is poisoned with NaN just before it; the run stops, so the poison never persists).
 *   <li>{@code slt.test.pause_in_checkpoint_write_ms=MS}: checkpoint saves pause MS ms after
 *       writing their files and before their manifest and rename, after creating {@code <tmp>/PAUSED};
 *       with {@code slt.test.pause_from_step=N}, only saves of step N and later.
 *   <li>{@code slt.test.fail_checkpoint_write=MESSAGE}: every checkpoint save fails mid-write with
 *       an IOException carrying MESSAGE (e.g. "No space left on device").
 * </ul>
 */
public final class Faults implements TrainingListener {
    private final long nanAtStep;
    private final long pauseMs;
    private final long pauseFromStep;
    private final String failWrite;

    public Faults(long nanAtStep, long pauseMs, long pauseFromStep, String failWrite) {
        this.nanAtStep = nanAtStep;
        this.pauseMs = pauseMs;
        this.pauseFromStep = pauseFromStep;
        this.failWrite = failWrite;
    }

    /** The faults the {@code slt.test.*} system properties ask for, or null when none is set. */
    public static Faults fromSystemProperties() {
        Faults f = new Faults(Long.getLong("slt.test.nan_at_step", -1), Long.getLong("slt.test.pause_in_checkpoint_write_ms", 0),
                Long.getLong("slt.test.pause_from_step", 0), System.getProperty("slt.test.fail_checkpoint_write"));
        return f.nanAtStep < 0 && f.pauseMs <= 0 && f.failWrite == null ? null : f;
    }

    /** Installs the faults the system properties ask for on {@code trainer} (none: nothing changes). */
    public static void installFromSystemProperties(Trainer trainer) {
        Faults f = fromSystemProperties();
        if (f != null) {
            trainer.addListener(f);
        }
    }

    @Override
    public void onRunStart(Trainer trainer) {
        if (pauseMs > 0 || failWrite != null) {
            trainer.checkpoints().withWriteHook(this::midWrite);
        }
    }

    @Override
    public void onStepStart(Trainer trainer, long step) {
        if (step + 1 == nanAtStep) {
            MaskedBlock first = trainer.model().weights().get(0);
            NDArray w = first.weight().getArray();
            w.muli(Float.NaN); // every entry NaN: the loss of this step is NaN whatever the mask keeps
        }
    }

    private void midWrite(Path tmp, long savingStep) throws IOException {
        if (failWrite != null) {
            throw new IOException(failWrite);
        }
        if (pauseMs > 0 && savingStep >= pauseFromStep) {
            Files.writeString(tmp.resolve("PAUSED"), "paused mid-write");
            try {
                Thread.sleep(pauseMs);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            Files.deleteIfExists(tmp.resolve("PAUSED"));
        }
    }
}
