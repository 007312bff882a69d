package dev.lethe.sqlite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lethe.core.privacy.Principal;
import dev.lethe.core.privacy.SubjectId;
import dev.lethe.core.privacy.keys.Pkcs11MasterKey;
import dev.lethe.core.privacy.keys.SoftHsm;
import dev.lethe.core.store.StorageException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A data directory whose master key is in a PKCS#11 token (SoftHSM2): opened, reopened, rotated, shared
 * by two stores, and refused without its token or with another. Skipped with a warning without SoftHSM2,
 * failed with {@code LETHE_REQUIRE_ALL=1}.
 */
class Pkcs11StoreIT {
    private static final Principal DPO = new Principal("dora", "dpo");
    private static SoftHsm hsm;
    private static SqliteOptions.Pkcs11 token;
    private static SqliteOptions.Pkcs11 emptyToken;

    @TempDir
    Path parent;

    @BeforeAll
    static void tokens() throws Exception {
        hsm = SoftHsm.tokens("Pkcs11StoreIT", "stores", "empty", "never-logged-in");
        token = new SqliteOptions.Pkcs11(hsm.library(), hsm.slot("stores"), SoftHsm.PIN.toCharArray());
        emptyToken = new SqliteOptions.Pkcs11(hsm.library(), hsm.slot("empty"), SoftHsm.PIN.toCharArray());
    }

    private static SqliteOptions in(SqliteOptions.Pkcs11 where) {
        return SqliteOptions.DEFAULT.withPkcs11(where);
    }

    @Test
    void a_store_keeps_its_master_key_in_the_token_under_its_own_labels_and_reopens_with_it() throws Exception {
        Path data = parent.resolve("a");
        SubjectId ada;
        String storeId;
        try (SqliteLethe lethe = SqliteLethe.open(data, in(token))) {
            ada = lethe.privacy().keys().resolve("ada@example.com");
            try (SqliteKeyStore keys = SqliteKeyStore.open(data, true)) {
                storeId = keys.note(SqliteLethe.STORE_ID_NOTE).orElseThrow();
            }
            assertThat(lethe.privacy().keys().master().describe())
                    .contains(
                            "PKCS#11 token in slot " + token.slot(), "lethe-master-" + storeId + "-<epoch>", "epoch 1")
                    .doesNotContain(SoftHsm.PIN);
        }
        assertThat(data.resolve("master.keyset.json")).doesNotExist();
        assertThat(hsm.labels(token.slot())).contains(Pkcs11MasterKey.LABEL_PREFIX + storeId + "-1");

        try (SqliteLethe lethe = SqliteLethe.open(data, in(token))) {
            assertThat(lethe.privacy().keys().lookup("ada@example.com")).contains(ada);
        }
        try (SqliteLethe lethe = SqliteLethe.openReadOnly(data, in(token))) {
            assertThat(lethe.privacy().keys().lookup("ada@example.com")).contains(ada);
        }
    }

    @Test
    void two_stores_share_a_token_and_a_rotation_destroys_only_its_own_stores_old_key() throws Exception {
        Path a = parent.resolve("a");
        Path b = parent.resolve("b");
        SubjectId ada;
        SubjectId bob;
        try (SqliteLethe lethe = SqliteLethe.open(a, in(token))) {
            ada = lethe.privacy().keys().resolve("ada@example.com");
        }
        try (SqliteLethe lethe = SqliteLethe.open(b, in(token))) {
            bob = lethe.privacy().keys().resolve("bob@example.com");
        }
        try (SqliteLethe lethe = SqliteLethe.open(a, in(token))) {
            lethe.privacy().rotateMasterKey(DPO);
            assertThat(lethe.privacy().keys().masterEpochs()).containsExactly(2);
        }
        try (SqliteLethe lethe = SqliteLethe.open(b, in(token))) {
            assertThat(lethe.privacy().keys().lookup("bob@example.com"))
                    .as("B after A rotated")
                    .contains(bob);
            assertThat(lethe.privacy().keys().masterEpochs()).containsExactly(1);
        }
        try (SqliteLethe lethe = SqliteLethe.open(a, in(token))) {
            assertThat(lethe.privacy().keys().lookup("ada@example.com"))
                    .as("A after its rotation")
                    .contains(ada);
        }
    }

    @Test
    void a_store_opened_without_its_token_or_with_another_is_refused_and_no_key_is_created() throws Exception {
        Path data = parent.resolve("a");
        try (SqliteLethe lethe = SqliteLethe.open(data, in(token))) {
            lethe.privacy().keys().resolve("ada@example.com");
        }

        assertThatThrownBy(() -> SqliteLethe.open(data))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("this store's master key is in a PKCS#11 token")
                .hasMessageContaining("give --pkcs11-library, --pkcs11-slot and the PIN");
        assertThat(data.resolve("master.keyset.json")).doesNotExist();

        assertThatThrownBy(() -> SqliteLethe.open(data, in(emptyToken)))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("the PKCS#11 token in slot " + emptyToken.slot())
                .hasMessageContaining("keys.db holds keys wrapped by it, so this is not its token");
        assertThatThrownBy(() -> SqliteLethe.openReadOnly(data, in(emptyToken)))
                .hasMessageContaining("A read-only open never creates one");
        assertThat(hsm.labels(emptyToken.slot())).isEmpty();

        // A PKCS#11 login is shared by the whole process, so a wrong PIN is tried on a token no test logged in to.
        long locked = hsm.slot("never-logged-in");
        SqliteOptions.Pkcs11 wrongPin = new SqliteOptions.Pkcs11(token.library(), locked, "0000".toCharArray());
        assertThatThrownBy(() -> SqliteLethe.open(data, in(wrongPin)))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("cannot open the PKCS#11 token in slot " + locked)
                .hasMessageContaining("the PIN is wrong (each wrong PIN uses up one of the token's login retries")
                .hasMessageContaining("CKR_PIN_INCORRECT")
                // The slot id is random (SoftHSM2 picks it) and may hold any digits: left out of this check.
                .satisfies(e -> assertThat(e.getMessage().replace(String.valueOf(locked), "SLOT"))
                        .doesNotContain("0000"));
        // A new store's first open with the wrong PIN leaves no store behind (a later open would need no --init).
        Path fresh = parent.resolve("fresh-wrong-pin");
        assertThatThrownBy(() -> SqliteLethe.open(fresh, in(wrongPin))).hasMessageContaining("CKR_PIN_INCORRECT");
        assertThat(fresh.resolve(SqliteEventStore.FILE_NAME)).doesNotExist();
        assertThat(fresh.resolve(SqliteKeyStore.FILE_NAME)).doesNotExist();
        assertThat(fresh.resolve("policy.yaml")).doesNotExist();

        try (SqliteLethe lethe = SqliteLethe.open(data, in(token))) {
            assertThat(lethe.privacy().keys().lookup("ada@example.com")).isPresent();
        }
    }

    @Test
    void a_store_whose_keys_a_keyset_file_wraps_is_not_moved_into_a_token() throws Exception {
        Path data = parent.resolve("local");
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            lethe.privacy().keys().resolve("ada@example.com");
        }

        assertThatThrownBy(() -> SqliteLethe.open(data, in(token)))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("this store's master key is the keyset master.keyset.json in the data directory")
                .hasMessageContaining("move them into the token first with lethe keys move-to-pkcs11");

        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            assertThat(lethe.privacy().keys().lookup("ada@example.com")).isPresent();
        }
        assertThatThrownBy(() -> SqliteOptions.DEFAULT.withPkcs11(token).withMasterKeyDirectory(parent))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not both");
    }

    @Test
    void a_store_whose_keys_a_keyset_file_wraps_moves_into_a_token_and_the_keyset_file_is_deleted() throws Exception {
        Path data = parent.resolve("moving");
        SubjectId ada;
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            ada = lethe.privacy().keys().resolve("ada@example.com");
        }
        Path keyset = data.resolve("master.keyset.json");
        java.util.Set<String> indexBefore = blindIndexHashes(data);

        SqliteLethe.MasterKeyMove move = SqliteLethe.moveMasterKeyToToken(data, SqliteOptions.DEFAULT, token, DPO);

        // Keyed anew under a secret only the token unwraps: the keyset left behind (or a copy of it) and a copy
        // of keys.db from before the move no longer compute the moved store's entries from a natural key.
        assertThat(blindIndexHashes(data)).hasSameSizeAs(indexBefore).doesNotContainAnyElementsOf(indexBefore);

        assertThat(move.rewrapped()).isGreaterThanOrEqualTo(2); // Ada's key and the blind-index secret
        assertThat(move.from()).contains("local keyset");
        assertThat(move.to()).contains("PKCS#11 token in slot " + token.slot());
        assertThat(move.keyset()).isEqualTo(keyset.toAbsolutePath().normalize());
        assertThat(move.keysetDeleted()).isTrue();
        assertThat(keyset).doesNotExist();
        assertThatThrownBy(() -> SqliteLethe.open(data)).hasMessageContaining("is in a PKCS#11 token");
        try (SqliteLethe lethe = SqliteLethe.open(data, in(token))) {
            assertThat(lethe.privacy().keys().lookup("ada@example.com")).contains(ada);
            assertThat(lethe
                            .store()
                            .readStream(
                                    dev.lethe.core.privacy.AuditLog.STREAM,
                                    0,
                                    dev.lethe.core.store.Direction.FORWARD,
                                    100)
                            .stream()
                            .map(dev.lethe.core.store.RecordedEvent::type))
                    .containsSubsequence("MasterKeyMoveStarted", "MasterKeyMoved")
                    .containsOnlyOnce("MasterKeyMoved");
            assertThat(lethe.privacy().keys().note(dev.lethe.core.privacy.PrivateEventStore.MOVE_UNAUDITED_NOTE))
                    .as("the move's entry is written: nothing left for the next open")
                    .contains("");
        }
        assertThatThrownBy(() -> SqliteLethe.moveMasterKeyToToken(data, SqliteOptions.DEFAULT, token, DPO))
                .as("moved already")
                .hasMessageContaining("already in a PKCS#11 token: there is nothing to move");
    }

    private static java.util.Set<String> blindIndexHashes(Path data) throws Exception {
        java.util.Set<String> hashes = new java.util.HashSet<>();
        try (var connection = java.sql.DriverManager.getConnection("jdbc:sqlite:" + data.resolve("keys.db"));
                var rows = connection.createStatement().executeQuery("SELECT hex(hmac) FROM blind_index")) {
            while (rows.next()) {
                hashes.add(rows.getString(1));
            }
        }
        assertThat(hashes).isNotEmpty();
        return hashes;
    }

    @Test
    void a_move_stopped_before_it_deleted_the_keyset_file_is_finished_by_the_next_open() throws Exception {
        Path data = parent.resolve("stopped");
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            lethe.privacy().keys().resolve("ada@example.com");
        }
        Path keyset = data.resolve("master.keyset.json");
        String storeId;
        try (SqliteKeyStore keys = SqliteKeyStore.open(data, true)) {
            storeId = keys.note(SqliteLethe.STORE_ID_NOTE).orElseThrow();
        }
        // The move's commit, without the deletion that follows it.
        try (SqliteLethe lethe = SqliteLethe.open(data);
                Pkcs11MasterKey target = Pkcs11MasterKey.open(
                        token.library(), token.slot(), token.pin(), "lethe-master-" + storeId + "-", () -> true)) {
            lethe.privacy()
                    .moveMasterKey(
                            target,
                            java.util.Map.of(
                                    SqliteLethe.KEYSET_NOTE,
                                    SqliteLethe.IN_PKCS11_TOKEN,
                                    SqliteLethe.MOVED_KEYSET_NOTE,
                                    keyset.toString()),
                            DPO);
        }
        assertThat(keyset).exists();

        try (SqliteLethe lethe = SqliteLethe.openReadOnly(data, in(token))) {
            assertThat(lethe.privacy().keys().lookup("ada@example.com")).isPresent();
            assertThat(lethe.keysetLeftByMove()).as("a reader reports it").contains(keyset);
        }
        assertThat(keyset).as("a reader leaves it").exists();
        try (SqliteLethe lethe = SqliteLethe.open(data, in(token))) {
            assertThat(lethe.privacy().keys().lookup("ada@example.com")).isPresent();
            assertThat(lethe.keysetLeftByMove())
                    .as("deleted as the writer opened")
                    .isEmpty();
        }
        assertThat(keyset).doesNotExist();
    }

    @Test
    void a_token_store_without_keys_yet_is_not_switched_to_a_keyset_file_by_a_command_without_the_token() {
        Path data = parent.resolve("empty-store");
        SqliteLethe.open(data, in(token)).close(); // no personal data yet: keys.db holds no wrapped key

        assertThatThrownBy(() -> SqliteLethe.open(data))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("this store's master key is in a PKCS#11 token");
        assertThat(data.resolve("master.keyset.json")).doesNotExist();
    }

    @Test
    void a_copy_with_its_own_keyset_may_not_move_into_a_token_its_original_already_uses() throws Exception {
        Path original = parent.resolve("original");
        try (SqliteLethe lethe = SqliteLethe.open(original)) {
            lethe.privacy().keys().resolve("ada@example.com");
        }
        Path copy = DataDirectoryTest.copyTree(original, parent.resolve("copy"));
        SqliteLethe.moveMasterKeyToToken(original, SqliteOptions.DEFAULT, token, DPO);

        assertThatThrownBy(() -> SqliteLethe.moveMasterKeyToToken(copy, SqliteOptions.DEFAULT, token, DPO))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("already holds keys labelled")
                .hasMessageContaining("Nothing was moved");
        assertThat(copy.resolve("master.keyset.json"))
                .as("the copy keeps its keyset")
                .exists();
        try (SqliteLethe lethe = SqliteLethe.open(copy)) {
            assertThat(lethe.privacy().keys().lookup("ada@example.com")).isPresent();
        }
    }

    @Test
    void a_copy_taken_during_its_originals_move_does_not_finish_that_move_into_the_originals_token_key()
            throws Exception {
        Path original = parent.resolve("moving");
        try (SqliteLethe lethe = SqliteLethe.open(original)) {
            lethe.privacy().keys().resolve("ada@example.com");
        }
        String storeId;
        try (SqliteKeyStore keys = SqliteKeyStore.open(original, true)) {
            storeId = keys.note(SqliteLethe.STORE_ID_NOTE).orElseThrow();
        }
        // The move stopped after it created the token's key (its pending note set), before its commit.
        try (SqliteKeyStore keys = SqliteKeyStore.open(original)) {
            keys.setNote(SqliteLethe.MOVE_PENDING_NOTE, "true");
        }
        Pkcs11MasterKey.open(token.library(), token.slot(), token.pin(), "lethe-master-" + storeId + "-", () -> true)
                .close();
        Path copy = DataDirectoryTest.copyTree(original, parent.resolve("copy-while-moving"));

        assertThatThrownBy(() -> SqliteLethe.moveMasterKeyToToken(copy, SqliteOptions.DEFAULT, token, DPO))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("is a copy of " + original.toRealPath())
                .hasMessageContaining("Finish the move there")
                .hasMessageContaining("Nothing was moved");
        assertThat(copy.resolve("master.keyset.json"))
                .as("the copy keeps its keyset")
                .exists();
        // The original resumes its own move.
        assertThat(SqliteLethe.moveMasterKeyToToken(original, SqliteOptions.DEFAULT, token, DPO)
                        .rewrapped())
                .isPositive();
        try (SqliteLethe lethe = SqliteLethe.open(original, in(token))) {
            assertThat(lethe.privacy().keys().lookup("ada@example.com")).isPresent();
        }
    }

    @Test
    void a_moved_keyset_note_deletes_only_an_absolute_path_to_a_keyset_file() throws Exception {
        Path data = parent.resolve("notes");
        SqliteLethe.open(data, in(token)).close();
        Path victim = Files.writeString(parent.resolve("victim.txt"), "not a keyset");
        for (String note : new String[] {victim.toString(), "lethe-data/master.keyset.json"}) {
            try (SqliteKeyStore keys = SqliteKeyStore.open(data)) {
                keys.setNote(SqliteLethe.MOVED_KEYSET_NOTE, note);
            }
            SqliteLethe.open(data, in(token)).close();
            try (SqliteKeyStore keys = SqliteKeyStore.open(data, true)) {
                assertThat(keys.note(SqliteLethe.MOVED_KEYSET_NOTE)).as(note).contains("");
            }
        }
        assertThat(victim).exists();
    }

    @Test
    void the_pin_is_not_in_the_options_text() {
        assertThat(in(token).toString()).contains("slot " + token.slot()).doesNotContain(SoftHsm.PIN);
    }
}
