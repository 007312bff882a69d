package dev.lethe.guide;

import dev.lethe.core.privacy.Principal;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.StreamId;
import dev.lethe.sqlite.SqliteLethe;
import dev.lethe.sqlite.SqliteOptions;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Guide §1: the master key in a PKCS#11 token. Run with SoftHSM2:
 *   SOFTHSM2_CONF=… java -cp lethe.jar:out HsmStore /usr/lib/softhsm/libsofthsm2.so SLOT PIN-FILE
 */
public class HsmStore {
    public static void main(String[] args) throws Exception {
        Path dir = Guide.dir("hsm-store");
        OpenStore.deleteTree(dir);
        // tag::pkcs11[]
        Path library = Path.of(args[0]);                 // the vendor's PKCS#11 module
        long slot = Long.parseLong(args[1]);
        char[] pin = Files.readString(Path.of(args[2]), StandardCharsets.UTF_8).strip().toCharArray();
        SqliteOptions options = SqliteOptions.DEFAULT.withPkcs11(new SqliteOptions.Pkcs11(library, slot, pin));
        try (SqliteLethe lethe = SqliteLethe.open(dir, options)) {
            System.out.println(lethe.privacy().keys().masterEpochs()); // [1]: lethe-master-<store id>-1 in the token
        }
        // end::pkcs11[]
        try (SqliteLethe lethe = SqliteLethe.open(dir, options)) {
            lethe.privacy().registerJsonSchema(new Principal("dora", "dpo"), "Signup", dev.lethe.core.store.Json.parse(
                    "{\"type\":\"object\",\"properties\":{\"email\":{\"type\":\"string\",\"x-gdpr\":{\"pii\":true,\"key\":true}}}}").asTree());
            var r = lethe.privacy().append(StreamId.of("signup-1"), ExpectedVersion.any(),
                    List.of(EventData.of("Signup", "{\"email\":\"ada@example.com\"}")));
            System.out.println(lethe.privacy().reveal(lethe.store().readAll(r.firstPosition(), 1).get(0),
                    new Principal("dora", "dpo")).data());
            System.out.println(Files.exists(dir.resolve("master.keyset.json")));   // false
        }
        try {
            SqliteLethe.open(dir).close();   // without the token settings
        } catch (RuntimeException e) {
            System.out.println(e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }
}
