package slt;

/**
 * A problem with what the user asked for (a bad config value, a missing file, a run directory in
 * the way). Its message is one line that names the problem and the fix; the CLI prints it and
 * exits non-zero, with no stack trace.
 */
public class UserError extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public UserError(String message) {
        super(message);
    }

    public UserError(String message, Throwable cause) {
        super(message, cause);
    }
}
