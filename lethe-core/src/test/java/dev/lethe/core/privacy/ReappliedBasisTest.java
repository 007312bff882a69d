package dev.lethe.core.privacy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lethe.core.memory.InMemoryEventStore;
import dev.lethe.core.privacy.keys.InMemoryKeyStore;
import dev.lethe.core.privacy.keys.KeyService;
import dev.lethe.core.privacy.keys.LocalMasterKey;
import dev.lethe.core.privacy.policy.DataPolicy;
import dev.lethe.core.store.Direction;
import dev.lethe.core.store.StreamId;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A forget applied again (forget-again, the receipt journal, the audit trail at open) records the legal basis
 * its input gives — text anyone may have edited — only if a new forget's would pass: never an e-mail address
 * in the audit trail, kept for good.
 */
class ReappliedBasisTest {
    @TempDir
    Path keysDirectory;

    private KeyService keys() {
        return new KeyService(
                new InMemoryKeyStore(),
                LocalMasterKey.openOrCreate(keysDirectory),
                DataPolicy.parse(DataPolicy.defaultYaml()),
                Clock.systemUTC());
    }

    @Test
    void a_legal_basis_holding_an_email_address_is_not_repeated_in_the_audit_trail() {
        KeyService keys = keys();
        try (PrivateEventStore lethe = new PrivateEventStore(new InMemoryEventStore(), keys, Clock.systemUTC())) {
            SubjectId planted = keys.resolve("someone@example.com");
            SubjectId plain = keys.resolve("other@example.com");
            String receipt = UUID.randomUUID().toString();
            lethe.forgetAgain(
                    List.of(
                            new PrivateEventStore.PriorForget(planted, receipt, "zed@secret.com"),
                            new PrivateEventStore.PriorForget(
                                    plain, UUID.randomUUID().toString(), "GDPR Art. 17(1)(a)")),
                    new Principal("dora", "dpo"));

            String trail = lethe.store()
                    .readStream(StreamId.of("$audit"), 0, Direction.FORWARD, 100)
                    .toString();
            assertThat(trail)
                    .doesNotContain("zed@secret.com")
                    .contains("as forgotten before (receipt " + receipt + "); its legal basis is not repeated")
                    .contains("GDPR Art. 17(1)(a)");
            assertThat(keys.isForgotten(planted)).isTrue();
        }
    }

    @Test
    void a_schedule_or_cancellation_applied_again_does_not_repeat_a_basis_reason_or_name_a_new_one_could_not_have() {
        KeyService keys = keys();
        try (PrivateEventStore lethe = new PrivateEventStore(new InMemoryEventStore(), keys, Clock.systemUTC())) {
            SubjectId later = keys.resolve("later@example.com");
            SubjectId cancelled = keys.resolve("cancelled@example.com");
            String schedule = UUID.randomUUID().toString();
            String other = UUID.randomUUID().toString();
            java.time.Instant at = java.time.Instant.parse("2098-01-01T00:00:00Z");
            lethe.forgetAgain(
                    List.of(),
                    List.of(
                            new PrivateEventStore.ScheduledForget(
                                    schedule, later, at, "zed@secret.com \u001b[2J", "eve\u001b[31m"),
                            new PrivateEventStore.ScheduledForget(other, cancelled, at, "GDPR Art. 17(1)(a)", "dora")),
                    List.of(new PrivateEventStore.CancelledForget(other, cancelled, "per zed@secret.com", "dora")),
                    new Principal("dora", "dpo"));

            String written = lethe.store()
                            .readStream(StreamId.of("$audit"), 0, Direction.FORWARD, 100)
                            .toString()
                    + lethe.store()
                            .readStream(StreamId.of("$erasures"), 0, Direction.FORWARD, 100)
                            .toString();
            assertThat(written)
                    .doesNotContain("zed@secret.com")
                    .doesNotContain("\u001b")
                    .contains("as scheduled before (schedule " + schedule + "); its legal basis is not repeated")
                    .contains("as cancelled before (schedule " + other + "); its reason is not repeated");
        }
    }

    @Test
    void a_new_legal_basis_or_reason_with_a_control_character_is_refused_and_an_old_one_is_not_repeated() {
        KeyService keys = keys();
        Principal dora = new Principal("dora", "dpo");
        try (PrivateEventStore lethe = new PrivateEventStore(new InMemoryEventStore(), keys, Clock.systemUTC())) {
            SubjectId ada = keys.resolve("ada@example.com");
            // An escape sequence would reach the terminal of whoever lists the receipts.
            org.assertj.core.api.Assertions.assertThatThrownBy(
                            () -> lethe.forget(ada, "GDPR Art 17\u001b[2J\u001b[31mFAKE", null, dora))
                    .isInstanceOf(dev.lethe.core.store.InvalidEventException.class)
                    .hasMessageContaining("legal basis: holds U+001B, a control or invisible character");
            org.assertj.core.api.Assertions.assertThatThrownBy(
                            () -> lethe.forget(ada, "GDPR Art. 17(1)(a)", "ticket \u202E1174", dora))
                    .hasMessageContaining("reason: holds U+202E, a control or invisible character");
            assertThat(keys.isForgotten(ada)).isFalse();
            // Right-to-left text with its directional marks, a joiner, is plain text; a tag character is not.
            assertThat(Notes.hasHiddenCharacters("مادة 17\u200F ok\u200D")).isFalse();
            assertThat(Notes.hasHiddenCharacters("basis\uDB40\uDC41")).isTrue();
            // A variation selector after an emoji is text; after a letter, or a Hangul filler, it hides.
            assertThat(Notes.hasHiddenCharacters("thanks \u2764\uFE0F")).isFalse();
            assertThat(Notes.hasHiddenCharacters("basis\uFE0F")).isTrue();
            assertThat(Notes.hasHiddenCharacters("basis \u3164")).isTrue();
            // Line ends as a form sends them are plain text.
            assertThat(lethe.forget(ada, "GDPR Art. 17(1)(a)", "ticket 4711\r\nsecond line", dora)
                            .reason())
                    .isEqualTo("ticket 4711\r\nsecond line");

            SubjectId other = keys.resolve("other@example.com");
            String receipt = UUID.randomUUID().toString();
            lethe.forgetAgain(List.of(new PrivateEventStore.PriorForget(other, receipt, "basis\u001b[31m")), dora);
            assertThat(lethe.store()
                            .readStream(StreamId.of("$audit"), 0, Direction.FORWARD, 100)
                            .toString())
                    .doesNotContain("\u001b")
                    .contains("as forgotten before (receipt " + receipt + "); its legal basis is not repeated");
        }
    }

    @Test
    void a_name_an_earlier_release_took_is_applied_again_escaped_not_as_unknown() {
        assertThat(PrivateEventStore.reappliedActor("dora")).isEqualTo("dora");
        assertThat(PrivateEventStore.reappliedActor("ops\u034f")).isEqualTo("ops\\u034f");
        assertThat(PrivateEventStore.reappliedActor("ops ")).isEqualTo("ops\\u0020");
        assertThat(PrivateEventStore.reappliedActor("Ada Lovelace\u3164")).isEqualTo("Ada Lovelace\\u3164");
        assertThat(PrivateEventStore.reappliedActor("dora\nSubjectForgotten")).isEqualTo("dora\\u000aSubjectForgotten");
        assertThat(PrivateEventStore.reappliedActor("x".repeat(300))).startsWith("unknown (");
    }
}
