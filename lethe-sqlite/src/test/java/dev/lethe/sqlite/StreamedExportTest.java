package dev.lethe.sqlite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lethe.core.privacy.AuditLog;
import dev.lethe.core.privacy.Principal;
import dev.lethe.core.privacy.SchemaRegistry;
import dev.lethe.core.privacy.SubjectId;
import dev.lethe.core.privacy.TamperedDataException;
import dev.lethe.core.privacy.schema.JsonSchemaNotation;
import dev.lethe.core.store.Direction;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.InvalidEventException;
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

/** An export streamed as it is read: one that fails half-way must not read as a whole one. */
class StreamedExportTest {
    private static final Principal DPO = new Principal("dora", "dpo");

    @TempDir
    Path data;

    @Test
    void an_export_stopped_by_a_tampered_event_is_left_unfinished_not_closed_as_if_whole() throws Exception {
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
            int at = text.indexOf("lethe:v1:") + 40;
            byte[] altered = stored.clone();
            altered[at] = (byte) (altered[at] == 'A' ? 'B' : 'A');
            try (PreparedStatement write = events.prepareStatement("UPDATE events SET data = ? WHERE position = ?")) {
                write.setBytes(1, altered);
                write.setLong(2, last);
                write.executeUpdate();
            }
        }
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            StringWriter out = new StringWriter();
            assertThatThrownBy(() -> lethe.privacy().exportTo(ada, DPO, (reached, end) -> {}, out, false))
                    .isInstanceOf(TamperedDataException.class);
            // Whatever reached the writer is not a complete JSON document: no closing brackets were written.
            assertThatThrownBy(() -> Json.parse(out.toString())).isInstanceOf(InvalidEventException.class);
            List<String> audit = lethe.store().readStream(AuditLog.STREAM, 0, Direction.FORWARD, 1000).stream()
                    .map(RecordedEvent::type)
                    .toList();
            assertThat(audit).contains("SubjectExportStarted").doesNotContain("SubjectExported");
        }
    }
}
