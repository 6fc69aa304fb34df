package slt.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import slt.UserError;
import slt.checkpoint.HfExport;
import slt.checkpoint.Ticket;
import slt.train.LoadedModel;

/** {@code slt export}: a run's ticket (seed + packed masks), or its masked weights as Hugging Face safetensors. */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = {"Export a run's strong lottery ticket.",
            "--format ticket (default): the config + seed + 1 bit per weight (~1/32 of fp32), checksummed.",
            "--format safetensors: the masked weights under Hugging Face GPT-2 names + config.json, into the --out directory."})
final class ExportCommand implements Callable<Integer> {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    ModelSource source;

    @Option(names = "--out", required = true, paramLabel = "PATH", description = "ticket file, or directory for safetensors")
    Path out;

    @Option(names = "--format", defaultValue = "ticket", paramLabel = "ticket|safetensors", description = "(default: ${DEFAULT-VALUE})")
    String format;

    @Option(names = "--force", description = "replace an existing output")
    boolean force;

    @Override
    public Integer call() throws IOException {
        boolean ticket = switch (format.toLowerCase()) {
            case "ticket" -> true;
            case "safetensors" -> false;
            default -> throw new UserError("--format '" + format + "': choose ticket or safetensors");
        };
        if (ticket && Files.isDirectory(out)) {
            throw new UserError("--out " + out + " is a directory, and a ticket is one file: name a file, e.g. --out "
                    + out.resolve("run.ticket"));
        }
        if (!ticket && Files.exists(out) && !Files.isDirectory(out)) {
            throw new UserError("--out " + out + " is a file, and --format safetensors writes a directory (model.safetensors "
                    + "and config.json): name a directory, e.g. --out " + out + "-hf");
        }
        Path target = ticket ? out : out.resolve("model.safetensors");
        if ((Files.exists(target) || !ticket && Files.exists(out.resolve("config.json"))) && !force) {
            throw new UserError(target + " already exists: choose another --out or pass --force to replace it");
        }
        if (source.where.ticket != null && ticket) {
            throw new UserError("--ticket is already a ticket: copy the file, or export it with --format safetensors");
        }
        try (LoadedModel m = source.load()) {
            if (ticket) {
                Ticket t = m.ticket();
                t.write(out);
                long fp32 = 0;
                for (Ticket.Mask mask : t.masks().values()) {
                    fp32 += 4 * mask.numel();
                }
                spec.commandLine().getOut().printf("ticket of %s (step %d) -> %s: %,d bytes (%.1f%% of the %,d bytes of fp32 "
                        + "masked weights)%n", m.source(), m.step(), out, Files.size(out), 100.0 * Files.size(out) / fp32, fp32);
            } else {
                HfExport.write(m.model(), out);
                spec.commandLine().getOut().printf("masked weights of %s (step %d) -> %s (model.safetensors, config.json: "
                        + "Hugging Face GPT2LMHeadModel)%n", m.source(), m.step(), out);
            }
        }
        return 0;
    }
}
