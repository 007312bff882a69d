package dev.lethe.core.privacy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lethe.core.memory.InMemoryEventStore;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.StorageException;
import dev.lethe.core.store.StreamId;
import dev.lethe.core.subscription.Subscription;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The subject index a server follows the log with: a full disk for a while does not stop it for good. */
class SubjectIndexerTest {
    /** An index in memory whose commits the "storage" refuses while {@code refusing} is above 0. */
    static final class FlakyIndex implements SubjectIndex {
        final Map<SubjectId, List<Long>> positions = new HashMap<>();
        final AtomicInteger refusing = new AtomicInteger();
        final AtomicInteger refused = new AtomicInteger();
        volatile boolean permanently;
        Checkpoint checkpoint = new Checkpoint(0, null);

        @Override
        public synchronized Checkpoint subjectIndexCheckpoint() {
            return checkpoint;
        }

        @Override
        public synchronized void addToSubjectIndex(Map<SubjectId, List<Long>> added, long next, String eventBefore) {
            if (permanently) {
                throw StorageException.permanent("projections.db: SQLITE_CORRUPT", null);
            }
            if (refusing.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                refused.incrementAndGet();
                throw StorageException.transientFailure("projections.db: SQLITE_FULL: the disk is full", null);
            }
            added.forEach((subject, at) ->
                    positions.computeIfAbsent(subject, s -> new ArrayList<>()).addAll(at));
            checkpoint = new Checkpoint(next, eventBefore);
        }

        @Override
        public synchronized List<Long> subjectPositions(SubjectId subject) {
            return List.copyOf(positions.getOrDefault(subject, List.of()));
        }

        @Override
        public synchronized void resetSubjectIndex() {
            positions.clear();
            checkpoint = new Checkpoint(0, null);
        }
    }

    private static void append(InMemoryEventStore log, SubjectId subject) {
        log.append(
                StreamId.of("customer-1"),
                ExpectedVersion.any(),
                List.of(EventData.of("Noted", "{}")
                        .withMetadata(Json.parse("{\"lethe\":{\"subjects\":{\"email\":\"" + subject + "\"}}}"))));
    }

    @Test
    void a_commit_refused_for_a_reason_that_passes_is_tried_again_until_it_goes_through() throws Exception {
        InMemoryEventStore log = new InMemoryEventStore();
        FlakyIndex index = new FlakyIndex();
        SubjectId ada = SubjectId.random();
        append(log, ada);
        index.refusing.set(2); // the first two commits: a full disk
        try (Subscription following = SubjectIndexer.follow(log, index)) {
            assertThat(following.awaitPosition(0, Duration.ofSeconds(20))).isTrue();
            append(log, ada);
            assertThat(following.awaitPosition(1, Duration.ofSeconds(20))).isTrue();
            assertThat(following.failure()).isEmpty();
        }
        assertThat(index.refused.get()).isEqualTo(2);
        assertThat(index.subjectPositions(ada)).containsExactly(0L, 1L);
        assertThat(index.subjectIndexCheckpoint().next()).isEqualTo(2);
    }

    @Test
    void a_refused_commit_being_retried_does_not_hold_up_close_and_a_permanent_failure_stops_it() throws Exception {
        InMemoryEventStore log = new InMemoryEventStore();
        FlakyIndex index = new FlakyIndex();
        append(log, SubjectId.random());
        index.refusing.set(Integer.MAX_VALUE);
        Subscription following = SubjectIndexer.follow(log, index);
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (index.refused.get() == 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(index.refused.get()).isPositive();
        long closing = System.nanoTime();
        following.close();
        assertThat(Duration.ofNanos(System.nanoTime() - closing)).isLessThan(Duration.ofSeconds(5));

        FlakyIndex corrupt = new FlakyIndex();
        corrupt.permanently = true;
        try (Subscription stopped = SubjectIndexer.follow(log, corrupt)) {
            deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (stopped.failure().isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(stopped.failure()).get().asString().contains("SQLITE_CORRUPT");
        }
    }
}
