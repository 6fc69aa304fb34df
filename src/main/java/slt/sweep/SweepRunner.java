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
import slt.config.Config;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import slt.ProcessLock;
import slt.train.RunDirectory;

/**
 * Runs a sweep's points as child processes ({@code slt sweep run-point FILE --index i}), at most
 * one per GPU at a time ({@code CUDA_VISIBLE_DEVICES} set per child), or {@code parallel} at a
 * time on CPU. Done points are skipped; partial ones resume; failed ones are retried. A stop
 * request (Ctrl-C, SIGTERM) is passed on to the running children, which finish their optimizer
 * step, checkpoint and exit; nothing new starts. Prints a status line whenever counts change.
 * Children run on this JVM's class path (or the system property {@code slt.classpath}).
 *
 * <p>One runner per sweep directory at a time (an OS lock, {@code .sweep.lock}, naming its pid).
 * Children watch their runner and checkpoint and exit when it dies (even by SIGKILL); a point
 * whose run directory is still held by such a child is waited for, not started beside it.
 */
public final class SweepRunner {
    private final Sweep sweep;
    private final List<String> gpus;
    private final int slots;
    private final PrintWriter out;
    private volatile boolean stopping;
    private final Map<Integer, Running> running = new LinkedHashMap<>();

    /** System property a child gets: the pid of its runner, which it watches. */
    public static final String RUNNER_PID = "slt.sweep.runner";

    private record Running(Process process, String gpu, long logOffset) {}

    /** A point that failed: its exit code, and the child's own {@code error:} line for a user error (exit 2). */
    public record Failure(int index, String name, int exitCode, String errorLine, Path log) {
        /** Exit 2: the child refused a bad input and said why; anything else is a crash or a bug. */
        public boolean userError() {
            return exitCode == 2;
        }
    }

    /** The lock file that keeps a second runner out of a sweep's directory. */
    public static Path lockFile(Sweep sweep) {
        return sweep.dir().resolve(".sweep.lock");
    }

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

    /** Runs until every point is done or failed, or a stop was requested. Returns the points that failed. */
    public List<Failure> run() throws IOException, InterruptedException {
        Files.createDirectories(PointState.logDir(sweep));
        ProcessLock lock = null;
        try {
            lock = ProcessLock.tryTake(lockFile(sweep)).orElseThrow(() -> new slt.UserError("sweep " + sweep.name() + " ("
                    + sweep.dir() + ") is already being run by another slt process" + ProcessLock.holder(lockFile(sweep))
                    + ": wait for it to finish, or stop it first (Ctrl-C, or kill that pid; its points checkpoint and exit)"));
        } catch (IOException e) { // a file system without locks
            out.println("warning: cannot lock " + lockFile(sweep) + " (" + e.getMessage()
                    + "): nothing stops a second runner of this sweep");
        }
        try {
            return runLocked();
        } finally {
            if (lock != null) {
                lock.close();
            }
        }
    }

    private List<Failure> runLocked() throws IOException, InterruptedException {
        checkGpus();
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
        List<Failure> failedNow = new ArrayList<>();
        java.util.Set<Integer> waitedFor = new java.util.HashSet<>();
        String last = "";
        boolean signalled = false;
        while (!queue.isEmpty() && !stopping || !running.isEmpty()) {
            for (int n = queue.size(); n > 0 && !stopping && running.size() < slots; n--) {
                int i = queue.poll();
                Sweep.Point p = sweep.points().get(i);
                String devices = freeGpus(p.config().run().replicas());
                if (!gpus.isEmpty() && devices == null) { // not enough free GPUs for its replicas yet
                    queue.add(i);
                    continue;
                }
                if (RunDirectory.inUse(p.runDir())) { // e.g. the child of a runner that was killed, checkpointing
                    if (waitedFor.add(i)) {
                        out.println("point " + i + " (" + p.name() + ") is still held by another process"
                                + RunDirectory.holder(p.runDir()) + ": waiting for it to let go");
                        out.flush();
                    }
                    queue.add(i);
                    continue;
                }
                running.put(i, launch(p, devices));
            }
            if (running.isEmpty() && !queue.isEmpty() && !stopping) {
                Thread.sleep(500); // only held points are left
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
                    int code = proc.exitValue();
                    if (code != 0) {
                        String error = errorLine(logFile(p), e.getValue().logOffset());
                        failedNow.add(new Failure(e.getKey(), p.name(), code, error, logFile(p)));
                        Files.writeString(PointState.failedMarker(sweep, p), "exit code " + code
                                + (error != null ? ": " + error : "") + "; see " + logFile(p) + "\n");
                        out.println("point " + e.getKey() + " (" + p.name() + ") failed with exit code " + code
                                + (error != null ? ": " + error : "") + " (log: " + logFile(p) + ")");
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
        return failedNow;
    }

    /** The last line starting with "error: " that a child wrote to its log since {@code offset}, or null. */
    static String errorLine(Path log, long offset) {
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(log.toFile(), "r")) {
            long from = Math.max(offset, f.length() - 64 * 1024); // the end of this attempt's output
            byte[] tail = new byte[(int) (f.length() - from)];
            f.seek(from);
            f.readFully(tail);
            String found = null;
            for (String line : new String(tail, java.nio.charset.StandardCharsets.UTF_8).split("\n")) {
                if (line.startsWith("error: ")) {
                    found = line.substring("error: ".length()).strip();
                }
            }
            return found;
        } catch (IOException e) {
            return null;
        }
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

    /** {@code n} GPUs no running point uses, comma-separated (CUDA_VISIBLE_DEVICES), or null: not that many free (or CPU). */
    private String freeGpus(int n) {
        if (gpus.isEmpty()) {
            return null;
        }
        List<String> free = new ArrayList<>();
        for (String g : gpus) {
            if (running.values().stream().noneMatch(r -> List.of(r.gpu().split(",")).contains(g)) && free.size() < n) {
                free.add(g);
            }
        }
        return free.size() == n ? String.join(",", free) : null;
    }

    /**
     * With {@code --gpus}, every point must fit: its {@code run.replicas} GPUs among those listed,
     * and no {@code run.gpus} of its own (the runner assigns each point its GPUs, which the point
     * then sees as 0..replicas-1).
     */
    private void checkGpus() {
        if (gpus.isEmpty()) {
            return;
        }
        for (Sweep.Point p : sweep.points()) {
            Config.Run r = p.config().run();
            if (r.gpus() != null) {
                throw new slt.UserError("sweep " + sweep.name() + ", point " + p.name() + " sets run.gpus " + r.gpus()
                        + ", but with --gpus the runner gives each point its GPUs: remove run.gpus from the sweep");
            }
            if (r.replicas() > gpus.size()) {
                throw new slt.UserError("sweep " + sweep.name() + ", point " + p.name() + " needs " + r.replicas()
                        + " GPUs (run.replicas " + r.replicas() + ") but --gpus lists " + gpus.size() + " (" + String.join(",", gpus)
                        + "): list more GPUs or lower run.replicas");
            }
        }
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
        cmd.add("-D" + RUNNER_PID + "=" + ProcessHandle.current().pid()); // the child checkpoints and exits if we die
        cmd.addAll(List.of("-cp", System.getProperty("slt.classpath", System.getProperty("java.class.path")), "slt.cli.Main",
                "sweep", "run-point", sweep.file().toString(), "--index", Integer.toString(p.index())));
        long offset = Files.exists(logFile(p)) ? Files.size(logFile(p)) : 0;
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile(p).toFile()));
        if (gpu != null) {
            pb.environment().put("CUDA_VISIBLE_DEVICES", gpu);
        }
        return new Running(pb.start(), gpu, offset);
    }
}
