package dev.lethe.sqlite.internal;

import dev.lethe.core.spi.AppendRules;
import dev.lethe.core.spi.AppendRules.StoredEvent;
import dev.lethe.core.spi.HeadSignal;
import dev.lethe.core.store.AppendResult;
import dev.lethe.core.store.DuplicateEventException;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.LateRecordingException;
import dev.lethe.core.store.LetheException;
import dev.lethe.core.store.StorageException;
import dev.lethe.core.store.StreamAppend;
import dev.lethe.core.store.StreamId;
import dev.lethe.core.store.WrongExpectedVersionException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The one thread that writes the log. It takes every append waiting in its queue, checks each against
 * the stream versions and ids as they will be after the appends before it in the same group, inserts
 * them, and commits the whole group in one transaction (one fsync). Only then does it acknowledge the
 * appends and publish the new head, so positions are gap-free and never visible out of order.
 *
 * <p>An append rejected by its own checks (a version conflict, a duplicate id) fails alone; the rest
 * of its group is committed. A failed commit fails the whole group, and none of it is visible.
 */
public final class Sequencer implements Runnable {
    private static final int VERSION_CACHE_ENTRIES = 100_000;

    private final Connection connection;
    private final HeadSignal head;
    private final Clock clock;
    private final int maxGroupRequests;
    private final BlockingQueue<Request> queue;

    private final PreparedStatement insert;
    private final PreparedStatement findById;
    private final PreparedStatement lastVersion;
    private final Map<StreamId, Long> versions = new LinkedHashMap<>(1024, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<StreamId, Long> eldest) {
            return size() > VERSION_CACHE_ENTRIES;
        }
    };
    private final dev.lethe.core.spi.TimeOrderedIds ids = new dev.lethe.core.spi.TimeOrderedIds();
    static final long COMMIT_DELAY_NANOS = Long.getLong("lethe.commitDelayMicros", 100) * 1_000;
    private int lastGroupSize;
    /** Data and metadata bytes committed since the store opened (rejected appends included: an estimate). */
    private volatile long committedBytes;

    private long nextPosition;
    private long lastRecordedMicros;
    /** Whether a failed commit left the log's end unread: the next group reads it first. */
    private boolean logEndUnknown;

    private volatile boolean closing;
    private volatile Throwable death;
    /** Checked inside each commit's write transaction: throws when this writer is no longer the only one. */
    private volatile Runnable soleWriter = () -> {};
    /** Why this sequencer stopped taking appends for good, once its check failed. */
    private volatile StorageException fenced;

    public Sequencer(Connection connection, HeadSignal head, Clock clock, int maxGroupRequests, int queueCapacity)
            throws SQLException {
        this.connection = connection;
        this.head = head;
        this.clock = clock;
        this.maxGroupRequests = maxGroupRequests;
        this.queue = new ArrayBlockingQueue<>(queueCapacity);
        this.insert = connection.prepareStatement(
                "INSERT INTO events (position, id, stream_id, version, category, type, data, metadata, recorded_at)"
                        + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
        this.findById = connection.prepareStatement("SELECT stream_id, version, position FROM events WHERE id = ?");
        this.lastVersion = connection.prepareStatement(
                "SELECT version FROM events WHERE stream_id = ? ORDER BY version DESC LIMIT 1");
        readLogEnd();
        warnIfLogIsAheadOfTheClock();
    }

    /**
     * Events are recorded at the later of the clock and the last recorded instant (the log's time never
     * goes back): a log written once under a clock far ahead (a wrong system date, since fixed) records every
     * new event at that instant until the clock passes it, and as-of reads by the clock's time miss them.
     * Said at open, with what to do, when the log is more than a minute ahead.
     */
    private void warnIfLogIsAheadOfTheClock() {
        long now;
        try {
            now = Sql.micros(clock.instant());
        } catch (RuntimeException unreadable) {
            return; // the first append says so
        }
        if (lastRecordedMicros - now > 60_000_000L) {
            System.getLogger(Sequencer.class.getName())
                    .log(
                            System.Logger.Level.WARNING,
                            "the log's last event was recorded at " + Sql.instant(lastRecordedMicros) + ", ahead of"
                                    + " this clock (" + Sql.instant(now) + "): new events are recorded at that instant"
                                    + " until the clock passes it, so that the log's time never goes back (was the"
                                    + " system clock ahead when it was written?)");
        }
    }

    /**
     * A check run inside each commit's write transaction, before anything is written (the directory lock
     * still held): when it throws a {@link StorageException}, the group is rolled back and failed, and every
     * later append fails with the same exception.
     */
    public void checkSoleWriterWith(Runnable check) {
        this.soleWriter = java.util.Objects.requireNonNull(check, "check");
    }

    /** Refuses every later append with {@code why}: the sole-writer check failed outside a commit. */
    public void fence(StorageException why) {
        if (fenced == null) {
            fenced = why;
        }
    }

    /** Why appends are refused for good (the sole-writer check failed), if they are. */
    public java.util.Optional<StorageException> fenced() {
        return java.util.Optional.ofNullable(fenced);
    }

    /** What stopped the writer thread, if an error did (out of memory): no append is taken after it. */
    public java.util.Optional<Throwable> death() {
        return java.util.Optional.ofNullable(death);
    }

    /** The position the next appended event will get. */
    public long nextPosition() {
        return nextPosition;
    }

    /** Queues an append; the future completes once it is durable, or fails. */
    public CompletableFuture<AppendResult> submit(StreamId streamId, ExpectedVersion expected, List<EventData> events)
            throws InterruptedException {
        return submitTogether(List.of(new StreamAppend(streamId, expected, events)))
                .get(0);
    }

    /**
     * Queues an append recorded within a window (see {@code EventStore.appendAsync} with one): at its group's time,
     * or at {@code recordFrom} when later (null: none); refused with {@link LateRecordingException} when that is
     * {@code recordBefore} or later (null: none).
     */
    public CompletableFuture<AppendResult> submit(
            StreamId streamId,
            ExpectedVersion expected,
            List<EventData> events,
            java.time.Instant recordFrom,
            java.time.Instant recordBefore)
            throws InterruptedException {
        long first = recordFrom == null ? Long.MIN_VALUE : Sql.microsSaturated(recordFrom);
        long last = Long.MAX_VALUE;
        if (recordBefore != null) {
            // The last microsecond before it (recordBefore itself when it has nanoseconds past a microsecond).
            long before = Sql.microsSaturated(recordBefore);
            last = recordBefore.getNano() % 1_000 == 0 ? before - 1 : before;
        }
        return submit(List.of(new StreamAppend(streamId, expected, events)), first, last)
                .get(0);
    }

    /**
     * Queues appends that are committed in one transaction, in this order, with no other append
     * between them; each is checked on its own and fails its own future only.
     */
    public List<CompletableFuture<AppendResult>> submitTogether(List<StreamAppend> appends)
            throws InterruptedException {
        return submit(appends, Long.MIN_VALUE, Long.MAX_VALUE);
    }

    /** {@code firstMicros}, {@code lastMicros}: the window the appends are recorded in (MIN, MAX: any). */
    private List<CompletableFuture<AppendResult>> submit(List<StreamAppend> appends, long firstMicros, long lastMicros)
            throws InterruptedException {
        if (appends.isEmpty()) {
            throw new IllegalArgumentException("no appends to submit");
        }
        List<PendingAppend> pending = new ArrayList<>(appends.size());
        for (StreamAppend append : appends) {
            pending.add(new PendingAppend(
                    append.streamId(),
                    append.expected(),
                    append.events(),
                    firstMicros,
                    lastMicros,
                    new CompletableFuture<>()));
        }
        Request request = new Request(pending);
        if (fenced != null) {
            throw fenced;
        }
        if (closing) {
            throw closed();
        }
        queue.put(request);
        if (closing && queue.remove(request)) {
            throw closed();
        }
        return pending.stream().map(PendingAppend::result).toList();
    }

    private StorageException closed() {
        Throwable cause = death;
        return cause == null
                ? StorageException.permanent("the event store is closed", null)
                : StorageException.permanent("the event store stopped after an internal error: " + cause, cause);
    }

    /** Stops taking appends; the run loop finishes those already queued, then returns. */
    public void close() {
        closing = true;
    }

    @Override
    public void run() {
        List<Request> requests = new ArrayList<>(maxGroupRequests);
        List<PendingAppend> group = new ArrayList<>(maxGroupRequests);
        try {
            while (true) {
                Request first = queue.poll(50, TimeUnit.MILLISECONDS);
                if (first == null) {
                    if (closing && queue.isEmpty()) {
                        return;
                    }
                    continue;
                }
                requests.add(first);
                queue.drainTo(requests, maxGroupRequests - 1);
                if (requests.size() < lastGroupSize && COMMIT_DELAY_NANOS > 0) {
                    // Writers acknowledged by the last commit are still coming back: give them a
                    // moment to join this commit rather than paying a whole fsync for a few.
                    java.util.concurrent.locks.LockSupport.parkNanos(COMMIT_DELAY_NANOS);
                    queue.drainTo(requests, maxGroupRequests - requests.size());
                }
                lastGroupSize = requests.size();
                requests.forEach(r -> group.addAll(r.appends()));
                requests.clear();
                commitGroup(group);
                group.clear();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable e) {
            death = e;
            throw e;
        } finally {
            closing = true;
            for (Request left; (left = queue.poll()) != null; ) {
                left.appends().forEach(p -> p.result().completeExceptionally(closed()));
            }
            requests.forEach(r -> r.appends().forEach(p -> p.result().completeExceptionally(closed())));
            group.forEach(p -> p.result().completeExceptionally(closed()));
        }
    }

    private void commitGroup(List<PendingAppend> group) {
        commitGroup(group, false);
    }

    /**
     * @param lookUpGeneratedIds whether generated ids are looked up too: normally they are not (they are
     *     fresh), and only a group that failed with one of them in it is run again this way, so that a
     *     reused generated id fails its own append, not the group
     */
    private void commitGroup(List<PendingAppend> group, boolean lookUpGeneratedIds) {
        if (fenced != null) {
            group.forEach(p -> p.result().completeExceptionally(fenced));
            return;
        }
        if (logEndUnknown) {
            try {
                if (!rollbackQuietly()) {
                    // Still a transaction open, that no rollback ends: its own rows would read as the log's end.
                    throw new SQLException("a transaction on the writer's connection cannot be rolled back");
                }
                readLogEnd();
                logEndUnknown = false;
                head.advance(nextPosition - 1);
            } catch (SQLException e) {
                StorageException failure = Sql.translate(
                        "append not committed: the log's last position cannot be read after a failed commit", e);
                group.forEach(p -> p.result().completeExceptionally(failure));
                return;
            }
        }
        Map<StreamId, Long> groupVersions = new HashMap<>();
        Map<UUID, StoredEvent> groupIds = new HashMap<>();
        List<Object> outcomes = new ArrayList<>(group.size());
        long position = nextPosition;
        long micros = lastRecordedMicros; // read from the clock below, once the write lock is held
        long recordedUpTo = lastRecordedMicros; // the latest recordedAt given so far, this group's included
        try {
            execute("BEGIN IMMEDIATE");
            try {
                // With SQLite's write lock held: no other writer commits between this check and COMMIT.
                soleWriter.run();
            } catch (StorageException notSole) {
                // Not through the failure path below: another writer's rows could pass for this group's.
                if (!notSole.isTransient()) {
                    fenced = notSole; // the lock is gone: for good
                }
                rollbackQuietly();
                group.forEach(p -> p.result().completeExceptionally(notSole));
                return;
            }
            // The clock is read once SQLite's write lock is held (BEGIN IMMEDIATE may wait for a checkpoint),
            // so that an event's recordedAt is not earlier than the commits it follows by that wait.
            try {
                // A clock that fails, or reads past what microseconds since 1970 hold (ArithmeticException),
                // fails this group only: it must neither stop the sequencer nor stamp every later event.
                micros = Math.max(Sql.micros(clock.instant()), lastRecordedMicros);
            } catch (RuntimeException clockFailed) {
                rollbackQuietly();
                StorageException failure = StorageException.transientFailure(
                        "append not committed: the clock failed: " + clockFailed, clockFailed);
                group.forEach(p -> p.result().completeExceptionally(failure));
                return;
            }
            for (PendingAppend append : group) {
                try {
                    // At the group's time, or later for one given a window (EventStore.appendAsync with one), never
                    // earlier than an event before it (as-of reads see the log as it was); one that cannot be recorded
                    // before its window's end is refused, nothing stored.
                    long storeTime = Math.max(micros, recordedUpTo);
                    if (append.firstMicros() != Long.MIN_VALUE) {
                        AppendRules.checkWindowStart(Sql.instant(append.firstMicros()), Sql.instant(storeTime));
                    }
                    long at = Math.max(storeTime, append.firstMicros());
                    if (at > append.lastMicros()) {
                        throw new LateRecordingException(Sql.instant(append.lastMicros() + 1), Sql.instant(at));
                    }
                    AppendResult result = plan(append, position, at, groupVersions, groupIds, lookUpGeneratedIds);
                    if (result.firstPosition() == position) {
                        position = result.lastPosition() + 1;
                        recordedUpTo = at;
                    }
                    outcomes.add(result);
                } catch (LetheException rejected) {
                    outcomes.add(rejected);
                }
            }
            if (position > nextPosition) {
                insert.executeBatch();
            }
            execute("COMMIT");
        } catch (SQLException | RuntimeException e) {
            clearInsertBatch();
            Boolean committed = position > nextPosition ? committedDespite(position, e) : Boolean.FALSE;
            if (committed == null) {
                // Neither "stored" nor "not stored" would be true: a caller that retried events without ids on
                // "not committed" could store them twice.
                if (rollbackQuietly()) {
                    resynchronise();
                } else {
                    // A transaction may still be open: this connection would read its own uncommitted rows as the
                    // log's end, and publish them. The next group reads the end once it can.
                    versions.clear();
                    logEndUnknown = true;
                }
                StorageException unknown = StorageException.transientFailure(
                        "append may or may not be stored: its commit failed (" + e.getMessage() + ") in a way that"
                                + " leaves that open; read the stream to find out (events given ids can be sent again"
                                + " with them: nothing is stored twice)",
                        e);
                group.forEach(p -> p.result().completeExceptionally(unknown));
                return;
            }
            if (!committed) {
                rollbackQuietly();
                resynchronise();
                if (!lookUpGeneratedIds && e instanceof SQLException && hasGeneratedIds(group)) {
                    commitGroup(group, true);
                    return;
                }
                StorageException failure = e instanceof SQLException sql
                        ? Sql.translate("append not committed", sql)
                        : StorageException.transientFailure("append not committed: " + e, e);
                group.forEach(p -> p.result().completeExceptionally(failure));
                return;
            }
        }
        for (PendingAppend append : group) {
            for (EventData event : append.events()) {
                committedBytes += event.data().size() + event.metadata().size();
            }
        }
        nextPosition = position;
        lastRecordedMicros = Math.max(micros, recordedUpTo);
        versions.putAll(groupVersions);
        head.advance(position - 1);
        for (int i = 0; i < group.size(); i++) {
            Object outcome = outcomes.get(i);
            if (outcome instanceof AppendResult result) {
                group.get(i).result().complete(result);
            } else {
                group.get(i).result().completeExceptionally((Throwable) outcome);
            }
        }
    }

    private void execute(String sql) throws SQLException {
        try (Statement statement = connection.createStatement()) {
            statement.execute(sql);
        }
    }

    /**
     * After an error from COMMIT, whether the transaction is nevertheless durable: it is if it is no longer
     * open and the log now ends exactly where the group would have ended it. A COMMIT that fails may leave
     * its transaction open (SQLITE_BUSY while statements run, a deferred constraint): read on this
     * connection, its own uncommitted rows would pass for committed ones. So it is rolled back first;
     * only when there is nothing to roll back is the log asked. Null when neither can be told.
     */
    private Boolean committedDespite(long groupEnd, Exception failure) {
        try {
            execute("ROLLBACK");
            return false; // it was still open: nothing of the group is committed
        } catch (SQLException noTransaction) {
            String message = String.valueOf(noTransaction.getMessage());
            if (!message.contains("no transaction is active")) {
                return null; // neither rolled back nor known to be closed: cannot tell
            }
        }
        try {
            if (storedNextPosition() == groupEnd) {
                return true;
            }
            // The COMMIT ended without the rows. After an I/O error (a sync that failed) its frames may still be
            // in the WAL, which recovery after a crash could replay: "not stored" would not be true.
            return failure instanceof SQLException sql && ioError(sql) ? null : false;
        } catch (SQLException e) {
            return null; // the log cannot be read: cannot tell
        }
    }

    /** Whether SQLite reported an I/O error (SQLITE_IOERR and its extended codes). */
    private static boolean ioError(SQLException e) {
        return (e.getErrorCode() & 0xff) == 10 || String.valueOf(e.getMessage()).contains("SQLITE_IOERR");
    }

    /** After a failed group, forgets cached versions and re-reads where the log ends. */
    private void resynchronise() {
        versions.clear();
        try {
            readLogEnd();
            head.advance(nextPosition - 1); // a group whose outcome was unknown may have committed
        } catch (SQLException e) {
            logEndUnknown = true; // the next group reads it before it plans anything
        }
    }

    private long storedNextPosition() throws SQLException {
        try (Statement statement = connection.createStatement();
                ResultSet rs = statement.executeQuery("SELECT max(position) FROM events")) {
            rs.next();
            long max = rs.getLong(1);
            return rs.wasNull() ? 0 : max + 1;
        }
    }

    /** Reads the next position and the last recorded instant from the log itself. */
    private void readLogEnd() throws SQLException {
        try (Statement statement = connection.createStatement();
                ResultSet rs = statement.executeQuery("SELECT max(position), max(recorded_at) FROM events")) {
            rs.next();
            long maxPosition = rs.getLong(1);
            nextPosition = rs.wasNull() ? 0 : maxPosition + 1;
            lastRecordedMicros = Math.max(lastRecordedMicros, rs.getLong(2));
        }
    }

    /** About how many bytes of events were committed since the store opened: what the WAL grew by. */
    public long committedBytes() {
        return committedBytes;
    }

    private static boolean hasGeneratedIds(List<PendingAppend> group) {
        return group.stream().flatMap(p -> p.events().stream()).anyMatch(EventData::generatedId);
    }

    private AppendResult plan(
            PendingAppend append,
            long position,
            long micros,
            Map<StreamId, Long> groupVersions,
            Map<UUID, StoredEvent> groupIds,
            boolean lookUpGeneratedIds)
            throws SQLException {
        List<EventData> events = append.events();
        StreamId streamId = append.streamId();
        if (lookUpGeneratedIds) {
            for (EventData event : events) {
                if (event.generatedId() && (groupIds.containsKey(event.id()) || isStored(event.id()))) {
                    throw DuplicateEventException.of(event.id(), "although it was generated as a fresh id");
                }
            }
        }
        if (AppendRules.hasClientIds(events)) {
            Optional<AppendResult> retry = AppendRules.retryOf(streamId, events, stored(events, groupIds));
            if (retry.isPresent()) {
                return retry.get();
            }
        }
        long current = groupVersions.containsKey(streamId) ? groupVersions.get(streamId) : committedVersion(streamId);
        if (!append.expected().isSatisfiedBy(current)) {
            throw WrongExpectedVersionException.of(streamId, append.expected(), current);
        }
        String category = streamId.category();
        long version = current;
        long at = position;
        for (EventData event : events) {
            UUID id = event.id() != null ? event.id() : ids.next(micros / 1_000);
            version++;
            insert.setLong(1, at);
            insert.setBytes(2, Sql.uuidBytes(id));
            insert.setString(3, streamId.value());
            insert.setLong(4, version);
            insert.setString(5, category);
            insert.setString(6, event.type());
            insert.setBytes(7, event.data().unsafeBytes());
            insert.setBytes(8, event.metadata().unsafeBytes());
            insert.setLong(9, micros);
            insert.addBatch();
            if (event.clientId().isPresent() || (lookUpGeneratedIds && event.generatedId())) {
                groupIds.put(id, new StoredEvent(streamId, version, at));
            }
            at++;
        }
        groupVersions.put(streamId, version);
        return new AppendResult(streamId, current + 1, version, position, at - 1);
    }

    private boolean isStored(UUID id) throws SQLException {
        findById.setBytes(1, Sql.uuidBytes(id));
        try (ResultSet rs = findById.executeQuery()) {
            return rs.next();
        }
    }

    private Map<UUID, StoredEvent> stored(List<EventData> events, Map<UUID, StoredEvent> groupIds) throws SQLException {
        Map<UUID, StoredEvent> found = new HashMap<>();
        for (EventData event : events) {
            if (event.clientId().isEmpty()) {
                continue; // generated ids are fresh: the unique index guards them, no lookup needed
            }
            StoredEvent inGroup = groupIds.get(event.id());
            if (inGroup != null) {
                found.put(event.id(), inGroup);
                continue;
            }
            findById.setBytes(1, Sql.uuidBytes(event.id()));
            try (ResultSet rs = findById.executeQuery()) {
                if (rs.next()) {
                    found.put(event.id(), new StoredEvent(StreamId.of(rs.getString(1)), rs.getLong(2), rs.getLong(3)));
                }
            }
        }
        return found;
    }

    private long committedVersion(StreamId streamId) throws SQLException {
        Long cached = versions.get(streamId);
        if (cached != null) {
            return cached;
        }
        lastVersion.setString(1, streamId.value());
        try (ResultSet rs = lastVersion.executeQuery()) {
            long version = rs.next() ? rs.getLong(1) : -1;
            versions.put(streamId, version);
            return version;
        }
    }

    private void clearInsertBatch() {
        try {
            insert.clearBatch();
        } catch (SQLException e) {
            // The batch dies with the statement's next use.
        }
    }

    /** Rolls back; whether no transaction is left open after (rolled back, or there was none). */
    private boolean rollbackQuietly() {
        try {
            execute("ROLLBACK");
            return true;
        } catch (SQLException e) {
            // No transaction left to roll back (SQLite may already have rolled it back itself).
            return String.valueOf(e.getMessage()).contains("no transaction is active");
        }
    }

    /**
     * What one queue slot holds: one append, or several {@linkplain #submitTogether submitted together}.
     * Compared by identity (not a record), so that removing one from the queue removes exactly it.
     */
    private static final class Request {
        private final List<PendingAppend> appends;

        Request(List<PendingAppend> appends) {
            this.appends = appends;
        }

        List<PendingAppend> appends() {
            return appends;
        }
    }

    /** {@code firstMicros}, {@code lastMicros}: the window it is recorded in (MIN_VALUE, MAX_VALUE: any). */
    private record PendingAppend(
            StreamId streamId,
            ExpectedVersion expected,
            List<EventData> events,
            long firstMicros,
            long lastMicros,
            CompletableFuture<AppendResult> result) {}
}
