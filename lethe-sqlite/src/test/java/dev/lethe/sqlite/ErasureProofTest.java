package dev.lethe.sqlite;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lethe.core.privacy.Principal;
import dev.lethe.core.privacy.PrivacyCodec;
import dev.lethe.core.privacy.Redaction;
import dev.lethe.core.privacy.RevealedEvent;
import dev.lethe.core.privacy.SchemaRegistry;
import dev.lethe.core.privacy.SubjectId;
import dev.lethe.core.privacy.schema.JsonSchemaNotation;
import dev.lethe.core.projection.Projection;
import dev.lethe.core.projection.ProjectionRuntime;
import dev.lethe.core.store.Direction;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.RecordedEvent;
import dev.lethe.core.store.StreamId;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The erasure proof on the embedded engine: personal values are unique marker strings, and every file
 * under the data directory — event log and its WAL, projections, key store, master keyset — is scanned
 * for them, before and after a forget. And a copy of the key store taken before a forget and a master
 * key rotation, restored afterwards, cannot decrypt the forgotten subject.
 */
class ErasureProofTest {
    static final String SCHEMA = """
            {"type":"object","properties":{
               "email":{"type":"string","x-gdpr":{"pii":true,"key":true,"dataGroup":"contact"}},
               "name":{"type":"string","x-gdpr":{"pii":true,"dataGroup":"identity"}},
               "product":{"type":"string"}}}
            """;
    static final Principal DPO = new Principal("dora", "dpo");

    public record Names(dev.lethe.core.privacy.PersonalValue name, int purchases) {}

    static final Projection<Names> NAMES = Projection.perStream("names", Names.class, new Names(null, 0))
            .on("Bought", (s, e) -> new Names(dev.lethe.core.privacy.PersonalValue.of(e, "name"), s.purchases() + 1))
            .build();

    @TempDir
    Path data;

    private final List<String> markers = new ArrayList<>();

    private String marker(String what) {
        String marker = what + "-" + UUID.randomUUID().toString().replace("-", "");
        markers.add(marker);
        return marker;
    }

    private void register(SqliteLethe lethe) {
        JsonNode schema = Json.parse(SCHEMA).asTree();
        lethe.privacy()
                .registerSchema(
                        new Principal("test-dpo", "dpo"),
                        JsonSchemaNotation.read("Bought", schema),
                        SchemaRegistry.Notation.JSON_SCHEMA,
                        SchemaRegistry.propertyPaths(schema),
                        Json.of(schema));
    }

    private RecordedEvent buy(SqliteLethe lethe, String stream, String email, String name) {
        String json = "{\"email\":\"" + email + "\",\"name\":\"" + name + "\",\"product\":\"fund-a\"}";
        long position = lethe.privacy()
                .append(StreamId.of(stream), ExpectedVersion.any(), List.of(EventData.of("Bought", json)))
                .lastPosition();
        return lethe.store().readAll(position, 1).get(0);
    }

    @Test
    void no_personal_value_ever_reaches_a_file_and_forget_reaches_the_log_and_the_read_model() throws Exception {
        SubjectId ada;
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            register(lethe);
            String email = marker("email");
            RecordedEvent first = buy(lethe, "customer-1", email, marker("name"));
            for (int i = 1; i < 20; i++) {
                buy(lethe, "customer-1", email, marker("name"));
            }
            buy(lethe, "customer-2", marker("email"), marker("name"));
            ada = PrivacyCodec.subjectsOf(first.metadata()).get("email");
            try (ProjectionRuntime runtime = new ProjectionRuntime(lethe.store(), lethe.projections())) {
                runtime.start(NAMES);
                assertThat(runtime.awaitPosition("names", lethe.store().headPosition(), Duration.ofSeconds(30)))
                        .isTrue();
            }
            assertThat(scan()).as("before the forget").isEmpty();
            // The controls: the scan reads the files the data lives in, and the markers were there to be found
            // by whoever may read them.
            assertThat(files())
                    .extracting(file -> file.getFileName().toString())
                    .contains(
                            SqliteEventStore.FILE_NAME,
                            SqliteEventStore.FILE_NAME + "-wal",
                            SqliteKeyStore.FILE_NAME,
                            SqliteProjectionStore.FILE_NAME);
            assertThat(filesHolding("fund-a"))
                    .as("a non-personal value, stored as written")
                    .isNotEmpty();
            assertThat(lethe.privacy().reveal(first, DPO).data().toString()).contains(markers.get(0), markers.get(1));

            lethe.privacy().forget(ada, "GDPR Art. 17(1)(a)", null, DPO);
            assertThat(scan())
                    .as("after the forget, while open (write-ahead logs included)")
                    .isEmpty();

            for (RecordedEvent event : lethe.store().readStream(StreamId.of("customer-1"), 0, Direction.FORWARD, 100)) {
                RevealedEvent revealed = lethe.privacy().reveal(event, DPO);
                assertThat(revealed.redactions())
                        .extracting(Redaction::reason)
                        .containsOnly(Redaction.Reason.FORGOTTEN);
            }
            String state = lethe.projections().loadState("names", "customer-1").orElseThrow();
            PrivacyCodec.RevealedState revealed =
                    new PrivacyCodec(lethe.privacy().keys()).revealState(Json.parse(state), DPO);
            assertThat(revealed.redactions()).containsExactly(new Redaction("name", Redaction.Reason.FORGOTTEN));
            assertThat(lethe.privacy().reveal(buyless(lethe, "customer-2"), DPO).redactions())
                    .isEmpty();
        }
        assertThat(scan()).as("after the forget").isEmpty();
    }

    private static RecordedEvent buyless(SqliteLethe lethe, String stream) {
        return lethe.store()
                .readStream(StreamId.of(stream), 0, Direction.FORWARD, 1)
                .get(0);
    }

    @Test
    void the_deleted_subject_key_does_not_survive_in_the_key_store_files() throws Exception {
        SubjectId ada;
        byte[] wrappedKey;
        try (SqliteLethe lethe = SqliteLethe.open(data);
                SqliteKeyStore peek = SqliteKeyStore.open(data)) {
            register(lethe);
            RecordedEvent event = buy(lethe, "customer-1", marker("email"), marker("name"));
            ada = PrivacyCodec.subjectsOf(event.metadata()).get("email");
            wrappedKey = peek.subjectKey(ada).orElseThrow();
            assertThat(files().stream().anyMatch(file -> {
                        try {
                            return indexOf(Files.readAllBytes(file), wrappedKey) >= 0;
                        } catch (IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    }))
                    .as("the control: the wrapped key is in a file before the forget")
                    .isTrue();
            lethe.privacy().forget(ada, "GDPR Art. 17", null, DPO);
            // While the store is open, its write-ahead logs included: the forget itself scrubs them.
            for (Path file : files()) {
                assertThat(indexOf(Files.readAllBytes(file), wrappedKey))
                        .as("wrapped key in %s while open", file.getFileName())
                        .isNegative();
            }
        }
        String hex = HexFormat.of().formatHex(wrappedKey);
        for (Path file : files()) {
            byte[] content = Files.readAllBytes(file);
            assertThat(indexOf(content, wrappedKey))
                    .as("wrapped key %s… in %s", hex.substring(0, 16), file.getFileName())
                    .isNegative();
        }
    }

    @Test
    void a_key_store_backup_restored_after_forget_and_rotation_cannot_decrypt_the_forgotten_subject(
            @TempDir Path backup) throws Exception {
        RecordedEvent event;
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            register(lethe);
            event = buy(lethe, "customer-1", marker("email"), marker("name"));
        }
        // The backup: the key store and the master keyset as they were before the forget.
        for (String name : List.of(SqliteKeyStore.FILE_NAME, "master.keyset.json")) {
            Files.copy(data.resolve(name), backup.resolve(name));
        }
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            SubjectId ada = PrivacyCodec.subjectsOf(event.metadata()).get("email");
            lethe.privacy().forget(ada, "GDPR Art. 17", null, DPO);
            lethe.privacy().rotateMasterKey(DPO);
        }
        // An attacker restores the old key store, beside the current (rotated) master key.
        Files.copy(
                backup.resolve(SqliteKeyStore.FILE_NAME),
                data.resolve(SqliteKeyStore.FILE_NAME),
                StandardCopyOption.REPLACE_EXISTING);
        Files.deleteIfExists(data.resolve(SqliteKeyStore.FILE_NAME + "-wal"));
        Files.deleteIfExists(data.resolve(SqliteKeyStore.FILE_NAME + "-shm"));
        // The rotation itself is the proof, before any open of Lethe's forgets the subject again from the audit
        // trail: the current master key does not unwrap the subject key the restored copy still holds.
        SubjectId forgotten = PrivacyCodec.subjectsOf(event.metadata()).get("email");
        byte[] context =
                dev.lethe.core.privacy.keys.KeyRefs.context(dev.lethe.core.privacy.keys.KeyRefs.subject(forgotten));
        dev.lethe.core.privacy.keys.MasterKey current = dev.lethe.core.privacy.keys.LocalMasterKey.openOrCreate(data);
        try (SqliteKeyStore restored = SqliteKeyStore.open(data, true)) {
            byte[] wrapped = restored.subjectKey(forgotten).orElseThrow();
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> current.unwrap(wrapped, context))
                    .isInstanceOf(RuntimeException.class);
            // The control: the master keyset of the backup's time, which the rotation destroyed, unwraps it.
            Path thenKeys = Files.createDirectory(backup.resolve("then"));
            Files.copy(backup.resolve("master.keyset.json"), thenKeys.resolve("master.keyset.json"));
            assertThat(dev.lethe.core.privacy.keys.LocalMasterKey.openOrCreate(thenKeys)
                            .unwrap(wrapped, context))
                    .hasSize(32);
        }
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            RevealedEvent revealed = lethe.privacy().reveal(event, DPO);
            assertThat(revealed.redactions()).isNotEmpty();
            assertThat(revealed.redactions()).extracting(Redaction::reason).doesNotContain(Redaction.Reason.RESTRICTED);
            assertThat(revealed.data().toString()).doesNotContain(markers.get(0), markers.get(1));
        }
        // Without the rotation, that backup would have been enough for whoever reads it with the old master
        // keyset outside SqliteLethe (the open above has forgotten the subject again in the restored copy).
        for (String name : List.of(SqliteKeyStore.FILE_NAME, "master.keyset.json")) {
            Files.copy(backup.resolve(name), data.resolve(name), StandardCopyOption.REPLACE_EXISTING);
        }
        Files.deleteIfExists(data.resolve(SqliteKeyStore.FILE_NAME + "-wal"));
        Files.deleteIfExists(data.resolve(SqliteKeyStore.FILE_NAME + "-shm"));
        java.time.Clock clock = java.time.Clock.systemUTC();
        try (dev.lethe.core.privacy.PrivateEventStore byHand = new dev.lethe.core.privacy.PrivateEventStore(
                SqliteEventStore.openEngine(data, SqliteOptions.DEFAULT), // what SqliteEventStore.open refuses here
                new dev.lethe.core.privacy.keys.KeyService(
                        SqliteKeyStore.open(data),
                        dev.lethe.core.privacy.keys.LocalMasterKey.openOrCreate(data),
                        SqliteLethe.readPolicy(data),
                        clock),
                clock)) {
            assertThat(byHand.reveal(event, DPO).data().toString()).contains(markers.get(1));
        }
        // SqliteLethe itself forgets the subject again as it opens: the audit trail records the forget.
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            RevealedEvent revealed = lethe.privacy().reveal(event, DPO);
            assertThat(revealed.data().toString()).doesNotContain(markers.get(0), markers.get(1));
            assertThat(revealed.redactions()).extracting(Redaction::reason).containsOnly(Redaction.Reason.FORGOTTEN);
        }
    }

    @Test
    void after_a_rotation_a_key_store_backup_no_longer_links_a_forgotten_persons_natural_key_to_them(
            @TempDir Path backup) throws Exception {
        String email = marker("email");
        SubjectId ada;
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            register(lethe);
            ada = PrivacyCodec.subjectsOf(
                            buy(lethe, "customer-1", email, marker("name")).metadata())
                    .get("email");
        }
        // The backup of keys.db, and (for the control below only) the keyset of that time.
        Files.copy(data.resolve(SqliteKeyStore.FILE_NAME), backup.resolve(SqliteKeyStore.FILE_NAME));
        Path oldKeys = Files.createDirectory(backup.resolve("old-keyset"));
        Files.copy(data.resolve("master.keyset.json"), oldKeys.resolve("master.keyset.json"));
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            lethe.privacy().forget(ada, "GDPR Art. 17", null, DPO);
            lethe.privacy().rotateMasterKey(DPO);
            assertThat(lethe.privacy().keys().lookup(email)).isEmpty();
        }
        // Whoever holds the current keyset and keys.db computes every index a natural key can have now, and
        // looks for it in the backup: found nowhere.
        dev.lethe.core.privacy.keys.MasterKey current = dev.lethe.core.privacy.keys.LocalMasterKey.openOrCreate(data);
        byte[] first;
        byte[] now;
        try (SqliteKeyStore keys = SqliteKeyStore.open(data, true)) {
            first = hmac(secret(keys, current, "blind-index"), email.getBytes(StandardCharsets.UTF_8));
            now = hmac(secret(keys, current, "blind-index-epoch"), first);
        }
        try (SqliteKeyStore copy = SqliteKeyStore.open(backup, true)) {
            assertThat(copy.subjectByBlindIndex(first)).isEmpty();
            assertThat(copy.subjectByBlindIndex(now)).isEmpty();
            // Nor does the current keyset open the secret the backup's entries are keyed by.
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> secret(copy, current, "blind-index-epoch"))
                    .isInstanceOf(RuntimeException.class);
            // The control: with the keyset of that time (which the rotation destroyed), the entry is there.
            dev.lethe.core.privacy.keys.MasterKey then =
                    dev.lethe.core.privacy.keys.LocalMasterKey.openOrCreate(oldKeys);
            byte[] thenIndex = hmac(secret(copy, then, "blind-index-epoch"), first);
            assertThat(copy.subjectByBlindIndex(thenIndex)).contains(ada);
        }
    }

    private static byte[] secret(SqliteKeyStore keys, dev.lethe.core.privacy.keys.MasterKey master, String name) {
        String ref = dev.lethe.core.privacy.keys.KeyRefs.secret(name);
        return master.unwrap(keys.secret(name).orElseThrow(), dev.lethe.core.privacy.keys.KeyRefs.context(ref));
    }

    private static byte[] hmac(byte[] key, byte[] value) throws Exception {
        javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
        mac.init(new javax.crypto.spec.SecretKeySpec(key, "HmacSHA256"));
        return mac.doFinal(value);
    }

    private List<String> filesHolding(String text) throws IOException {
        List<String> holding = new ArrayList<>();
        for (Path file : files()) {
            if (indexOf(Files.readAllBytes(file), text.getBytes(StandardCharsets.UTF_8)) >= 0) {
                holding.add(file.getFileName().toString());
            }
        }
        return holding;
    }

    private List<String> scan() throws IOException {
        List<String> hits = new ArrayList<>();
        for (Path file : files()) {
            byte[] content = Files.readAllBytes(file);
            for (String marker : markers) {
                if (indexOf(content, marker.getBytes(StandardCharsets.UTF_8)) >= 0) {
                    hits.add(marker + " in " + file.getFileName());
                }
            }
        }
        return hits;
    }

    private List<Path> files() throws IOException {
        try (Stream<Path> paths = Files.walk(data)) {
            return paths.filter(Files::isRegularFile).toList();
        }
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i <= haystack.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
