package slt.train;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Progress bars on stderr when a person watches a terminal; when output goes to a file or a
 * pipe (cluster logs, CI) the bar is silent and the log lines alone report progress.
 */
public final class Progress {
    private Progress() {}

    public static ProgressBar bar(String task, long max) {
        ProgressBarBuilder b = new ProgressBarBuilder().setTaskName(task).setInitialMax(max)
                .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(500);
        if (System.console() != null || "1".equals(System.getenv("SLT_PROGRESS"))) {
            b.setConsumer(new ConsoleProgressBarConsumer(System.err));
        } else {
            b.setConsumer(new DelegatingProgressBarConsumer(line -> { }));
        }
        return b.build();
    }
}
