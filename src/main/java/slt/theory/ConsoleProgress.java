package slt.theory;

import java.io.PrintWriter;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Progress of a theory run: a bar on stderr when a terminal is attached (or SLT_PROGRESS=1), silent
 * otherwise (logs stay readable); log lines go to the command's output.
 */
public final class ConsoleProgress implements Experiments.Progress, AutoCloseable {
    private final PrintWriter out;
    private ProgressBar bar;

    public ConsoleProgress(PrintWriter out) {
        this.out = out;
    }

    @Override
    public synchronized void start(String task, long total) {
        close();
        ProgressBarBuilder b = new ProgressBarBuilder().setTaskName(task).setInitialMax(total)
                .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(500);
        if (System.console() != null || "1".equals(System.getenv("SLT_PROGRESS"))) {
            b.setConsumer(new ConsoleProgressBarConsumer(System.err));
        } else {
            b.setConsumer(new DelegatingProgressBarConsumer(line -> { }));
        }
        bar = b.build();
    }

    @Override
    public void step(long units) {
        ProgressBar b = bar;
        if (b != null) {
            b.stepBy(units);
        }
    }

    @Override
    public synchronized void log(String line) {
        out.println(line);
        out.flush();
    }

    @Override
    public synchronized void close() {
        if (bar != null) {
            bar.close();
            bar = null;
        }
    }
}
