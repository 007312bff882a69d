package dev.lethe.core.privacy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lethe.core.privacy.keys.ErasureReceipt;
import dev.lethe.core.store.StorageException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReceiptJournalTest {
    @TempDir
    Path dir;

    private static ErasureReceipt receipt(String legalBasis) {
        return new ErasureReceipt(
                UUID.randomUUID(),
                SubjectId.random(),
                "dora",
                Instant.parse("2026-11-27T10:00:00Z"),
                legalBasis,
                "",
                List.of("subject key"));
    }

    private static List<PrivateEventStore.PriorForget> readFrom(ReceiptJournal journal, long from, long[] end) {
        List<PrivateEventStore.PriorForget> read = new ArrayList<>();
        end[0] = journal.read(from, line -> read.add(line.forget())).offset();
        return read;
    }

    @Test
    void receipts_read_back_from_an_offset_and_a_missing_file_holds_none() {
        ReceiptJournal journal = ReceiptJournal.at(dir.resolve("receipts.jsonl"));
        long[] end = {-1};
        assertThat(readFrom(journal, 0, end)).isEmpty();
        assertThat(end[0]).isZero();

        ErasureReceipt first = receipt("GDPR Art. 17(1)(a)");
        journal.append(first);
        long afterFirst = journal.read(0, f -> {}).offset();
        ErasureReceipt second = receipt("GDPR Art. 17(1)(b) — «withdrawn consent»");
        ErasureReceipt third = receipt("GDPR Art. 17(1)(d)");
        journal.append(List.of(second, third));

        List<PrivateEventStore.PriorForget> all = readFrom(journal, 0, end);
        assertThat(all)
                .extracting(PrivateEventStore.PriorForget::receipt)
                .containsExactly(
                        first.id().toString(),
                        second.id().toString(),
                        third.id().toString());
        assertThat(all.get(1).legalBasis()).isEqualTo(second.legalBasis());
        assertThat(all.get(1).subject()).isEqualTo(second.subject());
        assertThat(end[0]).isEqualTo(journal.file().toFile().length());

        assertThat(readFrom(journal, afterFirst, end))
                .extracting(PrivateEventStore.PriorForget::receipt)
                .containsExactly(second.id().toString(), third.id().toString());
        assertThat(readFrom(journal, end[0] + 1_000, end))
                .as("a file shorter than the offset was replaced: read from its start")
                .hasSize(3);
    }

    @Test
    void scheduled_forgets_read_back_among_receipts_and_a_line_of_an_unknown_kind_is_refused() throws Exception {
        ReceiptJournal journal = ReceiptJournal.at(dir.resolve("receipts.jsonl"));
        journal.writtenFrom(new ReceiptJournal.Origin("store-1", "/data"));
        PrivateEventStore.ScheduledForget schedule = new PrivateEventStore.ScheduledForget(
                UUID.randomUUID().toString(),
                SubjectId.random(),
                Instant.parse("2030-01-01T00:00:00Z"),
                "contract ended",
                "dora");
        journal.append(receipt("GDPR Art. 17(1)(a)"));
        journal.appendSchedules(List.of(schedule));

        List<ReceiptJournal.Line> lines = new ArrayList<>();
        journal.read(0, lines::add);
        assertThat(lines).hasSize(2);
        assertThat(lines.get(0).forget()).isNotNull();
        assertThat(lines.get(0).schedule()).isNull();
        assertThat(lines.get(1).forget()).isNull();
        assertThat(lines.get(1).schedule()).isEqualTo(schedule);
        assertThat(lines.get(1).origin()).contains(new ReceiptJournal.Origin("store-1", "/data"));

        long size = Files.size(journal.file());
        Files.writeString(journal.file(), "{\"kind\":\"rumour\",\"id\":\"x\"}\n", StandardOpenOption.APPEND);
        assertThatThrownBy(() -> journal.read(0, line -> {}))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("the line at byte " + size)
                .hasMessageContaining("an unknown kind of line")
                .hasMessageNotContaining("rumour");
        Files.write(journal.file(), java.util.Arrays.copyOf(Files.readAllBytes(journal.file()), (int) size));
        Files.writeString(
                journal.file(),
                "{\"kind\":\"schedule\",\"id\":\"" + UUID.randomUUID() + "\",\"subject\":\"" + SubjectId.random()
                        + "\",\"at\":\"soon\",\"legalBasis\":\"x\"}\n",
                StandardOpenOption.APPEND);
        assertThatThrownBy(() -> journal.read(0, line -> {}))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("not an instant");
    }

    @Test
    void a_line_cut_short_is_not_read_and_the_next_receipt_starts_a_line_of_its_own() throws Exception {
        ReceiptJournal journal = ReceiptJournal.at(dir.resolve("receipts.jsonl"));
        ErasureReceipt first = receipt("GDPR Art. 17(1)(a)");
        journal.append(first);
        Files.writeString(journal.file(), "{\"id\":\"cut-", StandardOpenOption.APPEND);
        long[] end = {-1};
        assertThat(readFrom(journal, 0, end)).hasSize(1);
        long whole = end[0];
        assertThat(whole).isLessThan(Files.size(journal.file()));

        ErasureReceipt second = receipt("GDPR Art. 17(1)(a)");
        journal.append(second);
        assertThat(Files.readString(journal.file(), StandardCharsets.UTF_8))
                .doesNotContain("cut-")
                .endsWith("\n");
        assertThat(readFrom(journal, 0, end))
                .extracting(PrivateEventStore.PriorForget::receipt)
                .containsExactly(first.id().toString(), second.id().toString());
        assertThat(readFrom(journal, whole, end))
                .extracting(PrivateEventStore.PriorForget::receipt)
                .containsExactly(second.id().toString());

        Files.writeString(journal.file(), "{\"id\":\"not one\"}\n", StandardOpenOption.APPEND);
        long bad = Files.size(journal.file()) - "{\"id\":\"not one\"}\n".length();
        assertThatThrownBy(() -> journal.read(0, f -> {}))
                .as("a whole line that is no receipt is refused by its offset")
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("the line at byte " + bad)
                .hasMessageContaining("not an erasure receipt");
    }

    @Test
    void an_offset_inside_a_line_means_another_file_and_an_endless_line_is_refused() throws Exception {
        ReceiptJournal journal = ReceiptJournal.at(dir.resolve("receipts.jsonl"));
        journal.append(List.of(receipt("a"), receipt("b")));
        long[] end = {-1};
        assertThat(readFrom(journal, 7, end)).as("read from the start").hasSize(2);

        Files.writeString(journal.file(), "x".repeat(ReceiptJournal.MAX_LINE_BYTES + 1), StandardOpenOption.APPEND);
        assertThatThrownBy(() -> journal.read(0, f -> {}))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("longer than " + ReceiptJournal.MAX_LINE_BYTES + " bytes");
    }

    @Test
    void lines_say_where_they_were_written_and_the_first_line_names_the_file() throws Exception {
        ReceiptJournal journal = ReceiptJournal.at(dir.resolve("receipts.jsonl"));
        assertThat(journal.first()).isEqualTo("-");
        ErasureReceipt before = receipt("a");
        journal.append(before);
        journal.writtenFrom(new ReceiptJournal.Origin("store-1", "/data/lethe"));
        journal.append(receipt("b"));
        List<ReceiptJournal.Line> lines = new ArrayList<>();
        ReceiptJournal.End end = journal.read(0, lines::add);
        assertThat(lines.get(0).origin()).isEmpty();
        assertThat(lines.get(1).origin()).contains(new ReceiptJournal.Origin("store-1", "/data/lethe"));
        assertThat(end.first()).isEqualTo(journal.first()).hasSize(16);
        assertThat(journal.read(end.offset(), l -> {}).first())
                .as("read from the middle, it still names the first line")
                .isEqualTo(end.first());

        long whole = Files.size(journal.file());
        Files.writeString(
                journal.file(),
                "{\"id\":\"" + UUID.randomUUID() + "\",\"subject\":\"" + SubjectId.random()
                        + "\",\"store\":5,\"origin\":\"/x\"}\n",
                StandardOpenOption.APPEND);
        assertThatThrownBy(() -> journal.read(whole, l -> {}))
                .as("an origin not of its types is refused, not read as none")
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("the line at byte " + whole);
    }

    @Test
    void trailing_content_on_a_line_and_a_link_in_place_of_the_file_are_refused() throws Exception {
        ReceiptJournal journal = ReceiptJournal.at(dir.resolve("receipts.jsonl"));
        ErasureReceipt one = receipt("a");
        journal.append(one);
        String line = Files.readString(journal.file()).strip();
        Files.writeString(journal.file(), line + " {\"more\":1}\n", StandardOpenOption.APPEND);
        assertThatThrownBy(() -> journal.read(0, l -> {}))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("not JSON, so not an erasure receipt")
                .hasMessageNotContaining("more");

        Path elsewhere = Files.writeString(dir.resolve("elsewhere.jsonl"), "");
        Files.delete(journal.file());
        Files.createSymbolicLink(journal.file(), elsewhere);
        assertThatThrownBy(() -> journal.append(receipt("b")))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("not a regular file");
        assertThat(Files.readString(elsewhere)).isEmpty();
    }

    @Test
    void an_append_into_a_missing_directory_fails_naming_it() {
        ReceiptJournal journal = ReceiptJournal.at(dir.resolve("gone/receipts.jsonl"));
        assertThatThrownBy(() -> journal.append(receipt("x")))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("cannot write the receipt journal " + dir.resolve("gone/receipts.jsonl"))
                .hasMessageContaining("does not exist");
        assertThatThrownBy(() -> ReceiptJournal.at(Path.of("relative.jsonl")))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
