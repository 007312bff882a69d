package dev.lethe.sqlite;

import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.StorageException;
import dev.lethe.sqlite.internal.Sql;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * A consistent copy of a data directory, taken while a writer goes on (a running {@code lethe serve}
 * included): each database is copied with SQLite's {@code VACUUM INTO}, a snapshot of one read
 * transaction, through a connection that only reads, and checked with {@code PRAGMA quick_check}.
 *
 * <p>The files are copied in an order that keeps the guarantees: {@code projections.db} first, so that
 * no read model's checkpoint is ahead of the copied log (it catches up after a restore); then {@code
 * events.db}; {@code keys.db} last. Every event in the copy was appended after its subject's key was
 * committed, so the later {@code keys.db} holds it, unless the subject was forgotten (or its period
 * expired) in between, which the copy then shows as forgotten; the receipts of such forgets are marked
 * unaudited in the copy, so that its first writer open writes their audit entries. The copy is written
 * into a hidden sibling directory and renamed into place at the end, the target name claimed from the
 * start: a failed backup leaves nothing under the target name.
 *
 * <p>The master key is never copied: a keyset file (in the data directory or in {@code
 * --master-key-dir}) should be kept apart from the backups, since the two together decrypt everything
 * the backup holds; a PKCS#11 token stays where it is. {@link Result#masterKey()} says where it is.
 */
public final class SqliteBackup {
    private SqliteBackup() {}

    /** The databases, in the order they are copied (see the class comment). */
    static final List<String> DATABASES =
            List.of(SqliteProjectionStore.FILE_NAME, SqliteEventStore.FILE_NAME, SqliteKeyStore.FILE_NAME);

    /** One file of a backup, and its size in the backup. */
    public record Copied(String file, long bytes) {}

    /**
     * What a backup holds: its directory, its files, the head position of its log, and where the master
     * key it needs is (not in the backup): a keyset file's path, or a PKCS#11 token's labels; and a
     * warning when the copy, like its directory, cannot be opened.
     */
    public record Result(
            Path target,
            List<Copied> files,
            long headPosition,
            String masterKey,
            boolean inToken,
            Optional<String> warning) {}

    /**
     * Copies the data directory {@code directory} into the new directory {@code target} (which must not
     * exist, and must not be inside {@code directory}); reports each file to {@code progress} as it
     * starts. A backup stopped by a signal removes its partial copy; one killed outright leaves it, in
     * {@code .TARGET.partial-*} beside the target, which the next backup to the same target deletes.
     *
     * @throws InvalidEventException for a bad target
     * @throws StorageException if the directory holds no event store, or a file cannot be read or
     *     written (nothing is left at the target)
     */
    public static Result take(Path directory, Path target, Consumer<String> progress) {
        if (!Files.isRegularFile(directory.resolve(SqliteEventStore.FILE_NAME))) {
            throw StorageException.permanent(
                    "no Lethe event store in " + directory.toAbsolutePath().normalize() + " ("
                            + SqliteEventStore.FILE_NAME + " not found)",
                    null);
        }
        Path to = target.toAbsolutePath().normalize();
        Path parent = to.getParent();
        if (parent == null || !Files.isDirectory(parent) || !Files.isWritable(parent)) {
            throw InvalidEventException.of(
                    "backup directory", "cannot create " + to + ": its parent does not exist or is not writable");
        }
        Path data = realPath(directory);
        if (realPath(parent).resolve(to.getFileName()).startsWith(data)) {
            throw InvalidEventException.of(
                    "backup directory", to + " is inside the data directory " + data + "; keep backups elsewhere");
        }
        String hidden = "." + to.getFileName() + ".partial-";
        // Those of earlier backups to other names too (a dated name per run is never used again): each may
        // hold a whole keys.db, with the keys of subjects forgotten since.
        deleteAbandonedPartials(parent);
        Partials partials = deleteStalePartials(parent, hidden);
        if (partials.deleted() && !partials.running() && isEmptyDirectory(to)) {
            deleteEmpty(to); // the claim of a backup killed outright, whose partial copy was just deleted
        }
        if (Files.exists(to, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            throw InvalidEventException.of(
                    "backup directory", to + " already exists; name a new directory (a backup never overwrites)");
        }
        Path partial = parent.resolve(hidden + UUID.randomUUID());
        boolean[] claimed = {false};
        java.nio.channels.FileChannel inProgress = null;
        Thread cleanup = new Thread(() -> abandon(partial, to, claimed[0]), "lethe-backup-cleanup");
        try {
            // Claimed first: a directory created at the target meanwhile fails the backup, not replaced.
            dev.lethe.sqlite.internal.DirectoryLock.createOwnerOnly(to);
            claimed[0] = true;
            dev.lethe.sqlite.internal.DirectoryLock.createOwnerOnly(partial);
            inProgress = java.nio.channels.FileChannel.open(
                    partial.resolve(IN_PROGRESS),
                    java.nio.file.StandardOpenOption.CREATE_NEW,
                    java.nio.file.StandardOpenOption.WRITE);
            inProgress.lock(); // held while the copy is made: another backup to this target leaves it alone
            RUNNING.add(partial); // a lock is the process's: this process's other backups look here
            Runtime.getRuntime().addShutdownHook(cleanup);
            List<String> databases = new ArrayList<>();
            for (String name : DATABASES) {
                Path source = directory.resolve(name);
                if (Files.isRegularFile(source)) {
                    progress.accept(name);
                    copyDatabase(source, partial.resolve(name));
                    databases.add(name);
                }
            }
            Path policy = directory.resolve(SqliteLethe.POLICY_FILE);
            if (Files.isRegularFile(policy)) {
                progress.accept(SqliteLethe.POLICY_FILE);
                Files.copy(policy, partial.resolve(SqliteLethe.POLICY_FILE));
                restrictToOwner(partial.resolve(SqliteLethe.POLICY_FILE));
            }
            long head = headPosition(partial.resolve(SqliteEventStore.FILE_NAME));
            String masterKey = "none yet (the store holds no keys)";
            Optional<String> warning = Optional.empty();
            if (Files.isRegularFile(partial.resolve(SqliteKeyStore.FILE_NAME))) {
                CopiedKeys keys = auditForgetsMadeDuringTheCopy(partial, directory);
                masterKey = keys.masterKey();
                if (keys.changePending() || masterKeyChangedSince(directory, keys.trailEnd())) {
                    warning = Optional.of("a master-key rotation or move was under way while this backup was taken,"
                            + " or had been stopped before it finished (lethe keys rotate finishes it): its keys.db may"
                            + " hold keys wrapped by an epoch that the rotation destroys. Check it with lethe keys check"
                            + " (with the master key beside it), or take a new backup once the rotation is done");
                }
            } else if (hasSchemas(partial)) {
                warning = Optional.of(SqliteKeyStore.FILE_NAME + " is missing from " + data + ", though its log"
                        + " holds event schemas: this backup, like the directory, cannot be opened (docs/privacy.md"
                        + " §9, Restoring)");
            }
            List<Copied> files = new ArrayList<>();
            for (String name : databases) {
                toRollbackJournal(partial.resolve(name));
                files.add(new Copied(name, Files.size(partial.resolve(name))));
            }
            if (Files.isRegularFile(partial.resolve(SqliteLethe.POLICY_FILE))) {
                files.add(new Copied(SqliteLethe.POLICY_FILE, Files.size(partial.resolve(SqliteLethe.POLICY_FILE))));
            }
            // The marker goes while its lock is still held: once unlocked, an old marker tells another backup
            // that this copy was abandoned. Without it, the copy (just modified) is left alone for a minute.
            Files.delete(partial.resolve(IN_PROGRESS));
            inProgress.close();
            // Replaces the empty directory claimed above.
            try {
                Files.move(partial, to, StandardCopyOption.ATOMIC_MOVE);
            } catch (java.nio.file.FileSystemException e) {
                if (isEmptyDirectory(to) || !Files.exists(to)) {
                    throw e;
                }
                claimed[0] = false; // not ours any more
                throw InvalidEventException.of(
                        "backup directory", to + " was filled meanwhile by something else; nothing was written there");
            }
            return new Result(
                    to, List.copyOf(files), head, masterKey, masterKey.startsWith(LABELLED_IN_TOKEN), warning);
        } catch (java.nio.file.FileAlreadyExistsException e) {
            abandon(partial, to, claimed[0]);
            throw InvalidEventException.of(
                    "backup directory",
                    e.getFile() + " was created meanwhile; name a new directory (a backup never overwrites)");
        } catch (IOException e) {
            abandon(partial, to, claimed[0]);
            throw StorageException.permanent("cannot write the backup " + to + ": " + e, e);
        } catch (RuntimeException e) {
            abandon(partial, to, claimed[0]);
            throw e;
        } finally {
            RUNNING.remove(partial);
            closeQuietly(inProgress);
            try {
                Runtime.getRuntime().removeShutdownHook(cleanup);
            } catch (IllegalStateException | IllegalArgumentException shuttingDownOrNeverAdded) {
                // The hook runs, or was never added.
            }
        }
    }

    /**
     * Marks as not yet audited, in the copy of {@code keys.db}, the erasure receipts whose
     * {@code SubjectForgotten} entry is not in the copy's log: forgets made after {@code events.db} was
     * copied and before {@code keys.db} was. The copy's first writer open then writes their entries
     * ({@code recovered: true}), so that its audit trail records every erasure its key store holds.
     * Returns where the master key is ({@link Result#masterKey()}).
     */
    private static CopiedKeys auditForgetsMadeDuringTheCopy(Path copy, Path directory) {
        java.util.Set<String> inTrail = new java.util.HashSet<>();
        boolean[] changePending = {false};
        long end = readTrail(copy, 0, entry -> {
            switch (entry.type()) {
                case "SubjectForgotten" ->
                    inTrail.add(entry.data().asTree().path("receipt").asText());
                case "MasterKeyRotationStarted", "MasterKeyMoveStarted" -> changePending[0] = true;
                case "MasterKeyRotated", "MasterKeyRotationAbandoned", "MasterKeyMoved" -> changePending[0] = false;
                default -> {}
            }
        });
        try (SqliteKeyStore keys = SqliteKeyStore.open(copy)) {
            List<UUID> missing = keys.receipts().stream()
                    .map(dev.lethe.core.privacy.keys.ErasureReceipt::id)
                    .filter(id -> !inTrail.contains(id.toString()))
                    .toList();
            keys.markUnaudited(missing);
            // keys.db is copied after events.db: a writer that opened or closed in between noted a longer audit
            // trail than the copy's log holds, which a restore of this (consistent) copy would take for an
            // events.db older than its keys.db. The copy's note is its own log's end at most.
            keys.note(dev.lethe.core.privacy.PrivateEventStore.FORGETS_CHECKED_NOTE)
                    .filter(noted -> noted.matches("[0-9]{1,18}") && Long.parseLong(noted) > end)
                    .ifPresent(noted -> keys.setNote(
                            dev.lethe.core.privacy.PrivateEventStore.FORGETS_CHECKED_NOTE, Long.toString(end)));
            // So is its note of the log's head (appends between the two copies moved it past the copied log).
            long head;
            try (SqliteEventStore events = SqliteEventStore.openReadOnly(copy)) {
                head = events.headPosition();
            }
            keys.note(dev.lethe.core.privacy.PrivateEventStore.LOG_HEAD_NOTE)
                    .filter(noted -> noted.matches("[0-9]{1,18}") && Long.parseLong(noted) > head)
                    .ifPresent(noted ->
                            keys.setNote(dev.lethe.core.privacy.PrivateEventStore.LOG_HEAD_NOTE, Long.toString(head)));
            return new CopiedKeys(masterKey(keys, directory), changePending[0], end);
        }
    }

    /** Where the copy's master key is, whether a key change was under way in its log, and its trail's end. */
    private record CopiedKeys(String masterKey, boolean changePending, long trailEnd) {}

    /**
     * Whether the source's audit trail, after version {@code from} (the copy's end), shows a master-key
     * rotation or move started while the copy was being made.
     */
    private static boolean masterKeyChangedSince(Path directory, long from) {
        boolean[] started = {false};
        readTrail(directory, from, entry -> {
            if (entry.type().equals("MasterKeyRotationStarted") || entry.type().equals("MasterKeyMoveStarted")) {
                started[0] = true;
            }
        });
        return started[0];
    }

    /** Reads the {@code $audit} stream of a data directory, read-only, from a version; returns its end. */
    private static long readTrail(Path directory, long from, Consumer<dev.lethe.core.store.RecordedEvent> reader) {
        try (SqliteEventStore events = SqliteEventStore.openReadOnly(directory)) {
            while (true) {
                List<dev.lethe.core.store.RecordedEvent> page = events.readStream(
                        dev.lethe.core.privacy.AuditLog.STREAM,
                        from,
                        dev.lethe.core.store.Direction.FORWARD,
                        dev.lethe.core.store.EventStore.MAX_READ_LIMIT);
                page.forEach(reader);
                from += page.size();
                if (page.size() < dev.lethe.core.store.EventStore.MAX_READ_LIMIT) {
                    return from;
                }
            }
        }
    }

    private static boolean hasSchemas(Path copy) {
        try (SqliteEventStore events = SqliteEventStore.openReadOnly(copy)) {
            return events.streamInfo(dev.lethe.core.privacy.SchemaRegistry.STREAM)
                    .exists();
        }
    }

    /** The file a running backup holds locked in its partial copy. */
    private static final String IN_PROGRESS = ".backup-in-progress";

    /**
     * Deletes what backups to the same target killed outright left (each may hold a whole copy of
     * keys.db); a partial copy whose {@value #IN_PROGRESS} file is locked belongs to a running backup
     * and stays. Returns whether it deleted any.
     */
    private static Partials deleteStalePartials(Path parent, String hidden) {
        boolean deleted = false;
        boolean running = false;
        try (Stream<Path> siblings = Files.list(parent)) {
            for (Path partial : siblings.filter(p -> p.getFileName().toString().startsWith(hidden))
                    .toList()) {
                if (running(partial)) {
                    running = true;
                } else {
                    deleteQuietly(partial);
                    deleted = true;
                }
            }
        } catch (IOException e) {
            // Listed only to tidy up: the backup itself goes on.
        }
        return new Partials(deleted, running);
    }

    private static final java.util.regex.Pattern PARTIAL = java.util.regex.Pattern.compile(
            "\\.(.+)\\.partial-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

    /**
     * Deletes every partial copy in {@code parent} that no running backup holds, whatever its target's
     * name, and the empty claim of its target (what a backup killed outright leaves).
     */
    private static void deleteAbandonedPartials(Path parent) {
        java.util.Set<String> claims = new java.util.HashSet<>();
        java.util.Set<String> live = new java.util.HashSet<>();
        try (Stream<Path> siblings = Files.list(parent)) {
            for (Path partial : siblings.toList()) {
                java.util.regex.Matcher name =
                        PARTIAL.matcher(partial.getFileName().toString());
                if (!name.matches() || !Files.isDirectory(partial, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    continue;
                }
                if (running(partial) || justStarted(partial)) {
                    live.add(name.group(1));
                } else {
                    deleteQuietly(partial);
                    claims.add(name.group(1));
                }
            }
        } catch (IOException e) {
            return; // listed only to tidy up: the backup itself goes on
        }
        for (String claim : claims) {
            Path target = parent.resolve(claim);
            if (!live.contains(claim) && isEmptyDirectory(target)) {
                deleteEmpty(target);
            }
        }
    }

    /**
     * A partial copy another backup may be starting: it creates the directory, then its marker, then locks
     * the marker. One without its marker yet is left alone for a minute; one whose marker is there and
     * unlocked (checked by {@link #running} first) for two seconds only, so that a backup run just after
     * another was killed outright tidies it up.
     */
    private static boolean justStarted(Path partial) {
        Path marker = partial.resolve(IN_PROGRESS);
        return Files.isRegularFile(marker, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                ? modifiedWithin(marker, 2)
                : modifiedWithin(partial, 60);
    }

    private static boolean modifiedWithin(Path path, long seconds) {
        try {
            return Files.getLastModifiedTime(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                    .toInstant()
                    .isAfter(java.time.Instant.now().minusSeconds(seconds));
        } catch (IOException e) {
            return true;
        }
    }

    /** Whether stale partial copies were deleted, and whether a running backup's was seen. */
    private record Partials(boolean deleted, boolean running) {}

    /** This process's backups in progress (a lock file's lock is released by any close in the process). */
    private static final java.util.Set<Path> RUNNING = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private static boolean running(Path partial) {
        if (RUNNING.contains(partial)) {
            return true;
        }
        Path marker = partial.resolve(IN_PROGRESS);
        if (!Files.isRegularFile(marker)) {
            return false;
        }
        try (java.nio.channels.FileChannel channel =
                java.nio.channels.FileChannel.open(marker, java.nio.file.StandardOpenOption.WRITE)) {
            return channel.tryLock() == null;
        } catch (java.nio.channels.OverlappingFileLockException inThisProcess) {
            return true;
        } catch (IOException e) {
            return true; // not known to be stale: leave it
        }
    }

    private static boolean isEmptyDirectory(Path directory) {
        if (!Files.isDirectory(directory, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        try (Stream<Path> entries = Files.list(directory)) {
            return entries.findAny().isEmpty();
        } catch (IOException e) {
            return false;
        }
    }

    private static void closeQuietly(java.nio.channels.FileChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // Closing releases the lock; nothing to report.
            }
        }
    }

    /** Deletes the partial copy, and the target's claim if this backup made it (it is empty). */
    private static void abandon(Path partial, Path target, boolean claimed) {
        deleteQuietly(partial);
        if (claimed) {
            deleteEmpty(target);
        }
    }

    private static void deleteEmpty(Path directory) {
        try {
            Files.deleteIfExists(directory);
        } catch (IOException notEmptyOrGone) {
            // Not ours to delete any more.
        }
    }

    private static String freeBytes(Path file) {
        try {
            return String.format(
                    "%,d", Files.getFileStore(file.toAbsolutePath().getParent()).getUsableSpace());
        } catch (IOException unknown) {
            return "an unknown number of";
        }
    }

    /** A snapshot of {@code source} in the new file {@code copy}, checked, owner-only. */
    private static void copyDatabase(Path source, Path copy) throws IOException {
        // Owner-only from its first byte (VACUUM INTO writes into an empty file): a backup killed during the
        // copy leaves a partial keys.db that no one else may read.
        Files.createFile(copy);
        restrictToOwner(copy);
        try (Connection connection = readOnly(source)) {
            // VACUUM INTO builds the copy with its source connection's secure_delete: without it, a root page
            // that grew into an interior page keeps its former cells (wrapped subject keys, blind-index
            // entries) in its free space, where a forget in the restored copy, which deletes the live rows
            // only, never reaches them (35 stale keys in a copy of 1,000).
            try (Statement secureDelete = connection.createStatement()) {
                secureDelete.execute("PRAGMA secure_delete = ON");
            }
            try (PreparedStatement vacuum = connection.prepareStatement("VACUUM INTO ?")) {
                vacuum.setString(1, copy.toString());
                vacuum.execute();
            }
        } catch (SQLException e) {
            // A full disk is the copy's (the source is only read): say which, and how much it has left.
            boolean full = e.getMessage() != null && e.getMessage().contains("SQLITE_FULL");
            throw Sql.translate(
                    "cannot copy " + source + " to " + copy
                            + (full
                                    ? " (" + copy.toAbsolutePath().getParent() + " has " + freeBytes(copy)
                                            + " bytes free: is it full?)"
                                    : ""),
                    e);
        }
        restrictToOwner(copy);
        try (Connection connection = readOnly(copy);
                Statement statement = connection.createStatement();
                ResultSet rs = statement.executeQuery("PRAGMA quick_check")) {
            String verdict = rs.next() ? rs.getString(1) : "no answer";
            if (!"ok".equals(verdict)) {
                throw StorageException.permanent("the copy of " + source + " failed its check: " + verdict, null);
            }
        } catch (SQLException e) {
            throw Sql.translate("cannot check the copy of " + source, e);
        }
    }

    /**
     * Puts a finished copy in SQLite's rollback-journal mode. A copy of a database in WAL mode is in WAL
     * mode, and reading it would need a {@code -shm} file beside it, which cannot be made on a read-only
     * medium (a mount, a snapshot). The copy is whole, so nothing is lost; the writer that opens it once
     * restored puts it in WAL mode again.
     */
    private static void toRollbackJournal(Path copy) {
        try (Connection connection = readOnly(copy);
                Statement statement = connection.createStatement()) {
            statement.execute("PRAGMA journal_mode = DELETE");
        } catch (SQLException e) {
            throw Sql.translate("cannot finish the copy " + copy, e);
        }
    }

    /**
     * A connection that only reads ({@code VACUUM INTO}, {@code quick_check}, a {@code SELECT}). Not a
     * read-only connection: that one cannot remove the {@code -wal} and {@code -shm} files it finds
     * missing and creates, so a backup of a stopped store would leave them in its directory; and not
     * {@code query_only}, under which SQLite refuses {@code VACUUM INTO}.
     */
    private static Connection readOnly(Path file) throws SQLException {
        org.sqlite.SQLiteConfig config = new org.sqlite.SQLiteConfig();
        config.setBusyTimeout(10_000);
        return DriverManager.getConnection(Sql.url(file), config.toProperties());
    }

    private static long headPosition(Path events) {
        try (Connection connection = readOnly(events);
                Statement statement = connection.createStatement();
                ResultSet rs = statement.executeQuery("SELECT max(position) FROM events")) {
            long max = rs.getLong(1);
            return rs.wasNull() ? -1 : max;
        } catch (SQLException e) {
            throw Sql.translate("cannot read the copy of " + events, e);
        }
    }

    private static final String LABELLED_IN_TOKEN = "the PKCS#11 token's keys labelled lethe-master-";

    /** Where the master key the backup needs is, from the copy of keys.db's note. */
    private static String masterKey(SqliteKeyStore copy, Path directory) {
        Optional<String> noted = copy.note(SqliteLethe.KEYSET_NOTE);
        Optional<String> storeId = copy.note(SqliteLethe.STORE_ID_NOTE);
        String keyset = noted.orElse(SqliteLethe.IN_DATA_DIRECTORY);
        if (keyset.equals(SqliteLethe.IN_PKCS11_TOKEN)) {
            return LABELLED_IN_TOKEN + storeId.orElse("<store id>") + "-<epoch>";
        }
        if (keyset.equals(SqliteLethe.IN_DATA_DIRECTORY)) {
            return directory
                    .toAbsolutePath()
                    .normalize()
                    .resolve(dev.lethe.core.privacy.keys.LocalMasterKey.FILE_NAME)
                    .toString();
        }
        return keyset;
    }

    private static Path realPath(Path path) {
        try {
            return path.toRealPath();
        } catch (IOException e) {
            return path.toAbsolutePath().normalize();
        }
    }

    private static void restrictToOwner(Path file) throws IOException {
        try {
            Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException notPosix) {
            // The owner-only directory is the protection there.
        }
    }

    private static void deleteQuietly(Path directory) {
        if (!Files.exists(directory)) {
            return;
        }
        try (Stream<Path> files = Files.walk(directory)) {
            for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(file);
            }
        } catch (IOException | java.io.UncheckedIOException e) {
            // Best effort: the partial directory is hidden and named as such.
        }
    }
}
