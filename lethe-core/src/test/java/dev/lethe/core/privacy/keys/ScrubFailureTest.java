package dev.lethe.core.privacy.keys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lethe.core.privacy.DataGroup;
import dev.lethe.core.privacy.Redaction;
import dev.lethe.core.privacy.SubjectId;
import dev.lethe.core.privacy.policy.DataPolicy;
import dev.lethe.core.store.StorageException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A key store that cannot empty its files of older page images (SQLite: a reader in another process holds
 * the WAL) after an expiry or a re-wrap has committed: the change holds in this process all the same — an
 * expired period's keys are evicted, a rotation's new blind-index secret is used — and the failure is said
 * (an expiry) or logged (a re-wrap, whose older images are keys under a destroyed master epoch).
 */
class ScrubFailureTest {
    private static final Instant NOW = Instant.parse("2026-11-26T10:00:00Z");
    private static final DataGroup CONTACT = DataGroup.of("contact");

    @TempDir
    Path keysDirectory;

    /** An in-memory key store whose scrub fails, as SQLite's does while another process reads the WAL. */
    private static KeyStore unscrubbable() {
        return scrubbing(new AtomicBoolean(true), new AtomicInteger());
    }

    /** An in-memory key store whose scrubs are counted, and fail while {@code fails} is set. */
    private static KeyStore scrubbing(AtomicBoolean fails, AtomicInteger scrubs) {
        return InterceptedKeyStore.of(new InMemoryKeyStore(), (method, args) -> {
            if (method.equals("scrub")) {
                scrubs.incrementAndGet();
                if (fails.get()) {
                    throw StorageException.transientFailure(
                            "key store: another process kept the WAL from being emptied", null);
                }
            }
        });
    }

    /** The data of the last entry of {@code $audit}. */
    private static String lastAuditEntry(dev.lethe.core.privacy.PrivateEventStore lethe) {
        return lethe.store()
                .readStream(
                        dev.lethe.core.store.StreamId.of("$audit"),
                        Long.MAX_VALUE,
                        dev.lethe.core.store.Direction.BACKWARD,
                        1)
                .get(0)
                .data()
                .toString();
    }

    private KeyService service(KeyStore store) {
        return new KeyService(
                store,
                LocalMasterKey.openOrCreate(keysDirectory),
                DataPolicy.parse(DataPolicy.defaultYaml()),
                Clock.fixed(NOW, ZoneOffset.UTC));
    }

    @Test
    void an_expiry_whose_scrub_fails_says_the_periods_are_destroyed_and_leaves_none_of_their_keys_in_use() {
        try (KeyService keys = service(unscrubbable())) {
            SubjectId ada = keys.resolve("ada@example.com");
            keys.sealer(ada, CONTACT, "2026-11");
            assertThat(keys.opener(ada, CONTACT, "2026-11")).isInstanceOf(KeyService.Found.class); // cached

            assertThatThrownBy(() -> keys.expire(Instant.parse("2099-01-01T00:00:00Z")))
                    .isInstanceOf(StorageException.class)
                    .hasMessageContaining("are destroyed (their values read as expired), but key store: another"
                            + " process kept the WAL from being emptied");
            assertThat(keys.opener(ada, CONTACT, "2026-11"))
                    .isEqualTo(new KeyService.Missing(Redaction.Reason.EXPIRED));
        }
    }

    @Test
    void a_retention_run_with_nothing_due_scrubs_again_after_a_failed_scrub_and_only_then() {
        AtomicBoolean fails = new AtomicBoolean(true);
        AtomicInteger scrubs = new AtomicInteger();
        try (KeyService keys = service(scrubbing(fails, scrubs))) {
            SubjectId ada = keys.resolve("ada@example.com");
            assertThatThrownBy(() -> keys.forget(ada, "dora", "GDPR Art. 17(1)(a)", null))
                    .hasMessageContaining("is forgotten");
            assertThat(keys.duePeriods(NOW)).isEmpty();

            assertThatThrownBy(() -> keys.expire(NOW))
                    .isInstanceOf(StorageException.class)
                    .hasMessageContaining("no period key was due, but keys destroyed earlier may still have older"
                            + " page images in the key store: key store: another process kept the WAL");
            fails.set(false);
            assertThat(keys.expire(NOW)).isEmpty();
            int scrubbed = scrubs.get();
            assertThat(scrubbed)
                    .as("the forget's, the failed run's and this one's")
                    .isEqualTo(3);

            assertThat(keys.expire(NOW)).isEmpty();
            assertThat(scrubs.get()).as("nothing left to scrub: no scrub").isEqualTo(scrubbed);
        }
    }

    @Test
    void a_retention_run_whose_scrub_fails_names_the_destroyed_periods_in_its_audit_entry() {
        KeyService keys = service(unscrubbable());
        try (var lethe = new dev.lethe.core.privacy.PrivateEventStore(
                new dev.lethe.core.memory.InMemoryEventStore(), keys, Clock.fixed(NOW, ZoneOffset.UTC))) {
            keys.sealer(keys.resolve("ada@example.com"), CONTACT, "2026-11");
            assertThatThrownBy(() -> lethe.retention(
                            Instant.parse("2099-01-01T00:00:00Z"), new dev.lethe.core.privacy.Principal("dora", "dpo")))
                    .isInstanceOf(StorageException.class);
            String run = lastAuditEntry(lethe);
            assertThat(run).contains("\"expiredPeriods\":[\"contact/2026-11\"]", "\"expiryFailed\":");
        }
    }

    @Test
    void forgets_applied_again_whose_scrub_fails_are_done_and_audited() {
        KeyService keys = service(unscrubbable());
        try (var lethe = new dev.lethe.core.privacy.PrivateEventStore(
                new dev.lethe.core.memory.InMemoryEventStore(), keys, Clock.fixed(NOW, ZoneOffset.UTC))) {
            SubjectId ada = keys.resolve("ada@example.com");
            var prior = new dev.lethe.core.privacy.PrivateEventStore.PriorForget(
                    ada, java.util.UUID.randomUUID().toString(), "GDPR Art. 17(1)(a)");

            var again = lethe.forgetAgain(List.of(prior), new dev.lethe.core.privacy.Principal("dora", "dpo"));

            assertThat(again.forgotten()).extracting(ErasureReceipt::subject).containsExactly(ada);
            assertThat(keys.isForgotten(ada)).isTrue();
            String entry = lastAuditEntry(lethe);
            assertThat(entry).contains("\"reapplied\":true", "\"originalReceipt\":\"" + prior.receipt() + "\"");
        }
    }

    @Test
    void a_rotation_whose_older_epochs_cannot_be_destroyed_still_scrubs_the_rewrapped_key_store() {
        AtomicInteger scrubs = new AtomicInteger();
        MasterKey local = LocalMasterKey.openOrCreate(keysDirectory);
        MasterKey failingToFinish = (MasterKey) java.lang.reflect.Proxy.newProxyInstance(
                MasterKey.class.getClassLoader(), new Class<?>[] {MasterKey.class}, (proxy, method, args) -> {
                    if (method.getName().equals("finishRotation")) {
                        throw new IllegalStateException("keyset file: cannot write");
                    }
                    try {
                        return method.invoke(local, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
        try (KeyService keys = new KeyService(
                scrubbing(new AtomicBoolean(false), scrubs),
                failingToFinish,
                DataPolicy.parse(DataPolicy.defaultYaml()),
                Clock.fixed(NOW, ZoneOffset.UTC))) {
            SubjectId ada = keys.resolve("ada@example.com");
            int before = scrubs.get();

            assertThatThrownBy(keys::rotateMaster).hasMessageContaining("keyset file: cannot write");
            assertThat(scrubs.get()).isEqualTo(before + 1);
            assertThat(keys.lookup("ada@example.com")).contains(ada);
        }
    }

    @Test
    void a_rotation_whose_scrub_fails_completes_and_natural_keys_still_find_their_subjects() {
        try (KeyService keys = service(unscrubbable())) {
            SubjectId ada = keys.resolve("ada@example.com");

            KeyService.Rotation first = keys.rotateMaster();
            assertThat(keys.masterEpochs()).containsExactly(first.newEpoch());
            assertThat(keys.lookup("ada@example.com")).contains(ada);
            assertThat(keys.resolve("ada@example.com"))
                    .as("not a second subject")
                    .isEqualTo(ada);

            KeyService.Rotation second = keys.rotateMaster();
            assertThat(keys.masterEpochs()).containsExactly(second.newEpoch());
            assertThat(keys.lookup("ada@example.com")).contains(ada);
        }
    }
}
