package dev.lethe.sqlite.internal;

import dev.lethe.core.store.StorageException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * An exclusive lock on a data directory, so that only one process appends to it: the single sequencer
 * is what keeps positions gap-free. The operating system releases it when the process dies.
 */
public final class DirectoryLock implements AutoCloseable {
    private final FileChannel channel;
    private final FileLock lock;

    private DirectoryLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /** How long an open waits for a holder that said it holds the lock briefly (a command line's command). */
    public static final java.time.Duration BRIEF_WAIT = java.time.Duration.ofSeconds(10);

    private static final String BRIEF = "brief";
    /** What a holder that said nothing of itself is: an application, held for as long as it runs. */
    public static final String DEFAULT_HOLDER = "a Lethe process";

    private static volatile String holder = DEFAULT_HOLDER;
    private static volatile boolean brief;

    /**
     * What this process writes into the lock file it holds, so that another process refused the lock can
     * say who holds it (never anything from a command's arguments, which may hold personal data). A
     * {@code brief} holder (a command that opens, works and exits) is waited for, up to {@link
     * #BRIEF_WAIT}, by an open in another process, instead of failing it at once.
     */
    public static void describeHolder(String description, boolean isBrief) {
        holder = description.replaceAll("\\p{Cntrl}", " ");
        brief = isBrief;
    }

    public static DirectoryLock acquire(Path directory) {
        Path file = directory.resolve("lethe.lock");
        long deadline = System.nanoTime() + BRIEF_WAIT.toNanos();
        try {
            while (true) {
                FileChannel channel = open(file);
                FileLock lock;
                try {
                    lock = channel.tryLock();
                } catch (OverlappingFileLockException e) {
                    lock = null;
                }
                if (lock != null) {
                    channel.truncate(0);
                    channel.write(java.nio.ByteBuffer.wrap(
                            (ProcessHandle.current().pid() + "\n" + holder + "\n" + (brief ? BRIEF : "long") + "\n")
                                    .getBytes(java.nio.charset.StandardCharsets.UTF_8)));
                    return new DirectoryLock(channel, lock);
                }
                channel.close();
                List<String> held = heldBy(file);
                boolean waitable = held.size() == 3 && held.get(2).equals(BRIEF);
                if (!waitable || System.nanoTime() > deadline) {
                    throw StorageException.permanent(
                            "data directory " + directory.toAbsolutePath().normalize() + " is in use by "
                                    + (held.size() >= 2
                                            ? held.get(1) + " (pid " + held.get(0) + ")"
                                            : "another Lethe process (or store)")
                                    + ", which holds " + file.getFileName() + "; stop it, or use another --data"
                                    + " directory",
                            null);
                }
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw StorageException.transientFailure("interrupted while waiting for " + file, e);
                }
            }
        } catch (IOException e) {
            throw StorageException.permanent(
                    "cannot lock data directory " + directory.toAbsolutePath().normalize() + ": " + e.getMessage(), e);
        }
    }

    /** The lock file, created {@code rw-------}: a local user who could lock it could stop every writer. */
    private static FileChannel open(Path file) throws IOException {
        try {
            return FileChannel.open(
                    file,
                    java.util.Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE),
                    java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                            java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
        } catch (UnsupportedOperationException notPosix) {
            return FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        }
    }

    /** What the holder wrote: its pid, who it is, and whether it holds the lock briefly; empty if unreadable. */
    private static List<String> heldBy(Path file) {
        try {
            List<String> lines = Files.readAllLines(file, java.nio.charset.StandardCharsets.UTF_8);
            return lines.size() >= 3 ? lines.subList(0, 3) : List.of();
        } catch (IOException | java.io.UncheckedIOException e) {
            return List.of();
        }
    }

    /**
     * Creates the directory {@code rwx------} (plainly on a file system without POSIX modes); fails if it
     * exists.
     */
    public static void createOwnerOnly(Path directory) throws IOException {
        try {
            Files.createDirectory(
                    directory,
                    java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                            java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")));
        } catch (UnsupportedOperationException notPosix) {
            Files.createDirectory(directory);
        }
    }

    /**
     * Creates the directory (and parents) if missing, with a clear error if that is impossible. A
     * directory Lethe creates is its owner's only ({@code rwx------} on POSIX file systems): it will hold
     * the key store, the master key and the log.
     */
    public static void ensureDirectory(Path directory) {
        if (Files.exists(directory) && !Files.isDirectory(directory)) {
            throw StorageException.permanent(
                    "data directory " + directory.toAbsolutePath() + " is a file, not a directory", null);
        }
        try {
            if (!Files.isDirectory(directory)) {
                Path parent = directory.toAbsolutePath().getParent();
                if (parent != null) {
                    Files.createDirectories(parent);
                }
                try {
                    createOwnerOnly(directory);
                } catch (java.nio.file.FileAlreadyExistsException raced) {
                    // Created by another process meanwhile: use it as it is.
                }
            }
        } catch (IOException e) {
            throw StorageException.permanent(
                    "cannot create data directory " + directory.toAbsolutePath() + ": " + e, e);
        }
        if (!Files.isWritable(directory)) {
            throw StorageException.permanent("data directory " + directory.toAbsolutePath() + " is not writable", null);
        }
    }

    @Override
    public void close() {
        try {
            lock.release();
            channel.close();
        } catch (IOException e) {
            // The lock dies with the channel anyway.
        }
    }
}
