package dev.lethe.core.privacy.keys;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lethe.core.privacy.DataGroup;
import dev.lethe.core.privacy.Redaction;
import dev.lethe.core.privacy.SubjectId;
import dev.lethe.core.privacy.policy.DataPolicy;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A forgotten subject and a destroyed period stay so: a read learns it from the key store once, not for every
 * field (review Z: a replay of a log whose people were forgotten ran at a third of the speed).
 */
class PermanentMissesTest {
    @TempDir
    Path keysDirectory;

    @Test
    void forgotten_and_expired_are_asked_of_the_key_store_once() {
        AtomicInteger forgottenAsked = new AtomicInteger();
        AtomicInteger destroyedAsked = new AtomicInteger();
        KeyStore counted = InterceptedKeyStore.of(new InMemoryKeyStore(), (method, args) -> {
            if (method.equals("isForgotten")) {
                forgottenAsked.incrementAndGet();
            } else if (method.equals("isPeriodDestroyed")) {
                destroyedAsked.incrementAndGet();
            }
        });
        Instant written = Instant.parse("2026-01-15T10:00:00Z");
        try (KeyService keys = new KeyService(
                counted,
                LocalMasterKey.openOrCreate(keysDirectory),
                DataPolicy.parse(DataPolicy.defaultYaml()),
                Clock.fixed(written, ZoneOffset.UTC))) {
            DataGroup contact = DataGroup.of("contact");
            SubjectId ada = keys.resolve("ada@example.com");
            SubjectId grace = keys.resolve("grace@example.com");
            String period = keys.policy().periodOf(contact, written);
            keys.sealer(ada, contact, period);
            keys.sealer(grace, contact, period);
            keys.forget(ada, "dora", "GDPR Art. 17(1)(a)", null);
            forgottenAsked.set(0);
            for (int i = 0; i < 100; i++) {
                assertThat(keys.opener(ada, contact, period))
                        .isEqualTo(new KeyService.Missing(Redaction.Reason.FORGOTTEN));
            }
            assertThat(forgottenAsked.get()).isLessThanOrEqualTo(1);

            // The period expires (retention of contact ends long after): grace's field reads expired, asked once.
            assertThat(keys.expire(Instant.parse("2040-01-01T00:00:00Z"))).isNotEmpty();
            destroyedAsked.set(0);
            for (int i = 0; i < 100; i++) {
                assertThat(keys.opener(grace, contact, period))
                        .isEqualTo(new KeyService.Missing(Redaction.Reason.EXPIRED));
            }
            assertThat(destroyedAsked.get()).isLessThanOrEqualTo(1);
            // A subject never forgotten whose key is missing stays "unavailable", asked each time (a restore may
            // bring it back).
            assertThat(keys.opener(SubjectId.random(), contact, period))
                    .isEqualTo(new KeyService.Missing(Redaction.Reason.UNAVAILABLE));
        }
    }
}
