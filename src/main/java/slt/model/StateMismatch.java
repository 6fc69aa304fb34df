package slt.model;

/**
 * Saved tensors or masks (a checkpoint, a ticket) that do not fit the model they are loaded into:
 * other names, other shapes, a missing mask. A problem with the files, not a bug; callers that
 * load user files turn it into a one-line error, and nothing else is caught with it.
 */
public class StateMismatch extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public StateMismatch(String message) {
        super(message);
    }
}
