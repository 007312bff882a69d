package dev.lethe.sqlite;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lethe.core.memory.InMemoryEventStore;
import dev.lethe.core.store.AppendResult;
import dev.lethe.core.store.DuplicateEventException;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.EventStore;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.StreamId;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A reused generated id (never looked up on the fast path) fails its own append only, as a duplicate,
 * and every other append committed in the same group goes through — on both engines.
 */
class GeneratedIdCollisionTest {
    @TempDir
    Path directory;

    @Test
    void a_reused_generated_id_fails_its_own_append_alone_and_the_rest_of_its_group_commits() throws Exception {
        UUID reused = UUID.randomUUID();
        EventData generated = EventData.of("Sealed", "{}").withGeneratedId(reused);
        try (SqliteEventStore store = SqliteEventStore.open(directory)) {
            store.append(StreamId.of("first-1"), ExpectedVersion.any(), List.of(generated));

            // Hold the write lock from another connection so that the appends below queue up and are
            // committed as one group once it is released.
            List<CompletableFuture<AppendResult>> valid = new ArrayList<>();
            CompletableFuture<AppendResult> bad;
            try (Connection other = DriverManager.getConnection("jdbc:sqlite:" + directory.resolve("events.db"))) {
                try (Statement s = other.createStatement()) {
                    s.execute("PRAGMA busy_timeout = 10000");
                    s.execute("BEGIN IMMEDIATE");
                }
                CompletableFuture<AppendResult> blocker = store.appendAsync(
                        StreamId.of("blocker-1"), ExpectedVersion.any(), List.of(EventData.of("A", "{}")));
                Thread.sleep(300); // the sequencer now waits in BEGIN IMMEDIATE with the blocker alone
                for (int i = 0; i < 5; i++) {
                    valid.add(store.appendAsync(
                            StreamId.of("innocent-" + i), ExpectedVersion.any(), List.of(EventData.of("A", "{}"))));
                }
                bad = store.appendAsync(StreamId.of("second-1"), ExpectedVersion.any(), List.of(generated));
                for (int i = 5; i < 10; i++) {
                    valid.add(store.appendAsync(
                            StreamId.of("innocent-" + i), ExpectedVersion.any(), List.of(EventData.of("A", "{}"))));
                }
                Thread.sleep(100);
                try (Statement s = other.createStatement()) {
                    s.execute("ROLLBACK");
                }
                blocker.join();
            }
            Throwable badFailure = failure(bad);
            int innocentFailures = 0;
            Throwable example = null;
            for (CompletableFuture<AppendResult> f : valid) {
                Throwable t = failure(f);
                if (t != null) {
                    innocentFailures++;
                    example = t;
                }
            }
            assertThat(badFailure).isInstanceOf(DuplicateEventException.class);
            assertThat(innocentFailures)
                    .as("innocent appends failed, e.g. %s", example)
                    .isZero();
            assertThat(store.readStreamIds(null, 100))
                    .extracting(StreamId::value)
                    .contains("innocent-0", "innocent-9")
                    .doesNotContain("second-1");
        }
    }

    @Test
    void the_in_memory_engine_refuses_it_alone_as_a_duplicate() {
        UUID reused = UUID.randomUUID();
        EventData generated = EventData.of("Sealed", "{}").withGeneratedId(reused);
        EventStore store = new InMemoryEventStore();
        store.append(StreamId.of("first-1"), ExpectedVersion.any(), List.of(generated));
        Throwable t = failure(store.appendAsync(StreamId.of("second-1"), ExpectedVersion.any(), List.of(generated)));
        assertThat(t).isInstanceOf(DuplicateEventException.class);
    }

    private static Throwable failure(CompletableFuture<?> future) {
        try {
            future.join();
            return null;
        } catch (CompletionException e) {
            return e.getCause();
        } catch (RuntimeException e) {
            return e;
        }
    }
}
