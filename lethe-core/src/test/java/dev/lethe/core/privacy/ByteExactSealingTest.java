package dev.lethe.core.privacy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lethe.core.memory.InMemoryEventStore;
import dev.lethe.core.privacy.keys.InMemoryKeyStore;
import dev.lethe.core.privacy.keys.KeyService;
import dev.lethe.core.privacy.keys.LocalMasterKey;
import dev.lethe.core.privacy.policy.DataPolicy;
import dev.lethe.core.privacy.schema.JsonSchemaNotation;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.RecordedEvent;
import dev.lethe.core.store.StreamId;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sealing and revealing by splicing byte ranges, through {@link PrivateEventStore}: what is stored
 * outside personal values, and what a reader gets back, are compared byte for byte with what was
 * appended; names and envelopes written with JSON escapes neither hide a personal field nor slip a
 * forged envelope past authentication.
 */
class ByteExactSealingTest {
    static final String SCHEMA = """
            {"type":"object","required":["email","product"],
             "properties":{
               "email":{"type":"string","x-gdpr":{"pii":true,"key":true,"dataGroup":"contact"}},
               "name":{"type":["string","null"],"x-gdpr":{"pii":true,"dataGroup":"identity"}},
               "profile":{"x-gdpr":{"pii":true,"dataGroup":"identity"}},
               "address":{"type":"object","properties":{
                   "street":{"type":"string","x-gdpr":{"pii":true,"dataGroup":"contact"}},
                   "city":{"type":"string"}}},
               "product":{"type":"string"},
               "amount":{"type":"number"}}}
            """;
    static final Principal DPO = new Principal("dora", "dpo");
    static final StreamId STREAM = StreamId.of("customer-1");
    static final Pattern ENVELOPE = Pattern.compile("\"lethe:v1:[A-Za-z0-9_-]+\"");

    @TempDir
    Path keysDirectory;

    PrivateEventStore lethe;

    @BeforeEach
    void open() {
        lethe = openStore(keysDirectory);
    }

    /** An in-memory store with the strict test policy and {@link #SCHEMA} registered for ProductSold. */
    static PrivateEventStore openStore(Path keysDirectory) {
        return openStore(keysDirectory, PrivateEventStoreTest.POLICY);
    }

    /** The same with another policy. */
    static PrivateEventStore openStore(Path keysDirectory, String policy) {
        Clock clock = Clock.fixed(Instant.parse("2026-11-26T10:00:00Z"), ZoneOffset.UTC);
        KeyService keys = new KeyService(
                new InMemoryKeyStore(), LocalMasterKey.openOrCreate(keysDirectory), DataPolicy.parse(policy), clock);
        PrivateEventStore store = new PrivateEventStore(new InMemoryEventStore(clock), keys, clock);
        JsonNode schema = Json.parse(SCHEMA).asTree();
        store.schemas()
                .register(
                        JsonSchemaNotation.read("ProductSold", schema),
                        SchemaRegistry.Notation.JSON_SCHEMA,
                        SchemaRegistry.propertyPaths(schema),
                        Json.of(schema));
        return store;
    }

    @AfterEach
    void close() {
        lethe.close();
    }

    RecordedEvent append(String data) {
        return append(data, Json.EMPTY_OBJECT);
    }

    RecordedEvent append(String data, Json metadata) {
        long position = lethe.append(
                        STREAM,
                        ExpectedVersion.any(),
                        List.of(EventData.of("ProductSold", data).withMetadata(metadata)))
                .lastPosition();
        return lethe.store().readAll(position, 1).get(0);
    }

    /** Everything the store holds, data and metadata of every event, as text. */
    String everythingStored() {
        StringBuilder out = new StringBuilder();
        lethe.store()
                .readAll(0, 10_000)
                .forEach(e ->
                        out.append(e.data()).append('\n').append(e.metadata()).append('\n'));
        return out.toString();
    }

    @Test
    void a_personal_field_whose_name_is_written_with_escapes_is_still_sealed() {
        String data = "{\"\\u0065mail\":\"ada@example.com\",\"n\\u0061me\":\"Ada Lovelace\","
                + "\"addr\\u0065ss\":{\"str\\u0065et\":\"Rua Augusta 12\"},\"product\":\"fund-a\"}";

        RecordedEvent stored = append(data);

        assertThat(everythingStored()).doesNotContain("ada@example.com", "Ada Lovelace", "Rua Augusta 12");
        assertThat(PrivacyCodec.subjectsOf(stored.metadata())).containsOnlyKeys("email");
        assertThat(PrivacyCodec.sealedPaths(stored.metadata())).containsExactly("email", "name", "address.street");
        assertThat(lethe.reveal(stored, DPO).data().toString()).isEqualTo(data);
    }

    @Test
    void bytes_outside_personal_values_are_stored_exactly_as_given() {
        String data = "\n{ \"product\" : \"fund-a\",\t\"amount\":1.50, \"big\":1e3, \"neg\": -0.0,\r\n"
                + "  \"email\":\"ada@example.com\" ,\"name\":   \"Ada\",\n"
                + "  \"address\": {\"city\":\"Lisbon\",  \"street\":\"Rua Augusta 12\"  }, \"z\":[ 1 , 2 ] }\n";

        RecordedEvent stored = append(data);

        String expected = data.replace("\"ada@example.com\"", "\"*\"")
                .replace("\"Ada\"", "\"*\"")
                .replace("\"Rua Augusta 12\"", "\"*\"");
        assertThat(ENVELOPE.matcher(stored.data().toString()).replaceAll("\"*\""))
                .isEqualTo(expected);
    }

    @Test
    void revealed_data_equals_the_appended_bytes_exactly() {
        String data = "{ \"email\" : \"ada@example.com\", \"name\":\"Ad\\u0061 \\\"the\\\" \\\\ Zoë 😀\","
                + "\"amount\" : 1E+3,\n\"address\":{ \"street\" : \"R\\u00fca 1\" } , \"product\":\"p\" }";

        RecordedEvent stored = append(data);
        RevealedEvent revealed = lethe.reveal(stored, DPO);

        assertThat(revealed.redactions()).isEmpty();
        assertThat(revealed.data().toString()).isEqualTo(data);
        assertThat(stored.data().toString()).doesNotContain("Zoë", "the\\\"", "R\\u00fca");
    }

    @Test
    void user_metadata_is_kept_byte_for_byte_and_gets_the_privacy_record_as_its_last_member() {
        List<String> metadatas = List.of(
                "{}",
                "{ }",
                "{\n}\n",
                "{\"trace\":{\"id\":\"t-1\",\"deep\":{\"lethe\":1}},\"n\":[1,{\"x\":\"}\"}]}",
                "{ \"a\" : 1 ,\n \"b\":{\"lethe\":{\"sealed\":[\"product\"]}} }  \n");
        for (String metadata : metadatas) {
            RecordedEvent stored = append(
                    "{\"email\":\"ada@example.com\",\"name\":\"Ada\",\"product\":\"fund-a\"}", Json.parse(metadata));

            String text = stored.metadata().toString();
            int close = metadata.lastIndexOf('}');
            assertThat(text)
                    .as(metadata)
                    .startsWith(metadata.substring(0, close))
                    .endsWith(metadata.substring(close));
            String added = text.substring(close, text.length() - (metadata.length() - close));
            boolean empty = Json.parse(metadata).asTree().isEmpty();
            assertThat(added).as(metadata).startsWith(empty ? "\"lethe\":{" : ",\"lethe\":{");
            ObjectNode withoutRecord = (ObjectNode) stored.metadata().asTree();
            assertThat(withoutRecord.remove("lethe").path("sealed").toString()).isEqualTo("[\"email\",\"name\"]");
            assertThat(withoutRecord).isEqualTo(Json.parse(metadata).asTree());
            assertThat(lethe.reveal(stored, DPO).data().asTree().get("name").asText())
                    .isEqualTo("Ada");
        }
    }

    @Test
    void metadata_with_a_top_level_lethe_member_is_rejected_and_a_nested_one_is_accepted() {
        String data = "{\"email\":\"ada@example.com\",\"product\":\"p\"}";
        for (String reserved : List.of(
                "{\"lethe\":1}", "{\"a\":{},\"lethe\":{\"sealed\":[]}}", "{ \"lethe\" : null }", "{\"l\\u0065the\":1}"
                // An escaped name is the same member: it must not slip past the check.
                )) {
            assertThatThrownBy(() -> append(data, Json.parse(reserved)))
                    .as(reserved)
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining("reserved");
        }
        assertThat(lethe.store().streamInfo(STREAM).exists()).isFalse();

        RecordedEvent stored = append(data, Json.parse("{\"a\":{\"lethe\":1},\"b\":\"lethe\"}"));
        assertThat(stored.metadata().asTree().path("a").path("lethe").asInt()).isEqualTo(1);
    }

    @Test
    void a_forged_privacy_record_under_an_escaped_name_cannot_change_what_other_events_reveal() {
        String data = "{\"email\":\"ada@example.com\",\"name\":\"Ada\",\"product\":\"p\"}";
        Json forged = Json.parse("{\"l\\u0065the\":{\"sealed\":[\"product\"]}}");
        assertThatThrownBy(() -> append(data, forged))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("reserved");

        RecordedEvent honest = append(data);

        assertThat(lethe.reveal(honest, DPO).data().toString()).isEqualTo(data);
    }

    @Test
    void a_personal_object_or_array_value_is_sealed_whole_and_round_trips() {
        String object = "{\"email\":\"ada@example.com\",\"profile\": {\"likes Zoë\":[1,{\"b\":\"Zoë\"}], \"c\":null},"
                + "\"product\":\"p\"}";
        String array =
                "{\"email\":\"ada@example.com\",\"profile\":[ 1, \"two-secret\", {\"three ë\":3.0} ],\"product\":\"p\"}";

        for (String data : List.of(object, array)) {
            RecordedEvent stored = append(data);
            assertThat(stored.data().asTree().get("profile").asText()).startsWith(Envelope.PREFIX);
            assertThat(lethe.reveal(stored, DPO).data().toString()).isEqualTo(data);
        }
        assertThat(everythingStored()).doesNotContain("Zoë", "two-secret", "likes Zoë", "three ë");
    }

    @Test
    void a_personal_field_that_is_absent_or_null_is_left_alone() {
        String data = "{\"email\":\"ada@example.com\",\"name\":null,\"profile\" : null,\"product\":\"p\"}";

        RecordedEvent stored = append(data);

        assertThat(ENVELOPE.matcher(stored.data().toString()).replaceAll("\"*\""))
                .isEqualTo(data.replace("\"ada@example.com\"", "\"*\""));
        assertThat(PrivacyCodec.sealedPaths(stored.metadata())).containsExactly("email");
        RevealedEvent revealed = lethe.reveal(stored, DPO);
        assertThat(revealed.redactions()).isEmpty();
        assertThat(revealed.data().toString()).isEqualTo(data);
    }

    @Test
    void an_envelope_copied_into_a_non_personal_field_of_another_event_is_returned_as_is() {
        RecordedEvent first = append("{\"email\":\"ada@example.com\",\"name\":\"Ada\",\"product\":\"p\"}");
        String envelope = first.data().asTree().get("name").asText();
        String data = "{\"email\":\"alan@example.com\",\"product\":\"" + envelope + "\"}";

        RecordedEvent second = append(data);
        RevealedEvent revealed = lethe.reveal(second, DPO);

        assertThat(revealed.redactions()).isEmpty();
        assertThat(revealed.data().toString())
                .isEqualTo("{\"email\":\"alan@example.com\",\"product\":\"" + envelope + "\"}");
        assertThat(revealed.opened()).containsExactly(DataGroup.of("contact"));
    }

    @Test
    void an_envelope_written_with_a_json_escape_is_reported_as_tampered() {
        RecordedEvent stored = append("{\"email\":\"ada@example.com\",\"name\":\"Ada\",\"product\":\"p\"}");
        String data = stored.data().toString();
        Matcher name = Pattern.compile("\"name\":\"(lethe:v1:[A-Za-z0-9_-]+)\"").matcher(data);
        assertThat(name.find()).isTrue();
        int start = name.start(1);
        int length = name.end(1) - start;
        // In the payload, at the end of the prefix, and inside the prefix itself.
        for (int offset : List.of(length - 1, 9, 8, 0)) {
            char c = data.charAt(start + offset);
            String escaped = data.substring(0, start + offset)
                    + String.format("\\u%04x", (int) c)
                    + data.substring(start + offset + 1);
            assertThat(Json.parse(escaped).asTree().get("name").asText()).isEqualTo(name.group(1));

            assertThatThrownBy(() -> lethe.reveal(withData(stored, escaped), DPO))
                    .as("escape at offset %d", offset)
                    .isInstanceOf(TamperedDataException.class)
                    .hasMessageContaining("name");
        }
    }

    private static RecordedEvent withData(RecordedEvent event, String data) {
        return new RecordedEvent(
                event.id(),
                event.streamId(),
                event.version(),
                event.position(),
                event.type(),
                Json.parse(data),
                event.metadata(),
                event.recordedAt());
    }
}
