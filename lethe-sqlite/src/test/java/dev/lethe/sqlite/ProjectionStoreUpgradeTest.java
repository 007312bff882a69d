package dev.lethe.sqlite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lethe.core.store.StorageException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A projections.db written before checkpoints recorded the event before them. */
class ProjectionStoreUpgradeTest {
    @TempDir
    Path data;

    private void givenAnOlderFile() throws Exception {
        try (Connection connection =
                        DriverManager.getConnection("jdbc:sqlite:" + data.resolve(SqliteProjectionStore.FILE_NAME));
                Statement statement = connection.createStatement()) {
            statement.execute("CREATE TABLE projection_state (projection TEXT NOT NULL, key TEXT NOT NULL,"
                    + " state TEXT NOT NULL, PRIMARY KEY (projection, key)) WITHOUT ROWID");
            statement.execute("CREATE TABLE checkpoint (name TEXT PRIMARY KEY, next_position INTEGER NOT NULL,"
                    + " updated_at INTEGER NOT NULL)");
            statement.execute("INSERT INTO projection_state VALUES ('sales', 'global', '{}')");
            statement.execute("INSERT INTO checkpoint VALUES ('projection:sales', 42, 0)");
        }
    }

    @Test
    void keys_are_listed_a_page_at_a_time_from_the_first_an_empty_key_included() {
        try (SqliteProjectionStore store = SqliteProjectionStore.open(data.resolve("keys"))) {
            store.commit("odd", java.util.Map.of("", "{}", "a/b", "{}", "z", "{}"), 0, null);
            assertThat(store.keys("odd", null, 10)).containsExactly("", "a/b", "z");
            assertThat(store.keys("odd", null, 1)).containsExactly("");
            assertThat(store.keys("odd", "", 10)).containsExactly("a/b", "z");
            assertThat(store.keys("odd", "a/b", 10)).containsExactly("z");
            assertThat(store.keys("none", null, 10)).isEmpty();
        }
    }

    @Test
    void a_closed_store_says_so_rather_than_what_its_statement_says() {
        SqliteProjectionStore store = SqliteProjectionStore.open(data.resolve("closed"));
        store.close();
        assertThatThrownBy(() -> store.loadState("counts", "global"))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("projections.db is closed: cannot read a state of counts");
        assertThatThrownBy(store::list).hasMessageContaining("projections.db is closed");
    }

    @Test
    void an_older_file_is_read_as_is_and_upgraded_by_the_first_writer() throws Exception {
        givenAnOlderFile();

        try (SqliteProjectionStore reader = SqliteProjectionStore.openForReading(data)) {
            assertThat(reader.checkpoint("sales")).hasValue(42);
            assertThat(reader.checkpointEvent("sales")).isEmpty();
            assertThat(reader.list())
                    .singleElement()
                    .satisfies(info -> assertThat(info.eventBefore()).isNull());
            assertThatThrownBy(() -> reader.commit("sales", Map.of(), 43, "x"))
                    .isInstanceOf(StorageException.class)
                    .hasMessageContaining("open only to read");
        }

        String before = UUID.randomUUID() + "@2026-11-27T00:00:00Z";
        try (SqliteProjectionStore writer = SqliteProjectionStore.open(data)) {
            assertThat(writer.checkpoint("sales")).hasValue(42);
            assertThat(writer.checkpointEvent("sales")).isEmpty();
            writer.commit("sales", Map.of("global", "{\"n\":1}"), 43, before);
        }
        try (SqliteProjectionStore reader = SqliteProjectionStore.openForReading(data)) {
            assertThat(reader.checkpoint("sales")).hasValue(43);
            assertThat(reader.checkpointEvent("sales")).contains(before);
            assertThat(reader.list())
                    .singleElement()
                    .satisfies(info -> assertThat(info.eventBefore()).isEqualTo(before));
            assertThat(reader.loadState("sales", "global")).contains("{\"n\":1}");
        }
        try (SqliteProjectionStore writer = SqliteProjectionStore.open(data)) {
            writer.save("feed", 7, before);
            assertThat(writer.load("feed")).hasValue(7);
            assertThat(writer.loadEventBefore("feed")).contains(before);
            writer.save("feed", 8);
            assertThat(writer.loadEventBefore("feed"))
                    .as("a position saved alone keeps no id")
                    .isEmpty();
        }
    }
}
