package dev.lethe.sqlite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lethe.core.privacy.AuditLog;
import dev.lethe.core.privacy.Principal;
import dev.lethe.core.privacy.PrivateEventStore;
import dev.lethe.core.privacy.Redaction;
import dev.lethe.core.privacy.SchemaRegistry;
import dev.lethe.core.privacy.SubjectId;
import dev.lethe.core.privacy.keys.ErasureReceipt;
import dev.lethe.core.privacy.keys.LocalMasterKey;
import dev.lethe.core.privacy.schema.JsonSchemaNotation;
import dev.lethe.core.store.Direction;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.RecordedEvent;
import dev.lethe.core.store.StorageException;
import dev.lethe.core.store.StreamId;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link SqliteBackup}: a consistent copy taken beside a running writer, without the master key. */
class SqliteBackupTest {
    private static final Principal DPO = new Principal("dora", "dpo");

    @TempDir
    Path parent;

    private final List<String> markers = new ArrayList<>();

    @Test
    void a_backup_taken_while_the_writer_runs_restores_with_the_master_key_kept_apart() throws Exception {
        Path data = parent.resolve("data");
        Path backup = parent.resolve("backup");
        SubjectId ada;
        SqliteBackup.Result result;
        List<String> progress = new ArrayList<>();
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            ada = customer(lethe, "ada");
            customer(lethe, "grace");
            // The writer holds the directory and goes on appending after the backup.
            result = SqliteBackup.take(data, backup, progress::add);
            customer(lethe, "alan");
        }

        assertThat(progress).containsExactly("projections.db", "events.db", "keys.db", "policy.yaml");
        assertThat(result.files())
                .extracting(SqliteBackup.Copied::file)
                .containsExactly("projections.db", "events.db", "keys.db", "policy.yaml");
        assertThat(result.files()).allSatisfy(f -> assertThat(f.bytes()).isPositive());
        assertThat(result.target()).isEqualTo(backup.toAbsolutePath().normalize());
        assertThat(result.masterKey())
                .isEqualTo(data.resolve(LocalMasterKey.FILE_NAME).toString());
        assertThat(backup.resolve(LocalMasterKey.FILE_NAME))
                .as("never the master key")
                .doesNotExist();
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(backup)))
                .isEqualTo("rwx------");
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(
                        Files.getPosixFilePermissions(backup.resolve("keys.db"))))
                .isEqualTo("rw-------");
        try (Stream<Path> siblings = Files.list(parent)) {
            assertThat(siblings.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("data", "backup");
        }
        assertThat(scan(backup))
                .as("no personal value in plaintext in the backup")
                .isEmpty();

        // Restore: the backup's files, and the master key from where it was kept.
        Files.copy(data.resolve(LocalMasterKey.FILE_NAME), backup.resolve(LocalMasterKey.FILE_NAME));
        try (SqliteLethe restored = SqliteLethe.open(backup)) {
            assertThat(restored.store().headPosition()).isEqualTo(result.headPosition());
            RecordedEvent registered = restored.store()
                    .readStream(StreamId.of("customer-ada"), 0, Direction.FORWARD, 1)
                    .get(0);
            assertThat(restored.privacy().reveal(registered, DPO).data().toString())
                    .contains(markers.get(0));
            assertThat(restored.privacy().keys().lookup(markers.get(0))).contains(ada);
            assertThat(restored.store().streamInfo(StreamId.of("customer-alan")).exists())
                    .as("appended after the backup")
                    .isFalse();
        }
    }

    @Test
    void a_subject_forgotten_after_the_backup_comes_back_only_with_the_backups_own_audit_trail() throws Exception {
        // Documented (docs/privacy.md §11): the backup's trail is as old as its keys.db.
        Path data = parent.resolve("data");
        Path backup = parent.resolve("backup");
        SubjectId ada;
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            ada = customer(lethe, "ada");
            SqliteBackup.take(data, backup, file -> {});
            lethe.privacy().forget(ada, "GDPR Art. 17(1)(a)", "asked", DPO);
        }
        Files.copy(data.resolve(LocalMasterKey.FILE_NAME), backup.resolve(LocalMasterKey.FILE_NAME));
        // The replaced store's receipts, kept apart from the backup, are applied again (forgetAgain).
        try (SqliteLethe current = SqliteLethe.open(data);
                SqliteLethe restored = SqliteLethe.open(backup)) {
            RecordedEvent registered = restored.store()
                    .readStream(StreamId.of("customer-ada"), 0, Direction.FORWARD, 1)
                    .get(0);
            assertThat(restored.privacy().reveal(registered, DPO).redactions())
                    .as("the gap")
                    .isEmpty();
            ErasureReceipt original = current.privacy().receipts(ada, DPO).get(0);
            SubjectId stranger = SubjectId.random();
            List<PrivateEventStore.PriorForget> prior = List.of(
                    new PrivateEventStore.PriorForget(ada, original.id().toString(), original.legalBasis()),
                    new PrivateEventStore.PriorForget(ada, original.id().toString(), original.legalBasis()),
                    new PrivateEventStore.PriorForget(
                            stranger, UUID.randomUUID().toString(), ""));
            assertThatThrownBy(() -> restored.privacy().forgetAgain(prior, new Principal("eve", "advisor")))
                    .isInstanceOf(dev.lethe.core.privacy.AccessDeniedException.class);

            PrivateEventStore.ForgetsReapplied done = restored.privacy().forgetAgain(prior, DPO);

            assertThat(done.forgotten()).extracting(ErasureReceipt::subject).containsExactly(ada);
            assertThat(done.forgotten().get(0).legalBasis()).isEqualTo("GDPR Art. 17(1)(a)");
            assertThat(done.withoutKey()).containsExactly(stranger);
            assertThat(restored.privacy().reveal(registered, DPO).redactions())
                    .extracting(Redaction::reason)
                    .containsOnly(Redaction.Reason.FORGOTTEN);
            RecordedEvent entry = lastAuditEntry(restored);
            assertThat(entry.type()).isEqualTo("SubjectForgotten");
            assertThat(entry.data().asTree().path("reapplied").asBoolean()).isTrue();
            assertThat(entry.data().asTree().path("originalReceipt").asText())
                    .isEqualTo(original.id().toString());
            assertThat(entry.data().asTree().path("principal").asText()).isEqualTo(DPO.name());

            PrivateEventStore.ForgetsReapplied twice = restored.privacy().forgetAgain(prior, DPO);
            assertThat(twice.forgotten()).isEmpty();
            assertThat(twice.alreadyForgotten()).containsExactly(ada);
        }
    }

    @Test
    void a_key_store_restored_from_before_an_early_retention_run_does_not_bring_its_periods_back() throws Exception {
        Path data = parent.resolve("data");
        Path backup = parent.resolve("backup");
        SubjectId ada;
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            ada = customer(lethe, "ada");
            SqliteBackup.take(data, backup, file -> {});
            // Run early, as of a later instant: not due at the clock's time, so no later run would destroy it.
            PrivateEventStore.RetentionReport run =
                    lethe.privacy().retention(Instant.now().plus(java.time.Duration.ofDays(800)), DPO);
            assertThat(run.expired()).extracting(p -> p.group().name()).containsExactly("contact");
        }
        for (String name : new String[] {"keys.db", "keys.db-wal", "keys.db-shm"}) {
            Files.deleteIfExists(data.resolve(name));
        }
        Files.copy(backup.resolve("keys.db"), data.resolve("keys.db"));

        try (SqliteLethe reader = SqliteLethe.openReadOnly(data)) {
            assertThat(reader.privacy().keys().livePeriods())
                    .as("a reader beside (or before) the writer treats the period as expired")
                    .extracting(p -> p.group().name())
                    .containsExactly("identity");
            assertThat(reader.expiredOnlyInTrail()).isEqualTo(1);
        }
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            RecordedEvent entry = lastAuditEntry(lethe);
            assertThat(entry.type()).isEqualTo("RetentionRun");
            assertThat(entry.data().asTree().path("reapplied").asBoolean()).isTrue();
            assertThat(entry.data().asTree().path("expiredPeriods").toString()).contains("contact/");
            assertThat(lethe.privacy().keys().livePeriods())
                    .extracting(p -> p.group().name())
                    .containsExactly("identity");
            assertThat(redactionsOfAda(lethe)).containsOnly(Redaction.Reason.EXPIRED);
        }
        long entries = auditCount(data);
        try (SqliteLethe again = SqliteLethe.open(data)) {
            assertThat(again.privacy().keys().livePeriods()).hasSize(1);
        }
        assertThat(auditCount(data))
                .as("destroyed once: nothing to write at the next open")
                .isEqualTo(entries);
        assertThat(ada).isNotNull();
    }

    @Test
    void a_key_store_restored_from_before_the_period_key_was_made_still_refuses_that_period() throws Exception {
        Path data = parent.resolve("data");
        Path backup = parent.resolve("backup");
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            SqliteBackup.take(data, backup, file -> {}); // before any period key
            customer(lethe, "ada");
            lethe.privacy().retention(Instant.now().plus(java.time.Duration.ofDays(800)), DPO);
        }
        for (String name : new String[] {"keys.db", "keys.db-wal", "keys.db-shm"}) {
            Files.deleteIfExists(data.resolve(name));
        }
        Files.copy(backup.resolve("keys.db"), data.resolve("keys.db"));
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            assertThatThrownBy(() -> customer(lethe, "grace"))
                    .as("the expired periods are recorded again: no key is made for them")
                    .hasMessageContaining("has expired; it takes no new data");
            assertThat(lethe.privacy().keys().livePeriods()).isEmpty();
        }
    }

    private static long auditCount(Path data) {
        try (SqliteLethe reader = SqliteLethe.openReadOnly(data)) {
            return reader.store().streamInfo(StreamId.of("$audit")).eventCount();
        }
    }

    private static List<Redaction.Reason> redactionsOfAda(SqliteLethe lethe) {
        RecordedEvent registered = lethe.store()
                .readStream(StreamId.of("customer-ada"), 0, Direction.FORWARD, 1)
                .get(0);
        return lethe.privacy().reveal(registered, DPO).redactions().stream()
                .map(Redaction::reason)
                .toList();
    }

    /** Opens {@code data} once (for its default policy), then names {@code journal} in its policy. */
    private static void useJournal(Path data, Path journal) throws Exception {
        SqliteLethe.open(data).close();
        Files.writeString(
                data.resolve(SqliteLethe.POLICY_FILE),
                "\nreceiptJournal: " + journal + "\n",
                java.nio.file.StandardOpenOption.APPEND);
    }

    private static List<Redaction.Reason> reasons(SqliteLethe lethe, String stream) {
        RecordedEvent registered = lethe.store()
                .readStream(StreamId.of(stream), 0, Direction.FORWARD, 1)
                .get(0);
        return lethe.privacy().reveal(registered, DPO).redactions().stream()
                .map(Redaction::reason)
                .toList();
    }

    @Test
    void with_a_receipt_journal_a_restored_directory_forgets_again_as_it_opens_what_was_forgotten_since()
            throws Exception {
        Path data = parent.resolve("data");
        Path backup = parent.resolve("backup");
        Path journal = Files.createDirectories(parent.resolve("receipts")).resolve("receipts.jsonl");
        useJournal(data, journal);
        SubjectId ada;
        SubjectId grace;
        String receipt;
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            ada = customer(lethe, "ada");
            grace = customer(lethe, "grace");
            SqliteBackup.take(data, backup, file -> {});
            receipt = lethe.privacy()
                    .forget(ada, "GDPR Art. 17(1)(a)", "asked", DPO)
                    .id()
                    .toString();
        }
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(journal)))
                .isEqualTo("rw-------");
        assertThat(Files.readString(journal))
                .contains(receipt, ada.toString())
                .doesNotContain(markers.toArray(String[]::new));
        Files.copy(data.resolve(LocalMasterKey.FILE_NAME), backup.resolve(LocalMasterKey.FILE_NAME));

        // A reader first: it may change nothing, but reads her as forgotten.
        try (SqliteLethe reader = SqliteLethe.openReadOnly(backup)) {
            // (A read-only open cannot audit key releases, so reveal refuses there: the key service says it.)
            assertThat(reader.privacy().keys().isForgotten(ada)).isTrue();
            assertThat(reader.privacy().keys().isKnown(grace)).isTrue();
            assertThat(reader.forgottenOnlyInTrail()).isEqualTo(1);
        }
        long journalBytes = Files.size(journal);
        long entries;
        try (SqliteLethe restored = SqliteLethe.open(backup)) {
            assertThat(reasons(restored, "customer-ada")).containsOnly(Redaction.Reason.FORGOTTEN);
            assertThat(reasons(restored, "customer-grace")).isEmpty();
            assertThat(restored.privacy().keys().isForgotten(ada)).isTrue();
            RecordedEvent entry =
                    restored
                            .store()
                            .readStream(dev.lethe.core.privacy.AuditLog.STREAM, 0, Direction.FORWARD, 1000)
                            .stream()
                            .filter(e -> e.type().equals("SubjectForgotten"))
                            .reduce((first, second) -> second)
                            .orElseThrow();
            assertThat(entry.data().asTree().path("reapplied").asBoolean()).isTrue();
            assertThat(entry.data().asTree().path("from").asText()).isEqualTo("receiptJournal");
            assertThat(entry.data().asTree().path("originalReceipt").asText()).isEqualTo(receipt);
            assertThat(entry.data().asTree().path("legalBasis").asText()).isEqualTo("GDPR Art. 17(1)(a)");
            entries = restored.store()
                    .streamInfo(dev.lethe.core.privacy.AuditLog.STREAM)
                    .eventCount();
        }
        assertThat(Files.size(journal))
                .as("a forget applied again from the journal is there already: not written twice")
                .isEqualTo(journalBytes);
        long size = Files.size(journal);
        String real = journal.toRealPath().toString();
        try (SqliteKeyStore keys = SqliteKeyStore.open(backup, true)) {
            assertThat(keys.note(PrivateEventStore.JOURNAL_CHECKED_NOTE))
                    .as("its own lines count as read: the next open reads nothing")
                    .hasValueSatisfying(
                            note -> assertThat(note).startsWith(size + " ").endsWith(" " + real));
        }
        try (SqliteLethe again = SqliteLethe.open(backup)) {
            assertThat(again.store()
                            .streamInfo(dev.lethe.core.privacy.AuditLog.STREAM)
                            .eventCount())
                    .as("an open after an open forgets nothing twice")
                    .isEqualTo(entries);
        }
    }

    @Test
    void with_a_receipt_journal_a_restored_directory_schedules_again_the_forgets_scheduled_since() throws Exception {
        Path data = parent.resolve("data");
        Path backup = parent.resolve("backup");
        Path journal = Files.createDirectories(parent.resolve("receipts")).resolve("receipts.jsonl");
        useJournal(data, journal);
        Instant due = Instant.parse("2030-01-01T00:00:00Z");
        SubjectId ada;
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            ada = customer(lethe, "ada");
            SqliteBackup.take(data, backup, file -> {});
            lethe.privacy().scheduleForget(ada, due, "contract ended", DPO);
        }
        String line = Files.readString(journal);
        assertThat(line).contains("\"kind\":\"schedule\"", ada.toString(), "contract ended");
        String id = Json.parse(line.strip()).asTree().path("id").asText();
        Files.copy(data.resolve(LocalMasterKey.FILE_NAME), backup.resolve(LocalMasterKey.FILE_NAME));
        deleteRecursively(data); // the store lost, its backup restored: not a copy beside it

        try (SqliteLethe restored = SqliteLethe.open(backup)) {
            List<RecordedEvent> erasures =
                    restored.store().readStream(PrivateEventStore.ERASURES, 0, Direction.FORWARD, 100);
            assertThat(erasures).singleElement().satisfies(event -> {
                assertThat(event.data().asTree().path("scheduleId").asText()).isEqualTo(id);
                assertThat(event.data().asTree().path("from").asText()).isEqualTo("receiptJournal");
            });
            RecordedEvent entry = lastAuditEntry(restored);
            assertThat(entry.type()).isEqualTo("ForgetScheduled");
            assertThat(entry.data().asTree().path("reapplied").asBoolean()).isTrue();
            assertThat(entry.data().asTree().path("scheduleId").asText()).isEqualTo(id);

            assertThat(restored.privacy().runScheduledForgets(due.minusSeconds(1), DPO))
                    .isEmpty();
            assertThat(restored.privacy().runScheduledForgets(due, DPO))
                    .singleElement()
                    .satisfies(receipt -> assertThat(receipt.subject()).isEqualTo(ada));
            assertThat(reasons(restored, "customer-ada")).containsOnly(Redaction.Reason.FORGOTTEN);
        }
        // Read again from the start (as by another restore): scheduled once, and moot once forgotten.
        try (SqliteKeyStore keys = SqliteKeyStore.open(backup, false)) {
            keys.setNote(PrivateEventStore.JOURNAL_CHECKED_NOTE, "0 - " + journal.toRealPath());
        }
        try (SqliteLethe again = SqliteLethe.open(backup)) {
            assertThat(again.store().readStream(PrivateEventStore.ERASURES, 0, Direction.FORWARD, 100))
                    .hasSize(1);
        }
        assertThat(Files.readString(journal).lines().filter(l -> l.contains("\"kind\":\"schedule\"")))
                .as("a schedule applied again from the journal is not written to it again")
                .hasSize(1);
    }

    @Test
    void with_a_receipt_journal_a_restored_directory_cancels_again_the_schedules_cancelled_since() throws Exception {
        Path data = parent.resolve("data");
        Path backup = parent.resolve("backup");
        Path journal = Files.createDirectories(parent.resolve("receipts")).resolve("receipts.jsonl");
        useJournal(data, journal);
        Instant due = Instant.parse("2030-01-01T00:00:00Z");
        SubjectId ada;
        SubjectId grace;
        PrivateEventStore.ScheduledForget before;
        PrivateEventStore.ScheduledForget after;
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            ada = customer(lethe, "ada");
            grace = customer(lethe, "grace");
            before = lethe.privacy().scheduleForget(ada, due, "contract ended", DPO);
            SqliteBackup.take(data, backup, file -> {});
            lethe.privacy().cancelScheduledForget(before.id(), "contract extended", DPO);
            after = lethe.privacy().scheduleForget(grace, due, "contract ended", DPO);
            lethe.privacy().cancelScheduledForget(after.id(), "scheduled by mistake", DPO);
        }
        assertThat(Files.readString(journal).lines().filter(l -> l.contains("\"kind\":\"cancel\"")))
                .hasSize(2);
        Files.copy(data.resolve(LocalMasterKey.FILE_NAME), backup.resolve(LocalMasterKey.FILE_NAME));
        deleteRecursively(data);

        try (SqliteLethe restored = SqliteLethe.open(backup)) {
            assertThat(restored.privacy().scheduledForgets(null, DPO))
                    .as("the schedule cancelled since the backup is cancelled again; the other is not scheduled")
                    .isEmpty();
            // Her schedule, held since the backup, and both cancellations: the one of a schedule not held here
            // is recorded too, so that no older copy of it can schedule it again.
            assertThat(restored.store().readStream(PrivateEventStore.ERASURES, 0, Direction.FORWARD, 100))
                    .extracting(RecordedEvent::type)
                    .containsExactly("ForgetScheduled", "ForgetCancelled", "ForgetCancelled");
            assertThat(restored.store().readStream(dev.lethe.core.privacy.AuditLog.STREAM, 0, Direction.FORWARD, 1000))
                    .filteredOn(e -> e.type().equals("ForgetCancelled"))
                    .extracting(e -> e.data().asTree().path("scheduleId").asText())
                    .containsExactly(before.id(), after.id());
            assertThat(restored.privacy()
                            .forgetAgain(List.of(), List.of(after), List.of(), DPO)
                            .rescheduled())
                    .as("a dump older than the cancellation does not bring the schedule back")
                    .isEmpty();
            assertThat(restored.privacy().runScheduledForgets(due, DPO)).isEmpty();
            assertThat(restored.privacy().keys().isForgotten(ada)).isFalse();
            assertThat(restored.privacy().keys().isForgotten(grace)).isFalse();
        }
    }

    @Test
    void a_schedule_id_that_is_another_events_id_is_scheduled_and_forget_again_journals_what_it_schedules()
            throws Exception {
        Path data = parent.resolve("data");
        Path journal = Files.createDirectories(parent.resolve("receipts")).resolve("receipts.jsonl");
        useJournal(data, journal);
        SubjectId ada;
        String taken;
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            ada = customer(lethe, "ada");
            taken = lastAuditEntry(lethe).id().toString();
        }
        // A line naming, as its schedule id, the id of an event the store holds: still a schedule of its own.
        Files.writeString(
                journal,
                "{\"kind\":\"schedule\",\"id\":\"" + taken + "\",\"subject\":\"" + ada
                        + "\",\"at\":\"2030-01-01T00:00:00Z\",\"legalBasis\":\"contract ended\"}\n",
                java.nio.file.StandardOpenOption.APPEND);
        SubjectId grace;
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            assertThat(lethe.privacy().scheduledForgets(null, DPO))
                    .singleElement()
                    .satisfies(schedule -> assertThat(schedule.id()).isEqualTo(taken));
            grace = customer(lethe, "grace");
            PrivateEventStore.ScheduledForget fromElsewhere = new PrivateEventStore.ScheduledForget(
                    UUID.randomUUID().toString(), grace, Instant.parse("2031-01-01T00:00:00Z"), "basis", "dora");
            PrivateEventStore.ForgetsReapplied done =
                    lethe.privacy().forgetAgain(List.of(), List.of(fromElsewhere), List.of(), DPO);
            assertThat(done.rescheduled()).containsExactly(fromElsewhere);
            assertThat(Files.readString(journal))
                    .as("scheduled again by forget-again: journaled, so that the next restore finds it")
                    .contains("\"id\":\"" + fromElsewhere.id() + "\"");
        }
        assertThatThrownBy(() -> new PrivateEventStore.ScheduledForget(
                        "1-2-3-4-5", grace, Instant.parse("2031-01-01T00:00:00Z"), "basis", "dora"))
                .hasMessageContaining("is not a UUID");
    }

    private static RecordedEvent lastAuditEntry(SqliteLethe lethe) {
        long last =
                lethe.store().streamInfo(dev.lethe.core.privacy.AuditLog.STREAM).eventCount() - 1;
        return lethe.store()
                .readStream(dev.lethe.core.privacy.AuditLog.STREAM, last, Direction.FORWARD, 1)
                .get(0);
    }

    @Test
    void a_journal_set_up_later_gets_the_earlier_receipts_and_one_that_failed_is_written_by_the_next_open()
            throws Exception {
        Path data = parent.resolve("data");
        Path receipts = parent.resolve("receipts");
        Path journal = receipts.resolve("receipts.jsonl");
        String early;
        SubjectId late;
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            early = lethe.privacy()
                    .forget(customer(lethe, "ada"), "GDPR Art. 17(1)(a)", null, DPO)
                    .id()
                    .toString();
            late = customer(lethe, "grace");
        }
        useJournal(data, journal);
        assertThatThrownBy(() -> SqliteLethe.open(data))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("the receipt journal's directory " + receipts)
                .hasMessageContaining("does not exist");
        Files.createDirectories(receipts);
        String failed;
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            assertThat(Files.readString(journal)).as("seeded from keys.db").contains(early);
            Files.delete(journal);
            Files.delete(receipts);
            assertThatThrownBy(() -> lethe.privacy().forget(late, "GDPR Art. 17(1)(a)", null, DPO))
                    .isInstanceOf(StorageException.class)
                    .hasMessageContaining("subject " + late + " is forgotten (receipt ")
                    .hasMessageContaining("cannot write the receipt journal");
            assertThat(lethe.privacy().keys().isForgotten(late))
                    .as("the forget itself is done")
                    .isTrue();
            failed = lethe.privacy().receipts(late, DPO).get(0).id().toString();
        }
        Files.createDirectories(receipts);
        // The journal it had read is gone: the open says so rather than start a new one unnoticed, even with a
        // receipt waiting to be written to it.
        assertThatThrownBy(() -> SqliteLethe.open(data)).hasMessageContaining("is missing, but this store has read");
        Files.createFile(journal); // "create it empty to go on without it"
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            assertThat(Files.readString(journal)).contains(failed);
            assertThat(
                            lethe
                                    .store()
                                    .readStream(dev.lethe.core.privacy.AuditLog.STREAM, 0, Direction.FORWARD, 1000)
                                    .stream()
                                    .filter(e -> e.type().equals("SubjectForgotten")
                                            && e.data()
                                                    .asTree()
                                                    .path("receipt")
                                                    .asText()
                                                    .equals(failed)))
                    .as("audited once, when it happened")
                    .hasSize(1);
        }
    }

    @Test
    void a_receipt_the_journal_could_not_take_is_written_by_the_next_forget_without_a_restart() throws Exception {
        Path data = parent.resolve("data");
        Path receipts = Files.createDirectories(parent.resolve("receipts"));
        Path journal = receipts.resolve("receipts.jsonl");
        SqliteLethe.open(data).close();
        useJournal(data, journal);
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            SubjectId ada = customer(lethe, "ada");
            SubjectId grace = customer(lethe, "grace");
            Path away = Files.move(receipts, parent.resolve("receipts-unmounted"));
            assertThatThrownBy(() -> lethe.privacy().forget(ada, "GDPR Art. 17(1)(a)", null, DPO))
                    .hasMessageContaining("subject " + ada + " is forgotten")
                    .hasMessageContaining("the next forget, retention run or open");
            Files.move(away, receipts);
            String adas = lethe.privacy().receipts(ada, DPO).get(0).id().toString();
            assertThat(Files.readString(journal)).doesNotContain(adas);
            String graces = lethe.privacy()
                    .forget(grace, "GDPR Art. 17(1)(a)", null, DPO)
                    .id()
                    .toString();
            assertThat(Files.readString(journal)).contains(adas, graces);
        }
    }

    @Test
    void a_copy_sharing_the_stores_journal_may_not_forget_but_applies_the_stores_forgets() throws Exception {
        Path data = parent.resolve("data");
        Path drill = parent.resolve("drill");
        Path journal = Files.createDirectories(parent.resolve("receipts")).resolve("receipts.jsonl");
        useJournal(data, journal);
        SubjectId ada;
        SubjectId grace;
        Path spare = parent.resolve("spare");
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            ada = customer(lethe, "ada");
            grace = customer(lethe, "grace");
            lethe.privacy().scheduleForget(grace, java.time.Instant.now().plusMillis(1), "GDPR Art. 17(1)(a)", DPO);
            SqliteBackup.take(data, drill, file -> {});
            SqliteBackup.take(data, spare, file -> {});
        }
        Files.copy(data.resolve(LocalMasterKey.FILE_NAME), drill.resolve(LocalMasterKey.FILE_NAME));
        Files.copy(data.resolve(LocalMasterKey.FILE_NAME), spare.resolve(LocalMasterKey.FILE_NAME));
        // A restore drill beside the store, which still exists: a forget there would reach the store.
        try (SqliteLethe copy = SqliteLethe.open(drill)) {
            assertThatThrownBy(() -> copy.privacy().forget(grace, "a drill", null, DPO))
                    .isInstanceOf(dev.lethe.core.privacy.ForgetRefusedException.class)
                    .hasMessageContaining("this data directory is a copy of " + data.toRealPath())
                    .hasMessageContaining("set this copy's receiptJournal to a copy of that file");
            assertThat(copy.privacy().keys().isKnown(grace)).isTrue();
            // Retention still runs there; the due scheduled forget waits, and the run says so.
            assertThat(copy.privacy()
                            .retention(java.time.Instant.now().plusSeconds(1), DPO)
                            .forgotten())
                    .isEmpty();
            assertThat(lastAuditEntry(copy)
                            .data()
                            .asTree()
                            .path("scheduledForgetsSkipped")
                            .asText())
                    .contains("this copy may not forget");
            assertThat(copy.privacy().keys().isKnown(grace)).isTrue();
        }
        try (SqliteLethe original = SqliteLethe.open(data)) {
            original.privacy().forget(ada, "GDPR Art. 17(1)(a)", null, DPO);
        }
        try (SqliteLethe copy = SqliteLethe.open(drill)) {
            assertThat(copy.privacy().keys().isForgotten(ada))
                    .as("the store's forget reaches its copy")
                    .isTrue();
        }

        // With a journal of its own (a copy of the store's), the drill may forget; the store does not learn.
        Path drillJournal = journal.resolveSibling("drill-receipts.jsonl");
        Files.copy(journal, drillJournal);
        Files.writeString(
                drill.resolve(SqliteLethe.POLICY_FILE),
                Files.readString(drill.resolve(SqliteLethe.POLICY_FILE))
                        .replace(journal.toString(), drillJournal.toString()));
        try (SqliteLethe copy = SqliteLethe.open(drill)) {
            copy.privacy().forget(grace, "a drill", null, DPO);
        }
        try (SqliteLethe original = SqliteLethe.open(data)) {
            assertThat(original.privacy().keys().isKnown(grace)).isTrue();
        }

        // The store is gone: a restore of it elsewhere applies what the store forgot.
        deleteRecursively(data);
        try (SqliteLethe restored = SqliteLethe.open(spare)) {
            assertThat(restored.privacy().keys().isForgotten(ada)).isTrue();
            assertThat(restored.privacy().keys().isKnown(grace))
                    .as("the drill's forget stayed in its own journal")
                    .isTrue();
            restored.privacy().forget(grace, "GDPR Art. 17(1)(a)", null, DPO);
        }
    }

    private static void deleteRecursively(Path directory) throws java.io.IOException {
        try (Stream<Path> paths = Files.walk(directory)) {
            for (Path path : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        }
    }

    @Test
    void a_journal_replaced_at_its_path_is_read_from_its_start_and_a_missing_one_is_refused() throws Exception {
        Path data = parent.resolve("data");
        Path journal = Files.createDirectories(parent.resolve("receipts")).resolve("receipts.jsonl");
        useJournal(data, journal);
        String first;
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            first = lethe.privacy()
                    .forget(customer(lethe, "ada"), "GDPR Art. 17(1)(a)", null, DPO)
                    .id()
                    .toString();
            customer(lethe, "grace");
        }
        // Rotated by hand while the store is closed: a new file at the same path.
        Files.move(journal, journal.resolveSibling("receipts.jsonl.1"));
        Files.writeString(
                journal,
                Files.readString(journal.resolveSibling("receipts.jsonl.1"))
                        .replace(first, UUID.randomUUID().toString()));
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            assertThat(Files.readString(journal))
                    .as("another file: read whole, and given this store's receipts again")
                    .contains(first);
        }

        Files.delete(journal);
        assertThatThrownBy(() -> SqliteLethe.open(data))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("the receipt journal "
                        + journal.getParent().toRealPath().resolve("receipts.jsonl")
                        + " is missing, but this store has read")
                .hasMessageContaining("create it empty to go on without it");
        assertThatThrownBy(() -> SqliteLethe.openReadOnly(data)).hasMessageContaining("is missing");
        Files.createFile(journal);
        SqliteLethe.open(data).close();
        assertThat(Files.readString(journal))
                .as("an empty file is a new journal")
                .contains(first);
    }

    @Test
    void a_missing_journal_is_refused_also_after_a_crash_left_a_receipt_to_write_to_it() throws Exception {
        Path data = parent.resolve("data");
        Path journal = Files.createDirectories(parent.resolve("receipts")).resolve("receipts.jsonl");
        useJournal(data, journal);
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            customer(lethe, "grace");
            SubjectId ada = customer(lethe, "ada");
            // What a crash right after the key store's commit leaves: a receipt not yet journaled nor audited.
            lethe.privacy().keys().forget(ada, "dora", "GDPR Art. 17(1)(a)", "customer asked");
        }
        Files.delete(journal); // the journal's volume not mounted at the next start
        // The pending receipt would have been written to a new, empty file at the path, and the missing
        // journal gone unnoticed.
        assertThatThrownBy(() -> SqliteLethe.open(data))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("is missing, but this store has read it before");
        assertThat(journal).doesNotExist();
    }

    @Test
    void a_journal_set_up_before_any_forget_exists_from_the_first_open_and_missing_it_is_refused() throws Exception {
        Path data = parent.resolve("data");
        Path journal = Files.createDirectories(parent.resolve("receipts")).resolve("receipts.jsonl");
        useJournal(data, journal);
        SqliteLethe.open(data).close();
        assertThat(journal).as("created empty: once read, it must be there").exists();
        Files.delete(journal);
        assertThatThrownBy(() -> SqliteLethe.openReadOnly(data))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("is missing, but this store has read it before");
    }

    @Test
    void a_journal_inside_the_data_directory_or_that_is_a_directory_is_refused() throws Exception {
        Path data = parent.resolve("data");
        useJournal(data, data.toAbsolutePath().resolve("receipts.jsonl"));
        assertThatThrownBy(() -> SqliteLethe.open(data))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("is inside the data directory");
        Path elsewhere = Files.createDirectories(parent.resolve("elsewhere"));
        Files.writeString(
                data.resolve(SqliteLethe.POLICY_FILE),
                Files.readString(data.resolve(SqliteLethe.POLICY_FILE))
                        .replace(data.toAbsolutePath().resolve("receipts.jsonl").toString(), elsewhere.toString()));
        assertThatThrownBy(() -> SqliteLethe.open(data))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("is not a regular file");
    }

    @Test
    void a_killed_backups_partial_copy_is_deleted_by_the_next_backup_whatever_its_name() throws Exception {
        Path data = parent.resolve("data");
        SqliteLethe.open(data).close();
        Path stale = Files.createDirectories(parent.resolve(".backup.partial-" + UUID.randomUUID()));
        Files.writeString(stale.resolve("keys.db"), "a whole copy of the key store");
        Files.createDirectory(parent.resolve("backup")); // the killed backup's claim on its target
        // A backup to yesterday's dated name, killed: no backup will ever be made to that name again.
        Path yesterdays = Files.createDirectories(parent.resolve(".backup-2026-11-26.partial-" + UUID.randomUUID()));
        Files.writeString(yesterdays.resolve("keys.db"), "another whole copy");
        Files.createDirectory(parent.resolve("backup-2026-11-26"));
        Files.setLastModifiedTime(
                yesterdays,
                java.nio.file.attribute.FileTime.from(java.time.Instant.now().minusSeconds(3600)));
        // Killed outright a moment ago, its marker there and unlocked: a backup run just after tidies it up.
        Path killedJustNow = Files.createDirectories(parent.resolve(".backup-b12.partial-" + UUID.randomUUID()));
        Files.writeString(killedJustNow.resolve("keys.db"), "a third copy");
        Files.writeString(killedJustNow.resolve(".backup-in-progress"), "");
        Files.setLastModifiedTime(
                killedJustNow.resolve(".backup-in-progress"),
                java.nio.file.attribute.FileTime.from(java.time.Instant.now().minusSeconds(3)));
        Files.createDirectory(parent.resolve("backup-b12"));
        // One made a moment ago, perhaps by a backup that has not locked it yet: left alone.
        Path justMade = Files.createDirectories(parent.resolve(".backup-now.partial-" + UUID.randomUUID()));
        // One still running (its lock held) is left alone, claim included.
        Path running = Files.createDirectories(parent.resolve(".elsewhere.partial-" + UUID.randomUUID()));
        Files.createDirectory(parent.resolve("elsewhere"));
        SqliteBackup.Result result;
        try (java.nio.channels.FileChannel marker = java.nio.channels.FileChannel.open(
                        running.resolve(".backup-in-progress"),
                        java.nio.file.StandardOpenOption.CREATE_NEW,
                        java.nio.file.StandardOpenOption.WRITE);
                java.nio.channels.FileLock held = marker.lock()) {
            result = SqliteBackup.take(data, parent.resolve("backup"), f -> {});
        }

        assertThat(stale).doesNotExist();
        assertThat(yesterdays).doesNotExist();
        assertThat(killedJustNow).doesNotExist();
        assertThat(parent.resolve("backup-b12")).doesNotExist();
        assertThat(parent.resolve("backup-2026-11-26"))
                .as("its empty claim too")
                .doesNotExist();
        assertThat(running).as("a running backup's").exists();
        assertThat(justMade).exists();
        assertThat(parent.resolve("elsewhere")).exists();
        assertThat(result.target().resolve("events.db")).exists();
        try (Stream<Path> files = Files.list(result.target())) {
            assertThat(files.map(p -> p.getFileName().toString()))
                    .as("no lock, WAL or shared-memory file left in the copy")
                    .containsExactlyInAnyOrder("projections.db", "events.db", "keys.db", "policy.yaml");
        }
        Files.createDirectory(parent.resolve("claimed"));
        assertThatThrownBy(() -> SqliteBackup.take(data, parent.resolve("claimed"), f -> {}))
                .as("an empty directory without a partial copy beside it is not a leftover")
                .hasMessageContaining("already exists");
    }

    @Test
    void forgets_committed_after_the_log_was_copied_are_audited_when_the_copy_is_first_opened() throws Exception {
        Path data = parent.resolve("data");
        SubjectId grace;
        Path early;
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            grace = customer(lethe, "grace");
            early = SqliteBackup.take(data, parent.resolve("early"), f -> {}).target();
            lethe.privacy().forget(grace, "GDPR Art. 17(1)(a)", "asked", DPO);
        }
        // What a forget between the copies of events.db and keys.db leaves, built from two backups: the log
        // from before the forget, the key store from after it.
        Path late = SqliteBackup.take(data, parent.resolve("late"), f -> {}).target();
        Files.copy(
                early.resolve("events.db"),
                late.resolve("events.db"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Path mixed = SqliteBackup.take(late, parent.resolve("mixed"), f -> {}).target();
        try (SqliteKeyStore keys = SqliteKeyStore.open(mixed)) {
            assertThat(keys.unauditedReceipts()).extracting(r -> r.subject()).containsExactly(grace);
        }
        try (SqliteKeyStore keys = SqliteKeyStore.open(late)) {
            assertThat(keys.unauditedReceipts())
                    .as("a backup changes only its own copy")
                    .isEmpty();
        }

        Files.copy(data.resolve(LocalMasterKey.FILE_NAME), mixed.resolve(LocalMasterKey.FILE_NAME));
        try (SqliteLethe restored = SqliteLethe.open(mixed)) {
            List<RecordedEvent> forgotten =
                    restored
                            .store()
                            .readStream(dev.lethe.core.privacy.AuditLog.STREAM, 0, Direction.FORWARD, 100)
                            .stream()
                            .filter(e -> e.type().equals("SubjectForgotten"))
                            .toList();
            assertThat(forgotten).hasSize(1);
            assertThat(forgotten.get(0).data().asTree().path("subject").asText())
                    .isEqualTo(grace.toString());
            assertThat(forgotten.get(0).data().asTree().path("recovered").asBoolean())
                    .isTrue();
            // keys.db had seen a longer trail than the copied log: the backup's own copy says its log's end, so a
            // consistent backup is not taken for an events.db older than its keys.db.
            assertThat(restored.recoveredAtOpen())
                    .anySatisfy(what -> assertThat(what).startsWith("1 forget(s) stopped by a crash"))
                    .noneSatisfy(what -> assertThat(what).startsWith("events.db is older than keys.db"));
            assertThat(restored.privacy().logOlderThanKeyStore()).isEmpty();
        }
    }

    @Test
    void a_backup_during_a_master_key_rotation_warns_that_its_key_store_may_not_unwrap() throws Exception {
        Path data = parent.resolve("data");
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            customer(lethe, "ada");
            assertThat(SqliteBackup.take(data, parent.resolve("quiet"), f -> {}).warning())
                    .isEmpty();

            // A rotation between the copies of events.db and keys.db.
            SqliteBackup.Result during = SqliteBackup.take(data, parent.resolve("during"), file -> {
                if (file.equals("keys.db")) {
                    lethe.privacy().rotateMasterKey(DPO);
                }
            });
            assertThat(during.warning())
                    .hasValueSatisfying(w ->
                            assertThat(w).contains("a master-key rotation or move was under way", "lethe keys check"));

            // A rotation started and not finished before the backup (a process stopped half-way).
            lethe.privacy().audit().record("MasterKeyRotationStarted", DPO, java.util.Map.of());
            assertThat(SqliteBackup.take(data, parent.resolve("stopped"), f -> {})
                            .warning())
                    .isPresent();
        }
    }

    @Test
    void a_bad_target_is_refused_before_anything_is_written() throws Exception {
        Path data = parent.resolve("data");
        SqliteLethe.open(data).close();
        Path existing = Files.createDirectory(parent.resolve("existing"));

        assertThatThrownBy(() -> SqliteBackup.take(data, existing, f -> {}))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("already exists", "never overwrites");
        assertThatThrownBy(() -> SqliteBackup.take(data, data.resolve("inside"), f -> {}))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("inside the data directory");
        assertThatThrownBy(() -> SqliteBackup.take(data, parent.resolve("no/such/parent"), f -> {}))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("its parent does not exist");
        assertThatThrownBy(() -> SqliteBackup.take(parent.resolve("empty"), parent.resolve("b"), f -> {}))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("no Lethe event store");
        try (Stream<Path> siblings = Files.list(parent)) {
            assertThat(siblings.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("data", "existing");
        }
        assertThat(data.resolve("inside")).doesNotExist();
    }

    @Test
    void a_file_that_cannot_be_copied_fails_the_backup_and_leaves_nothing_at_the_target() throws Exception {
        Path data = parent.resolve("data");
        SqliteLethe.open(data).close();
        Files.write(data.resolve("keys.db"), "not a database, 32 bytes or more".getBytes(StandardCharsets.US_ASCII));

        assertThatThrownBy(() -> SqliteBackup.take(data, parent.resolve("backup"), f -> {}))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("keys.db");
        try (Stream<Path> siblings = Files.list(parent)) {
            assertThat(siblings.map(p -> p.getFileName().toString())).containsExactly("data");
        }
    }

    /** Registers a customer whose e-mail and name are unique markers, in stream customer-{@code who}. */
    @Test
    void a_rotation_stopped_before_its_closing_entry_is_closed_at_the_next_open_and_backups_stop_warning()
            throws Exception {
        // Stopped before it changed anything (after its opening entry), then stopped once it had rotated
        // (before its closing entry): the stops are played by doing the rotation's steps up to there.
        for (boolean rotated : new boolean[] {false, true}) {
            Path data = parent.resolve("data-" + rotated);
            try (SqliteLethe lethe = SqliteLethe.open(data)) {
                customer(lethe, "ada");
                rotationStartedUnaudited(lethe);
                if (rotated) {
                    lethe.privacy().keys().rotateMaster();
                }
            }
            // Before the next writer open, a backup reads the trail's open rotation, and warns.
            assertThat(SqliteBackup.take(data, parent.resolve("before-" + rotated), file -> {})
                            .warning())
                    .hasValueSatisfying(w -> assertThat(w).contains("rotation"));
            try (SqliteLethe lethe = SqliteLethe.open(data)) {
                List<RecordedEvent> trail = lethe.store().readStream(AuditLog.STREAM, 0, Direction.FORWARD, 1000);
                RecordedEvent closing = trail.get(trail.size() - 1);
                assertThat(closing.type()).isEqualTo(rotated ? "MasterKeyRotated" : "MasterKeyRotationAbandoned");
                assertThat(closing.data().asTree().path("recovered").asBoolean())
                        .isTrue();
                assertThat(closing.data().asTree().path("rotatedBy").asText()).isEqualTo("dora");
                assertThat(closing.data().asTree().path("epoch").asLong())
                        .isEqualTo(Integer.toUnsignedLong(
                                lethe.privacy().keys().masterEpochs().get(0)));
                assertThat(lethe.privacy().keys().note(PrivateEventStore.ROTATION_UNAUDITED_NOTE))
                        .hasValue("");
                // A rotation done tells the operator what `lethe keys rotate` would have: the keyset changed.
                String said = String.join("\n", lethe.recoveredAtOpen());
                if (rotated) {
                    assertThat(said).contains("the rotation is done: copy the new keyset (", "take a backup");
                } else {
                    assertThat(said).contains("MasterKeyRotationAbandoned").doesNotContain("copy the new keyset");
                }
            }
            try (SqliteLethe lethe = SqliteLethe.open(data)) {
                assertThat(lethe.privacy().auditInterruptedRotation())
                        .as("closed once")
                        .isEmpty();
            }
            assertThat(SqliteBackup.take(data, parent.resolve("after-" + rotated), file -> {})
                            .warning())
                    .isEmpty();
        }
    }

    @Test
    void a_rotation_stopped_half_way_is_said_at_the_next_open() throws Exception {
        Path data = parent.resolve("data-half");
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            customer(lethe, "ada");
            lethe.privacy().keys().master().beginRotation(); // a new epoch, the old one not destroyed
        }
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            assertThat(lethe.privacy().keys().masterEpochs()).hasSize(2);
            assertThat(String.join("\n", lethe.recoveredAtOpen()))
                    .contains("a master key rotation was stopped half-way: 2 master key epochs still unwrap")
                    .contains("run lethe keys rotate again to finish it");
            lethe.privacy().rotateMasterKey(DPO);
        }
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            assertThat(lethe.recoveredAtOpen()).noneMatch(said -> said.contains("half-way"));
        }
    }

    /** What a rotation leaves when stopped before its closing entry: its note in keys.db and its opening entry. */
    private static void rotationStartedUnaudited(SqliteLethe lethe) {
        long epoch =
                Integer.toUnsignedLong(lethe.privacy().keys().masterEpochs().get(0));
        lethe.privacy()
                .keys()
                .setNote(
                        PrivateEventStore.ROTATION_UNAUDITED_NOTE,
                        "{\"principal\":\"dora\",\"role\":\"dpo\",\"fromEpochs\":[" + epoch + "]}");
        lethe.privacy().audit().record("MasterKeyRotationStarted", DPO, java.util.Map.of());
    }

    @Test
    void a_rotation_stopped_before_its_closing_entry_is_left_open_while_the_master_key_does_not_open_the_store()
            throws Exception {
        Path data = parent.resolve("data-old-keyset");
        Path keyset = data.resolve(LocalMasterKey.FILE_NAME);
        byte[] before;
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            customer(lethe, "ada");
            lethe.privacy().keys().lookup("ada@example.com"); // the blind index's secret, wrapped
            before = Files.readAllBytes(keyset);
            rotationStartedUnaudited(lethe);
            lethe.privacy().keys().rotateMaster();
        }
        // The keyset from before the rotation put back: its one epoch no longer opens keys.db.
        Files.write(keyset, before);
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            assertThat(lethe.privacy().keys().masterProblem()).isPresent();
            List<RecordedEvent> trail = lethe.store().readStream(AuditLog.STREAM, 0, Direction.FORWARD, 1000);
            assertThat(trail.get(trail.size() - 1).type())
                    .as("no closing entry that the wrong keyset would make up")
                    .isEqualTo("MasterKeyRotationStarted");
            assertThat(lethe.privacy().keys().note(PrivateEventStore.ROTATION_UNAUDITED_NOTE))
                    .hasValueSatisfying(note -> assertThat(note).isNotEmpty());
        }
    }

    @Test
    void a_store_restored_from_a_backup_keeps_no_copy_of_the_keys_it_forgets_later() throws Exception {
        Path data = parent.resolve("data");
        Path backup = parent.resolve("backup");
        List<SubjectId> subjects = new ArrayList<>();
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            // Enough rows for the tables' root pages to become interior pages in the copy.
            for (int i = 0; i < 1_000; i++) {
                subjects.add(lethe.privacy()
                        .subjectFor("person-" + i + "@example.com", DPO)
                        .subject());
            }
        }
        SqliteBackup.take(data, backup, file -> {});
        Files.copy(data.resolve(LocalMasterKey.FILE_NAME), backup.resolve(LocalMasterKey.FILE_NAME));
        List<SubjectId> forgotten = subjects.subList(0, 400);
        List<byte[]> wrapped = new ArrayList<>();
        try (java.sql.Connection keys = java.sql.DriverManager.getConnection(
                        "jdbc:sqlite:file:" + backup.resolve("keys.db") + "?mode=ro");
                java.sql.PreparedStatement select =
                        keys.prepareStatement("SELECT wrapped FROM subject_key WHERE subject = ?")) {
            for (SubjectId subject : forgotten) {
                select.setString(1, subject.toString());
                try (java.sql.ResultSet rs = select.executeQuery()) {
                    assertThat(rs.next()).isTrue();
                    wrapped.add(rs.getBytes(1));
                }
            }
        }

        try (SqliteLethe restored = SqliteLethe.open(backup)) {
            for (SubjectId subject : forgotten) {
                restored.privacy().forget(subject, "Art. 17(1)(a)", null, DPO);
            }
        }

        byte[] file = Files.readAllBytes(backup.resolve("keys.db"));
        long found = wrapped.stream().filter(key -> indexOf(file, key) >= 0).count();
        assertThat(found)
                .as("wrapped keys of forgotten subjects still in the restored keys.db")
                .isZero();
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private SubjectId customer(SqliteLethe lethe, String who) {
        JsonNode schema = Json.parse("""
                        {"type":"object","properties":{
                          "email":{"type":"string","x-gdpr":{"pii":true,"key":true,"dataGroup":"contact"}},
                          "name":{"type":"string","x-gdpr":{"pii":true,"dataGroup":"identity"}}}}
                        """).asTree();
        if (lethe.privacy().schemas().all().isEmpty()) {
            lethe.privacy()
                    .registerSchema(
                            DPO,
                            JsonSchemaNotation.read("Registered", schema),
                            SchemaRegistry.Notation.JSON_SCHEMA,
                            SchemaRegistry.propertyPaths(schema),
                            Json.of(schema));
        }
        String email = who + "-" + UUID.randomUUID() + "@example.com";
        String name = "name-" + UUID.randomUUID();
        markers.add(email);
        markers.add(name);
        lethe.privacy()
                .append(
                        StreamId.of("customer-" + who),
                        ExpectedVersion.any(),
                        List.of(EventData.of("Registered", "{\"email\":\"" + email + "\",\"name\":\"" + name + "\"}")));
        return lethe.privacy().keys().resolve(email);
    }

    private List<String> scan(Path directory) throws Exception {
        List<String> hits = new ArrayList<>();
        try (Stream<Path> paths = Files.walk(directory)) {
            for (Path file : paths.filter(Files::isRegularFile).toList()) {
                String content = new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1);
                markers.stream().filter(content::contains).forEach(m -> hits.add(m + " in " + file.getFileName()));
            }
        }
        return hits;
    }
}
