package dev.lethe.core.privacy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lethe.core.privacy.schema.AnnotationNotation;
import dev.lethe.core.privacy.schema.DataSubject;
import dev.lethe.core.privacy.schema.JsonSchemaNotation;
import dev.lethe.core.privacy.schema.PersonalData;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.EventStore;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.Json;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ways a value marked personal could be stored unencrypted because no path of the privacy model named
 * it: each is refused, at registration or at append, with an error that says why and does not repeat
 * the value. A rejected batch leaves nothing in the key store.
 */
class UnsealedPathsTest {
    @TempDir
    Path keysDirectory;

    private PrivateEventStore lethe;

    @BeforeEach
    void open() {
        lethe = ByteExactSealingTest.openStore(keysDirectory);
    }

    @AfterEach
    void close() {
        lethe.close();
    }

    private static JsonNode schema(String properties) {
        return Json.parse("{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\",\"x-gdpr\":{\"key\":true}},"
                        + properties + "}}")
                .asTree();
    }

    @Test
    void the_spellings_of_a_deep_path_grow_with_its_depth_not_exponentially() {
        assertThat(SchemaRegistry.spellingPaths("homeAddress.streetLine"))
                .as("a short path: every mix of conventions")
                .contains("HomeAddress.street_line", "home_address.STREET_LINE", "homeaddress.street-line");
        List<String> deep = SchemaRegistry.spellingPaths(
                "home_address.street_line.house_number.flat_letter.floor_code" + ".entry_code.door_code.bell_name");
        assertThat(deep.size()).isLessThanOrEqualTo(15 + 8 * 15);
        assertThat(deep)
                .contains(
                        "homeAddress.streetLine.houseNumber.flatLetter.floorCode.entryCode.doorCode.bellName",
                        "HOME_ADDRESS.STREET_LINE.HOUSE_NUMBER.FLAT_LETTER.FLOOR_CODE.ENTRY_CODE.DOOR_CODE.BELL_NAME",
                        "home_address.street_line.house_number.flat_letter.floor_code.entry_code.door_code.BellName")
                .doesNotContain("home_address.street_line.house_number.flat_letter.floor_code.entry_code.door_code"
                        + ".bell_name");
    }

    @Test
    void past_sixteen_segments_a_path_is_spelt_in_each_convention_throughout_not_one_segment_at_a_time() {
        // Each spelling keeps its prefixes in the scanner: renaming each segment in turn cost the cube of the depth.
        String twelve = String.join(".", java.util.Collections.nCopies(11, "home_level")) + ".email_address";
        assertThat(SchemaRegistry.spellingPaths(twelve))
                .as("twelve deep: one segment renamed is still checked (a snake_case leaf under camelCase parents)")
                .contains(twelve.replace("email_address", "emailAddress"));
        String seventeen = String.join(".", java.util.Collections.nCopies(16, "home_level")) + ".x_y";
        List<String> deep = SchemaRegistry.spellingPaths(seventeen);
        assertThat(deep.size()).isLessThanOrEqualTo(15);
        assertThat(deep)
                .contains(seventeen.replace("home_level", "homeLevel").replace("x_y", "xY"))
                .doesNotContain(seventeen.replace("x_y", "xY"));
        String deepest = String.join(".", java.util.Collections.nCopies(490, "a"));
        assertThat(SchemaRegistry.spellingPaths(deepest)).containsExactly(deepest.toUpperCase(java.util.Locale.ROOT));
    }

    @Test
    void protobuf_json_names_are_mixed_for_short_paths_and_written_one_way_throughout_for_deep_ones() {
        assertThat(SchemaRegistry.jsonNamePaths("home_address.street_line"))
                .containsExactlyInAnyOrder(
                        "homeAddress.streetLine", "home_address.streetLine", "homeAddress.street_line");
        // 2 to the power of 21 mixes ran a server out of memory at the type's first append.
        String chain = String.join(".", java.util.Collections.nCopies(21, "a_b"));
        assertThat(SchemaRegistry.jsonNamePaths(chain)).containsExactly(chain.replace("a_b", "aB"));
        String nine = String.join(".", java.util.Collections.nCopies(9, "a_b"));
        assertThat(SchemaRegistry.jsonNamePaths(nine))
                .as("512 mixes: one way throughout, and each segment named the other way alone")
                .hasSize(1 + 9)
                .contains("aB." + nine.substring(4));
        String seventeen = String.join(".", java.util.Collections.nCopies(17, "a_b"));
        assertThat(SchemaRegistry.jsonNamePaths(seventeen)).hasSize(1);
        String eight = String.join(".", java.util.Collections.nCopies(8, "a_b"));
        assertThat(SchemaRegistry.jsonNamePaths(eight)).hasSize(255).contains("aB." + eight.substring(4));
    }

    @Test
    void a_schema_whose_property_paths_are_too_long_in_all_is_refused_before_they_are_built() throws Exception {
        StringBuilder schema = new StringBuilder();
        String name = "n".repeat(2_000);
        int depth = 450;
        for (int i = 0; i < depth; i++) {
            schema.append("{\"type\":\"object\",\"properties\":{\"")
                    .append(name)
                    .append("\":");
        }
        schema.append("{}").append("}}".repeat(depth));
        JsonNode deep = dev.lethe.core.store.Json.exactMapper().readTree(schema.toString());
        assertThatThrownBy(() -> SchemaRegistry.propertyPaths(deep))
                .isInstanceOf(dev.lethe.core.store.InvalidEventException.class)
                .hasMessageContaining("its property paths come to more than 1000000 characters");
        // Read first by a registration: refused before its walks build the pointers of every part.
        assertThatThrownBy(() -> JsonSchemaNotation.read("Deep", deep))
                .isInstanceOf(dev.lethe.core.store.InvalidEventException.class)
                .hasMessageContaining("schema Deep: nests too deep with names too long")
                .hasMessageContaining("more than 4000000 characters");
    }

    @Test
    void an_encrypted_media_type_that_also_says_pii_false_is_refused() {
        JsonNode contradictory = Json.parse("{\"type\":\"object\",\"properties\":{\"email\":{\"type\":\"string\","
                        + "\"contentMediaType\":\"aes256gcm\",\"x-gdpr\":{\"pii\":false}}}}")
                .asTree();
        assertThatThrownBy(() -> JsonSchemaNotation.read("Registered", contradictory))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining(
                        "email says \"contentMediaType\": \"aes256gcm\" (personal, encrypted) and" + " \"pii\": false");
    }

    @Test
    void a_json_schema_marking_no_path_can_name_is_refused_at_registration() {
        Map<String, String> unreadable = Map.of(
                "a property named like a data keyword",
                "\"enum\":{\"additionalProperties\":{\"x-gdpr\":{\"pii\":true}}}",
                "$ref to a marked property",
                "\"email\":{\"type\":\"string\",\"x-gdpr\":{\"pii\":true}},"
                        + "\"backupEmail\":{\"$ref\":\"#/properties/email\"}",
                "array items",
                "\"phones\":{\"type\":\"array\",\"items\":{\"type\":\"string\",\"x-gdpr\":{\"pii\":true}}}",
                "$ref",
                "\"spouse\":{\"$ref\":\"#/$defs/person\"}},\"$defs\":{\"person\":{\"type\":\"object\","
                        + "\"properties\":{\"fullName\":{\"type\":\"string\",\"x-gdpr\":{\"pii\":true}}}}",
                "allOf",
                "\"alias\":{\"allOf\":[{\"x-gdpr\":{\"pii\":true}}]}",
                "additionalProperties",
                "\"tags\":{\"type\":\"object\",\"additionalProperties\":" + "{\"contentMediaType\":\"aes256gcm\"}}");
        unreadable.forEach(
                (where, properties) -> assertThatThrownBy(() -> JsonSchemaNotation.read("Person", schema(properties)))
                        .as(where)
                        .isInstanceOf(InvalidEventException.class)
                        .hasMessageContaining("stored unencrypted"));
    }

    @Test
    void references_that_lead_or_may_lead_to_a_marking_are_refused_at_registration() {
        String email = "\"email\":{\"type\":\"string\",\"x-gdpr\":{\"pii\":true}},";
        List<String> schemas = List.of(
                // percent-encoded pointer
                "{\"properties\":{" + email + "\"other\":{\"$ref\":\"#/properties/e%6Dail\"}}}",
                // absolute reference to the schema's own $id
                "{\"$id\":\"https://ex.com/ev\",\"properties\":{" + email
                        + "\"other\":{\"$ref\":\"https://ex.com/ev#/properties/email\"}}}",
                "{\"properties\":{" + email + "\"other\":{\"$dynamicRef\":\"#/properties/email\"}}}",
                // a chain through a value sealed whole
                "{\"properties\":{\"email\":{\"type\":\"string\",\"x-gdpr\":{\"pii\":true},"
                        + "\"$defs\":{\"hop\":{\"$ref\":\"#/properties/email\"}}},"
                        + "\"other\":{\"$ref\":\"#/properties/email/$defs/hop\"}}}",
                // an $anchor, which Lethe does not follow
                "{\"properties\":{" + email + "\"other\":{\"$ref\":\"#em\"}}}",
                // another document
                "{\"properties\":{" + email + "\"other\":{\"$ref\":\"other.json#/x\"}}}",
                // a draft-07 'dependencies' branch named like a data keyword
                "{\"properties\":{\"id\":{\"x-gdpr\":{\"key\":true}},\"default\":{\"type\":\"boolean\"}},"
                        + "\"dependencies\":{\"default\":{\"properties\":{\"phone\":{\"x-gdpr\":{\"pii\":true}}}}}}");
        for (String schema : schemas) {
            assertThatThrownBy(() ->
                            JsonSchemaNotation.read("Person", Json.parse(schema).asTree()))
                    .as(schema)
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining("schema Person");
        }
        // A recursive reference in a schema without markings is harmless, and must not loop.
        assertThat(JsonSchemaNotation.read(
                                "Tree",
                                Json.parse("{\"properties\":{\"child\":{\"$ref\":\"#\"}}}")
                                        .asTree())
                        .fields())
                .isEmpty();
    }

    record Node(@DataSubject String id, Node parent) {}

    record Plain2(String street, Plain2 next) {}

    record Bounded<T extends Address>(@DataSubject String id, List<T> previous) {}

    record LowerBound(@DataSubject String id, List<? super Address> previous) {}

    @Test
    void records_that_contain_themselves_or_bound_marked_records_are_handled() {
        assertThatThrownBy(() -> AnnotationNotation.read("Node", Node.class))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("component parent is a Node inside a Node");
        assertThat(AnnotationNotation.read("Plain2", Plain2.class).fields()).isEmpty();
        assertThat(AnnotationNotation.allPaths(Plain2.class)).containsExactly("street", "next");
        for (Class<? extends Record> type : List.of(Bounded.class, LowerBound.class)) {
            assertThatThrownBy(() -> AnnotationNotation.read("T", type))
                    .as(type.getSimpleName())
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining("holds Address records");
        }
    }

    /** A class of the application's, not a record: Jackson writes its fields, which no path names. */
    public static class Household {
        public Address home;
        public String note;
    }

    public static class Family extends Household {
        public int size;
    }

    public static class Money {
        public java.math.BigDecimal amount;
        public String currency;
    }

    /** Collections of the application's: Jackson writes them as arrays of their values. */
    public static class Addresses extends java.util.ArrayList<Address> {}

    public interface AddressList extends List<Address> {}

    public static class Holder<T> {
        public T value;
    }

    public static class AddressHolder extends Holder<Address> {}

    public static class SortedList<T extends Comparable<T>> extends java.util.ArrayList<T> {}

    public static class SelfBase<E extends SelfBase<E>> {
        public E next;
    }

    record CBox<T extends Comparable<T>>(T v) {}

    public static class Deep<T> {
        public T t;
    }

    public static class Deeper<U> extends Deep<List<U>> {}

    public static class Deepest extends Deeper<Address> {}

    public static class Wrap3<U> {
        public Holder<Holder<U>> h;
    }

    public sealed interface Result<T> permits Found, Missing {}

    public record Found<T>(T value) implements Result<T> {}

    public record Missing<T>(Address where) implements Result<T> {}

    public static class Outer<T> {
        public class Inner {
            public T value;
        }

        public Inner inner;
    }

    record ThroughBindings(@DataSubject String customerId, Deepest deep) {}

    record ThroughNesting(@DataSubject String customerId, Wrap3<Address> wrapped) {}

    record ThroughSealed(@DataSubject String customerId, Result<String> result) {}

    record ThroughInner(@DataSubject String customerId, Outer<Address> outer) {}

    record Referenced(@DataSubject String customerId, SortedList<String> tags, SelfBase<?> chain, CBox<String> box) {}

    record MovedAddresses(@DataSubject String customerId, Addresses addresses) {}

    record MovedAddressList(@DataSubject String customerId, AddressList addresses) {}

    record MovedHeld(@DataSubject String customerId, AddressHolder held) {}

    record MovedHousehold(@DataSubject String customerId, Household household) {}

    record MovedFamily(@DataSubject String customerId, List<Family> families) {}

    record Paid(@DataSubject String customerId, Money amount) {}

    @Test
    void a_class_holding_marked_records_is_refused_and_the_markings_fit_record_components_only() {
        for (Class<? extends Record> type : List.of(
                MovedHousehold.class,
                MovedFamily.class,
                MovedAddresses.class,
                MovedAddressList.class,
                MovedHeld.class,
                ThroughBindings.class,
                ThroughNesting.class,
                ThroughSealed.class,
                ThroughInner.class)) {
            assertThatThrownBy(() -> AnnotationNotation.read("T", type))
                    .as(type.getSimpleName())
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining("records whose components are marked personal");
        }
        assertThat(AnnotationNotation.read("Paid", Paid.class).fields()).hasSize(1);
        // Self-bounded type variables end. (A type naming a marked record among its type arguments is refused
        // whatever it holds, Id<Address> or a class extending it: every argument is read, which is safe.)
        assertThat(AnnotationNotation.read("Referenced", Referenced.class).fields())
                .hasSize(1);
        // A class's field cannot be marked (a compile error), where it was accepted and stored as it is.
        for (Class<? extends java.lang.annotation.Annotation> marking :
                List.of(PersonalData.class, DataSubject.class)) {
            assertThat(marking.getAnnotation(java.lang.annotation.Target.class).value())
                    .as(marking.getSimpleName())
                    .containsExactly(java.lang.annotation.ElementType.RECORD_COMPONENT);
        }
    }

    @Test
    void markings_inside_a_value_sealed_whole_and_in_data_keywords_are_accepted() {
        PrivacySchema model = JsonSchemaNotation.read(
                "Person",
                schema("\"phones\":{\"type\":\"array\",\"x-gdpr\":{\"pii\":true},"
                        + "\"items\":{\"type\":\"string\",\"x-gdpr\":{\"pii\":true}}},"
                        + "\"note\":{\"type\":\"object\",\"default\":{\"x-gdpr\":\"not a marking: data\"}}"));
        assertThat(model.fields()).extracting(FieldRule::path).containsExactlyInAnyOrder("id", "phones");
    }

    @Test
    void a_content_media_type_in_another_case_or_with_spaces_marks_a_property_personal_too() {
        PrivacySchema model = JsonSchemaNotation.read(
                "Note",
                schema("\"notes\":{\"type\":\"string\",\"contentMediaType\":\"AES256GCM\"},"
                        + "\"memo\":{\"type\":\"string\",\"contentMediaType\":\"aes256gcm \"},"
                        + "\"text\":{\"type\":\"string\",\"contentMediaType\":\"text/plain\"}"));
        assertThat(model.personalFields()).extracting(FieldRule::path).containsExactlyInAnyOrder("notes", "memo");
    }

    @Test
    void a_json_schema_property_name_holding_a_dot_is_refused_when_it_is_classified() {
        assertThatThrownBy(() -> JsonSchemaNotation.read(
                        "Person", schema("\"contact.email\":{\"type\":\"string\",\"x-gdpr\":{\"pii\":true}}")))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("'contact.email' holds a '.'");
        // An unclassified one names nothing personal: allowed.
        assertThat(JsonSchemaNotation.read("Person", schema("\"version.major\":{\"type\":\"integer\"}"))
                        .fields())
                .hasSize(1);
    }

    @Test
    void a_misspelt_or_mistyped_x_gdpr_key_is_refused_rather_than_leaving_the_field_unsealed() {
        Map.of(
                        "{\"PII\":true,\"dataGroup\":\"financial\"}", "unknown key 'PII'",
                        "{\"pii\":true,\"datagroup\":\"contact\"}", "unknown key 'datagroup'",
                        "{\"piii\":true,\"key\":true}", "unknown key 'piii'",
                        "{\"pii\":true,\"dataGroup\":7}", "'x-gdpr.dataGroup' of iban must be a string",
                        "{\"pii\":true,\"subject\":true}", "'x-gdpr.subject' of iban must be a string")
                .forEach((marking, message) -> assertThatThrownBy(() -> JsonSchemaNotation.read(
                                "Account", schema("\"iban\":{\"type\":\"string\",\"x-gdpr\":" + marking + "}")))
                        .as(marking)
                        .isInstanceOf(InvalidEventException.class)
                        .hasMessageContaining(message)
                        .hasMessageContaining("of iban"));
        assertThat(JsonSchemaNotation.read(
                                "Account",
                                schema(
                                        "\"iban\":{\"type\":\"string\",\"x-gdpr\":"
                                                + "{\"pii\":true,\"key\":false,\"dataGroup\":\"financial\",\"subject\":\"id\"}}"))
                        .fields())
                .hasSize(2);
    }

    /** Registers {@code type} with a nested object {@code contact} whose field {@code field} is personal. */
    private void registerWithPersonalContact(String type, String field) {
        JsonNode nested = schema("\"contact\":{\"type\":\"object\",\"properties\":{\"" + field
                + "\":{\"type\":\"string\",\"x-gdpr\":{\"pii\":true,\"dataGroup\":\"contact\"}}}}");
        lethe.schemas()
                .register(
                        JsonSchemaNotation.read(type, nested),
                        SchemaRegistry.Notation.JSON_SCHEMA,
                        SchemaRegistry.propertyPaths(nested),
                        Json.of(nested));
    }

    /** Appends each event alone; expects each refused with {@code message}, not repeating "MARK", and nothing stored. */
    private void assertRefused(String type, String message, String... events) {
        long head = lethe.store().headPosition();
        for (String data : events) {
            assertThatThrownBy(() -> lethe.append(
                            ByteExactSealingTest.STREAM, ExpectedVersion.any(), List.of(EventData.of(type, data))))
                    .as(data)
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining(message)
                    .hasMessageNotContaining("MARK");
        }
        assertThat(lethe.store().headPosition()).isEqualTo(head);
    }

    @Test
    void a_json_schema_types_classified_property_in_another_spelling_is_refused_unless_the_schema_declares_it() {
        registerWithPersonalContact("Called", "email");
        assertRefused(
                "Called",
                "another spelling of the classified field 'contact.email'",
                "{\"id\":\"c1\",\"contact\":{\"Email\":\"MARK@example.com\"}}",
                "{\"id\":\"c1\",\"contact\":{\"EMAIL\":\"MARK@example.com\"}}",
                "{\"id\":\"c1\",\"Contact\":{\"email\":\"MARK@example.com\"}}",
                "{\"id\":\"c1\",\"contact\":{\"eMaIl\":\"MARK@example.com\"}}",
                "{\"id\":\"c1\",\"cOnTaCt \":{\"email\":\"MARK@example.com\"}}");
        assertRefused(
                "Called",
                "in another spelling, in a dotted member name",
                "{\"id\":\"c1\",\"contact.EmAiL\":\"MARK@example.com\"}");
        // A property the schema declares itself is its own field, whatever it looks like.
        JsonNode both = schema("\"name\":{\"type\":\"string\",\"x-gdpr\":{\"pii\":true,\"dataGroup\":\"contact\"}},"
                + "\"NAME\":{\"type\":\"string\"}");
        lethe.schemas()
                .register(
                        JsonSchemaNotation.read("Named", both),
                        SchemaRegistry.Notation.JSON_SCHEMA,
                        SchemaRegistry.propertyPaths(both),
                        Json.of(both));
        assertRefused(
                "Named",
                "another spelling of the classified field 'name'",
                "{\"id\":\"c1\",\"Name\":\"MARK\"}",
                // Spellings no convention writes: case and punctuation alone.
                "{\"id\":\"c1\",\"nAme\":\"MARK\"}",
                "{\"id\":\"c1\",\"name \":\"MARK\"}",
                "{\"id\":\"c1\",\"N.A.M.E\":\"MARK\"}");
        long head = lethe.store().headPosition();
        lethe.append(
                ByteExactSealingTest.STREAM,
                ExpectedVersion.any(),
                List.of(EventData.of("Named", "{\"id\":\"c1\",\"name\":\"Ada\",\"NAME\":\"a label\"}")));
        assertThat(lethe.store().headPosition()).isEqualTo(head + 1);
    }

    @Test
    void a_member_name_holding_a_dot_where_a_classified_path_begins_is_refused_at_append() {
        registerWithPersonalContact("Visited", "email");
        long head = lethe.store().headPosition();
        assertRefused(
                "Visited",
                "holding a '.'",
                "{\"id\":\"c1\",\"contact.email\":\"MARK@example.com\"}",
                "{\"id\":\"c1\",\"contact\\u002eemail\":\"MARK@example.com\"}");

        // A dotted name that names no classified path is plain data, even beside a classified leaf.
        lethe.append(
                ByteExactSealingTest.STREAM,
                ExpectedVersion.any(),
                List.of(EventData.of(
                        "Visited", "{\"id\":\"c1\",\"contact\":{\"email\":\"g@x\",\"email.verified\":true}}")));
        head++;
        // A dotted name elsewhere is no path to anything classified.
        lethe.append(
                ByteExactSealingTest.STREAM,
                ExpectedVersion.any(),
                List.of(EventData.of(
                        "Visited", "{\"id\":\"c1\",\"app.version\":\"1.2\",\"contact\":{\"email\":\"g@x\"}}")));
        assertThat(lethe.store().headPosition()).isEqualTo(head + 1);
    }

    record Flagged(
            @DataSubject boolean vip,
            @PersonalData(group = "contact") String name) {}

    enum Tier {
        GOLD,
        SILVER
    }

    record Tiered(
            @DataSubject Tier tier,
            @PersonalData(group = "contact") String name) {}

    record DottedName(
            @DataSubject String id,

            @com.fasterxml.jackson.annotation.JsonProperty("contact.email") @PersonalData(group = "contact")
            String email) {}

    record Party(@DataSubject String email, String name) {}

    record SaleOfSealedParty(
            @DataSubject String sellerId,
            @PersonalData(group = "contact") Party buyer) {}

    @Test
    void a_data_subject_that_cannot_print_as_a_key_or_sits_inside_a_value_sealed_whole_is_refused_at_registration() {
        assertThatThrownBy(() -> AnnotationNotation.read("Flagged", Flagged.class))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("vip is a @DataSubject of type boolean");
        // "contact.email" as a path means a member email inside contact: every event as named would be refused.
        assertThatThrownBy(() -> AnnotationNotation.read("DottedName", DottedName.class))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("component email is named 'contact.email' in JSON: a classified field's name"
                        + " may not hold a dot");
        // Every GOLD customer would be one subject, and forgetting one would forget them all.
        assertThatThrownBy(() -> AnnotationNotation.read("Tiered", Tiered.class))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("tier is a @DataSubject of enum type Tier: its few values cannot each name one");
        assertThatThrownBy(() -> AnnotationNotation.read("Sale", SaleOfSealedParty.class))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining(
                        "buyer is sealed whole (@PersonalData) but names a data subject inside (Party.email)");
        assertThatThrownBy(() -> AnnotationNotation.read("Sales", SaleOfSealedParties.class))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining(
                        "buyers is sealed whole (@PersonalData) but names a data subject inside (Party.email)");
        assertThatThrownBy(() -> AnnotationNotation.read("Maybe", SaleOfMaybeParty.class))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("buyer is sealed whole");
        assertThatThrownBy(() -> AnnotationNotation.read("Loose", LooseKey.class))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("of type Object");
    }

    record SaleOfSealedParties(
            @DataSubject String sellerId,
            @PersonalData(group = "contact") List<Party> buyers) {}

    record SaleOfMaybeParty(
            @DataSubject String sellerId,
            @PersonalData(group = "contact") Optional<Party> buyer) {}

    record LooseKey(@DataSubject Object id) {}

    record Address(@PersonalData(group = "contact") String street, String city) {}

    record Moved(@DataSubject String customerId, List<Address> previous) {}

    record MovedOnce(@DataSubject String customerId, Optional<Address> previous) {}

    record Plain(String street) {}

    record Listed(@DataSubject String customerId, List<Plain> previous, Map<String, Plain> byYear) {}

    record Renamed(
            @DataSubject @PersonalData(group = "contact") @com.fasterxml.jackson.annotation.JsonProperty("e_mail")
            String email,

            @PersonalData @com.fasterxml.jackson.annotation.JsonProperty("fullName")
            String name) {}

    @com.fasterxml.jackson.databind.annotation.JsonNaming(
            com.fasterxml.jackson.databind.PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Snake(
            @DataSubject @PersonalData(group = "contact") String emailAddress, String productName) {}

    record Camel(
            @DataSubject @PersonalData(group = "contact") String emailAddress, String productName) {}

    record OrderPlaced(
            @DataSubject String customer,
            @PersonalData(group = "contact") String customerName,
            String product) {}

    record Verified(
            @DataSubject @PersonalData(group = "contact") String email,
            @PersonalData(group = "contact") String emailVerifiedAt) {}

    @Test
    void a_field_of_the_type_whose_name_begins_a_classified_fields_dotted_spelling_is_plain_data_not_a_spelling() {
        // customer.name is how a LOWER_DOT_CASE mapper writes customerName: customer, a field of the type
        // itself and a string, was refused as a value "on the way" to that spelling.
        registerRecord("OrderPlaced", OrderPlaced.class);
        registerRecord("Verified", Verified.class);
        assertThat(stored(
                        "OrderPlaced",
                        Json.of(new OrderPlaced("c-42", "Ada Lovelace", "fund")).toString()))
                .doesNotContain("Ada Lovelace")
                .contains("fund");
        assertThat(stored("Verified", "{\"email\":\"ada@example.com\",\"emailVerifiedAt\":\"2026-01-01\"}"))
                .doesNotContain("ada@example.com", "2026-01-01");
        // The dotted spelling itself, and a value inside a list under a name that is no field of the type: refused.
        assertThatThrownBy(() -> stored("OrderPlaced", "{\"customer\":\"c-42\",\"customer.name\":\"Ada\"}"))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageNotContaining("Ada");
        assertThatThrownBy(() -> stored("OrderPlaced", "{\"customer\":\"c-42\",\"Customer\":[{\"name\":\"Ada\"}]}"))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageNotContaining("Ada");
    }

    private void registerRecord(String type, Class<? extends Record> record) {
        lethe.schemas()
                .register(
                        AnnotationNotation.read(type, record),
                        SchemaRegistry.Notation.ANNOTATIONS,
                        AnnotationNotation.allPaths(record),
                        Json.of(Map.of("class", record.getName())));
    }

    private String stored(String type, String data) {
        StreamIdHolder.next++;
        dev.lethe.core.store.StreamId stream = dev.lethe.core.store.StreamId.of("renamed-" + StreamIdHolder.next);
        lethe.append(stream, ExpectedVersion.any(), List.of(EventData.of(type, data)));
        return lethe.store()
                .readStream(stream, 0, dev.lethe.core.store.Direction.FORWARD, 1)
                .get(0)
                .data()
                .toString();
    }

    private static final class StreamIdHolder {
        static int next;
    }

    @Test
    void a_record_is_read_with_the_names_jackson_writes_and_other_spellings_of_a_classified_field_are_refused() {
        assertThat(AnnotationNotation.read("Renamed", Renamed.class).fields())
                .extracting(FieldRule::path)
                .containsExactly("e_mail", "fullName");
        assertThat(AnnotationNotation.allPaths(Snake.class)).containsExactly("email_address", "product_name");
        registerRecord("Renamed", Renamed.class);
        registerRecord("Snake", Snake.class);
        registerRecord("Camel", Camel.class);

        // As Jackson writes them: sealed.
        assertThat(stored("Renamed", "{\"e_mail\":\"ada@example.com\",\"fullName\":\"Ada Lovelace\"}"))
                .doesNotContain("ada@example.com", "Ada Lovelace");
        assertThat(stored("Snake", "{\"email_address\":\"grace@example.com\",\"product_name\":\"fund\"}"))
                .doesNotContain("grace@example.com")
                .contains("fund");

        // Another spelling of a classified field, as a mapper with its own naming strategy writes it: refused.
        for (String[] wrong : new String[][] {
            {"Renamed", "{\"email\":\"ada@example.com\",\"fullName\":\"Ada\"}", "email", "e_mail"},
            {"Snake", "{\"emailAddress\":\"grace@example.com\"}", "emailAddress", "email_address"},
            {"Camel", "{\"email_address\":\"alan@example.com\"}", "email_address", "emailAddress"},
            {"Camel", "{\"EmailAddress\":\"alan@example.com\"}", "EmailAddress", "emailAddress"},
            {"Camel", "{\"EMAIL_ADDRESS\":\"alan@example.com\"}", "EMAIL_ADDRESS", "emailAddress"}
        }) {
            assertThatThrownBy(() -> stored(wrong[0], wrong[1]))
                    .as(wrong[1])
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining(wrong[0] + "." + wrong[2] + ": is another spelling of the classified field '"
                            + wrong[3] + "'")
                    .hasMessageNotContaining("example.com");
        }
        // Non-classified fields may be spelled any way: they are plain data.
        assertThat(stored("Camel", "{\"emailAddress\":\"alan@example.com\",\"product_name\":\"fund\"}"))
                .doesNotContain("alan@example.com")
                .contains("product_name");
    }

    record Contact(@PersonalData(group = "contact") String email, String note) {}

    record Unwrapped(
            @DataSubject String id,
            @com.fasterxml.jackson.annotation.JsonUnwrapped Contact contact) {}

    record AnyGetter(
            @DataSubject String id,

            @PersonalData @com.fasterxml.jackson.annotation.JsonAnyGetter
            java.util.Map<String, String> attributes) {}

    record Getter(
            @DataSubject @PersonalData(group = "contact") String email) {
        @Override
        @com.fasterxml.jackson.annotation.JsonGetter("mail")
        public String email() {
            return email;
        }
    }

    @com.fasterxml.jackson.databind.annotation.JsonNaming(
            com.fasterxml.jackson.databind.PropertyNamingStrategies.LowerDotCaseStrategy.class)
    record Dotted(
            @DataSubject @PersonalData(group = "contact") String emailAddress) {}

    record Acronym(
            @DataSubject String id,
            @PersonalData(group = "contact") String userIPAddress) {}

    record BeanGetter(@DataSubject String id, @PersonalData String name) {
        @com.fasterxml.jackson.annotation.JsonProperty("nm")
        public String getName() {
            return name;
        }
    }

    @Test
    void components_jackson_writes_in_another_shape_or_name_are_refused_or_read_as_written() {
        for (Class<? extends Record> reshaped : List.of(Unwrapped.class, AnyGetter.class)) {
            assertThatThrownBy(() -> AnnotationNotation.read("T", reshaped))
                    .as(reshaped.getSimpleName())
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining("Jackson writes what it holds as members of the enclosing object");
        }
        assertThat(AnnotationNotation.read("Getter", Getter.class).fields())
                .extracting(FieldRule::path)
                .containsExactly("mail");
        assertThatThrownBy(() -> AnnotationNotation.read("Dotted", Dotted.class))
                .hasMessageContaining("LowerDotCaseStrategy writes member names with '.'");

        // What Jackson's own strategies write, acronyms kept whole and dots included, is refused too.
        registerRecord("Acronym", Acronym.class);
        for (String mapped : new String[] {
            "{\"id\":\"a1\",\"user_ipaddress\":\"10.0.0.1\"}",
            "{\"id\":\"a1\",\"UserIPAddress\":\"10.0.0.1\"}",
            "{\"id\":\"a1\",\"USER_IPADDRESS\":\"10.0.0.1\"}",
            "{\"id\":\"a1\",\"user.ip.address\":\"10.0.0.1\"}",
            "{\"id\":\"a1\",\"user-ip-address\":\"10.0.0.1\"}"
        }) {
            assertThatThrownBy(() -> stored("Acronym", mapped))
                    .as(mapped)
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining("another spelling")
                    .hasMessageNotContaining("10.0.0.1");
        }
        // A bean getter's name, and a root value wrapped in the record's name, as a configured mapper writes.
        assertThat(AnnotationNotation.read("BeanGetter", BeanGetter.class).fields())
                .extracting(FieldRule::path)
                .containsExactly("id", "nm");
        assertThatThrownBy(() -> stored("Acronym", "{\"Acronym\":{\"id\":\"a1\",\"userIPAddress\":\"10.0.0.1\"}}"))
                .hasMessageContaining("another spelling")
                .hasMessageNotContaining("10.0.0.1");
        assertThat(stored("Acronym", "{\"id\":\"a1\",\"userIPAddress\":\"10.0.0.1\"}"))
                .doesNotContain("10.0.0.1");
    }

    @Test
    void an_annotated_record_inside_a_list_or_optional_is_refused() {
        for (Class<? extends Record> type : List.of(Moved.class, MovedOnce.class)) {
            assertThatThrownBy(() -> AnnotationNotation.read("Moved", type))
                    .as(type.getSimpleName())
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining("component previous holds Address records")
                    .hasMessageContaining("mark previous itself @PersonalData");
        }
        assertThat(AnnotationNotation.read("Listed", Listed.class).fields()).hasSize(1);
    }

    @Test
    void a_rejected_batch_creates_no_subject_even_when_its_first_events_are_valid() {
        String first = "{\"email\":\"judy@example.com\",\"product\":\"fund\",\"name\":\"Judy\"}";
        // Valid to strict mode's schema check (a parsed tree keeps the last duplicate); refused by the codec.
        String invalid = "{\"email\":\"other@example.com\",\"email\":\"judy2@example.com\",\"product\":\"fund\"}";
        long head = lethe.store().headPosition();
        assertThatThrownBy(() -> lethe.append(
                        ByteExactSealingTest.STREAM,
                        ExpectedVersion.any(),
                        List.of(EventData.of("ProductSold", first), EventData.of("ProductSold", invalid))))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("events[1]")
                .hasMessageContaining("appears twice");
        assertThat(lethe.store().headPosition()).isEqualTo(head);
        assertThat(lethe.keys().lookup("judy@example.com")).isEmpty();
    }

    @Test
    void a_batch_the_store_would_refuse_for_its_shape_or_its_sealed_size_creates_no_subject() {
        EventData judy = EventData.of("ProductSold", "{\"email\":\"judy@example.com\",\"product\":\"fund\"}");
        // ~900 KB of name: under 1 MiB as given, over it once sealed (base64 adds a third).
        EventData big = EventData.of(
                "ProductSold",
                "{\"email\":\"judy@example.com\",\"product\":\"fund\",\"name\":\"" + "x".repeat(900_000) + "\"}");
        UUID id = UUID.randomUUID();
        EventData withId = new EventData(id, judy.type(), judy.data(), judy.metadata());
        List<EventData> tooMany = java.util.Collections.nCopies(EventStore.MAX_BATCH_EVENTS + 1, judy);
        Map.of(
                        List.of(judy, big),
                        "would be about",
                        List.of(withId, withId),
                        "appears twice in the batch",
                        tooMany,
                        "the limit is " + EventStore.MAX_BATCH_EVENTS)
                .forEach((batch, message) -> assertThatThrownBy(
                                () -> lethe.append(ByteExactSealingTest.STREAM, ExpectedVersion.any(), batch))
                        .as(message)
                        .isInstanceOf(InvalidEventException.class)
                        .hasMessageContaining(message));
        assertThatThrownBy(() -> lethe.append(ByteExactSealingTest.STREAM, null, List.of(judy)))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("expected version: is missing");
        assertThat(lethe.keys().lookup("judy@example.com")).isEmpty();

        // The bound is close: a value that still fits once sealed is taken.
        EventData fits = EventData.of(
                "ProductSold",
                "{\"email\":\"judy@example.com\",\"product\":\"fund\",\"name\":\"" + "x".repeat(780_000) + "\"}");
        lethe.append(ByteExactSealingTest.STREAM, ExpectedVersion.any(), List.of(fits));
        assertThat(lethe.keys().lookup("judy@example.com")).isPresent();
    }

    @Test
    void a_value_on_a_classified_path_that_is_not_an_object_is_refused_at_append() {
        registerWithPersonalContact("Called", "phone");
        long head = lethe.store().headPosition();
        assertRefused(
                "Called",
                "must be", // strict mode's type check, or the codec's
                "{\"id\":\"c1\",\"contact\":[{\"phone\":\"MARK_ARR\"}]}",
                // Strict mode's check reads a tree, which keeps the last duplicate; the codec reads both.
                "{\"id\":\"c1\",\"contact\":[{\"phone\":\"MARK_DUP\"}],\"contact\":{}}",
                "{\"id\":\"c1\",\"contact\":\"MARK_STRING\"}");
        lethe.append(
                ByteExactSealingTest.STREAM,
                ExpectedVersion.any(),
                List.of(EventData.of("Called", "{\"id\":\"c1\",\"contact\":null}")));
        assertThat(lethe.store().headPosition()).isEqualTo(head + 1);
    }

    record Box<T>(T value) {}

    record Boxed(@DataSubject String customerId, Box<Address> box) {}

    sealed interface Channel permits EmailChannel {}

    record EmailChannel(@PersonalData(group = "contact") String email) implements Channel {}

    record Subscribed(@DataSubject String customerId, Channel channel) {}

    @Test
    void an_annotated_record_behind_a_generic_record_or_a_sealed_interface_is_refused() {
        assertThatThrownBy(() -> AnnotationNotation.read("Boxed", Boxed.class))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("component box is a generic Box of Address");
        assertThatThrownBy(() -> AnnotationNotation.read("Subscribed", Subscribed.class))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("component channel holds EmailChannel records");
    }

    @Test
    void a_batch_naming_a_forgotten_subject_creates_no_subject_for_its_other_events() {
        lethe.append(
                ByteExactSealingTest.STREAM,
                ExpectedVersion.any(),
                List.of(EventData.of("ProductSold", "{\"email\":\"gone@example.com\",\"product\":\"fund\"}")));
        SubjectId gone = lethe.keys().lookup("gone@example.com").orElseThrow();
        lethe.forget(gone, "GDPR Art. 17(1)(a)", "test", ByteExactSealingTest.DPO);
        assertThatThrownBy(() -> lethe.append(
                        ByteExactSealingTest.STREAM,
                        ExpectedVersion.any(),
                        List.of(
                                EventData.of("ProductSold", "{\"email\":\"fence@example.com\",\"product\":\"fund\"}"),
                                EventData.of("ProductSold", "{\"email\":\"" + gone + "\",\"product\":\"fund\"}"))))
                .isInstanceOf(ErasureFenceException.class);
        assertThat(lethe.keys().lookup("fence@example.com")).isEmpty();
    }

    @Test
    void a_stale_expected_version_fails_before_any_subject_is_created() {
        lethe.append(
                ByteExactSealingTest.STREAM,
                ExpectedVersion.any(),
                List.of(EventData.of("ProductSold", "{\"email\":\"first@example.com\",\"product\":\"fund\"}")));
        assertThatThrownBy(() -> lethe.append(
                        ByteExactSealingTest.STREAM,
                        ExpectedVersion.noStream(),
                        List.of(EventData.of("ProductSold", "{\"email\":\"stale@example.com\",\"product\":\"fund\"}"))))
                .isInstanceOf(dev.lethe.core.store.WrongExpectedVersionException.class);
        assertThat(lethe.keys().lookup("stale@example.com")).isEmpty();
    }
}
