package dev.lethe.sqlite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lethe.core.store.AppendResult;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.RecordedEvent;
import dev.lethe.core.store.StreamAppend;
import dev.lethe.core.store.StreamId;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * In the SQLite engine, batches appended together share one transaction: consecutive positions, one
 * commit time (what every engine must do with them is in {@code AppendAsyncTck}).
 */
class AppendTogetherTest {
    @TempDir
    Path directory;

    private static StreamAppend batch(String stream, ExpectedVersion expected, String... types) {
        List<EventData> events = new ArrayList<>();
        for (String type : types) {
            events.add(EventData.of(type, "{}"));
        }
        return new StreamAppend(StreamId.of(stream), expected, events);
    }

    @Test
    void batches_appended_together_are_adjacent_in_the_log_even_while_other_writers_append() throws Exception {
        ExecutorService others = Executors.newFixedThreadPool(2);
        try (SqliteEventStore store = SqliteEventStore.open(directory)) {
            List<CompletableFuture<?>> noise = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                int n = i;
                noise.add(CompletableFuture.runAsync(
                        () -> store.append(
                                StreamId.of("noise-" + (n % 7)),
                                ExpectedVersion.any(),
                                List.of(EventData.of("Noise", "{}"))),
                        others));
            }
            List<List<CompletableFuture<AppendResult>>> together = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                together.add(store.appendTogether(List.of(
                        batch("audit-x", ExpectedVersion.any(), "Entry"),
                        batch("marker-x", ExpectedVersion.any(), "Marker", "Marker"))));
            }
            CompletableFuture.allOf(noise.toArray(CompletableFuture[]::new)).join();
            for (List<CompletableFuture<AppendResult>> pair : together) {
                AppendResult entry = pair.get(0).join();
                AppendResult markers = pair.get(1).join();
                assertThat(markers.firstPosition()).isEqualTo(entry.lastPosition() + 1);
                assertThat(markers.count()).isEqualTo(2);
                List<RecordedEvent> stored = store.readAll(entry.firstPosition(), 3);
                assertThat(stored).extracting(RecordedEvent::type).containsExactly("Entry", "Marker", "Marker");
                assertThat(stored)
                        .extracting(RecordedEvent::recordedAt)
                        .containsOnly(stored.get(0).recordedAt());
            }
        } finally {
            others.shutdownNow();
        }
    }

    @Test
    void a_closed_store_fails_every_batch_with_its_reason() {
        SqliteEventStore store = SqliteEventStore.open(directory);
        store.close();
        List<CompletableFuture<AppendResult>> afterClose = store.appendTogether(
                List.of(batch("late-1", ExpectedVersion.any(), "A"), batch("late-2", ExpectedVersion.any(), "B")));
        assertThat(afterClose)
                .hasSize(2)
                .allSatisfy(f -> assertThatThrownBy(f::join).hasMessageContaining("closed"));
    }
}
