package dev.lethe.core.privacy.keys;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lethe.core.privacy.SubjectId;
import dev.lethe.core.privacy.policy.DataPolicy;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The blind index keyed per rotation: entries made before that keying are found, then re-keyed by a rotation. */
class BlindIndexRotationTest {
    @TempDir
    Path keysDirectory;

    private KeyService service(InMemoryKeyStore store) {
        return new KeyService(
                store,
                LocalMasterKey.openOrCreate(keysDirectory),
                DataPolicy.parse(DataPolicy.defaultYaml()),
                Clock.systemUTC());
    }

    @Test
    void a_new_store_keys_its_entries_by_the_rotations_secret_and_a_rotation_keys_them_anew() {
        InMemoryKeyStore store = new InMemoryKeyStore();
        try (KeyService keys = service(store)) {
            SubjectId ada = keys.resolve("ada@example.com");
            byte[] first = keys.blindIndex("ada@example.com");
            assertThat(store.hasUnsealedBlindIndex()).isFalse();
            assertThat(store.secret(KeyService.BLIND_INDEX_EPOCH_SECRET)).isPresent();
            // The stored hash is not the first-level index: that alone finds nothing.
            assertThat(store.subjectByBlindIndex(first)).isEmpty();
            byte[] before = store.blindIndexRows().get(0).entry().hash();

            keys.rotateMaster();
            byte[] after = store.blindIndexRows().get(0).entry().hash();
            assertThat(after).isNotEqualTo(before);
            assertThat(store.subjectByBlindIndex(before)).isEmpty();
            assertThat(keys.resolve("ada@example.com")).isEqualTo(ada);
            assertThat(keys.lookup("ada@example.com")).contains(ada);
        }
        // A service opened afresh on the rotated store finds the same subject.
        try (KeyService again = service(store)) {
            assertThat(again.lookup("ada@example.com")).contains(ada(store));
        }
    }

    private static SubjectId ada(InMemoryKeyStore store) {
        return store.blindIndexRows().get(0).subject();
    }

    @Test
    void entries_made_before_keying_per_rotation_are_found_and_the_next_rotation_keys_them() {
        InMemoryKeyStore store = new InMemoryKeyStore();
        SubjectId ada = SubjectId.random();
        try (KeyService earlier = service(store)) {
            // As an earlier release stored it: the first-level index itself, nothing sealed, no rotation secret.
            byte[] first = earlier.blindIndex("ada@example.com");
            byte[] wrapped = earlier.master().wrap(new byte[32], KeyRefs.context(KeyRefs.subject(ada)));
            store.createSubject(ada, wrapped, Optional.of(new KeyStore.IndexEntry(first, null)));
        }
        try (KeyService keys = service(store)) {
            assertThat(keys.lookup("ada@example.com")).contains(ada);
            assertThat(keys.resolve("ada@example.com")).isEqualTo(ada);
            // New subjects are stored the same way until a rotation: no secret is made beside old entries.
            SubjectId grace = keys.resolve("grace@example.com");
            assertThat(store.secret(KeyService.BLIND_INDEX_EPOCH_SECRET)).isEmpty();
            assertThat(store.hasUnsealedBlindIndex()).isTrue();

            keys.rotateMaster();
            assertThat(store.hasUnsealedBlindIndex()).isFalse();
            assertThat(store.secret(KeyService.BLIND_INDEX_EPOCH_SECRET)).isPresent();
            assertThat(store.subjectByBlindIndex(keys.blindIndex("ada@example.com")))
                    .as("the old entry is gone, re-keyed")
                    .isEmpty();
            assertThat(keys.lookup("ada@example.com")).contains(ada);
            assertThat(keys.lookup("grace@example.com")).contains(grace);
            // And after a second rotation, from sealed entries this time.
            keys.rotateMaster();
            assertThat(keys.lookup("ada@example.com")).contains(ada);
            assertThat(keys.resolve("grace@example.com")).isEqualTo(grace);
        }
        try (KeyService reopened = service(store)) {
            assertThat(reopened.lookup("ada@example.com")).contains(ada);
            assertThat(reopened.resolve("alan@example.com")).isNotIn(ada);
            assertThat(store.hasUnsealedBlindIndex()).isFalse();
        }
    }
}
