package slt.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import slt.UserError;

/** {@code slt}: edge-popup strong lottery tickets in GPT-2. Entry point of the runnable jar. */
@Command(
        name = "slt",
        mixinStandardHelpOptions = true,
        version = "slt 0.1.0 (DJL 0.32.0, libtorch 2.5.1)",
        description = "Strong lottery tickets in GPT-2 with edge-popup (Otsuka et al., AAAI 2026).",
        subcommands = {TrainCommand.class, ResumeCommand.class, EvalCommand.class, ExportCommand.class, GenerateCommand.class, SweepCommand.class, ReportCommand.class, InspectCommand.class, BenchCommand.class, TheoryCommand.class, DataCommand.class, ConfigCommand.class, InfoCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        // No surprise network access: libtorch comes from the jar or PYTORCH_LIBRARY_PATH.
        setDefault("ai.djl.offline", "true");
        setDefault("OPT_OUT_TRACKING", "true");
        System.exit(run(args));
    }

    private static void setDefault(String key, String value) {
        if (System.getProperty(key) == null && System.getenv(key) == null) {
            System.setProperty(key, value);
        }
    }

    /** Runs the CLI and returns its exit code: 0 ok, 2 a user error (one line on stderr), 1 a bug. */
    public static int run(String... args) {
        return run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
    }

    /** As {@link #run(String...)}, printing to the given writers (tests capture them). */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cl = new CommandLine(new Main()).setOut(out).setErr(err).setCaseInsensitiveEnumValuesAllowed(true);
        cl.setParameterExceptionHandler((ex, badArgs) -> {
            CommandLine cmd = ex.getCommandLine();
            String msg = ex.getMessage().replaceFirst("^Error: ", "");
            if (ex instanceof CommandLine.UnmatchedArgumentException && cmd.getParent() == null && badArgs.length > 0
                    && !badArgs[0].startsWith("-")) {
                msg = "unknown command '" + badArgs[0] + "': name one of " + String.join(", ", cmd.getSubcommands().keySet());
            }
            cmd.getErr().println("error: " + msg + " (see: " + cmd.getCommandSpec().qualifiedName() + " --help)");
            cmd.getErr().flush();
            return 2;
        });
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            Throwable cause = ex;
            while (isWrapper(cause) && cause.getCause() != null) { // only wrappers: a bug caused by a UserError stays a bug
                cause = cause.getCause();
            }
            PrintWriter errOut = cmd.getErr();
            if (cause instanceof UserError u) {
                errOut.println("error: " + message(u));
                errOut.flush();
                return 2;
            }
            ex.printStackTrace(errOut);
            errOut.flush();
            return 1;
        });
        try {
            return cl.execute(args);
        } finally { // print() does not flush an autoflush writer, and System.exit would drop the rest
            out.flush();
            err.flush();
        }
    }

    /** Exceptions that only carry another one (picocli's, a future's). */
    private static boolean isWrapper(Throwable t) {
        return t instanceof CommandLine.ExecutionException || t instanceof java.util.concurrent.ExecutionException
                || t instanceof java.util.concurrent.CompletionException;
    }

    /** A user error as the command line says it: its fix, if it is an action of the tool, as the exact command. */
    public static String message(UserError e) {
        return e.fix() == null ? e.problem() : e.problem() + " " + command(e.fix());
    }

    private static String command(UserError.Fix fix) {
        if (fix instanceof UserError.Fix.Resume r) {
            return "resume it with ./slt resume " + r.runDir();
        }
        if (fix instanceof UserError.Fix.Download d) {
            return "download it with ./slt data download" + (d.dataset() == null ? "" : " " + d.dataset())
                    + (d.tokens() ? " --variant tokens" : "");
        }
        if (fix instanceof UserError.Fix.Restart r) {
            return "start it again with ./slt train --config " + r.config() + " --force";
        }
        return "pass --force to replace it (" + ((UserError.Fix.Replace) fix).how() + ")";
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "name a command: train, resume, eval, export, generate, sweep, report, inspect, bench, theory, data, config or info");
    }
}
