package slt.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import slt.UserError;
import slt.theory.ConsoleProgress;
import slt.theory.Experiments;
import slt.theory.Outputs;
import slt.theory.Ranges;
import slt.theory.Sources;
import slt.theory.SubsetSum;
import slt.theory.TargetTrainer;

/**
 * {@code slt theory}: the paper's synthetic check of its theorems (section 4, Figs. 4-6): random
 * source attention layers and transformers pruned by the subset-sum construction of Lemma 7, and
 * their output error against a target. See docs/THEORY.md.
 */
@Command(name = "theory", mixinStandardHelpOptions = true,
        description = {"The theorem, checked: subset-sum strong lottery tickets inside attention (the paper's Figs. 4-6).",
            "See docs/THEORY.md for the construction and the choices made."},
        subcommands = {TheoryCommand.Mha.class, TheoryCommand.Length.class, TheoryCommand.TransformerCmd.class})
final class TheoryCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "name a theory experiment: mha, length or transformer");
    }

    /** Options every theory experiment has. */
    static final class Common {
        @Option(names = "--seed", defaultValue = "1", description = "seed of data, target and sources (default: ${DEFAULT-VALUE})")
        long seed;

        @Option(names = "--sources", paramLabel = "N", description = "random source networks per setting (default: mha 100, length 20, transformer 20)")
        Integer sources;

        @Option(names = "--solver", defaultValue = "auto", paramLabel = "NAME",
                description = "subset-sum solver: auto (exact up to --exact-max values per entry, near-exact above), exact, near-exact "
                        + "(default: ${DEFAULT-VALUE})")
        String solver;

        @Option(names = "--exact-max", defaultValue = "40", paramLabel = "M",
                description = "auto: largest subset-sum instance solved exactly (at most " + SubsetSum.EXACT_LIMIT + "; default: ${DEFAULT-VALUE})")
        int exactMax;

        @Option(names = "--core", defaultValue = "36", paramLabel = "K",
                description = "near-exact: values solved exactly by meet-in-the-middle, the largest in magnitude (default: ${DEFAULT-VALUE})")
        int core;

        @Option(names = "--rounds", defaultValue = "1", paramLabel = "R",
                description = "near-exact: rounds of single-flip local search over the other values (default: ${DEFAULT-VALUE})")
        int rounds;

        @Option(names = "--init", defaultValue = "theory", paramLabel = "NAME",
                description = "source initialisation: theory (Q/K ~ U[-n^(1/4), n^(1/4)], V/O/FC ~ U[-1, 1]) or xavier (default: ${DEFAULT-VALUE})")
        String init;

        @Option(names = "--samples", defaultValue = "10000", paramLabel = "N",
                description = "samples per split (train, val, test) (default: ${DEFAULT-VALUE})")
        int samples;

        @Option(names = "--threads", paramLabel = "N", description = "CPU threads (default: all cores)")
        Integer threads;

        @Option(names = "--out", paramLabel = "DIR", description = "output directory (default: checkpoints/theory/<experiment>)")
        Path out;

        @Option(names = "--force", description = "write into an output directory that is not empty (replacing its files)")
        boolean force;

        Experiments.Common resolve(int defaultSources) {
            int s = sources == null ? defaultSources : sources;
            if (s < 1) {
                throw new UserError("--sources " + s + " must be at least 1");
            }
            if (samples < 1) {
                throw new UserError("--samples " + samples + " must be at least 1");
            }
            int cores = Runtime.getRuntime().availableProcessors();
            int t = threads == null ? cores : threads;
            if (t < 1) {
                throw new UserError("--threads " + t + " must be at least 1");
            }
            if (exactMax < 1 || exactMax > SubsetSum.EXACT_LIMIT) {
                throw new UserError("--exact-max " + exactMax + " is out of range: use 1.." + SubsetSum.EXACT_LIMIT);
            }
            if (core < 2 || core > SubsetSum.EXACT_LIMIT) {
                throw new UserError("--core " + core + " is out of range: use 2.." + SubsetSum.EXACT_LIMIT);
            }
            if (rounds < 0) {
                throw new UserError("--rounds " + rounds + " is negative: use 0 (no local search) or more");
            }
            return new Experiments.Common(seed, s, option("--solver", solver, SubsetSum.Kind::parse), exactMax, core,
                    rounds, option("--init", init, Sources.Init::parse), samples, t);
        }

        /** The exact solver cannot take the instances of hidden size {@code maxHidden} (ceil(n / 2) values each): refused up front. */
        static void checkExact(Experiments.Common c, int maxHidden) {
            int items = (maxHidden + 1) / 2;
            if (c.solverKind() == SubsetSum.Kind.EXACT && items > SubsetSum.EXACT_LIMIT) {
                throw new UserError("--solver exact takes at most " + SubsetSum.EXACT_LIMIT + " values per subset sum, and hidden size "
                        + maxHidden + " gives " + items + ": use --solver auto or near-exact, or hidden sizes up to " + 2 * SubsetSum.EXACT_LIMIT);
            }
        }

        Path outDir(String experiment) throws IOException {
            Path dir = out != null ? out : Path.of("checkpoints", "theory", experiment);
            if (Files.exists(dir) && !Files.isDirectory(dir)) {
                throw new UserError(dir + " exists and is not a directory: choose another --out");
            }
            if (Files.isDirectory(dir) && !force) {
                try (Stream<Path> s = Files.list(dir)) {
                    if (s.findAny().isPresent()) {
                        throw new UserError(dir + " already exists and is not empty: choose another --out, or pass --force to replace its files");
                    }
                }
            }
            return dir;
        }

        /** A named option's value parsed by the library; its complaint gets the option's name. */
        private static <T> T option(String name, String value, java.util.function.Function<String, T> parse) {
            try {
                return parse.apply(value);
            } catch (IllegalArgumentException e) {
                throw new UserError(name + ": " + e.getMessage(), e);
            }
        }
    }

    /** The target MHA's shape and training (the paper: AdamW, batch 1024, lr 0.1, 25 epochs, weight decay 0.01). */
    static final class Training {
        @Option(names = "--target-qk", defaultValue = "8", paramLabel = "D", description = "target Q/K width d_K (default: ${DEFAULT-VALUE})")
        int dK;

        @Option(names = "--target-v", defaultValue = "8", paramLabel = "D", description = "target V width d_V (default: ${DEFAULT-VALUE})")
        int dV;

        @Option(names = "--epochs", defaultValue = "25", description = "target training epochs (default: ${DEFAULT-VALUE})")
        int epochs;

        @Option(names = "--batch", defaultValue = "1024", description = "target training batch size (default: ${DEFAULT-VALUE})")
        int batch;

        @Option(names = "--lr", defaultValue = "0.1", description = "target AdamW learning rate (default: ${DEFAULT-VALUE})")
        double lr;

        @Option(names = "--weight-decay", defaultValue = "0.01", description = "target AdamW weight decay (default: ${DEFAULT-VALUE})")
        double weightDecay;

        TargetTrainer.Settings resolve(long seed) {
            if (dK < 1 || dV < 1) {
                throw new UserError("--target-qk and --target-v must be at least 1");
            }
            if (epochs < 1 || batch < 1) {
                throw new UserError("--epochs and --batch must be at least 1");
            }
            if (!(lr > 0) || !(weightDecay >= 0) || Double.isInfinite(lr) || Double.isInfinite(weightDecay)) {
                throw new UserError("--lr must be positive and --weight-decay non-negative (finite)");
            }
            return new TargetTrainer.Settings(dK, dV, epochs, batch, lr, weightDecay, seed);
        }
    }

    /** Runs an experiment with a progress bar and writes its files. */
    static int execute(CommandLine.Model.CommandSpec spec, String experiment, Common common, Experiments.Common c,
            java.util.function.Function<Experiments.Progress, Experiments.Outcome> run) throws IOException {
        Path dir = common.outDir(experiment);
        if (System.getProperty("ai.djl.pytorch.num_threads") == null) {
            System.setProperty("ai.djl.pytorch.num_threads", "1"); // the target is tiny: one thread is fastest
        }
        if (System.getProperty("ai.djl.pytorch.num_interop_threads") == null) {
            System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        }
        PrintWriter out = spec.commandLine().getOut();
        Experiments.Outcome o;
        try (ConsoleProgress progress = new ConsoleProgress(out)) {
            o = run.apply(progress);
        }
        List<String> args = spec.commandLine().getParseResult().originalArgs();
        int at = args.indexOf(experiment); // the arguments after the subcommand's name
        String rest = String.join(" ", args.subList(at + 1, args.size()));
        String command = "slt theory " + experiment + (rest.isEmpty() ? "" : " " + rest);
        for (String line : Outputs.write(o, c, command, dir)) {
            out.println(line);
        }
        out.flush();
        return 0;
    }

    @Command(name = "mha", mixinStandardHelpOptions = true,
            description = {"Fig. 4: train a target MHA (DJL), prune random source MHAs of each hidden size to it (Lemma 7), "
                + "measure the output error and fit error = gamma exp(-delta n_K).",
                "Files (in --out): results.csv, groups.csv, fit.csv, summary.md, fig4-error-vs-hidden.png"})
    static final class Mha implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Mixin
        Common common;

        @Mixin
        Training training;

        @Option(names = "--hidden", defaultValue = "0:100:10", paramLabel = "LIST",
                description = "source hidden sizes n_K = n_V: N, START:END[:STEP], START:END:xFACTOR or comma-separated (default: ${DEFAULT-VALUE})")
        String hidden;

        @Option(names = "--length", defaultValue = "4", paramLabel = "T", description = "sequence length T (default: ${DEFAULT-VALUE})")
        int length;

        @Override
        public Integer call() throws IOException {
            Experiments.Common c = common.resolve(100);
            List<Integer> h = Ranges.parse("--hidden", hidden, 0);
            Common.checkExact(c, h.get(h.size() - 1));
            if (length < 1) {
                throw new UserError("--length " + length + " must be at least 1");
            }
            TargetTrainer.Settings ts = training.resolve(c.seed());
            return execute(spec, "mha", common, c, p -> Experiments.mha(c, new Experiments.MhaSettings(h, length, ts), p));
        }
    }

    @Command(name = "length", mixinStandardHelpOptions = true,
            description = {"Fig. 5: the output error against the sequence length T at fixed hidden sizes. A target is trained at "
                + "T_train = min(T, --max-train-length) and evaluated with its pruned sources at T.",
                "Files (in --out): results.csv, groups.csv, summary.md, fig5-error-vs-length.png"})
    static final class Length implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Mixin
        Common common;

        @Mixin
        Training training;

        @Option(names = "--hidden", defaultValue = "20,40", paramLabel = "LIST", description = "source hidden sizes (default: ${DEFAULT-VALUE})")
        String hidden;

        @Option(names = "--length", defaultValue = "8:8192:x2", paramLabel = "LIST",
                description = "sequence lengths: N, START:END[:STEP], START:END:xFACTOR or comma-separated (default: ${DEFAULT-VALUE})")
        String lengths;

        @Option(names = "--max-train-length", defaultValue = "256", paramLabel = "T",
                description = "longest sequence a target is trained on (default: ${DEFAULT-VALUE})")
        int maxTrain;

        @Override
        public Integer call() throws IOException {
            Experiments.Common c = common.resolve(20);
            List<Integer> h = Ranges.parse("--hidden", hidden, 0);
            Common.checkExact(c, h.get(h.size() - 1));
            List<Integer> t = Ranges.parse("--length", lengths, 1);
            if (maxTrain < 1) {
                throw new UserError("--max-train-length " + maxTrain + " must be at least 1");
            }
            TargetTrainer.Settings ts = training.resolve(c.seed());
            return execute(spec, "length", common, c, p -> Experiments.length(c, new Experiments.LengthSettings(h, t, maxTrain, ts), p));
        }
    }

    @Command(name = "transformer", mixinStandardHelpOptions = true,
            description = {"Fig. 6: untrained target transformers (no normalisation, block = F(Attn(x) + x) + Attn(x) + x, "
                + "one-layer ReLU F) approximated by pruned random sources (two-layer ReLU F), error per number of blocks, "
                + "fit with one decay rate shared across blocks.",
                "Files (in --out): results.csv, groups.csv, fit.csv, summary.md, fig6-error-vs-hidden-blocks.png"})
    static final class TransformerCmd implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Mixin
        Common common;

        @Option(names = "--blocks", defaultValue = "1:4", paramLabel = "LIST", description = "numbers of blocks (default: ${DEFAULT-VALUE})")
        String blocks;

        @Option(names = "--hidden", defaultValue = "100:225:25", paramLabel = "LIST",
                description = "source hidden sizes n_MHA = n_FC (default: ${DEFAULT-VALUE})")
        String hidden;

        @Option(names = "--length", defaultValue = "4", paramLabel = "T", description = "sequence length T (default: ${DEFAULT-VALUE})")
        int length;

        @Option(names = "--target-qk", defaultValue = "8", paramLabel = "D", description = "target Q/K width (default: ${DEFAULT-VALUE})")
        int dK;

        @Option(names = "--target-v", defaultValue = "8", paramLabel = "D", description = "target V width (default: ${DEFAULT-VALUE})")
        int dV;

        @Override
        public Integer call() throws IOException {
            Experiments.Common c = common.resolve(20);
            List<Integer> b = Ranges.parse("--blocks", blocks, 1);
            if (b.get(b.size() - 1) > 64) {
                throw new UserError("--blocks " + blocks + ": at most 64 blocks");
            }
            List<Integer> h = Ranges.parse("--hidden", hidden, 1);
            Common.checkExact(c, h.get(h.size() - 1));
            if (length < 1) {
                throw new UserError("--length " + length + " must be at least 1");
            }
            if (dK < 1 || dV < 1) {
                throw new UserError("--target-qk and --target-v must be at least 1");
            }
            return execute(spec, "transformer", common, c,
                    p -> Experiments.transformer(c, new Experiments.TransformerSettings(b, h, length, dK, dV), p));
        }
    }
}
