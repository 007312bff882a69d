package dev.lethe.protobuf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Any;
import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Label;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Type;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.DescriptorProtos.MessageOptions;
import com.google.protobuf.DescriptorProtos.OneofDescriptorProto;
import com.google.protobuf.Struct;
import com.google.protobuf.Timestamp;
import dev.lethe.core.memory.InMemoryEventStore;
import dev.lethe.core.privacy.FieldRule;
import dev.lethe.core.privacy.Principal;
import dev.lethe.core.privacy.PrivacySchema;
import dev.lethe.core.privacy.PrivateEventStore;
import dev.lethe.core.privacy.SchemaRegistry;
import dev.lethe.core.privacy.keys.InMemoryKeyStore;
import dev.lethe.core.privacy.keys.KeyService;
import dev.lethe.core.privacy.keys.LocalMasterKey;
import dev.lethe.core.privacy.policy.DataPolicy;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.StreamId;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Strict mode against real Protobuf JSON: well-known types, maps, lists, oneofs and recursion pass;
 * JSON names and literal dotted names are refused; a registration without field paths is refused.
 */
class ProtoNamesStrictTest {
    static final String POLICY = """
            strict: true
            groups:
              contact:  { retention: P2Y,  period: P1M }
            roles:
              dpo:     { read: [contact], may: [forget, export, rotate-keys, change-policy] }
            """;
    static final Principal DPO = new Principal("dora", "dpo");
    static final StreamId STREAM = StreamId.of("order-1");

    @TempDir
    Path keysDirectory;

    PrivateEventStore lethe;

    @BeforeEach
    void open() {
        Clock clock = Clock.systemUTC();
        KeyService keys = new KeyService(
                new InMemoryKeyStore(), LocalMasterKey.openOrCreate(keysDirectory), DataPolicy.parse(POLICY), clock);
        lethe = new PrivateEventStore(new InMemoryEventStore(), keys, clock);
    }

    @AfterEach
    void close() {
        lethe.close();
    }

    static FieldDescriptorProto field(String name, int number, Type type, String typeName, Label label) {
        FieldDescriptorProto.Builder b = FieldDescriptorProto.newBuilder()
                .setName(name)
                .setNumber(number)
                .setType(type)
                .setLabel(label);
        if (typeName != null) {
            b.setTypeName(typeName);
        }
        return b.build();
    }

    static byte[] descriptorSet() {
        Label opt = Label.LABEL_OPTIONAL;
        DescriptorProto contact = DescriptorProto.newBuilder()
                .setName("Contact")
                .addField(field("email", 1, Type.TYPE_STRING, null, opt))
                .addField(field("city", 2, Type.TYPE_STRING, null, opt))
                .build();
        DescriptorProto node = DescriptorProto.newBuilder()
                .setName("Node")
                .addField(field("name", 1, Type.TYPE_STRING, null, opt))
                .addField(field("child", 2, Type.TYPE_MESSAGE, ".review.Node", opt))
                .build();
        DescriptorProto entry = DescriptorProto.newBuilder()
                .setName("ContactsByRoleEntry")
                .setOptions(MessageOptions.newBuilder().setMapEntry(true))
                .addField(field("key", 1, Type.TYPE_STRING, null, opt))
                .addField(field("value", 2, Type.TYPE_MESSAGE, ".review.Contact", opt))
                .build();
        DescriptorProto order = DescriptorProto.newBuilder()
                .setName("Order")
                .addNestedType(entry)
                .addOneofDecl(OneofDescriptorProto.newBuilder().setName("channel"))
                .addField(field("order_id", 1, Type.TYPE_STRING, null, opt))
                .addField(field("contact", 2, Type.TYPE_MESSAGE, ".review.Contact", opt))
                .addField(field("placed_at", 3, Type.TYPE_MESSAGE, ".google.protobuf.Timestamp", opt))
                .addField(field("extra", 4, Type.TYPE_MESSAGE, ".google.protobuf.Struct", opt))
                .addField(field("payload", 5, Type.TYPE_MESSAGE, ".google.protobuf.Any", opt))
                .addField(field(
                        "contacts_by_role",
                        6,
                        Type.TYPE_MESSAGE,
                        ".review.Order.ContactsByRoleEntry",
                        Label.LABEL_REPEATED))
                .addField(field("others", 7, Type.TYPE_MESSAGE, ".review.Contact", Label.LABEL_REPEATED))
                .addField(field("phone", 8, Type.TYPE_STRING, null, opt).toBuilder()
                        .setOneofIndex(0)
                        .build())
                .addField(field("postal", 9, Type.TYPE_MESSAGE, ".review.Contact", opt).toBuilder()
                        .setOneofIndex(0)
                        .build())
                .addField(field("tree", 10, Type.TYPE_MESSAGE, ".review.Node", opt))
                .build();
        FileDescriptorProto file = FileDescriptorProto.newBuilder()
                .setName("review.proto")
                .setPackage("review")
                .setSyntax("proto3")
                .addDependency("google/protobuf/timestamp.proto")
                .addDependency("google/protobuf/struct.proto")
                .addDependency("google/protobuf/any.proto")
                .addMessageType(contact)
                .addMessageType(node)
                .addMessageType(order)
                .build();
        return FileDescriptorSet.newBuilder()
                .addFile(Timestamp.getDescriptor().getFile().toProto())
                .addFile(Struct.getDescriptor().getFile().toProto())
                .addFile(Any.getDescriptor().getFile().toProto())
                .addFile(file)
                .build()
                .toByteArray();
    }

    /**
     * A field recorded as not personal ({@code pii: false}): strict mode refuses to register personal-looking
     * names left unclassified, and these tests are about appends.
     */
    static FieldRule plain(String path) {
        return new FieldRule(path, false, false, java.util.Optional.empty(), java.util.Optional.empty());
    }

    static final String VALID_PROTO_JSON = """
            {"order_id":"o1","contact":{"email":"a@example.com","city":"Lisbon"},
             "placed_at":"2024-01-01T00:00:00Z","extra":{"anything":{"deep":[1,{"x":2}]}},
             "payload":{"@type":"type.googleapis.com/review.Contact","email":"x@example.com"},
             "contacts_by_role":{"billing":{"email":"e@example.com"}},
             "others":[{"email":"e@example.com","bogus":1}],
             "postal":{"city":"Porto"},
             "tree":{"name":"n","child":{"name":"m","child":{"name":"k"}}}}
            """;

    @Test
    void strict_mode_refuses_a_message_whose_personal_looking_field_has_no_option_which_pii_false_answers() {
        byte[] set = descriptorSet();
        List<String> paths = ProtobufNotation.allPaths("Order", set, "review.Order");
        assertThatThrownBy(() -> lethe.registerSchema(
                        DPO,
                        new PrivacySchema("Order", List.of(FieldRule.subjectKey("order_id", false, null))),
                        SchemaRegistry.Notation.PROTOBUF,
                        paths,
                        Json.parse("{\"message\":\"review.Order\",\"jsonNames\":{}}")))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("Order.phone: looks like personal data but has no rule")
                .hasMessageContaining("[(gdpr) = {pii: false}]");
        assertThat(lethe.schemas().latest("Order")).isEmpty();
    }

    /** Registers review.Order with its key and its personal-looking fields recorded as not personal. */
    private void registerOrder(Json source) {
        registerOrder(source, plain("contact.email"));
    }

    /** As {@link #registerOrder(Json)}, with {@code contactRule} for the contact (or its e-mail). */
    private void registerOrder(Json source, FieldRule contactRule) {
        lethe.registerSchema(
                DPO,
                new PrivacySchema(
                        "Order",
                        List.of(
                                FieldRule.subjectKey("order_id", false, null),
                                contactRule,
                                plain("phone"),
                                plain("postal.email"),
                                plain("tree.name"))),
                SchemaRegistry.Notation.PROTOBUF,
                ProtobufNotation.allPaths("Order", descriptorSet(), "review.Order"),
                source);
    }

    @Test
    void a_value_whose_json_shape_is_not_its_fields_is_refused() {
        registerOrder(ProtobufNotation.source("Order", descriptorSet(), "review.Order"));
        // Maps, Struct, Any, lists and nested messages are objects and lists in Protobuf JSON: taken; so is null.
        lethe.append(STREAM, ExpectedVersion.any(), List.of(EventData.of("Order", VALID_PROTO_JSON)));
        lethe.append(
                STREAM,
                ExpectedVersion.any(),
                List.of(EventData.of(
                        "Order", "{\"order_id\":\"o3\",\"contact\":null,\"others\":null,\"placed_at\":null}")));
        for (String data : List.of(
                "{\"order_id\":\"o2\",\"placed_at\":{\"email\":\"hidden@example.com\",\"customer_name\":\"Ada\"}}",
                "{\"order_id\":\"o2\",\"contact\":{\"city\":[\"Ada Lovelace\"]}}",
                "{\"order_id\":\"o2\",\"phone\":{\"number\":\"+351 912 345 678\"}}",
                // A message given a text or a list, a repeated field an object, a map a list: not Protobuf JSON.
                "{\"order_id\":\"o2\",\"contact\":\"Ada Lovelace\"}",
                "{\"order_id\":\"o2\",\"contact\":[{\"nickname\":\"Ada\"}]}",
                "{\"order_id\":\"o2\",\"others\":{\"customer_name\":\"Ada\"}}",
                "{\"order_id\":\"o2\",\"contacts_by_role\":[{\"customer_name\":\"Ada\"}]}")) {
            assertThatThrownBy(() -> lethe.append(STREAM, ExpectedVersion.any(), List.of(EventData.of("Order", data))))
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining("but the registered Protobuf message declares it")
                    .hasMessageContaining("(strict mode)")
                    .hasMessageNotContaining("hidden@")
                    .hasMessageNotContaining("Ada")
                    .hasMessageNotContaining("912");
        }
    }

    @Test
    void inside_a_field_sealed_whole_a_wrong_shape_is_refused_without_claiming_plaintext_and_odd_names_are_not_shown() {
        registerOrder(
                ProtobufNotation.source("Order", descriptorSet(), "review.Order"),
                FieldRule.personal("contact", "contact"));
        assertThatThrownBy(() -> lethe.append(
                        STREAM,
                        ExpectedVersion.any(),
                        List.of(EventData.of(
                                "Order", "{\"order_id\":\"o4\",\"contact\":{\"city\":{\"x\":\"Porto\"}}}"))))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining(
                        "Order.contact.city: is an object, but the registered Protobuf message declares it")
                .hasMessageNotContaining("unencrypted");
        // A member name that is no field name may be a value: not repeated.
        for (String data :
                List.of("{\"order_id\":\"o5\",\"Ada Lovelace\":1}", "{\"order_id\":\"o5\",\"ann@example.com\":1}")) {
            assertThatThrownBy(() -> lethe.append(STREAM, ExpectedVersion.any(), List.of(EventData.of("Order", data))))
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining("has a member (its name not shown) that is not")
                    .hasMessageNotContaining("Ada")
                    .hasMessageNotContaining("ann@");
        }
    }

    @Test
    void valid_protobuf_json_with_well_known_types_maps_lists_oneofs_and_recursion_is_accepted() {
        registerOrder(Json.parse("{\"message\":\"review.Order\",\"jsonNames\":{}}"));
        lethe.append(STREAM, ExpectedVersion.any(), List.of(EventData.of("Order", VALID_PROTO_JSON)));
        // JSON name in a nested message is refused, as intended
        assertThatThrownBy(() -> lethe.append(
                        STREAM, ExpectedVersion.any(), List.of(EventData.of("Order", "{\"placedAt\":\"x\"}"))))
                .isInstanceOf(InvalidEventException.class);
    }

    @Test
    void a_literal_dotted_name_is_refused_so_that_no_personal_value_escapes_sealing() {
        byte[] set = descriptorSet();
        lethe.registerSchema(
                DPO,
                new PrivacySchema(
                        "Order",
                        List.of(
                                FieldRule.subjectKey("order_id", false, null),
                                FieldRule.personal("contact.email", "contact"),
                                plain("phone"),
                                plain("postal.email"),
                                plain("tree.name"))),
                SchemaRegistry.Notation.PROTOBUF,
                ProtobufNotation.allPaths("Order", set, "review.Order"),
                Json.parse("{\"message\":\"review.Order\",\"jsonNames\":{}}"));
        long head = lethe.store().headPosition();
        assertThatThrownBy(() -> lethe.append(
                        STREAM,
                        ExpectedVersion.any(),
                        List.of(EventData.of("Order", "{\"order_id\":\"o1\",\"contact.email\":\"ada@example.com\"}"))))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("no '.'");
        assertThat(lethe.store().headPosition()).isEqualTo(head);
    }

    @Test
    void a_protobuf_registration_without_field_paths_is_refused_and_the_descriptor_gives_them() {
        assertThatThrownBy(() -> lethe.registerSchema(
                        DPO,
                        new PrivacySchema("Order", List.of(FieldRule.subjectKey("order_id", false, null))),
                        SchemaRegistry.Notation.PROTOBUF,
                        List.of(),
                        Json.parse("{\"message\":\"review.Order\",\"jsonNames\":{}}")))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("ProtobufNotation.allPaths");
        byte[] set = descriptorSet();
        assertThat(ProtobufNotation.allPaths(DescriptorSets.findMessage("Order", set, "review.Order")))
                .isEqualTo(ProtobufNotation.allPaths("Order", set, "review.Order"));
    }
}
