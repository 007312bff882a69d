package dev.lethe.sqlite;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.StreamId;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The checkpointer batches: a small commit waits for 1 MiB of events or 5 s, also after a burst has
 * left the WAL file large (a checkpoint does not shrink the file).
 */
class CheckpointerBatchingTest {
    @TempDir
    Path directory;

    @Test
    void small_commits_wait_for_more_also_after_a_burst_has_grown_the_wal_file() throws Exception {
        Path db = directory.resolve("events.db");
        try (SqliteEventStore store = SqliteEventStore.open(directory)) {
            store.append(StreamId.of("small-0"), ExpectedVersion.any(), List.of(EventData.of("A", "{}")));
            Thread.sleep(300);
            FileTime before = Files.getLastModifiedTime(db);
            store.append(StreamId.of("small-1"), ExpectedVersion.any(), List.of(EventData.of("A", "{}")));
            Thread.sleep(1_000);
            assertThat(Files.getLastModifiedTime(db))
                    .as("a fresh store's small commit")
                    .isEqualTo(before);

            String big = "x".repeat(900_000);
            for (int i = 0; i < 7; i++) {
                store.append(
                        StreamId.of("big-" + i),
                        ExpectedVersion.any(),
                        List.of(EventData.of("B", Json.parse("{\"v\":\"" + big + "\"}"))));
            }
            Thread.sleep(1_000); // more than 1 MiB: checkpointed now
            FileTime afterBurst = Files.getLastModifiedTime(db);
            assertThat(afterBurst).as("the burst is checkpointed").isGreaterThan(before);

            for (int round = 0; round < 2; round++) {
                store.append(
                        StreamId.of("small-after-" + round), ExpectedVersion.any(), List.of(EventData.of("A", "{}")));
                Thread.sleep(700);
                assertThat(Files.getLastModifiedTime(db))
                        .as("a small commit after the burst, round %d", round)
                        .isEqualTo(afterBurst);
            }
            assertThat(store.readStreamIds(null, 100)).hasSize(11);
        }
    }
}
