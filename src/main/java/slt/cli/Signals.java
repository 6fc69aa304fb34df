package slt.cli;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import sun.misc.Signal;

/**
 * SIGTERM (what a cluster sends before killing a job) and SIGINT (Ctrl-C) ask a training run to
 * finish its current optimizer step, save a checkpoint and exit 0. A second signal exits at once
 * (exit 130); checkpoints are written atomically, so even that loses nothing already saved.
 */
final class Signals {
    private static final Logger LOG = LogManager.getLogger(Signals.class);

    private Signals() {}

    static void onStop(Runnable requestStop) {
        boolean[] seen = {false};
        boolean child = Boolean.getBoolean("slt.sweep.child");
        if (child) { // a sweep's child: Ctrl-C reaches the whole process group; the runner forwards one SIGTERM
            Signal.handle(new Signal("INT"), sun.misc.SignalHandler.SIG_IGN);
        }
        for (String name : child ? new String[] {"TERM"} : new String[] {"TERM", "INT"}) {
            Signal.handle(new Signal(name), sig -> {
                if (seen[0]) {
                    LOG.warn("second SIG{}: exiting now", sig.getName());
                    Runtime.getRuntime().halt(130);
                }
                seen[0] = true;
                LOG.warn("SIG{}: finishing this optimizer step, then saving a checkpoint (signal again to exit at once)",
                        sig.getName());
                requestStop.run();
            });
        }
    }
}
