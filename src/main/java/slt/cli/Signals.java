package slt.cli;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import sun.misc.Signal;

/**
 * SIGTERM (what a cluster, {@code timeout} or Kubernetes sends before killing a job) and SIGINT
 * (Ctrl-C) ask a training run to finish its current optimizer step, save a checkpoint and exit 0.
 *
 * <p>SIGTERM may arrive more than once for one stop: {@code timeout} signals its child and then
 * the child's whole process group, Slurm signals every process of a step, and a sweep runner
 * forwards the signal its children got from the group already. So every SIGTERM means the same
 * graceful stop; to kill at once, use SIGKILL. A second Ctrl-C (SIGINT) exits at once (exit 130),
 * the usual terminal convention; checkpoints are written atomically, so even that loses nothing
 * already saved. A sweep's children ignore SIGINT (a terminal's Ctrl-C reaches the whole group;
 * their runner forwards one SIGTERM).
 */
final class Signals {
    private static final Logger LOG = LogManager.getLogger(Signals.class);

    private Signals() {}

    static void onStop(Runnable requestStop) {
        boolean[] stopping = {false};
        boolean child = Boolean.getBoolean("slt.sweep.child");
        if (child) {
            Signal.handle(new Signal("INT"), sun.misc.SignalHandler.SIG_IGN);
        }
        Signal.handle(new Signal("TERM"), sig -> {
            if (!stopping[0]) {
                stopping[0] = true;
                LOG.warn("SIGTERM: finishing this optimizer step, then saving a checkpoint (SIGKILL to exit at once)");
            }
            requestStop.run();
        });
        if (!child) {
            Signal.handle(new Signal("INT"), sig -> {
                if (stopping[0]) {
                    LOG.warn("second stop request (SIGINT): exiting now");
                    Runtime.getRuntime().halt(130);
                }
                stopping[0] = true;
                LOG.warn("SIGINT: finishing this optimizer step, then saving a checkpoint (Ctrl-C again to exit at once)");
                requestStop.run();
            });
        }
    }

    /**
     * Runs {@code requestStop} when process {@code pid} exits (or now, if it is gone already):
     * a sweep's child checkpoints and exits when its runner dies, even by SIGKILL.
     */
    static void onProcessExit(long pid, String why, Runnable requestStop) {
        Runnable stop = () -> {
            LOG.warn("{}: finishing this optimizer step, then saving a checkpoint and exiting", why);
            requestStop.run();
        };
        ProcessHandle.of(pid).filter(ProcessHandle::isAlive).ifPresentOrElse(h -> h.onExit().thenRun(stop), stop);
    }
}
