package slt.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import slt.config.Config;
import slt.train.Evaluation;

/** {@code slt eval}: the loss of a run's saved scores on the validation or test split. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Evaluate a run's latest (or best) checkpoint on a split; prints mean token loss and perplexity.")
final class EvalCommand implements Callable<Integer> {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;


    @Option(names = "--run-dir", required = true, paramLabel = "DIR", description = "a run directory, e.g. checkpoints/quickstart")
    Path runDir;

    @Option(names = "--split", defaultValue = "valid", paramLabel = "valid|test", description = "split to evaluate (default: ${DEFAULT-VALUE})")
    String split;

    @Option(names = "--best", description = "use the best-validation checkpoint instead of the latest")
    boolean best;

    @Option(names = "--windows", paramLabel = "N", description = "evaluate only the first N windows (default: all)")
    Integer windows;

    @Override
    public Integer call() throws Exception {
        Config.Split s = switch (split.toLowerCase()) {
            case "valid" -> Config.Split.VALID;
            case "test" -> Config.Split.TEST;
            default -> throw new slt.UserError("--split '" + split + "': choose valid or test");
        };
        Evaluation.Result r = Evaluation.ofRun(runDir, s, best, windows);
        spec.commandLine().getOut().printf("%s %s step %d: loss %.6f ppl %.3f (%d windows of %d tokens)%n",
                runDir, split, r.step(), r.loss(), Math.exp(r.loss()), r.windows(), r.seqLen());
        return 0;
    }
}
