package dev.lethe.sqlite;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lethe.core.privacy.Principal;
import dev.lethe.core.store.AppendResult;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.StreamId;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Callbacks on {@code appendAsync}'s futures may block on other appends (even forget), and a read-only
 * open changes nothing in the key store: cases a review found failing.
 */
class AsyncCallbacksAndReadOnlyKeysTest {
    @TempDir
    Path data;

    @Test
    void a_callback_may_wait_for_another_async_append_and_later_appends_still_complete() throws Exception {
        try (SqliteEventStore store = SqliteEventStore.open(data, SqliteOptions.DEFAULT)) {
            StreamId a = StreamId.of("a");
            CompletableFuture<AppendResult> inner = new CompletableFuture<>();
            CompletableFuture<Void> outer = store.appendAsync(
                            a, ExpectedVersion.any(), List.of(EventData.of("E", "{}")))
                    .thenAccept(r ->
                            inner.complete(store.appendAsync(a, ExpectedVersion.any(), List.of(EventData.of("E", "{}")))
                                    .join()));
            outer.get(30, TimeUnit.SECONDS);
            assertThat(inner.get(30, TimeUnit.SECONDS).firstPosition()).isEqualTo(1);
            CompletableFuture<AppendResult> later =
                    store.appendAsync(a, ExpectedVersion.any(), List.of(EventData.of("E", "{}")));
            assertThat(later.get(30, TimeUnit.SECONDS).firstPosition()).isEqualTo(2);
            assertThat(store.readAll(0, 10)).hasSize(3);
        }
    }

    @Test
    void forget_called_from_an_append_callback_returns_its_receipt() throws Exception {
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            var subject = lethe.privacy().keys().resolve("ada@example.com");
            CompletableFuture<Object> forgot = lethe.privacy()
                    .appendAsync(StreamId.of("s"), ExpectedVersion.any(), List.of(EventData.of("E", "{}")))
                    .thenApply(r ->
                            lethe.privacy().forget(subject, "GDPR Art. 17(1)(a)", "x", new Principal("dora", "dpo")));
            assertThat(forgot.get(30, TimeUnit.SECONDS)).isInstanceOf(dev.lethe.core.privacy.keys.ErasureReceipt.class);
            assertThat(lethe.privacy().keys().isForgotten(subject)).isTrue();
        }
    }

    @Test
    void a_read_only_open_leaves_an_older_key_store_schema_alone_and_the_writer_migrates_it() throws Exception {
        SqliteLethe.open(data).close();
        String url = "jdbc:sqlite:" + data.resolve(SqliteKeyStore.FILE_NAME);
        try (Connection c = DriverManager.getConnection(url);
                Statement s = c.createStatement()) {
            s.execute("ALTER TABLE erasure_receipt DROP COLUMN audited"); // a keys.db of the previous release
        }
        SqliteLethe.openReadOnly(data).close();
        try (Connection c = DriverManager.getConnection(url);
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("PRAGMA table_info(erasure_receipt)")) {
            int columns = 0;
            while (rs.next()) {
                columns++;
            }
            assertThat(columns).isEqualTo(2); // the previous release's writer keeps working
            s.execute("INSERT INTO erasure_receipt VALUES ('x', '{}')");
            s.execute("DELETE FROM erasure_receipt WHERE id = 'x'");
        }
        SqliteLethe.open(data).close();
        try (Connection c = DriverManager.getConnection(url);
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT count(*) FROM pragma_table_info('erasure_receipt')")) {
            assertThat(rs.getInt(1)).isEqualTo(3);
        }
    }

    @Test
    void a_read_only_open_reveals_no_personal_data_since_it_cannot_audit_the_release_however_often_asked()
            throws Exception {
        java.nio.file.Files.writeString(data.resolve("policy.yaml"), SqliteRevealedReplayTest.POLICY);
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            com.fasterxml.jackson.databind.JsonNode schema = dev.lethe.core.store.Json.parse(
                            SqliteRevealedReplayTest.SCHEMA)
                    .asTree();
            lethe.privacy()
                    .registerSchema(
                            new Principal("dora", "dpo"),
                            dev.lethe.core.privacy.schema.JsonSchemaNotation.read("Bought", schema),
                            dev.lethe.core.privacy.SchemaRegistry.Notation.JSON_SCHEMA,
                            dev.lethe.core.privacy.SchemaRegistry.propertyPaths(schema),
                            dev.lethe.core.store.Json.of(schema));
            lethe.privacy()
                    .append(
                            StreamId.of("order-1"),
                            ExpectedVersion.any(),
                            List.of(EventData.of(
                                    "Bought", "{\"email\":\"ada@example.com\",\"name\":\"Ada\",\"product\":\"p\"}")));
        }
        try (SqliteLethe reader = SqliteLethe.openReadOnly(data)) {
            var event = reader.store()
                    .readStream(StreamId.of("order-1"), 0, dev.lethe.core.store.Direction.FORWARD, 10)
                    .get(0);
            // Each attempt is refused: a failed audit write must not count as recorded for the hour.
            for (int attempt = 0; attempt < 3; attempt++) {
                org.assertj.core.api.Assertions.assertThatThrownBy(
                                () -> reader.privacy().reveal(event, SqliteRevealedReplayTest.ADVISOR))
                        .isInstanceOf(dev.lethe.core.store.StorageException.class)
                        .hasMessageContaining("is not revealed to ann")
                        .hasMessageContaining("cannot be recorded in $audit")
                        .hasMessageNotContaining("Ada");
            }
            // Nor when several threads ask at once (a parallel replay): none goes on while another writes.
            java.util.concurrent.atomic.AtomicInteger revealed = new java.util.concurrent.atomic.AtomicInteger();
            List<Thread> threads = new java.util.ArrayList<>();
            for (int t = 0; t < 4; t++) {
                Thread thread = new Thread(() -> {
                    for (int i = 0; i < 300; i++) {
                        try {
                            reader.privacy().reveal(event, SqliteRevealedReplayTest.ADVISOR);
                            revealed.incrementAndGet();
                        } catch (dev.lethe.core.store.StorageException expected) {
                            // refused: its release cannot be audited
                        }
                    }
                });
                thread.start();
                threads.add(thread);
            }
            for (Thread thread : threads) {
                thread.join(60_000);
            }
            assertThat(revealed).hasValue(0);
            assertThat(reader.privacy()
                            .reveal(event, new Principal("nobody", "none"))
                            .data()
                            .toString())
                    .doesNotContain("Ada");
        }
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            var event = lethe.store()
                    .readStream(StreamId.of("order-1"), 0, dev.lethe.core.store.Direction.FORWARD, 10)
                    .get(0);
            assertThat(lethe.privacy()
                            .reveal(event, SqliteRevealedReplayTest.ADVISOR)
                            .data()
                            .toString())
                    .contains("Ada");
            assertThat(lethe
                            .store()
                            .readStream(
                                    dev.lethe.core.privacy.AuditLog.STREAM,
                                    0,
                                    dev.lethe.core.store.Direction.FORWARD,
                                    100)
                            .stream()
                            .filter(e -> e.type().equals("KeysReleased"))
                            .map(e -> e.data().toString())
                            .filter(d -> d.contains("\"ann\""))
                            .count())
                    .isEqualTo(2);
        }
    }
}
