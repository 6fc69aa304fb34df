package slt.tensorboard;

import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Writes one TensorBoard event file, {@code events.out.tfevents.<seconds>.<host>.<pid>}, in a
 * directory: TFRecord-framed {@code Event} protobufs, the first one {@code file_version:
 * "brain.Event:2"}. Scalars are {@code simple_value} summaries (what TensorBoard's own writers
 * use for scalars; TensorBoard shows them on its Scalars tab), text is a scalar string tensor
 * with the {@code text} plugin's metadata (as {@code tensorboard.summary.text} writes it).
 *
 * <p>Writes are buffered: {@link #flush()} hands them to the OS, and a daemon thread does so
 * every {@link #FLUSH_SECONDS} seconds while unflushed events wait. A failure of that background
 * flush is thrown by the next call. Thread-safe.
 *
 * <p>Field numbers (tensorflow/core/util/event.proto, tensorflow/core/framework/summary.proto,
 * tensor.proto): Event {wall_time 1 double, step 2 int64, file_version 3, summary 5,
 * session_log 7}; Summary {value 1}; Summary.Value {tag 1, simple_value 2 float, tensor 8,
 * metadata 9}; SummaryMetadata {plugin_data 1 {plugin_name 1}}; TensorProto {dtype 1 (DT_STRING
 * = 7), tensor_shape 2, string_val 8}; SessionLog {status 1 (START = 1)}.
 */
public final class EventFileWriter implements Closeable {
    /** The file version TensorBoard expects in the first event (2: restarts are marked by SessionLog START). */
    public static final String FILE_VERSION = "brain.Event:2";
    /** The name prefix TensorBoard looks for (any name containing "tfevents" is read). */
    public static final String PREFIX = "events.out.tfevents.";
    /** Unflushed events reach the OS within this many seconds. */
    public static final int FLUSH_SECONDS = 30;
    /** Names a file while {@link #open(Path, List)} writes it: no "tfevents" in it, so TensorBoard skips it. */
    static final String TEMP_PREFIX = ".writing.";
    private static final int DT_STRING = 7;
    private static final int SESSION_START = 1;

    private final Path file;
    private final FileChannel channel;
    private final OutputStream out;
    private final ScheduledExecutorService flusher;
    private boolean dirty;
    private boolean closed;
    private IOException backgroundFailure;

    private EventFileWriter(Path file, FileChannel channel, long flushMillis) {
        this.file = file;
        this.channel = channel;
        this.out = new BufferedOutputStream(Channels.newOutputStream(channel), 1 << 16);
        this.flusher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "tensorboard-flush " + file.getFileName());
            t.setDaemon(true);
            return t;
        });
        flusher.scheduleWithFixedDelay(this::backgroundFlush, flushMillis, flushMillis, TimeUnit.MILLISECONDS);
    }

    /** Opens a new event file in {@code dir} (created if missing). */
    public static EventFileWriter open(Path dir) throws IOException {
        return open(dir, List.of());
    }

    /**
     * Opens a new event file in {@code dir} whose first events (after the file version) are
     * {@code preamble}. The file is written under a temporary name (one TensorBoard ignores),
     * synced and renamed, so it appears only with its whole preamble. Its name sorts after every
     * event file already in {@code dir}: TensorBoard reads a directory's files in name order.
     */
    public static EventFileWriter open(Path dir, List<Event> preamble) throws IOException {
        return open(dir, preamble, FLUSH_SECONDS * 1000L);
    }

    /** As {@link #open(Path, List)}, flushing in the background every {@code flushMillis} (tests). */
    static EventFileWriter open(Path dir, List<Event> preamble, long flushMillis) throws IOException {
        Files.createDirectories(dir);
        Path file = dir.resolve(newName(dir));
        Path tmp = dir.resolve(TEMP_PREFIX + file.getFileName().toString().substring(PREFIX.length()));
        FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        EventFileWriter w = new EventFileWriter(file, ch, flushMillis);
        try {
            synchronized (w) {
                w.write(new Proto.Writer().double64(1, now()).string(3, FILE_VERSION));
                w.writeAll(preamble);
                w.out.flush();
                ch.force(true);
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
                w.dirty = false;
            }
            return w;
        } catch (IOException | RuntimeException e) {
            w.closeQuietly();
            Files.deleteIfExists(tmp);
            throw e;
        }
    }

    /** The file written. */
    public Path file() {
        return file;
    }

    /** One scalar point. */
    public void scalar(String tag, long step, double value, double wallTimeSeconds) throws IOException {
        scalars(step, wallTimeSeconds, Map.of(tag, value));
    }

    /** Several scalars of one step, as one event (smaller than one event each). */
    public synchronized void scalars(long step, double wallTimeSeconds, Map<String, ? extends Number> values)
            throws IOException {
        Proto.Writer summary = new Proto.Writer();
        for (Map.Entry<String, ? extends Number> e : values.entrySet()) {
            summary.message(1, new Proto.Writer().string(1, e.getKey()).float32(2, e.getValue().floatValue()));
        }
        write(event(wallTimeSeconds, step).message(5, summary));
    }

    /** A text point, now. */
    public void text(String tag, long step, String text) throws IOException {
        text(tag, step, text, now());
    }

    /** A text point: a scalar string tensor with the text plugin's metadata. */
    public synchronized void text(String tag, long step, String text, double wallTimeSeconds) throws IOException {
        Proto.Writer metadata = new Proto.Writer().message(1, new Proto.Writer().string(1, "text"));
        Proto.Writer tensor = new Proto.Writer().varint(1, DT_STRING).message(2, new Proto.Writer()).string(8, text);
        Proto.Writer value = new Proto.Writer().string(1, tag).message(8, tensor).message(9, metadata);
        write(event(wallTimeSeconds, step).message(5, new Proto.Writer().message(1, value)));
    }

    /**
     * A {@code SessionLog.START} event at {@code step}, which marks a (re)start of training: at
     * every START but a run's first, TensorBoard's Python loader drops every point it has read so
     * far (in this file or earlier ones) with a step >= {@code step}. TensorBoard's default Rust
     * loader ignores it; see {@link TensorBoardLog}.
     */
    public synchronized void sessionStart(long step, double wallTimeSeconds) throws IOException {
        write(event(wallTimeSeconds, step).message(7, new Proto.Writer().varint(1, SESSION_START)));
    }

    /** Hands every event written so far to the OS (no fsync). */
    public synchronized void flush() throws IOException {
        rethrowBackgroundFailure();
        out.flush();
        dirty = false;
    }

    /** Flushes, closes the file and stops the flush thread. */
    @Override
    public synchronized void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        flusher.shutdownNow();
        try (FileChannel ignored = channel) {
            out.flush();
        }
        rethrowBackgroundFailure();
    }

    private void writeAll(List<Event> events) throws IOException {
        for (int i = 0; i < events.size(); ) {
            Event e = events.get(i);
            switch (e.kind()) {
                case SCALAR -> { // consecutive scalars of one event go back into one event
                    Map<String, Float> values = new LinkedHashMap<>();
                    int j = i;
                    while (j < events.size() && sameScalarEvent(e, events.get(j))
                            && !values.containsKey(events.get(j).tag())) {
                        values.put(events.get(j).tag(), events.get(j).value());
                        j++;
                    }
                    scalars(e.step(), e.wallTime(), values);
                    i = j;
                    continue;
                }
                case TEXT -> text(e.tag(), e.step(), e.text(), e.wallTime());
                case SESSION_START -> sessionStart(e.step(), e.wallTime());
                case FILE_VERSION -> { } // every file has its own
                default -> throw new IllegalStateException(e.kind().name());
            }
            i++;
        }
    }

    private static boolean sameScalarEvent(Event a, Event b) {
        return b.kind() == Event.Kind.SCALAR && b.step() == a.step() && b.wallTime() == a.wallTime();
    }

    /** An Event with its wall time and step (omitted when 0, as protobuf does for defaults). */
    private static Proto.Writer event(double wallTime, long step) {
        Proto.Writer event = new Proto.Writer().double64(1, wallTime);
        return step == 0 ? event : event.varint(2, step);
    }

    private void write(Proto.Writer event) throws IOException {
        if (closed) {
            throw new IOException(file + " is closed");
        }
        rethrowBackgroundFailure();
        TfRecord.write(out, event.toByteArray());
        dirty = true;
    }

    private synchronized void backgroundFlush() {
        if (closed || !dirty || backgroundFailure != null) {
            return;
        }
        try {
            out.flush();
            dirty = false;
        } catch (IOException e) {
            backgroundFailure = e;
        }
    }

    private void rethrowBackgroundFailure() throws IOException {
        if (backgroundFailure != null) {
            throw new IOException("writing " + file + ": " + backgroundFailure.getMessage(), backgroundFailure);
        }
    }

    private void closeQuietly() {
        try {
            close();
        } catch (IOException ignored) {
            // the caller reports the first failure
        }
    }

    static double now() {
        return System.currentTimeMillis() / 1000.0;
    }

    /**
     * {@code events.out.tfevents.<seconds>.<host>.<pid>}, the seconds raised past the newest
     * event file already in {@code dir} so that the new name sorts last.
     */
    private static String newName(Path dir) throws IOException {
        long seconds = System.currentTimeMillis() / 1000;
        for (Path p : EventFileReader.eventFiles(dir)) {
            String name = p.getFileName().toString();
            if (!name.startsWith(PREFIX)) {
                continue;
            }
            String rest = name.substring(PREFIX.length());
            int dot = rest.indexOf('.');
            try {
                seconds = Math.max(seconds, Long.parseLong(dot < 0 ? rest : rest.substring(0, dot)) + 1);
            } catch (NumberFormatException ignored) {
                // not one of ours: it does not take part in the order
            }
        }
        return String.format("%s%010d.%s.%d", PREFIX, seconds, host(), ProcessHandle.current().pid());
    }

    private static String host() {
        String name;
        try {
            name = InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            name = "localhost";
        }
        String safe = name.replaceAll("[^A-Za-z0-9._-]", "_");
        return safe.isEmpty() ? "localhost" : safe;
    }
}
