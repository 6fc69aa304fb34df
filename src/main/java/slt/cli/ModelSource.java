package slt.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Option;
import slt.UserError;
import slt.config.Config;
import slt.train.LoadedModel;

/** Options naming a trained model: a run directory (latest, best or a step) or a ticket file. */
final class ModelSource {

    @ArgGroup(exclusive = true, multiplicity = "1")
    Where where;

    static final class Where {
        @Option(names = "--run-dir", paramLabel = "DIR", description = "a run directory, e.g. checkpoints/quickstart")
        Path runDir;

        @Option(names = "--ticket", paramLabel = "FILE", description = "a ticket written by `slt export`")
        Path ticket;
    }

    @Option(names = "--best", description = "with --run-dir: the best-validation checkpoint (default: the latest)")
    boolean best;

    @Option(names = "--step", paramLabel = "N", description = "with --run-dir: the checkpoint of step N")
    Long step;

    @Option(names = "--set", paramLabel = "KEY=VALUE",
            description = "override a config key of the loaded model, e.g. data.path=... or run.device=cpu")
    List<String> overrides = new ArrayList<>();

    /** The config of the named model, without building it (cheap: for checks before a long load). */
    Config config() {
        checkOptions();
        if (where.ticket != null) {
            try {
                return slt.config.ConfigLoader.loadText(slt.checkpoint.Ticket.read(where.ticket).configYaml(),
                        where.ticket.toString(), overrides);
            } catch (java.nio.file.NoSuchFileException e) {
                throw new UserError("ticket " + where.ticket + " not found");
            } catch (java.io.IOException e) {
                throw new UserError("cannot read ticket " + where.ticket + ": " + e.getMessage());
            }
        }
        return slt.train.RunDirectory.open(where.runDir).config(overrides);
    }

    LoadedModel load() {
        checkOptions();
        return where.ticket != null
                ? LoadedModel.fromTicket(where.ticket, overrides)
                : LoadedModel.fromRun(where.runDir, best ? LoadedModel.Which.BEST : LoadedModel.Which.LATEST, step, overrides);
    }

    private void checkOptions() {
        if (where.ticket != null && (best || step != null)) {
            throw new UserError("--best and --step choose among a run's checkpoints: use them with --run-dir, not --ticket");
        }
        if (best && step != null) {
            throw new UserError("--best and --step both choose a checkpoint: give one of them");
        }
        for (String o : overrides) {
            String key = o.contains("=") ? o.substring(0, o.indexOf('=')).trim() : o;
            if (!Config.EVAL_KEYS.contains(key)) {
                throw new UserError("--set " + key + " would change the model that was trained, or means nothing here; "
                        + "keys that may be set: " + String.join(", ", Config.EVAL_KEYS.stream().sorted().toList()));
            }
        }
    }
}
