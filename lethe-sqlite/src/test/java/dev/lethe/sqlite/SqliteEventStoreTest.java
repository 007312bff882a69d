package dev.lethe.sqlite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lethe.core.store.AppendResult;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.StorageException;
import dev.lethe.core.store.StreamId;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SqliteEventStoreTest {
    @TempDir
    Path directory;

    @Test
    void a_reopened_store_keeps_its_events_and_continues_positions_and_versions() {
        UUID id = UUID.randomUUID();
        try (SqliteEventStore store = SqliteEventStore.open(directory)) {
            store.append(
                    StreamId.of("order-1"),
                    ExpectedVersion.any(),
                    List.of(EventData.of("A", "{}").withId(id)));
            store.append(StreamId.of("order-2"), ExpectedVersion.any(), List.of(EventData.of("B", "{}")));
        }
        try (SqliteEventStore store = SqliteEventStore.open(directory)) {
            assertThat(store.headPosition()).isEqualTo(1);
            AppendResult next =
                    store.append(StreamId.of("order-1"), ExpectedVersion.exactly(0), List.of(EventData.of("C", "{}")));
            assertThat(next).isEqualTo(new AppendResult(StreamId.of("order-1"), 1, 1, 2, 2));
            // Idempotency survives the restart too.
            AppendResult retry = store.append(
                    StreamId.of("order-1"),
                    ExpectedVersion.noStream(),
                    List.of(EventData.of("A", "{}").withId(id)));
            assertThat(retry.firstPosition()).isZero();
        }
    }

    @Test
    void a_refused_append_names_the_callers_frame_though_the_writer_thread_refused_it() {
        try (SqliteEventStore store = SqliteEventStore.open(directory)) {
            store.append(StreamId.of("order-1"), ExpectedVersion.any(), List.of(EventData.of("A", "{}")));
            assertThatThrownBy(() -> store.append(
                            StreamId.of("order-1"), ExpectedVersion.noStream(), List.of(EventData.of("A", "{}"))))
                    .isInstanceOf(dev.lethe.core.store.WrongExpectedVersionException.class)
                    .satisfies(refused -> assertThat(refused.getSuppressed())
                            .singleElement()
                            .satisfies(here -> assertThat(here.getStackTrace())
                                    .anyMatch(frame -> frame.getMethodName()
                                            .contains("a_refused_append_names_the_callers_frame"))));
        }
    }

    @Test
    void a_log_written_under_a_clock_far_ahead_says_so_at_open() {
        java.time.Instant ahead = java.time.Instant.now().plus(java.time.Duration.ofDays(3650));
        try (SqliteEventStore store = SqliteEventStore.open(
                directory, SqliteOptions.DEFAULT.withClock(java.time.Clock.fixed(ahead, java.time.ZoneOffset.UTC)))) {
            store.append(StreamId.of("order-1"), ExpectedVersion.any(), List.of(EventData.of("A", "{}")));
        }
        try (dev.lethe.core.testing.LogCapture capture =
                        dev.lethe.core.testing.LogCapture.of(dev.lethe.sqlite.internal.Sequencer.class);
                SqliteEventStore store = SqliteEventStore.open(directory)) {
            List<String> warnings = capture.rawMessages();
            assertThat(warnings)
                    .singleElement()
                    .asString()
                    .contains("the log's last event was recorded at "
                            + ahead.truncatedTo(java.time.temporal.ChronoUnit.MICROS))
                    .contains("ahead of this clock");
            var next = store.append(StreamId.of("order-1"), ExpectedVersion.any(), List.of(EventData.of("B", "{}")));
            assertThat(store.readAll(next.firstPosition(), 1).get(0).recordedAt())
                    .as("never back in time")
                    .isAfterOrEqualTo(ahead.truncatedTo(java.time.temporal.ChronoUnit.MICROS));
        }
    }

    @Test
    void a_second_store_on_the_same_directory_is_refused_with_a_clear_error() {
        try (SqliteEventStore first = SqliteEventStore.open(directory)) {
            assertThatThrownBy(() -> SqliteEventStore.open(directory))
                    .isInstanceOf(StorageException.class)
                    .hasMessageContaining("is in use by this process")
                    .hasMessageContaining("pid " + ProcessHandle.current().pid());
        }
        SqliteEventStore.open(directory).close();
    }

    @Test
    void an_open_waits_for_another_process_that_holds_the_lock_briefly_and_names_a_long_one() throws Exception {
        SqliteEventStore.open(directory).close();
        // Held for 4 s (within the 10 s an open waits): a test thread stalled for a second still finds it held.
        Process brief = LockHolder.start(directory, "lethe stats (command line)", true, 4_000);
        try {
            LockHolder.awaitHolding(directory, "lethe stats (command line)");
            assertThat(Files.getPosixFilePermissions(directory.resolve("lethe.lock")))
                    .isEqualTo(java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
            long started = System.nanoTime();
            try (SqliteEventStore waited = SqliteEventStore.open(directory)) {
                // Opened once the brief holder let go (it may still be exiting): after waiting, not refused.
                assertThat(System.nanoTime() - started)
                        .as("waited for the holder")
                        .isGreaterThan(java.time.Duration.ofMillis(200).toNanos());
                assertThat(brief.waitFor(20, java.util.concurrent.TimeUnit.SECONDS))
                        .isTrue();
                assertThat(brief.exitValue())
                        .as("the holder kept it for its whole time")
                        .isZero();
            }
        } finally {
            brief.destroyForcibly();
        }
        Process server = LockHolder.start(directory, "lethe serve (HTTP server)", false, 30_000);
        try {
            LockHolder.awaitHolding(directory, "lethe serve (HTTP server)");
            long started = System.nanoTime();
            assertThatThrownBy(() -> SqliteEventStore.open(directory))
                    .isInstanceOf(StorageException.class)
                    .hasMessageContaining("is in use by lethe serve (HTTP server) (pid " + server.pid() + ")");
            assertThat(System.nanoTime() - started)
                    .isLessThan(java.time.Duration.ofSeconds(5).toNanos());
        } finally {
            server.destroyForcibly();
            server.waitFor();
        }
    }

    @Test
    void a_refused_second_open_in_this_process_keeps_the_directory_locked_for_other_processes() throws Exception {
        try (SqliteEventStore first = SqliteEventStore.open(directory)) {
            assertThatThrownBy(() -> SqliteEventStore.open(directory))
                    .hasMessageContaining("is in use by this process");
            // Had the refusal closed a descriptor of lethe.lock, the operating system would have freed it.
            Process other = LockHolder.start(directory, "another process", false, 0);
            assertThat(other.waitFor())
                    .as("another process cannot take the lock")
                    .isEqualTo(LockHolder.REFUSED);
            // The same directory by another path (a link here; a bind mount alike): the same lock file.
            Path link = Files.createSymbolicLink(
                    directory.resolveSibling(directory.getFileName() + "-link"), directory.toAbsolutePath());
            try {
                assertThatThrownBy(() -> SqliteEventStore.open(link)).hasMessageContaining("is in use by this process");
                Process again = LockHolder.start(directory, "another process", false, 0);
                assertThat(again.waitFor()).isEqualTo(LockHolder.REFUSED);
            } finally {
                Files.delete(link);
            }
        }
    }

    @Test
    void a_closed_store_refuses_appends_and_reads() {
        SqliteEventStore store = SqliteEventStore.open(directory);
        store.close();
        assertThatThrownBy(
                        () -> store.append(StreamId.of("a-1"), ExpectedVersion.any(), List.of(EventData.of("A", "{}"))))
                .hasMessageContaining("closed");
        assertThatThrownBy(() -> store.readAll(0, 10)).hasMessageContaining("closed");
    }

    @Test
    void a_data_directory_that_is_a_file_is_named_in_the_error() throws Exception {
        Path file = Files.writeString(directory.resolve("not-a-directory"), "x");
        assertThatThrownBy(() -> SqliteEventStore.open(file))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("not-a-directory");
    }

    @Test
    void the_event_log_file_is_in_wal_mode_with_full_synchronous_commits() throws Exception {
        try (SqliteEventStore store = SqliteEventStore.open(directory)) {
            store.append(StreamId.of("a-1"), ExpectedVersion.any(), List.of(EventData.of("A", "{}")));
            assertThat(directory.resolve("events.db-wal")).exists();
        }
        try (var connection = java.sql.DriverManager.getConnection("jdbc:sqlite:" + directory.resolve("events.db"));
                var rs = connection.createStatement().executeQuery("PRAGMA journal_mode")) {
            rs.next();
            assertThat(rs.getString(1)).isEqualTo("wal");
        }
    }

    @Test
    void a_read_only_store_reads_beside_the_writer_and_follows_its_appends() throws Exception {
        try (SqliteEventStore writer = SqliteEventStore.open(directory);
                SqliteEventStore reader = SqliteEventStore.openReadOnly(directory)) {
            writer.append(StreamId.of("a-1"), ExpectedVersion.any(), List.of(EventData.of("A", "{}")));
            java.util.List<Long> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
            try (var subscription = reader.subscribe(
                    dev.lethe.core.subscription.SubscriptionRequest.allFromStart(), e -> seen.add(e.position()))) {
                writer.append(StreamId.of("a-1"), ExpectedVersion.any(), List.of(EventData.of("B", "{}")));
                assertThat(subscription.awaitPosition(1, java.time.Duration.ofSeconds(30)))
                        .isTrue();
            }
            assertThat(seen).containsExactly(0L, 1L);
            assertThatThrownBy(() ->
                            reader.append(StreamId.of("a-1"), ExpectedVersion.any(), List.of(EventData.of("C", "{}"))))
                    .hasMessageContaining("read-only");
        }
        assertThatThrownBy(() -> SqliteEventStore.openReadOnly(directory.resolve("empty")))
                .hasMessageContaining("no Lethe event store");
    }

    @Test
    void the_write_ahead_log_is_checkpointed_while_the_store_is_open_and_truncated_once_it_is_idle() throws Exception {
        String padding = "x".repeat(250);
        try (SqliteEventStore store = SqliteEventStore.open(directory)) {
            for (int round = 0; round < 5; round++) {
                for (int batch = 0; batch < 50; batch++) {
                    List<EventData> events = new java.util.ArrayList<>();
                    for (int i = 0; i < 100; i++) {
                        events.add(EventData.of("Padded", "{\"p\":\"" + padding + "\"}"));
                    }
                    store.append(StreamId.of("wal-" + batch), ExpectedVersion.any(), events);
                }
                Thread.sleep(700);
            }
            // How far the WAL file grows during the rounds depends on how the checkpoints fall between
            // them (SQLite reuses the file from its start but never shrinks it). Once nothing was
            // committed for 5 s, the checkpointer truncates a WAL file of more than 4 MiB.
            Path walFile = directory.resolve("events.db-wal");
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
            while (Files.size(walFile) > (4L << 20) && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            long database = Files.size(directory.resolve("events.db"));
            assertThat(Files.size(walFile))
                    .as("WAL bytes (database %d bytes)", database)
                    .isLessThanOrEqualTo(4L << 20)
                    .isLessThan(database);
            store.append(StreamId.of("after"), ExpectedVersion.any(), List.of(EventData.of("A", "{}")));
            assertThat(store.headPosition()).isEqualTo(25_000);
        }
        try (SqliteEventStore reopened = SqliteEventStore.open(directory)) {
            assertThat(reopened.headPosition()).isEqualTo(25_000);
            assertThat(reopened.readAll(24_999, 10)).extracting(e -> e.type()).containsExactly("Padded", "A");
        }
    }

    @Test
    void a_clock_beyond_what_a_timestamp_holds_or_one_that_fails_does_not_stop_the_store() {
        java.util.concurrent.atomic.AtomicReference<java.time.Instant> now =
                new java.util.concurrent.atomic.AtomicReference<>(java.time.Instant.MAX);
        java.util.concurrent.atomic.AtomicBoolean failing = new java.util.concurrent.atomic.AtomicBoolean();
        java.time.Clock clock = new java.time.Clock() {
            @Override
            public java.time.ZoneId getZone() {
                return java.time.ZoneOffset.UTC;
            }

            @Override
            public java.time.Clock withZone(java.time.ZoneId zone) {
                return this;
            }

            @Override
            public java.time.Instant instant() {
                if (failing.get()) {
                    throw new IllegalStateException("clock unavailable");
                }
                return now.get();
            }
        };
        try (SqliteEventStore store = SqliteEventStore.open(directory, SqliteOptions.DEFAULT.withClock(clock))) {
            StreamId stream = StreamId.of("clock-1");
            assertThatThrownBy(() -> store.append(stream, ExpectedVersion.any(), List.of(EventData.of("A", "{}"))))
                    .isInstanceOf(StorageException.class)
                    .hasMessageContaining("the clock failed");
            now.set(java.time.Instant.parse("2026-11-26T00:00:00Z"));
            store.append(stream, ExpectedVersion.any(), List.of(EventData.of("A", "{}")));
            failing.set(true);
            assertThatThrownBy(() -> store.append(stream, ExpectedVersion.any(), List.of(EventData.of("A", "{}"))))
                    .isInstanceOf(StorageException.class)
                    .hasMessageContaining("the clock failed");
            failing.set(false);
            now.set(java.time.Instant.parse("2026-11-27T00:00:00Z"));
            AppendResult after = store.append(stream, ExpectedVersion.any(), List.of(EventData.of("A", "{}")));
            assertThat(after.lastVersion()).isEqualTo(1);
            // No reading that failed left its mark: the events carry the clock's good readings.
            assertThat(store.readStream(stream, 0, dev.lethe.core.store.Direction.FORWARD, 10))
                    .extracting(dev.lethe.core.store.RecordedEvent::recordedAt)
                    .containsExactly(
                            java.time.Instant.parse("2026-11-26T00:00:00Z"),
                            java.time.Instant.parse("2026-11-27T00:00:00Z"));
        }
    }
}
