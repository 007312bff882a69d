package dev.lethe.core.privacy;

import dev.lethe.core.store.EventStore;
import dev.lethe.core.store.RecordedEvent;
import dev.lethe.core.subscription.BatchListener;
import dev.lethe.core.subscription.CheckpointFit;
import dev.lethe.core.subscription.Subscription;
import dev.lethe.core.subscription.SubscriptionRequest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * Builds a {@link SubjectIndex} from the log: {@link #catchUp} up to the head as it is now (an export
 * calls it first, so that what it reads from the index is complete), {@link #follow} live on a
 * subscription of its own (a server runs one). An index whose checkpoint does not fit the log ({@link
 * CheckpointFit}: a log restored from another copy) is emptied and built again.
 */
public final class SubjectIndexer {
    private static final System.Logger LOG = System.getLogger(SubjectIndexer.class.getName());
    private static final int PAGE = EventStore.MAX_READ_LIMIT;
    /** Events per transaction while catching up: fewer, larger commits, and little lost to a crash. */
    static final int COMMIT_EVENTS = 50_000;

    private SubjectIndexer() {}

    /**
     * Indexes the log from the index's checkpoint to the head as read now; returns the position it
     * reached (the head's, plus one, or further). {@code progress} hears (position reached, head + 1)
     * after each commit of a long catch-up (one of more than {@value #COMMIT_EVENTS} events), the last
     * one included; a short one says nothing.
     */
    public static long catchUp(EventStore log, SubjectIndex index, BiConsumer<Long, Long> progress) {
        long next = fittingCheckpoint(log, index);
        long end = log.headPosition() + 1;
        Map<SubjectId, List<Long>> pending = new HashMap<>();
        int pendingEvents = 0;
        RecordedEvent last = null;
        boolean reported = false;
        while (next < end) {
            List<RecordedEvent> page = log.readAll(next, PAGE, EventStore.PAGE_BYTES);
            if (page.isEmpty()) {
                break;
            }
            collect(page, pending);
            last = page.get(page.size() - 1);
            next = last.position() + 1;
            pendingEvents += page.size();
            if (pendingEvents >= COMMIT_EVENTS) {
                index.addToSubjectIndex(pending, next, CheckpointFit.witness(log, last));
                pending.clear();
                pendingEvents = 0;
                progress.accept(next, end);
                reported = true;
            }
        }
        if (pendingEvents > 0) {
            index.addToSubjectIndex(pending, next, CheckpointFit.witness(log, last));
            if (reported) {
                progress.accept(next, end);
            }
        }
        return next;
    }

    /**
     * Keeps the index up to date on a subscription of its own (catching up first), committing each page
     * read; close the subscription to stop. A commit the storage refuses for a reason that passes (a full
     * disk: {@link dev.lethe.core.store.StorageException#isTransient()}) is tried again, every second at
     * first and every {@value #MAX_RETRY_SECONDS} s at most, until it goes through or the subscription is
     * closed; any other failure stops it (the subscription's {@code failure()} says why) and leaves the
     * index at its last commit: exports catch up themselves.
     */
    public static Subscription follow(EventStore log, SubjectIndex index) {
        long from = fittingCheckpoint(log, index);
        SubscriptionRequest request =
                SubscriptionRequest.allFromStart().from(from).pageSize(PAGE);
        java.util.concurrent.atomic.AtomicBoolean closing = new java.util.concurrent.atomic.AtomicBoolean();
        Subscription following = log.subscribeBatches(request, new BatchListener() {
            @Override
            public void onBatch(List<RecordedEvent> events) {
                Map<SubjectId, List<Long>> positions = new HashMap<>();
                collect(events, positions);
                RecordedEvent last = events.get(events.size() - 1);
                commitRetrying(
                        () -> index.addToSubjectIndex(positions, last.position() + 1, CheckpointFit.witness(log, last)),
                        closing);
            }

            @Override
            public void onError(Throwable error) {
                LOG.log(System.Logger.Level.WARNING, "the subject index stopped following the log: " + error);
            }
        });
        return new Subscription() {
            @Override
            public long nextPosition() {
                return following.nextPosition();
            }

            @Override
            public boolean isLive() {
                return following.isLive();
            }

            @Override
            public boolean awaitLive(java.time.Duration timeout) throws InterruptedException {
                return following.awaitLive(timeout);
            }

            @Override
            public boolean awaitPosition(long position, java.time.Duration timeout) throws InterruptedException {
                return following.awaitPosition(position, timeout);
            }

            @Override
            public java.util.Optional<Throwable> failure() {
                return following.failure();
            }

            @Override
            public void close() {
                closing.set(true); // ends a retry in hand, which close() would otherwise wait for
                following.close();
            }
        };
    }

    /** The longest wait between two tries of a refused commit. */
    static final int MAX_RETRY_SECONDS = 30;

    private static void commitRetrying(Runnable commit, java.util.concurrent.atomic.AtomicBoolean closing) {
        long waitMillis = 1_000;
        boolean told = false;
        while (true) {
            try {
                commit.run();
                if (told) {
                    LOG.log(System.Logger.Level.INFO, "the subject index commits again");
                }
                return;
            } catch (dev.lethe.core.store.StorageException e) {
                if (!e.isTransient() || closing.get()) {
                    throw e;
                }
                if (!told) {
                    LOG.log(
                            System.Logger.Level.WARNING,
                            "the subject index cannot commit (" + e.getMessage() + "): trying again until it can");
                    told = true;
                }
            }
            long until = System.nanoTime() + waitMillis * 1_000_000;
            while (System.nanoTime() < until) {
                if (closing.get()) {
                    throw dev.lethe.core.store.StorageException.transientFailure(
                            "the subject index was closed while a commit was refused", null);
                }
                try {
                    Thread.sleep(Math.min(100, Math.max(1, (until - System.nanoTime()) / 1_000_000)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw dev.lethe.core.store.StorageException.transientFailure(
                            "the subject index was interrupted while a commit was refused", e);
                }
            }
            waitMillis = Math.min(waitMillis * 2, MAX_RETRY_SECONDS * 1_000L);
        }
    }

    /** The index's checkpoint when it fits the log; else the index is emptied, and 0. */
    private static long fittingCheckpoint(EventStore log, SubjectIndex index) {
        SubjectIndex.Checkpoint checkpoint = index.subjectIndexCheckpoint();
        CheckpointFit fit = CheckpointFit.of(checkpoint.next(), checkpoint.eventBefore(), log);
        if (fit == CheckpointFit.FITS) {
            return checkpoint.next();
        }
        LOG.log(
                System.Logger.Level.WARNING,
                "the subject index was built from another log (" + fit + " at position " + checkpoint.next()
                        + "): building it again");
        index.resetSubjectIndex();
        return 0;
    }

    private static void collect(List<RecordedEvent> events, Map<SubjectId, List<Long>> positions) {
        for (RecordedEvent event : events) {
            for (SubjectId subject : subjectsOf(event)) {
                positions.computeIfAbsent(subject, s -> new ArrayList<>()).add(event.position());
            }
        }
    }

    /**
     * The distinct subjects an event's metadata names. A value that is not a subject id (metadata Lethe
     * did not write) is left out alone: no export could ask for it, and the others still count.
     */
    private static java.util.Collection<SubjectId> subjectsOf(RecordedEvent event) {
        if (!PrivacyCodec.mayName(event.metadata())) {
            return List.of();
        }
        java.util.Set<SubjectId> subjects = new java.util.LinkedHashSet<>();
        event.metadata()
                .asTree()
                .path(PrivacyCodec.METADATA_KEY)
                .path("subjects")
                .fields()
                .forEachRemaining(field -> {
                    try {
                        subjects.add(SubjectId.parse(field.getValue().asText()));
                    } catch (RuntimeException notAnId) {
                        // left out
                    }
                });
        return subjects;
    }
}
