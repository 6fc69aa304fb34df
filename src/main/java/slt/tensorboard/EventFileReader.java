package slt.tensorboard;

import java.io.BufferedInputStream;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.stream.Stream;

/**
 * Reads a TensorBoard event file written by {@link EventFileWriter} (or by TensorBoard's own
 * writers): both CRCs of every record are checked, and the entries this package knows (file
 * version, SessionLog START, {@code simple_value} scalars, text-plugin strings) are returned in
 * file order; other events and values are skipped.
 *
 * <p>A file that ends inside a record (its writer was killed mid-write) ends there, as it does
 * for TensorBoard; {@link #truncated()} then says so. A CRC mismatch or a malformed event is an
 * {@link IOException} naming the file and the byte offset of the record.
 */
public final class EventFileReader implements Closeable {
    private final Path file;
    private final InputStream in;
    private final Deque<Event> pending = new ArrayDeque<>();
    private long offset;
    private boolean truncated;

    private EventFileReader(Path file) throws IOException {
        this.file = file;
        this.in = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
    }

    /** Opens {@code file} for reading. */
    public static EventFileReader open(Path file) throws IOException {
        return new EventFileReader(file);
    }

    /** Every entry of {@code file}; throws on damage (a cut-short last record is not damage). */
    public static List<Event> readAll(Path file) throws IOException {
        try (EventFileReader r = open(file)) {
            List<Event> out = new ArrayList<>();
            for (Event e = r.next(); e != null; e = r.next()) {
                out.add(e);
            }
            return out;
        }
    }

    /**
     * The event files of {@code dir} in the order TensorBoard reads them: every regular file
     * whose name contains {@code tfevents}, sorted by name. Empty if {@code dir} does not exist.
     */
    public static List<Path> eventFiles(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().contains("tfevents") && Files.isRegularFile(p))
                    .sorted().toList();
        }
    }

    /** The next entry, or null at the end of the file. */
    public Event next() throws IOException {
        while (pending.isEmpty()) {
            long at = offset;
            byte[] record;
            try {
                record = TfRecord.read(in);
            } catch (EOFException e) {
                truncated = true;
                return null;
            } catch (IOException e) {
                throw damaged(at, e.getMessage());
            }
            if (record == null) {
                return null;
            }
            offset += 16 + record.length;
            try {
                decode(record);
            } catch (IOException e) {
                throw damaged(at, e.getMessage());
            }
        }
        return pending.poll();
    }

    /** Whether the file ended inside a record (known once {@link #next()} returned null). */
    public boolean truncated() {
        return truncated;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }

    private IOException damaged(long at, String what) {
        return new IOException(file + ": damaged event record at byte " + at + " (" + what + ")");
    }

    /** Adds the entries of one serialized {@code Event} to {@link #pending}. */
    private void decode(byte[] record) throws IOException {
        Proto.Reader event = new Proto.Reader(record);
        double wallTime = 0;
        long step = 0;
        String fileVersion = null;
        boolean start = false;
        List<Proto.Reader> values = new ArrayList<>();
        while (event.next()) {
            switch (event.field()) {
                case 1 -> wallTime = event.double64();
                case 2 -> step = event.varint();
                case 3 -> fileVersion = event.string();
                case 5 -> {
                    Proto.Reader summary = event.message();
                    while (summary.next()) {
                        if (summary.field() == 1) {
                            values.add(summary.message());
                        } else {
                            summary.skip();
                        }
                    }
                }
                case 7 -> {
                    Proto.Reader sessionLog = event.message();
                    while (sessionLog.next()) {
                        if (sessionLog.field() == 1) {
                            start = sessionLog.varint() == 1;
                        } else {
                            sessionLog.skip();
                        }
                    }
                }
                default -> event.skip();
            }
        }
        if (fileVersion != null) {
            pending.add(new Event(Event.Kind.FILE_VERSION, wallTime, step, null, 0, fileVersion));
        }
        if (start) {
            pending.add(new Event(Event.Kind.SESSION_START, wallTime, step, null, 0, null));
        }
        for (Proto.Reader value : values) {
            decodeValue(value, wallTime, step);
        }
    }

    /** A {@code Summary.Value}: a simple_value scalar or a string tensor; anything else is skipped. */
    private void decodeValue(Proto.Reader value, double wallTime, long step) throws IOException {
        String tag = "";
        Float scalar = null;
        String text = null;
        while (value.next()) {
            switch (value.field()) {
                case 1 -> tag = value.string();
                case 2 -> scalar = value.float32();
                case 8 -> { // TensorProto: the first string_val
                    Proto.Reader tensor = value.message();
                    while (tensor.next()) {
                        if (tensor.field() == 8 && text == null) {
                            text = tensor.string();
                        } else {
                            tensor.skip();
                        }
                    }
                }
                default -> value.skip();
            }
        }
        if (scalar != null) {
            pending.add(Event.scalar(tag, step, scalar, wallTime));
        } else if (text != null) {
            pending.add(Event.text(tag, step, text, wallTime));
        }
    }
}
