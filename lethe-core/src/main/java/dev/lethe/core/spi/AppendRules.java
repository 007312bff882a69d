package dev.lethe.core.spi;

import dev.lethe.core.store.AppendResult;
import dev.lethe.core.store.DuplicateEventException;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.EventStore;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.LetheException;
import dev.lethe.core.store.StorageException;
import dev.lethe.core.store.StreamAppend;
import dev.lethe.core.store.StreamId;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/**
 * The rules every engine applies to an append before it writes, shared so that engines cannot
 * disagree: batch shape, and what a reused event id means.
 */
public final class AppendRules {
    private AppendRules() {}

    /** Where an already stored event is. */
    public record StoredEvent(StreamId streamId, long version, long position) {}

    /** Checks the batch's shape: not null, not empty, not too large, no id twice. */
    public static void checkBatch(StreamId streamId, List<EventData> events) {
        if (streamId == null) {
            throw InvalidEventException.of("stream id", "is missing");
        }
        if (events == null) {
            throw InvalidEventException.of("events", "is missing (null): an append needs a list of at least one event");
        }
        if (events.isEmpty()) {
            throw InvalidEventException.of("events", "the batch is empty: an append needs at least one event");
        }
        if (events.size() > EventStore.MAX_BATCH_EVENTS) {
            throw InvalidEventException.of(
                    "events",
                    "the batch holds " + events.size() + " events, the limit is " + EventStore.MAX_BATCH_EVENTS);
        }
        Set<UUID> seen = new HashSet<>();
        for (int i = 0; i < events.size(); i++) {
            EventData event = events.get(i);
            if (event == null) {
                throw InvalidEventException.of("events[" + i + "]", "is null");
            }
            if (event.id() != null && !seen.add(event.id())) {
                throw InvalidEventException.of("events[" + i + "].id", event.id() + " appears twice in the batch");
            }
        }
    }

    /**
     * Checks {@link EventStore#appendTogether}'s list: given, not empty, no null batch, at most
     * {@value EventStore#MAX_BATCH_EVENTS} events in all. Each batch is checked on its own later.
     */
    public static List<StreamAppend> checkTogether(List<StreamAppend> appends) {
        if (appends == null || appends.isEmpty()) {
            throw InvalidEventException.of("batches to append together", "none were given");
        }
        long events = 0;
        for (StreamAppend append : appends) {
            if (append == null) {
                throw InvalidEventException.of("batches to append together", "one of them is null");
            }
            events += append.events() == null ? 0 : append.events().size();
        }
        if (events > EventStore.MAX_BATCH_EVENTS) {
            throw InvalidEventException.of(
                    "batches to append together",
                    "they hold " + events + " events in all, the limit is " + EventStore.MAX_BATCH_EVENTS);
        }
        return appends;
    }

    /**
     * Waits for an append's future as {@code append} does: its own failure rethrown as it was, anything
     * else and an interruption as a transient {@link StorageException}.
     */
    public static AppendResult await(java.util.concurrent.CompletableFuture<AppendResult> future) {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw StorageException.transientFailure(
                    "interrupted while waiting for the append to commit; it may or may not be stored", e);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof LetheException lethe) {
                // Made on the writer's thread: its trace alone would not say which call of the application failed.
                // One failure may answer every append of a group: the first waiter's stack only (it names its thread).
                if (java.util.Arrays.stream(lethe.getSuppressed()).noneMatch(AppendCalledHere.class::isInstance)) {
                    lethe.addSuppressed(new AppendCalledHere());
                }
                throw lethe;
            }
            throw StorageException.transientFailure("append failed: " + e.getCause(), e.getCause());
        }
    }

    /**
     * Attached to an append's failure, made on the engine's writer thread, when it is rethrown to a caller
     * that waited for it: its stack trace is the caller's.
     */
    public static final class AppendCalledHere extends RuntimeException {
        AppendCalledHere() {
            super("the append that failed was called here, on thread '"
                    + Thread.currentThread().getName() + "'");
        }
    }

    /** Checks an append's arguments: the batch's shape, and that an expected version is given. */
    public static void checkAppend(StreamId streamId, ExpectedVersion expected, List<EventData> events) {
        checkBatch(streamId, events);
        require(expected, "expected version");
    }

    /**
     * How far past the store's time (its clock, or its last event's {@code recordedAt} when later) a recording
     * window may start: enough for the privacy layer, whose seal instant runs ahead of the store only by a clock
     * stepped back between sealing and recording (or by two clocks that disagree that little); a start further
     * ahead would record the batch, and every event after it, in the future.
     */
    public static final java.time.Duration MAX_RECORD_AHEAD = java.time.Duration.ofHours(1);

    /** What the refusals of a recording window name ({@link #checkWindow}, {@link #checkWindowStart}). */
    public static final String WINDOW = "recording window";

    /** Rejects a recording window that is empty (it ends where it starts, or before); null bounds are open. */
    public static void checkWindow(java.time.Instant recordFrom, java.time.Instant recordBefore) {
        if (recordFrom != null && recordBefore != null && !recordFrom.isBefore(recordBefore)) {
            throw InvalidEventException.of(
                    WINDOW,
                    "recordBefore (" + recordBefore + ") is not after recordFrom (" + recordFrom
                            + "): no instant is in it");
        }
    }

    /**
     * Rejects a window that starts more than {@link #MAX_RECORD_AHEAD} past {@code storeTime} (the store's clock,
     * or its last event's {@code recordedAt} when later).
     */
    public static void checkWindowStart(java.time.Instant recordFrom, java.time.Instant storeTime) {
        if (recordFrom != null && recordFrom.isAfter(storeTime.plus(MAX_RECORD_AHEAD))) {
            throw InvalidEventException.of(
                    WINDOW,
                    "recordFrom (" + recordFrom + ") is more than " + MAX_RECORD_AHEAD.toMinutes()
                            + " minutes past the store's time (" + storeTime + "): the batch, and every event after"
                            + " it, would be recorded in the future; give the instant the batch was prepared at"
                            + " (a clock that disagrees with the store's by more than that is wrong)");
        }
    }

    /** Rejects a missing argument as bad input naming it. */
    public static <T> T require(T value, String what) {
        if (value == null) {
            throw InvalidEventException.of(what, "is missing");
        }
        return value;
    }

    /** Whether any event of the batch carries a client-chosen id (only those need a lookup). */
    public static boolean hasClientIds(List<EventData> events) {
        for (EventData event : events) {
            if (event.clientId().isPresent()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Decides what stored ids mean for a batch: nothing stored, an exact retry (the original result),
     * or a conflict.
     *
     * @param stored the already stored events among the batch's client ids
     * @return the original result for an exact retry, empty when none of the ids is stored
     * @throws DuplicateEventException when some ids are stored but the batch is not an exact retry
     */
    public static Optional<AppendResult> retryOf(
            StreamId streamId, List<EventData> events, Map<UUID, StoredEvent> stored) {
        if (stored.isEmpty()) {
            return Optional.empty();
        }
        StoredEvent first = null;
        for (int i = 0; i < events.size(); i++) {
            UUID id = events.get(i).id();
            StoredEvent found = id == null ? null : stored.get(id);
            if (found == null) {
                UUID storedId = stored.keySet().iterator().next();
                throw DuplicateEventException.of(storedId, "but the batch also holds events that are not");
            }
            if (!found.streamId().equals(streamId)) {
                // The other stream is not named: a stream id may be personal data, and the caller's role may not
                // be one that reads that stream.
                throw DuplicateEventException.of(id, "in another stream than '" + streamId + "'");
            }
            if (first == null) {
                first = found;
            } else if (found.version() != first.version() + i || found.position() != first.position() + i) {
                throw DuplicateEventException.of(id, "at another place in the stream than this batch implies");
            }
        }
        StoredEvent last = stored.get(events.get(events.size() - 1).id());
        return Optional.of(
                new AppendResult(streamId, first.version(), last.version(), first.position(), last.position()));
    }

    /** Checks a read's bounds. */
    public static void checkRead(String what, long from, int limit) {
        if (from < 0) {
            throw InvalidEventException.of(what, "starts at " + from + ", which is negative");
        }
        checkLimit(limit);
    }

    /** Checks a read's page size: 1..{@link EventStore#MAX_READ_LIMIT}. */
    public static void checkLimit(int limit) {
        if (limit < 1 || limit > EventStore.MAX_READ_LIMIT) {
            throw InvalidEventException.of("limit", limit + " is outside 1.." + EventStore.MAX_READ_LIMIT);
        }
    }

    /** Checks a category name: the same characters as a stream id, without a dash. */
    public static void checkCategory(String category) {
        if (category == null || category.isEmpty()) {
            throw InvalidEventException.of("category", "must not be empty");
        }
        StreamId asStream;
        try {
            asStream = StreamId.of(category);
        } catch (InvalidEventException e) {
            throw e.at("category"); // a category has a stream id's characters; say which was given
        }
        if (!asStream.category().equals(category)) {
            throw InvalidEventException.of("category", "'" + category + "' must not contain '-'");
        }
    }
}
