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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The unwrapped subject and period keys the service keeps besides its data keys: a forget or an expiry
 * leaves none of them behind, so a data key never derived before either cannot be derived after it.
 */
class KeyCacheEvictionTest {
    private static final Instant NOW = Instant.parse("2026-11-26T10:00:00Z");
    private static final DataGroup IDENTITY = DataGroup.of("identity");
    private static final DataGroup CONTACT = DataGroup.of("contact");

    @TempDir
    Path keysDirectory;

    private KeyService service(Clock clock) {
        return new KeyService(
                new InMemoryKeyStore(),
                LocalMasterKey.openOrCreate(keysDirectory),
                DataPolicy.parse(DataPolicy.defaultYaml()),
                clock);
    }

    @Test
    void a_forget_reaches_the_data_keys_of_groups_never_opened_before_it() {
        try (KeyService keys = service(Clock.fixed(NOW, ZoneOffset.UTC))) {
            SubjectId ada = keys.resolve("ada@example.com");
            keys.sealer(ada, CONTACT, "2026-11");
            keys.sealer(ada, IDENTITY, "2026-11");
            // Opening one group caches the subject's unwrapped key; the other group's data key is not cached.
            assertThat(keys.opener(ada, IDENTITY, "2026-11")).isInstanceOf(KeyService.Found.class);
            keys.forget(ada, "dora", "GDPR Art. 17(1)(a)", null);
            assertThat(keys.opener(ada, CONTACT, "2026-11"))
                    .isEqualTo(new KeyService.Missing(Redaction.Reason.FORGOTTEN));
            assertThat(keys.opener(ada, IDENTITY, "2026-11"))
                    .isEqualTo(new KeyService.Missing(Redaction.Reason.FORGOTTEN));
        }
    }

    @Test
    void an_expiry_reaches_the_data_keys_of_subjects_never_opened_before_it() {
        try (KeyService keys = service(Clock.fixed(NOW, ZoneOffset.UTC))) {
            SubjectId ada = keys.resolve("ada@example.com");
            SubjectId alan = keys.resolve("alan@example.com");
            keys.sealer(ada, CONTACT, "2026-11");
            keys.sealer(alan, CONTACT, "2026-11");
            // Ada's opening caches the period's unwrapped key; Alan's data key is not cached.
            assertThat(keys.opener(ada, CONTACT, "2026-11")).isInstanceOf(KeyService.Found.class);
            keys.expire(Instant.parse("2099-01-01T00:00:00Z"));
            assertThat(keys.opener(alan, CONTACT, "2026-11"))
                    .isEqualTo(new KeyService.Missing(Redaction.Reason.EXPIRED));
            assertThat(keys.opener(ada, CONTACT, "2026-11"))
                    .isEqualTo(new KeyService.Missing(Redaction.Reason.EXPIRED));
        }
    }

    @Test
    void cached_data_keys_give_up_their_own_ciphers_when_forgotten_expired_or_closed() {
        KeyService keys = service(Clock.fixed(NOW, ZoneOffset.UTC));
        SubjectId ada = keys.resolve("ada@example.com");
        SubjectId alan = keys.resolve("alan@example.com");
        keys.sealer(ada, CONTACT, "2026-11");
        keys.sealer(ada, IDENTITY, "2026-11");
        keys.sealer(alan, CONTACT, "2026-11");
        keys.sealer(alan, CONTACT, "2026-10");
        assertThat(keys.ownCiphers()).isEqualTo(4);
        keys.forget(ada, "dora", "GDPR Art. 17(1)(a)", null);
        assertThat(keys.ownCiphers()).isEqualTo(2);
        keys.expire(Instant.parse("2099-01-01T00:00:00Z"));
        assertThat(keys.ownCiphers()).isZero();
        SubjectId grace = keys.resolve("grace@example.com");
        keys.sealer(grace, IDENTITY, "2099-06");
        assertThat(keys.ownCiphers()).isEqualTo(1);
        keys.close();
        assertThat(keys.ownCiphers()).isZero();
    }

    @Test
    void past_their_bound_cached_data_keys_share_their_threads_cipher_and_still_open() throws Exception {
        try (KeyService keys = service(Clock.fixed(NOW, ZoneOffset.UTC))) {
            SubjectId ada = keys.resolve("ada@example.com");
            int over = KeyService.OWN_CIPHERS + 10;
            DataKeyAead first = keys.sealer(ada, CONTACT, "p0");
            byte[] sealed = first.encrypt(new byte[] {42}, new byte[0]);
            for (int i = 1; i < over; i++) {
                keys.sealer(ada, CONTACT, "p" + i);
            }
            assertThat(keys.ownCiphers()).isEqualTo(KeyService.OWN_CIPHERS);
            DataKeyAead last = keys.sealer(ada, CONTACT, "p" + (over - 1));
            assertThat(last.decrypt(last.encrypt(new byte[] {7}, new byte[0]), new byte[0]))
                    .containsExactly(7);
            assertThat(first.decrypt(sealed, new byte[0])).containsExactly(42);
        }
    }

    @Test
    void a_lookup_racing_a_forget_never_hands_out_or_keeps_the_forgotten_subjects_key() throws Exception {
        try (KeyService keys = service(Clock.fixed(NOW, ZoneOffset.UTC))) {
            int count = 3_000;
            java.util.List<SubjectId> subjects = new java.util.ArrayList<>();
            for (int i = 0; i < count; i++) {
                SubjectId subject = keys.newSubject();
                keys.sealer(subject, CONTACT, "2026-11");
                subjects.add(subject);
            }
            java.util.concurrent.atomic.AtomicInteger frontier = new java.util.concurrent.atomic.AtomicInteger();
            java.util.concurrent.atomic.AtomicInteger handedOut = new java.util.concurrent.atomic.AtomicInteger();
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            java.util.List<Thread> readers = new java.util.ArrayList<>();
            for (int t = 0; t < 3; t++) {
                Thread reader = new Thread(() -> {
                    java.util.Random random = new java.util.Random();
                    while (!stop.get()) {
                        // Around the subject being forgotten: the ones already done, and the next.
                        int done = frontier.get();
                        int i = Math.max(0, Math.min(count - 1, done - 2 + random.nextInt(4)));
                        KeyService.Lookup lookup = keys.opener(subjects.get(i), CONTACT, "2026-11");
                        if (i < done && lookup instanceof KeyService.Found) {
                            handedOut.incrementAndGet();
                        }
                    }
                });
                reader.start();
                readers.add(reader);
            }
            try {
                for (int i = 0; i < count; i++) {
                    keys.forget(subjects.get(i), "dora", "GDPR Art. 17(1)(a)", null);
                    frontier.set(i + 1);
                }
            } finally {
                stop.set(true);
                for (Thread reader : readers) {
                    reader.join(10_000);
                }
            }
            assertThat(handedOut)
                    .as("keys handed out after their subject's forget returned")
                    .hasValue(0);
            for (SubjectId subject : subjects) {
                assertThat(keys.opener(subject, CONTACT, "2026-11"))
                        .isEqualTo(new KeyService.Missing(Redaction.Reason.FORGOTTEN));
            }
        }
    }
}
