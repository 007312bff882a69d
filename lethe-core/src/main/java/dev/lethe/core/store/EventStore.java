package dev.lethe.core.store;

import dev.lethe.core.subscription.BatchListener;
import dev.lethe.core.subscription.EventListener;
import dev.lethe.core.subscription.Subscription;
import dev.lethe.core.subscription.SubscriptionRequest;
import dev.lethe.core.subscription.internal.CatchUpSubscription;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * An append-only log of events, grouped in streams. Thread-safe.
 *
 * <h2>Guarantees</h2>
 *
 * <ul>
 *   <li><b>Atomic batches.</b> An append writes all of its events to one stream or none of them.
 *   <li><b>Dense order.</b> Each stream's versions are 0, 1, 2, … without gaps; the global positions
 *       of the whole log are 0, 1, 2, … without gaps, in commit order. A reader that sees position N
 *       also sees every position below N.
 *   <li><b>Optimistic concurrency.</b> An {@link ExpectedVersion} is checked atomically with the
 *       append; a mismatch throws {@link WrongExpectedVersionException} naming both versions.
 *   <li><b>Idempotency.</b> Re-appending a batch whose events carry client-chosen ids that are all
 *       already stored, as the same batch in the same stream, returns the original {@link
 *       AppendResult} and writes nothing, whatever the expected version says.
 *   <li><b>Durability</b> depends on the engine: the embedded SQLite engine acknowledges an append
 *       only once it is on disk (fsync); the in-memory engine keeps nothing across restarts.
 * </ul>
 *
 * <p>Not guaranteed: a total order between {@code recordedAt} clocks of different machines (there is
 * one clock, the store's); the ordering of two appends that race each other (both are ordered, in
 * whichever order they reached the store).
 */
public interface EventStore extends AutoCloseable {
    /** The largest number of events in one append. */
    int MAX_BATCH_EVENTS = 10_000;
    /** The largest number of events one read returns. */
    int MAX_READ_LIMIT = 10_000;

    /**
     * Appends a batch of events to one stream, atomically, if {@code expected} holds.
     *
     * @return where the events were written (for an exact retry: where they were first written)
     * @throws WrongExpectedVersionException if the stream's version does not match {@code expected}
     * @throws DuplicateEventException if an event id is already stored by another batch
     * @throws InvalidEventException if the batch is empty, too large or holds the same id twice
     * @throws StorageException if the engine failed; the batch was then not written
     */
    AppendResult append(StreamId streamId, ExpectedVersion expected, List<EventData> events);

    /**
     * Appends like {@link #append} without waiting for the commit: the future completes when the batch
     * is as durable as {@code append} would have made it, or fails with the exception {@code append}
     * would have thrown. Batches submitted one after another by one thread are committed in that order.
     * A caller that keeps a few batches in flight lets the engine commit one while it prepares the next
     * (the privacy layer seals the next batch's personal fields meanwhile).
     *
     * <p>Invalid arguments fail the future, as every other error does. The default implementation
     * appends synchronously and returns a completed future. An engine with a bounded queue of batches
     * waiting to be committed (SQLite's) blocks the caller while that queue is full: back-pressure, not a
     * future that fails.
     */
    default java.util.concurrent.CompletableFuture<AppendResult> appendAsync(
            StreamId streamId, ExpectedVersion expected, List<EventData> events) {
        try {
            return java.util.concurrent.CompletableFuture.completedFuture(append(streamId, expected, events));
        } catch (RuntimeException e) {
            return java.util.concurrent.CompletableFuture.failedFuture(e);
        }
    }

    /**
     * Appends like {@link #appendAsync(StreamId, ExpectedVersion, List)}, recorded within a window: at the
     * engine's clock as always (never before the log's last event), or at {@code recordFrom} when that is later;
     * refused ({@link LateRecordingException}, nothing stored) when that instant is {@code recordBefore} or later
     * — never recorded earlier than the clock, so a read as of an instant never gains events later. For a batch
     * whose content depends on when it is recorded: the privacy layer seals personal fields under the day, month
     * or year of the instant it seals them at, and gives that instant and the end of the shortest period the
     * policy cuts, so that an event is always recorded in the periods its values were sealed for (recorded in a
     * later one, its retention would end a period early; in an earlier one, by a clock stepped back, late). An
     * exact retry of a batch stored already may be refused so too. A window with no instant in it ({@code
     * recordBefore} not after {@code recordFrom}), or one that starts more than {@link
     * dev.lethe.core.spi.AppendRules#MAX_RECORD_AHEAD} past the store's time (its clock, or its last event's
     * {@code recordedAt} when later), is refused as bad input ({@link InvalidEventException}), nothing stored: it
     * would record the batch, and every event after it, in the future.
     *
     * <p>The default implementation records at the engine's clock without this window (an engine that cannot hold
     * it); both of Lethe's engines hold it.
     */
    default java.util.concurrent.CompletableFuture<AppendResult> appendAsync(
            StreamId streamId,
            ExpectedVersion expected,
            List<EventData> events,
            java.time.Instant recordFrom,
            java.time.Instant recordBefore) {
        return appendAsync(streamId, expected, events);
    }

    /**
     * Appends like {@link #append(StreamId, ExpectedVersion, List)}, recorded within a window, as
     * {@link #appendAsync(StreamId, ExpectedVersion, List, java.time.Instant, java.time.Instant)} says.
     *
     * @throws LateRecordingException the store would record the batch at {@code recordBefore} or later (its clock,
     *     or the log's last event, or {@code recordFrom}, is that late); nothing was stored
     */
    default AppendResult append(
            StreamId streamId,
            ExpectedVersion expected,
            List<EventData> events,
            java.time.Instant recordFrom,
            java.time.Instant recordBefore) {
        return append(streamId, expected, events);
    }

    /**
     * Appends batches to several streams without waiting, each checked and stored exactly as by
     * {@link #appendAsync}, so that they can share one durable commit: for writes that belong together
     * and should cost one sync (an event and the entries that index it elsewhere, say). The SQLite engine commits them
     * in one transaction, in this order, and no other append comes between them (a batch that is an
     * exact retry of one stored earlier reports where it was first written, as with {@code append}).
     * This is not a multi-stream transaction: a batch that is refused (a wrong expected version, an
     * empty batch) fails its own future and the others are stored. Together they may hold at most
     * {@value #MAX_BATCH_EVENTS} events, as one batch may. The default implementation calls
     * {@link #appendAsync} for each.
     *
     * @return one future per batch, in the order given
     * @throws InvalidEventException if the list is null or empty, holds a null batch, or more than
     *     {@value #MAX_BATCH_EVENTS} events in all; then no batch is appended
     */
    default List<java.util.concurrent.CompletableFuture<AppendResult>> appendTogether(List<StreamAppend> appends) {
        return dev.lethe.core.spi.AppendRules.checkTogether(appends).stream()
                .map(a -> {
                    try {
                        return appendAsync(a.streamId(), a.expected(), a.events());
                    } catch (RuntimeException e) { // an engine's appendAsync that throws after all
                        return java.util.concurrent.CompletableFuture.<AppendResult>failedFuture(e);
                    }
                })
                .toList();
    }

    /** Reads up to {@code limit} events of a stream, starting at {@code fromVersion} (inclusive). */
    List<RecordedEvent> readStream(StreamId streamId, long fromVersion, Direction direction, int limit);

    /**
     * Reads the stream as it was at {@code asOf}: its events recorded at or before that instant,
     * forward from {@code fromVersion}, at most {@code limit}. Because {@code recordedAt} never
     * decreases along the log, this is exactly what a reader at {@code asOf} could have read.
     */
    List<RecordedEvent> readStreamAsOf(StreamId streamId, Instant asOf, long fromVersion, int limit);

    /**
     * Reads the stream as it was at version {@code version}: its events from version 0 up to and
     * including {@code version}, at most {@code limit}.
     */
    default List<RecordedEvent> readStreamAsOfVersion(StreamId streamId, long version, int limit) {
        if (version < 0) {
            throw InvalidEventException.of("as-of version", version + " is negative");
        }
        return readStream(streamId, 0, Direction.FORWARD, version >= limit ? limit : (int) version + 1);
    }

    /** Reads up to {@code limit} events of the whole log, from {@code fromPosition} (inclusive). */
    List<RecordedEvent> readAll(long fromPosition, int limit);

    /** Reads up to {@code limit} events of one category, from {@code fromPosition} (inclusive). */
    List<RecordedEvent> readCategory(String category, long fromPosition, int limit);

    /**
     * The byte budget of a page that code reading the whole log in pages (subscriptions, the subject index,
     * exports, key checks) reads at once: about 4 MiB of events as stored, however large they are, so that
     * 10,000 events of 1 MB each are not 10 GB of heap.
     */
    long PAGE_BYTES = 4L * 1024 * 1024;

    /**
     * Reads as {@link #readAll(long, int)} does, but stops after the event that brings the page's data and
     * metadata ({@link #sizeOf}) to {@code maxBytes}: a page of large events does not fill the heap. The
     * page may then be shorter than {@code limit} with more to come: {@link #mayContinue} tells. Engines stop
     * reading there; this default reads {@code limit} events, then cuts.
     */
    default List<RecordedEvent> readAll(long fromPosition, int limit, long maxBytes) {
        return cutAt(readAll(fromPosition, limit), maxBytes);
    }

    /** Reads as {@link #readCategory(String, long, int)}, within a byte budget as {@link #readAll(long, int, long)}. */
    default List<RecordedEvent> readCategory(String category, long fromPosition, int limit, long maxBytes) {
        return cutAt(readCategory(category, fromPosition, limit), maxBytes);
    }

    /** An event's data and metadata, in bytes as stored: what a byte budget counts. */
    static long sizeOf(RecordedEvent event) {
        return (long) event.data().size() + event.metadata().size();
    }

    /**
     * Whether a page read with {@code limit} and {@code maxBytes} may be followed by more events: it holds
     * {@code limit} events, or it reached {@code maxBytes}. Otherwise it ends what there was to read.
     */
    static boolean mayContinue(List<RecordedEvent> page, int limit, long maxBytes) {
        if (page.size() >= limit) {
            return true;
        }
        long bytes = 0;
        for (RecordedEvent event : page) {
            bytes += sizeOf(event);
        }
        return bytes >= maxBytes;
    }

    /** The first events of {@code page} up to the one that brings them to {@code maxBytes} (at least one). */
    static List<RecordedEvent> cutAt(List<RecordedEvent> page, long maxBytes) {
        if (maxBytes < 1) {
            throw InvalidEventException.of("max bytes", maxBytes + " must be at least 1");
        }
        long bytes = 0;
        for (int i = 0; i < page.size(); i++) {
            bytes += sizeOf(page.get(i));
            if (bytes >= maxBytes) {
                return page.subList(0, i + 1);
            }
        }
        return page;
    }

    /**
     * Lists the ids of the streams that hold at least one event, system streams ({@code $…}) included,
     * in ascending order of {@link StreamId#compareTo} (stream ids are ASCII, so this is also byte
     * order): up to {@code limit} ids after {@code afterExclusive}, or from the first when it is null.
     * Page through a store by passing the last id of one page as {@code afterExclusive} of the next;
     * a page shorter than {@code limit} is the last. Streams created while paging appear if they sort
     * after the current page.
     *
     * @throws InvalidEventException if {@code limit} is outside 1..{@value #MAX_READ_LIMIT}
     */
    List<StreamId> readStreamIds(StreamId afterExclusive, int limit);

    /** What is known of a stream; {@link StreamInfo#exists()} is false for a stream with no event. */
    StreamInfo streamInfo(StreamId streamId);

    /**
     * Whether an event with this id is stored, in any stream. An engine without an index by id may answer
     * false ("not known to be"): callers use it only to skip work for a retry, never to decide what is stored.
     */
    default boolean containsEvent(java.util.UUID id) {
        return false;
    }

    /**
     * Where each of these ids that is stored is: its stream, version and position. What a tool that stores
     * nothing (a dry run) needs to tell a batch the store would answer as a retry from one it would refuse
     * ({@link dev.lethe.core.spi.AppendRules#retryOf}). An engine without an index by id answers an empty map
     * ("none known to be"), like {@link #containsEvent}.
     */
    default java.util.Map<java.util.UUID, dev.lethe.core.spi.AppendRules.StoredEvent> storedEvents(
            java.util.Collection<java.util.UUID> ids) {
        dev.lethe.core.spi.AppendRules.require(ids, "event ids");
        return java.util.Map.of();
    }

    /** Whether any of these ids is stored ({@link #containsEvent}); engines may ask in one query. */
    default boolean containsAnyEvent(java.util.Collection<java.util.UUID> ids) {
        dev.lethe.core.spi.AppendRules.require(ids, "event ids");
        for (java.util.UUID id : ids) {
            if (containsEvent(id)) {
                return true;
            }
        }
        return false;
    }

    /**
     * An opaque value naming the writer session (one open of the store for writing) that appended the
     * event at {@code position}: random per session, so that two logs sharing a prefix (a copy restored
     * from a backup, then appended to) differ in it for every event appended after they parted, whatever
     * ids clients chose. Checkpoints record it ({@code CheckpointFit}). Empty when the engine keeps none.
     */
    default String writerSession(long position) {
        return "";
    }

    /**
     * Why this store refuses appends for good, if it does (another writer may have taken its directory):
     * callers that write elsewhere first (a key store) ask before they do. Empty by default.
     */
    default java.util.Optional<String> writeRefusal() {
        return java.util.Optional.empty();
    }

    /** The position of the last committed event, or -1 when the log is empty. */
    long headPosition();

    /**
     * Waits until an event beyond {@code position} is committed, or the timeout passes, or the store
     * closes.
     *
     * @return whether the head is now beyond {@code position}
     */
    boolean awaitHeadBeyond(long position, Duration timeout) throws InterruptedException;

    /**
     * Subscribes to the log or one category: delivers the stored events from the request's start,
     * then follows new events live, with no gap and no duplicate at the switch. Each subscription
     * runs on its own thread and pulls events at its own pace, so a slow listener never slows
     * writers and never buffers more than one page of events. After {@link #close} it throws a permanent
     * {@code StorageException}, as reads do ({@link #requireOpen}).
     */
    default Subscription subscribe(SubscriptionRequest request, EventListener listener) {
        requireOpen();
        return CatchUpSubscription.start(this, request, listener);
    }

    /** Like {@link #subscribe(SubscriptionRequest, EventListener)}, one page of events at a time. */
    default Subscription subscribeBatches(SubscriptionRequest request, BatchListener listener) {
        requireOpen();
        return CatchUpSubscription.start(this, request, listener);
    }

    /**
     * Throws a permanent {@code StorageException} ("the event store is closed") once {@link #close} was called, so
     * that a subscription to a closed store is refused at once rather than failing on its own thread. Engines
     * override it; this default checks nothing.
     */
    default void requireOpen() {}

    /** Stops accepting appends, waits for those in flight, and releases the engine's resources. */
    @Override
    void close();
}
