package dev.lethe.sqlite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lethe.core.privacy.AuditLog;
import dev.lethe.core.privacy.Principal;
import dev.lethe.core.privacy.PrivateEventStore;
import dev.lethe.core.privacy.SchemaRegistry;
import dev.lethe.core.privacy.SubjectId;
import dev.lethe.core.privacy.TamperedDataException;
import dev.lethe.core.privacy.schema.JsonSchemaNotation;
import dev.lethe.core.store.Direction;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.RecordedEvent;
import dev.lethe.core.store.StreamId;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An export streamed as it is read, of a log one of whose personal fields was altered on disk. */
class StreamedExportTest {
    private static final Principal DPO = new Principal("dora", "dpo");

    @TempDir
    Path data;

    @Test
    void an_export_goes_on_past_a_field_altered_on_disk_lists_it_as_tampered_and_audits_it() throws Exception {
        SubjectId ada;
        long last;
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            var schema = Json.parse("""
                            {"type":"object","properties":{
                              "email":{"type":"string","x-gdpr":{"pii":true,"key":true,"dataGroup":"contact"}},
                              "n":{"type":"number"}}}
                            """).asTree();
            lethe.privacy()
                    .registerSchema(
                            DPO,
                            JsonSchemaNotation.read("Deposited", schema),
                            SchemaRegistry.Notation.JSON_SCHEMA,
                            SchemaRegistry.propertyPaths(schema),
                            Json.of(schema));
            for (int i = 0; i < 3; i++) {
                lethe.privacy()
                        .append(
                                StreamId.of("customer-1"),
                                ExpectedVersion.any(),
                                List.of(EventData.of("Deposited", "{\"email\":\"ada@example.com\",\"n\":" + i + "}")));
            }
            ada = lethe.privacy().keys().resolve("ada@example.com");
            last = lethe.store().headPosition();
        }
        // One byte of the last event's ciphertext altered on disk (inside its envelope, so the tag fails).
        try (Connection events = DriverManager.getConnection("jdbc:sqlite:" + data.resolve("events.db"))) {
            byte[] stored;
            try (PreparedStatement read = events.prepareStatement("SELECT data FROM events WHERE position = ?")) {
                read.setLong(1, last);
                try (ResultSet rs = read.executeQuery()) {
                    rs.next();
                    stored = rs.getBytes(1);
                }
            }
            String text = new String(stored, StandardCharsets.UTF_8);
            // In its ciphertext, a few characters before the envelope ends: the header still reads, the tag fails.
            int at = text.indexOf('"', text.indexOf("lethe:v1:")) - 4;
            byte[] altered = stored.clone();
            altered[at] = (byte) (altered[at] == 'A' ? 'B' : 'A');
            try (PreparedStatement write = events.prepareStatement("UPDATE events SET data = ? WHERE position = ?")) {
                write.setBytes(1, altered);
                write.setLong(2, last);
                write.executeUpdate();
            }
        }
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            // A read still refuses it: tampering is never an expected state.
            RecordedEvent altered = lethe.store()
                    .readStream(StreamId.of("customer-1"), 2, Direction.FORWARD, 1)
                    .get(0);
            assertThatThrownBy(() -> lethe.privacy().reveal(altered, DPO))
                    .isInstanceOf(TamperedDataException.class)
                    .hasMessageContaining("email");

            StringWriter out = new StringWriter();
            PrivateEventStore.Exported exported = lethe.privacy().exportTo(ada, DPO, (reached, end) -> {}, out, false);

            // The export is whole but for the altered field: null, listed as tampered with what failed.
            assertThat(exported.events()).isEqualTo(3);
            assertThat(exported.tamperedFields()).isEqualTo(1);
            assertThat(exported.tampered()).singleElement().satisfies(field -> {
                assertThat(field.event()).isEqualTo(altered.id());
                assertThat(field.position()).isEqualTo(last);
                assertThat(field.path()).isEqualTo("email");
                assertThat(field.detail()).contains("failed authentication");
            });
            JsonNode events = Json.parse(out.toString()).asTree().path("events");
            assertThat(events).hasSize(3);
            for (int i = 0; i < 2; i++) {
                assertThat(events.get(i).path("data").path("email").asText()).isEqualTo("ada@example.com");
                assertThat(events.get(i).path("redacted")).isEmpty();
            }
            JsonNode damaged = events.get(2);
            assertThat(damaged.path("data").path("email").isNull()).isTrue();
            assertThat(damaged.path("data").path("n").asInt()).isEqualTo(2);
            assertThat(damaged.path("redacted").get(0).path("path").asText()).isEqualTo("email");
            assertThat(damaged.path("redacted").get(0).path("reason").asText()).isEqualTo("tampered");
            assertThat(damaged.path("redacted").get(0).path("detail").asText()).contains("AES-GCM tag mismatch");
            // The in-memory export says the same.
            JsonNode inMemory =
                    lethe.privacy().export(ada, DPO).asTree().path("events").get(2);
            assertThat(inMemory.path("redacted")).isEqualTo(damaged.path("redacted"));

            List<RecordedEvent> audit = lethe.store().readStream(AuditLog.STREAM, 0, Direction.FORWARD, 1000);
            RecordedEvent handedOver = audit.stream()
                    .filter(entry -> entry.type().equals("SubjectExported"))
                    .findFirst()
                    .orElseThrow();
            assertThat(handedOver.data().asTree().path("tamperedFields").asLong())
                    .isEqualTo(1);
            assertThat(handedOver.data().asTree().path("events").asLong()).isEqualTo(3);
        }
    }
}
