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
                          "advisor":{"type":"string","x-gdpr":{"key":true,"dataGroup":"contact"}},
                          "note":{"type":"string","x-gdpr":{"pii":true,"dataGroup":"contact"}}}}
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
            index.addToSubjectIndex(Map.of(), head + 1, last.id() + "@2000-01-01T00:00:00Z");

            assertThat(exportedNotes(lethe, ada)).containsExactly("ada-1", "ada-2");
            assertThat(index.subjectPositions(ada)).hasSize(2);
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
