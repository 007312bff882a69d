package dev.lethe.sqlite;

import dev.lethe.core.spi.AppendRules;
import dev.lethe.core.spi.HeadSignal;
import dev.lethe.core.store.AppendResult;
import dev.lethe.core.store.Direction;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.EventStore;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.LetheException;
import dev.lethe.core.store.RecordedEvent;
import dev.lethe.core.store.StorageException;
import dev.lethe.core.store.StreamAppend;
import dev.lethe.core.store.StreamId;
import dev.lethe.core.store.StreamInfo;
import dev.lethe.sqlite.internal.CheckpointThread;
import dev.lethe.sqlite.internal.DirectoryLock;
import dev.lethe.sqlite.internal.EventSchema;
import dev.lethe.sqlite.internal.Readers;
import dev.lethe.sqlite.internal.Sequencer;
import dev.lethe.sqlite.internal.Sql;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The embedded engine: the log in {@code events.db} in a data directory, SQLite in WAL mode with
 * {@code synchronous=FULL}. An append returns once its transaction is on disk; concurrent appends are
 * committed together by one sequencer thread (group commit), which also makes positions gap-free.
 * Reopening after a crash needs no manual step: SQLite replays or discards its WAL, and the store
 * resumes after the last committed position.
 *
 * <p>One process at a time may open a data directory: a second {@link #open} fails with a clear error.
 */
public final class SqliteEventStore implements EventStore {
    public static final String FILE_NAME = "events.db";

    private static final String BY_STREAM_FORWARD =
            "SELECT " + Readers.COLUMNS + " FROM events WHERE stream_id = ? AND version >= ? ORDER BY version LIMIT ?";
    private static final String BY_STREAM_BACKWARD = "SELECT " + Readers.COLUMNS
            + " FROM events WHERE stream_id = ? AND version <= ? ORDER BY version DESC LIMIT ?";
    private static final String BY_STREAM_AS_OF = "SELECT " + Readers.COLUMNS
            + " FROM events WHERE stream_id = ? AND version >= ? AND recorded_at <= ? ORDER BY version LIMIT ?";
    private static final String ALL =
            "SELECT " + Readers.COLUMNS + " FROM events WHERE position >= ? ORDER BY position LIMIT ?";
    private static final String BY_CATEGORY =
            "SELECT " + Readers.COLUMNS + " FROM events WHERE category = ? AND position >= ? ORDER BY position LIMIT ?";
    // A loose index scan: one seek of events_by_stream per stream, so a page costs its streams, not
    // their events (SELECT DISTINCT would walk every event of every stream on the page).
    private static final String STREAM_IDS = """
            WITH RECURSIVE ids(id) AS (
              SELECT (SELECT min(stream_id) FROM events WHERE stream_id > ?)
              UNION ALL
              SELECT (SELECT min(stream_id) FROM events WHERE stream_id > ids.id) FROM ids WHERE ids.id IS NOT NULL
              LIMIT ?)
            SELECT id FROM ids WHERE id IS NOT NULL""";
    private static final String STREAM_END =
            "SELECT version, recorded_at FROM events WHERE stream_id = ? ORDER BY version %s LIMIT 1";

    /** How often a read-only store looks for appends made by the process that writes. */
    public static final Duration READ_ONLY_POLL_INTERVAL = Duration.ofMillis(100);

    private final Path directory;
    private final DirectoryLock lock;
    private final Connection writer;
    private final Sequencer sequencer;
    private final Thread worker;
    private final Readers readers;
    private final HeadSignal head;
    private final CheckpointThread checkpoints;
    private volatile boolean closed;
    /**
     * Completes {@link #appendAsync}'s futures, off the writer thread. Not the common pool: with fewer
     * than three cores it has no threads, and CompletableFuture would start one per completion. Not a
     * single thread either: a callback that waits for another append's future would wait for itself.
     * Idle threads are reused, so one thread usually does it all.
     */
    private final ExecutorService completions = Executors.newCachedThreadPool(task -> {
        Thread thread = new Thread(task, "lethe-completions");
        thread.setDaemon(true);
        return thread;
    });

    private SqliteEventStore(
            Path directory,
            DirectoryLock lock,
            Connection writer,
            Sequencer sequencer,
            HeadSignal head,
            Readers readers,
            CheckpointThread checkpoints) {
        this.directory = directory;
        this.lock = lock;
        this.writer = writer;
        this.sequencer = sequencer;
        this.head = head;
        this.readers = readers;
        this.checkpoints = checkpoints;
        this.worker = sequencer != null
                ? new Thread(sequencer, "lethe-sequencer")
                : new Thread(this::followHead, "lethe-head-poller");
        this.worker.setDaemon(true);
        this.worker.start();
    }

    /**
     * Opens an existing store for reading only, beside the process that writes it (e.g. a running
     * server): no lock is taken, appends are refused, and live subscriptions see new events within
     * {@link #READ_ONLY_POLL_INTERVAL}.
     *
     * @throws StorageException if the directory holds no event store
     */
    public static SqliteEventStore openReadOnly(Path directory) {
        dev.lethe.core.spi.AppendRules.require(directory, "data directory");
        Path file = directory.resolve(FILE_NAME);
        if (!java.nio.file.Files.isRegularFile(file)) {
            throw StorageException.permanent(
                    "no Lethe event store in " + directory.toAbsolutePath() + " (" + FILE_NAME + " not found)", null);
        }
        Readers readers =
                new Readers(file, SqliteOptions.DEFAULT_READER_CONNECTIONS, SqliteOptions.DEFAULT_CACHE_MEBIBYTES);
        HeadSignal head = new HeadSignal(-1);
        SqliteEventStore store = new SqliteEventStore(directory, null, null, null, head, readers, null);
        try {
            store.requireReadableFormat();
            head.advance(store.readHead());
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
        return store;
    }

    /** Refuses, at a read-only open, a format newer than this Lethe reads, as a writer's open does. */
    private void requireReadableFormat() {
        String version = readers.read("read the store's format", reader -> {
            try (ResultSet rs = reader.prepare("SELECT value FROM lethe_meta WHERE key = 'schema_version'")
                    .executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        });
        if (version != null) {
            EventSchema.requireReadable(version);
        }
    }

    private long readHead() {
        return readers.read("read the head position", reader -> {
            try (ResultSet rs =
                    reader.prepare("SELECT max(position) FROM events").executeQuery()) {
                long max = rs.getLong(1);
                return rs.wasNull() ? -1L : max;
            }
        });
    }

    private void followHead() {
        while (!closed) {
            try {
                Thread.sleep(READ_ONLY_POLL_INTERVAL.toMillis());
                if (!closed) {
                    head.advance(readHead());
                }
            } catch (InterruptedException e) {
                return;
            } catch (StorageException e) {
                // A busy or briefly unreadable file: try again at the next tick.
            }
        }
    }

    /** Whether this store was opened with {@link #openReadOnly}. */
    public boolean isReadOnly() {
        return sequencer == null;
    }

    /**
     * Opens (or creates) the store in {@code directory} with the default options: the event log alone,
     * without the privacy layer. Refused on a directory whose log registers privacy schemas (a {@link
     * SqliteLethe} directory, with personal data): an append through the raw log would store personal fields
     * in plaintext; open it with {@link SqliteLethe#open}, whose {@code store()} refuses such appends. (A
     * bare log that a command line read once, leaving a key store beside it, still opens.)
     */
    public static SqliteEventStore open(Path directory) {
        return open(directory, SqliteOptions.DEFAULT);
    }

    /** As {@link #open(Path)}, with {@code options}. */
    public static SqliteEventStore open(Path directory, SqliteOptions options) {
        SqliteEventStore store = openEngine(directory, options);
        if (Files.exists(directory.resolve(SqliteKeyStore.FILE_NAME))
                && store.streamInfo(dev.lethe.core.privacy.SchemaRegistry.STREAM)
                        .exists()) {
            store.close();
            throw StorageException.permanent(
                    directory.toAbsolutePath().normalize() + " is a Lethe directory whose log registers privacy"
                            + " schemas: this raw log would store an event's personal fields in plaintext. Open it"
                            + " with SqliteLethe.open(directory), and append through privacy().append",
                    null);
        }
        return store;
    }

    /** The log of a {@link SqliteLethe} directory, whose privacy layer guards it. */
    static SqliteEventStore openEngine(Path directory, SqliteOptions options) {
        dev.lethe.core.spi.AppendRules.require(directory, "data directory");
        dev.lethe.core.spi.AppendRules.require(options, "options");
        DirectoryLock.ensureDirectory(directory);
        DirectoryLock.requireStoreFilesUsable(directory);
        DirectoryLock lock = DirectoryLock.acquire(directory);
        Connection writer = null;
        Readers readers = null;
        try {
            Path file = directory.resolve(FILE_NAME);
            // Under the lock: whether this open makes the store, and what the directory held before it did.
            java.util.Set<Path> before = Files.isRegularFile(file) ? null : entriesOf(directory);
            writer = Sql.openWriter(
                    file,
                    "journal_mode = WAL",
                    "synchronous = FULL",
                    "busy_timeout = 10000",
                    "cache_size = -" + (options.cacheMebibytes() * 1024),
                    "temp_store = MEMORY",
                    "wal_autocheckpoint = 0");
            EventSchema.create(writer);
            EventSchema.startWriterSession(writer);
            HeadSignal head = new HeadSignal(-1);
            Sequencer sequencer =
                    new Sequencer(writer, head, options.clock(), options.maxGroupRequests(), options.queueCapacity());
            sequencer.checkSoleWriterWith(lock::requireHeld);
            head.advance(sequencer.nextPosition() - 1);
            readers = new Readers(file, options.readerConnections(), options.cacheMebibytes());
            CheckpointThread checkpoints = new CheckpointThread(file, head, sequencer::committedBytes);
            SqliteEventStore opened =
                    new SqliteEventStore(directory, lock, writer, sequencer, head, readers, checkpoints);
            opened.entriesBeforeCreation = before;
            return opened;
        } catch (SQLException | RuntimeException e) {
            if (readers != null) {
                readers.close();
            }
            closeQuietly(writer);
            lock.close();
            if (e instanceof LetheException lethe) {
                throw lethe;
            }
            throw e instanceof SQLException sql
                    ? Sql.translate("cannot open the event store in " + directory, sql)
                    : StorageException.permanent("cannot open the event store in " + directory + ": " + e, e);
        }
    }

    /** The data directory. */
    public Path directory() {
        return directory;
    }

    /** For an open that created the log: the directory's entries (names) just before, taken under its lock. */
    private java.util.Set<Path> entriesBeforeCreation;

    /** The directory's entries before this open created the log, under its lock; null if the log was there. */
    java.util.Set<Path> entriesBeforeCreation() {
        return entriesBeforeCreation;
    }

    /** The names of {@code directory}'s entries. */
    static java.util.Set<Path> entriesOf(Path directory) {
        try (java.util.stream.Stream<Path> list = Files.list(directory)) {
            return list.map(Path::getFileName).collect(java.util.stream.Collectors.toSet());
        } catch (java.io.IOException e) {
            throw StorageException.permanent("cannot list data directory " + directory + ": " + e.getMessage(), e);
        }
    }

    @Override
    public AppendResult append(StreamId streamId, ExpectedVersion expected, List<EventData> events) {
        return append(streamId, expected, events, null, null);
    }

    @Override
    public AppendResult append(
            StreamId streamId,
            ExpectedVersion expected,
            List<EventData> events,
            java.time.Instant recordFrom,
            java.time.Instant recordBefore) {
        CompletableFuture<AppendResult> submitted;
        try {
            submitted = submit(streamId, expected, events, recordFrom, recordBefore);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw StorageException.transientFailure("interrupted while queueing the append; it was not stored", e);
        }
        return AppendRules.await(submitted);
    }

    @Override
    public CompletableFuture<AppendResult> appendAsync(
            StreamId streamId, ExpectedVersion expected, List<EventData> events) {
        return appendAsync(streamId, expected, events, null, null);
    }

    @Override
    public CompletableFuture<AppendResult> appendAsync(
            StreamId streamId,
            ExpectedVersion expected,
            List<EventData> events,
            java.time.Instant recordFrom,
            java.time.Instant recordBefore) {
        try {
            // Completed on another thread, never on the writer: a caller's callback that blocks, or
            // appends and waits, must not stall the writer.
            return submit(streamId, expected, events, recordFrom, recordBefore)
                    .whenCompleteAsync((result, failure) -> {}, completions);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return CompletableFuture.failedFuture(
                    StorageException.transientFailure("interrupted while queueing the append; it was not stored", e));
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /** A check every append runs before it is queued; see {@link #guardAppends}. */
    private volatile java.util.function.BiConsumer<StreamId, List<EventData>> appendGuard = (stream, events) -> {};

    /**
     * Runs {@code guard} on every batch before it is queued (one that throws stores nothing): {@link
     * SqliteLethe} refuses, on this raw log, events of a type whose privacy schema classifies fields,
     * which only its {@code privacy().append} seals.
     */
    public void guardAppends(java.util.function.BiConsumer<StreamId, List<EventData>> guard) {
        this.appendGuard = java.util.Objects.requireNonNull(guard, "guard");
    }

    /** {@code recordFrom}, {@code recordBefore}: null, or the window the batch is recorded in (see {@link EventStore}). */
    private CompletableFuture<AppendResult> submit(
            StreamId streamId,
            ExpectedVersion expected,
            List<EventData> events,
            java.time.Instant recordFrom,
            java.time.Instant recordBefore)
            throws InterruptedException {
        AppendRules.checkAppend(streamId, expected, events);
        AppendRules.checkWindow(recordFrom, recordBefore);
        appendGuard.accept(streamId, events);
        checkWritable();
        return recordFrom == null && recordBefore == null
                ? sequencer.submit(streamId, expected, List.copyOf(events))
                : sequencer.submit(streamId, expected, List.copyOf(events), recordFrom, recordBefore);
    }

    /** One transaction for all of them, in this order; see {@link EventStore#appendTogether}. */
    @Override
    public List<CompletableFuture<AppendResult>> appendTogether(List<StreamAppend> appends) {
        List<StreamAppend> checked = new ArrayList<>();
        List<CompletableFuture<AppendResult>> results = new ArrayList<>();
        List<Integer> queued = new ArrayList<>();
        for (StreamAppend append : AppendRules.checkTogether(appends)) {
            try {
                AppendRules.checkAppend(append.streamId(), append.expected(), append.events());
                appendGuard.accept(append.streamId(), append.events());
                queued.add(results.size());
                checked.add(new StreamAppend(append.streamId(), append.expected(), List.copyOf(append.events())));
                results.add(null);
            } catch (RuntimeException invalid) {
                results.add(CompletableFuture.failedFuture(invalid));
            }
        }
        if (checked.isEmpty()) {
            return List.copyOf(results);
        }
        try {
            checkWritable();
            List<CompletableFuture<AppendResult>> submitted = sequencer.submitTogether(checked);
            for (int i = 0; i < queued.size(); i++) {
                results.set(queued.get(i), submitted.get(i).whenCompleteAsync((result, failure) -> {}, completions));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            StorageException failure =
                    StorageException.transientFailure("interrupted while queueing the appends; none was stored", e);
            queued.forEach(i -> results.set(i, CompletableFuture.failedFuture(failure)));
        } catch (RuntimeException e) {
            queued.forEach(i -> results.set(i, CompletableFuture.failedFuture(e)));
        }
        return List.copyOf(results);
    }

    /**
     * Why this store refuses appends for good, if it does: its {@code lethe.lock} was deleted or replaced
     * while it wrote (another writer may have taken the directory). Empty for a read-only store.
     */
    @Override
    public java.util.Optional<String> writeRefusal() {
        if (sequencer == null) {
            return java.util.Optional.empty();
        }
        if (sequencer.fenced().isEmpty() && !closed) {
            try {
                lock.requireHeld(); // one stat: a deleted lock is seen before the next append, not at it
            } catch (StorageException notSole) {
                if (!notSole.isTransient()) {
                    sequencer.fence(notSole); // gone or replaced: for good
                } else {
                    return java.util.Optional.of(notSole.getMessage()); // this time only: asked again next time
                }
            }
        }
        java.util.Optional<Throwable> death = sequencer.death();
        if (death.isPresent()) {
            return java.util.Optional.of("the event store's writer stopped after an internal error (" + death.get()
                    + "): no append is taken until the process is restarted");
        }
        return sequencer.fenced().map(Throwable::getMessage);
    }

    private void checkWritable() {
        checkOpen();
        if (sequencer == null) {
            throw StorageException.permanent(
                    "this event store was opened read-only; appends (and the audit entries of lookups, forgets,"
                            + " exports and key releases) go through the process that holds "
                            + directory.resolve("lethe.lock"),
                    null);
        }
    }

    @Override
    public List<RecordedEvent> readStream(StreamId streamId, long fromVersion, Direction direction, int limit) {
        AppendRules.require(streamId, "stream id");
        AppendRules.require(direction, "direction");
        AppendRules.checkRead("from version", fromVersion, limit);
        checkOpen();
        String sql = direction == Direction.FORWARD ? BY_STREAM_FORWARD : BY_STREAM_BACKWARD;
        return readers.read("read stream " + streamId, reader -> {
            PreparedStatement statement = reader.prepare(sql);
            statement.setString(1, streamId.value());
            statement.setLong(2, fromVersion);
            statement.setInt(3, limit);
            return reader.events(statement, limit);
        });
    }

    @Override
    public List<RecordedEvent> readStreamAsOf(StreamId streamId, Instant asOf, long fromVersion, int limit) {
        AppendRules.require(streamId, "stream id");
        AppendRules.require(asOf, "as-of instant");
        AppendRules.checkRead("from version", fromVersion, limit);
        checkOpen();
        long micros = Sql.microsSaturated(asOf);
        return readers.read("read stream " + streamId + " as of " + asOf, reader -> {
            PreparedStatement statement = reader.prepare(BY_STREAM_AS_OF);
            statement.setString(1, streamId.value());
            statement.setLong(2, fromVersion);
            statement.setLong(3, micros);
            statement.setInt(4, limit);
            return reader.events(statement, limit);
        });
    }

    @Override
    public String writerSession(long position) {
        checkOpen();
        return readers.read("read the writer session of position " + position, reader -> {
            PreparedStatement statement;
            try {
                statement = reader.prepare("SELECT nonce FROM writer_session WHERE first_position <= ?"
                        + " ORDER BY first_position DESC LIMIT 1");
            } catch (SQLException e) {
                if (String.valueOf(e.getMessage()).contains("no such table")) {
                    return ""; // a file no writer of this version has opened yet, read only
                }
                throw e;
            }
            statement.setLong(1, position);
            try (java.sql.ResultSet rs = statement.executeQuery()) {
                return rs.next() ? rs.getString(1) : ""; // appended before Lethe kept sessions
            }
        });
    }

    @Override
    public List<RecordedEvent> readAll(long fromPosition, int limit) {
        return readAll(fromPosition, limit, Long.MAX_VALUE);
    }

    /** Stops reading rows at the byte budget. */
    @Override
    public List<RecordedEvent> readAll(long fromPosition, int limit, long maxBytes) {
        AppendRules.checkRead("from position", fromPosition, limit);
        checkMaxBytes(maxBytes);
        checkOpen();
        return readers.read("read the log", reader -> {
            PreparedStatement statement = reader.prepare(ALL);
            statement.setLong(1, fromPosition);
            statement.setInt(2, limit);
            return reader.events(statement, limit, maxBytes);
        });
    }

    @Override
    public List<RecordedEvent> readCategory(String category, long fromPosition, int limit) {
        return readCategory(category, fromPosition, limit, Long.MAX_VALUE);
    }

    /** Stops reading rows at the byte budget. */
    @Override
    public List<RecordedEvent> readCategory(String category, long fromPosition, int limit, long maxBytes) {
        AppendRules.checkCategory(category);
        AppendRules.checkRead("from position", fromPosition, limit);
        checkMaxBytes(maxBytes);
        checkOpen();
        return readers.read("read category " + category, reader -> {
            PreparedStatement statement = reader.prepare(BY_CATEGORY);
            statement.setString(1, category);
            statement.setLong(2, fromPosition);
            statement.setInt(3, limit);
            return reader.events(statement, limit, maxBytes);
        });
    }

    private static void checkMaxBytes(long maxBytes) {
        if (maxBytes < 1) {
            throw dev.lethe.core.store.InvalidEventException.of("max bytes", maxBytes + " must be at least 1");
        }
    }

    @Override
    public List<StreamId> readStreamIds(StreamId afterExclusive, int limit) {
        AppendRules.checkLimit(limit);
        checkOpen();
        return readers.read("list stream ids", reader -> {
            PreparedStatement statement = reader.prepare(STREAM_IDS);
            // The empty string sorts before every stream id.
            statement.setString(1, afterExclusive == null ? "" : afterExclusive.value());
            statement.setInt(2, limit);
            List<StreamId> ids = new ArrayList<>();
            try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    ids.add(StreamId.of(rs.getString(1)));
                }
            }
            return ids;
        });
    }

    @Override
    public StreamInfo streamInfo(StreamId streamId) {
        AppendRules.require(streamId, "stream id");
        checkOpen();
        return readers.read("stream info " + streamId, reader -> {
            long[] last = streamEnd(reader, streamId, "DESC");
            if (last == null) {
                return StreamInfo.absent(streamId);
            }
            long[] first = streamEnd(reader, streamId, "ASC");
            return new StreamInfo(streamId, last[0], Sql.instant(first[1]), Sql.instant(last[1]));
        });
    }

    @Override
    public boolean containsEvent(java.util.UUID id) {
        AppendRules.require(id, "event id");
        checkOpen();
        return readers.read("event " + id, reader -> {
            PreparedStatement statement = reader.prepare("SELECT 1 FROM events WHERE id = ?");
            statement.setBytes(1, Sql.uuidBytes(id));
            try (ResultSet rs = statement.executeQuery()) {
                return rs.next();
            }
        });
    }

    /** Asks as {@link #storedEvents} does: one query per 500 ids (a batch of 1,000 is two), not one per id. */
    @Override
    public boolean containsAnyEvent(java.util.Collection<java.util.UUID> ids) {
        return !storedEvents(ids).isEmpty();
    }

    /** One query per 500 ids, not one per id. */
    @Override
    public Map<java.util.UUID, AppendRules.StoredEvent> storedEvents(java.util.Collection<java.util.UUID> ids) {
        AppendRules.require(ids, "event ids");
        checkOpen();
        List<java.util.UUID> all = List.copyOf(ids);
        Map<java.util.UUID, AppendRules.StoredEvent> found = new java.util.HashMap<>();
        for (int from = 0; from < all.size(); from += 500) {
            List<java.util.UUID> part = all.subList(from, Math.min(all.size(), from + 500));
            // Padded to one of four sizes with its first id again: four prepared statements per reader, not 500.
            int size = part.size() <= 1 ? 1 : part.size() <= 10 ? 10 : part.size() <= 100 ? 100 : 500;
            readers.read("events by id", reader -> {
                PreparedStatement statement = reader.prepare("SELECT id, stream_id, version, position FROM events"
                        + " WHERE id IN (" + String.join(",", java.util.Collections.nCopies(size, "?")) + ")");
                for (int i = 0; i < size; i++) {
                    statement.setBytes(i + 1, Sql.uuidBytes(part.get(i < part.size() ? i : 0)));
                }
                try (ResultSet rs = statement.executeQuery()) {
                    while (rs.next()) {
                        found.put(
                                Sql.uuid(rs.getBytes(1)),
                                new AppendRules.StoredEvent(
                                        StreamId.of(rs.getString(2)), rs.getLong(3), rs.getLong(4)));
                    }
                }
                return null;
            });
        }
        return found;
    }

    private static long[] streamEnd(Readers.Reader reader, StreamId streamId, String order) throws SQLException {
        PreparedStatement statement = reader.prepare(String.format(STREAM_END, order));
        statement.setString(1, streamId.value());
        try (ResultSet rs = statement.executeQuery()) {
            return rs.next() ? new long[] {rs.getLong(1), rs.getLong(2)} : null;
        }
    }

    /** Counts streams and events; a full index scan, for the command line's statistics. */
    public long streamCount() {
        checkOpen();
        return readers.read("count streams", reader -> {
            try (ResultSet rs = reader.prepare("SELECT count(DISTINCT stream_id) FROM events")
                    .executeQuery()) {
                return rs.next() ? rs.getLong(1) : 0L;
            }
        });
    }

    @Override
    public long headPosition() {
        return head.head();
    }

    @Override
    public boolean awaitHeadBeyond(long position, Duration timeout) throws InterruptedException {
        return head.awaitBeyond(position, timeout);
    }

    private void checkOpen() {
        if (closed) {
            throw StorageException.permanent("the event store is closed", null);
        }
    }

    @Override
    public void requireOpen() {
        checkOpen();
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (sequencer != null) {
            sequencer.close();
            checkpoints.close();
        } else {
            worker.interrupt();
        }
        // Waited for whatever the caller's interrupt status: closing the writer's connection under a group
        // being committed failed its COMMIT after the append was as good as acknowledged, and released the
        // directory's lock while the sequencer still wrote.
        boolean interrupted = false;
        while (true) {
            try {
                worker.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        try {
            completions.shutdown();
            head.close();
            readers.close();
            truncateWal();
            closeQuietly(writer);
        } finally {
            // Whatever failed above, the directory is not left locked for the rest of the process.
            if (lock != null) {
                lock.close();
            }
        }
    }

    private void truncateWal() {
        if (writer == null) {
            return;
        }
        try (var statement = writer.createStatement()) {
            writer.setAutoCommit(true);
            statement.execute("PRAGMA wal_checkpoint(TRUNCATE)");
        } catch (SQLException e) {
            // The WAL stays; the next open checkpoints it. Nothing is lost.
        }
    }

    private static void closeQuietly(Connection connection) {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException e) {
                // Everything acknowledged is already committed; closing cannot lose it.
            }
        }
    }
}
