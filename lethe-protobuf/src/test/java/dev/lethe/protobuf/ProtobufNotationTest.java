package dev.lethe.protobuf;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import dev.lethe.core.privacy.DataGroup;
import dev.lethe.core.privacy.FieldRule;
import dev.lethe.core.privacy.PrivacySchema;
import dev.lethe.core.privacy.SchemaRegistry;
import dev.lethe.core.privacy.policy.DataPolicy;
import dev.lethe.core.privacy.policy.PolicyLinter;
import dev.lethe.core.privacy.schema.AnnotationNotation;
import dev.lethe.core.privacy.schema.DataSubject;
import dev.lethe.core.privacy.schema.JsonSchemaNotation;
import dev.lethe.core.privacy.schema.PersonalData;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.Json;
import dev.lethe.protobuf.example.MyMessage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ProtobufNotationTest {
    /** Written by protoc during the build (see pom.xml); the default fits a run from the module directory. */
    private static final Path DESCRIPTOR_SET = Path.of(
            System.getProperty("lethe.protobuf.testDescriptorSet", "target/test-descriptor-sets/test-protos.desc"));

    private static final String MY_MESSAGE = "lethe.example.MyMessage";
    private static final String NESTED = "lethe.example.nested.";
    private static final Optional<DataGroup> CLIENT_AGGREGATE = Optional.of(DataGroup.of("clientaggregate"));

    private static byte[] descriptorSet;

    @BeforeAll
    static void loadDescriptorSet() throws IOException {
        descriptorSet = Files.readAllBytes(DESCRIPTOR_SET);
    }

    @Test
    void seed_message_from_a_descriptor_set_classifies_each_field_as_its_option_says() {
        PrivacySchema schema = ProtobufNotation.read("MyMessage", descriptorSet, MY_MESSAGE);

        assertThat(schema.eventType()).isEqualTo("MyMessage");
        assertThat(schema.fields())
                .containsExactly(
                        new FieldRule("email", true, true, Optional.of(DataGroup.DEFAULT), Optional.empty()),
                        new FieldRule("name", true, false, CLIENT_AGGREGATE, Optional.empty()),
                        new FieldRule("location", false, false, CLIENT_AGGREGATE, Optional.empty()));
        assertThat(schema.field("purchase_value")).isEmpty();
        assertThat(schema.keyFields()).extracting(FieldRule::path).containsExactly("email");
        assertThat(schema.personalFields()).extracting(FieldRule::path).containsExactly("email", "name");
    }

    @Test
    void a_proto_source_file_given_for_the_descriptor_set_is_told_to_be_compiled_first() {
        byte[] source = ("// the seed's message\nsyntax = \"proto3\";\npackage shop;\n"
                        + "message MyMessage { string email = 1; }\n")
                .getBytes(UTF_8);
        assertThatThrownBy(() -> ProtobufNotation.read("MyMessage", source, "shop.MyMessage"))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("this is .proto source text, not a compiled descriptor set")
                .hasMessageContaining("protoc --include_imports --descriptor_set_out=FILE.desc FILE.proto");
        // A real set is binary: never taken for source text.
        assertThat(DescriptorSets.looksLikeProtoSource(descriptorSet)).isFalse();
        assertThat(DescriptorSets.looksLikeProtoSource(
                        MyMessage.getDescriptor().getFile().toProto().toByteArray()))
                .isFalse();
    }

    @Test
    void a_generated_class_descriptor_gives_the_same_model_as_the_descriptor_set() {
        assertThat(ProtobufNotation.read("MyMessage", MyMessage.getDescriptor()))
                .isEqualTo(ProtobufNotation.read("MyMessage", descriptorSet, MY_MESSAGE));
    }

    @Test
    void the_seed_message_in_protobuf_json_schema_and_annotations_gives_one_model() throws IOException {
        PrivacySchema protobuf = ProtobufNotation.read("MyMessage", descriptorSet, MY_MESSAGE);
        PrivacySchema jsonSchema = JsonSchemaNotation.read("MyMessage", new ObjectMapper().readTree("""
                {
                  "type": "object",
                  "properties": {
                    "email": {"type": "string", "x-gdpr": {"pii": true, "key": true}},
                    "name": {"type": "string", "x-gdpr": {"pii": true, "dataGroup": "clientaggregate"}},
                    "location": {"type": "string", "x-gdpr": {"pii": false, "dataGroup": "clientaggregate"}},
                    "purchase_value": {"type": "number"}
                  }
                }
                """));
        PrivacySchema annotations = AnnotationNotation.read("MyMessage", MyMessageRecord.class);

        // Protobuf and JSON Schema can both label a non-personal field with a group: equal models.
        assertThat(protobuf.canonical()).isEqualTo(jsonSchema.canonical());
        // Annotations cannot: a group lives only in @PersonalData, so the seed's non-personal location
        // ("pii: false, dataGrouping: clientaggregate") has no rule there. The label changes nothing
        // (FieldRule), so the notations agree on what matters: which fields are personal, which name
        // the subject, and the group of each personal field.
        assertThat(classifications(annotations))
                .isEqualTo(classifications(protobuf))
                .isEqualTo(classifications(jsonSchema));
    }

    @Test
    void nested_messages_name_their_fields_outer_dot_inner() {
        PrivacySchema schema = ProtobufNotation.read("OrderPlaced", descriptorSet, "lethe.example.OrderPlaced");

        assertThat(schema.fields())
                .containsExactly(
                        new FieldRule("customer.customer_id", false, true, Optional.empty(), Optional.empty()),
                        FieldRule.personal("customer.shipping_address.city", "contact"));
    }

    @Test
    void personal_fields_inside_list_elements_are_refused_not_dropped() {
        assertThatThrownBy(() -> ProtobufNotation.read("GiftOrder", descriptorSet, "lethe.example.GiftOrder"))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("schema GiftOrder")
                .hasMessageContaining("field lines is a list of lethe.example.GiftLine");
    }

    @Test
    void a_key_and_personal_fields_one_message_down_are_named_by_proto_names_joined_by_dots() {
        PrivacySchema schema = read("CustomerRegistered");

        assertThat(schema.fields())
                .containsExactly(
                        new FieldRule("account.account_id", false, true, Optional.empty(), Optional.empty()),
                        FieldRule.personal("contact.email", "contact"),
                        FieldRule.personal("contact.phone_number", "contact"),
                        FieldRule.personal("billing_contact.email", "contact"),
                        FieldRule.personal("billing_contact.phone_number", "contact"));
        assertThat(schema.ownerOf(schema.field("billing_contact.email").orElseThrow())
                        .path())
                .isEqualTo("account.account_id");
    }

    @Test
    void nested_messages_give_the_model_of_the_json_schema_with_the_same_nested_properties() throws IOException {
        PrivacySchema jsonSchema =
                JsonSchemaNotation.read(NESTED + "CustomerRegistered", new ObjectMapper().readTree("""
                {
                  "type": "object",
                  "properties": {
                    "account": {"type": "object", "properties": {
                      "account_id": {"type": "string", "x-gdpr": {"key": true}}}},
                    "contact": {"type": "object", "properties": {
                      "email": {"type": "string", "x-gdpr": {"pii": true, "dataGroup": "contact"}},
                      "phone_number": {"type": "string", "x-gdpr": {"pii": true, "dataGroup": "contact"}},
                      "preferred_language": {"type": "string"}}},
                    "billing_contact": {"type": "object", "properties": {
                      "email": {"type": "string", "x-gdpr": {"pii": true, "dataGroup": "contact"}},
                      "phone_number": {"type": "string", "x-gdpr": {"pii": true, "dataGroup": "contact"}},
                      "preferred_language": {"type": "string"}}},
                    "registered_at": {"type": "string"}
                  }
                }
                """));

        assertThat(read("CustomerRegistered").canonical()).isEqualTo(jsonSchema.canonical());
    }

    @Test
    void a_personal_message_or_list_field_is_one_rule_sealed_whole_and_its_type_is_not_read_inside_it() {
        assertThat(read("ParcelSent").fields())
                .containsExactly(
                        new FieldRule("sender_id", false, true, Optional.empty(), Optional.empty()),
                        FieldRule.personal("recipient", "recipients"),
                        FieldRule.personal("sender_contact.email", "contact"),
                        FieldRule.personal("sender_contact.phone_number", "contact"),
                        FieldRule.personal("cc", DataGroup.DEFAULT.name()));
    }

    @Test
    void an_option_without_pii_on_a_message_field_labels_it_and_its_fields_are_still_read() {
        assertThat(read("ContactChanged").fields())
                .containsExactly(
                        new FieldRule("customer_id", false, true, Optional.empty(), Optional.empty()),
                        new FieldRule("contact", false, false, Optional.of(DataGroup.of("contact")), Optional.empty()),
                        FieldRule.personal("contact.email", "contact"),
                        FieldRule.personal("contact.phone_number", "contact"));
    }

    @Test
    void a_key_must_print_as_a_json_string_or_number_so_objects_and_lists_are_refused() {
        assertThat(read("WrappedKey").keyFields()).extracting(FieldRule::path).containsExactly("customer_id");
        assertThatThrownBy(() -> read("KeyOnMessage"))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("schema " + NESTED + "KeyOnMessage field account")
                .hasMessageContaining("is a key but its JSON is an object");
        assertThatThrownBy(() -> read("KeyOnList"))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("field emails")
                .hasMessageContaining("is a key but its JSON is an array");
        assertThatThrownBy(() -> read("KeyOnBool"))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("field consented")
                .hasMessageContaining("is a key but a bool");
    }

    @Test
    void classified_fields_in_a_list_or_map_below_a_nested_message_are_refused_naming_the_field() {
        assertThatThrownBy(() -> read("Party"))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("field guests.invited is a list of " + NESTED + "Contact")
                .hasMessageContaining("classify guests.invited itself");
        assertThatThrownBy(() -> read("Directory"))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("field contacts_by_role is a map of " + NESTED + "Contact");
    }

    @Test
    void a_message_that_contains_itself_and_classifies_a_field_is_refused_naming_the_field_closing_the_cycle() {
        assertThatThrownBy(() -> read("ThreadStarted"))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("field first.next nests " + NESTED + "Reply in itself");
        assertThatThrownBy(() -> read("PersonMoved"))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("field person.household.head nests " + NESTED + "Person in itself");
    }

    @Test
    void sealing_the_recursive_field_whole_ends_the_cycle() {
        assertThat(read("QuotePosted").fields())
                .containsExactly(
                        new FieldRule("author_id", false, true, Optional.empty(), Optional.empty()),
                        FieldRule.personal("quote.text", DataGroup.DEFAULT.name()),
                        FieldRule.personal("quote.quoted", DataGroup.DEFAULT.name()));
    }

    @Test
    void all_paths_go_into_nested_messages_but_not_into_well_known_types_printed_as_strings() {
        assertThat(ProtobufNotation.allPaths("CustomerRegistered", descriptorSet, NESTED + "CustomerRegistered"))
                .containsExactly(
                        "account",
                        "account.account_id",
                        "contact",
                        "contact.email",
                        "contact.phone_number",
                        "contact.preferred_language",
                        "billing_contact",
                        "billing_contact.email",
                        "billing_contact.phone_number",
                        "billing_contact.preferred_language",
                        "registered_at");
    }

    @Test
    void fields_inside_lists_and_maps_of_messages_are_members_lethe_reads_no_classification_of() {
        Json source = ProtobufNotation.source("TeamFormed", descriptorSet, NESTED + "TeamFormed");
        assertThat(ProtobufNotation.unreadMembers(source))
                .extracting(member -> member[0] + " in " + member[1])
                .containsExactly(
                        "members[].full_name in a list's items",
                        "members[].shirt_size in a list's items",
                        "members[].addresses in a list's items",
                        "members[].addresses[].street in a list's items",
                        "members_by_role.*.full_name in a map's values",
                        "members_by_role.*.shirt_size in a map's values",
                        "members_by_role.*.addresses in a map's values",
                        "members_by_role.*.addresses[].street in a map's values",
                        "alumni[].full_name in a list's items",
                        "alumni[].shirt_size in a list's items",
                        "alumni[].addresses in a list's items",
                        "alumni[].addresses[].street in a list's items",
                        "lead.home_addresses[].street in a list's items");
        SchemaRegistry.Registered registered = new SchemaRegistry.Registered(
                "TeamFormed",
                1,
                SchemaRegistry.Notation.PROTOBUF,
                read("TeamFormed"),
                ProtobufNotation.allPaths("TeamFormed", descriptorSet, NESTED + "TeamFormed"),
                source,
                java.time.Instant.now());
        DataPolicy policy = DataPolicy.parse("""
                groups:
                  contact: { retention: P2Y, period: P1M }
                roles:
                  dpo: { read: [contact], may: [forget, export, rotate-keys, change-policy], append: ["*"] }
                """);
        List<String> findings =
                PolicyLinter.check(policy, List.of(registered), ProtobufNotation::unreadMembers).stream()
                        .map(Object::toString)
                        .toList();
        // Personal-looking names under a list or map: found; alumni is sealed whole, shirt_size looks like nothing.
        assertThat(findings)
                .filteredOn(f -> f.contains("where Lethe reads no classification"))
                .extracting(f -> f.substring(0, f.indexOf(':')))
                .containsExactly(
                        "TeamFormed.members[].full_name",
                        "TeamFormed.members[].addresses",
                        "TeamFormed.members[].addresses[].street",
                        "TeamFormed.members_by_role.*.full_name",
                        "TeamFormed.members_by_role.*.addresses",
                        "TeamFormed.members_by_role.*.addresses[].street",
                        "TeamFormed.lead.home_addresses[].street");
        assertThat(findings).anyMatch(f -> f.endsWith("or make it a field of the event's message"));
        // A descriptor set that cannot be read (stored through the Java API) is a finding, not a failed check.
        SchemaRegistry.Registered broken = new SchemaRegistry.Registered(
                "Broken",
                1,
                SchemaRegistry.Notation.PROTOBUF,
                read("TeamFormed"),
                List.of("team_id"),
                Json.parse("{\"message\":\"x.Y\",\"descriptorSet\":\"%%%\",\"jsonNames\":{}}"),
                java.time.Instant.now());
        assertThat(PolicyLinter.check(policy, List.of(broken, registered), ProtobufNotation::unreadMembers).stream()
                        .map(Object::toString))
                .anyMatch(f -> f.startsWith("Broken: its Protobuf descriptor set could not be read"))
                .anyMatch(f -> f.startsWith("TeamFormed.members[].full_name"));
        // Without the Protobuf reader (the core alone), none of them.
        assertThat(PolicyLinter.check(policy, List.of(registered)).stream().map(Object::toString))
                .noneMatch(f -> f.contains("where Lethe reads no classification"));
    }

    @Test
    void bytes_that_are_not_a_descriptor_set_are_bad_input() {
        assertThatThrownBy(() -> ProtobufNotation.read("MyMessage", "hello, world".getBytes(UTF_8), MY_MESSAGE))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("schema MyMessage")
                .hasMessageContaining("not a Protobuf descriptor set");
        assertThatThrownBy(() -> ProtobufNotation.read("MyMessage", new byte[0], MY_MESSAGE))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("holds no files");
    }

    @Test
    void an_unknown_message_name_is_bad_input_listing_the_messages_the_set_declares() {
        assertThatThrownBy(() -> ProtobufNotation.read("MyMessage", descriptorSet, "lethe.example.YourMessage"))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("message lethe.example.YourMessage is not in the descriptor set")
                .hasMessageContaining(MY_MESSAGE);
    }

    @Test
    void a_file_whose_imports_the_set_lacks_is_bad_input_naming_the_import() throws IOException {
        FileDescriptorSet complete = FileDescriptorSet.parseFrom(descriptorSet);
        byte[] withoutGdpr = FileDescriptorSet.newBuilder()
                .addAllFile(complete.getFileList().stream()
                        .filter(file -> !file.getName().equals("gdpr.proto"))
                        .toList())
                .build()
                .toByteArray();

        assertThatThrownBy(() -> ProtobufNotation.read("MyMessage", withoutGdpr, MY_MESSAGE))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("my_message.proto imports gdpr.proto, which the descriptor set does not hold");
    }

    /** A message of nested_messages.proto, read as an event type of its full name. */
    private static PrivacySchema read(String nestedMessage) {
        return ProtobufNotation.read(NESTED + nestedMessage, descriptorSet, NESTED + nestedMessage);
    }

    /** The seed's MyMessage in the annotation notation; component names match the proto field names. */
    record MyMessageRecord(
            @DataSubject @PersonalData String email,
            @PersonalData(group = "clientaggregate") String name,
            String location,
            double purchase_value) {}

    /** What a notation must agree on; a non-personal field's group is a label that changes nothing. */
    record Classification(String path, boolean personal, boolean key, Optional<DataGroup> groupIfPersonal) {}

    private static List<Classification> classifications(PrivacySchema schema) {
        return schema.canonical().fields().stream()
                .filter(field -> field.personal() || field.subjectKey())
                .map(field -> new Classification(
                        field.path(),
                        field.personal(),
                        field.subjectKey(),
                        field.personal() ? field.group() : Optional.empty()))
                .toList();
    }
}
