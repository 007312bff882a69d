package dev.lethe.core.memory;

import dev.lethe.core.spi.AppendRules;
import dev.lethe.core.spi.AppendRules.StoredEvent;
import dev.lethe.core.spi.HeadSignal;
import dev.lethe.core.store.AppendResult;
import dev.lethe.core.store.Direction;
import dev.lethe.core.store.DuplicateEventException;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.EventStore;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.RecordedEvent;
import dev.lethe.core.store.StorageException;
import dev.lethe.core.store.StreamId;
import dev.lethe.core.store.StreamInfo;
import dev.lethe.core.store.WrongExpectedVersionException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * An event store held in memory: for tests and for trying things out. It keeps every guarantee of
 * {@link EventStore} except durability: nothing survives the process.
 */
public final class InMemoryEventStore implements EventStore {
    /** This store's one writer session: it lives as long as the instance. */
    private final String session = java.util.UUID.randomUUID().toString();

    @Override
    public String writerSession(long position) {
        return session;
    }

    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final List<RecordedEvent> log = new ArrayList<>();
    private final NavigableMap<StreamId, List<RecordedEvent>> streams = new TreeMap<>();
    private final Map<UUID, RecordedEvent> byId = new HashMap<>();
    private final HeadSignal head = new HeadSignal(-1);
    private final Clock clock;
    private Instant lastRecordedAt = Instant.EPOCH;
    private volatile boolean closed;

    public InMemoryEventStore() {
        this(Clock.systemUTC());
    }

    /** A store that stamps events with {@code clock} (never going backwards). */
    public InMemoryEventStore(Clock clock) {
        this.clock = clock;
    }

    /** A check every append runs first; see {@link #guardAppends}. */
    private volatile java.util.function.BiConsumer<StreamId, List<EventData>> appendGuard = (stream, events) -> {};

    /**
     * Runs {@code guard} on every batch before it is appended (one that throws stores nothing), as the SQLite
     * engine's {@code guardAppends} does: a {@link dev.lethe.core.privacy.PrivateEventStore} built on this store
     * installs its check that the raw log takes no event whose personal fields only its {@code append} seals,
     * so that a program tested in memory is refused what it would be refused on SQLite.
     */
    public void guardAppends(java.util.function.BiConsumer<StreamId, List<EventData>> guard) {
        this.appendGuard = java.util.Objects.requireNonNull(guard, "guard");
    }

    @Override
    public AppendResult append(StreamId streamId, ExpectedVersion expected, List<EventData> events) {
        return append(streamId, expected, events, null, null);
    }

    @Override
    public java.util.concurrent.CompletableFuture<AppendResult> appendAsync(
            StreamId streamId,
            ExpectedVersion expected,
            List<EventData> events,
            Instant recordFrom,
            Instant recordBefore) {
        try {
            return java.util.concurrent.CompletableFuture.completedFuture(
                    append(streamId, expected, events, recordFrom, recordBefore));
        } catch (RuntimeException e) {
            return java.util.concurrent.CompletableFuture.failedFuture(e);
        }
    }

    /** {@code recordFrom}, {@code recordBefore}: null, or the window the batch is recorded in (see {@link EventStore}). */
    @Override
    public AppendResult append(
            StreamId streamId,
            ExpectedVersion expected,
            List<EventData> events,
            Instant recordFrom,
            Instant recordBefore) {
        AppendRules.checkAppend(streamId, expected, events);
        AppendRules.checkWindow(recordFrom, recordBefore);
        appendGuard.accept(streamId, events);
        lock.writeLock().lock();
        try {
            checkOpen();
            // The window first, as the SQLite engine checks it (before a retry or a version is looked at).
            Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
            Instant at = now.isAfter(lastRecordedAt) ? now : lastRecordedAt;
            AppendRules.checkWindowStart(recordFrom, at);
            if (recordFrom != null && recordFrom.truncatedTo(ChronoUnit.MICROS).isAfter(at)) {
                at = recordFrom.truncatedTo(ChronoUnit.MICROS);
            }
            if (recordBefore != null && !at.isBefore(recordBefore)) {
                // A late batch is told the store's time, and sealed again for it: from now on the store records no
                // earlier (as the SQLite engine's time moves with its reading), or the batch sealed for that time
                // would start "hours ahead" of a clock that read ahead once, and be refused.
                lastRecordedAt = at;
                throw new dev.lethe.core.store.LateRecordingException(recordBefore, at);
            }
            Optional<AppendResult> retry = AppendRules.retryOf(streamId, events, stored(events));
            if (retry.isPresent()) {
                return retry.get();
            }
            for (EventData data : events) {
                if (data.generatedId() && byId.containsKey(data.id())) {
                    throw DuplicateEventException.of(data.id(), "although it was generated as a fresh id");
                }
            }
            List<RecordedEvent> stream = streams.getOrDefault(streamId, List.of());
            long current = stream.size() - 1;
            if (!expected.isSatisfiedBy(current)) {
                throw WrongExpectedVersionException.of(streamId, expected, current);
            }
            lastRecordedAt = at;
            List<RecordedEvent> target = streams.computeIfAbsent(streamId, s -> new ArrayList<>());
            long firstPosition = log.size();
            for (EventData data : events) {
                UUID id = data.id() != null ? data.id() : UUID.randomUUID();
                RecordedEvent event = new RecordedEvent(
                        id,
                        streamId,
                        target.size(),
                        log.size(),
                        data.type(),
                        data.data(),
                        data.metadata(),
                        lastRecordedAt);
                log.add(event);
                target.add(event);
                byId.put(id, event);
            }
            head.advance(log.size() - 1);
            return new AppendResult(streamId, current + 1, current + events.size(), firstPosition, log.size() - 1);
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public boolean containsEvent(UUID id) {
        AppendRules.require(id, "event id");
        lock.readLock().lock();
        try {
            return byId.containsKey(id);
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public Map<UUID, StoredEvent> storedEvents(java.util.Collection<UUID> ids) {
        dev.lethe.core.spi.AppendRules.require(ids, "event ids");
        lock.readLock().lock();
        try {
            Map<UUID, StoredEvent> found = new HashMap<>();
            for (UUID id : ids) {
                RecordedEvent event = byId.get(id);
                if (event != null) {
                    found.put(id, new StoredEvent(event.streamId(), event.version(), event.position()));
                }
            }
            return found;
        } finally {
            lock.readLock().unlock();
        }
    }

    private Map<UUID, StoredEvent> stored(List<EventData> events) {
        Map<UUID, StoredEvent> found = new HashMap<>();
        for (EventData data : events) {
            RecordedEvent event = data.clientId().isEmpty() ? null : byId.get(data.id());
            if (event != null) {
                found.put(event.id(), new StoredEvent(event.streamId(), event.version(), event.position()));
            }
        }
        return found;
    }

    @Override
    public List<RecordedEvent> readStream(StreamId streamId, long fromVersion, Direction direction, int limit) {
        AppendRules.require(streamId, "stream id");
        AppendRules.require(direction, "direction");
        AppendRules.checkRead("from version", fromVersion, limit);
        lock.readLock().lock();
        try {
            checkOpen();
            List<RecordedEvent> stream = streams.getOrDefault(streamId, List.of());
            List<RecordedEvent> out = new ArrayList<>();
            if (direction == Direction.FORWARD) {
                for (long v = fromVersion; v < stream.size() && out.size() < limit; v++) {
                    out.add(stream.get((int) v));
                }
            } else {
                for (long v = Math.min(fromVersion, stream.size() - 1L); v >= 0 && out.size() < limit; v--) {
                    out.add(stream.get((int) v));
                }
            }
            return out;
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public List<RecordedEvent> readStreamAsOf(StreamId streamId, Instant asOf, long fromVersion, int limit) {
        AppendRules.require(streamId, "stream id");
        AppendRules.require(asOf, "as-of instant");
        AppendRules.checkRead("from version", fromVersion, limit);
        lock.readLock().lock();
        try {
            checkOpen();
            List<RecordedEvent> out = new ArrayList<>();
            for (RecordedEvent event : streams.getOrDefault(streamId, List.of())) {
                if (out.size() == limit || event.recordedAt().isAfter(asOf)) {
                    break;
                }
                if (event.version() >= fromVersion) {
                    out.add(event);
                }
            }
            return out;
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public List<RecordedEvent> readAll(long fromPosition, int limit) {
        AppendRules.checkRead("from position", fromPosition, limit);
        lock.readLock().lock();
        try {
            checkOpen();
            int from = (int) Math.min(fromPosition, log.size());
            return new ArrayList<>(log.subList(from, Math.min(log.size(), from + limit)));
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public List<RecordedEvent> readCategory(String category, long fromPosition, int limit) {
        AppendRules.checkCategory(category);
        AppendRules.checkRead("from position", fromPosition, limit);
        lock.readLock().lock();
        try {
            checkOpen();
            List<RecordedEvent> out = new ArrayList<>();
            for (int p = (int) Math.min(fromPosition, log.size()); p < log.size() && out.size() < limit; p++) {
                RecordedEvent event = log.get(p);
                if (event.category().equals(category)) {
                    out.add(event);
                }
            }
            return out;
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public List<StreamId> readStreamIds(StreamId afterExclusive, int limit) {
        AppendRules.checkLimit(limit);
        lock.readLock().lock();
        try {
            checkOpen();
            var after = afterExclusive == null ? streams : streams.tailMap(afterExclusive, false);
            return after.keySet().stream().limit(limit).toList();
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public StreamInfo streamInfo(StreamId streamId) {
        AppendRules.require(streamId, "stream id");
        lock.readLock().lock();
        try {
            checkOpen();
            List<RecordedEvent> stream = streams.get(streamId);
            if (stream == null) {
                return StreamInfo.absent(streamId);
            }
            return new StreamInfo(
                    streamId,
                    stream.size() - 1,
                    stream.get(0).recordedAt(),
                    stream.get(stream.size() - 1).recordedAt());
        } finally {
            lock.readLock().unlock();
        }
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
    public void close() {
        closed = true;
        head.close();
    }
}
