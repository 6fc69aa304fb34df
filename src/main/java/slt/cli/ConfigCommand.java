package slt.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import slt.config.ConfigLoader;

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
        spec.commandLine().getOut().print(ConfigLoader.toYaml(ConfigLoader.load(config, overrides).resolved()));
        return 0;
    }
}
