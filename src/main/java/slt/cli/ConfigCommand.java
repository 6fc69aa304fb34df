package slt.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import slt.config.Config;
import slt.config.ConfigLoader;
import slt.model.Flops;
import slt.model.ModelSpec;

/** {@code slt config}: print the resolved config (defaults + file + overrides), validated. */
@Command(name = "config", mixinStandardHelpOptions = true,
        description = "Validate a config and print it fully resolved (every key, defaults filled in).")
final class ConfigCommand implements Callable<Integer> {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--config", paramLabel = "FILE", description = "run config (default: the built-in defaults)")
    Path config;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "override a config key (repeatable)")
    List<String> overrides = new ArrayList<>();

    @Override
    public Integer call() {
        Config c = ConfigLoader.load(config, overrides).resolved();
        ModelSpec m = ModelSpec.from(c);
        java.io.PrintWriter out = spec.commandLine().getOut();
        out.print(ConfigLoader.toYaml(c));
        out.printf("# model: %,d weights (%,d in matrix products), per head qk_dim %d and v_dim %d; "
                + "%.4g GFLOP per training token at %d tokens (%s)%n", Flops.weights(m), Flops.matmulParams(m), m.qkDim(),
                m.vDim(), Flops.trainingPerToken(m, c.data().seqLen()) / 1e9, c.data().seqLen(), Flops.formula());
        return 0;
    }
}
