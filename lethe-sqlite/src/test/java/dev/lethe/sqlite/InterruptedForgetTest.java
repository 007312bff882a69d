package dev.lethe.sqlite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lethe.core.privacy.AuditLog;
import dev.lethe.core.privacy.Principal;
import dev.lethe.core.privacy.SchemaRegistry;
import dev.lethe.core.privacy.SubjectId;
import dev.lethe.core.privacy.keys.ErasureReceipt;
import dev.lethe.core.privacy.schema.JsonSchemaNotation;
import dev.lethe.core.store.Direction;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.RecordedEvent;
import dev.lethe.core.store.StreamId;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A forget is committed in the key store first and audited second. A process that stops in between
 * leaves a receipt without its {@code SubjectForgotten} entry; the next open writes the entry, once. And
 * a key store restored from before some forgets: the next open forgets those subjects again.
 */
class InterruptedForgetTest {
    private static final Principal DPO = new Principal("dora", "dpo");

    /** Holds {@link #data} and the siblings some tests make beside it, so that all are deleted. */
    @TempDir
    Path root;

    Path data;

    @BeforeEach
    void dataDirectory() throws java.io.IOException {
        data = Files.createDirectory(root.resolve("data"));
    }

    @Test
    void a_forget_interrupted_before_its_audit_entry_is_audited_when_the_store_is_opened_again() {
        ErasureReceipt receipt;
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            SubjectId subject = customer(lethe, "ada@example.com");
            // What a crash right after the key store's commit leaves: the deletion and its receipt, no entry.
            receipt = lethe.privacy().keys().forget(subject, "dora", "GDPR Art. 17(1)(a)", "customer asked");
            assertThat(forgottenEntries(lethe)).isEmpty();
        }
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            assertThat(lethe.recoveredAtOpen())
                    .containsExactly("1 forget(s) stopped by a crash before their audit entry got it now"
                            + " (SubjectForgotten with recovered: true; or by a close() that gave up waiting for"
                            + " them)");
            List<RecordedEvent> entries = forgottenEntries(lethe);
            assertThat(entries).hasSize(1);
            JsonNode entry = entries.get(0).data().asTree();
            assertThat(entry.path("receipt").asText()).isEqualTo(receipt.id().toString());
            assertThat(entry.path("subject").asText())
                    .isEqualTo(receipt.subject().toString());
            assertThat(entry.path("actor").asText()).isEqualTo("dora");
            assertThat(entry.path("recovered").asBoolean()).isTrue();
            assertThat(lethe.privacy().auditInterruptedForgets()).isZero();
            // The key store finds a subject's receipt itself (a retried forget asks, under its lock).
            assertThat(lethe.privacy().receipts(receipt.subject(), DPO)).containsExactly(receipt);
            assertThatThrownBy(() -> lethe.privacy().forget(receipt.subject(), "GDPR Art. 17(1)(a)", "again", DPO))
                    .isInstanceOf(dev.lethe.core.privacy.AlreadyForgottenException.class)
                    .hasMessageContaining("receipt " + receipt.id());
        }
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            assertThat(forgottenEntries(lethe)).hasSize(1);
            assertThat(lethe.recoveredAtOpen())
                    .as("a clean stop leaves nothing to say")
                    .isEmpty();
        }
    }

    @Test
    void a_forget_on_an_interrupted_thread_returns_its_receipt_writes_its_audit_entry_and_keeps_the_interrupt() {
        // An executor's shutdownNow, a cancelled future: once the key is destroyed the forget is done, and the
        // caller is told so, with its receipt (the audit entry's append is not cut short by the interrupt).
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            SubjectId ada = customer(lethe, "ada@example.com");
            Thread.currentThread().interrupt();
            ErasureReceipt receipt;
            try {
                receipt = lethe.privacy().forget(ada, "GDPR Art. 17(1)(a)", "customer request", DPO);
            } finally {
                assertThat(Thread.interrupted())
                        .as("the interrupt is set again")
                        .isTrue();
            }
            assertThat(receipt.subject()).isEqualTo(ada);
            assertThat(forgottenEntries(lethe))
                    .singleElement()
                    .satisfies(entry -> assertThat(
                                    entry.data().asTree().path("receipt").asText())
                            .isEqualTo(receipt.id().toString()));
            assertThat(lethe.privacy().keys().isForgotten(ada)).isTrue();
        }
    }

    @Test
    void a_forget_killed_between_its_commit_and_its_scrub_is_scrubbed_by_the_next_open() throws Exception {
        Path crashed = root.resolve("crashed");
        byte[] wrapped;
        try (SqliteLethe lethe = SqliteLethe.open(data);
                SqliteKeyStore keys = SqliteKeyStore.open(data)) {
            SubjectId ada = customer(lethe, "ada@example.com");
            wrapped = keys.subjectKey(ada).orElseThrow();
            // The forget's commit without the scrub that follows it, and the files as a kill then leaves them.
            keys.forget(
                    ada,
                    new ErasureReceipt(
                            java.util.UUID.randomUUID(),
                            ada,
                            "dora",
                            java.time.Instant.now(),
                            "GDPR Art. 17(1)(a)",
                            "",
                            List.of("subject key")),
                    List.of());
            Files.createDirectory(crashed);
            try (java.util.stream.Stream<Path> files = Files.list(data)) {
                for (Path file : files.filter(f -> !f.getFileName().toString().equals("lethe.lock"))
                        .toList()) {
                    Files.copy(file, crashed.resolve(file.getFileName()));
                }
            }
        }
        assertThat(keyStoreFilesHolding(crashed, wrapped))
                .as("what the kill left: the deleted key's page images")
                .isNotEmpty();
        try (SqliteLethe reopened = SqliteLethe.open(crashed)) {
            // While the reopened store runs, not only once it closes.
            assertThat(keyStoreFilesHolding(crashed, wrapped)).isEmpty();
        }
    }

    private static List<String> keyStoreFilesHolding(Path directory, byte[] needle) throws java.io.IOException {
        List<String> holding = new java.util.ArrayList<>();
        for (String name : List.of("keys.db", "keys.db-wal")) {
            Path file = directory.resolve(name);
            if (Files.exists(file)) {
                byte[] content = Files.readAllBytes(file);
                for (int i = 0; i + needle.length <= content.length; i++) {
                    if (java.util.Arrays.equals(content, i, i + needle.length, needle, 0, needle.length)) {
                        holding.add(name);
                        break;
                    }
                }
            }
        }
        return holding;
    }

    @Test
    void a_master_key_move_stopped_before_its_audit_entry_is_audited_by_the_next_open_once() throws Exception {
        SqliteLethe.open(data).close();
        try (SqliteKeyStore keys = SqliteKeyStore.open(data)) {
            // What a stop right after the move's commit leaves (PrivateEventStore.moveMasterKey).
            keys.setNote(
                    dev.lethe.core.privacy.PrivateEventStore.MOVE_UNAUDITED_NOTE,
                    "{\"principal\":\"dora\",\"role\":\"dpo\",\"from\":\"keyset file\",\"to\":\"token\"}");
        }
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            List<RecordedEvent> moved = lethe.store().readStream(AuditLog.STREAM, 0, Direction.FORWARD, 1_000).stream()
                    .filter(e -> e.type().equals("MasterKeyMoved"))
                    .toList();
            assertThat(moved).hasSize(1);
            JsonNode entry = moved.get(0).data().asTree();
            assertThat(entry.path("recovered").asBoolean()).isTrue();
            assertThat(entry.path("movedBy").asText()).isEqualTo("dora");
            assertThat(entry.path("from").asText()).isEqualTo("keyset file");
            assertThat(entry.path("to").asText()).isEqualTo("token");
        }
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            assertThat(lethe.store().readStream(AuditLog.STREAM, 0, Direction.FORWARD, 1_000).stream()
                            .filter(e -> e.type().equals("MasterKeyMoved")))
                    .as("once")
                    .hasSize(1);
            // A stop after the entry was written and before the note was cleared: not audited twice.
            lethe.privacy().audit().record("MasterKeyMoveStarted", DPO, java.util.Map.of("from", "a", "to", "b"));
            lethe.privacy().audit().record("MasterKeyMoved", DPO, java.util.Map.of("from", "a", "to", "b"));
            lethe.privacy().keys().setNote(dev.lethe.core.privacy.PrivateEventStore.MOVE_UNAUDITED_NOTE, "{}");
        }
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            assertThat(lethe.store().readStream(AuditLog.STREAM, 0, Direction.FORWARD, 1_000).stream()
                            .filter(e -> e.type().equals("MasterKeyMoved")))
                    .hasSize(2);
            assertThat(lethe.privacy().keys().note(dev.lethe.core.privacy.PrivateEventStore.MOVE_UNAUDITED_NOTE))
                    .contains("");
        }
    }

    @Test
    void a_completed_forget_is_audited_once_and_not_again_on_the_next_open() {
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            SubjectId first = customer(lethe, "ada@example.com");
            SubjectId second = customer(lethe, "grace@example.com");
            lethe.privacy().forget(first, "GDPR Art. 17(1)(a)", "asked", DPO);
            lethe.privacy().forget(second, "GDPR Art. 17(1)(a)", "asked", DPO);
            assertThat(forgottenEntries(lethe)).hasSize(2);
        }
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            assertThat(forgottenEntries(lethe)).hasSize(2);
            assertThat(lethe.privacy().keys().unauditedReceipts()).isEmpty();
        }
    }

    @Test
    void a_key_store_restored_from_before_a_forget_does_not_bring_the_subject_back() throws Exception {
        SubjectId ada;
        SubjectId grace;
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            ada = customer(lethe, "ada@example.com");
            grace = customer(lethe, "grace@example.com");
        }
        Path backup = restorable("keys-backup");
        ErasureReceipt receipt;
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            receipt = lethe.privacy().forget(ada, "GDPR Art. 17(1)(a)", "asked", DPO);
        }
        restore(backup); // it holds Ada's key

        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            assertThat(lethe.privacy().keys().isForgotten(ada)).isTrue();
            assertThat(lethe.privacy().keys().isForgotten(grace)).isFalse();
            List<RecordedEvent> entries = forgottenEntries(lethe);
            assertThat(entries).hasSize(2);
            JsonNode again = entries.get(1).data().asTree();
            assertThat(again.path("reapplied").asBoolean()).isTrue();
            assertThat(again.path("originalReceipt").asText())
                    .isEqualTo(receipt.id().toString());
            // The receipt a DPO keeps carries the first forget's legal basis, not a placeholder.
            assertThat(again.path("legalBasis").asText()).isEqualTo("GDPR Art. 17(1)(a)");
            assertThat(lethe.privacy().receipts(ada, DPO))
                    .extracting(ErasureReceipt::legalBasis)
                    .contains("GDPR Art. 17(1)(a)");
            RecordedEvent sale = lethe.store()
                    .readStream(
                            StreamId.of("customer-" + Math.abs("ada@example.com".hashCode())), 0, Direction.FORWARD, 1)
                    .get(0);
            assertThat(lethe.privacy().reveal(sale, DPO).redactions())
                    .extracting(r -> r.reason())
                    .containsOnly(dev.lethe.core.privacy.Redaction.Reason.FORGOTTEN);
        }
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            assertThat(forgottenEntries(lethe)).hasSize(2); // not again
            assertThat(lethe.privacy().reapplyForgetsMissingFromKeys()).isZero();
        }
    }

    @Test
    void a_read_only_open_of_a_restored_key_store_reads_the_subject_as_forgotten_and_changes_nothing()
            throws Exception {
        SubjectId ada;
        SubjectId grace;
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            ada = customer(lethe, "ada@example.com");
            grace = customer(lethe, "grace@example.com");
        }
        Path backup = restorable("read-only");
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            lethe.privacy().forget(ada, "GDPR Art. 17(1)(a)", "asked", DPO);
        }
        restore(backup); // it holds Ada's key

        try (SqliteLethe reader = SqliteLethe.openReadOnly(data)) {
            assertThat(reader.forgottenOnlyInTrail()).isEqualTo(1);
            assertThat(reader.privacy().keys().isForgotten(ada)).isTrue();
            assertThat(reader.privacy().keys().isForgotten(grace)).isFalse();
            assertThat(lookup(reader, "ada@example.com")).isEqualTo("FORGOTTEN");
            assertThat(lookup(reader, "grace@example.com")).isEqualTo("found");
        }
        try (SqliteKeyStore keys = SqliteKeyStore.open(data, true)) {
            assertThat(keys.subjectKey(ada)).as("the reader wrote nothing").isPresent();
        }
        SqliteLethe.open(data).close(); // the writer forgets Ada again, for good
        try (SqliteKeyStore keys = SqliteKeyStore.open(data, true)) {
            assertThat(keys.subjectKey(ada)).isEmpty();
        }
        try (SqliteLethe reader = SqliteLethe.openReadOnly(data)) {
            assertThat(reader.forgottenOnlyInTrail()).isZero();
            assertThat(lookup(reader, "ada@example.com")).isEqualTo("FORGOTTEN");
        }
    }

    /**
     * What the key service hands out for the e-mail in the customer's first event: a read-only open
     * cannot audit key releases, so {@code reveal} refuses there, but the key service is public.
     */
    private static String lookup(SqliteLethe lethe, String email) {
        RecordedEvent registered = lethe.store()
                .readStream(StreamId.of("customer-" + Math.abs(email.hashCode())), 0, Direction.FORWARD, 1)
                .get(0);
        dev.lethe.core.privacy.Envelope.Header header = dev.lethe.core.privacy.Envelope.parse(
                registered.data().asTree().path("email").asText());
        return lethe.privacy().keys().opener(header.subject(), header.group(), header.period())
                        instanceof dev.lethe.core.privacy.keys.KeyService.Missing missing
                ? missing.reason().toString()
                : "found";
    }

    @Test
    void a_key_store_backup_taken_between_two_forgets_brings_back_neither() throws Exception {
        SubjectId alice;
        SubjectId bob;
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            alice = customer(lethe, "alice@example.com");
            bob = customer(lethe, "bob@example.com");
            lethe.privacy().forget(alice, "GDPR Art. 17(1)(a)", "asked", DPO);
        }
        SqliteLethe.open(data).close(); // checks Alice's entry: the note moves past it
        Path backup = restorable("between");
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            lethe.privacy().forget(bob, "GDPR Art. 17(1)(a)", "asked", DPO);
        }
        restore(backup);
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            assertThat(lethe.privacy().keys().isForgotten(bob))
                    .as("Bob, forgotten after the backup")
                    .isTrue();
            assertThat(lethe.privacy().keys().isForgotten(alice)).isTrue();
        }
    }

    @Test
    void each_open_checks_only_the_audit_entries_written_since_the_previous_one() throws Exception {
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            lethe.privacy().forget(customer(lethe, "ada@example.com"), "GDPR Art. 17(1)(a)", "asked", DPO);
        }
        long trail;
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            trail = lethe.store().streamInfo(AuditLog.STREAM).eventCount();
            assertThat(lethe.store().streamInfo(StreamId.of("$forgotten")).exists())
                    .as("no marker stream: the audit entry is what the check reads")
                    .isFalse();
        }
        try (SqliteKeyStore keys = SqliteKeyStore.open(data, true)) {
            assertThat(keys.note(dev.lethe.core.privacy.PrivateEventStore.FORGETS_CHECKED_NOTE))
                    .contains(Long.toString(trail));
        }
    }

    @Test
    void a_log_shorter_than_the_key_stores_note_is_checked_from_its_start() throws Exception {
        SubjectId ada;
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            ada = customer(lethe, "ada@example.com");
        }
        Path backup = restorable("noted-far");
        try (SqliteKeyStore keys = SqliteKeyStore.open(backup)) {
            // As if this keys.db had been checked against a longer log (events.db restored from older).
            keys.setNote(dev.lethe.core.privacy.PrivateEventStore.FORGETS_CHECKED_NOTE, "1000000");
        }
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            lethe.privacy().forget(ada, "GDPR Art. 17(1)(a)", "asked", DPO);
        }
        restore(backup);
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            assertThat(lethe.privacy().keys().isForgotten(ada)).isTrue();
        }
    }

    @Test
    void an_events_db_restored_from_before_the_key_store_is_said_at_open_and_recorded_in_the_trail() throws Exception {
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            customer(lethe, "ada@example.com");
        }
        Path old = Files.createDirectory(root.resolve("old-log"));
        Files.copy(data.resolve("events.db"), old.resolve("events.db"));
        SubjectId bob;
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            bob = customer(lethe, "bob@example.com");
            lethe.privacy().forget(bob, "GDPR Art. 17(1)(a)", "asked", DPO);
        }
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            assertThat(lethe.privacy().logOlderThanKeyStore()).isEmpty();
        }
        // Only events.db put back from the older copy: Bob's events and the trail's later entries are gone.
        putBackLog(old);

        try (SqliteLethe readOnly = SqliteLethe.openReadOnly(data)) {
            assertThat(readOnly.privacy().logOlderThanKeyStore())
                    .hasValueSatisfying(why -> assertThat(why).contains("events.db is older than keys.db"));
        }
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            assertThat(lethe.privacy().logOlderThanKeyStore())
                    .hasValueSatisfying(why ->
                            assertThat(why).contains("events acknowledged after that copy was taken are not in it"));
            assertThat(lethe.recoveredAtOpen())
                    .anySatisfy(what -> assertThat(what).startsWith("events.db is older than keys.db"));
            List<RecordedEvent> trail = lethe.store().readStream(AuditLog.STREAM, 0, Direction.FORWARD, 1_000);
            assertThat(trail).extracting(RecordedEvent::type).endsWith("LogOlderThanKeyStore");
            assertThat(lethe.privacy().keys().isForgotten(bob)).isTrue();
        }
        // Said once, at the open that found it: the trail keeps it.
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            assertThat(lethe.privacy().logOlderThanKeyStore()).isEmpty();
            assertThat(lethe.store().readStream(AuditLog.STREAM, 0, Direction.FORWARD, 1_000))
                    .filteredOn(entry -> entry.type().equals("LogOlderThanKeyStore"))
                    .hasSize(1);
        }
    }

    @Test
    void an_events_db_put_back_from_before_appends_alone_is_said_too() throws Exception {
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            customer(lethe, "ada@example.com");
        }
        Path old = Files.createDirectory(root.resolve("log-before-bob"));
        Files.copy(data.resolve("events.db"), old.resolve("events.db"));
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            customer(lethe, "bob@example.com"); // an append, and no audit entry
        }
        putBackLog(old);

        try (SqliteLethe readOnly = SqliteLethe.openReadOnly(data)) {
            assertThat(readOnly.privacy().logOlderThanKeyStore())
                    .hasValueSatisfying(why -> assertThat(why).contains("its last event is at position"));
        }
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            assertThat(lethe.recoveredAtOpen())
                    .anySatisfy(what -> assertThat(what).startsWith("events.db is older than keys.db"));
        }
    }

    @Test
    void a_keys_db_restored_from_before_the_newest_subjects_is_said_at_every_open_until_put_right() throws Exception {
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            customer(lethe, "ada@example.com");
        }
        Path backup = restorable("before-grace");
        SubjectId grace;
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            grace = customer(lethe, "grace@example.com");
            assertThat(lethe.privacy().keysOlderThanLog()).isEmpty();
        }
        Path current = restorable("current");
        restore(backup);
        for (int open = 0; open < 2; open++) {
            try (SqliteLethe lethe = SqliteLethe.open(data)) {
                assertThat(lethe.recoveredAtOpen())
                        .as("open " + open)
                        .anySatisfy(what -> assertThat(what)
                                .startsWith("keys.db is older than events.db: 1 of the 2 subjects")
                                .contains("lethe keys check reads the whole log"));
                // Her events are still her data: exported, her personal fields unavailable, not "no such person"
                // (review U: an access request answered "we hold no data").
                JsonNode export = lethe.privacy().export(grace, DPO).asTree();
                assertThat(export.get("events")).hasSize(1);
                assertThat(export.get("events").get(0).get("redacted").toString())
                        .isEqualTo("[{\"path\":\"email\",\"reason\":\"unavailable\"}]");
                assertThatThrownBy(() -> lethe.privacy().export(SubjectId.random(), DPO))
                        .isInstanceOf(dev.lethe.core.privacy.UnknownSubjectException.class)
                        .hasMessageContaining("the log names it in no event");
            }
        }
        restore(current);
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            assertThat(lethe.recoveredAtOpen()).isEmpty();
        }
    }

    @Test
    void a_keys_db_without_a_period_key_the_log_uses_refuses_to_make_it_again() throws Exception {
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            customer(lethe, "ada@example.com");
        }
        // keys.db put back from before the period's key was made (review U): a new key would seal new values
        // under a key the stored ones do not open under, which then read as tampered.
        try (var db = java.sql.DriverManager.getConnection("jdbc:sqlite:" + data.resolve("keys.db"));
                var statement = db.createStatement()) {
            assertThat(statement.executeUpdate("DELETE FROM period_key")).isPositive();
        }
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            assertThat(lethe.recoveredAtOpen())
                    .anySatisfy(what -> assertThat(what)
                            .startsWith("keys.db is older than events.db: key periods their fields are sealed in have"
                                    + " neither a key nor a record of their expiry (contact/"));
            long head = lethe.store().headPosition();
            assertThatThrownBy(() -> customer(lethe, "bob@example.com"))
                    .isInstanceOf(dev.lethe.core.store.StorageException.class)
                    .hasMessageContaining("keys.db has no key for period")
                    .hasMessageContaining("Nothing was stored");
            assertThat(lethe.store().headPosition()).isEqualTo(head);
            assertThat(lethe.privacy().subjectsWithoutKeys(10, read -> {}).lostPeriods())
                    .singleElement()
                    .satisfies(period -> assertThat(period).startsWith("contact/"));
        }
    }

    @Test
    void a_policy_file_that_still_sets_forget_markers_opens_and_the_check_reports_the_line() throws Exception {
        SqliteLethe.open(data).close(); // writes the default policy
        java.nio.file.Path policy = data.resolve(SqliteLethe.POLICY_FILE);
        String text = java.nio.file.Files.readString(policy);
        assertThat(text).doesNotContain("forgetMarkers");
        java.nio.file.Files.writeString(policy, "forgetMarkers: true\n" + text);
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            assertThat(dev.lethe.core.privacy.policy.PolicyLinter.check(lethe.policy(), List.of()))
                    .extracting(Object::toString)
                    .containsExactly(
                            "policy: forgetMarkers has no effect any more: every writer open now checks the"
                                    + " audit trail for forgets a restored keys.db lacks (docs/privacy.md §9); remove the line");
        }
        java.nio.file.Files.writeString(policy, "forgetMarkers: yes please\n" + text);
        assertThatThrownBy(() -> SqliteLethe.open(data)).hasMessageContaining("forgetMarkers", "true or false");
    }

    /** A copy of {@code keys.db} as a backup would hold it (the store is closed). */
    private Path restorable(String name) throws Exception {
        Path backup = data.resolveSibling(data.getFileName() + "-" + name);
        java.nio.file.Files.createDirectories(backup);
        java.nio.file.Files.copy(data.resolve("keys.db"), backup.resolve("keys.db"));
        return backup;
    }

    /** The operator puts back {@code events.db} alone from an older copy. */
    private void putBackLog(Path copy) throws Exception {
        for (String file : List.of("events.db", "events.db-wal", "events.db-shm")) {
            Files.deleteIfExists(data.resolve(file));
        }
        Files.copy(copy.resolve("events.db"), data.resolve("events.db"));
    }

    /** The operator restores {@code keys.db} from the backup (no rotation since). */
    private void restore(Path backup) throws Exception {
        for (String file : List.of("keys.db", "keys.db-wal", "keys.db-shm")) {
            java.nio.file.Files.deleteIfExists(data.resolve(file));
        }
        java.nio.file.Files.copy(backup.resolve("keys.db"), data.resolve("keys.db"));
    }

    @Test
    void a_schedule_and_a_cancellation_are_stored_with_their_audit_entries_in_one_commit() {
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            SubjectId subject = customer(lethe, "ada@example.com");
            var schedule = lethe.privacy()
                    .scheduleForget(subject, java.time.Instant.parse("2099-01-01T00:00:00Z"), "GDPR Art. 17", DPO);
            lethe.privacy().cancelScheduledForget(schedule.id(), "contract extended", DPO);
            List<RecordedEvent> tail = lethe.store().readAll(lethe.store().headPosition() - 3, 4);
            // One commit each: the $erasures entry, then its audit entry, at the next position (a stop between
            // two commits could leave a forget scheduled or cancelled without its entry, or the other way round).
            assertThat(tail)
                    .extracting(e -> e.streamId().value() + " " + e.type())
                    .containsExactly(
                            "$erasures ForgetScheduled",
                            "$audit ForgetScheduled",
                            "$erasures ForgetCancelled",
                            "$audit ForgetCancelled");
            assertThat(tail.get(0).data().asTree().path("scheduleId").asText())
                    .isEqualTo(tail.get(1).data().asTree().path("scheduleId").asText())
                    .isEqualTo(schedule.id());
        }
    }

    private static SubjectId customer(SqliteLethe lethe, String email) {
        JsonNode schema = Json.parse("""
                        {"type":"object","properties":{
                          "email":{"type":"string","x-gdpr":{"pii":true,"key":true,"dataGroup":"contact"}}}}
                        """).asTree();
        lethe.privacy()
                .registerSchema(
                        DPO,
                        JsonSchemaNotation.read("Registered", schema),
                        SchemaRegistry.Notation.JSON_SCHEMA,
                        SchemaRegistry.propertyPaths(schema),
                        Json.of(schema));
        lethe.privacy()
                .append(
                        StreamId.of("customer-" + Math.abs(email.hashCode())),
                        ExpectedVersion.any(),
                        List.of(EventData.of("Registered", "{\"email\":\"" + email + "\"}")));
        return lethe.privacy().keys().resolve(email);
    }

    private static List<RecordedEvent> forgottenEntries(SqliteLethe lethe) {
        return lethe.store().readStream(AuditLog.STREAM, 0, Direction.FORWARD, 1_000).stream()
                .filter(e -> e.type().equals("SubjectForgotten"))
                .toList();
    }
}
