package dev.lethe.sqlite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lethe.core.store.AppendResult;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.StreamId;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An append is acknowledged only when its group is committed: not when a COMMIT fails and leaves its
 * transaction open (its own rows then read as stored on the writer's connection), nor when the store is
 * closed from an interrupted thread under a group being committed.
 */
class CommitFailureTest {
    @TempDir
    Path dir;

    @Test
    void a_group_whose_commit_fails_with_its_transaction_open_is_not_acknowledged() throws Exception {
        try (SqliteEventStore store = SqliteEventStore.open(dir)) {
            store.append(StreamId.of("a-1"), ExpectedVersion.any(), List.of(EventData.of("Ok", "{}")));
            // A deferred constraint that the group breaks: its COMMIT fails, and SQLite keeps the transaction.
            var field = SqliteEventStore.class.getDeclaredField("writer");
            field.setAccessible(true);
            Connection writer = (Connection) field.get(store);
            try (Statement statement = writer.createStatement()) { // the sequencer is idle between appends
                statement.execute("PRAGMA foreign_keys = ON");
                statement.execute("CREATE TABLE parent(id INTEGER PRIMARY KEY)");
                statement.execute(
                        "CREATE TABLE child(parent INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)");
                statement.execute("CREATE TRIGGER poison AFTER INSERT ON events WHEN NEW.type = 'Poison'"
                        + " BEGIN INSERT INTO child VALUES (42); END");
            }

            assertThatThrownBy(() -> store.append(
                            StreamId.of("a-2"), ExpectedVersion.noStream(), List.of(EventData.of("Poison", "{}"))))
                    .hasMessageContaining("append not committed");
            assertThat(store.headPosition()).isZero();

            AppendResult next =
                    store.append(StreamId.of("a-3"), ExpectedVersion.any(), List.of(EventData.of("Ok", "{}")));
            assertThat(next.firstPosition()).isEqualTo(1);
        }
        try (SqliteEventStore reopened = SqliteEventStore.open(dir)) {
            assertThat(reopened.readAll(0, 10))
                    .extracting(e -> e.streamId().value())
                    .containsExactly("a-1", "a-3");
        }
    }

    @Test
    void a_lock_file_that_cannot_be_looked_at_refuses_writes_only_while_it_cannot() throws Exception {
        java.nio.file.Path real = java.nio.file.Files.createDirectories(dir.resolve("real"));
        java.nio.file.Path link = java.nio.file.Files.createSymbolicLink(dir.resolve("link"), real);
        try (SqliteEventStore store = SqliteEventStore.open(link)) {
            store.append(StreamId.of("a-1"), ExpectedVersion.any(), List.of(EventData.of("Ok", "{}")));
            // The path to lethe.lock loops for a moment (ELOOP: not "no such file"): the lock is still held.
            java.nio.file.Files.delete(link);
            java.nio.file.Files.createSymbolicLink(link, dir.resolve("loop"));
            java.nio.file.Files.createSymbolicLink(dir.resolve("loop"), link);
            assertThat(store.writeRefusal()).get().asString().contains("cannot check that");
            assertThatThrownBy(() ->
                            store.append(StreamId.of("a-1"), ExpectedVersion.any(), List.of(EventData.of("Ok", "{}"))))
                    .isInstanceOfSatisfying(
                            dev.lethe.core.store.StorageException.class,
                            e -> assertThat(e.isTransient()).isTrue());
            java.nio.file.Files.delete(link);
            java.nio.file.Files.createSymbolicLink(link, real);
            assertThat(store.writeRefusal()).as("not fenced for good").isEmpty();
            assertThat(store.append(StreamId.of("a-1"), ExpectedVersion.any(), List.of(EventData.of("Ok", "{}")))
                            .firstPosition())
                    .isEqualTo(1);
        }
    }

    @Test
    void closing_from_an_interrupted_thread_loses_no_acknowledged_append() throws Exception {
        for (int trial = 0; trial < 12; trial++) {
            Path trialDir = dir.resolve("trial-" + trial);
            Map<UUID, AppendResult> acknowledged = new ConcurrentHashMap<>();
            SqliteEventStore store = SqliteEventStore.open(trialDir);
            ExecutorService writers = Executors.newFixedThreadPool(4);
            for (int t = 0; t < 4; t++) {
                writers.submit(() -> {
                    while (true) {
                        UUID id = UUID.randomUUID();
                        try {
                            acknowledged.put(
                                    id,
                                    store.append(
                                            StreamId.of("s-" + (id.hashCode() & 7)),
                                            ExpectedVersion.any(),
                                            List.of(EventData.of("E", "{}").withId(id))));
                        } catch (RuntimeException closed) {
                            return;
                        }
                    }
                });
            }
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (acknowledged.size() < 300 && System.nanoTime() < until) {
                Thread.sleep(5); // appending at full speed, groups being committed
            }
            var field = SqliteEventStore.class.getDeclaredField("worker");
            field.setAccessible(true);
            Thread sequencer = (Thread) field.get(store);
            Thread.currentThread().interrupt();
            try {
                store.close();
            } finally {
                assertThat(Thread.interrupted()).as("the interrupt is kept").isTrue();
            }
            assertThat(sequencer.isAlive())
                    .as("close returned after the sequencer stopped, not under a group being committed")
                    .isFalse();
            writers.shutdown();
            assertThat(writers.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
            try (SqliteEventStore reopened = SqliteEventStore.open(trialDir)) {
                assertThat(acknowledged.keySet())
                        .as("acknowledged appends after the close")
                        .allMatch(reopened::containsEvent);
            }
        }
    }
}
