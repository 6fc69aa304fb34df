package slt.tensorboard;

/**
 * One entry of a TensorBoard event file, as {@link EventFileReader} returns it. An {@code Event}
 * protobuf whose summary holds several values (as {@link EventFileWriter#scalars} writes them)
 * comes back as one {@code Event} per value, all with the protobuf's wall time and step.
 *
 * @param kind what the entry is
 * @param wallTime seconds since the epoch
 * @param step the training step
 * @param tag the series name ({@code train/loss}); null for {@link Kind#FILE_VERSION} and {@link Kind#SESSION_START}
 * @param value a {@link Kind#SCALAR}'s value (stored as a float32, as TensorBoard stores scalars); 0 otherwise
 * @param text a {@link Kind#TEXT}'s string, or the {@link Kind#FILE_VERSION}; null otherwise
 */
public record Event(Kind kind, double wallTime, long step, String tag, float value, String text) {
    /** The kinds of entries this package writes; readers skip any other. */
    public enum Kind {
        /** The first event of every file; {@code text} is {@code brain.Event:2}. */
        FILE_VERSION,
        /** {@code SessionLog.START}: at each but a run's first, TensorBoard's Python loader drops the points read with step >= this one. */
        SESSION_START,
        /** A {@code simple_value} scalar. */
        SCALAR,
        /** A string tensor of the {@code text} plugin. */
        TEXT
    }

    /** A scalar point. */
    public static Event scalar(String tag, long step, float value, double wallTime) {
        return new Event(Kind.SCALAR, wallTime, step, tag, value, null);
    }

    /** A text point. */
    public static Event text(String tag, long step, String text, double wallTime) {
        return new Event(Kind.TEXT, wallTime, step, tag, 0, text);
    }
}
