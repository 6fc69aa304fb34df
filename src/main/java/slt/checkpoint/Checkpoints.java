package slt.checkpoint;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import slt.Sha256;

/**
 * A run's checkpoints, {@code <run>/checkpoints/step-NNNNNNNN/}: {@code model.safetensors}
 * (trained tensors), {@code optimizer.safetensors} (AdamW moments), {@code state.json} (step,
 * sampler position, best so far, ...) and {@code MANIFEST.json} (sha256 and size of each file).
 * Saving is atomic: files are written and fsynced in a temporary directory, which is renamed into
 * place; then the {@code latest} (and {@code best}) pointer files are replaced the same way. A crash
 * at any instant leaves the previous checkpoint and pointers usable. This class decides nothing
 * about when to save; the training loop does.
 */
public final class Checkpoints {
    private static final Logger LOG = LogManager.getLogger(Checkpoints.class);
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    public static final String MODEL = "model.safetensors";
    public static final String OPTIMIZER = "optimizer.safetensors";
    public static final String STATE = "state.json";
    public static final String MANIFEST = "MANIFEST.json";

    private final Path root;
    private WriteHook hook = (tmp, step) -> { };

    /** Called in the middle of every save, between the tensor files and the manifest (test hook). */
    public interface WriteHook {
        void midWrite(Path tmpDir, long step) throws IOException;
    }

    /** The checkpoints of the run in {@code runDir}. */
    public Checkpoints(Path runDir) {
        this.root = runDir.resolve("checkpoints");
    }

    /** Installs a hook that runs inside every save (tests use it to pause, fail or be killed mid-write). */
    public Checkpoints withWriteHook(WriteHook writeHook) {
        this.hook = writeHook;
        return this;
    }

    public Path root() {
        return root;
    }

    /** A verified checkpoint on disk: its files match its manifest, and its state is whole. */
    public record Checkpoint(Path dir, long step, RunState state) {
        public Path model() {
            return dir.resolve(MODEL);
        }

        public Path optimizer() {
            return dir.resolve(OPTIMIZER);
        }
    }

    /**
     * Saves a checkpoint for {@code step} atomically and points {@code latest} (and {@code best}
     * when {@code isBest}) at it; then keeps only the newest {@code keep} checkpoints plus the best.
     * {@code files} are small extra files stored with it (the config, the metrics so far).
     */
    public Path save(Map<String, NDArray> model, Map<String, NDArray> optimizer, RunState state,
            Map<String, byte[]> files, boolean isBest, int keep) throws IOException {
        long step = state.step();
        Files.createDirectories(root);
        removeStaleTemporaries();
        String name = dirName(step);
        Path tmp = root.resolve(".tmp-" + name + "-" + System.nanoTime());
        Files.createDirectory(tmp);
        try {
            SafeTensors.write(tmp.resolve(MODEL), model, metadata(step));
            SafeTensors.write(tmp.resolve(OPTIMIZER), optimizer, metadata(step));
            writeDurably(tmp.resolve(STATE), JSON.writeValueAsBytes(state.toJson()));
            List<String> names = new ArrayList<>(List.of(MODEL, OPTIMIZER, STATE));
            for (Map.Entry<String, byte[]> f : files.entrySet()) {
                writeDurably(tmp.resolve(f.getKey()), f.getValue());
                names.add(f.getKey());
            }
            hook.midWrite(tmp, step);
            ObjectNode manifest = JSON.createObjectNode();
            ObjectNode entries = manifest.putObject("files");
            for (String f : names) {
                ObjectNode entry = entries.putObject(f);
                entry.put("bytes", Files.size(tmp.resolve(f)));
                entry.put("sha256", Sha256.of(tmp.resolve(f)));
            }
            writeDurably(tmp.resolve(MANIFEST), JSON.writeValueAsBytes(manifest));
            fsyncDir(tmp);
            Path target = root.resolve(name);
            if (Files.exists(target)) {
                deleteTree(target);
            }
            move(tmp, target);
            fsyncDir(root);
        } catch (IOException | RuntimeException e) {
            deleteTree(tmp);
            throw e;
        }
        writePointer("latest", name);
        if (isBest) {
            writePointer("best", name);
        }
        prune(keep);
        return root.resolve(name);
    }

    /**
     * The newest checkpoint whose files match its manifest. A damaged one is reported with the
     * name of the bad file and skipped (with a warning) in favour of the one before it.
     */
    public Optional<Checkpoint> latest() throws IOException {
        List<Path> dirs = stepDirs();
        String pointer = pointerText("latest");
        for (int i = dirs.size() - 1; i >= 0; i--) {
            Path dir = dirs.get(i);
            Optional<String> problem = verify(dir);
            if (problem.isEmpty()) {
                String name = dir.getFileName().toString();
                if (pointer != null && !pointer.equals(name)) {
                    LOG.warn("{} names '{}', but the newest intact checkpoint is {} (a save stopped before it moved the "
                            + "pointer, or a damaged or removed checkpoint): using {}", root.resolve("latest"), pointer, name, name);
                }
                return Optional.of(open(dir));
            }
            LOG.warn("checkpoint {} is unusable ({}); falling back to the one before it", dir, problem.get());
        }
        if (pointer != null) {
            LOG.warn("{} names '{}', but {} holds no intact checkpoint", root.resolve("latest"), pointer, root);
        }
        return Optional.empty();
    }

    /** Safetensors metadata in a fixed order, so that equal tensors give byte-identical files. */
    private static Map<String, String> metadata(long step) {
        Map<String, String> m = new java.util.LinkedHashMap<>();
        m.put("format", "pt");
        m.put("step", Long.toString(step));
        return m;
    }

    /** The checkpoint of {@code step}, verified, if there is one. */
    public Optional<Checkpoint> atStep(long step) throws IOException {
        Path dir = root.resolve(dirName(step));
        if (!Files.isDirectory(dir)) {
            return Optional.empty();
        }
        Optional<String> problem = verify(dir);
        if (problem.isPresent()) {
            throw new IOException("checkpoint " + dir + " is unusable: " + problem.get());
        }
        return Optional.of(open(dir));
    }

    /** Steps of the checkpoints on disk (verified or not), ascending. */
    public List<Long> steps() throws IOException {
        List<Long> out = new ArrayList<>();
        for (Path d : stepDirs()) {
            out.add(Long.parseLong(d.getFileName().toString().substring(5)));
        }
        return out;
    }

    /** Deletes directories left by saves that were interrupted (a crash mid-write). */
    public void removeStaleTemporaries() throws IOException {
        if (!Files.isDirectory(root)) {
            return;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(root, ".tmp-*")) {
            for (Path p : ds) {
                LOG.warn("removing {}, left by a checkpoint write that did not finish", p);
                deleteTree(p);
            }
        }
    }

    /** The checkpoint {@code best} points to, verified, if any. */
    public Optional<Checkpoint> best() throws IOException {
        String text = pointerText("best");
        if (text == null) {
            return Optional.empty();
        }
        String pointer = readPointer("best");
        if (pointer == null) {
            throw new IOException(root.resolve("best") + " holds '" + text + "', not the name of a checkpoint directory "
                    + "(step-NNNNNNNN)");
        }
        Path dir = root.resolve(pointer);
        Optional<String> problem = verify(dir);
        if (problem.isPresent()) {
            throw new IOException("best checkpoint " + dir + " is unusable: " + problem.get());
        }
        return Optional.of(open(dir));
    }

    /** Empty when every file of {@code dir} matches its manifest, else what is wrong, naming the file. */
    public static Optional<String> verify(Path dir) throws IOException {
        Path manifest = dir.resolve(MANIFEST);
        if (!Files.isRegularFile(manifest)) {
            return Optional.of("missing " + manifest);
        }
        JsonNode files;
        try {
            files = JSON.readTree(manifest.toFile()).get("files");
        } catch (IOException e) {
            return Optional.of("corrupt " + manifest);
        }
        if (files == null || !files.isObject()) {
            return Optional.of("corrupt " + manifest);
        }
        for (var it = files.fields(); it.hasNext(); ) {
            var e = it.next();
            Path f = dir.resolve(e.getKey());
            if (!f.normalize().getParent().equals(dir.normalize())) {
                return Optional.of("corrupt " + manifest + " (names a file outside its directory: " + e.getKey() + ")");
            }
            if (!Files.isRegularFile(f)) {
                return Optional.of("missing " + f);
            }
            if (Files.size(f) != e.getValue().path("bytes").asLong(-1)) {
                return Optional.of("truncated " + f + " (" + Files.size(f) + " bytes, manifest says "
                        + e.getValue().path("bytes").asLong() + ")");
            }
            if (!Sha256.of(f).equals(e.getValue().path("sha256").asText())) {
                return Optional.of("corrupt " + f + " (sha256 differs from the manifest)");
            }
        }
        for (String required : List.of(MODEL, OPTIMIZER, STATE)) {
            if (!files.has(required)) {
                return Optional.of("corrupt " + manifest + " (it does not list " + required + ")");
            }
        }
        try {
            state(dir);
        } catch (IOException e) {
            return Optional.of("corrupt " + dir.resolve(STATE) + " (" + e.getMessage() + ")");
        }
        return Optional.empty();
    }

    /** The run state in {@code dir}, checked against the step its name gives. */
    private static RunState state(Path dir) throws IOException {
        Long step = stepOf(dir);
        if (step == null) {
            throw new IOException(dir + " is not named step-NNNNNNNN");
        }
        JsonNode json;
        try {
            json = JSON.readTree(dir.resolve(STATE).toFile());
        } catch (IOException e) {
            throw new IOException("not JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
        return RunState.fromJson(json, step);
    }

    /** The step a directory's name gives (step-NNNNNNNN), or null. */
    private static Long stepOf(Path dir) {
        String n = dir.getFileName().toString();
        return n.matches("step-\\d{8}") ? Long.parseLong(n.substring(5)) : null;
    }

    private Checkpoint open(Path dir) throws IOException {
        RunState state = state(dir);
        return new Checkpoint(dir, state.step(), state);
    }

    /** Step directories, oldest first. */
    private List<Path> stepDirs() throws IOException {
        List<Path> dirs = new ArrayList<>();
        if (!Files.isDirectory(root)) {
            return dirs;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(root, "step-*")) {
            ds.forEach(dirs::add);
        }
        dirs.sort(Comparator.comparing(p -> p.getFileName().toString()));
        return dirs;
    }

    private void prune(int keep) throws IOException {
        List<Path> dirs = stepDirs();
        String best = readPointer("best");
        String latest = readPointer("latest");
        int removable = dirs.size() - keep;
        for (int i = 0; i < dirs.size() && removable > 0; i++) {
            String n = dirs.get(i).getFileName().toString();
            if (n.equals(best) || n.equals(latest)) {
                continue;
            }
            deleteTree(dirs.get(i));
            removable--;
        }
    }

    static String dirName(long step) {
        return String.format("step-%08d", step);
    }

    private String readPointer(String name) throws IOException {
        String s = pointerText(name);
        return s != null && s.matches("step-\\d{8}") ? s : null;
    }

    /** What a pointer file holds (trimmed, at most 200 characters), or null when there is none. */
    private String pointerText(String name) throws IOException {
        Path p = root.resolve(name);
        if (!Files.isRegularFile(p)) {
            return null;
        }
        String s = new String(Files.readAllBytes(p), StandardCharsets.UTF_8).trim();
        return s.length() > 60 ? s.substring(0, 60) + "..." : s;
    }

    private void writePointer(String name, String target) throws IOException {
        Path tmp = root.resolve("." + name + ".tmp");
        writeDurably(tmp, (target + "\n").getBytes(StandardCharsets.UTF_8));
        move(tmp, root.resolve(name));
        fsyncDir(root);
    }

    /** Writes bytes to {@code file} and fsyncs it. */
    public static void writeDurably(Path file, byte[] bytes) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            var buf = java.nio.ByteBuffer.wrap(bytes);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            ch.force(true);
        }
    }

    /** Atomically replaces {@code target} with {@code tmp}: a durable write with no torn state. */
    public static void replaceDurably(Path target, byte[] bytes) throws IOException {
        replaceDurably(target, tmp -> writeDurably(tmp, bytes));
    }

    /** Writes a file's bytes. */
    public interface FileWriter {
        void write(Path file) throws IOException;
    }

    /**
     * Atomically replaces {@code target} with what {@code writer} writes (to a temporary sibling,
     * fsynced, renamed): readers see the old file or the new one, never a part; a failure leaves
     * the old file and no temporary behind.
     */
    public static void replaceDurably(Path target, FileWriter writer) throws IOException {
        Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
        try {
            writer.write(tmp);
            move(tmp, target);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        fsyncDir(target.toAbsolutePath().getParent());
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static void fsyncDir(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // some file systems cannot fsync a directory; the rename is still atomic
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
