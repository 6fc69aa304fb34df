package slt;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;

/**
 * An OS file lock that one process holds while it works in a directory (a run being trained, a
 * sweep being run), with the holder's pid written in the file for messages. The OS releases it
 * when the process ends, however it ends, so a killed process never leaves a stale lock.
 */
public final class ProcessLock implements AutoCloseable {
    private final FileChannel channel;

    private ProcessLock(FileChannel channel) {
        this.channel = channel;
    }

    /**
     * Takes {@code file}'s lock for this process; empty when another process (or this one) holds
     * it. An IOException means the file system cannot lock (some cluster mounts).
     */
    public static Optional<ProcessLock> tryTake(Path file) throws IOException {
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        try {
            if (!tryLock(ch)) {
                ch.close();
                return Optional.empty();
            }
            ch.truncate(0);
            ch.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)));
            return Optional.of(new ProcessLock(ch));
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** Whether some process (this one included) holds {@code file}'s lock. */
    public static boolean held(Path file) {
        if (!Files.exists(file)) {
            return false;
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            return !tryLock(ch); // closing the channel releases a lock taken here
        } catch (IOException e) { // no locks on this file system: nobody can hold one
            return false;
        }
    }

    /** " (pid N)" from the lock file, or "" when it names none. */
    public static String holder(Path file) {
        try {
            String pid = Files.readString(file, StandardCharsets.US_ASCII).strip();
            return pid.matches("[0-9]+") ? " (pid " + pid + ")" : "";
        } catch (IOException e) {
            return "";
        }
    }

    private static boolean tryLock(FileChannel ch) throws IOException {
        try {
            return ch.tryLock() != null;
        } catch (OverlappingFileLockException e) { // held by this JVM
            return false;
        }
    }

    /** Gives the lock back. */
    @Override
    public void close() throws IOException {
        channel.close();
    }
}
