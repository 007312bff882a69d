package dev.lethe.sqlite;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lethe.core.privacy.Principal;
import dev.lethe.core.privacy.PrivacyCodec;
import dev.lethe.core.privacy.SchemaRegistry;
import dev.lethe.core.privacy.SubjectId;
import dev.lethe.core.privacy.SubjectIndex;
import dev.lethe.core.privacy.SubjectIndexer;
import dev.lethe.core.privacy.schema.JsonSchemaNotation;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.RecordedEvent;
import dev.lethe.core.store.StreamId;
import dev.lethe.core.subscription.Subscription;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Exports read a subject's events from the subject index in projections.db. */
class SubjectIndexTest {
    private static final Principal DPO = new Principal("dora", "dpo");

    @TempDir
    Path data;

    private static void registerSchema(SqliteLethe lethe) {
        JsonNode schema = Json.parse("""
                        {"type":"object","properties":{
                          "email":{"type":"string","x-gdpr":{"pii":true,"key":true,"dataGroup":"contact"}},
                          "advisor":{"type":"string","x-gdpr":{"key":true}},
                          "note":{"type":"string","x-gdpr":{"pii":true,"dataGroup":"contact","subject":"email"}}}}
                        """).asTree();
        lethe.privacy()
                .registerSchema(
                        DPO,
                        JsonSchemaNotation.read("Noted", schema),
                        SchemaRegistry.Notation.JSON_SCHEMA,
                        SchemaRegistry.propertyPaths(schema),
                        Json.of(schema));
    }

    private static RecordedEvent note(SqliteLethe lethe, String email, String note) {
        long position = lethe.privacy()
                .append(
                        StreamId.of("note-" + UUID.randomUUID().toString().substring(0, 8)),
                        ExpectedVersion.any(),
                        List.of(EventData.of("Noted", "{\"email\":\"" + email + "\",\"note\":\"" + note + "\"}")))
                .lastPosition();
        return lethe.store().readAll(position, 1).get(0);
    }

    private static List<String> exportedNotes(SqliteLethe lethe, SubjectId subject) {
        List<String> notes = new ArrayList<>();
        lethe.privacy()
                .export(subject, DPO)
                .asTree()
                .path("events")
                .forEach(e -> notes.add(e.path("data").path("note").asText()));
        return notes;
    }

    @Test
    void an_export_reads_the_subjects_events_from_the_index_and_what_was_appended_since() {
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            registerSchema(lethe);
            SubjectId ada = PrivacyCodec.subjectsOf(
                            note(lethe, "ada@example.com", "ada-1").metadata())
                    .get("email");
            note(lethe, "grace@example.com", "grace-1");
            lethe.store().append(StreamId.of("plain-1"), ExpectedVersion.any(), List.of(EventData.of("Plain", "{}")));
            long head = note(lethe, "ada@example.com", "ada-2").position();

            assertThat(exportedNotes(lethe, ada)).containsExactly("ada-1", "ada-2");
            SubjectIndex index = lethe.subjectIndex();
            // Up to the head as the export began (its own audit entry comes after).
            assertThat(index.subjectIndexCheckpoint().next()).isEqualTo(head + 1);
            assertThat(index.subjectPositions(ada)).hasSize(2);

            note(lethe, "ada@example.com", "ada-3");
            assertThat(exportedNotes(lethe, ada)).containsExactly("ada-1", "ada-2", "ada-3");
            assertThat(index.subjectPositions(ada)).hasSize(3);
        }
    }

    @Test
    void an_index_from_another_log_is_built_again_so_that_no_event_is_left_out() {
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            registerSchema(lethe);
            SubjectId ada = PrivacyCodec.subjectsOf(
                            note(lethe, "ada@example.com", "ada-1").metadata())
                    .get("email");
            note(lethe, "ada@example.com", "ada-2");
            SubjectIndex index = lethe.subjectIndex();
            // As another store's projections.db leaves it: a checkpoint at the head, after an event with the
            // same id (a client's, appended in both) recorded at another instant, and nothing indexed for her.
            long head = lethe.store().headPosition();
            RecordedEvent last = lethe.store().readAll(head, 1).get(0);
            index.addToSubjectIndex(Map.of(), head + 1, last.id() + "@" + last.recordedAt() + "#another-session");
            assertThat(dev.lethe.core.subscription.CheckpointFit.witness(lethe.store(), last))
                    .as("the store's own session")
                    .startsWith(last.id() + "@" + last.recordedAt() + "#")
                    .isNotEqualTo(last.id() + "@" + last.recordedAt() + "#another-session");

            assertThat(exportedNotes(lethe, ada)).containsExactly("ada-1", "ada-2");
            assertThat(index.subjectPositions(ada)).hasSize(2);
        }
    }

    @Test
    void two_logs_that_parted_differ_in_the_witness_of_an_event_a_client_gave_the_same_id() throws Exception {
        Path original = data.resolve("original");
        Path restored = data.resolve("restored");
        try (SqliteEventStore store = SqliteEventStore.open(original)) {
            store.append(StreamId.of("a-1"), ExpectedVersion.any(), List.of(EventData.of("Plain", "{}")));
        }
        java.nio.file.Files.createDirectories(restored);
        for (String file : List.of("events.db", "events.db-wal")) {
            if (java.nio.file.Files.exists(original.resolve(file))) {
                java.nio.file.Files.copy(original.resolve(file), restored.resolve(file));
            }
        }
        UUID chosen = UUID.randomUUID();
        List<String> witnesses = new ArrayList<>();
        List<String> sessions = new ArrayList<>();
        for (Path directory : List.of(original, restored)) {
            try (SqliteEventStore store = SqliteEventStore.open(directory)) {
                long position = store.append(
                                StreamId.of("orders-1"),
                                ExpectedVersion.any(),
                                List.of(EventData.of("Note", "{\"n\":1}").withId(chosen)))
                        .lastPosition();
                RecordedEvent event = store.readAll(position, 1).get(0);
                assertThat(event.id()).isEqualTo(chosen);
                assertThat(position).isEqualTo(1);
                witnesses.add(dev.lethe.core.subscription.CheckpointFit.witness(store, event));
                sessions.add(store.writerSession(0));
                sessions.add(store.writerSession(1));
            }
        }
        assertThat(witnesses.get(0)).isNotEqualTo(witnesses.get(1));
        assertThat(sessions.get(0))
                .as("the shared prefix: one session")
                .isNotEmpty()
                .isEqualTo(sessions.get(2));
        assertThat(sessions.get(1)).as("after they parted: one each").isNotEqualTo(sessions.get(3));
        assertThat(witnesses.get(1)).endsWith("#" + sessions.get(3));
    }

    @Test
    void a_log_no_writer_of_this_version_opened_yet_reads_with_no_sessions() throws Exception {
        Path older = data.resolve("older");
        try (SqliteEventStore store = SqliteEventStore.open(older)) {
            store.append(StreamId.of("a-1"), ExpectedVersion.any(), List.of(EventData.of("Plain", "{}")));
        }
        try (java.sql.Connection connection =
                        java.sql.DriverManager.getConnection("jdbc:sqlite:" + older.resolve("events.db"));
                java.sql.Statement statement = connection.createStatement()) {
            statement.execute("DROP TABLE writer_session");
        }
        try (SqliteEventStore reader = SqliteEventStore.openReadOnly(older)) {
            assertThat(reader.writerSession(0)).isEmpty();
        }
        try (SqliteEventStore writer = SqliteEventStore.open(older)) {
            assertThat(writer.writerSession(0)).as("before sessions were kept").isEmpty();
            long next = writer.append(StreamId.of("a-1"), ExpectedVersion.any(), List.of(EventData.of("Plain", "{}")))
                    .lastPosition();
            assertThat(writer.writerSession(next)).isNotEmpty();
        }
    }

    @Test
    void a_server_keeps_the_index_up_to_date_on_a_subscription_of_its_own() throws Exception {
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            registerSchema(lethe);
            SubjectIndex index = lethe.subjectIndex();
            try (Subscription following = SubjectIndexer.follow(lethe.store(), index)) {
                SubjectId ada = PrivacyCodec.subjectsOf(
                                note(lethe, "ada@example.com", "ada-1").metadata())
                        .get("email");
                note(lethe, "grace@example.com", "grace-1");
                long head = note(lethe, "ada@example.com", "ada-2").position();
                assertThat(following.awaitPosition(head, java.time.Duration.ofSeconds(30)))
                        .isTrue();
                assertThat(index.subjectPositions(ada)).hasSize(2);
                assertThat(index.subjectIndexCheckpoint().next()).isEqualTo(head + 1);
                assertThat(following.failure()).isEmpty();
            }
        }
    }
}
