package dev.lethe.core.privacy;

import dev.lethe.core.spi.AppendRules;
import dev.lethe.core.store.EventStore;
import dev.lethe.core.store.RecordedEvent;
import dev.lethe.core.store.StorageException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;
import java.util.function.Consumer;

/**
 * {@link PrivateEventStore#readAllRevealed}: reads the log page by page and reveals every event, the
 * next page read (and the current one decrypted) on background threads while the caller consumes, so
 * a replay uses every core; events reach the caller in log order, on its own thread.
 */
final class RevealedReplay implements AutoCloseable {
    private final EventStore store;
    private final BiFunction<RecordedEvent, Principal, RevealedEvent> reveal;
    private final java.util.function.LongSupplier keysGeneration;
    private ExecutorService threads;
    private boolean closed;

    /**
     * {@code keysGeneration} changes once a forget, an expiry or a re-wrap has evicted what it destroyed
     * ({@link dev.lethe.core.privacy.keys.KeyService#generation()}): an event revealed ahead under an older
     * generation is revealed again before the caller gets it.
     */
    RevealedReplay(
            EventStore store,
            BiFunction<RecordedEvent, Principal, RevealedEvent> reveal,
            java.util.function.LongSupplier keysGeneration) {
        this.store = store;
        this.reveal = reveal;
        this.keysGeneration = keysGeneration;
    }

    long run(long fromPosition, Principal principal, Consumer<RevealedEvent> reader) {
        AppendRules.require(principal, "principal");
        AppendRules.require(reader, "reader");
        AppendRules.checkRead("from position", fromPosition, REPLAY_PAGE);
        ExecutorService pool = threads();
        int[] limit = {REPLAY_PAGE};
        CompletableFuture<List<RecordedEvent>> next =
                CompletableFuture.supplyAsync(() -> store.readAll(fromPosition, limit[0]), pool);
        long count = 0;
        while (true) {
            List<RecordedEvent> page = joined(next);
            boolean last = page.size() < limit[0];
            PageReveal work = new PageReveal(page, principal);
            if (!last) {
                long after = page.get(page.size() - 1).position() + 1;
                int pageLimit = nextPageLimit(page);
                limit[0] = pageLimit;
                // The reader thread reads the next page, then helps decrypt this one.
                next = CompletableFuture.supplyAsync(
                        () -> {
                            List<RecordedEvent> read = store.readAll(after, pageLimit);
                            work.help();
                            return read;
                        },
                        pool);
            }
            work.help();
            RevealedEvent[] revealed = work.finished();
            long generation = work.generation;
            for (int i = 0; i < revealed.length; i++) {
                // Revealed ahead, perhaps before a forget or an expiry that has returned since: revealed again, so
                // that the forget applies to every event the caller gets after it (a page holds up to 5,000).
                long now = keysGeneration.getAsLong();
                if (now != generation) {
                    generation = now;
                    for (int j = i; j < revealed.length; j++) {
                        revealed[j] = null; // the rest of the page is revealed again as it is handed over
                    }
                }
                RevealedEvent event = revealed[i] != null ? revealed[i] : reveal.apply(page.get(i), principal);
                reader.accept(event);
            }
            count += page.size();
            if (last) {
                return count;
            }
        }
    }

    private static final int REPLAY_PAGE = 5_000;
    /** About what a page may hold, read ahead and revealed: pages of large events hold fewer. */
    private static final long REPLAY_PAGE_BYTES = 32L << 20;

    private static int nextPageLimit(List<RecordedEvent> page) {
        long bytes = 0;
        for (RecordedEvent event : page) {
            bytes += event.data().size() + event.metadata().size();
        }
        long perEvent = Math.max(1, bytes / page.size());
        return (int) Math.max(REPLAY_CHUNK, Math.min(REPLAY_PAGE, REPLAY_PAGE_BYTES / perEvent));
    }

    private static final int REPLAY_CHUNK = 250;

    /** One page to decrypt, in chunks that any thread may take. */
    private final class PageReveal {
        private final List<RecordedEvent> page;
        private final Principal principal;
        private final RevealedEvent[] revealed;
        private final int chunks;
        private final AtomicInteger nextChunk = new AtomicInteger();
        private final CountDownLatch done;
        private volatile Throwable failure;

        /** The keys' generation before any of this page was revealed. */
        final long generation = keysGeneration.getAsLong();

        PageReveal(List<RecordedEvent> page, Principal principal) {
            this.page = page;
            this.principal = principal;
            this.revealed = new RevealedEvent[page.size()];
            this.chunks = (page.size() + REPLAY_CHUNK - 1) / REPLAY_CHUNK;
            this.done = new CountDownLatch(chunks);
        }

        void help() {
            for (int chunk = nextChunk.getAndIncrement(); chunk < chunks; chunk = nextChunk.getAndIncrement()) {
                try {
                    for (int i = chunk * REPLAY_CHUNK; i < Math.min(page.size(), (chunk + 1) * REPLAY_CHUNK); i++) {
                        revealed[i] = reveal.apply(page.get(i), principal);
                    }
                } catch (RuntimeException | Error e) {
                    failure = e;
                } finally {
                    done.countDown();
                }
            }
        }

        RevealedEvent[] finished() {
            try {
                done.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw StorageException.transientFailure("interrupted during a replay", e);
            }
            if (failure instanceof RuntimeException e) {
                throw e;
            }
            if (failure != null) {
                throw (Error) failure;
            }
            return revealed;
        }
    }

    /** The future's value; its failure rethrown as it was, not wrapped. */
    static <T> T joined(CompletableFuture<T> future) {
        try {
            return future.join();
        } catch (java.util.concurrent.CompletionException e) {
            if (e.getCause() instanceof RuntimeException failure) {
                throw failure;
            }
            throw e;
        }
    }

    private synchronized ExecutorService threads() {
        if (closed) {
            throw StorageException.permanent("the store is closed", null);
        }
        if (threads == null) {
            AtomicInteger n = new AtomicInteger();
            threads = Executors.newCachedThreadPool(task -> {
                Thread thread = new Thread(task, "lethe-replay-" + n.incrementAndGet());
                thread.setDaemon(true);
                return thread;
            });
        }
        return threads;
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (threads != null) {
            threads.shutdownNow();
        }
    }
}
