package dev.lethe.protobuf;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import dev.lethe.core.privacy.DataGroup;
import dev.lethe.core.privacy.FieldRule;
import dev.lethe.core.privacy.PrivacySchema;
import dev.lethe.core.privacy.schema.AnnotationNotation;
import dev.lethe.core.privacy.schema.DataSubject;
import dev.lethe.core.privacy.schema.JsonSchemaNotation;
import dev.lethe.core.privacy.schema.PersonalData;
import dev.lethe.core.store.InvalidEventException;
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
                .hasMessageContaining("field lines is a list or map of lethe.example.GiftLine");
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
