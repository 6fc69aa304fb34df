package slt;

import java.nio.file.Path;

/**
 * A problem with what the user asked for (a bad config value, a missing file, a run directory in
 * the way). Its message is one line that names the problem and the fix; the CLI prints it and
 * exits non-zero, with no stack trace.
 *
 * <p>Library code speaks no command line: where the fix is an action of the tool (resume a run,
 * start it again), the error carries it as a {@link Fix}, which {@link #getMessage()} words
 * plainly and the CLI turns into the exact command ({@code slt.cli.Main#message}).
 */
public class UserError extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final transient Fix fix;

    /** What the user can do next, when it is an action of the tool. */
    public sealed interface Fix {
        /** Download a dataset (null: the one in question) into data/, in its raw or tokens variant. */
        record Download(String dataset, boolean tokens) implements Fix {}

        /** Continue the run in {@code runDir} from its last checkpoint. */
        record Resume(Path runDir) implements Fix {}

        /** Start the run described by {@code config} again from step 0, moving the old one aside. */
        record Restart(Path config) implements Fix {}

        /** Do it again, replacing what is in the way; {@code how} says what becomes of it (e.g. "the old run is moved aside"). */
        record Replace(String how) implements Fix {}

        /** The fix in words, for readers of {@link UserError#getMessage()} outside the CLI. */
        default String words() {
            if (this instanceof Resume r) {
                return "resume the run in " + r.runDir();
            }
            if (this instanceof Download d) {
                return "download it again" + (d.dataset() == null ? "" : " (" + d.dataset() + (d.tokens() ? ", tokens" : "") + ")");
            }
            if (this instanceof Restart r) {
                return "start it again from " + r.config() + ", replacing the run";
            }
            Replace r = (Replace) this;
            return "ask again to replace it (" + r.how() + ")";
        }
    }

    public UserError(String message) {
        this(message, (Fix) null, null);
    }

    public UserError(String message, Throwable cause) {
        this(message, null, cause);
    }

    /** {@code problem} ends where the fix's words (or the CLI's command for it) follow. */
    public UserError(String problem, Fix fix) {
        this(problem, fix, null);
    }

    public UserError(String problem, Fix fix, Throwable cause) {
        super(problem, cause);
        this.fix = fix;
    }

    /** The problem, without the fix. */
    public String problem() {
        return super.getMessage();
    }

    /** The tool action that fixes it, or null. */
    public Fix fix() {
        return fix;
    }

    @Override
    public String getMessage() {
        return fix == null ? problem() : problem() + " " + fix.words();
    }
}
