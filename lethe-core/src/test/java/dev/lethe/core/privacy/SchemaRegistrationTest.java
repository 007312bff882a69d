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
import dev.lethe.core.store.Direction;
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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SchemaRegistrationTest {
    static final String SCHEMA = """
            {"type":"object","properties":{
               "email":{"type":"string","x-gdpr":{"pii":true,"key":true,"dataGroup":"contact"}},
               "product":{"type":"string"}}}
            """;

    @TempDir
    Path keysDirectory;

    PrivateEventStore lethe;
    private final Clock clock = Clock.fixed(Instant.parse("2026-11-26T10:00:00Z"), ZoneOffset.UTC);
    private final InMemoryEventStore base = new InMemoryEventStore(clock);
    private KeyService keys;

    @BeforeEach
    void open() {
        keys = new KeyService(
                new InMemoryKeyStore(),
                LocalMasterKey.openOrCreate(keysDirectory),
                DataPolicy.parse(PrivateEventStoreTest.POLICY),
                clock);
        lethe = new PrivateEventStore(base, keys, clock);
    }

    @AfterEach
    void close() {
        lethe.close();
    }

    private SchemaRegistry.Registered register(Principal actor, String schemaJson) {
        return register(lethe, actor, schemaJson);
    }

    private static SchemaRegistry.Registered register(PrivateEventStore store, Principal actor, String schemaJson) {
        JsonNode schema = Json.parse(schemaJson).asTree();
        return store.registerSchema(
                actor,
                JsonSchemaNotation.read("ProductSold", schema),
                SchemaRegistry.Notation.JSON_SCHEMA,
                SchemaRegistry.propertyPaths(schema),
                Json.of(schema));
    }

    @Test
    void a_pattern_property_match_that_reads_too_much_of_a_name_refuses_the_append_without_the_name() {
        register(PrivateEventStoreTest.DPO, """
                {"type":"object","additionalProperties":false,"patternProperties":{"[a-z]+_[0-9]+":{}},"properties":{
                   "email":{"type":"string","x-gdpr":{"pii":true,"key":true,"dataGroup":"contact"}}}}
                """);
        StreamId stream = StreamId.of("sales");
        lethe.append(
                stream,
                ExpectedVersion.any(),
                List.of(EventData.of("ProductSold", "{\"email\":\"a@example.com\",\"note_1\":1}")));
        // Unanchored, the pattern is tried from every position of a name that never matches: quadratic.
        String name = "a".repeat(80_000);
        assertThatThrownBy(() -> lethe.append(
                        stream,
                        ExpectedVersion.any(),
                        List.of(EventData.of("ProductSold", "{\"email\":\"a@example.com\",\"" + name + "\":1}"))))
                .isInstanceOf(dev.lethe.core.store.InvalidEventException.class)
                .hasMessageContaining("has a property (its name not shown, 80000 characters)")
                .hasMessageContaining("patternProperties went past the 50000000 characters a batch's matches may read")
                .hasMessageNotContaining("aaaa");
        assertThat(lethe.store().streamInfo(stream).eventCount()).isEqualTo(1);
        // Each name within the budget, the batch past it: 100 names that each read ~1 million characters.
        StringBuilder many = new StringBuilder("{\"email\":\"a@example.com\"");
        for (int i = 0; i < 100; i++) {
            many.append(",\"")
                    .append((char) ('a' + i % 26))
                    .append(i)
                    .append("a".repeat(1_400))
                    .append("!b_1\":1");
        }
        assertThatThrownBy(() ->
                        lethe.append(stream, ExpectedVersion.any(), List.of(EventData.of("ProductSold", many + "}"))))
                .hasMessageContaining("went past the 50000000 characters a batch's matches may read");
        assertThat(lethe.store().streamInfo(stream).eventCount()).isEqualTo(1);
    }

    @Test
    void a_type_whose_classified_paths_have_too_many_spellings_to_check_is_refused_at_registration() {
        // 700 personal fields 16 deep under names of many spellings: every spelling the first append would check
        // comes to over 4 million path segments (counted without listing them), so the registration is refused.
        List<String> deep = new java.util.ArrayList<>();
        for (int p = 0; p < 700; p++) {
            deep.add("homeLevel.".repeat(15) + "emailAddress" + p);
        }
        assertThat(SchemaRegistry.spellingSegments(deep, false)).isGreaterThan(SchemaRegistry.MAX_SPELLING_SEGMENTS);
        assertThat(SchemaRegistry.spellingSegments(deep.subList(0, 100), false))
                .isLessThan(SchemaRegistry.MAX_SPELLING_SEGMENTS);
        List<FieldRule> rules = new java.util.ArrayList<>(List.of(FieldRule.subjectKey("email", true, "contact")));
        deep.forEach(path -> rules.add(FieldRule.personal(path, "contact")));
        PrivacySchema tooMany = new PrivacySchema("ProductSold", rules);
        assertThatThrownBy(() -> lethe.registerSchema(
                        PrivateEventStoreTest.DPO,
                        tooMany,
                        SchemaRegistry.Notation.ANNOTATIONS,
                        deep,
                        Json.parse("{}")))
                .isInstanceOf(dev.lethe.core.store.InvalidEventException.class)
                .hasMessageContaining("schema ProductSold: classifies 701 paths, too many or too deep to check every"
                        + " other spelling of them");
        assertThat(lethe.schemas().all()).as("nothing registered").isEmpty();

        // Counted by each name's distinct spellings: 3,000 personal fields two levels deep are taken (a worst case
        // of 15 spellings a segment refused 2,600 of them).
        StringBuilder sections = new StringBuilder();
        for (int p = 0; p < 150; p++) {
            sections.append(",\"party").append(p).append("\":{\"type\":\"object\",\"properties\":{");
            for (int f = 0; f < 20; f++) {
                sections.append(f == 0 ? "" : ",")
                        .append("\"firstName")
                        .append(f)
                        .append("\":{\"type\":\"string\",\"x-gdpr\":{\"pii\":true,\"dataGroup\":\"contact\"}}");
            }
            sections.append("}}");
        }
        register(
                PrivateEventStoreTest.DPO,
                "{\"type\":\"object\",\"properties\":{\"email\":{\"type\":\"string\",\"x-gdpr\":"
                        + "{\"pii\":true,\"key\":true,\"dataGroup\":\"contact\"}}" + sections + "}}");
        assertThat(lethe.schemas().all()).hasSize(1);
    }

    @Test
    void a_misspelt_data_group_is_refused_when_registered_and_a_group_without_pii_is_a_finding() {
        assertThatThrownBy(() -> register(PrivateEventStoreTest.DPO, SCHEMA.replace("\"contact\"", "\"contcat\"")))
                .isInstanceOf(dev.lethe.core.store.InvalidEventException.class)
                .hasMessageContaining(
                        "ProductSold.email: data group 'contcat' is not declared in the data policy;" + " declared: [");
        assertThat(lethe.schemas().all()).as("nothing registered").isEmpty();

        // A group without pii would read as "personal" but be stored in plaintext: pii must be said.
        for (String marking : new String[] {"{\"dataGroup\":\"contact\"}", "{}"}) {
            assertThatThrownBy(() -> register(
                            PrivateEventStoreTest.DPO,
                            SCHEMA.replace(
                                    "\"product\":{\"type\":\"string\"}", "\"email2\":{\"x-gdpr\":" + marking + "}")))
                    .as(marking)
                    .hasMessageContaining("'x-gdpr' of email2 ")
                    .hasMessageContaining("say \"pii\": true to encrypt it as personal data, or \"pii\": false");
        }
        register(
                PrivateEventStoreTest.DPO,
                SCHEMA.replace(
                        "\"product\":{\"type\":\"string\"}",
                        "\"email2\":{\"x-gdpr\":{\"pii\":false,\"dataGroup\":\"contact\"}}"));
        assertThat(lethe.schemas().all()).hasSize(1);
    }

    @Test
    void a_key_that_cannot_print_as_a_string_or_number_is_refused_when_registered() {
        for (String type : new String[] {"object", "array", "boolean"}) {
            assertThatThrownBy(() -> register(
                            PrivateEventStoreTest.DPO,
                            SCHEMA.replace("\"email\":{\"type\":\"string\"", "\"email\":{\"type\":\"" + type + "\"")))
                    .as(type)
                    .hasMessageContaining("email is a key but of type " + type);
        }
        assertThatThrownBy(() -> register(
                        PrivateEventStoreTest.DPO,
                        SCHEMA.replace("\"product\":", "\"e-mail\":{\"x-gdpr\":{\"pii\":true}},\"product\":")))
                .hasMessageContaining("'e-mail' cannot be classified")
                .hasMessageContaining("rename the property");
        assertThatThrownBy(() -> register(
                        PrivateEventStoreTest.DPO,
                        SCHEMA.replace("\"product\":{\"type\":\"string\"}", "\"phone\":{\"x-GDPR\":{\"pii\":true}}")))
                .hasMessageContaining("'x-GDPR' of phone is spelt 'x-gdpr' here");
        // The envelope's associated data carries a path's length in two bytes: 70,001 would wrap.
        String nested = "\"" + "a".repeat(35_000) + "\":{\"type\":\"object\",\"properties\":{\"" + "b".repeat(35_000)
                + "\":{\"x-gdpr\":{\"pii\":true}}}},";
        assertThatThrownBy(() ->
                        register(PrivateEventStoreTest.DPO, SCHEMA.replace("\"product\":", nested + "\"product\":")))
                .hasMessageContaining("a classified field's path is at most 1000 characters; this one has 70001");
        assertThat(lethe.schemas().all()).isEmpty();
    }

    @Test
    void a_registration_too_large_to_store_is_refused_as_such_not_as_an_event_the_caller_never_sent() {
        String large = SCHEMA.replace(
                "\"product\":{\"type\":\"string\"}",
                "\"product\":{\"type\":\"string\",\"description\":\"" + "d".repeat(1_100_000) + "\"}");
        assertThatThrownBy(() -> register(PrivateEventStoreTest.DPO, large))
                .isInstanceOf(dev.lethe.core.store.InvalidEventException.class)
                .hasMessageStartingWith("schema ProductSold: its registration would be ")
                .hasMessageContaining("more than the 1048576 bytes (1 MiB) a registration is stored in");
        assertThat(lethe.schemas().all()).isEmpty();
    }

    @Test
    void a_key_field_declared_as_owned_by_another_key_is_refused_rather_than_ignored() {
        String twoKeys = """
                {"type":"object","properties":{
                   "email":{"type":"string","x-gdpr":{"pii":true,"key":true,"dataGroup":"contact"}},
                   "partner":{"type":"string",
                     "x-gdpr":{"pii":true,"key":true,"dataGroup":"contact","subject":"email"}},
                   "product":{"type":"string"}}}
                """;
        assertThatThrownBy(() -> register(PrivateEventStoreTest.DPO, twoKeys))
                .isInstanceOf(dev.lethe.core.store.InvalidEventException.class)
                .hasMessageContaining("field partner is a key field, so it names its own data subject")
                .hasMessageContaining("cannot be owned by email");
        assertThat(lethe.schemas().all()).isEmpty();
    }

    @Test
    void a_blank_data_subject_key_is_refused() {
        register(PrivateEventStoreTest.DPO, SCHEMA);
        assertThatThrownBy(() -> lethe.append(
                        dev.lethe.core.store.StreamId.of("sale-1"),
                        dev.lethe.core.store.ExpectedVersion.any(),
                        List.of(dev.lethe.core.store.EventData.of(
                                "ProductSold", "{\"email\":\"   \",\"product\":\"x\"}"))))
                .isInstanceOf(dev.lethe.core.store.InvalidEventException.class)
                .hasMessageContaining("is blank");
        for (String invisible : new String[] {
            "\\u00a0",
            "\\u200b",
            "\\u2003\\u200b",
            // Characters that show nothing though Unicode counts them as letters, marks or symbols.
            "\\u3164",
            "\\u2800",
            "\\ufe0f",
            "\\u034f",
            "\\u115f\\u1160",
            "\\u17b4",
            "\\udb40\\udd00",
            // Unassigned and noncharacters: they show nothing either (or a box, by font).
            "\\u2065",
            "\\uffff",
            "\\ufffe"
        }) {
            assertThatThrownBy(() -> lethe.append(
                            dev.lethe.core.store.StreamId.of("sale-1"),
                            dev.lethe.core.store.ExpectedVersion.any(),
                            List.of(dev.lethe.core.store.EventData.of(
                                    "ProductSold", "{\"email\":\"" + invisible + "\",\"product\":\"x\"}"))))
                    .as(invisible)
                    .hasMessageContaining("is blank");
        }
        // Refused with the batch's other checks, naming the field: an earlier event's new natural key gets no
        // subject (it did, before the batch was refused, when only sealing found the blank key).
        assertThatThrownBy(() -> lethe.append(
                        dev.lethe.core.store.StreamId.of("sale-2"),
                        dev.lethe.core.store.ExpectedVersion.any(),
                        List.of(
                                dev.lethe.core.store.EventData.of(
                                        "ProductSold", "{\"email\":\"left-behind@example.com\",\"product\":\"x\"}"),
                                dev.lethe.core.store.EventData.of(
                                        "ProductSold", "{\"email\":\"\",\"product\":\"x\"}"))))
                .isInstanceOf(dev.lethe.core.store.InvalidEventException.class)
                .hasMessage("events[1] ProductSold.email: the data subject key is empty");
        assertThat(lethe.keys().lookup("left-behind@example.com")).isEmpty();
        assertThat(lethe.store()
                        .streamInfo(dev.lethe.core.store.StreamId.of("sale-2"))
                        .exists())
                .isFalse();
    }

    @Test
    void a_schema_with_decimals_registered_again_is_the_same_version() throws Exception {
        // Read by an application's own ObjectMapper (doubles: written back as 1.0E-4 and 1.0E20).
        JsonNode schema = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(
                        SCHEMA.replace(
                                "\"product\":{\"type\":\"string\"}",
                                "\"product\":{\"type\":\"string\"},\"amount\":{\"type\":\"number\",\"minimum\":0.0001,\"maximum\":1e20}"));
        assertThat(schema.toString()).contains("1.0E-4");
        java.util.function.Supplier<SchemaRegistry.Registered> registerIt = () -> lethe.registerSchema(
                PrivateEventStoreTest.DPO,
                JsonSchemaNotation.read("ProductSold", schema),
                SchemaRegistry.Notation.JSON_SCHEMA,
                SchemaRegistry.propertyPaths(schema),
                Json.of(schema));
        assertThat(registerIt.get().version()).isEqualTo(1);
        assertThat(registerIt.get().version()).isEqualTo(1);
        assertThat(audit()).hasSize(1);
    }

    private List<RecordedEvent> audit() {
        return lethe.store().readStream(AuditLog.STREAM, 0, Direction.FORWARD, 100);
    }

    @Test
    void a_role_without_change_policy_is_refused_naming_the_permission_and_nothing_is_registered() {
        assertThatThrownBy(() -> register(PrivateEventStoreTest.ADVISOR, SCHEMA))
                .isInstanceOf(AccessDeniedException.class)
                .hasMessageContainingAll("ann", "role advisor", "change-policy");

        assertThat(lethe.schemas().latest("ProductSold")).isEmpty();
        assertThat(lethe.store().streamInfo(SchemaRegistry.STREAM).exists()).isFalse();
        assertThat(audit()).isEmpty();
    }

    @Test
    void a_new_version_is_registered_and_audited_with_no_personal_data_and_an_equal_one_is_neither() {
        SchemaRegistry.Registered first = register(PrivateEventStoreTest.DPO, SCHEMA);
        SchemaRegistry.Registered again = register(PrivateEventStoreTest.DPO, SCHEMA);
        SchemaRegistry.Registered second =
                register(PrivateEventStoreTest.DPO, SCHEMA.replace("\"product\"", "\"productName\""));

        assertThat(first.version()).isEqualTo(1);
        assertThat(again.version()).isEqualTo(1);
        assertThat(second.version()).isEqualTo(2);
        assertThat(audit()).extracting(RecordedEvent::type).containsExactly("SchemaRegistered", "SchemaRegistered");
        JsonNode entry = audit().get(0).data().asTree();
        assertThat(entry.get("principal").asText()).isEqualTo("dora");
        assertThat(entry.get("role").asText()).isEqualTo("dpo");
        assertThat(entry.get("eventType").asText()).isEqualTo("ProductSold");
        assertThat(entry.get("version").asInt()).isEqualTo(1);
        assertThat(entry.get("notation").asText()).isEqualTo("JSON_SCHEMA");
        assertThat(audit().get(1).data().asTree().get("version").asInt()).isEqualTo(2);
        // The version's own event names its actor too: a stop between it and the audit entry loses no one.
        assertThat(lethe.store()
                        .readStream(SchemaRegistry.STREAM, 0, Direction.FORWARD, 10)
                        .get(0)
                        .data()
                        .asTree()
                        .get("registeredBy")
                        .toString())
                .isEqualTo("{\"principal\":\"dora\",\"role\":\"dpo\"}");
    }

    @Test
    void a_stored_version_this_release_cannot_read_refuses_its_type_until_registered_again() {
        PrivateEventStoreTest.liftRawGuard(lethe); // forges what only a tamperer or an older release wrote
        register(PrivateEventStoreTest.DPO, SCHEMA);
        // Version 2 as a newer release would write it, in a notation this one does not know.
        ObjectNode newer = (ObjectNode) lethe.store()
                .readStream(SchemaRegistry.STREAM, 0, Direction.FORWARD, 1)
                .get(0)
                .data()
                .asTree()
                .deepCopy();
        newer.put("version", 2).put("notation", "AVRO");
        base.append(
                SchemaRegistry.STREAM,
                ExpectedVersion.any(),
                List.of(EventData.of("SchemaRegistered", Json.of(newer))));

        // The store still opens; the type does not fall back to version 1, in either log.
        PrivateEventStore reopened = new PrivateEventStore(base, keys, clock);
        EventData sale = EventData.of("ProductSold", Json.parse("{\"email\":\"ann@example.org\",\"product\":\"p\"}"));
        assertThatThrownBy(() -> reopened.append(StreamId.of("sale-1"), ExpectedVersion.any(), List.of(sale)))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining(
                        "type 'ProductSold' has a schema version 2, stored at $schemas@1, that this release"
                                + " cannot read")
                .hasMessageContaining("AVRO")
                .hasMessageContaining("Register the type's schema again");
        // The raw log's guard (installed by SqliteLethe on its store) refuses it too.
        assertThatThrownBy(() -> reopened.refuseUnsealed(StreamId.of("sale-1"), List.of(sale)))
                .hasMessageContaining("events[0]: type 'ProductSold' has a schema version 2");
        assertThat(reopened.store().readStream(StreamId.of("sale-1"), 0, Direction.FORWARD, 10))
                .isEmpty();

        // Registered again, as version 3 (even with version 1's rules), the type is appended and sealed.
        SchemaRegistry.Registered again = register(reopened, PrivateEventStoreTest.DPO, SCHEMA);
        assertThat(again.version()).isEqualTo(3);
        reopened.append(StreamId.of("sale-1"), ExpectedVersion.any(), List.of(sale));
        assertThat(reopened.store()
                        .readStream(StreamId.of("sale-1"), 0, Direction.FORWARD, 10)
                        .get(0)
                        .data()
                        .toString())
                .doesNotContain("ann@example.org")
                .contains("lethe:v1:");
    }

    @Test
    void a_damaged_newest_version_whatever_number_it_says_refuses_its_type_until_registered_again() {
        PrivateEventStoreTest.liftRawGuard(lethe); // forges what only a tamperer or an older release wrote
        register(PrivateEventStoreTest.DPO, SCHEMA);
        ObjectNode first = (ObjectNode) lethe.store()
                .readStream(SchemaRegistry.STREAM, 0, Direction.FORWARD, 1)
                .get(0)
                .data()
                .asTree();
        // One says no number and has no fields list Lethe can read; the other says the largest int.
        ObjectNode noNumber = first.deepCopy();
        noNumber.remove("version");
        noNumber.put("fields", "damaged");
        ObjectNode huge = first.deepCopy();
        huge.put("version", Integer.MAX_VALUE).put("notation", "AVRO");
        EventData sale = EventData.of("ProductSold", Json.parse("{\"email\":\"bo@example.org\",\"product\":\"p\"}"));
        for (ObjectNode damaged : List.of(noNumber, huge)) {
            base.guardAppends((stream, events) -> {}); // each privacy layer opened on it guards it again
            base.append(
                    SchemaRegistry.STREAM,
                    ExpectedVersion.any(),
                    List.of(EventData.of("SchemaRegistered", Json.of(damaged))));
            PrivateEventStore reopened = new PrivateEventStore(base, keys, clock);
            assertThatThrownBy(() -> reopened.append(StreamId.of("sale-2"), ExpectedVersion.any(), List.of(sale)))
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining("that this release cannot read");
            SchemaRegistry.Registered again = register(reopened, PrivateEventStoreTest.DPO, SCHEMA);
            assertThat(again.version()).isPositive();
            reopened.append(StreamId.of("sale-2"), ExpectedVersion.any(), List.of(sale));
            // And once more after a reopen: the registration after the damaged entry is the one in force.
            new PrivateEventStore(base, keys, clock)
                    .append(StreamId.of("sale-2"), ExpectedVersion.any(), List.of(sale));
        }
    }
}
