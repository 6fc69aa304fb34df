package slt.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import slt.data.Download;

/** {@code slt data download}: fetch WikiText. */
@Command(name = "data", mixinStandardHelpOptions = true, description = "Data sets.",
        subcommands = {DataCommand.DownloadCommand.class})
final class DataCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "name a data command: download");
    }

    @Command(name = "download", mixinStandardHelpOptions = true,
            description = "Download and unpack WikiText (resumable, sha256-checked) into <dir>/<dataset>/.")
    static final class DownloadCommand implements Callable<Integer> {
        @picocli.CommandLine.Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Parameters(paramLabel = "DATASET", description = "wikitext-103 or wikitext-2")
        String dataset;

        @Option(names = "--variant", defaultValue = "raw", description = "raw or tokens (default: ${DEFAULT-VALUE})")
        String variant;

        @Option(names = "--dir", defaultValue = "data", description = "parent directory (default: ${DEFAULT-VALUE})")
        Path dir;

        @Option(names = "--url", description = "download from this URL instead (a mirror); needs --sha256")
        String url;

        @Option(names = "--sha256", description = "expected sha256 of the file at --url")
        String sha256;

        @Override
        public Integer call() {
            Download.Archive a = Download.archive(dataset, variant);
            if (url != null || sha256 != null) {
                if (url == null || sha256 == null || !sha256.matches("[0-9a-fA-F]{64}")) {
                    throw new slt.UserError("--url and --sha256 go together: give the mirror's URL and the 64-hex-digit sha256 of its file");
                }
                a = new Download.Archive(a.dataset(), a.variant(), url, sha256.toLowerCase(), -1);
            }
            Path target = Download.fetch(a, dir);
            spec.commandLine().getOut().println(a.dataset() + " (" + a.variant() + ") is in " + target + "; use it with --set data.path=" + target);
            return 0;
        }
    }
}
