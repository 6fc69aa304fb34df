package slt.sweep;

import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs a sweep's points as child processes ({@code slt sweep run-point FILE --index i}), at most
 * one per GPU at a time ({@code CUDA_VISIBLE_DEVICES} set per child), or {@code parallel} at a
 * time on CPU. Done points are skipped; partial ones resume; failed ones are retried. A stop
 * request (Ctrl-C, SIGTERM) is passed on to the running children, which finish their optimizer
 * step, checkpoint and exit; nothing new starts. Prints a status line whenever counts change.
 * Children run on this JVM's class path (or the system property {@code slt.classpath}).
 */
public final class SweepRunner {
    private final Sweep sweep;
    private final List<String> gpus;
    private final int slots;
    private final PrintWriter out;
    private volatile boolean stopping;
    private final Map<Integer, Running> running = new LinkedHashMap<>();

    private record Running(Process process, String gpu) {}

    /** {@code gpus} empty: CPU, {@code parallel} points at a time; else one point per listed GPU. */
    public SweepRunner(Sweep sweep, List<String> gpus, int parallel, PrintWriter out) {
        this.sweep = sweep;
        this.gpus = List.copyOf(gpus);
        this.slots = gpus.isEmpty() ? Math.max(1, parallel) : gpus.size();
        this.out = out;
    }

    /** Asks the sweep to stop: children checkpoint and exit, nothing new starts (safe from a signal handler). */
    public void requestStop() {
        stopping = true;
    }

    /** Runs until every point is done or failed, or a stop was requested. Returns the number of failed points. */
    public int run() throws IOException, InterruptedException {
        Files.createDirectories(PointState.logDir(sweep));
        Deque<Integer> queue = new ArrayDeque<>();
        for (Sweep.Point p : sweep.points()) {
            PointState.State state = PointState.of(sweep, p).state();
            if (state == PointState.State.STALE) {
                throw new slt.UserError("sweep " + sweep.name() + ": " + PointRun.staleMessage(p));
            }
            if (state != PointState.State.DONE) {
                queue.add(p.index());
            }
        }
        List<Integer> failedNow = new ArrayList<>();
        String last = "";
        boolean signalled = false;
        while (!queue.isEmpty() && !stopping || !running.isEmpty()) {
            while (!stopping && !queue.isEmpty() && running.size() < slots) {
                int i = queue.poll();
                running.put(i, launch(sweep.points().get(i), freeGpu()));
            }
            if (stopping && !signalled) {
                signalled = true;
                out.println("stopping: asking " + running.size() + " running point(s) to checkpoint and exit");
                out.flush();
                running.values().forEach(r -> r.process().destroy()); // SIGTERM
            }
            for (var it = running.entrySet().iterator(); it.hasNext(); ) {
                var e = it.next();
                Process proc = e.getValue().process();
                if (proc.waitFor(200, TimeUnit.MILLISECONDS)) {
                    it.remove();
                    Sweep.Point p = sweep.points().get(e.getKey());
                    if (proc.exitValue() != 0) {
                        failedNow.add(e.getKey());
                        Files.writeString(PointState.failedMarker(sweep, p), "exit code " + proc.exitValue()
                                + "; see " + logFile(p) + "\n");
                        out.println("point " + e.getKey() + " (" + p.name() + ") failed with exit code " + proc.exitValue()
                                + ": see " + logFile(p));
                    }
                }
            }
            String line = "[sweep " + sweep.name() + "] " + PointState.counts(states());
            if (!line.equals(last)) {
                out.println(line);
                out.flush();
                last = line;
            }
        }
        if (stopping) {
            out.println("stopped; run the same command again to continue (done points are skipped, the rest resume)");
        }
        out.flush();
        return failedNow.size();
    }

    /** Every point's state, with the running ones marked. */
    public List<PointState> states() {
        List<PointState> s = new ArrayList<>();
        for (Sweep.Point p : sweep.points()) {
            PointState ps = PointState.of(sweep, p);
            s.add(running.containsKey(p.index()) ? ps.with(PointState.State.RUNNING) : ps);
        }
        return s;
    }

    private String freeGpu() {
        if (gpus.isEmpty()) {
            return null;
        }
        for (String g : gpus) {
            if (running.values().stream().noneMatch(r -> g.equals(r.gpu()))) {
                return g;
            }
        }
        throw new IllegalStateException("no free GPU although a slot is free");
    }

    private Path logFile(Sweep.Point p) {
        return PointState.logDir(sweep).resolve(p.name() + ".log");
    }

    private Running launch(Sweep.Point p, String gpu) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.startsWith("-X") || arg.startsWith("-D")) { // heap size and properties, not debug agents
                cmd.add(arg);
            }
        }
        cmd.add("-Dslt.sweep.child=true");
        cmd.addAll(List.of("-cp", System.getProperty("slt.classpath", System.getProperty("java.class.path")), "slt.cli.Main",
                "sweep", "run-point", sweep.file().toString(), "--index", Integer.toString(p.index())));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile(p).toFile()));
        if (gpu != null) {
            pb.environment().put("CUDA_VISIBLE_DEVICES", gpu);
        }
        return new Running(pb.start(), gpu);
    }
}
