package dev.lethe.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lethe.core.store.Direction;
import dev.lethe.core.store.RecordedEvent;
import dev.lethe.core.store.StreamId;
import dev.lethe.sqlite.SqliteLethe;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code lethe import}: JSON lines naming their streams, loaded in file order, resumable by line. */
class ImportCommandTest {
    @TempDir
    Path root;

    private record Run(int exitCode, String out, String err) {}

    private Run lethe(String... args) {
        return letheIn(root.resolve("data"), args);
    }

    private Run letheIn(Path data, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        List<String> all = new ArrayList<>(List.of("--data", data.toString(), "--init"));
        all.addAll(List.of(args));
        int code = LetheCli.run(all.toArray(String[]::new), new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    private Path file(String name, String... lines) throws IOException {
        return Files.writeString(root.resolve(name), String.join("\n", lines) + "\n");
    }

    private static String line(String stream, int n, String id) {
        return "{\"stream\":\"" + stream + "\",\"type\":\"Deposited\",\"data\":{\"n\":" + n + "}"
                + (id == null ? "" : ",\"id\":\"" + id + "\"") + "}";
    }

    private List<RecordedEvent> stream(String stream) {
        try (SqliteLethe lethe = SqliteLethe.open(root.resolve("data"))) {
            return lethe.store().readStream(StreamId.of(stream), 0, Direction.FORWARD, 1000);
        }
    }

    private long head() {
        try (SqliteLethe lethe = SqliteLethe.open(root.resolve("data"))) {
            return lethe.store().headPosition();
        }
    }

    @Test
    void loads_many_streams_in_file_order_one_batch_per_run_of_a_stream() throws IOException {
        Path history = file(
                "history.jsonl",
                line("acct-1", 1, null),
                line("acct-1", 2, null),
                line("acct-2", 3, null),
                "",
                line("acct-1", 4, null),
                line("acct-1", 5, null),
                line("acct-1", 6, null));

        Run run = lethe("import", history.toString(), "--batch", "2");

        assertThat(run.exitCode()).as(run.err()).isZero();
        // acct-1 (2), acct-2 (1), acct-1 (2 + 1: the batch limit splits the second run)
        assertThat(run.out()).contains("imported 6 event(s)", "lines 1..7", "in 4 batch(es)");
        assertThat(run.out()).contains("6 event(s) had no id: importing these lines again would append them again");
        assertThat(stream("acct-1"))
                .extracting(e -> e.data().toString())
                .containsExactly("{\"n\":1}", "{\"n\":2}", "{\"n\":4}", "{\"n\":5}", "{\"n\":6}");
        assertThat(stream("acct-2")).hasSize(1);
        // One batch is one commit: the events of a batch sit at consecutive positions, the batches in file order.
        assertThat(stream("acct-2").get(0).position())
                .isEqualTo(stream("acct-1").get(1).position() + 1);
    }

    @Test
    void with_json_the_outcome_is_one_object_for_scripts_whole_or_stopped_with_the_line_to_go_on_from()
            throws IOException {
        Path good = file("good.jsonl", line("acct-1", 1, null), line("acct-1", 2, null), line("acct-2", 3, null));
        Run done = lethe("import", good.toString(), "--json");
        assertThat(done.exitCode()).as(done.err()).isZero();
        com.fasterxml.jackson.databind.JsonNode outcome =
                new com.fasterxml.jackson.databind.ObjectMapper().readTree(done.out());
        assertThat(outcome.path("complete").asBoolean()).isTrue();
        assertThat(outcome.path("stored").asLong()).isEqualTo(3);
        assertThat(outcome.path("batches").asLong()).isEqualTo(2);
        assertThat(outcome.path("withoutId").asLong()).isEqualTo(3);
        assertThat(outcome.path("firstLine").asLong()).isEqualTo(1);
        assertThat(outcome.path("lastLine").asLong()).isEqualTo(3);
        assertThat(outcome.has("resumeFromLine")).isFalse();

        Path bad = file("bad.jsonl", line("acct-3", 1, null), "{\"stream\":\"acct-3\",\"type\":");
        Run stopped = lethe("import", bad.toString(), "--json");
        assertThat(stopped.exitCode()).isEqualTo(2);
        com.fasterxml.jackson.databind.JsonNode cut =
                new com.fasterxml.jackson.databind.ObjectMapper().readTree(stopped.out());
        assertThat(cut.path("complete").asBoolean()).isFalse();
        // What standard error says, in numbers.
        long resume = cut.path("resumeFromLine").asLong();
        assertThat(stopped.err())
                .contains("import stopped: " + cut.path("stored").asLong() + " event(s) of " + bad)
                .contains("nothing from line " + resume + " on");
        assertThat(cut.path("goOn").asText()).contains("import --from-line " + resume + " -- " + bad.toAbsolutePath());
        assertThat(cut.path("error").asText()).contains("line 2");

        // Stopped before the first line (a missing file): one object still, for the script's parser.
        Run missing = lethe("import", root.resolve("missing.jsonl").toString(), "--json");
        assertThat(missing.exitCode()).isEqualTo(2);
        com.fasterxml.jackson.databind.JsonNode none =
                new com.fasterxml.jackson.databind.ObjectMapper().readTree(missing.out());
        assertThat(none.path("complete").asBoolean()).isFalse();
        assertThat(none.path("stored").asLong()).isZero();
        assertThat(none.path("resumeFromLine").isNull()).as("nothing ran").isTrue();
        assertThat(none.path("goOn").isNull()).isTrue();
        assertThat(none.path("error").asText()).contains("missing.jsonl does not exist");

        assertThat(lethe("import", good.toString(), "--json", "--dry-run").exitCode())
                .isEqualTo(2);
    }

    @Test
    void a_refused_line_stops_the_import_after_storing_the_batches_before_its_own_and_names_the_line_to_go_on_from()
            throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 1; i <= 9; i++) {
            lines.add(line(
                    "acct-" + (i % 2),
                    i,
                    UUID.nameUUIDFromBytes(("e" + i).getBytes()).toString()));
        }
        lines.set(5, "{\"stream\":\"acct-0\",\"type\":\"Deposited\",\"data\":{\"n\":6}"); // line 6: cut short
        Path history = file("history.jsonl", lines.toArray(String[]::new));

        Run stopped = lethe("import", history.toString());

        // Line 6 names no stream that can be read: line 5's batch (its stream's run of lines, which line 6 may
        // have been part of) waits with it, so that a batch is stored whole or not at all.
        assertThat(stopped.exitCode()).isEqualTo(2);
        assertThat(stopped.err())
                .contains("import stopped: 4 event(s) of " + history + " stored in 4 batch(es); nothing from line 5 on")
                // With this store's --data: without it, the command would import into ./lethe-data.
                .contains("go on with: lethe --data " + root.resolve("data").toAbsolutePath()
                        + " import --from-line 5 -- " + history.toAbsolutePath())
                .contains("error: " + history + " line 6: invalid JSON");
        assertThat(stream("acct-1")).hasSize(2);
        assertThat(stream("acct-0")).hasSize(2);
        assertThat(head()).isEqualTo(3); // positions 0..3

        // Mended, the same file from line 5 on: nothing twice, nothing missing.
        lines.set(5, line("acct-0", 6, UUID.nameUUIDFromBytes("e6".getBytes()).toString()));
        Files.write(history, lines);
        Run resumed = lethe("import", history.toString(), "--from-line", "5");
        assertThat(resumed.exitCode()).as(resumed.err()).isZero();
        assertThat(resumed.out()).contains("imported 5 event(s)", "lines 5..9").doesNotContain("had no id");
        assertThat(stream("acct-1"))
                .extracting(e -> e.data().toString())
                .containsExactly("{\"n\":1}", "{\"n\":3}", "{\"n\":5}", "{\"n\":7}", "{\"n\":9}");
        assertThat(stream("acct-0"))
                .extracting(e -> e.data().toString())
                .containsExactly("{\"n\":2}", "{\"n\":4}", "{\"n\":6}", "{\"n\":8}");

        // The whole file again: every line has an id, so nothing is written twice.
        long head = head();
        Run again = lethe("import", history.toString());
        assertThat(again.exitCode()).as(again.err()).isZero();
        assertThat(again.out()).contains("imported 0 event(s)", "9 event(s) were already stored");
        assertThat(head()).isEqualTo(head);
    }

    @Test
    void a_batch_the_store_refuses_is_named_with_its_lines_and_nothing_of_it_is_stored() throws IOException {
        Path history = file(
                "history.jsonl",
                line("acct-1", 1, null),
                line("acct-2", 2, "5d9c1d3e-4c2a-4f7e-9a51-0b7a2f6c1e01"),
                line("acct-2", 3, "5d9c1d3e-4c2a-4f7e-9a51-0b7a2f6c1e01"), // one id, two events
                line("acct-3", 5, null));

        Run run = lethe("import", history.toString());

        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err())
                .contains("nothing from line 2 on")
                .contains(" import --from-line 2 -- " + history.toAbsolutePath())
                .contains("error: " + history + " line 3 id: 5d9c1d3e-4c2a-4f7e-9a51-0b7a2f6c1e01 is also the id of"
                        + " line 2, whose event differs")
                // Not the stream id: strict mode refuses ids that look like personal data, and so would print one.
                .doesNotContain("acct-2");
        assertThat(stream("acct-1")).hasSize(1);
        assertThat(stream("acct-2")).isEmpty();
        assertThat(stream("acct-3")).isEmpty();
    }

    @Test
    void a_stopped_import_of_lines_with_ids_run_again_whole_stores_the_rest_once_whatever_the_batch_bounds()
            throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 1; i <= 12; i++) {
            lines.add(line(
                    "acct-1", i, UUID.nameUUIDFromBytes(("r" + i).getBytes()).toString()));
        }
        List<String> broken = new ArrayList<>(lines);
        broken.set(6, "{\"stream\":"); // line 7
        Path history = file("history.jsonl", broken.toArray(String[]::new));
        assertThat(lethe("import", history.toString(), "--batch", "6").exitCode())
                .isEqualTo(2); // stores 1..6, one batch

        // Mended, run whole again: its second batch (lines 6..10) holds one stored id and four new ones.
        Files.write(history, lines);
        Run again = lethe("import", history.toString(), "--batch", "5");
        assertThat(again.exitCode()).as(again.err()).isZero();
        assertThat(again.out()).contains("imported 6 event(s)", "6 event(s) were already stored");
        assertThat(stream("acct-1"))
                .extracting(e -> e.data().toString())
                .containsExactlyElementsOf(java.util.stream.IntStream.rangeClosed(1, 12)
                        .mapToObj(i -> "{\"n\":" + i + "}")
                        .toList());
        // And once more, with other bounds: nothing twice.
        long head = head();
        assertThat(lethe("import", history.toString(), "--batch", "7").out())
                .contains("12 event(s) were already stored");
        assertThat(head()).isEqualTo(head);
    }

    @Test
    void a_line_sent_twice_is_skipped_as_stored_whatever_the_batch_bounds() throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 1; i <= 10; i++) {
            lines.add(line(
                    "acct-1",
                    i,
                    UUID.nameUUIDFromBytes(("twice" + i).getBytes()).toString()));
        }
        lines.add(lines.get(4)); // line 11: line 5 again, in its batch with the default bounds
        lines.add(
                line("acct-1", 11, UUID.nameUUIDFromBytes("twice11".getBytes()).toString()));
        Path history = file("twice.jsonl", lines.toArray(String[]::new));
        for (String batch : List.of("1000", "5", "1")) {
            Path data = root.resolve("data-" + batch);
            Run run = letheIn(data, "import", history.toString(), "--batch", batch);
            assertThat(run.exitCode()).as(batch + ": " + run.err()).isZero();
            assertThat(run.out()).as(batch).contains("imported 11 event(s)", "1 event(s) were already stored");
        }
        Run dry = letheIn(root.resolve("data-fresh"), "append", "other-1", "T", "{}");
        assertThat(dry.exitCode()).as(dry.err()).isZero();
        dry = letheIn(root.resolve("data-fresh"), "import", history.toString(), "--dry-run");
        assertThat(dry.out()).contains("0 line(s) refused");
    }

    @Test
    void a_line_without_an_id_in_a_batch_partly_stored_before_is_not_appended_again_blindly() throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 1; i <= 6; i++) {
            lines.add(line(
                    "acct-1",
                    i,
                    i == 2 ? null : UUID.nameUUIDFromBytes(("n" + i).getBytes()).toString()));
        }
        List<String> broken = new ArrayList<>(lines);
        broken.set(3, "{"); // line 4
        Path history = file("history.jsonl", broken.toArray(String[]::new));
        assertThat(lethe("import", history.toString(), "--batch", "3").exitCode())
                .isEqualTo(2); // stores 1..3

        Files.write(history, lines);
        Run again = lethe("import", history.toString(), "--batch", "3"); // lines 1..3: line 2 has no id
        assertThat(again.exitCode()).isEqualTo(2);
        assertThat(again.err())
                .contains("line 2: has no id, among lines of its batch stored before")
                .contains("--from-line 2 if it is not stored, 3 if it is");
        assertThat(stream("acct-1")).as("line 2 not stored twice").hasSize(3);
        Run resumed = lethe("import", history.toString(), "--from-line", "3");
        assertThat(resumed.exitCode()).as(resumed.err()).isZero();
        assertThat(stream("acct-1"))
                .extracting(e -> e.data().toString())
                .containsExactly("{\"n\":1}", "{\"n\":2}", "{\"n\":3}", "{\"n\":4}", "{\"n\":5}", "{\"n\":6}");
    }

    @Test
    void a_line_without_an_id_after_the_stored_part_of_a_batch_is_not_stored_twice() throws IOException {
        List<String> lines = List.of(
                line("acct-1", 1, UUID.nameUUIDFromBytes("m1".getBytes()).toString()),
                line("acct-1", 2, null),
                line("acct-1", 3, UUID.nameUUIDFromBytes("m3".getBytes()).toString()));
        // An import that stopped after storing lines 1 and 2...
        assertThat(lethe(
                                "import",
                                file("first-two.jsonl", lines.get(0), lines.get(1))
                                        .toString(),
                                "--batch",
                                "2")
                        .exitCode())
                .isZero();
        // ...run again whole: line 1 is stored, line 2 may be (it is: the stream ends with it), so it is not
        // appended again.
        Run again =
                lethe("import", file("all.jsonl", lines.toArray(String[]::new)).toString());
        assertThat(again.exitCode()).isEqualTo(2);
        assertThat(again.err()).contains("line 2: has no id, among lines of its batch stored before");
        assertThat(stream("acct-1")).hasSize(2);
    }

    @Test
    void a_batch_holding_an_id_stored_in_another_stream_is_refused_whole_naming_the_line() throws IOException {
        String taken = UUID.nameUUIDFromBytes("taken".getBytes()).toString();
        assertThat(lethe(
                                "import",
                                file("first.jsonl", line("order-1", 1, taken)).toString())
                        .exitCode())
                .isZero();
        Path history = file(
                "second.jsonl",
                line("order-8", 1, UUID.nameUUIDFromBytes("fresh".getBytes()).toString()),
                line("order-8", 2, null),
                line("order-8", 3, taken)); // already stored, in order-1
        Run run = lethe("import", history.toString());
        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err())
                .contains("error: " + history + " line 3: event id " + taken + " is already stored")
                .contains("--from-line 1");
        assertThat(stream("order-8"))
                .as("the batch is stored whole or not at all")
                .isEmpty();
    }

    @Test
    void an_empty_file_is_nothing_to_import_and_lines_before_from_line_are_not_read() throws IOException {
        Path empty = file("empty.jsonl");
        Files.writeString(empty, "");
        Run nothing = lethe("import", empty.toString());
        assertThat(nothing.exitCode()).as(nothing.err()).isZero();
        assertThat(nothing.out()).contains("nothing to import");

        // A line too long to be an event, and one not in UTF-8, skipped with --from-line: never read.
        Path mixed = root.resolve("mixed.jsonl");
        try (var out = Files.newOutputStream(mixed)) {
            out.write((line("a", 1, null) + "\n").getBytes(StandardCharsets.UTF_8));
            out.write(new byte[9 * 1024 * 1024]);
            out.write("\n".getBytes(StandardCharsets.UTF_8));
            out.write("{\"stream\":\"a\",\"type\":\"T\",\"data\":{\"city\":\"Mal\u00e9\"}}\n"
                    .getBytes(StandardCharsets.ISO_8859_1));
            out.write((line("a", 4, null) + "\n").getBytes(StandardCharsets.UTF_8));
        }
        Run tooLong = lethe("import", mixed.toString());
        assertThat(tooLong.err()).contains("line 2: is longer than 8 MiB", "--from-line 1");
        assertThat(stream("a"))
                .as("line 1's batch waits with the line that stopped it")
                .isEmpty();
        Run skipped = lethe("import", mixed.toString(), "--from-line", "4");
        assertThat(skipped.exitCode()).as(skipped.err()).isZero();
        assertThat(stream("a")).extracting(e -> e.data().toString()).containsExactly("{\"n\":4}");
    }

    @Test
    void a_dry_run_refuses_a_system_streams_line_as_the_import_does_even_with_an_id_stored_there() throws IOException {
        assertThat(lethe("demo").exitCode()).isZero();
        RecordedEvent audited = stream("$audit").get(0); // a copy of a log: its $audit lines, ids and all
        Path copied = file(
                "copied.jsonl",
                "{\"stream\":\"$audit\",\"type\":\"" + audited.type() + "\",\"data\":" + audited.data() + ",\"id\":\""
                        + audited.id() + "\"}");
        Run dry = lethe("import", copied.toString(), "--dry-run");
        assertThat(dry.exitCode()).isEqualTo(2);
        assertThat(dry.out())
                .contains("line 1 stream id: '$audit' is a system stream", "1 line(s) refused")
                .doesNotContain("stored already");
        Run run = lethe("import", copied.toString());
        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).contains("'$audit' is a system stream");
    }

    @Test
    void lines_to_a_stream_whose_last_event_is_a_forgotten_subjects_are_warned_of() throws IOException {
        assertThat(lethe("demo").exitCode()).isZero(); // forgets Ada
        String forgottenStream;
        try (SqliteLethe lethe = SqliteLethe.open(root.resolve("data"))) {
            forgottenStream = lethe.store().readAll(0, 10_000).stream()
                    .filter(e -> e.streamId().value().startsWith("customer-"))
                    .map(e -> e.streamId().value())
                    .distinct()
                    .filter(s -> dev.lethe.core.privacy.PrivacyCodec.subjectsOf(lethe.store()
                                    .readStream(StreamId.of(s), Long.MAX_VALUE, Direction.BACKWARD, 1)
                                    .get(0)
                                    .metadata())
                            .values()
                            .stream()
                            .anyMatch(lethe.privacy().keys()::isForgotten))
                    .findFirst()
                    .orElseThrow();
        }
        String sale = "{\"stream\":\"" + forgottenStream + "\",\"type\":\"ProductSold\",\"data\":{\"customerNumber\":"
                + "\"C-replayed\",\"product\":\"Global Equity Fund\",\"reason\":\"retirement\",\"amount\":1,"
                + "\"currency\":\"EUR\"}}";
        Path replay = file("replay.jsonl", sale.replace(forgottenStream, "customer-new1"), sale);
        Run dry = lethe("import", replay.toString(), "--dry-run");
        assertThat(dry.err())
                .contains("warning: " + replay + " line 2 would append to a stream whose last event is a forgotten"
                        + " subject's")
                .doesNotContain("line 1 ")
                .doesNotContain(forgottenStream);
        Run run = lethe("import", replay.toString(), "--json");
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.err()).contains("line 2 appends to a stream whose last event is a forgotten subject's");
        assertThat(run.out()).contains("\"streamsOfForgottenSubjects\":1");
    }

    @Test
    void an_event_refused_inside_a_batch_is_named_by_its_line_and_its_batch_is_not_stored() throws IOException {
        assertThat(lethe("demo").exitCode()).isZero();
        Path policy = root.resolve("data").resolve("policy.yaml");
        Files.writeString(policy, Files.readString(policy).replace("strict: false", "strict: true"));
        String sale = "{\"stream\":\"customer-x1\",\"type\":\"ProductSold\",\"data\":{\"customerNumber\":\"C-x1\","
                + "\"product\":\"Global Equity Fund\",\"reason\":\"retirement\",\"amount\":1,\"currency\":\"EUR\"}}";
        Path history = file(
                "sales.jsonl",
                sale.replace("customer-x1", "customer-x0"),
                sale,
                sale,
                sale.replace("\"amount\":1", "\"amount\":\"one\""), // line 4: not a number
                sale);
        Run run = lethe("import", history.toString());
        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err())
                .contains("error: " + history
                        + " line 4 ProductSold.amount (in the batch of lines 2..5): must be of type" + " number")
                .contains("--from-line 2");
        assertThat(stream("customer-x0")).hasSize(1);
        assertThat(stream("customer-x1")).isEmpty();
    }

    @Test
    void a_dry_run_lists_every_line_an_import_would_refuse_in_line_order_and_creates_nothing() throws IOException {
        assertThat(lethe("demo").exitCode()).isZero();
        Path policy = root.resolve("data").resolve("policy.yaml");
        Files.writeString(policy, Files.readString(policy).replace("strict: false", "strict: true"));
        String sale = "{\"stream\":\"customer-dry\",\"type\":\"ProductSold\",\"data\":{\"customerNumber\":\"C-dry-1\","
                + "\"product\":\"Global Equity Fund\",\"reason\":\"retirement\",\"amount\":1,\"currency\":\"EUR\"}}";
        Path history = file(
                "sales.jsonl",
                sale,
                sale.replace("\"amount\":1", "\"amount\":\"one\""), // line 2: not a number
                sale,
                "{not json", // line 4
                sale.replace("ProductSold", "ProductGifted"), // line 5: no schema (strict mode)
                sale.replace("\"currency\"", "\"iban\":\"DE00\",\"currency\""), // line 6: undeclared, looks personal
                sale,
                "{\"a\": \u2192}"); // line 8: not JSON, its character above U+00FF
        long head = head();

        Run run = lethe("import", "--dry-run", history.toString());

        assertThat(run.exitCode()).as(run.err()).isEqualTo(2);
        String out = run.out();
        assertThat(out)
                .contains("dry run of " + history
                        + ", nothing stored: 3 event(s) from the lines it accepts would be stored in 2 batch(es), 5"
                        + " line(s) refused")
                .contains(history + " line 2 ProductSold.amount: must be of type number")
                .contains(history + " line 4: invalid JSON")
                .contains(history + " line 5 type: 'ProductGifted' has no registered schema (strict mode)")
                .contains(history + " line 6 ProductSold data.iban: looks personal");
        // The input's characters are not shown, nor their codes; the file's path is left out of this check, as its
        // random temporary directory may hold any digits.
        assertThat(out.replace(history.toString(), "sales.jsonl"))
                .doesNotContain("code 110") // the 'n' of "{not json"
                .doesNotContain("8594") // the arrow of line 8
                .doesNotContain("0x2192");
        assertThat(out.indexOf(" line 2 "))
                .isLessThan(out.indexOf(" line 4:"))
                .isLessThan(out.indexOf(" line 5 "))
                .isLessThan(out.indexOf(" line 6 "));
        assertThat(out).doesNotContain("DE00");
        // Nothing written: no event, and no subject for the new customer's natural key.
        assertThat(head()).isEqualTo(head);
        Run lookup = lethe("--role", "dpo", "subject", "lookup", "C-dry-1");
        assertThat(lookup.exitCode()).as(lookup.out() + lookup.err()).isEqualTo(2);

        // The same file without its bad lines: nothing refused, exit 0, still nothing stored.
        Path good = file("good.jsonl", sale, sale);
        Run clean = lethe("import", "--dry-run", good.toString());
        assertThat(clean.exitCode()).as(clean.out() + clean.err()).isZero();
        assertThat(clean.out()).contains("2 event(s) would be stored in 1 batch(es), 0 line(s) refused");
        assertThat(head()).isEqualTo(head);
    }

    @Test
    void a_dry_run_finds_an_id_given_twice_in_the_file_and_tells_ids_stored_before_as_an_import_would()
            throws IOException {
        String stored = UUID.randomUUID().toString();
        String twice = UUID.randomUUID().toString();
        String elsewhere = UUID.randomUUID().toString();
        String storedFirst = UUID.randomUUID().toString();
        assertThat(lethe(
                                "import",
                                file(
                                                "first.jsonl",
                                                line("a", 1, stored),
                                                line("d", 4, elsewhere),
                                                line("p", 10, storedFirst))
                                        .toString())
                        .exitCode())
                .isZero();
        long head = head();
        Path history = file(
                "again.jsonl",
                line("a", 1, stored), // imported before: skipped by an import
                line("b", 2, twice),
                line("c", 3, twice), // another stream: an import would refuse it
                line("e", 5, elsewhere), // stored in stream d: an import would refuse it
                line("p", 10, storedFirst), // a stopped import's stored part: skipped,
                line("p", 11, UUID.randomUUID().toString())); // and the rest of its batch stored

        Run run = lethe("import", "--dry-run", history.toString());

        assertThat(run.exitCode()).as(run.out() + run.err()).isEqualTo(2);
        assertThat(run.out())
                .contains(history + " line 3 id: " + twice + " is also the id of line 2, in another stream: an id names"
                        + " one event, in one stream")
                .contains(history + " line 4: event id " + elsewhere + " is already stored in another stream than 'e'")
                .contains("2 line(s) are stored already")
                .contains("2 event(s) from the lines it accepts would be stored")
                .contains("2 line(s) refused");
        assertThat(head()).isEqualTo(head);

        // A stopped import's stored part followed, in its batch, by an id stored in another stream: the import
        // appends the rest, and the store refuses it; the dry run says so too.
        String inQ = UUID.randomUUID().toString();
        String inR = UUID.randomUUID().toString();
        assertThat(lethe(
                                "import",
                                file("qr.jsonl", line("q", 1, inQ), line("r", 2, inR))
                                        .toString())
                        .exitCode())
                .isZero();
        Path mixed = file("mixed.jsonl", line("q", 1, inQ), line("q", 2, inR));
        Run mixedRun = lethe("import", "--dry-run", mixed.toString());
        assertThat(mixedRun.exitCode()).as(mixedRun.out() + mixedRun.err()).isEqualTo(2);
        assertThat(mixedRun.out())
                .contains(mixed + " line 2: event id " + inR + " is already stored in another stream than");
        assertThat(lethe("import", mixed.toString()).exitCode()).isEqualTo(2);
    }

    @Test
    void a_lenient_dry_run_names_what_would_be_stored_unencrypted_and_runs_beside_a_writer() throws IOException {
        assertThat(lethe("demo").exitCode()).isZero();
        String sale = "{\"stream\":\"customer-dry\",\"type\":\"ProductSold\",\"data\":{\"customerNumber\":\"C-dry-2\","
                + "\"product\":\"Global Equity Fund\",\"reason\":\"retirement\",\"amount\":1,\"currency\":\"EUR\","
                + "\"iban\":\"DE00\"}}";
        // A member whose name says nothing, holding an e-mail address deep inside: found by its value.
        String noted = sale.replace("\"iban\":\"DE00\"", "\"remarks\":[{\"by\":\"call back on dry@example.com\"}]");
        Path history = file(
                "lenient.jsonl",
                sale,
                sale,
                noted,
                "{\"stream\":\"notes\",\"type\":\"NoteTaken\",\"data\":{\"email\":\"someone@example.com\"}}",
                "{\"stream\":\"notes\",\"type\":\"NoteTaken\",\"data\":{},\"metadata\":{\"clientIp\":\"192.0.2.7\"}}",
                "{\"stream\":\"notes\",\"type\":\"NoteTaken\",\"data\":{},\"metadata\":{\"by\":\"ops@example.com\"}}");
        Run run;
        try (SqliteLethe writer = SqliteLethe.open(root.resolve("data"))) { // a running server, say
            run = lethe("import", "--dry-run", history.toString());
        }

        assertThat(run.exitCode()).as(run.out() + run.err()).isZero();
        assertThat(run.out())
                .contains("6 event(s) would be stored in 2 batch(es), 0 line(s) refused")
                .contains("ProductSold 'iban': its name looks personal, its schema does not declare it, in 2 event(s)"
                        + " from line 1")
                .contains("ProductSold 'remarks': holds what looks like an e-mail address, its schema does not declare"
                        + " it, in 1 event(s) from line 3")
                .contains(
                        "NoteTaken 'email': its name looks personal, the type has no schema, in 1 event(s) from line 4")
                // Metadata is stored as written in lenient mode, never encrypted: said too (strict mode refuses it).
                .contains("metadata stored as written, though it looks personal")
                .contains("  NoteTaken metadata: member 'clientIp' looks like personal data, in 2 event(s) from line 5")
                .doesNotContain("192.0.2.7")
                .doesNotContain("DE00")
                .doesNotContain("example.com");
        assertThat(stream("customer-dry")).isEmpty();
    }

    @Test
    void bad_input_is_refused_with_the_line_and_the_problem() throws IOException {
        Path noStream = file("no-stream.jsonl", "{\"type\":\"Deposited\",\"data\":{}}");
        assertThat(lethe("import", noStream.toString()).err())
                .contains("line 1: needs \"stream\" (a string: the stream to append to)");

        Path badStream = file("bad-stream.jsonl", "{\"stream\":\"\",\"type\":\"Deposited\",\"data\":{}}");
        assertThat(lethe("import", badStream.toString()).err()).contains("line 1: stream: must not be empty");

        Path system = file("system.jsonl", "{\"stream\":\"$audit\",\"type\":\"Deposited\",\"data\":{}}");
        assertThat(lethe("import", system.toString()).err()).contains("is a system stream");

        Path unknownMember = file("member.jsonl", "{\"stream\":\"a\",\"type\":\"T\",\"data\":{},\"metdata\":{}}");
        assertThat(lethe("import", unknownMember.toString()).err())
                .contains("line 1: has the member 'metdata'; a line has only stream, type, data, metadata and id");
        // A member name that holds an e-mail address is not repeated (standard error is kept in job logs).
        Path topTwice = file("top-twice.jsonl", "{\"ada@example.org\":1,\"ada@example.org\":1}");
        assertThat(lethe("import", topTwice.toString()).err())
                .contains("line 1: has (a name not shown: it holds what looks like an e-mail address) twice")
                .doesNotContain("ada@example.org");
        Path emailMember =
                file("email-member.jsonl", "{\"stream\":\"a\",\"type\":\"T\",\"data\":{},\"ada@example.org\":1}");
        assertThat(lethe("import", emailMember.toString()).err())
                .contains("line 1: has the member (a name not shown: it holds what looks like an e-mail address)")
                .doesNotContain("ada@example.org");

        // A member twice in the data: readers would disagree on the number (the HTTP API refuses it too).
        Path twice =
                file("twice.jsonl", "{\"stream\":\"t\",\"type\":\"T\",\"data\":{\"quantity\":1,\"quantity\":1000}}");
        Run duplicate = lethe("import", twice.toString());
        assertThat(duplicate.exitCode()).isEqualTo(2);
        assertThat(duplicate.err()).contains("line 1: data: has a member twice: 'quantity'");
        assertThat(stream("t")).isEmpty();
        Run appendTwice = lethe("append", "t", "T", "{\"quantity\":1,\"quantity\":1000}");
        assertThat(appendTwice.exitCode()).isEqualTo(2);
        assertThat(appendTwice.err()).contains("has a member twice: 'quantity'");
        Run emailTwice = lethe("append", "t", "T", "{\"x\":{\"ada@example.org\":1,\"ada@example.org\":2}}");
        assertThat(emailTwice.exitCode()).isEqualTo(2);
        assertThat(emailTwice.err())
                .contains("has a member twice: (a name not shown: it holds what looks like an e-mail address)")
                .doesNotContain("ada@example.org");

        Path latin1 = root.resolve("latin1.jsonl");
        Files.write(
                latin1,
                List.of(line("a", 1, null), "{\"stream\":\"a\",\"type\":\"T\",\"data\":{\"city\":\"Mal\u00e9\"}}"),
                StandardCharsets.ISO_8859_1);
        Run notUtf8 = lethe("import", latin1.toString());
        assertThat(notUtf8.exitCode()).isEqualTo(2);
        assertThat(notUtf8.err()).contains("line 2: is not UTF-8 text", "--from-line 1");
        assertThat(stream("a")).isEmpty();

        assertThat(lethe("import", root.resolve("missing.jsonl").toString()).err())
                .contains("missing.jsonl does not exist");
        assertThat(lethe("import", noStream.toString(), "--batch", "10001").err())
                .contains("--batch: 10001 is out of range: give 1 to 10000 events");
        assertThat(lethe("import", noStream.toString(), "--from-line", "0").err())
                .contains("--from-line: 0 is out of range");
        Run past = lethe("import", noStream.toString(), "--from-line", "5");
        assertThat(past.exitCode()).isEqualTo(2);
        assertThat(past.err()).contains("--from-line: 5 is past the end of " + noStream + ", which has 1 lines");
    }

    @Test
    void personal_fields_are_sealed_as_by_append_and_the_file_order_decides_the_log() throws IOException {
        assertThat(lethe("demo").exitCode()).isZero();
        String marker = "imported.person." + UUID.randomUUID() + "@example.com";
        Path history = file(
                "customers.jsonl",
                "{\"stream\":\"customer-import-1\",\"type\":\"CustomerRegistered\",\"data\":{\"customerNumber\":\"C-import-1\","
                        + "\"name\":\"Imported Person\",\"email\":\"" + marker
                        + "\",\"address\":{\"street\":\"Long Lane 1\","
                        + "\"city\":\"Leeds\",\"country\":\"UK\"}}}");

        Run run = lethe("import", history.toString());

        assertThat(run.exitCode()).as(run.err()).isZero();
        Files.delete(history);
        try (Stream<Path> files = Files.walk(root.resolve("data"))) {
            for (Path stored : files.filter(Files::isRegularFile).toList()) {
                assertThat(new String(Files.readAllBytes(stored), StandardCharsets.ISO_8859_1))
                        .as(stored.toString())
                        .doesNotContain(marker);
            }
        }
        assertThat(lethe("read", "customer-import-1", "--json", "--role", "advisor")
                        .out())
                .contains(marker);
        assertThat(lethe("read", "customer-import-1", "--json", "--role", "analyst")
                        .out())
                .doesNotContain(marker)
                .contains("restricted");
    }
}
