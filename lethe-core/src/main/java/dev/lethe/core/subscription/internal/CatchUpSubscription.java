package dev.lethe.core.subscription.internal;

import dev.lethe.core.store.EventStore;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.LetheException;
import dev.lethe.core.store.RecordedEvent;
import dev.lethe.core.subscription.BatchListener;
import dev.lethe.core.subscription.CheckpointFit;
import dev.lethe.core.subscription.Subscription;
import dev.lethe.core.subscription.SubscriptionRequest;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One thread that reads a page, hands it to the listener, and repeats; when a read comes back short
 * the subscription is caught up, and it sleeps on the store's head signal until a commit moves the
 * head past what it has read.
 *
 * <p>Why there is no gap and no duplicate at the switch to live: there is no switch. Live delivery is
 * the same read from the same next position; the head snapshot taken <em>before</em> each read tells
 * whether a later commit may have been missed, and a commit after the snapshot always wakes the wait.
 */
public final class CatchUpSubscription implements Subscription, Runnable {
    private static final AtomicInteger THREADS = new AtomicInteger();
    private static final Duration IDLE_WAIT = Duration.ofMillis(500);
    private static final long MAX_BACKOFF_MILLIS = 5_000;

    private final EventStore store;
    private final SubscriptionRequest request;
    private final BatchListener listener;
    private final CountDownLatch live = new CountDownLatch(1);
    private final Object progress = new Object();
    private final Thread thread;
    private volatile long next;
    private volatile boolean isLive;
    private volatile boolean closed;
    /** Set when the thread's loop has ended, under {@code progress}, before waiters are woken. */
    private boolean finished;

    private volatile boolean waiting;
    /** The last event delivered or read on this thread, whose witness a checkpoint after it saves. */
    private long lastSeenPosition = -1;

    private RecordedEvent lastSeenEvent;
    private volatile Throwable failure;

    /** For a per-event listener: delivered one by one, so that close() from inside it stops the page. */
    private final dev.lethe.core.subscription.EventListener perEvent;

    private CatchUpSubscription(
            EventStore store,
            SubscriptionRequest request,
            BatchListener listener,
            dev.lethe.core.subscription.EventListener perEvent) {
        this.store = store;
        this.request = request;
        this.listener = listener;
        this.perEvent = perEvent;
        this.next = startPosition(store, request);
        this.thread = new Thread(this, "lethe-subscription-" + request.name() + "-" + THREADS.incrementAndGet());
        this.thread.setDaemon(true);
    }

    public static Subscription start(EventStore store, SubscriptionRequest request, BatchListener listener) {
        requireArguments(request, listener);
        CatchUpSubscription subscription = new CatchUpSubscription(store, request, listener, null);
        subscription.thread.start();
        return subscription;
    }

    /**
     * Starts a subscription for a per-event listener: if the listener closes the subscription, no
     * later event of the page is delivered, and the checkpoint stops after the last one that was.
     */
    public static Subscription start(
            EventStore store, SubscriptionRequest request, dev.lethe.core.subscription.EventListener listener) {
        requireArguments(request, listener);
        CatchUpSubscription subscription =
                new CatchUpSubscription(store, request, BatchListener.of(listener), listener);
        subscription.thread.start();
        return subscription;
    }

    /** A missing request or listener, refused by name in the caller's thread (not an NPE in the subscription's). */
    private static void requireArguments(SubscriptionRequest request, Object listener) {
        dev.lethe.core.spi.AppendRules.require(request, "subscription request");
        dev.lethe.core.spi.AppendRules.require(listener, "listener");
    }

    /** Hands the page to the listener; returns the position after the last event delivered. */
    private long deliver(List<RecordedEvent> page) throws Exception {
        if (perEvent == null) {
            listener.onBatch(page);
            seen(page.get(page.size() - 1));
            return page.get(page.size() - 1).position() + 1;
        }
        for (RecordedEvent event : page) {
            if (closed) {
                return event.position();
            }
            perEvent.onEvent(event);
            seen(event);
        }
        return page.get(page.size() - 1).position() + 1;
    }

    private void seen(RecordedEvent event) {
        lastSeenPosition = event.position();
        lastSeenEvent = event;
    }

    /**
     * The witness of the event at {@code next - 1} ({@link CheckpointFit#witness}), saved with a checkpoint: the last one delivered, or, past
     * events of other categories, read from the log (one event). Null when the checkpoint keeps none.
     */
    private String eventBefore(long next) {
        if (next == 0 || request.checkpoints().isEmpty()) {
            return null;
        }
        if (lastSeenPosition != next - 1) {
            List<RecordedEvent> before = store.readAll(next - 1, 1);
            if (before.isEmpty() || before.get(0).position() != next - 1) {
                return null;
            }
            seen(before.get(0));
        }
        // Worked out here, once a page: the writer session is a query.
        return CheckpointFit.witness(store, lastSeenEvent);
    }

    private static long startPosition(EventStore store, SubscriptionRequest request) {
        if (request.checkpoints().isPresent()) {
            var checkpoints = request.checkpoints().get();
            var stored = checkpoints.load(request.name());
            if (stored.isPresent()) {
                long next = stored.getAsLong();
                CheckpointFit fit = CheckpointFit.of(
                        next, checkpoints.loadEventBefore(request.name()).orElse(null), store);
                if (fit != CheckpointFit.FITS) {
                    throw misfit(request.name(), next, fit, store);
                }
                return next;
            }
        }
        long head = store.headPosition();
        if (request.from() > head + 1) {
            // Positions up to it would be taken by later appends and never delivered.
            throw InvalidEventException.of(
                    "from",
                    "position " + request.from() + " is past the log's head (" + head + "): the events the log"
                            + " appends next would be skipped. Subscribe from at most " + (head + 1) + " (a"
                            + " position kept from before the log was restored from an older copy?)");
        }
        return request.from() == SubscriptionRequest.FROM_END ? head + 1 : request.from();
    }

    /**
     * A checkpoint that does not fit the log: resuming from it would skip events (new ones would take
     * positions it has passed). What to do depends on the subscriber, so the subscription is refused.
     */
    private static InvalidEventException misfit(String name, long next, CheckpointFit fit, EventStore store) {
        String why = fit == CheckpointFit.AHEAD
                ? "is past the log's head (" + store.headPosition() + "): the log was restored from an older copy"
                        + " than the checkpoint"
                : "follows another event than the log holds at position " + (next - 1) + ": the log was restored"
                        + " from an older copy and appended to since, or the checkpoint was taken on another store";
        return InvalidEventException.of(
                "subscription " + name,
                "its checkpoint (position " + next + ") " + why + "; resuming would skip events. Save the position"
                        + " to resume from (CheckpointStore.save; 0 reads the log again) and subscribe again");
    }

    @Override
    public void run() {
        try {
            while (!closed) {
                long headBefore = store.headPosition();
                List<RecordedEvent> page = readRetryingTransientFailures();
                if (page == null) {
                    return;
                }
                if (!page.isEmpty()) {
                    advanceTo(deliver(page));
                }
                if (closed) {
                    return; // closed by the listener: what it did not get is not marked as seen
                }
                if (!EventStore.mayContinue(page, request.pageSize(), EventStore.PAGE_BYTES)) {
                    // Everything committed up to headBefore has now been seen.
                    if (next <= headBefore) {
                        advanceTo(headBefore + 1);
                        listener.onProgress(next);
                    }
                    becomeLive();
                    waiting = true;
                    if (!closed) {
                        store.awaitHeadBeyond(headBefore, IDLE_WAIT);
                    }
                    waiting = false;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            if (!closed) {
                // Not close(): a listener interrupted this thread, or left its interrupt flag set. The
                // subscription stops here, so it says so rather than pass for live with nothing delivered.
                failure = new IllegalStateException(
                        "the subscription's thread was interrupted though the subscription was not closed (a"
                                + " listener that interrupts it, or leaves its interrupt flag set, stops it)",
                        e);
                listener.onError(failure);
            }
        } catch (Throwable e) {
            if (!closed) {
                failure = e;
                listener.onError(e);
            }
            if (e instanceof OutOfMemoryError fatal) {
                // The process's handler decides (lethe serve halts), as for any other thread.
                throw fatal;
            }
        } finally {
            live.countDown();
            synchronized (progress) {
                finished = true; // before the wake-up: a waiter must not see a thread still alive
                progress.notifyAll();
            }
        }
    }

    /** Reads the next page; waits and retries while the store reports a transient failure. */
    private List<RecordedEvent> readRetryingTransientFailures() throws InterruptedException {
        long backoffMillis = 50;
        while (!closed) {
            try {
                return read();
            } catch (LetheException e) {
                if (!e.isTransient()) {
                    throw e;
                }
                Thread.sleep(backoffMillis);
                backoffMillis = Math.min(MAX_BACKOFF_MILLIS, backoffMillis * 2);
            }
        }
        return null;
    }

    private List<RecordedEvent> read() {
        // Within a byte budget: two subscribers reading 512 events of 1 MB each ran a server out of memory.
        return request.category().isPresent()
                ? store.readCategory(request.category().get(), next, request.pageSize(), EventStore.PAGE_BYTES)
                : store.readAll(next, request.pageSize(), EventStore.PAGE_BYTES);
    }

    private void advanceTo(long position) {
        if (position <= next) {
            return;
        }
        request.checkpoints()
                .ifPresent(checkpoints -> checkpoints.save(request.name(), position, eventBefore(position)));
        synchronized (progress) {
            next = position;
            progress.notifyAll();
        }
    }

    private void becomeLive() {
        if (!isLive) {
            isLive = true;
            listener.onCaughtUp(next - 1);
            live.countDown();
        }
    }

    @Override
    public long nextPosition() {
        return next;
    }

    @Override
    public boolean isLive() {
        return isLive && failure == null && !closed;
    }

    @Override
    public boolean awaitLive(Duration timeout) throws InterruptedException {
        live.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
        return isLive();
    }

    @Override
    public boolean awaitPosition(long position, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (progress) {
            while (next <= position && failure == null && !finished) {
                long remaining = deadline - System.nanoTime();
                if (remaining <= 0) {
                    return false;
                }
                progress.wait(Math.max(1, remaining / 1_000_000));
            }
            return next > position;
        }
    }

    @Override
    public Optional<Throwable> failure() {
        return Optional.ofNullable(failure);
    }

    @Override
    public void close() {
        closed = true;
        if (Thread.currentThread() != thread) {
            // Only a thread asleep on the head signal is interrupted; one busy reading or in its
            // listener sees `closed` when it finishes the event (or page) in hand.
            if (waiting) {
                thread.interrupt();
            }
            // Waits for what is in hand, whatever the caller's interrupt status (restored after): after
            // close() returns, the listener is never called again — a rebuild relies on it.
            boolean interrupted = false;
            while (true) {
                try {
                    thread.join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
