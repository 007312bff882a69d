package dev.lethe.protobuf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.BoolValue;
import com.google.protobuf.ByteString;
import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.EnumDescriptorProto;
import com.google.protobuf.DescriptorProtos.EnumValueDescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Label;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Type;
import com.google.protobuf.DescriptorProtos.FieldOptions;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.UnknownFieldSet;
import dev.lethe.core.memory.InMemoryEventStore;
import dev.lethe.core.privacy.FieldRule;
import dev.lethe.core.privacy.Principal;
import dev.lethe.core.privacy.PrivacyCodec;
import dev.lethe.core.privacy.PrivacySchema;
import dev.lethe.core.privacy.PrivateEventStore;
import dev.lethe.core.privacy.Redaction;
import dev.lethe.core.privacy.RevealedEvent;
import dev.lethe.core.privacy.SchemaRegistry;
import dev.lethe.core.privacy.keys.InMemoryKeyStore;
import dev.lethe.core.privacy.keys.KeyService;
import dev.lethe.core.privacy.keys.LocalMasterKey;
import dev.lethe.core.privacy.policy.DataPolicy;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.RecordedEvent;
import dev.lethe.core.store.StreamId;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the seed's option cannot say, and shapes of it that would read as "not personal": a field's owner
 * among several key fields (taken from the message structure, or refused), the option under another
 * number, a group without {@code pii} where {@code pii} has presence, members Lethe does not read, keys
 * that cannot name one subject, copies of a file, and message graphs too large to expand.
 */
class ProtobufOwnersAndOptionsTest {
    private static final String POLICY = """
            groups:
              contact:  { retention: P2Y,  period: P1M }
            roles:
              dpo:     { read: [contact], may: [forget, export, rotate-keys, change-policy] }
            """;
    private static final Principal DPO = new Principal("dora", "dpo");
    private static final Label OPT = Label.LABEL_OPTIONAL;

    @TempDir
    Path keysDirectory;

    /** The option's message, {@code syntax} proto2 (every member has presence) or proto3, as extension {@code number}. */
    private static FileDescriptorProto options(int number, String syntax, boolean withSubject) {
        DescriptorProto.Builder compliance = DescriptorProto.newBuilder()
                .setName("GDPRCompliance")
                .addField(field("key", 1, Type.TYPE_BOOL, null))
                .addField(field("pii", 2, Type.TYPE_BOOL, null))
                .addField(field("dataGrouping", 3, Type.TYPE_STRING, null));
        if (withSubject) {
            compliance.addField(field("subject", 4, Type.TYPE_STRING, null));
        }
        return FileDescriptorProto.newBuilder()
                .setName("opts.proto")
                .setPackage("opts")
                .setSyntax(syntax)
                .addDependency("google/protobuf/descriptor.proto")
                .addMessageType(compliance)
                .addExtension(field("gdpr", number, Type.TYPE_MESSAGE, ".opts.GDPRCompliance").toBuilder()
                        .setExtendee(".google.protobuf.FieldOptions"))
                .build();
    }

    private static FieldDescriptorProto field(String name, int number, Type type, String typeName) {
        return ProtoNamesStrictTest.field(name, number, type, typeName, OPT);
    }

    /** A field carrying the option (number {@code optionNumber}) with the members given (null: not written). */
    private static FieldDescriptorProto marked(
            FieldDescriptorProto field, int optionNumber, Boolean key, Boolean pii, String group, String subject) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        if (key != null) {
            bytes.write(0x08);
            bytes.write(key ? 1 : 0);
        }
        if (pii != null) {
            bytes.write(0x10);
            bytes.write(pii ? 1 : 0);
        }
        for (Object[] text : new Object[][] {{0x1a, group}, {0x22, subject}}) {
            if (text[1] != null) {
                byte[] utf8 = ((String) text[1]).getBytes(StandardCharsets.UTF_8);
                bytes.write((Integer) text[0]);
                bytes.write(utf8.length);
                bytes.writeBytes(utf8);
            }
        }
        return field.toBuilder()
                .setOptions(FieldOptions.newBuilder()
                        .setUnknownFields(UnknownFieldSet.newBuilder()
                                .addField(
                                        optionNumber,
                                        UnknownFieldSet.Field.newBuilder()
                                                .addLengthDelimited(ByteString.copyFrom(bytes.toByteArray()))
                                                .build())
                                .build()))
                .build();
    }

    private static FieldDescriptorProto marked(FieldDescriptorProto field, Boolean key, Boolean pii, String group) {
        return marked(field, GdprOptions.FIELD_NUMBER, key, pii, group, null);
    }

    private static byte[] set(FileDescriptorProto options, DescriptorProto... messages) {
        FileDescriptorProto.Builder file = FileDescriptorProto.newBuilder()
                .setName("events.proto")
                .setPackage("ev")
                .setSyntax("proto3")
                .addDependency("opts.proto")
                .addDependency("google/protobuf/wrappers.proto")
                .addEnumType(EnumDescriptorProto.newBuilder()
                        .setName("Tier")
                        .addValue(EnumValueDescriptorProto.newBuilder()
                                .setName("BASIC")
                                .setNumber(0))
                        .addValue(EnumValueDescriptorProto.newBuilder()
                                .setName("GOLD")
                                .setNumber(1)));
        for (DescriptorProto message : messages) {
            file.addMessageType(message);
        }
        return FileDescriptorSet.newBuilder()
                .addFile(com.google.protobuf.DescriptorProtos.getDescriptor().toProto())
                .addFile(BoolValue.getDescriptor().getFile().toProto())
                .addFile(options)
                .addFile(file)
                .build()
                .toByteArray();
    }

    private static DescriptorProto party() {
        return DescriptorProto.newBuilder()
                .setName("Party")
                .addField(marked(field("customer_id", 1, Type.TYPE_STRING, null), true, false, null))
                .addField(marked(field("full_name", 2, Type.TYPE_STRING, null), false, true, "contact"))
                .build();
    }

    @Test
    void in_a_message_with_two_parties_each_personal_field_belongs_to_its_own_partys_key() {
        byte[] set = set(
                options(GdprOptions.FIELD_NUMBER, "proto3", false),
                party(),
                DescriptorProto.newBuilder()
                        .setName("Sale")
                        .addField(field("buyer", 1, Type.TYPE_MESSAGE, ".ev.Party"))
                        .addField(field("seller", 2, Type.TYPE_MESSAGE, ".ev.Party"))
                        .addField(field("price", 3, Type.TYPE_DOUBLE, null))
                        .build());
        PrivacySchema schema = ProtobufNotation.read("Sale", set, "ev.Sale");
        assertThat(schema.field("seller.full_name").flatMap(FieldRule::subjectField))
                .contains("seller.customer_id");
        assertThat(schema.field("buyer.full_name").flatMap(FieldRule::subjectField))
                .contains("buyer.customer_id");

        // And so a forget of the seller reaches the seller's name, not the buyer's.
        Clock clock = Clock.systemUTC();
        KeyService keys = new KeyService(
                new InMemoryKeyStore(), LocalMasterKey.openOrCreate(keysDirectory), DataPolicy.parse(POLICY), clock);
        try (PrivateEventStore lethe = new PrivateEventStore(new InMemoryEventStore(), keys, clock)) {
            lethe.registerSchema(
                    DPO,
                    schema,
                    SchemaRegistry.Notation.PROTOBUF,
                    ProtobufNotation.allPaths("Sale", set, "ev.Sale"),
                    ProtobufNotation.source("Sale", set, "ev.Sale"));
            RecordedEvent sale = lethe.store()
                    .readAll(
                            lethe.append(
                                            StreamId.of("sale-1"),
                                            ExpectedVersion.any(),
                                            List.of(EventData.of(
                                                    "Sale",
                                                    "{\"buyer\":{\"customer_id\":\"C-1\",\"full_name\":\"Bea Buyer\"},"
                                                            + "\"seller\":{\"customer_id\":\"C-2\",\"full_name\":\"Sam"
                                                            + " Seller\"},\"price\":5}")))
                                    .lastPosition(),
                            1)
                    .get(0);
            lethe.forget(PrivacyCodec.subjectsOf(sale.metadata()).get("seller.customer_id"), "Art. 17", null, DPO);
            RevealedEvent revealed = lethe.reveal(sale, DPO);
            assertThat(revealed.data().asTree().path("buyer").path("full_name").asText())
                    .isEqualTo("Bea Buyer");
            assertThat(revealed.data().asTree().path("seller").path("full_name").isNull())
                    .isTrue();
            assertThat(revealed.redactions())
                    .extracting(Redaction::path)
                    .contains("seller.full_name")
                    .doesNotContain("buyer.full_name");
        }
    }

    @Test
    void a_proto3_field_labelled_with_a_group_but_not_pii_is_a_finding_when_its_name_looks_personal() {
        byte[] set = set(
                options(GdprOptions.FIELD_NUMBER, "proto3", false),
                DescriptorProto.newBuilder()
                        .setName("Trap")
                        .addField(marked(field("customer_id", 1, Type.TYPE_STRING, null), true, true, "contact"))
                        .addField(marked(field("email_address", 2, Type.TYPE_STRING, null), null, null, "contact"))
                        .addField(marked(field("region", 3, Type.TYPE_STRING, null), null, null, "contact"))
                        .build());
        SchemaRegistry.Registered registered = new SchemaRegistry.Registered(
                "Trap",
                1,
                SchemaRegistry.Notation.PROTOBUF,
                ProtobufNotation.read("Trap", set, "ev.Trap"),
                ProtobufNotation.allPaths("Trap", set, "ev.Trap"),
                ProtobufNotation.source("Trap", set, "ev.Trap"),
                java.time.Instant.now());
        assertThat(dev.lethe.core.privacy.policy.PolicyLinter.check(
                                dev.lethe.core.privacy.policy.DataPolicy.parse(POLICY), List.of(registered))
                        .stream()
                        .map(Object::toString))
                .anyMatch(f -> f.startsWith("Trap.email_address: looks like personal data, and its option names data"
                        + " group 'contact' without pii: true"))
                .noneMatch(f -> f.startsWith("Trap.region"));
    }

    @Test
    void a_personal_field_two_key_fields_could_own_is_refused() {
        byte[] set = set(
                options(GdprOptions.FIELD_NUMBER, "proto3", false),
                DescriptorProto.newBuilder()
                        .setName("Transfer")
                        .addField(marked(field("from_email", 1, Type.TYPE_STRING, null), true, true, "contact"))
                        .addField(marked(field("to_email", 2, Type.TYPE_STRING, null), true, true, "contact"))
                        .addField(marked(field("to_name", 3, Type.TYPE_STRING, null), false, true, "contact"))
                        .build());
        assertThatThrownBy(() -> ProtobufNotation.read("Transfer", set, "ev.Transfer"))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("field to_name")
                .hasMessageContaining("several key fields (from_email, to_email)")
                .hasMessageContaining("Party buyer; Party seller");
    }

    @Test
    void a_party_sealed_whole_with_its_key_inside_is_refused() {
        byte[] set = set(
                options(GdprOptions.FIELD_NUMBER, "proto3", false),
                party(),
                DescriptorProto.newBuilder()
                        .setName("Sale")
                        .addField(marked(field("buyer", 1, Type.TYPE_MESSAGE, ".ev.Party"), false, true, "contact"))
                        .addField(field("seller", 2, Type.TYPE_MESSAGE, ".ev.Party"))
                        .build());
        assertThatThrownBy(() -> ProtobufNotation.read("Sale", set, "ev.Sale"))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("field buyer")
                .hasMessageContaining("holds a key field (ev.Party.customer_id)")
                .hasMessageContaining("classify the fields inside buyer instead");
        // A list of them: its elements cannot be classified one by one, so that advice would lead nowhere.
        byte[] listed = set(
                options(GdprOptions.FIELD_NUMBER, "proto3", false),
                party(),
                DescriptorProto.newBuilder()
                        .setName("Sale")
                        .addField(
                                marked(field("parties", 1, Type.TYPE_MESSAGE, ".ev.Party"), false, true, "contact")
                                        .toBuilder()
                                        .setLabel(FieldDescriptorProto.Label.LABEL_REPEATED)
                                        .build())
                        .build());
        assertThatThrownBy(() -> ProtobufNotation.read("Sale", listed, "ev.Sale"))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("field parties")
                .hasMessageContaining("a list's elements cannot be classified one by one");
    }

    @Test
    void keys_that_cannot_name_one_subject_are_refused() {
        for (FieldDescriptorProto key : List.of(
                field("tier", 1, Type.TYPE_ENUM, ".ev.Tier"),
                field("consented", 1, Type.TYPE_MESSAGE, ".google.protobuf.BoolValue"))) {
            byte[] set = set(
                    options(GdprOptions.FIELD_NUMBER, "proto3", false),
                    DescriptorProto.newBuilder()
                            .setName("Signed")
                            .addField(marked(key, true, false, null))
                            .addField(marked(field("name", 2, Type.TYPE_STRING, null), false, true, "contact"))
                            .build());
            assertThatThrownBy(() -> ProtobufNotation.read("Signed", set, "ev.Signed"))
                    .as(key.getName())
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining("field " + key.getName())
                    .hasMessageContaining("cannot each name one subject");
        }
    }

    @Test
    void the_option_under_another_number_is_refused_rather_than_read_as_nothing() {
        byte[] set = set(
                options(51235, "proto3", false),
                DescriptorProto.newBuilder()
                        .setName("Signed")
                        .addField(marked(field("email", 1, Type.TYPE_STRING, null), 51235, true, true, null, null))
                        .build());
        assertThatThrownBy(() -> ProtobufNotation.read("Signed", set, "ev.Signed"))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("opts.gdpr has the gdpr option's shape but the number 51235")
                .hasMessageContaining("51234");
    }

    @Test
    void where_pii_has_presence_a_group_without_it_or_an_empty_option_is_refused() {
        for (Object[] shape :
                new Object[][] {{null, "contact", "names a data group but not pii"}, {null, null, "is empty"}}) {
            byte[] set = set(
                    options(GdprOptions.FIELD_NUMBER, "proto2", false),
                    DescriptorProto.newBuilder()
                            .setName("Signed")
                            .addField(marked(field("id", 1, Type.TYPE_STRING, null), true, false, null))
                            .addField(
                                    marked(field("phone", 2, Type.TYPE_STRING, null), null, (Boolean) shape[0], (String)
                                            shape[1]))
                            .build());
            assertThatThrownBy(() -> ProtobufNotation.read("Signed", set, "ev.Signed"))
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining("ev.Signed.phone")
                    .hasMessageContaining((String) shape[2]);
        }
        // Said outright, a label is fine: the seed's location.
        byte[] labelled = set(
                options(GdprOptions.FIELD_NUMBER, "proto2", false),
                DescriptorProto.newBuilder()
                        .setName("Signed")
                        .addField(marked(field("id", 1, Type.TYPE_STRING, null), true, false, null))
                        .addField(marked(field("location", 2, Type.TYPE_STRING, null), null, false, "contact"))
                        .build());
        assertThat(ProtobufNotation.read("Signed", labelled, "ev.Signed").personalFields())
                .isEmpty();
    }

    @Test
    void an_option_member_lethe_does_not_read_is_refused() {
        byte[] set = set(
                options(GdprOptions.FIELD_NUMBER, "proto3", true),
                DescriptorProto.newBuilder()
                        .setName("Sale")
                        .addField(marked(field("seller_id", 1, Type.TYPE_STRING, null), true, false, null))
                        .addField(marked(
                                field("seller_name", 2, Type.TYPE_STRING, null),
                                GdprOptions.FIELD_NUMBER,
                                null,
                                true,
                                "contact",
                                "seller_id"))
                        .build());
        assertThatThrownBy(() -> ProtobufNotation.read("Sale", set, "ev.Sale"))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("member 'subject', which Lethe does not read");
    }

    @Test
    void two_different_copies_of_a_file_in_one_set_are_refused() throws Exception {
        byte[] first = set(options(GdprOptions.FIELD_NUMBER, "proto3", false), party());
        byte[] second = set(
                options(GdprOptions.FIELD_NUMBER, "proto3", false),
                DescriptorProto.newBuilder()
                        .setName("Party")
                        .addField(field("customer_id", 1, Type.TYPE_STRING, null))
                        .build());
        ByteArrayOutputStream concatenated = new ByteArrayOutputStream();
        concatenated.writeBytes(second);
        concatenated.writeBytes(first);
        assertThatThrownBy(() -> ProtobufNotation.read("Party", concatenated.toByteArray(), "ev.Party"))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("two different copies of events.proto");
    }

    @Test
    void one_message_declared_by_two_files_of_a_set_is_refused_whichever_comes_first() {
        // The same message under another file name, without its options (an older build): the first in the set
        // was taken, and its fields read as not personal.
        FileDescriptorProto old = FileDescriptorProto.newBuilder()
                .setName("v0/events.proto")
                .setPackage("ev")
                .setSyntax("proto3")
                .addMessageType(DescriptorProto.newBuilder()
                        .setName("Party")
                        .addField(field("customer_id", 1, Type.TYPE_STRING, null))
                        .addField(field("full_name", 2, Type.TYPE_STRING, null)))
                .build();
        byte[] current = set(options(GdprOptions.FIELD_NUMBER, "proto3", false), party());
        for (boolean oldFirst : new boolean[] {true, false}) {
            ByteArrayOutputStream concatenated = new ByteArrayOutputStream();
            byte[] oldSet = FileDescriptorSet.newBuilder().addFile(old).build().toByteArray();
            concatenated.writeBytes(oldFirst ? oldSet : current);
            concatenated.writeBytes(oldFirst ? current : oldSet);
            assertThatThrownBy(() -> ProtobufNotation.read("Party", concatenated.toByteArray(), "ev.Party"))
                    .as("old first: " + oldFirst)
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining("message ev.Party is declared by 2 files of the descriptor set (")
                    .hasMessageContaining("v0/events.proto");
        }
        assertThat(ProtobufNotation.read("Party", current, "ev.Party").fields()).hasSize(2);
    }

    @Test
    void an_extension_of_the_message_or_of_a_message_inside_it_that_carries_the_option_is_refused() {
        DescriptorProto sale = DescriptorProto.newBuilder()
                .setName("Sale")
                .addField(field("buyer", 1, Type.TYPE_MESSAGE, ".ev.Party"))
                .addField(field("price", 2, Type.TYPE_DOUBLE, null))
                .addExtensionRange(DescriptorProto.ExtensionRange.newBuilder()
                        .setStart(100)
                        .setEnd(200))
                .build();
        DescriptorProto party = party().toBuilder()
                .addExtensionRange(DescriptorProto.ExtensionRange.newBuilder()
                        .setStart(100)
                        .setEnd(200))
                .build();
        for (String extendee : new String[] {".ev.Sale", ".ev.Party"}) {
            FileDescriptorProto extensions = more("opts.proto", "events.proto")
                    .addExtension(
                            marked(field("secret_email", 100, Type.TYPE_STRING, null), false, true, "contact")
                                    .toBuilder()
                                    .setExtendee(extendee))
                    .build();
            byte[] withExtension =
                    withFile(set(options(GdprOptions.FIELD_NUMBER, "proto2", false), party, sale), extensions);
            assertThatThrownBy(() -> ProtobufNotation.read("Sale", withExtension, "ev.Sale"))
                    .as(extendee)
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining("extension more.secret_email (in more.proto) extends " + extendee.substring(1)
                            + " and the gdpr option marks it personal or a key")
                    .hasMessageContaining("would be stored in plaintext");
            // An extension without the option is no classification: registered as before (not read).
            FileDescriptorProto plain = extensions.toBuilder()
                    .setExtension(
                            0,
                            field("note", 100, Type.TYPE_STRING, null).toBuilder()
                                    .setExtendee(extendee))
                    .build();
            byte[] withPlain = withFile(set(options(GdprOptions.FIELD_NUMBER, "proto2", false), party, sale), plain);
            assertThat(ProtobufNotation.read("Sale", withPlain, "ev.Sale").fields())
                    .hasSize(2);
        }
    }

    @Test
    void an_extension_of_a_classifying_message_type_or_with_the_option_under_another_number_is_refused() {
        DescriptorProto sale = extensibleSale();
        // Its type classifies a field: the value would be stored as written, the option inside it unread.
        FileDescriptorProto typed = more("events.proto")
                .addExtension(field("buyer", 101, Type.TYPE_MESSAGE, ".ev.Party").toBuilder()
                        .setExtendee(".ev.Sale"))
                .build();
        assertThatThrownBy(() -> ProtobufNotation.read(
                        "Sale",
                        withFile(set(options(GdprOptions.FIELD_NUMBER, "proto2", false), party(), sale), typed),
                        "ev.Sale"))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("extension more.buyer (in more.proto) extends ev.Sale and its message type"
                        + " marks fields personal or keys with the gdpr option");
        // The option declared again under another number, with its shape, set on an extension.
        FileDescriptorProto otherOptions = options(50002, "proto2", false).toBuilder()
                .setName("opts2.proto")
                .setPackage("opts2")
                .setExtension(
                        0,
                        options(50002, "proto2", false).getExtension(0).toBuilder()
                                .setTypeName(".opts2.GDPRCompliance"))
                .build();
        FileDescriptorProto otherNumber = more("events.proto", "opts2.proto")
                .addExtension(
                        marked(field("secret_email", 100, Type.TYPE_STRING, null), 50002, false, true, "contact", null)
                                .toBuilder()
                                .setExtendee(".ev.Sale"))
                .build();
        byte[] withOtherNumber = withFile(
                withFile(set(options(GdprOptions.FIELD_NUMBER, "proto2", false), party(), sale), otherOptions),
                otherNumber);
        assertThatThrownBy(() -> ProtobufNotation.read("Sale", withOtherNumber, "ev.Sale"))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("extension more.secret_email (in more.proto) extends ev.Sale and the gdpr option"
                        + " marks it personal or a key");
    }

    @Test
    void an_extension_of_an_extensions_type_is_refused_a_label_is_not_and_a_deep_chain_does_not_overflow() {
        DescriptorProto sale = extensibleSale();
        // Sale's extension is of type Holder (nothing marked), and Holder's own extension is marked.
        FileDescriptorProto.Builder chain = more("events.proto", "opts.proto")
                .addMessageType(DescriptorProto.newBuilder()
                        .setName("Holder")
                        .addField(field("note", 1, Type.TYPE_STRING, null))
                        .addExtensionRange(DescriptorProto.ExtensionRange.newBuilder()
                                .setStart(100)
                                .setEnd(200)))
                .addExtension(field("holder", 101, Type.TYPE_MESSAGE, ".more.Holder").toBuilder()
                        .setExtendee(".ev.Sale"))
                .addExtension(marked(field("phone", 100, Type.TYPE_STRING, null), false, true, "contact").toBuilder()
                        .setExtendee(".more.Holder"));
        byte[] base = set(options(GdprOptions.FIELD_NUMBER, "proto2", false), party(), sale);
        assertThatThrownBy(() -> ProtobufNotation.read("Sale", withFile(base, chain.build()), "ev.Sale"))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("extension more.phone (in more.proto) extends more.Holder and the gdpr option"
                        + " marks it personal or a key");
        // A label (pii: false, a group) marks nothing personal: not refused.
        FileDescriptorProto label = chain.setExtension(
                        1,
                        marked(field("phone", 100, Type.TYPE_STRING, null), false, false, "contact").toBuilder()
                                .setExtendee(".more.Holder"))
                .build();
        assertThat(ProtobufNotation.read("Sale", withFile(base, label), "ev.Sale")
                        .fields())
                .hasSize(1);
        // An extension whose type is a chain of 3,000 messages: walked without recursion (it overflowed the stack).
        FileDescriptorProto.Builder deep = FileDescriptorProto.newBuilder()
                .setName("deep.proto")
                .setPackage("deep")
                .setSyntax("proto2")
                .addDependency("events.proto")
                .addExtension(field("first", 102, Type.TYPE_MESSAGE, ".deep.C0").toBuilder()
                        .setExtendee(".ev.Sale"));
        for (int i = 0; i < 3_000; i++) {
            DescriptorProto.Builder link = DescriptorProto.newBuilder().setName("C" + i);
            if (i < 2_999) {
                link.addField(field("next", 1, Type.TYPE_MESSAGE, ".deep.C" + (i + 1)));
            }
            deep.addMessageType(link);
        }
        assertThat(ProtobufNotation.read("Sale", withFile(base, deep.build()), "ev.Sale")
                        .fields())
                .hasSize(1);
    }

    /** A registration's source as releases before 2026-11-29 stored it: the whole set, no shapes. */
    private static dev.lethe.core.store.Json earlierReleaseSource(String message, byte[] wholeSet) {
        return dev.lethe.core.store.Json.of(java.util.Map.of(
                "message",
                message,
                "descriptorSet",
                java.util.Base64.getEncoder().encodeToString(wholeSet),
                "jsonNames",
                java.util.Map.of()));
    }

    @Test
    void a_registration_an_earlier_release_took_with_a_marked_extension_is_a_finding_of_the_linter() {
        DescriptorProto sale = extensibleSale();
        FileDescriptorProto extension = more("opts.proto", "events.proto")
                .addExtension(
                        marked(field("secret_email", 100, Type.TYPE_STRING, null), false, true, "contact").toBuilder()
                                .setExtendee(".ev.Sale"))
                .build();
        byte[] whole = withFile(set(options(GdprOptions.FIELD_NUMBER, "proto2", false), party(), sale), extension);
        // As an earlier release stored it: the whole set, the extension's file included.
        dev.lethe.core.store.Json legacy = earlierReleaseSource("ev.Sale", whole);
        SchemaRegistry.Registered registered = new SchemaRegistry.Registered(
                "Sale",
                1,
                SchemaRegistry.Notation.PROTOBUF,
                new PrivacySchema("Sale", List.of(FieldRule.subjectKey("customer_id", false, null))),
                List.of("customer_id"),
                legacy,
                java.time.Instant.now());
        assertThat(dev.lethe.core.privacy.policy.PolicyLinter.check(
                                DataPolicy.parse(POLICY), List.of(registered), ProtobufNotation::unreadMembers)
                        .stream()
                        .map(Object::toString))
                .anyMatch(f -> f.startsWith("Sale: registered by an earlier release, which took what a registration"
                                + " now refuses (Protobuf message ev.Sale: extension more.secret_email")
                        && f.endsWith("register the type again from a corrected descriptor set; events stored"
                                + " meanwhile keep what they hold"));
    }

    @Test
    void a_type_registered_again_unchanged_after_an_upgrade_keeps_its_earlier_whole_set_source() {
        byte[] whole = partyWithAnUnrelatedFile();
        dev.lethe.core.store.Json now = ProtobufNotation.source("Party", whole, "ev.Party");
        // As an earlier release stored it: the whole set.
        dev.lethe.core.store.Json earlier = earlierReleaseSource("ev.Party", whole);
        assertThat(ProtobufNotation.sameAsEarlier(now, java.util.Optional.of(earlier)))
                .isSameAs(earlier);
        assertThat(ProtobufNotation.sameAsEarlier(now, java.util.Optional.empty()))
                .isSameAs(now);
        // Another message, or a set that changed: the new source.
        byte[] changed = set(
                options(GdprOptions.FIELD_NUMBER, "proto3", false),
                party().toBuilder()
                        .addField(field("note", 3, Type.TYPE_STRING, null))
                        .build());
        assertThat(ProtobufNotation.sameAsEarlier(
                        ProtobufNotation.source("Party", changed, "ev.Party"), java.util.Optional.of(earlier)))
                .isNotSameAs(earlier);
    }

    @Test
    void an_extension_in_the_messages_own_file_is_refused_when_the_schema_is_read_from_its_descriptor()
            throws Exception {
        FileDescriptorProto opts = options(GdprOptions.FIELD_NUMBER, "proto2", false);
        FileDescriptorProto own = FileDescriptorProto.newBuilder()
                .setName("own.proto")
                .setPackage("own")
                .setSyntax("proto2")
                .addDependency("opts.proto")
                .addMessageType(DescriptorProto.newBuilder()
                        .setName("Ev")
                        .addField(marked(field("customer_id", 1, Type.TYPE_STRING, null), true, false, null))
                        .addExtensionRange(DescriptorProto.ExtensionRange.newBuilder()
                                .setStart(100)
                                .setEnd(200)))
                .addExtension(
                        marked(field("secret_email", 100, Type.TYPE_STRING, null), false, true, "contact").toBuilder()
                                .setExtendee(".own.Ev"))
                .build();
        com.google.protobuf.Descriptors.FileDescriptor optsFile =
                com.google.protobuf.Descriptors.FileDescriptor.buildFrom(
                        opts, new com.google.protobuf.Descriptors.FileDescriptor[] {
                            com.google.protobuf.DescriptorProtos.getDescriptor()
                        });
        com.google.protobuf.Descriptors.Descriptor ev = com.google.protobuf.Descriptors.FileDescriptor.buildFrom(
                        own, new com.google.protobuf.Descriptors.FileDescriptor[] {optsFile})
                .findMessageTypeByName("Ev");
        assertThatThrownBy(() -> ProtobufNotation.read("Ev", ev))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("extension own.secret_email (in own.proto) extends own.Ev and the gdpr option"
                        + " marks it personal or a key");
    }

    @Test
    void a_registration_stores_only_the_files_its_message_needs() throws Exception {
        byte[] set = partyWithAnUnrelatedFile();
        byte[] stored = java.util.Base64.getDecoder()
                .decode(ProtobufNotation.source("Party", set, "ev.Party")
                        .asTree()
                        .get("descriptorSet")
                        .asText());
        assertThat(FileDescriptorSet.parseFrom(stored).getFileList())
                .extracting(FileDescriptorProto::getName)
                .containsExactly("google/protobuf/wrappers.proto", "opts.proto", "events.proto");
        // And what it stored reads as the whole set did.
        assertThat(ProtobufNotation.read("Party", stored, "ev.Party"))
                .isEqualTo(ProtobufNotation.read("Party", set, "ev.Party"));
    }

    /** The set of {@link #party()}, with a file it does not import. */
    private static byte[] partyWithAnUnrelatedFile() {
        FileDescriptorProto unrelated = FileDescriptorProto.newBuilder()
                .setName("unrelated.proto")
                .setPackage("other")
                .setSyntax("proto3")
                .addMessageType(DescriptorProto.newBuilder()
                        .setName("Blob")
                        .addField(field("payload", 1, Type.TYPE_STRING, null)))
                .build();
        return withFile(set(options(GdprOptions.FIELD_NUMBER, "proto3", false), party()), unrelated);
    }

    /** A proto2 file {@code more.proto} of package {@code more}, importing {@code dependencies}. */
    private static FileDescriptorProto.Builder more(String... dependencies) {
        FileDescriptorProto.Builder file = FileDescriptorProto.newBuilder()
                .setName("more.proto")
                .setPackage("more")
                .setSyntax("proto2");
        for (String dependency : dependencies) {
            file.addDependency(dependency);
        }
        return file;
    }

    /** A sale naming its customer, with extension numbers 100 to 199. */
    private static DescriptorProto extensibleSale() {
        return DescriptorProto.newBuilder()
                .setName("Sale")
                .addField(marked(field("customer_id", 1, Type.TYPE_STRING, null), true, false, null))
                .addExtensionRange(DescriptorProto.ExtensionRange.newBuilder()
                        .setStart(100)
                        .setEnd(200))
                .build();
    }

    private static byte[] withFile(byte[] set, FileDescriptorProto file) {
        try {
            return FileDescriptorSet.parseFrom(set).toBuilder()
                    .addFile(file)
                    .build()
                    .toByteArray();
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void a_message_graph_too_large_to_expand_is_refused_quickly() {
        // M0 uses M1 twice, M1 uses M2 twice, …: 2^24 paths in a few KB.
        DescriptorProto[] chain = new DescriptorProto[25];
        for (int i = 0; i < 24; i++) {
            chain[i] = DescriptorProto.newBuilder()
                    .setName("M" + i)
                    .addField(field("a", 1, Type.TYPE_MESSAGE, ".ev.M" + (i + 1)))
                    .addField(field("b", 2, Type.TYPE_MESSAGE, ".ev.M" + (i + 1)))
                    .build();
        }
        chain[24] = DescriptorProto.newBuilder()
                .setName("M24")
                .addField(marked(field("id", 1, Type.TYPE_STRING, null), true, false, null))
                .build();
        byte[] wide = set(options(GdprOptions.FIELD_NUMBER, "proto3", false), chain);
        assertThatThrownBy(() -> ProtobufNotation.allPaths("Wide", wide, "ev.M0"))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("more than " + ProtobufNotation.MAX_PATHS + " field paths");
        assertThatThrownBy(() -> ProtobufNotation.read("Wide", wide, "ev.M0"))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("more than " + ProtobufNotation.MAX_PATHS + " field paths");

        DescriptorProto[] deep = new DescriptorProto[41];
        for (int i = 0; i < 40; i++) {
            deep[i] = DescriptorProto.newBuilder()
                    .setName("D" + i)
                    .addField(field("next", 1, Type.TYPE_MESSAGE, ".ev.D" + (i + 1)))
                    .build();
        }
        deep[40] = DescriptorProto.newBuilder()
                .setName("D40")
                .addField(marked(field("id", 1, Type.TYPE_STRING, null), true, false, null))
                .build();
        byte[] tall = set(options(GdprOptions.FIELD_NUMBER, "proto3", false), deep);
        assertThatThrownBy(() -> ProtobufNotation.read("Tall", tall, "ev.D0"))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("more than " + ProtobufNotation.MAX_DEPTH + " deep");
    }

    @Test
    void the_linters_walk_into_lists_has_a_budget_for_the_whole_message_so_a_small_descriptor_cannot_exhaust_memory() {
        // 99 fields of M1, each with 99 lists of Big, each with 99 fields of X, each with 100 strings: 97
        // million members in a 20 KB descriptor set, which every lethe policy check would walk.
        DescriptorProto.Builder x = DescriptorProto.newBuilder().setName("X");
        DescriptorProto.Builder big = DescriptorProto.newBuilder().setName("Big");
        DescriptorProto.Builder m1 = DescriptorProto.newBuilder().setName("M1");
        DescriptorProto.Builder top = DescriptorProto.newBuilder().setName("Top");
        for (int i = 1; i <= 100; i++) {
            x.addField(field("s" + i, i, Type.TYPE_STRING, null));
        }
        for (int i = 1; i <= 99; i++) {
            big.addField(field("x" + i, i, Type.TYPE_MESSAGE, ".ev.X"));
            m1.addField(ProtoNamesStrictTest.field("l" + i, i, Type.TYPE_MESSAGE, ".ev.Big", Label.LABEL_REPEATED));
            top.addField(field("a" + i, i, Type.TYPE_MESSAGE, ".ev.M1"));
        }
        byte[] set = set(
                options(GdprOptions.FIELD_NUMBER, "proto3", false), x.build(), big.build(), m1.build(), top.build());
        List<String[]> unread = ProtobufNotation.unreadMembers(ProtobufNotation.source("Top", set, "ev.Top"));
        assertThat(unread.size()).isLessThanOrEqualTo(ProtobufNotation.MAX_UNREAD_MEMBERS + 1);
        assertThat(unread.get(unread.size() - 1)[0]).endsWith("(and the lists after it)");
        assertThat(unread.get(unread.size() - 1)[1]).isEqualTo(ProtobufNotation.TOO_LARGE);
    }

    @Test
    void the_walk_into_lists_also_counts_the_characters_of_its_paths_so_long_names_nested_deep_stay_bounded() {
        // A0..A11, each with two fields of the next type named with 1,000 characters, in 8 lists: 49,141
        // members of up to 12,000 characters each, half a gigabyte of paths, in a 25 KB descriptor set.
        String name = "x".repeat(1000) + "_k_email";
        List<DescriptorProto> messages = new java.util.ArrayList<>();
        for (int level = 0; level < 12; level++) {
            DescriptorProto.Builder a = DescriptorProto.newBuilder().setName("A" + level);
            if (level < 11) {
                a.addField(field(name + "1", 1, Type.TYPE_MESSAGE, ".ev.A" + (level + 1)));
                a.addField(field(name + "2", 2, Type.TYPE_MESSAGE, ".ev.A" + (level + 1)));
            } else {
                a.addField(field(name, 1, Type.TYPE_STRING, null));
            }
            messages.add(a.build());
        }
        DescriptorProto.Builder ev = DescriptorProto.newBuilder().setName("Ev");
        for (int i = 1; i <= 8; i++) {
            ev.addField(ProtoNamesStrictTest.field("l" + i, i, Type.TYPE_MESSAGE, ".ev.A0", Label.LABEL_REPEATED));
        }
        messages.add(ev.build());
        byte[] set = set(options(GdprOptions.FIELD_NUMBER, "proto3", false), messages.toArray(DescriptorProto[]::new));
        List<String[]> unread = ProtobufNotation.unreadMembers(ProtobufNotation.source("Ev", set, "ev.Ev"));
        long characters = unread.stream().mapToLong(entry -> entry[0].length()).sum();
        assertThat(characters).isLessThanOrEqualTo(ProtobufNotation.MAX_UNREAD_CHARS);
        assertThat(unread.get(unread.size() - 1)[1]).isEqualTo(ProtobufNotation.TOO_LARGE);
    }
}
