package dev.lethe.guide;

import dev.lethe.core.privacy.Principal;
import dev.lethe.core.privacy.SchemaRegistry;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.StreamId;
import dev.lethe.protobuf.ProtobufNotation;
import dev.lethe.sqlite.SqliteLethe;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Guide §2: a Protobuf registration. examples/proto/customer.desc was made with
 * protoc -I examples/proto -I /usr/include --include_imports --descriptor_set_out=examples/proto/customer.desc examples/proto/customer.proto
 */
public class ProtobufSchema {
    public static void main(String[] args) throws Exception {
        Path dir = Guide.dir("protobuf");
        OpenStore.deleteTree(dir);
        try (SqliteLethe lethe = SqliteLethe.open(dir)) {
            Principal dora = new Principal("dora", "dpo");
            Path descriptorSet = Path.of(args[0]);
            // tag::protobuf[]
            byte[] set = Files.readAllBytes(descriptorSet);          // protoc --include_imports --descriptor_set_out
            String type = "CustomerRegistered", message = "shop.CustomerRegistered";
            var registered = lethe.privacy().registerSchema(dora,
                    ProtobufNotation.read(type, set, message),
                    SchemaRegistry.Notation.PROTOBUF,
                    ProtobufNotation.allPaths(type, set, message),
                    ProtobufNotation.source(type, set, message));     // carries the custom JSON names
            // end::protobuf[]
            lethe.privacy().append(StreamId.of("customer-1"), ExpectedVersion.any(), List.of(EventData.of(type,
                    "{\"email\":\"ada@example.com\",\"full_name\":\"Ada Lovelace\",\"tier\":\"gold\"}")));
            System.out.println(registered.schema().personalFields().stream().map(f -> f.path()).toList());
            try { // protoc's default JSON name for full_name would escape its rule: refused in every mode
                lethe.privacy().append(StreamId.of("customer-2"), ExpectedVersion.any(), List.of(EventData.of(type,
                        "{\"email\":\"grace@example.com\",\"fullName\":\"Grace Hopper\"}")));
            } catch (InvalidEventException e) {
                System.out.println(e.getMessage());
            }
            System.out.println(lethe.store().readStream(StreamId.of("customer-1"), 0,
                    dev.lethe.core.store.Direction.FORWARD, 1).get(0).data());
        }
    }
}
