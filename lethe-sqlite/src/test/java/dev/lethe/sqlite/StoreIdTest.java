package dev.lethe.sqlite;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.StreamId;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A store from a release before store ids gets one at its first writer open: derived from its log, so that
 * the live directory and a backup of it, each upgraded on its own, agree (receipts and journal lines made in
 * one are the other's); a new store's is random.
 */
class StoreIdTest {
    @TempDir
    Path parent;

    @Test
    void copies_of_a_store_without_an_id_derive_the_same_one_and_new_stores_get_their_own() throws Exception {
        Path live = parent.resolve("live");
        try (SqliteLethe lethe = SqliteLethe.open(live)) {
            lethe.store().append(StreamId.of("order-1"), ExpectedVersion.any(), List.of(EventData.of("Placed", "{}")));
        }
        // As a release before store ids left it.
        try (var keys = DriverManager.getConnection("jdbc:sqlite:" + live.resolve("keys.db"));
                var statement = keys.createStatement()) {
            statement.executeUpdate("DELETE FROM note WHERE name = '" + SqliteLethe.STORE_ID_NOTE + "'");
        }
        Path backup = parent.resolve("backup");
        copy(live, backup);

        String liveId;
        try (SqliteLethe lethe = SqliteLethe.open(live)) {
            liveId = lethe.storeId().orElseThrow();
        }
        try (SqliteLethe restored = SqliteLethe.open(backup)) {
            assertThat(restored.storeId()).contains(liveId);
        }
        try (SqliteLethe other = SqliteLethe.open(parent.resolve("other"));
                SqliteLethe another = SqliteLethe.open(parent.resolve("another"))) {
            assertThat(other.storeId().orElseThrow())
                    .isNotEqualTo(liveId)
                    .isNotEqualTo(another.storeId().orElseThrow());
        }
    }

    @Test
    void two_stores_whose_first_events_share_a_client_given_id_derive_different_ids() throws Exception {
        java.util.UUID bootstrap = java.util.UUID.fromString("11111111-1111-4111-8111-111111111111");
        List<String> ids = new java.util.ArrayList<>();
        for (String name : List.of("s1", "s2")) {
            Path data = parent.resolve(name);
            try (SqliteLethe lethe = SqliteLethe.open(data)) {
                lethe.store()
                        .append(
                                StreamId.of("tenant-setup"),
                                ExpectedVersion.any(),
                                List.of(new EventData(
                                        bootstrap,
                                        "Initialized",
                                        dev.lethe.core.store.Json.parse("{}"),
                                        dev.lethe.core.store.Json.EMPTY_OBJECT)));
            }
            try (var keys = DriverManager.getConnection("jdbc:sqlite:" + data.resolve("keys.db"));
                    var statement = keys.createStatement()) {
                statement.executeUpdate("DELETE FROM note WHERE name = '" + SqliteLethe.STORE_ID_NOTE + "'");
            }
            try (SqliteLethe lethe = SqliteLethe.open(data)) {
                ids.add(lethe.storeId().orElseThrow());
            }
        }
        assertThat(ids.get(0)).isNotEqualTo(ids.get(1));
    }

    private static void copy(Path from, Path to) throws Exception {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(from)) {
            for (Path file : files.toList()) {
                if (!file.getFileName().toString().equals("lethe.lock")) {
                    Files.copy(file, to.resolve(file.getFileName()));
                }
            }
        }
    }
}
