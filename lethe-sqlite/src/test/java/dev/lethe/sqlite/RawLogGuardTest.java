package dev.lethe.sqlite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lethe.core.privacy.Principal;
import dev.lethe.core.privacy.SchemaRegistry;
import dev.lethe.core.privacy.schema.JsonSchemaNotation;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.StreamAppend;
import dev.lethe.core.store.StreamId;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The raw log beside the privacy layer takes no event that the privacy layer would have sealed. */
class RawLogGuardTest {
    static final Principal DPO = new Principal("dora", "dpo");

    @TempDir
    Path data;

    @Test
    void a_lethe_directory_is_not_opened_as_a_bare_log_for_writing_but_may_be_read_as_one() {
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            lethe.store().append(StreamId.of("order-1"), ExpectedVersion.any(), List.of(EventData.of("Placed", "{}")));
        }
        // Opened once by SqliteLethe (a command line's read, say), with no schema registered: still a bare log.
        try (SqliteEventStore bare = SqliteEventStore.open(data)) {
            assertThat(bare.headPosition()).isZero();
        }
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            JsonNode schema = Json.parse("{\"type\":\"object\",\"properties\":{\"email\":{\"type\":\"string\","
                            + "\"x-gdpr\":{\"pii\":true,\"key\":true,\"dataGroup\":\"contact\"}}}}")
                    .asTree();
            lethe.privacy().registerJsonSchema(DPO, "SignedUp", schema);
        }

        // Its raw log would take a classified type's personal fields in plaintext (the README's first example
        // opened ./lethe-data so): refused, naming the way in, and left closed (the directory is free again).
        assertThatThrownBy(() -> SqliteEventStore.open(data))
                .isInstanceOf(dev.lethe.core.store.StorageException.class)
                .hasMessageContaining("is a Lethe directory whose log registers privacy schemas")
                .hasMessageContaining("SqliteLethe.open(directory)");
        try (SqliteLethe again = SqliteLethe.open(data)) {
            assertThat(again.store().headPosition()).isPositive();
        }
        try (SqliteEventStore reader = SqliteEventStore.openReadOnly(data)) {
            assertThat(reader.headPosition()).isPositive();
        }
        // A directory without a key store is a bare log, as before.
        try (SqliteEventStore bare = SqliteEventStore.open(data.resolve("bare"))) {
            assertThat(bare.headPosition()).isEqualTo(-1);
        }
    }

    @Test
    void the_raw_log_takes_no_entry_for_lethes_own_streams_which_would_declassify_a_type_or_forget_a_person() {
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            JsonNode schema = Json.parse("{\"type\":\"object\",\"properties\":{\"email\":{\"type\":\"string\","
                            + "\"x-gdpr\":{\"pii\":true,\"key\":true,\"dataGroup\":\"contact\"}}}}")
                    .asTree();
            lethe.privacy().registerJsonSchema(DPO, "SignedUp", schema);
            var subject = lethe.privacy().keys().resolve("kept@example.com");
            long head = lethe.store().headPosition();
            // A second version with no classified field, written past change-policy and the audit...
            EventData declassify = EventData.of(
                    "SchemaRegistered",
                    "{\"eventType\":\"SignedUp\",\"version\":2,\"notation\":\"JSON_SCHEMA\",\"fields\":[],"
                            + "\"allFields\":[\"email\"],\"source\":{\"type\":\"object\"}}");
            // ...and a forget scheduled past the forget permission, which the next retention run would carry out.
            EventData schedule = EventData.of(
                    "ForgetScheduled",
                    "{\"scheduleId\":\"" + java.util.UUID.randomUUID() + "\",\"subject\":\"" + subject
                            + "\",\"at\":\"2026-01-01T00:00:00Z\",\"legalBasis\":\"GDPR Art. 17\",\"actor\":\"mallory\"}");
            for (String[] forged : new String[][] {{"$schemas", "declassify"}, {"$erasures", "schedule"}}) {
                EventData event = forged[1].equals("declassify") ? declassify : schedule;
                StreamId stream = StreamId.of(forged[0]);
                assertThatThrownBy(() -> lethe.store().append(stream, ExpectedVersion.any(), List.of(event)))
                        .as(forged[0])
                        .isInstanceOf(InvalidEventException.class)
                        .hasMessageContaining("'" + forged[0] + "' is a system stream");
                assertThat(lethe.store()
                                .appendAsync(stream, ExpectedVersion.any(), List.of(event))
                                .isCompletedExceptionally())
                        .isTrue();
                assertThat(lethe.store()
                                .appendTogether(
                                        List.of(new StreamAppend(stream, ExpectedVersion.any(), List.of(event))))
                                .get(0)
                                .isCompletedExceptionally())
                        .isTrue();
            }
            assertThat(lethe.store().headPosition()).isEqualTo(head);
            lethe.privacy().retention(java.time.Instant.now(), DPO);
            assertThat(lethe.privacy().keys().isForgotten(subject)).isFalse();
        }
        try (SqliteLethe reopened = SqliteLethe.open(data)) {
            assertThat(reopened.privacy()
                            .schemas()
                            .latest("SignedUp")
                            .orElseThrow()
                            .version())
                    .isEqualTo(1);
        }
    }

    @Test
    void an_event_of_a_type_with_a_privacy_schema_is_refused_on_the_raw_log_and_nothing_is_stored() throws Exception {
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            JsonNode schema = Json.parse("{\"type\":\"object\",\"properties\":{\"email\":{\"type\":\"string\","
                            + "\"x-gdpr\":{\"pii\":true,\"key\":true,\"dataGroup\":\"contact\"}}}}")
                    .asTree();
            lethe.privacy()
                    .registerSchema(
                            DPO,
                            JsonSchemaNotation.read("SignedUp", schema),
                            SchemaRegistry.Notation.JSON_SCHEMA,
                            SchemaRegistry.propertyPaths(schema),
                            Json.of(schema));
            EventData raw = EventData.of("SignedUp", "{\"email\":\"raw-marker@example.com\"}");

            assertThatThrownBy(() -> lethe.store().append(StreamId.of("signup-1"), ExpectedVersion.any(), List.of(raw)))
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining(
                            "events[0]: type 'SignedUp' has a privacy schema: append it through" + " privacy().append")
                    .hasMessageNotContaining("raw-marker");
            assertThat(lethe.store()
                            .appendAsync(StreamId.of("signup-1"), ExpectedVersion.any(), List.of(raw))
                            .isCompletedExceptionally())
                    .isTrue();
            assertThat(lethe.store()
                            .appendTogether(List.of(
                                    new StreamAppend(StreamId.of("signup-1"), ExpectedVersion.any(), List.of(raw))))
                            .get(0)
                            .isCompletedExceptionally())
                    .isTrue();
            // Nor does a copy of stored events pass, whose metadata says what was sealed: the data is revealed.
            lethe.privacy().append(StreamId.of("signup-0"), ExpectedVersion.any(), List.of(raw));
            var stream = lethe.privacy().readStream(StreamId.of("signup-0"), DPO);
            assertThatThrownBy(() -> stream.remove(0))
                    .as("a read cannot be changed")
                    .isInstanceOf(UnsupportedOperationException.class);
            var revealed = stream.get(0);
            EventData copy = new EventData(
                    null,
                    revealed.event().type(),
                    revealed.data(),
                    revealed.event().metadata());
            assertThatThrownBy(() -> lethe.store().append(StreamId.of("copy-1"), ExpectedVersion.any(), List.of(copy)))
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining("has a privacy schema");
            // Nor into a stream named like Lethe's own: only Lethe hands its entries over there.
            assertThatThrownBy(() -> lethe.store().append(StreamId.of("$mine-1"), ExpectedVersion.any(), List.of(raw)))
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining("is a system stream");
            // Nor metadata holding Lethe's own record, which would make every read of the event a tampering error.
            EventData forged = EventData.of("Plain", Json.parse("{\"x\":\"hello\"}"))
                    .withMetadata(Json.parse("{\"lethe\":{\"sealed\":[\"x\"]}}"));
            assertThatThrownBy(() -> lethe.store().append(StreamId.of("raw-1"), ExpectedVersion.any(), List.of(forged)))
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining("the key 'lethe' is reserved for Lethe");
            assertThat(lethe.store().streamInfo(StreamId.of("raw-1")).exists()).isFalse();
            // Types without a schema, and appends through the privacy layer, go on as before.
            lethe.store().append(StreamId.of("note-1"), ExpectedVersion.any(), List.of(EventData.of("Noted", "{}")));
            lethe.privacy().append(StreamId.of("signup-1"), ExpectedVersion.any(), List.of(raw));
            assertThat(lethe.store().streamInfo(StreamId.of("signup-1")).eventCount())
                    .isEqualTo(1);

            // A schema for a type named like one of Lethe's own entries does not stop Lethe writing them.
            JsonNode named = Json.parse("{\"type\":\"object\",\"properties\":{\"who\":{\"type\":\"string\","
                            + "\"x-gdpr\":{\"pii\":true,\"key\":true,\"dataGroup\":\"contact\"}}}}")
                    .asTree();
            for (String internal : new String[] {"KeysReleased", "SubjectForgotten", "SchemaRegistered"}) {
                lethe.privacy()
                        .registerSchema(
                                DPO,
                                JsonSchemaNotation.read(internal, named),
                                SchemaRegistry.Notation.JSON_SCHEMA,
                                SchemaRegistry.propertyPaths(named),
                                Json.of(named));
            }
            assertThat(lethe.privacy()
                            .readStream(StreamId.of("signup-1"), DPO)
                            .get(0)
                            .data()
                            .toString())
                    .as("a read that releases keys audits them")
                    .contains("raw-marker@example.com");
            var subject = lethe.privacy().keys().resolve("raw-marker@example.com");
            assertThat(lethe.privacy()
                            .forget(subject, "GDPR Art. 17", "asked", DPO)
                            .subject())
                    .isEqualTo(subject);
        }
        try (Stream<Path> files = Files.walk(data)) {
            for (Path file : files.filter(Files::isRegularFile).toList()) {
                assertThat(new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1))
                        .as(file.toString())
                        .doesNotContain("raw-marker@example.com");
            }
        }
    }
}
