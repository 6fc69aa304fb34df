package slt.train;

/**
 * Fault injection for tests, off unless a system property is set (a real process under test gets
 * them with -D). Nothing else reads these properties.
 *
 * <ul>
 *   <li>{@code slt.test.nan_at_step=N}: the training loss of optimizer step N becomes NaN.
 *   <li>{@code slt.test.pause_in_checkpoint_write_ms=MS}: checkpoint saves pause MS ms after
 *       writing their files and before their manifest and rename, after creating {@code <tmp>/PAUSED};
 *       with {@code slt.test.pause_from_step=N}, only saves of step N and later.
 *   <li>{@code slt.test.fail_checkpoint_write=MESSAGE}: every checkpoint save fails mid-write with
 *       an IOException carrying MESSAGE (e.g. "No space left on device").
 * </ul>
 */
final class TestHooks {
    private TestHooks() {}

    static long nanAtStep() {
        return Long.getLong("slt.test.nan_at_step", -1);
    }

    static long pauseInCheckpointWriteMs() {
        return Long.getLong("slt.test.pause_in_checkpoint_write_ms", 0);
    }

    static long pauseFromStep() {
        return Long.getLong("slt.test.pause_from_step", 0);
    }

    static String failCheckpointWrite() {
        return System.getProperty("slt.test.fail_checkpoint_write");
    }
}
