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

    private final Object file;
    private final Path path;

    /**
     * The lock files this JVM holds. A POSIX lock belongs to the process, and closing any descriptor of
     * the file releases it: a second open in this JVM must not so much as open the file, or its refusal
     * would free the directory for another process's writer.
     */
    private static final java.util.Set<Object> HELD = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /**
     * Channels of a lock file this JVM already held under another identity (another class loader's copy of
     * Lethe): kept open, since closing one would release the lock the other holds.
     */
    private static final java.util.List<FileChannel> KEPT_OPEN = new java.util.concurrent.CopyOnWriteArrayList<>();

    private DirectoryLock(FileChannel channel, FileLock lock, Object file, Path path) {
        this.channel = channel;
        this.lock = lock;
        this.file = file;
        this.path = path;
    }

    /**
     * Checks that the lock file this process holds is still the directory's {@code lethe.lock}. Deleted (it
     * outlives every process, and looks like a stale pid file) or replaced, it no longer keeps other
     * writers out: another process may have taken a new one and be appending, and two sequencers break
     * the log (positions, versions, what an acknowledgement means). Called by the writer before each commit.
     *
     * @throws StorageException permanent when the file is gone or is another file; transient when it cannot
     *     be looked at (an I/O error, a permission): the append waits for an answer, the writer is not fenced
     */
    public void requireHeld() {
        Object now;
        try {
            // Links followed, as when the lock was taken (held): a lethe.lock that is a link is its target.
            java.nio.file.attribute.BasicFileAttributes attributes =
                    Files.readAttributes(path, java.nio.file.attribute.BasicFileAttributes.class);
            now = attributes.fileKey() != null ? attributes.fileKey() : path.toRealPath();
            if (file instanceof Path && attributes.fileKey() != null) {
                now = file; // identified by its path when taken (its key could not be read then): only its loss tells
            }
        } catch (java.nio.file.NoSuchFileException e) {
            now = null;
        } catch (IOException e) {
            throw StorageException.transientFailure(
                    "cannot check that " + path.toAbsolutePath().normalize() + " is still this process's lock ("
                            + e.getClass().getSimpleName() + ": " + e.getMessage() + "): append not stored; try again",
                    e);
        }
        if (!file.equals(now)) {
            throw StorageException.permanent(
                    path.toAbsolutePath().normalize() + " was " + (now == null ? "deleted" : "replaced")
                            + " while this process (pid "
                            + ProcessHandle.current().pid() + ") held it: another"
                            + " process may be writing to this data directory now, and two writers would corrupt the"
                            + " log. This process appends nothing more: stop it and every other Lethe process on the"
                            + " directory, check it (lethe keys check, lethe stats), then start one writer again."
                            + " Never delete lethe.lock: it stays after every process, and the next writer takes it"
                            + " over",
                    null);
        }
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
        Object key = held(file);
        if (!HELD.add(key)) {
            throw StorageException.permanent(
                    "data directory " + directory.toAbsolutePath().normalize() + " is in use by this process (pid "
                            + ProcessHandle.current().pid() + "), which holds "
                            + file.getFileName() + "; close its store first, or use another directory",
                    null);
        }
        try {
            return acquireHeld(directory, file, deadline, key);
        } catch (RuntimeException e) {
            HELD.remove(key);
            throw e;
        }
    }

    /**
     * The lock file's identity in {@link #HELD}: the file system's key for it (device and inode), so that one
     * directory reached by two paths (a link, a bind mount) is one; created first, owner-only, if missing
     * (creating it opens no descriptor of a file this JVM could hold: it did not exist). The real path
     * where the file system gives no key.
     */
    private static Object held(Path file) {
        try {
            try {
                Files.createFile(
                        file,
                        java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                                java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
            } catch (java.nio.file.FileAlreadyExistsException exists) {
                // Held or not, it is there.
            } catch (UnsupportedOperationException notPosix) {
                try {
                    Files.createFile(file);
                } catch (java.nio.file.FileAlreadyExistsException exists) {
                    // As above.
                }
            }
            Object key = Files.readAttributes(file, java.nio.file.attribute.BasicFileAttributes.class)
                    .fileKey();
            return key != null ? key : file.toRealPath();
        } catch (IOException e) {
            return file.toAbsolutePath().normalize();
        }
    }

    private static DirectoryLock acquireHeld(Path directory, Path file, long deadline, Object key) {
        try {
            while (true) {
                FileChannel channel = open(file);
                FileLock lock;
                try {
                    lock = channel.tryLock();
                } catch (OverlappingFileLockException heldHere) {
                    // Held in this JVM under another identity: closing this channel would release that lock.
                    KEPT_OPEN.add(channel);
                    throw StorageException.permanent(
                            "data directory " + directory.toAbsolutePath().normalize() + " is in use by this process"
                                    + " (pid " + ProcessHandle.current().pid() + "), which holds "
                                    + file.getFileName() + "; close its store first, or use another directory",
                            null);
                }
                if (lock != null) {
                    try {
                        channel.truncate(0);
                        channel.write(java.nio.ByteBuffer.wrap(
                                (ProcessHandle.current().pid() + "\n" + holder + "\n" + (brief ? BRIEF : "long") + "\n"
                                                + "(Lethe's directory lock: it stays after every process, and the next writer takes"
                                                + " it over. Never delete it: a writer that still runs would stop appending.)\n")
                                        .getBytes(java.nio.charset.StandardCharsets.UTF_8)));
                    } catch (IOException | RuntimeException e) {
                        channel.close(); // releases the lock: the directory is not left locked by a failed open
                        throw e;
                    }
                    return new DirectoryLock(channel, lock, key, file);
                }
                channel.close();
                List<String> held = heldBy(file);
                // Waited for: a brief holder; and one not yet described (it writes its lines just after taking
                // the lock), or described by a process that is gone (stale lines from before).
                boolean waitable = held.isEmpty() || held.get(2).equals(BRIEF) || !alive(held.get(0));
                if (!waitable || System.nanoTime() > deadline) {
                    throw StorageException.permanent(
                            "data directory " + directory.toAbsolutePath().normalize() + " is in use by "
                                    + (held.size() >= 2 && alive(held.get(0))
                                            ? held.get(1) + " (pid " + held.get(0) + ")"
                                            : held.size() >= 2
                                                    // The lines are a gone process's: the holder wrote none.
                                                    ? "a process that did not say which (the pid noted, "
                                                            + held.get(0) + ", is gone; /proc/locks, or lsof "
                                                            + file + ", names the holder)"
                                                    : "another Lethe process (or store)")
                                    + ", which holds " + file.getFileName() + "; stop it, or use another data"
                                    + " directory"
                                    + (held.size() >= 2
                                                    && alive(held.get(0))
                                                    && held.get(1).startsWith("lethe serve")
                                            ? " (a running server takes appends, forgets, scheduled forgets,"
                                                    + " subject lookups, exports and schema registrations over HTTP, docs/api.md; what it does not"
                                                    + " offer needs it stopped)"
                                            : ""),
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
                    "cannot lock data directory " + directory.toAbsolutePath().normalize() + ": " + e.getMessage()
                            + (e instanceof java.nio.file.AccessDeniedException ? Sql.ownership(file) : ""),
                    e);
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

    private static boolean alive(String pid) {
        try {
            return ProcessHandle.of(Long.parseLong(pid.trim()))
                    .map(ProcessHandle::isAlive)
                    .orElse(false);
        } catch (NumberFormatException e) {
            return false;
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
            if (Sql.onReadOnlyFileSystem(directory)) {
                // Not a matter of owners: chown would not help.
                throw StorageException.permanent(
                        "data directory " + directory.toAbsolutePath() + " is on a read-only file system: mount it"
                                + " read-write to write (reading commands work as it is)",
                        null);
            }
            throw StorageException.permanent(
                    "data directory " + directory.toAbsolutePath() + " is not writable" + Sql.ownership(directory),
                    null);
        }
    }

    /**
     * Refuses, by name, a file of the store that this user may not read or write (a directory restored as
     * root and run as a service user), rather than as SQLite's {@code SQLITE_READONLY} at the first write.
     * Once per writer open of a data directory.
     */
    public static void requireStoreFilesUsable(Path directory) {
        for (String name : STORE_FILES) {
            Path file = directory.resolve(name);
            if (Files.exists(file, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                    && !(Files.isReadable(file) && Files.isWritable(file))) {
                throw StorageException.permanent(
                        file.toAbsolutePath() + " is not " + (Files.isReadable(file) ? "writable" : "readable")
                                + Sql.ownership(file),
                        null);
            }
        }
    }

    /** The files a writer opens in the data directory. */
    private static final java.util.List<String> STORE_FILES = java.util.List.of(
            "events.db",
            "events.db-wal",
            "events.db-shm",
            "keys.db",
            "keys.db-wal",
            "keys.db-shm",
            "projections.db",
            "projections.db-wal",
            "projections.db-shm",
            "lethe.lock");

    @Override
    public void close() {
        try {
            lock.release();
        } catch (IOException e) {
            // The lock dies with the channel anyway.
        }
        try {
            channel.close();
        } catch (IOException e) {
            // Closed or not, nothing was written through it since the pid.
        } finally {
            HELD.remove(file);
        }
    }
}
