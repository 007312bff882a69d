package dev.lethe.core.privacy.keys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.crypto.tink.Aead;
import dev.lethe.core.privacy.DataGroup;
import dev.lethe.core.privacy.SubjectId;
import dev.lethe.core.privacy.policy.DataPolicy;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.Key;
import java.security.Provider;
import java.security.Security;
import java.time.Clock;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link Pkcs11MasterKey} against real SoftHSM2 tokens in a private token directory ({@link SoftHsm}).
 *
 * <p>Without SoftHSM2 the class is skipped with a warning, or fails when {@code LETHE_REQUIRE_ALL=1}.
 * The tests share one token, so they assert epochs relative to the one they find, never absolute ones
 * (except on a second token that only one test uses).
 */
class Pkcs11MasterKeyIT {
    private static final String PIN = SoftHsm.PIN;
    private static final String SHARED_TOKEN = "lethe-test";
    private static final String EMPTY_TOKEN = "lethe-empty";
    private static final String POLICY = "groups:\n  contact: {retention: P1Y, period: P1M}\n"
            + "roles:\n  dpo: {read: [contact], may: [forget, export, rotate-keys]}\n";
    private static final byte[] KEY = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CONTEXT = "lethe/subject/s-1".getBytes(StandardCharsets.UTF_8);

    private static Path library;
    private static long sharedSlot;
    private static long emptySlot;

    @BeforeAll
    static void initialise_two_private_tokens() throws Exception {
        SoftHsm hsm = SoftHsm.tokens("Pkcs11MasterKeyIT", SHARED_TOKEN, EMPTY_TOKEN);
        library = hsm.library();
        sharedSlot = hsm.slot(SHARED_TOKEN);
        emptySlot = hsm.slot(EMPTY_TOKEN);
    }

    @Test
    void a_wrapped_key_unwraps_with_its_context_and_with_no_other() {
        try (Pkcs11MasterKey master = open(sharedSlot)) {
            byte[] wrapped = master.wrap(KEY, CONTEXT);

            assertThat(wrapped).hasSize(4 + 12 + KEY.length + 16);
            assertThat(epochOf(wrapped)).isEqualTo(master.epoch());
            assertThat(master.unwrap(wrapped, CONTEXT)).isEqualTo(KEY);
            assertThat(master.wrap(KEY, CONTEXT)).as("a fresh IV every time").isNotEqualTo(wrapped);
            assertThatThrownBy(() -> master.unwrap(wrapped, "lethe/subject/s-2".getBytes(StandardCharsets.UTF_8)))
                    .isInstanceOf(KeyUnavailableException.class);
        }
    }

    @Test
    void a_tampered_or_truncated_wrapped_key_does_not_unwrap() {
        try (Pkcs11MasterKey master = open(sharedSlot)) {
            byte[] tampered = master.wrap(KEY, CONTEXT);
            tampered[20] ^= 1;

            // The key's failure, not the device's: a key check calls it bad, and readiness stays up.
            assertThatThrownBy(() -> master.unwrap(tampered, CONTEXT))
                    .isInstanceOfSatisfying(
                            KeyUnavailableException.class,
                            e -> assertThat(e.masterKeyUnreachable())
                                    .as(e.getMessage())
                                    .isFalse());
            byte[] elsewhere = master.wrap(KEY, CONTEXT);
            assertThatThrownBy(() -> master.unwrap(elsewhere, "another context".getBytes(StandardCharsets.UTF_8)))
                    .isInstanceOfSatisfying(
                            KeyUnavailableException.class,
                            e -> assertThat(e.masterKeyUnreachable())
                                    .as(e.getMessage())
                                    .isFalse());
            assertThatThrownBy(() -> master.unwrap(new byte[31], CONTEXT)).isInstanceOf(KeyUnavailableException.class);
            // What tells a bad tag from a failing token when the token answers CKR_GENERAL_ERROR for both.
            assertThat(master.roundTrips(master.epoch())).isTrue();
            assertThat(master.roundTrips(master.epoch() + 1)).isFalse();
        }
    }

    @Test
    void opening_an_empty_token_creates_epoch_1_as_a_sensitive_unextractable_token_key() throws Exception {
        try (Pkcs11MasterKey master = open(emptySlot)) {
            assertThat(master.epoch()).isEqualTo(1);
        }
        java.security.KeyStore token = tokenKeyStore(emptySlot);
        assertThat(Collections.list(token.aliases())).containsExactly("lethe-master-1");
        Key key = token.getKey("lethe-master-1", null);
        assertThat(key.getEncoded()).as("key material read out of the token").isNull();
        assertThat(key.toString()).contains("token object", ", sensitive", ", unextractable");
    }

    @Test
    void during_a_rotation_old_keys_unwrap_and_after_it_a_backup_from_before_is_useless() {
        byte[] backup;
        int old;
        try (Pkcs11MasterKey master = open(sharedSlot)) {
            backup = master.wrap(KEY, CONTEXT);
            old = master.epoch();

            int next = master.beginRotation();
            assertThat(next).isEqualTo(old + 1).isEqualTo(master.epoch());
            byte[] rewrapped = master.wrap(master.unwrap(backup, CONTEXT), CONTEXT);
            assertThat(epochOf(rewrapped)).isEqualTo(next);

            assertThat(master.liveEpochs()).containsExactly(old, next);
            assertThat(master.finishRotation()).containsExactly(old);
            assertThat(master.liveEpochs()).containsExactly(next);
            assertThat(master.unwrap(rewrapped, CONTEXT)).isEqualTo(KEY);
            assertThatThrownBy(() -> master.unwrap(backup, CONTEXT))
                    .isInstanceOf(KeyUnavailableException.class)
                    .hasMessageContaining("epoch " + old);
        }
        try (Pkcs11MasterKey reopened = open(sharedSlot)) {
            assertThatThrownBy(() -> reopened.unwrap(backup, CONTEXT)).isInstanceOf(KeyUnavailableException.class);
        }
    }

    @Test
    void a_reopened_master_key_finds_every_epoch_in_the_token() {
        try (Pkcs11MasterKey first = open(sharedSlot)) {
            byte[] underOld = first.wrap(KEY, CONTEXT);
            int next = first.beginRotation();
            byte[] underNew = first.wrap(KEY, CONTEXT);

            try (Pkcs11MasterKey reopened = open(sharedSlot)) {
                assertThat(reopened.epoch()).isEqualTo(next);
                assertThat(reopened.unwrap(underOld, CONTEXT)).isEqualTo(KEY);
                assertThat(reopened.unwrap(underNew, CONTEXT)).isEqualTo(KEY);
            }
            first.finishRotation();
        }
    }

    @Test
    void opens_of_one_token_share_its_provider_and_another_token_gets_its_own() {
        try (Pkcs11MasterKey first = open(sharedSlot);
                Pkcs11MasterKey second = open(sharedSlot);
                Pkcs11MasterKey other = open(emptySlot)) {
            // A provider configured per open kept ~75 KB of native state each, never released.
            assertThat(second.provider()).isSameAs(first.provider());
            assertThat(other.provider()).isNotSameAs(first.provider());
        }
    }

    @Test
    void opens_at_once_of_a_prefix_with_no_key_create_one_epoch_not_one_each() throws Exception {
        String prefix = "lethe-master-" + java.util.UUID.randomUUID() + "-";
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        try {
            java.util.concurrent.CountDownLatch start = new java.util.concurrent.CountDownLatch(1);
            List<java.util.concurrent.Future<Integer>> epochs = new java.util.ArrayList<>();
            for (int i = 0; i < 4; i++) {
                epochs.add(pool.submit(() -> {
                    start.await();
                    try (Pkcs11MasterKey master =
                            Pkcs11MasterKey.open(library, sharedSlot, PIN.toCharArray(), prefix, () -> true)) {
                        return master.epoch();
                    }
                }));
            }
            start.countDown();
            for (java.util.concurrent.Future<Integer> epoch : epochs) {
                assertThat(epoch.get(30, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(1);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(Collections.list(tokenKeyStore(sharedSlot).aliases()))
                .filteredOn(alias -> alias.startsWith(prefix))
                .containsExactly(prefix + "1");
    }

    @Test
    void a_wrong_pin_is_refused_even_after_another_open_logged_the_process_in() {
        try (Pkcs11MasterKey loggedIn = open(sharedSlot)) {
            // The token would accept it: the process is logged in. Lethe remembers which PIN did that.
            assertThatThrownBy(() -> Pkcs11MasterKey.open(library, sharedSlot, "000000".toCharArray()))
                    .isInstanceOf(dev.lethe.core.store.StorageException.class)
                    .hasMessageContaining("wrong PIN for the PKCS#11 token in slot " + sharedSlot)
                    .hasMessageNotContaining(PIN)
                    // The slot id is random (SoftHSM2 picks it) and may hold any digits: left out of this check.
                    .satisfies(e -> assertThat(e.getMessage().replace(String.valueOf(sharedSlot), "SLOT"))
                            .doesNotContain("000000"));
            // The same module named through another path is the same token, and the same login.
            Path alias = library.getParent().resolve(".").resolve(library.getFileName());
            assertThatThrownBy(() -> Pkcs11MasterKey.open(alias, sharedSlot, "000000".toCharArray()))
                    .hasMessageContaining("wrong PIN");
            try (Pkcs11MasterKey again = open(sharedSlot);
                    Pkcs11MasterKey viaAlias = Pkcs11MasterKey.open(alias, sharedSlot, PIN.toCharArray())) {
                assertThat(again.epoch()).isEqualTo(loggedIn.epoch());
                assertThat(viaAlias.provider()).isSameAs(again.provider());
            }
        }
    }

    @Test
    void describe_names_the_library_and_the_slot_but_never_the_pin() {
        try (Pkcs11MasterKey master = open(sharedSlot)) {
            assertThat(master.describe())
                    .contains(library.toString(), "slot " + sharedSlot)
                    .doesNotContain(PIN);
        }
    }

    @Test
    void the_key_service_seals_and_opens_data_and_rotates_its_master_key_in_the_hsm() throws Exception {
        InMemoryKeyStore store = new InMemoryKeyStore();
        DataGroup contact = DataGroup.of("contact");
        byte[] plaintext = "anna@example.org".getBytes(StandardCharsets.UTF_8);
        byte[] aad = "event-1/email".getBytes(StandardCharsets.UTF_8);
        SubjectId subject;
        byte[] ciphertext;
        try (KeyService keys = new KeyService(store, open(sharedSlot), policy(), Clock.systemUTC())) {
            int before = keys.master().epoch();
            subject = keys.newSubject();
            ciphertext = keys.sealer(subject, contact, "2026-11").encrypt(plaintext, aad);

            KeyService.Rotation rotation = keys.rotateMaster();

            assertThat(rotation.newEpoch()).isEqualTo(before + 1);
            assertThat(rotation.rewrapped()).isGreaterThanOrEqualTo(2);
            assertThat(rotation.destroyedEpochs()).containsExactly(before);
        }
        // A new service, so the data key comes from the re-wrapped keys and the HSM, not from a cache.
        try (KeyService keys = new KeyService(store, open(sharedSlot), policy(), Clock.systemUTC())) {
            KeyService.Lookup lookup = keys.opener(subject, contact, "2026-11");

            assertThat(lookup).isInstanceOf(KeyService.Found.class);
            Aead opener = ((KeyService.Found) lookup).aead();
            assertThat(opener.decrypt(ciphertext, aad)).isEqualTo(plaintext);
        }
    }

    @Test
    void stores_sharing_a_token_under_their_own_prefixes_rotate_apart() {
        String a = "lethe-master-" + java.util.UUID.randomUUID() + "-";
        String b = "lethe-master-" + java.util.UUID.randomUUID() + "-";
        try (Pkcs11MasterKey first = Pkcs11MasterKey.open(library, sharedSlot, PIN.toCharArray(), a, () -> true);
                Pkcs11MasterKey second = Pkcs11MasterKey.open(library, sharedSlot, PIN.toCharArray(), b, () -> true)) {
            assertThat(first.epoch()).isEqualTo(1);
            assertThat(second.epoch()).isEqualTo(1);
            byte[] underB = second.wrap(KEY, CONTEXT);
            assertThatThrownBy(() -> first.unwrap(underB, CONTEXT))
                    .as("epoch 1 of another prefix is another key")
                    .isInstanceOf(KeyUnavailableException.class);

            first.beginRotation();
            assertThat(first.finishRotation()).containsExactly(1);

            assertThat(second.unwrap(underB, CONTEXT)).isEqualTo(KEY);
            assertThat(first.describe()).contains("keys " + a + "<epoch>");
        }
        try (Pkcs11MasterKey reopened = Pkcs11MasterKey.open(library, sharedSlot, PIN.toCharArray(), b, () -> false)) {
            assertThat(reopened.liveEpochs()).containsExactly(1);
        }
    }

    @Test
    void a_prefix_with_no_key_in_the_token_is_refused_when_none_may_be_created() throws Exception {
        String prefix = "lethe-master-" + java.util.UUID.randomUUID() + "-";

        assertThatThrownBy(() -> Pkcs11MasterKey.open(library, sharedSlot, PIN.toCharArray(), prefix, () -> false))
                .isInstanceOf(dev.lethe.core.store.StorageException.class)
                .hasMessageContaining("slot " + sharedSlot)
                .hasMessageContaining("holds no key labelled " + prefix + "<epoch>");
        assertThat(Collections.list(tokenKeyStore(sharedSlot).aliases())).noneMatch(alias -> alias.startsWith(prefix));
        assertThatThrownBy(() -> Pkcs11MasterKey.open(library, sharedSlot, PIN.toCharArray(), "a b", () -> true))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'a b'");
    }

    private static Pkcs11MasterKey open(long slot) {
        return Pkcs11MasterKey.open(library, slot, PIN.toCharArray());
    }

    private static DataPolicy policy() {
        return DataPolicy.parse(POLICY);
    }

    private static int epochOf(byte[] wrapped) {
        return ByteBuffer.wrap(wrapped).getInt();
    }

    private static java.security.KeyStore tokenKeyStore(long slot) throws Exception {
        Provider provider = Security.getProvider("SunPKCS11").configure(Pkcs11MasterKey.config(library, slot));
        java.security.KeyStore token = java.security.KeyStore.getInstance("PKCS11", provider);
        token.load(null, PIN.toCharArray());
        return token;
    }
}
