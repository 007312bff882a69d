package dev.lethe.sqlite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lethe.core.store.AppendResult;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.RecordedEvent;
import dev.lethe.core.store.StreamAppend;
import dev.lethe.core.store.StreamId;
import dev.lethe.core.store.WrongExpectedVersionException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Batches appended together share one transaction: consecutive positions, one commit time. */
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
    void a_refused_batch_fails_its_own_future_and_the_others_are_stored() {
        try (SqliteEventStore store = SqliteEventStore.open(directory)) {
            store.append(StreamId.of("taken-1"), ExpectedVersion.any(), List.of(EventData.of("A", "{}")));
            List<CompletableFuture<AppendResult>> results = store.appendTogether(List.of(
                    batch("fresh-1", ExpectedVersion.noStream(), "B"),
                    batch("taken-1", ExpectedVersion.noStream(), "C"),
                    new StreamAppend(StreamId.of("fresh-2"), ExpectedVersion.any(), List.of()),
                    batch("fresh-3", ExpectedVersion.any(), "D")));
            assertThat(results).hasSize(4);
            assertThat(results.get(0).join().streamId()).isEqualTo(StreamId.of("fresh-1"));
            assertThatThrownBy(() -> results.get(1).join())
                    .isInstanceOf(CompletionException.class)
                    .hasCauseInstanceOf(WrongExpectedVersionException.class);
            assertThatThrownBy(() -> results.get(2).join())
                    .hasCauseInstanceOf(InvalidEventException.class)
                    .hasMessageContaining("empty");
            assertThat(results.get(3).join().firstPosition())
                    .isEqualTo(results.get(0).join().lastPosition() + 1);
            assertThat(store.streamInfo(StreamId.of("taken-1")).eventCount()).isEqualTo(1);
            assertThat(store.streamInfo(StreamId.of("fresh-2")).exists()).isFalse();
        }
    }

    @Test
    void no_batch_a_null_batch_or_a_closed_store_is_refused_with_its_reason() {
        SqliteEventStore store = SqliteEventStore.open(directory);
        assertThatThrownBy(() -> store.appendTogether(List.of()))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("none were given");
        assertThatThrownBy(() -> store.appendTogether(null)).hasMessageContaining("none were given");
        List<StreamAppend> withNull = new ArrayList<>();
        withNull.add(null);
        assertThatThrownBy(() -> store.appendTogether(withNull)).hasMessageContaining("one of them is null");
        store.close();
        List<CompletableFuture<AppendResult>> afterClose =
                store.appendTogether(List.of(batch("late-1", ExpectedVersion.any(), "A")));
        assertThatThrownBy(() -> afterClose.get(0).join()).hasMessageContaining("closed");
    }
}
