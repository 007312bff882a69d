package dev.lethe.core.privacy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lethe.core.memory.InMemoryEventStore;
import dev.lethe.core.privacy.keys.ForwardingMasterKey;
import dev.lethe.core.privacy.keys.InMemoryKeyStore;
import dev.lethe.core.privacy.keys.KeyService;
import dev.lethe.core.privacy.keys.KeyUnavailableException;
import dev.lethe.core.privacy.keys.LocalMasterKey;
import dev.lethe.core.privacy.keys.MasterKey;
import dev.lethe.core.privacy.policy.DataPolicy;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.RecordedEvent;
import dev.lethe.core.store.StreamId;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A master key whose device stops answering (an HSM down, a token removed) is told apart from keys that do
 * not unwrap: the readiness probe says so until it answers again, a key check cannot run rather than
 * fail, and an export is refused rather than handed over with every field unavailable.
 */
class MasterKeyOutageTest {
    @TempDir
    Path keysDirectory;

    /** A master key that fails as a device does while {@code down}. */
    static final class Outage extends ForwardingMasterKey {
        volatile boolean down;
        /** Fails the next unwrap of a subject key only, then works again: a brief outage. */
        volatile boolean subjectOnce;

        Outage(MasterKey inner) {
            super(inner);
        }

        private void check() {
            if (down) {
                throw new KeyUnavailableException("the token did not answer: CKR_DEVICE_REMOVED", null, true);
            }
        }

        @Override
        public byte[] wrap(byte[] key, byte[] context) {
            check();
            return inner.wrap(key, context);
        }

        @Override
        public byte[] unwrap(byte[] wrapped, byte[] context) {
            check();
            if (subjectOnce && new String(context, java.nio.charset.StandardCharsets.UTF_8).contains("subject:")) {
                subjectOnce = false;
                throw new KeyUnavailableException("the token did not answer: CKR_DEVICE_ERROR", null, true);
            }
            return inner.unwrap(wrapped, context);
        }

        @Override
        public String describe() {
            return "an HSM (" + inner.describe() + ")";
        }
    }

    /** A log and key store holding one sale to Ada, written by a process with the master key {@code local}. */
    private record Store(
            Clock clock,
            InMemoryKeyStore keyStore,
            InMemoryEventStore log,
            DataPolicy policy,
            MasterKey local,
            RecordedEvent sold,
            SubjectId ada) {}

    private Store storeWithAda() {
        Clock clock = Clock.fixed(Instant.parse("2026-11-26T10:00:00Z"), ZoneOffset.UTC);
        InMemoryKeyStore keyStore = new InMemoryKeyStore();
        InMemoryEventStore log = new InMemoryEventStore(clock);
        DataPolicy policy = DataPolicy.parse(PrivateEventStoreTest.POLICY);
        MasterKey local = LocalMasterKey.openOrCreate(keysDirectory);
        // Not closed: closing it would close the shared log.
        PrivateEventStore writer = new PrivateEventStore(log, new KeyService(keyStore, local, policy, clock), clock);
        PrivateEventStoreTest.registerProductSold(writer);
        writer.append(
                StreamId.of("customer-1"),
                ExpectedVersion.any(),
                List.of(EventData.of(
                        "ProductSold", "{\"email\":\"ada@example.com\",\"name\":\"Ada\",\"product\":\"p\"}")));
        RecordedEvent sold = log.readStream(StreamId.of("customer-1"), 0, dev.lethe.core.store.Direction.FORWARD, 1)
                .get(0);
        return new Store(
                clock,
                keyStore,
                log,
                policy,
                local,
                sold,
                PrivacyCodec.subjectsOf(sold.metadata()).get("email"));
    }

    @Test
    void an_outage_is_not_ready_cannot_be_checked_refuses_exports_and_clears_once_the_device_answers() {
        Store store = storeWithAda();
        Clock clock = store.clock();
        InMemoryKeyStore keyStore = store.keyStore();
        InMemoryEventStore log = store.log();
        DataPolicy policy = store.policy();
        MasterKey local = store.local();
        SubjectId ada = store.ada();
        RecordedEvent sold = store.sold();
        // A process opened afresh (nothing cached), whose HSM then fails.
        Outage master = new Outage(local);
        // Each store over the shared log is left open (closing one closes the log).
        {
            PrivateEventStore lethe =
                    new PrivateEventStore(log, new KeyService(keyStore, master, policy, clock), clock);
            assertThat(lethe.keys().masterProblem()).isEmpty();
            master.down = true;
            assertThat(lethe.reveal(sold, PrivateEventStoreTest.DPO).redactions())
                    .extracting(Redaction::reason)
                    .containsOnly(Redaction.Reason.UNAVAILABLE);
            assertThat(lethe.keys().masterProblem())
                    .as("not ready while the device fails")
                    .hasValueSatisfying(why -> assertThat(why).contains("CKR_DEVICE_REMOVED"));
            KeyService.KeyCheck check = lethe.keys().checkKeys();
            assertThat(check.unreachable()).isEqualTo(check.total()).isPositive();
            assertThat(check.failing()).as("no key is called bad for it").isZero();
            assertThat(check.unreachableBecause())
                    .hasValueSatisfying(why -> assertThat(why).contains("CKR_"));
            SubjectId subject = ada;
            assertThatThrownBy(() -> lethe.export(subject, PrivateEventStoreTest.DPO))
                    .isInstanceOf(KeyUnavailableException.class)
                    .hasMessageContaining("cannot export now");
            assertThat(log.readStream(AuditLog.STREAM, 0, dev.lethe.core.store.Direction.FORWARD, 1000))
                    .extracting(RecordedEvent::type)
                    .doesNotContain("SubjectExported");

            master.down = false;
            assertThat(lethe.keys().masterProblem())
                    .as("ready again once it answers")
                    .isEmpty();
            assertThat(lethe.reveal(sold, PrivateEventStoreTest.DPO).redactions())
                    .isEmpty();
            assertThat(lethe.export(ada, PrivateEventStoreTest.DPO).asTree().path("events"))
                    .hasSize(1);
        }
        // A brief outage during an export (the device answers again by its end) still stops it.
        Outage brief = new Outage(local);
        try (PrivateEventStore lethe =
                new PrivateEventStore(log, new KeyService(keyStore, brief, policy, clock), clock)) {
            brief.subjectOnce = true;
            SubjectId subject = ada;
            assertThatThrownBy(() -> lethe.export(subject, PrivateEventStoreTest.DPO))
                    .isInstanceOf(KeyUnavailableException.class)
                    .hasMessageContaining("failed during the export");
            assertThat(lethe.keys().masterProblem()).as("it answers again").isEmpty();
            assertThat(lethe.export(ada, PrivateEventStoreTest.DPO).asTree().path("events"))
                    .hasSize(1);
        }
        // A new key the device cannot wrap: not ready either.
        Outage wraps = new Outage(local);
        try (KeyService keys = new KeyService(keyStore, wraps, policy, clock)) {
            wraps.down = true;
            assertThatThrownBy(keys::newSubject).isInstanceOf(KeyUnavailableException.class);
            assertThat(keys.masterProblem()).isPresent();
            assertThat(keys.masterProblem()).as("still, while the device fails").isPresent();
            wraps.down = false;
            assertThat(keys.masterProblem())
                    .as("the probe itself clears it, without traffic")
                    .isEmpty();
        }
        // A store whose blind index has no secret yet (nothing ever looked up): the probe's wrap tells.
        Outage fresh = new Outage(local);
        try (KeyService keys = new KeyService(new InMemoryKeyStore(), fresh, policy, clock)) {
            fresh.down = true;
            assertThatThrownBy(keys::newSubject).isInstanceOf(KeyUnavailableException.class);
            assertThat(keys.masterProblem()).isPresent();
            fresh.down = false;
            assertThat(keys.masterProblem()).isEmpty();
        }
    }

    @Test
    void a_forget_during_an_outage_does_not_depend_on_what_the_process_unwrapped_since_it_started() {
        Store store = storeWithAda();
        Clock clock = store.clock();
        MasterKey local = store.local();
        SubjectId ada = store.ada();
        // A server started afresh: its readiness probe ran, no natural key was looked up since; then the HSM fails.
        Outage master = new Outage(local);
        PrivateEventStore lethe = new PrivateEventStore(
                store.log(), new KeyService(store.keyStore(), master, store.policy(), clock), clock);
        assertThat(lethe.keys().masterProblem()).isEmpty();
        master.down = true;
        // A forget destroys rows only; its note check looks natural keys up under secrets unwrapped at the probe.
        assertThat(lethe.forget(ada, "GDPR Art. 17(1)(a)", "erasure request", PrivateEventStoreTest.DPO)
                        .subject())
                .isEqualTo(ada);
        assertThat(lethe.keys().isForgotten(ada)).isTrue();
    }
}
