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
 * Review of d5b4282: the "4 MiB" trigger reads the WAL file's size, which a passive checkpoint does not
 * shrink; once the WAL has held 4 MiB, every commit is checkpointed ~200 ms later again, as before.
 */
class CheckpointerWalSizeReviewTest {
    @TempDir
    Path directory;

    @Test
    void after_one_burst_past_4_mib_small_commits_are_checkpointed_within_a_second_again() throws Exception {
        Path db = directory.resolve("events.db");
        Path wal = directory.resolve("events.db-wal");
        try (SqliteEventStore store = SqliteEventStore.open(directory)) {
            // A fresh store: a small commit is not checkpointed for 5 s.
            store.append(StreamId.of("small-0"), ExpectedVersion.any(), List.of(EventData.of("A", "{}")));
            Thread.sleep(300);
            FileTime before = Files.getLastModifiedTime(db);
            store.append(StreamId.of("small-1"), ExpectedVersion.any(), List.of(EventData.of("A", "{}")));
            Thread.sleep(1_000);
            boolean freshCheckpointed = !Files.getLastModifiedTime(db).equals(before);
            System.out.println("fresh store: small commit checkpointed within 1 s? " + freshCheckpointed);
            assertThat(freshCheckpointed).isFalse();

            // One burst of ~6 MiB.
            String big = "x".repeat(900_000);
            for (int i = 0; i < 7; i++) {
                store.append(
                        StreamId.of("big-" + i),
                        ExpectedVersion.any(),
                        List.of(EventData.of("B", Json.parse("{\"v\":\"" + big + "\"}"))));
            }
            Thread.sleep(1_500); // WAL >= 4 MiB: checkpointed
            System.out.println("WAL file after the burst's checkpoint: " + Files.size(wal) + " bytes");

            for (int round = 0; round < 3; round++) {
                FileTime t0 = Files.getLastModifiedTime(db);
                store.append(
                        StreamId.of("small-after-" + round), ExpectedVersion.any(), List.of(EventData.of("A", "{}")));
                Thread.sleep(700);
                boolean checkpointed = !Files.getLastModifiedTime(db).equals(t0);
                System.out.println("after burst, round " + round + ": small commit checkpointed within 0.7 s? "
                        + checkpointed + " (WAL file " + Files.size(wal) + " bytes)");
                assertThat(checkpointed).isTrue();
            }
        }
    }
}
