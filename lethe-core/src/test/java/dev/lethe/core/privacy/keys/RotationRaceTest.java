package dev.lethe.core.privacy.keys;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lethe.core.privacy.DataGroup;
import dev.lethe.core.privacy.SubjectId;
import dev.lethe.core.privacy.policy.DataPolicy;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A key created while a rotation runs: wrapped under the old epoch and stored after the rotation's snapshot,
 * it would be lost with that epoch. Key creation and rotation take turns.
 */
class RotationRaceTest {
    @TempDir
    Path keysDirectory;

    /** The local master key, whose wraps on the appending thread pause once, after wrapping. */
    private static final class SlowWraps extends ForwardingMasterKey {
        volatile CountDownLatch wrapped = new CountDownLatch(1);
        volatile Thread slow;
        volatile Thread slowUnwrap;

        SlowWraps(MasterKey inner) {
            super(inner);
        }

        @Override
        public byte[] wrap(byte[] key, byte[] context) {
            byte[] out = inner.wrap(key, context);
            if (Thread.currentThread() == slow) {
                slow = null;
                wrapped.countDown();
                try {
                    Thread.sleep(400); // the rotation starts meanwhile
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return out;
        }

        @Override
        public byte[] unwrap(byte[] wrapped, byte[] context) {
            if (Thread.currentThread() == slowUnwrap) {
                slowUnwrap = null;
                this.wrapped.countDown();
                try {
                    Thread.sleep(400); // read under the old epoch; the rotation destroys it meanwhile
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return inner.unwrap(wrapped, context);
        }
    }

    @Test
    void a_rotation_prints_its_epochs_unsigned_as_the_command_line_does() {
        assertThat(new KeyService.Rotation(-1, 2, List.of(-2, 7)).toString())
                .isEqualTo("Rotation[newEpoch=4294967295, rewrapped=2, destroyedEpochs=[4294967294, 7]]");
    }

    /** A month to come (a fixed one would one day be past its retention). */
    private static final String LATER_MONTH =
            (java.time.Year.now(java.time.ZoneOffset.UTC).getValue() + 3) + "-01";

    @Test
    void a_period_key_and_a_subject_created_during_a_rotation_still_unwrap_after_it() throws Exception {
        SlowWraps master = new SlowWraps(LocalMasterKey.openOrCreate(keysDirectory));
        try (KeyService keys = new KeyService(
                new InMemoryKeyStore(), master, DataPolicy.parse(DataPolicy.defaultYaml()), Clock.systemUTC())) {
            SubjectId ada = keys.resolve("ada@example.com");
            DataGroup contact = DataGroup.of("contact");
            for (Runnable create : List.<Runnable>of(
                    () -> keys.sealer(ada, contact, LATER_MONTH), // a new period key
                    keys::newSubject)) {
                java.util.concurrent.atomic.AtomicReference<Throwable> failed =
                        new java.util.concurrent.atomic.AtomicReference<>();
                Thread appending = new Thread(create);
                appending.setUncaughtExceptionHandler((thread, e) -> failed.set(e));
                master.wrapped = new CountDownLatch(1);
                master.slow = appending;
                appending.start();
                assertThat(master.wrapped.await(10, TimeUnit.SECONDS)).isTrue();
                keys.rotateMaster();
                appending.join(10_000);
                // The creation raced the rotation (it was held inside its wrap) and ended without an exception.
                assertThat(appending.isAlive()).isFalse();
                assertThat(failed.get()).isNull();
                KeyService.KeyCheck check = keys.checkKeys();
                assertThat(check.failing())
                        .as(check.failingExamples().toString())
                        .isZero();
            }
            // A read that fetched a key wrapped under the epoch a rotation then destroyed reads it again.
            SubjectId grace = keys.newSubject();
            KeyService.Lookup[] lookup = new KeyService.Lookup[1];
            Thread reading = new Thread(() -> lookup[0] = keys.opener(grace, contact, LATER_MONTH));
            master.wrapped = new CountDownLatch(1);
            master.slowUnwrap = reading;
            reading.start();
            assertThat(master.wrapped.await(10, TimeUnit.SECONDS)).isTrue();
            keys.rotateMaster();
            reading.join(10_000);
            assertThat(lookup[0]).isInstanceOf(KeyService.Found.class);
        }
    }

    @Test
    void a_rotation_tells_its_progress_every_thousand_keys_and_at_the_end() {
        try (KeyService keys = new KeyService(
                new InMemoryKeyStore(),
                LocalMasterKey.openOrCreate(keysDirectory),
                DataPolicy.parse(DataPolicy.defaultYaml()),
                Clock.systemUTC())) {
            for (int i = 0; i < 2_500; i++) {
                keys.newSubject();
            }
            long total = keys.checkKeys().byKind().values().stream()
                    .mapToLong(Integer::longValue)
                    .sum();
            List<long[]> heard = new java.util.ArrayList<>();
            KeyService.Rotation rotation = keys.rotateMaster((done, all) -> heard.add(new long[] {done, all}));
            assertThat(rotation.rewrapped()).isEqualTo(total);
            assertThat(heard)
                    .extracting(pair -> pair[0] + "/" + pair[1])
                    .containsExactly("1000/" + total, "2000/" + total, total + "/" + total);
        }
    }
}
