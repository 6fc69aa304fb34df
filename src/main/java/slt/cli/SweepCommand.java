package slt.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import slt.UserError;
import slt.sweep.ClusterScripts;
import slt.sweep.PointRun;
import slt.sweep.PointState;
import slt.sweep.Sweep;
import slt.sweep.SweepRunner;

/** {@code slt sweep run|status|emit|run-point}: grids of runs, locally or on a cluster. */
@Command(name = "sweep", mixinStandardHelpOptions = true,
        description = "Grids of runs from a sweep file (base + set + grid).",
        subcommands = {SweepCommand.Run.class, SweepCommand.Status.class, SweepCommand.Emit.class, SweepCommand.RunPoint.class})
final class SweepCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "name a sweep command: run, status, emit or run-point");
    }

    @Command(name = "run", mixinStandardHelpOptions = true,
            description = "Run every point (one per GPU at a time, or --parallel on CPU); done points are skipped, "
                    + "interrupted ones resumed. Ctrl-C stops cleanly.")
    static final class Run implements Callable<Integer> {
        @picocli.CommandLine.Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Parameters(paramLabel = "FILE", description = "sweep file, e.g. configs/sweeps/cpu-demo.yaml")
        Path file;

        @Option(names = "--gpus", split = ",", paramLabel = "ID", description = "GPUs to use, comma-separated (e.g. --gpus 0,1), one point per GPU at a time")
        List<String> gpus = new ArrayList<>();

        @Option(names = "--parallel", defaultValue = "1", description = "points at a time without --gpus (default: ${DEFAULT-VALUE})")
        int parallel;

        @Override
        public Integer call() throws Exception {
            if (parallel < 1) {
                throw new UserError("--parallel must be >= 1");
            }
            Sweep sweep = Sweep.load(file);
            PrintWriter out = spec.commandLine().getOut();
            out.println("sweep " + sweep.name() + ": " + sweep.points().size() + " points in " + sweep.dir()
                    + (gpus.isEmpty() ? ", " + parallel + " at a time on CPU" : ", one per GPU on " + gpus));
            SweepRunner runner = new SweepRunner(sweep, gpus, parallel, out);
            Signals.onStop(runner::requestStop);
            List<SweepRunner.Failure> failed = runner.run();
            if (failed.isEmpty()) {
                return 0;
            }
            if (failed.stream().allMatch(SweepRunner.Failure::userError)) { // the children refused bad input: so do we
                SweepRunner.Failure f = failed.get(0);
                throw new UserError("point " + f.index() + " (" + f.name() + ") failed: " + (f.errorLine() != null
                        ? f.errorLine() : "see " + f.log()) + (failed.size() > 1 ? " (and " + (failed.size() - 1)
                        + " more point(s), listed above)" : "") + "; fix it and run the sweep again (done points are skipped)");
            }
            spec.commandLine().getErr().println(failed.size() + " point(s) failed, not from a bad input (a crash or a bug): "
                    + "see the logs named above");
            return 1;
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true, description = "Every point, its state and its best loss so far.")
    static final class Status implements Callable<Integer> {
        @picocli.CommandLine.Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Parameters(paramLabel = "FILE", description = "sweep file, e.g. configs/sweeps/qk-scale.yaml")
        Path file;

        @Override
        public Integer call() {
            Sweep sweep = Sweep.load(file);
            PrintWriter out = spec.commandLine().getOut();
            List<PointState> states = new ArrayList<>();
            int width = 5;
            for (Sweep.Point p : sweep.points()) {
                states.add(PointState.of(sweep, p));
                width = Math.max(width, p.name().length());
            }
            out.printf("sweep %s (%s): %s%n", sweep.name(), sweep.dir(), PointState.counts(states));
            out.printf("%5s  %-" + width + "s  %-8s  %15s  %s%n", "index", "point", "state", "step", "best val_loss");
            for (PointState s : states) {
                out.printf("%5d  %-" + width + "s  %-8s  %15s  %s%n", s.point().index(), s.point().name(),
                        s.state().name().toLowerCase(), s.step() + "/" + s.totalSteps(),
                        s.bestValLoss().isPresent() ? String.format("%.4f", s.bestValLoss().getAsDouble()) : "-");
            }
            return 0;
        }
    }

    @Command(name = "emit", mixinStandardHelpOptions = true,
            description = "Write a Slurm array script or a Kubernetes indexed Job that runs the sweep's points on a cluster.")
    static final class Emit implements Callable<Integer> {
        @picocli.CommandLine.Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Parameters(paramLabel = "FILE", description = "sweep file, e.g. configs/sweeps/qk-scale.yaml")
        Path file;

        @picocli.CommandLine.ArgGroup(exclusive = true, multiplicity = "1")
        Kind kind;

        static final class Kind {
            @Option(names = "--slurm", description = "a Slurm array script (sbatch)")
            boolean slurm;

            @Option(names = "--k8s", description = "a Kubernetes indexed Job manifest (kubectl apply)")
            boolean k8s;
        }

        @Option(names = "--out", paramLabel = "FILE", description = "write here instead of printing")
        Path out;

        @Option(names = "--force", description = "with --out: replace an existing file")
        boolean force;

        @Option(names = "--workdir", defaultValue = ".", description = "Slurm: the repository directory on the cluster (default: this one)")
        Path workdir;

        @Option(names = "--partition", description = "Slurm partition")
        String partition;

        @Option(names = "--time", defaultValue = "48:00:00", description = "Slurm time limit per point (default: ${DEFAULT-VALUE})")
        String time;

        @Option(names = "--cpus", defaultValue = "8", description = "Slurm CPUs per point (default: ${DEFAULT-VALUE})")
        int cpus;

        @Option(names = "--image", defaultValue = "slt:cuda", description = "k8s: image built from docker/Dockerfile (default: ${DEFAULT-VALUE})")
        String image;

        @Option(names = "--parallelism", defaultValue = "8", description = "k8s: pods at a time (default: ${DEFAULT-VALUE})")
        int parallelism;

        @Option(names = "--checkpoints-claim", defaultValue = "slt-checkpoints", description = "k8s: PVC for run directories")
        String checkpointsClaim;

        @Option(names = "--data-claim", defaultValue = "slt-data", description = "k8s: PVC holding data/")
        String dataClaim;

        @Override
        public Integer call() throws Exception {
            Sweep sweep = Sweep.load(file);
            String text = kind.slurm ? ClusterScripts.slurm(sweep, workdir, partition, time, cpus)
                    : ClusterScripts.kubernetes(sweep, image, parallelism, checkpointsClaim, dataClaim);
            if (out == null) {
                spec.commandLine().getOut().print(text);
            } else {
                if (Files.isDirectory(out)) {
                    throw new UserError("--out " + out + " is a directory: name the file to write, e.g. " + out.resolve(
                            sweep.name() + (kind.slurm ? ".sbatch" : ".yaml")));
                }
                if (Files.exists(out) && !force) {
                    throw new UserError(out + " already exists (perhaps edited by hand): choose another --out, or pass "
                            + "--force to replace it");
                }
                slt.checkpoint.Checkpoints.replaceDurably(out, text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
                spec.commandLine().getOut().println("wrote " + out + " (" + sweep.points().size() + " points)");
            }
            return 0;
        }
    }

    @Command(name = "run-point", mixinStandardHelpOptions = true,
            description = "Train or resume one point in this process (what `sweep run`, Slurm tasks and k8s pods run).")
    static final class RunPoint implements Callable<Integer> {
        @picocli.CommandLine.Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Parameters(paramLabel = "FILE", description = "sweep file, e.g. configs/sweeps/qk-scale.yaml")
        Path file;

        @Option(names = "--index", required = true, description = "the point, 0-based (slt sweep status lists them)")
        int index;

        @Override
        public Integer call() throws Exception {
            Long parent = Long.getLong(SweepRunner.RUNNER_PID);
            if (parent != null && ProcessHandle.of(parent).map(h -> !h.isAlive()).orElse(true)) {
                spec.commandLine().getErr().println("the sweep runner (pid " + parent + ") that started this point is gone: "
                        + "not starting it (the next runner will)");
                return 0;
            }
            PointRun.run(Sweep.load(file), index, trainer -> {
                Signals.onStop(trainer::requestStop);
                slt.train.Faults.installFromSystemProperties(trainer); // only tests set slt.test.* properties
                Long runner = Long.getLong(SweepRunner.RUNNER_PID);
                if (runner != null) {
                    Signals.onProcessExit(runner, "the sweep runner (pid " + runner + ") is gone", trainer::requestStop);
                }
            });
            return 0;
        }
    }
}
