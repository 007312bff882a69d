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
            // Two values with one blind index (a lone surrogate is encoded as '?') are one subject, in a batch too.
            java.util.Map<String, SubjectId> both = keys.resolveAll(java.util.List.of("\ud800x", "?x"));
            assertThat(both.get("\ud800x"))
                    .isEqualTo(both.get("?x"))
                    .isEqualTo(keys.lookup("?x").orElseThrow());
            // Exactly as written: the text "1.50" may be another person's key than the number 1.5.
            keys.resolve("1.5");
            assertThat(keys.lookup("1.50")).isEmpty();
            assertThat(dev.lethe.core.privacy.PrivacyCodec.numberKeyText("1.50"))
                    .contains("1.5");
            assertThat(dev.lethe.core.privacy.PrivacyCodec.numberKeyText("15e-1"))
                    .contains("1.5");
            assertThat(dev.lethe.core.privacy.PrivacyCodec.numberKeyText("1.500x"))
                    .isEmpty();
            assertThat(dev.lethe.core.privacy.PrivacyCodec.numberLookupHint("7.250"))
                    .contains("it is a number")
                    .doesNotContain("7.25");
            assertThat(dev.lethe.core.privacy.PrivacyCodec.numberLookupHint("1.5"))
                    .isEmpty();
            assertThat(dev.lethe.core.privacy.PrivacyCodec.numberLookupHint("ada@example.com"))
                    .isEmpty();
            // A UUID the store never issued is a natural key like any other: none, and none created.
            String stranger = SubjectId.random().toString();
            assertThat(keys.lookup(stranger)).isEqualTo(Optional.empty());
            assertThat(keys.lookup(stranger)).isEmpty();
        }
    }
}
