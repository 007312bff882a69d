package dev.lethe.core.privacy.keys;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lethe.core.privacy.SubjectId;
import dev.lethe.core.privacy.policy.DataPolicy;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A lookup reads a key value as an append does, without creating a subject: a known subject id is itself. */
class KeyLookupTest {
    @TempDir
    Path keysDirectory;

    @Test
    void a_subject_id_looks_up_as_itself_live_or_forgotten_and_a_forgotten_natural_key_as_none() {
        try (KeyService keys = new KeyService(
                new InMemoryKeyStore(),
                LocalMasterKey.openOrCreate(keysDirectory),
                DataPolicy.parse(DataPolicy.defaultYaml()),
                Clock.systemUTC())) {
            SubjectId ada = keys.resolve("ada@example.com");
            assertThat(keys.lookup("ada@example.com")).contains(ada);
            assertThat(keys.lookup(ada.toString())).contains(ada);
            assertThat(keys.lookup(ada.toString().toUpperCase(java.util.Locale.ROOT)))
                    .contains(ada);
            keys.forget(ada, "dora", "GDPR Art. 17(1)(a)", null);
            assertThat(keys.lookup(ada.toString())).contains(ada);
            assertThat(keys.isForgotten(ada)).isTrue();
            assertThat(keys.lookup("ada@example.com")).isEmpty();
            // A number, as a key field holding it resolves it: 1.50 and 1.5 name one subject.
            SubjectId numbered = keys.resolve("1.5");
            assertThat(keys.lookup("1.50")).contains(numbered);
            assertThat(keys.lookup("15e-1")).contains(numbered);
            assertThat(keys.lookup("1.500x")).isEmpty();
            // A UUID the store never issued is a natural key like any other: none, and none created.
            String stranger = SubjectId.random().toString();
            assertThat(keys.lookup(stranger)).isEqualTo(Optional.empty());
            assertThat(keys.lookup(stranger)).isEmpty();
        }
    }
}
