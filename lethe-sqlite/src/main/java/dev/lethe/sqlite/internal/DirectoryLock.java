package dev.lethe.sqlite.internal;

import dev.lethe.core.store.StorageException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

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

    public static DirectoryLock acquire(Path directory) {
        Path file = directory.resolve("lethe.lock");
        try {
            FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                channel.close();
                throw StorageException.permanent(
                        "data directory " + directory.toAbsolutePath()
                                + " is in use by another Lethe process (or store) that holds " + file.getFileName()
                                + "; stop it, or use another --data directory",
                        null);
            }
            return new DirectoryLock(channel, lock);
        } catch (IOException e) {
            throw StorageException.permanent("cannot lock data directory " + directory.toAbsolutePath() + ": " + e, e);
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
