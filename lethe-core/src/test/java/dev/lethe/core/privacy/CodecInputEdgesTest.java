package dev.lethe.core.privacy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lethe.core.privacy.schema.JsonSchemaNotation;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.RecordedEvent;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Inputs a review found the byte-splicing codec mishandling (UTF-16 text, repeated classified fields,
 * number formats of a key): each is refused, or treated as the tree-based codec treated it.
 */
class CodecInputEdgesTest {
    static final Principal DPO = ByteExactSealingTest.DPO;

    @TempDir
    Path keysDirectory;

    PrivateEventStore lethe;

    @BeforeEach
    void open() {
        lethe = ByteExactSealingTest.openStore(keysDirectory);
    }

    @AfterEach
    void close() {
        lethe.close();
    }

    RecordedEvent append(Json data, Json metadata) {
        long position = lethe.append(
                        ByteExactSealingTest.STREAM,
                        ExpectedVersion.any(),
                        List.of(new EventData(null, "ProductSold", data, metadata)))
                .lastPosition();
        return lethe.store().readAll(position, 1).get(0);
    }

    @Test
    void json_that_is_not_utf8_is_refused_before_anything_can_store_it() {
        String text = "{\"email\":\"ada@example.com\",\"name\":\"Ada Lovelace\",\"product\":\"fund-a\"}";
        for (java.nio.charset.Charset charset : List.of(
                StandardCharsets.UTF_16LE,
                StandardCharsets.UTF_16BE,
                StandardCharsets.UTF_16,
                java.nio.charset.Charset.forName("UTF-32LE"))) {
            assertThatThrownBy(() -> Json.ofBytes(text.getBytes(charset)))
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining("UTF-8");
        }
        byte[] withBom = ("\uFEFF" + text).getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> Json.ofBytes(withBom))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("byte order mark");
        assertThat(Json.ofBytes(text.getBytes(StandardCharsets.UTF_8))
                        .asTree()
                        .path("name")
                        .asText())
                .isEqualTo("Ada Lovelace");

        // Half a surrogate pair is no character: it would read back as '?', so two values would be one.
        for (String lone : List.of(
                "\"KEY\\udbff\"", "\"\\udc00x\"", "\"\\ud83d\\u0041\"", "{\"n\\ud800\":1}", "\"\\ud83d\\\\\"")) {
            assertThatThrownBy(() -> Json.parse(lone))
                    .as(lone)
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining("half a UTF-16 surrogate pair");
        }
        // Built from Java values too: a String holding half a pair is written as an escape no read takes back.
        for (Object value : List.of(Map.of("t", "a\uD800b"), List.of("\uDC00"), Map.of("k\uDBFF", 1))) {
            assertThatThrownBy(() -> Json.of(value))
                    .as(value.toString())
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining("half a UTF-16 surrogate pair");
        }
        assertThat(Json.of(Map.of("t", "\uD83D\uDE00")).asTree().path("t").asText())
                .isEqualTo("😀");
        // And from Java text holding one raw (not as an escape): its UTF-8 bytes would hold '?' instead.
        for (String raw : List.of("\"\uD800\"", "{\"a\":\"x\uDC00\"}", "\"\uDBFF\"")) {
            assertThatThrownBy(() -> Json.parse(raw))
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining("half a UTF-16 surrogate pair");
        }
        assertThat(Json.parse("\"\uD83D\uDE00\"").asTree().asText()).isEqualTo("😀");
        // A number no reader could hold exactly would stop every read of its event: refused on the way in.
        assertThatThrownBy(() -> Json.parse("{\"amt\":1e9999999999}"))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("exponent beyond");
        assertThat(Json.parse("[1e999999999,-0.0,1.50,2e-400]").asTree().toString())
                .isEqualTo("[1E+999999999,0.0,1.50,2E-400]");
        for (String fine : List.of("\"\\ud83d\\ude00\"", "\"\\\\udbff\"", "\"\\u00e9\\n\"", "\"😀\"")) {
            assertThat(Json.parse(fine).asTree().isTextual()).as(fine).isTrue();
        }
    }

    @Test
    void a_classified_field_written_twice_is_refused_and_nothing_is_written() {
        long head = lethe.store().headPosition();
        for (String json : List.of(
                "{\"email\":\"alice@example.com\",\"email\":\"bob@example.com\",\"product\":\"p\"}",
                "{\"email\":\"alice@example.com\",\"name\":\"A\",\"name\":\"B\",\"product\":\"p\"}",
                "{\"email\":\"alice@example.com\",\"\\u0065mail\":\"bob@example.com\",\"product\":\"p\"}")) {
            assertThatThrownBy(() -> append(Json.parse(json), null))
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining("appears twice");
        }
        assertThat(lethe.store().headPosition()).isEqualTo(head);
        assertThat(lethe.keys().lookup("bob@example.com")).isEmpty();
        // A non-classified field may repeat, as JSON allows.
        append(Json.parse("{\"email\":\"carol@example.com\",\"product\":\"p\",\"product\":\"q\"}"), null);
    }

    @Test
    void a_numeric_key_names_one_subject_however_the_number_is_written() {
        JsonNode schema = Json.parse("""
                        {"type":"object","properties":{
                          "customer":{"type":"number","x-gdpr":{"key":true}},
                          "name":{"type":"string","x-gdpr":{"pii":true,"dataGroup":"identity"}}}}
                        """).asTree();
        lethe.schemas()
                .register(
                        JsonSchemaNotation.read("Visited", schema),
                        SchemaRegistry.Notation.JSON_SCHEMA,
                        SchemaRegistry.propertyPaths(schema),
                        Json.of(schema));
        List<SubjectId> subjects = new java.util.ArrayList<>();
        for (String number : List.of("1.50", "1.5", "15e-1")) {
            long position = lethe.append(
                            ByteExactSealingTest.STREAM,
                            ExpectedVersion.any(),
                            List.of(EventData.of("Visited", "{\"customer\":" + number + ",\"name\":\"Ada\"}")))
                    .lastPosition();
            subjects.add(PrivacyCodec.subjectsOf(
                            lethe.store().readAll(position, 1).get(0).metadata())
                    .get("customer"));
        }
        assertThat(subjects).containsOnly(subjects.get(0));
        // As the tree-based codec did: Jackson's text of the parsed number.
        assertThat(lethe.keys().lookup("1.5")).contains(subjects.get(0));

        // true and false are not keys: each would make every event saying so one person's. (A property
        // with no JSON Schema type, so that the codec, not the type check, meets them.)
        JsonNode untyped = Json.parse("""
                        {"type":"object","properties":{
                          "customer":{"x-gdpr":{"key":true}},
                          "name":{"type":"string","x-gdpr":{"pii":true,"dataGroup":"identity"}}}}
                        """).asTree();
        lethe.schemas()
                .register(
                        JsonSchemaNotation.read("Tagged", untyped),
                        SchemaRegistry.Notation.JSON_SCHEMA,
                        SchemaRegistry.propertyPaths(untyped),
                        Json.of(untyped));
        long head = lethe.store().headPosition();
        for (String literal : List.of("true", "false", "[1]", "{\"id\":1}")) {
            assertThatThrownBy(() -> lethe.append(
                            ByteExactSealingTest.STREAM,
                            ExpectedVersion.any(),
                            List.of(EventData.of("Tagged", "{\"customer\":" + literal + ",\"name\":\"Ada\"}"))))
                    .as(literal)
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining("Tagged.customer: a data subject key must be a string or number");
        }
        assertThat(lethe.store().headPosition()).isEqualTo(head);
        assertThat(lethe.keys().lookup("true")).isEmpty();

        // Numbers a double would round name different subjects; so do keys a lone surrogate would turn
        // into '?' (refused).
        List<SubjectId> precise = new java.util.ArrayList<>();
        for (String number : List.of("0.1000000000000000000001", "0.1000000000000000000002", "1e400", "2e400")) {
            long position = lethe.append(
                            ByteExactSealingTest.STREAM,
                            ExpectedVersion.any(),
                            List.of(EventData.of("Tagged", "{\"customer\":" + number + ",\"name\":\"Ada\"}")))
                    .lastPosition();
            precise.add(PrivacyCodec.subjectsOf(
                            lethe.store().readAll(position, 1).get(0).metadata())
                    .get("customer"));
        }
        assertThat(precise).doesNotHaveDuplicates();
        assertThat(lethe.keys().lookup("0.1000000000000000000001")).contains(precise.get(0));
        assertThat(lethe.keys().lookup("1E+400")).contains(precise.get(2));
        assertThatThrownBy(() -> lethe.append(
                        ByteExactSealingTest.STREAM,
                        ExpectedVersion.any(),
                        List.of(EventData.of("Tagged", "{\"customer\":\"KEY\\udbff\",\"name\":\"Ada\"}"))))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("half a UTF-16 surrogate pair");
        assertThat(lethe.keys().lookup("KEY?")).isEmpty();
    }

    /** The Protobuf type CustomerCreated, registered in {@code store} with its field paths. */
    private static void registerCustomerCreated(PrivateEventStore store) {
        store.schemas()
                .register(
                        new PrivacySchema(
                                "CustomerCreated",
                                List.of(
                                        FieldRule.subjectKey("customer_id", false, null),
                                        FieldRule.personal("email_address", "contact"),
                                        FieldRule.personal("shipping.street_line", "contact"))),
                        SchemaRegistry.Notation.PROTOBUF,
                        List.of("customer_id", "email_address", "amount", "shipping.street_line", "shipping.city"),
                        Json.parse("{\"message\":\"shop.CustomerCreated\",\"jsonNames\":{}}"));
    }

    /** Appends each event to {@code store}, expects each refused with {@code message}, and nothing stored. */
    private static void assertRefused(PrivateEventStore store, String message, String... events) {
        long head = store.store().headPosition();
        for (String json : events) {
            assertThatThrownBy(() -> store.append(
                            ByteExactSealingTest.STREAM,
                            ExpectedVersion.any(),
                            List.of(EventData.of("CustomerCreated", json))))
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining(message)
                    .hasMessageContaining("preservingProtoFieldNames");
        }
        assertThat(store.store().headPosition()).isEqualTo(head);
    }

    /** The stored data of the event {@code json}, appended to {@code store}. */
    private static String storedData(PrivateEventStore store, String json) {
        long position = store.append(
                        ByteExactSealingTest.STREAM,
                        ExpectedVersion.any(),
                        List.of(EventData.of("CustomerCreated", json)))
                .lastPosition();
        return store.store().readAll(position, 1).get(0).data().toString();
    }

    @Test
    void strict_mode_refuses_protobuf_events_printed_with_json_names_which_would_escape_sealing() {
        registerCustomerCreated(lethe);
        assertRefused(
                lethe,
                "",
                "{\"customerId\":\"C1\",\"emailAddress\":\"ada@example.com\"}",
                "{\"customer_id\":\"C1\",\"shipping\":{\"streetLine\":\"1 Rua Augusta\"}}",
                // Unclassified, but strict mode refuses every undeclared name.
                "{\"customer_id\":\"C1\",\"orderTotal\":3}");

        String stored = storedData(
                lethe,
                "{\"customer_id\":\"C1\",\"email_address\":\"ada@example.com\",\"amount\":3,"
                        + "\"shipping\":{\"street_line\":\"1 Rua Augusta\",\"city\":\"Lisbon\"}}");
        assertThat(stored).doesNotContain("ada@example.com", "Rua Augusta").contains("Lisbon");
    }

    @Test
    void without_strict_mode_a_protobuf_event_naming_a_classified_field_by_its_json_name_is_refused() {
        try (PrivateEventStore lenient = ByteExactSealingTest.openStore(
                keysDirectory, PrivateEventStoreTest.POLICY.replace("strict: true", "strict: false"))) {
            assertThat(lenient.keys().policy().strict()).isFalse();
            registerCustomerCreated(lenient);
            assertRefused(
                    lenient,
                    "is the JSON name of the classified Protobuf field",
                    "{\"customer_id\":\"C1\",\"emailAddress\":\"ada@example.com\"}",
                    "{\"customerId\":\"C1\",\"email_address\":\"ada@example.com\"}",
                    "{\"customer_id\":\"C1\",\"shipping\":{\"streetLine\":\"1 Rua Augusta\"}}");
            // A JSON name inside a dotted member name: only the JSON-name check sees it.
            assertRefused(
                    lenient,
                    "by a JSON name, in a dotted member name",
                    "{\"customer_id\":\"C1\",\"shipping.streetLine\":\"1 Rua Augusta\"}");

            // Unclassified fields under JSON names are not personal: without strict mode they pass.
            assertThat(storedData(
                            lenient, "{\"customer_id\":\"C1\",\"email_address\":\"ada@example.com\",\"orderTotal\":3}"))
                    .doesNotContain("ada@example.com")
                    .contains("\"orderTotal\":3");
        }
    }

    @Test
    void json_name_spellings_follow_protoc_and_leave_the_proto_name_out() {
        assertThat(SchemaRegistry.jsonName("email_address")).isEqualTo("emailAddress");
        assertThat(SchemaRegistry.jsonName("line_1")).isEqualTo("line1");
        assertThat(SchemaRegistry.jsonNamePaths("email")).isEmpty();
        assertThat(SchemaRegistry.jsonNamePaths("home_address.street_line"))
                .containsExactlyInAnyOrder(
                        "home_address.streetLine", "homeAddress.street_line", "homeAddress.streetLine");
        // A custom json_name is a third spelling of its segment; the default stays refused beside it.
        assertThat(SchemaRegistry.jsonNamePaths("home_address.street_line", Map.of("home_address.street_line", "st")))
                .containsExactlyInAnyOrder(
                        "home_address.streetLine",
                        "home_address.st",
                        "homeAddress.street_line",
                        "homeAddress.streetLine",
                        "homeAddress.st");
    }

    @Test
    void a_replay_names_a_missing_principal_or_reader_and_a_negative_position() {
        assertThatThrownBy(() -> lethe.readAllRevealed(0, null, e -> {}))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("principal");
        assertThatThrownBy(() -> lethe.readAllRevealed(0, DPO, null))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("reader");
        assertThatThrownBy(() -> lethe.readAllRevealed(-1, DPO, e -> {}))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("negative");
    }
}
