package dev.lethe.protobuf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.lethe.core.memory.InMemoryEventStore;
import dev.lethe.core.privacy.Principal;
import dev.lethe.core.privacy.PrivateEventStore;
import dev.lethe.core.privacy.SchemaRegistry;
import dev.lethe.core.privacy.keys.InMemoryKeyStore;
import dev.lethe.core.privacy.keys.KeyService;
import dev.lethe.core.privacy.keys.LocalMasterKey;
import dev.lethe.core.privacy.policy.DataPolicy;
import dev.lethe.core.store.Direction;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.StreamId;
import dev.lethe.protobuf.example.jsonnames.SignedUp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A classified Protobuf field with a {@code json_name} option: JsonFormat's default printer writes it
 * under that name, which the codec (reading proto names) would store in plaintext. Not strict mode, so
 * only the registration's JSON names stand between such an event and the log.
 */
class CustomJsonNamesTest {
    private static final String POLICY = """
            groups:
              contact:  { retention: P2Y,  period: P1M }
            roles:
              dpo:     { read: [contact], may: [forget, export, rotate-keys, change-policy] }
            """;
    private static final Principal DPO = new Principal("dora", "dpo");
    private static final StreamId STREAM = StreamId.of("signup-1");
    private static final String MESSAGE = "lethe.example.jsonnames.SignedUp";

    @TempDir
    Path keysDirectory;

    private PrivateEventStore lethe;
    private byte[] descriptorSet;

    @BeforeEach
    void open() throws Exception {
        Clock clock = Clock.systemUTC();
        KeyService keys = new KeyService(
                new InMemoryKeyStore(), LocalMasterKey.openOrCreate(keysDirectory), DataPolicy.parse(POLICY), clock);
        lethe = new PrivateEventStore(new InMemoryEventStore(), keys, clock);
        descriptorSet = Files.readAllBytes(Path.of(System.getProperty(
                "lethe.protobuf.testDescriptorSet", "target/test-descriptor-sets/test-protos.desc")));
    }

    @AfterEach
    void close() {
        lethe.close();
    }

    private void register() {
        lethe.registerSchema(
                DPO,
                ProtobufNotation.read("SignedUp", descriptorSet, MESSAGE),
                SchemaRegistry.Notation.PROTOBUF,
                ProtobufNotation.allPaths("SignedUp", descriptorSet, MESSAGE),
                ProtobufNotation.source("SignedUp", descriptorSet, MESSAGE));
    }

    @Test
    void the_source_lists_the_custom_json_names_by_proto_path_and_nothing_else() {
        assertThat(ProtobufNotation.customJsonNames(SignedUp.getDescriptor()))
                .isEqualTo(Map.of(
                        "email_address", "mail", "postal", "post", "postal.street_line", "street", "channel", "via"));
        assertThat(ProtobufNotation.source("SignedUp", descriptorSet, MESSAGE)
                        .asTree()
                        .get("jsonNames"))
                .hasSize(4);
        // From a generated class's descriptor: the same names, and a descriptor set that reads back.
        com.fasterxml.jackson.databind.JsonNode fromDescriptor =
                ProtobufNotation.source("SignedUp", SignedUp.getDescriptor()).asTree();
        assertThat(fromDescriptor.get("jsonNames"))
                .isEqualTo(ProtobufNotation.source("SignedUp", descriptorSet, MESSAGE)
                        .asTree()
                        .get("jsonNames"));
        assertThat(ProtobufNotation.read(
                        "SignedUp",
                        java.util.Base64.getDecoder()
                                .decode(fromDescriptor.get("descriptorSet").asText()),
                        MESSAGE))
                .isEqualTo(ProtobufNotation.read("SignedUp", SignedUp.getDescriptor()));
    }

    @Test
    void a_classified_field_under_its_custom_json_name_is_refused_at_any_depth_and_nothing_is_stored() {
        register();
        long head = lethe.store().headPosition();
        for (String printed : List.of(
                "{\"customerId\":\"c-1\",\"mail\":\"ada@example.com\"}",
                "{\"customer_id\":\"c-1\",\"post\":{\"street\":\"12 Rua Augusta\"}}",
                "{\"customer_id\":\"c-1\",\"postal\":{\"street\":\"12 Rua Augusta\"}}",
                "{\"customer_id\":\"c-1\",\"post\":{\"streetLine\":\"12 Rua Augusta\"}}",
                "{\"customer_id\":\"c-1\",\"emailAddress\":\"ada@example.com\"}")) {
            assertThat(catchThrowable(() ->
                            lethe.append(STREAM, ExpectedVersion.any(), List.of(EventData.of("SignedUp", printed)))))
                    .as(printed)
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining("JSON name of the classified Protobuf field")
                    .hasMessageNotContaining("ada@example.com")
                    .hasMessageNotContaining("Rua Augusta");
        }
        assertThat(lethe.store().headPosition()).isEqualTo(head);

        // Proto names, as JsonFormat.printer().preservingProtoFieldNames() writes them, are sealed; an
        // unclassified field's custom name is data like any other.
        lethe.append(
                STREAM,
                ExpectedVersion.any(),
                List.of(EventData.of(
                        "SignedUp",
                        "{\"customer_id\":\"c-1\",\"email_address\":\"ada@example.com\","
                                + "\"postal\":{\"street_line\":\"12 Rua Augusta\"},\"via\":\"web\"}")));
        String stored = lethe.store()
                .readStream(STREAM, 0, Direction.FORWARD, 1)
                .get(0)
                .data()
                .toString();
        assertThat(stored).doesNotContain("ada@example.com", "Rua Augusta").contains("\"via\":\"web\"");
    }

    @Test
    void other_spellings_of_a_classified_field_are_refused_too_outside_strict_mode() {
        register();
        long head = lethe.store().headPosition();
        for (String written : List.of(
                "{\"customer_id\":\"c-1\",\"EMAIL_ADDRESS\":\"ada@example.com\"}",
                "{\"customer_id\":\"c-1\",\"EmailAddress\":\"ada@example.com\"}",
                "{\"customer_id\":\"c-1\",\"postal\":{\"STREET_LINE\":\"12 Rua Augusta\"}}")) {
            assertThat(catchThrowable(() ->
                            lethe.append(STREAM, ExpectedVersion.any(), List.of(EventData.of("SignedUp", written)))))
                    .as(written)
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining("another spelling of the classified field")
                    .hasMessageContaining("registered from a Protobuf message")
                    .hasMessageNotContaining("ada@example.com")
                    .hasMessageNotContaining("Rua Augusta");
        }
        assertThat(lethe.store().headPosition()).isEqualTo(head);
    }

    @Test
    void a_protobuf_registration_whose_source_lacks_the_json_names_is_refused() {
        assertThatThrownBy(() -> lethe.registerSchema(
                        DPO,
                        ProtobufNotation.read("SignedUp", descriptorSet, MESSAGE),
                        SchemaRegistry.Notation.PROTOBUF,
                        ProtobufNotation.allPaths("SignedUp", descriptorSet, MESSAGE),
                        Json.parse("{\"message\":\"" + MESSAGE + "\"}")))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("ProtobufNotation.source");
        assertThat(lethe.schemas().latest("SignedUp")).isEmpty();
    }
}
