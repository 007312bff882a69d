package dev.lethe.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.StreamId;
import dev.lethe.sqlite.SqliteEventStore;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LetheCliTest {
    /** A date to come for scheduled forgets: a fixed year would pass one day. */
    private static final String LATER =
            (java.time.Year.now(java.time.ZoneOffset.UTC).getValue() + 6) + "-01-01";

    private static final String LATER_STILL =
            (java.time.Year.now(java.time.ZoneOffset.UTC).getValue() + 7) + "-01-01";

    private static final String DAY_AFTER_LATER =
            (java.time.Year.now(java.time.ZoneOffset.UTC).getValue() + 6) + "-01-02";

    /** Holds {@link #data} and the siblings some tests make beside it, so that all are deleted. */
    @TempDir
    Path root;

    Path data;

    @BeforeEach
    void dataDirectory() throws java.io.IOException {
        data = Files.createDirectory(root.resolve("data"));
    }

    private record Run(int exitCode, String out, String err) {}

    private Run lethe(String... args) {
        return letheAt(data, args);
    }

    /** The command with {@code --data directory --init}: these tests start from an empty directory. */
    private static Run letheAt(Path directory, String... args) {
        String[] withData = new String[args.length + 3];
        withData[0] = "--data";
        withData[1] = directory.toString();
        withData[2] = "--init";
        System.arraycopy(args, 0, withData, 3, args.length);
        return run(withData);
    }

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = LetheCli.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void a_command_that_writes_creates_no_store_in_a_mistyped_directory_unless_init_asks_for_one() throws Exception {
        Path typo = root.resolve("dta");
        Files.writeString(
                root.resolve("none.jsonl"), "{\"stream\":\"customer-1\",\"type\":\"Registered\",\"data\":{}}\n");
        for (String[] command : List.of(
                new String[] {"append", "customer-1", "Registered", "{\"tier\":\"gold\"}"},
                new String[] {"import", root.resolve("none.jsonl").toString()},
                new String[] {
                    "schemas",
                    "register",
                    "Registered",
                    Files.writeString(root.resolve("schema.json"), "{\"type\":\"object\"}")
                            .toString(),
                    "--role",
                    "dpo"
                })) {
            List<String> args = new java.util.ArrayList<>(List.of("--data", typo.toString()));
            args.addAll(List.of(command));
            Run refused = run(args.toArray(String[]::new));
            assertThat(refused.exitCode()).as(String.join(" ", command)).isEqualTo(1);
            assertThat(refused.err())
                    .contains("no Lethe event store in " + typo)
                    .contains("give --init to create a store there");
            assertThat(typo).doesNotExist();
        }
        // init written as a command, and --init with a command that only reads: each says what to do instead.
        Run initCommand = run("--data", typo.toString(), "init");
        assertThat(initCommand.exitCode()).isEqualTo(2);
        assertThat(initCommand.err()).contains("init is an option, not a command: give --init before a command");
        Files.writeString(root.resolve("one.jsonl"), "{\"stream\":\"customer-1\",\"type\":\"T\",\"data\":{}}\n");
        Run dryRun = run(
                "--data",
                typo.toString(),
                "--init",
                "import",
                root.resolve("one.jsonl").toString(),
                "--dry-run");
        assertThat(dryRun.exitCode()).isEqualTo(1);
        assertThat(dryRun.err())
                .contains("--init makes a store only for append, import, schemas register, policy set and serve")
                .doesNotContain("makes an empty one with --init");
        assertThat(typo).doesNotExist();
        // An empty directory (a volume not mounted) too.
        Files.createDirectory(typo);
        assertThat(run("--data", typo.toString(), "append", "customer-1", "Registered", "{}")
                        .exitCode())
                .isEqualTo(1);
        try (var files = Files.list(typo)) {
            assertThat(files).isEmpty();
        }
        Run created = run("--data", typo.toString(), "--init", "append", "customer-1", "Registered", "{}");
        assertThat(created.exitCode()).as(created.err()).isZero();
        assertThat(typo.resolve("events.db")).exists();
        // Once there, no --init is needed.
        assertThat(run("--data", typo.toString(), "append", "customer-1", "Registered", "{}")
                        .exitCode())
                .isZero();
        // A store that lost its log (keys.db still there) is not an empty directory: --init makes no new log.
        Files.delete(typo.resolve("events.db"));
        Files.deleteIfExists(typo.resolve("events.db-wal"));
        Files.deleteIfExists(typo.resolve("events.db-shm"));
        for (String[] command : List.of(
                new String[] {"--init", "append", "customer-1", "Registered", "{}"},
                new String[] {"append", "customer-1", "Registered", "{}"},
                new String[] {"read", "--all"})) {
            List<String> args = new java.util.ArrayList<>(List.of("--data", typo.toString()));
            args.addAll(List.of(command));
            Run lost = run(args.toArray(String[]::new));
            assertThat(lost.exitCode()).as(String.join(" ", command)).isEqualTo(1);
            assertThat(lost.err())
                    .as(String.join(" ", command))
                    .contains("events.db is missing from " + typo + ", which holds keys.db");
        }
        assertThat(typo.resolve("events.db")).doesNotExist();
    }

    /** A demo customer's stream and subject id. */
    private record Customer(String stream, String subject) {}

    /** The demo's second customer (Alan Turing), from the log as `read --json` prints it. */
    private Customer secondDemoCustomer() throws Exception {
        return demoCustomer(1);
    }

    /** The demo's customer registered {@code n}-th (from 0), from the log as `read --json` prints it. */
    private Customer demoCustomer(int n) throws Exception {
        var event = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(lethe("read", "--all", "--category", "customer", "--json", "--limit", "3", "--role", "dpo")
                        .out()
                        .lines()
                        .skip(n)
                        .findFirst()
                        .orElseThrow());
        return new Customer(
                event.get("stream").asText(),
                event.path("metadata")
                        .path("lethe")
                        .path("subjects")
                        .get("customerNumber")
                        .asText());
    }

    @Test
    void an_export_to_an_output_that_cannot_be_written_fails_and_is_not_audited_as_handed_over() throws Exception {
        assertThat(lethe("demo").exitCode()).isZero();
        String subject = secondDemoCustomer().subject();
        // Standard output on a full disk, or a pipe whose reader is gone: a PrintWriter only notes the error.
        java.io.Writer full = new java.io.Writer() {
            private int written;

            @Override
            public void write(char[] chars, int offset, int length) throws java.io.IOException {
                written += length;
                if (written > 200) {
                    throw new java.io.IOException("No space left on device");
                }
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        StringWriter err = new StringWriter();
        int code = LetheCli.run(
                new String[] {"--data", data.toString(), "subject", "export", subject, "--role", "dpo"},
                new PrintWriter(full, true),
                new PrintWriter(err, true));
        assertThat(code).isEqualTo(1);
        assertThat(err.toString()).contains("standard output is closed or full");
        List<String> audit = lethe("read", "$audit", "--json", "--limit", "10000")
                .out()
                .lines()
                .filter(line -> line.contains("\"SubjectExport"))
                .map(line -> line.contains("SubjectExportStarted") ? "started" : "exported")
                .toList();
        assertThat(audit).endsWith("started");
    }

    @Test
    void an_export_goes_on_past_a_field_altered_on_disk_names_it_and_exits_5() throws Exception {
        assertThat(lethe("demo").exitCode()).isZero();
        String subject = secondDemoCustomer().subject();
        // One byte inside one of the subject's envelopes altered in events.db (the tag no longer matches).
        long position;
        try (java.sql.Connection db =
                java.sql.DriverManager.getConnection("jdbc:sqlite:" + data.resolve("events.db"))) {
            byte[] stored;
            try (java.sql.PreparedStatement find = db.prepareStatement("SELECT position, data FROM events"
                    + " WHERE CAST(metadata AS TEXT) LIKE ? AND CAST(data AS TEXT) LIKE '%lethe:v1:%'"
                    + " ORDER BY position LIMIT 1")) {
                find.setString(1, "%" + subject + "%");
                try (java.sql.ResultSet row = find.executeQuery()) {
                    assertThat(row.next()).isTrue();
                    position = row.getLong(1);
                    stored = row.getBytes(2);
                }
            }
            int at = new String(stored, java.nio.charset.StandardCharsets.UTF_8).indexOf("lethe:v1:") + 40;
            stored[at] = (byte) (stored[at] == 'A' ? 'B' : 'A');
            try (java.sql.PreparedStatement write =
                    db.prepareStatement("UPDATE events SET data = ? WHERE position = ?")) {
                write.setBytes(1, stored);
                write.setLong(2, position);
                assertThat(write.executeUpdate()).isEqualTo(1);
            }
        }

        Run export = lethe("subject", "export", subject, "--role", "dpo");

        assertThat(export.exitCode()).as(export.err()).isEqualTo(5);
        com.fasterxml.jackson.databind.JsonNode events = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(export.out())
                .path("events");
        List<String> reasons = new java.util.ArrayList<>();
        List<String> damaged = new java.util.ArrayList<>();
        events.forEach(event -> event.path("redacted").forEach(r -> {
            reasons.add(r.path("reason").asText());
            damaged.add("event " + event.path("id").asText() + " (position "
                    + event.path("position").asLong() + ") field "
                    + r.path("path").asText());
        }));
        assertThat(reasons).containsExactly("tampered");
        assertThat(damaged.get(0)).contains("(position " + position + ")");
        assertThat(export.err())
                .contains("warning: 1 personal field(s) of this export failed authentication")
                .contains(damaged.get(0));
        // Every other event of the subject is there, opened.
        assertThat(events.size()).isGreaterThan(1);
        // A read of that event still refuses it.
        Run read = lethe("read", "--all", "--from", String.valueOf(position), "--limit", "1", "--role", "dpo");
        assertThat(read.exitCode()).isEqualTo(1);
        assertThat(read.err()).contains("failed authentication");

        // An event whose stored JSON itself is cut short (not a field's envelope) stops the export, in one line.
        try (java.sql.Connection db = java.sql.DriverManager.getConnection("jdbc:sqlite:" + data.resolve("events.db"));
                java.sql.PreparedStatement cut = db.prepareStatement("UPDATE events SET data = ? WHERE position = ?")) {
            cut.setBytes(1, "{\"customerNumber\":\"lethe:v1:AR".getBytes(java.nio.charset.StandardCharsets.UTF_8));
            cut.setLong(2, position);
            assertThat(cut.executeUpdate()).isEqualTo(1);
        }
        Run stopped = lethe("subject", "export", subject, "--role", "dpo");
        assertThat(stopped.exitCode()).isEqualTo(1);
        assertThat(stopped.err()).contains("cut short or no longer well-formed").doesNotContain("\tat ");
    }

    @Test
    void a_read_cut_by_its_limit_gives_a_cursor_that_goes_on_only_where_the_log_still_holds_its_event()
            throws Exception {
        assertThat(lethe("demo").exitCode()).isZero();
        Run first = lethe("read", "--all", "--limit", "3", "--json");
        java.util.regex.Matcher cursor = java.util.regex.Pattern.compile("--after (2:[0-9a-f-]{36}:[0-9]+\\.[0-9]{9})")
                .matcher(first.err());
        assertThat(cursor.find()).as(first.err()).isTrue();
        Run next = lethe("read", "--all", "--limit", "2", "--json", "--after", cursor.group(1));
        assertThat(next.exitCode()).as(next.err()).isZero();
        assertThat(next.out().lines().map(line -> line.substring(0, line.indexOf(','))))
                .containsExactly("{\"position\":3", "{\"position\":4");
        Run tail = lethe("tail", "--after", cursor.group(1), "--count", "1", "--json");
        assertThat(tail.out()).startsWith("{\"position\":3,");
        assertThat(tail.err()).contains("to go on after the last event shown: --after 3:");
        // Another event at that position (a restored older copy, another store): refused, not read on from.
        String forged = "2:" + java.util.UUID.randomUUID()
                + cursor.group(1).substring(cursor.group(1).lastIndexOf(':'));
        for (String[] command : List.of(
                new String[] {"read", "--all", "--after", forged},
                new String[] {"tail", "--after", forged, "--count", "1"})) {
            Run refused = lethe(command);
            assertThat(refused.exitCode()).as(String.join(" ", command)).isEqualTo(1);
            assertThat(refused.err()).contains("this log holds another event there");
        }
        assertThat(lethe("read", "--all", "--after", "2").err()).contains("is not a cursor");
        // Made from a JSON line (its recordedAt as printed) it works too; and at the end of the log, the note
        // says where to go on next time.
        com.fasterxml.jackson.databind.JsonNode third = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(next.out().lines().findFirst().orElseThrow());
        String fromJson = third.get("position").asText() + ":" + third.get("id").asText() + ":"
                + third.get("recordedAt").asText();
        Run rest = lethe("read", "--all", "--after", fromJson, "--json", "--limit", "10000");
        assertThat(rest.exitCode()).as(rest.err()).isZero();
        assertThat(rest.out().lines().findFirst().orElseThrow()).startsWith("{\"position\":4,");
        assertThat(rest.err()).contains("read to the end of the log; to go on later after the last event: --after ");
        // A tail that saw nothing still says where to go on from: where it began.
        String lastCursor = rest.err().replaceAll("(?s).*--after (\\S+).*", "$1");
        Run quiet = lethe("tail", "--after", lastCursor, "--timeout", "1");
        assertThat(quiet.exitCode()).as(quiet.err()).isZero();
        assertThat(quiet.err()).contains("no event arrived; to go on from the same place: --after " + lastCursor);
        assertThat(lethe("tail", "--timeout", "1").err())
                .containsPattern("no event arrived; to go on from the same place: --from [0-9]+");
        assertThat(lethe("read", "--all", "--from", "1", "--after", cursor.group(1))
                        .err())
                .contains("--after: goes with --all, instead of --from");
    }

    @Test
    void a_tail_stopped_by_its_timeout_names_the_last_event_it_printed() throws Exception {
        // Enough events that printing them outlasts the timeout: the cursor was read while the subscription still
        // printed, ~50 events behind, and a resume from it printed those again (review Z).
        Path lines = data.resolveSibling("many.jsonl");
        try (var out = Files.newBufferedWriter(lines)) {
            for (int i = 0; i < 60_000; i++) {
                out.write("{\"stream\":\"ticks-" + (i / 600) + "\",\"type\":\"Ticked\",\"data\":{\"n\":" + i + "}}\n");
            }
        }
        Run imported = lethe("import", lines.toString(), "--batch", "10000");
        assertThat(imported.exitCode()).as(imported.err()).isZero();
        Run tail = lethe("tail", "--from", "0", "--timeout", "1", "--json");
        assertThat(tail.exitCode()).as(tail.err()).isZero();
        List<String> printed = tail.out().lines().toList();
        assertThat(printed).isNotEmpty();
        String lastPrinted = printed.get(printed.size() - 1);
        long lastPosition = Long.parseLong(lastPrinted.substring("{\"position\":".length(), lastPrinted.indexOf(',')));
        java.util.regex.Matcher cursor =
                java.util.regex.Pattern.compile("--after ([0-9]+):").matcher(tail.err());
        assertThat(cursor.find()).as(tail.err()).isTrue();
        assertThat(Long.parseLong(cursor.group(1)))
                .as("the cursor names the last event printed")
                .isEqualTo(lastPosition);
        assertThat(printed).as("in order, none twice").hasSize((int) lastPosition + 1);
    }

    @Test
    void serve_refuses_a_policy_edited_by_hand_to_drop_a_group_a_schema_uses() throws Exception {
        Path schema = Files.writeString(
                data.resolve("paid.json"),
                "{\"type\":\"object\",\"properties\":{\"email\":{\"type\":\"string\","
                        + "\"x-gdpr\":{\"pii\":true,\"key\":true,\"dataGroup\":\"contact\"}}}}");
        Run registered = lethe("schemas", "register", "Paid", schema.toString(), "--role", "dpo");
        assertThat(registered.exitCode()).as(registered.err()).isZero();
        String policy = lethe("policy", "show").out();
        Files.writeString(
                data.resolve("policy.yaml"),
                policy.lines()
                        .filter(line -> !line.trim().startsWith("contact:"))
                        .map(line -> line.replace("identity, contact,", "identity,"))
                        .collect(java.util.stream.Collectors.joining("\n")));
        Run serve = servedAtMostBriefly("serve", "--port", "0");
        assertThat(serve.exitCode()).isEqualTo(2);
        assertThat(serve.err()).contains("does not declare data group 'contact'", "schema Paid v1");
    }

    @Test
    void serve_demo_refuses_a_store_with_data_of_its_own() throws Exception {
        Run appended = lethe("append", "account-1", "Opened", "{\"n\":1}");
        assertThat(appended.exitCode()).as(appended.err()).isZero();
        Run serve = servedAtMostBriefly("serve", "--demo", "--port", "0");
        assertThat(serve.exitCode()).isEqualTo(2);
        assertThat(serve.err()).contains("was not written by the demo", "without --demo");
        // Not told apart by its event types: a store of its own with the demo's CustomerRegistered is refused too.
        Path schema = Files.writeString(
                data.resolve("cr.json"),
                "{\"type\":\"object\",\"properties\":{\"email\":{\"type\":\"string\","
                        + "\"x-gdpr\":{\"pii\":true,\"key\":true,\"dataGroup\":\"contact\"}}}}");
        assertThat(lethe("schemas", "register", "CustomerRegistered", schema.toString(), "--role", "dpo")
                        .exitCode())
                .isZero();
        assertThat(servedAtMostBriefly("serve", "--demo", "--port", "0").exitCode())
                .isEqualTo(2);
    }

    @Test
    void demo_refuses_a_store_with_data_of_its_own_and_changes_nothing_in_it() throws Exception {
        Path schema = Files.writeString(
                data.resolve("ps.json"),
                "{\"type\":\"object\",\"properties\":{\"email\":{\"type\":\"string\","
                        + "\"x-gdpr\":{\"pii\":true,\"key\":true,\"dataGroup\":\"contact\"}}}}");
        assertThat(lethe("schemas", "register", "ProductSold", schema.toString(), "--role", "dpo")
                        .exitCode())
                .isZero();
        String schemasBefore = lethe("schemas", "list").out();
        String logBefore = lethe("read", "--all").out();

        Run demo = lethe("demo");

        assertThat(demo.exitCode()).as(demo.out() + demo.err()).isEqualTo(2);
        assertThat(demo.err()).contains("was not written by the demo", "register its own schemas over yours");
        assertThat(lethe("schemas", "list").out()).isEqualTo(schemasBefore);
        assertThat(lethe("read", "--all").out()).isEqualTo(logBefore);
    }

    /** A serve command expected to be refused: one that starts serving instead fails the test, not hangs it. */
    private Run servedAtMostBriefly(String... args) {
        return org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(
                java.time.Duration.ofSeconds(60), () -> lethe(args));
    }

    @Test
    void demo_hints_name_this_store_as_a_shell_reads_it_back() throws java.io.IOException {
        Path odd = Files.createDirectory(root.resolve("Ada's data"));
        Run demo = letheAt(odd, "demo");
        assertThat(demo.exitCode()).as(demo.err()).isZero();
        String quoted = "'" + odd.toAbsolutePath().normalize().toString().replace("'", "'\\''") + "'";
        assertThat(demo.out().lines().filter(line -> line.startsWith("  ./lethe ")))
                .hasSize(5)
                .allSatisfy(line -> assertThat(line).startsWith("  ./lethe --data " + quoted + " "));
    }

    @Test
    void demo_tells_the_story_and_leaves_a_store_the_other_commands_read() throws Exception {
        Run demo = lethe("demo");
        assertThat(demo.exitCode()).as(demo.err()).isZero();
        assertThat(demo.out())
                .contains("CustomerRegistered", "ProductSold", "AddressChanged")
                .contains("she lived in Lisbon then, in Porto now")
                .contains("Global Equity Fund   3 sold")
                .contains("advisor sees Ada Lovelace", "analyst sees [restricted]")
                .contains("customer-summary for Ada: name [forgotten]")
                .contains("sales still add up: 5 sold before, 5 after")
                .contains("before the forget: ", "after the forget : ")
                // The scan read files and looked for values: "none found" is not a scan of nothing.
                .containsPattern("before the forget: [1-9]\\d* files, [\\d,.\\s]+ bytes, [1-9]\\d* personal values"
                        + " looked for: none found")
                .containsPattern("after the forget : [1-9]\\d* files, [\\d,.\\s]+ bytes, [1-9]\\d* personal values"
                        + " looked for: none found")
                .doesNotContain("FOUND");

        Run list = lethe("projections", "list");
        assertThat(list.out()).contains("customer-summary", "sales-by-product");
        Run stats = lethe("stats");
        assertThat(stats.out())
                .contains(
                        "streams          5",
                        "schemas          3",
                        "forgotten        1 subjects",
                        "receipt journal  none",
                        "subject index    ",
                        "master key       epoch ");
        // The same figures for monitoring, as one JSON object.
        Run statsJson = lethe("stats", "--json");
        assertThat(statsJson.exitCode()).as(statsJson.err()).isZero();
        com.fasterxml.jackson.databind.JsonNode figures =
                new com.fasterxml.jackson.databind.ObjectMapper().readTree(statsJson.out());
        assertThat(figures.get("streams").asLong()).isEqualTo(5);
        assertThat(figures.get("events").asLong())
                .isEqualTo(figures.get("headPosition").asLong() + 1);
        assertThat(figures.get("schemas").asInt()).isEqualTo(3);
        assertThat(figures.get("forgottenSubjects").asInt()).isEqualTo(1);
        assertThat(figures.get("receiptJournal").isNull()).isTrue();
        assertThat(figures.at("/masterKey/epochs")).hasSize(1);
        assertThat(figures.at("/masterKey/rotationIncomplete").asBoolean()).isFalse();
        assertThat(figures.at("/files/events.db").asLong()).isPositive();
        assertThat(figures.get("forgetsRefused").isNull()).isTrue();
        Run all = lethe("read", "--all", "--category", "customer", "--json");
        assertThat(all.out().lines()).hasSize(9);
        assertThat(all.err()).doesNotContain("stopped after");
        // Cut by --limit: said on standard error, with where to go on, so that a dump does not look whole.
        Run cut = lethe("read", "--all", "--category", "customer", "--json", "--limit", "4");
        assertThat(cut.out().lines()).hasSize(4);
        assertThat(cut.err()).contains("stopped after 4 event(s)", "more follow: continue with --after ", "or --from ");
        long next = Long.parseLong(cut.err().replaceAll("(?s).*--from (\\d+).*", "$1"));
        Run rest = lethe("read", "--all", "--category", "customer", "--json", "--from", Long.toString(next));
        assertThat(rest.out().lines()).hasSize(5);
        assertThat(rest.err()).doesNotContain("stopped after");
    }

    @Test
    void append_then_read_round_trips_and_a_retry_with_the_same_id_is_idempotent() {
        String id = "5f0e8b9a-0a43-4c55-9d3b-1f2a3b4c5d6e";
        assertThat(lethe(
                                "append",
                                "order-1",
                                "OrderPlaced",
                                "{\"total\":3}",
                                "--id",
                                id,
                                "--expected-version",
                                "no-stream")
                        .out())
                .contains("versions 0..0, positions 0..0");
        Run retry = lethe(
                "append", "order-1", "OrderPlaced", "{\"total\":3}", "--id", id, "--expected-version", "no-stream");
        assertThat(retry.exitCode()).isZero();
        assertThat(retry.out()).startsWith("already stored, nothing written").contains("positions 0..0");
        Run read = lethe("read", "order-1", "--json");
        assertThat(read.out().lines()).hasSize(1);
        assertThat(read.out()).contains("\"id\":\"" + id + "\"", "\"total\":3");
    }

    @Test
    void a_batch_file_is_appended_atomically_and_a_bad_line_writes_nothing() throws Exception {
        Path good = Files.writeString(
                data.resolve("good.jsonl"),
                "{\"type\":\"A\",\"data\":{\"n\":1}}\n{\"type\":\"B\",\"data\":{\"n\":2},\"metadata\":{\"by\":\"cli\"}}\n");
        assertThat(lethe("append", "batch-1", "--file", good.toString()).out()).contains("appended 2 event(s)");
        assertThat(lethe(
                                "append",
                                "batch-1",
                                "--file",
                                data.resolve("no-such.jsonl").toString())
                        .err())
                .endsWith("no-such.jsonl: no such file" + System.lineSeparator());
        Path notText = Files.write(data.resolve("latin1.jsonl"), new byte[] {(byte) 0xE9, '\n'});
        assertThat(lethe("append", "batch-1", "--file", notText.toString()).err())
                .contains("it is not UTF-8 text");
        assertThat(lethe("subject", "forget", "-V").out()).startsWith("lethe ");

        Path bad = Files.writeString(data.resolve("bad.jsonl"), "{\"type\":\"A\",\"data\":{}}\n{\"type\":\"B\"}\n");
        Run rejected = lethe("append", "batch-2", "--file", bad.toString());
        assertThat(rejected.exitCode()).isEqualTo(2);
        assertThat(rejected.err()).contains("bad.jsonl line 2", "needs \"type\"");
        assertThat(lethe("read", "batch-2").err()).contains("stream batch-2 does not exist");

        // Data and metadata are kept as the line writes them, and checked as a positional argument is.
        Path exact = Files.writeString(
                data.resolve("exact.jsonl"),
                "{\"type\":\"A\",\"data\":{\"amount\":1.50,\"x\":1e2, \"s\":\"é\"},\"metadata\":{\"m\":-0.0}}\n");
        assertThat(lethe("append", "batch-3", "--file", exact.toString()).exitCode())
                .isZero();
        try (SqliteEventStore store = SqliteEventStore.openReadOnly(data)) {
            var stored = store.readStream(StreamId.of("batch-3"), 0, dev.lethe.core.store.Direction.FORWARD, 10)
                    .get(0);
            assertThat(stored.data().toString()).isEqualTo("{\"amount\":1.50,\"x\":1e2, \"s\":\"é\"}");
            assertThat(stored.metadata().toString()).contains("\"m\":-0.0");
        }
        for (String line : new String[] {
            "{\"type\":\"A\",\"data\":{\"amount\":1e99999999999}}",
            "{\"type\":\"A\",\"data\":{}} {\"type\":\"B\",\"data\":{}}",
            "{\"type\":\"A\",\"type\":\"B\",\"data\":{}}",
            "{\"type\":\"A\",\"data\":{},\"metdata\":{\"by\":\"cli\"}}"
        }) {
            Path one = Files.writeString(data.resolve("one.jsonl"), line + "\n");
            Run refused = lethe("append", "batch-4", "--file", one.toString());
            assertThat(refused.exitCode()).as(line + ": " + refused.err()).isEqualTo(2);
            assertThat(refused.err()).as(line).contains("one.jsonl line 1");
        }
        assertThat(lethe("read", "batch-4").err()).contains("stream batch-4 does not exist");
    }

    @Test
    void bad_input_gets_a_clear_error_naming_the_problem_and_writes_nothing() {
        lethe("append", "order-1", "A", "{}");
        assertThat(lethe("append", "bad stream", "A", "{}").err())
                .contains("stream id", "U+0020 at index 3")
                .doesNotContain("bad stream");
        assertThat(lethe("append", "order-1", "A", "{oops").err()).contains("JSON data: invalid JSON");
        // Jackson quotes the token it could not read; it may be personal data, so it is not repeated.
        Run unquoted = lethe("append", "order-1", "A", "{\"email\": ada@example.com}");
        assertThat(unquoted.err())
                .contains("invalid JSON", "Unrecognized token '…'", "line 1, column")
                .doesNotContain("ada");
        assertThat(lethe("append", "order-1", "A", "{}", "--metadata", "[1]").err())
                .contains("metadata", "JSON object");
        assertThat(lethe("append", "order-1", "A", "{}", "--expected-version", "-2")
                        .err())
                .contains("-2 is below -1", "no_stream")
                .doesNotContain("noStream()"); // the Java API's spelling, not the command line's
        assertThat(lethe("append", "order-1", "A", "{}", "--expected-version", "soon")
                        .err())
                .contains("'soon'", "no-stream");
        Run conflict = lethe("append", "order-1", "A", "{}", "--expected-version", "no-stream");
        assertThat(conflict.exitCode()).isEqualTo(1);
        assertThat(conflict.err()).contains("order-1", "expected no stream, actual version 0");
        assertThat(lethe("append", "order-1", "A", "\"" + "x".repeat(1 << 20) + "\"")
                        .err())
                .contains("1 MiB");
        assertThat(lethe("frobnicate").exitCode()).isEqualTo(2);
        assertThat(lethe("frobnicate").err()).contains("frobnicate");
        Run bogus = lethe("read", "--bogus");
        assertThat(bogus.exitCode()).isEqualTo(2);
        assertThat(bogus.err())
                .contains("error: Unknown option: '--bogus'", "usage: lethe help read")
                .hasLineCount(2);
        assertThat(lethe("append", "x-1", "T", "{}", "--id", "not-a-uuid").err())
                .contains("not-a-uuid")
                .doesNotContain("java.lang")
                .hasLineCount(2);
        assertThat(lethe("read", "order-1", "--as-of", "last tuesday").err())
                .contains("'last tuesday' is not an instant");
        assertThat(lethe("read").err()).contains("give a STREAM, or --all");

        try (SqliteEventStore store = SqliteEventStore.openReadOnly(data)) {
            assertThat(store.headPosition()).isZero();
            assertThat(store.streamInfo(StreamId.of("order-1")).currentVersion())
                    .isZero();
        }
    }

    @Test
    void help_reaches_commands_at_any_depth_and_names_an_unknown_one() {
        Run nested = lethe("help", "subject", "forget");
        assertThat(nested.exitCode()).isZero();
        assertThat(nested.out()).startsWith("Usage: lethe subject forget").contains("--legal-basis");
        assertThat(lethe("subject", "forget", "--help").out()).isEqualTo(nested.out());
        assertThat(lethe("help", "subject").out()).startsWith("Usage: lethe subject [");
        assertThat(lethe("help").out()).startsWith("Usage: lethe [");

        Run unknown = lethe("help", "subject", "erase");
        assertThat(unknown.exitCode()).isEqualTo(2);
        assertThat(unknown.err()).contains("'erase' is not a command of 'lethe subject'", "forget", "export");
    }

    @Test
    void reads_as_of_a_version_or_an_instant_and_backward() {
        try (SqliteEventStore store = SqliteEventStore.open(data)) {
            for (int i = 0; i < 5; i++) {
                store.append(
                        StreamId.of("s-1"),
                        ExpectedVersion.any(),
                        java.util.List.of(dev.lethe.core.store.EventData.of("E", "{\"i\":" + i + "}")));
            }
        }
        assertThat(lethe("read", "s-1", "--as-of-version", "2").out().lines()).hasSize(3);
        assertThat(lethe("read", "s-1", "--as-of", "2000-01-01").err()).contains("no events in s-1");
        assertThat(lethe("read", "s-1", "--as-of", "2999-01-01T00:00:00Z").out().lines())
                .hasSize(5);
        assertThat(lethe("read", "s-1", "--backward", "--limit", "2").out().lines())
                .first()
                .asString()
                .contains("v4");
    }

    @Test
    void projections_rebuild_shows_progress_and_unknown_projections_are_named() {
        lethe("demo");
        Run rebuild = lethe("projections", "rebuild", "customer-summary");
        assertThat(rebuild.exitCode()).as(rebuild.err()).isZero();
        assertThat(rebuild.err()).contains("rebuilding customer-summary", "(100%)");
        assertThat(rebuild.out()).contains("rebuilt customer-summary", "3 keys");
        assertThat(lethe("projections", "rebuild", "nope").err()).contains("'nope' is not defined", "customer-summary");
    }

    @Test
    void a_read_model_copied_from_another_store_is_named_by_list_and_show_until_rebuilt() throws Exception {
        assertThat(lethe("demo").exitCode()).isZero();
        Path other = data.resolveSibling(data.getFileName() + "-other");
        Path copy = data.resolveSibling(data.getFileName() + "-other-backup");
        assertThat(letheAt(other, "demo").exitCode()).isZero();
        assertThat(letheAt(other, "backup", copy.toString()).exitCode()).isZero();
        // Another store's read models, at the same positions: only the events before them differ.
        for (String sidecar : List.of("projections.db-wal", "projections.db-shm")) {
            Files.deleteIfExists(data.resolve(sidecar));
        }
        Files.copy(
                copy.resolve("projections.db"),
                data.resolve("projections.db"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);

        Run list = lethe("projections", "list");
        assertThat(list.exitCode()).as(list.err()).isZero();
        assertThat(list.out())
                .containsPattern("customer-summary +\\d+ +diverged")
                .contains("customer-summary: the log holds another event before its checkpoint than the one it folded")
                .contains("the next start of it (lethe serve, lethe projections rebuild) rebuilds it from the log.");
        Run show = lethe("projections", "show", "customer-summary");
        assertThat(show.err()).contains("warning: projection customer-summary: the log holds another event");

        assertThat(lethe("projections", "rebuild", "customer-summary").exitCode())
                .isZero();
        Run after = lethe("projections", "list");
        assertThat(after.out())
                .containsPattern("customer-summary +\\d+ +0 ")
                .doesNotContain("customer-summary: the log holds")
                .containsPattern("sales-by-product +\\d+ +diverged");
        assertThat(lethe("projections", "show", "customer-summary").err()).doesNotContain("warning");
    }

    @Test
    void a_stored_state_behind_the_log_says_so_and_a_key_listing_says_when_more_follow() throws Exception {
        assertThat(lethe("demo").exitCode()).isZero();
        String customer = secondDemoCustomer().stream();
        assertThat(lethe("projections", "show", "sales-by-product", "global").err())
                .doesNotContain("not in what follows");
        // A misspelt name is said to be one, not to have no state for the key.
        Run misspelt = lethe("projections", "show", "customr-summary", "somekey");
        assertThat(misspelt.exitCode()).isEqualTo(1);
        assertThat(misspelt.err())
                .contains("no read model named 'customr-summary' is stored here; stored: ", "customer-summary")
                .doesNotContain("no state for key");
        Run sold = lethe(
                "append", customer, "ProductSold", "{\"product\":\"Gold ETC\",\"reason\":\"hedge\",\"amount\":0.10}");
        assertThat(sold.exitCode()).as(sold.err()).isZero();
        // The command line does not fold: the stored state lacks the sale, and says so.
        Run behind = lethe("projections", "show", "sales-by-product", "global");
        assertThat(behind.exitCode()).isZero();
        assertThat(behind.out()).doesNotContain("Gold ETC");
        assertThat(behind.err())
                .contains("note: 1 event(s) this projection folds were appended after its stored checkpoint")
                .contains("lethe projections rebuild sales-by-product");
        assertThat(lethe("projections", "rebuild", "sales-by-product").exitCode())
                .isZero();
        Run rebuilt = lethe("projections", "show", "sales-by-product", "global");
        assertThat(rebuilt.out()).contains("Gold ETC");
        assertThat(rebuilt.err()).doesNotContain("not in what follows");

        // For scripts: one JSON object per projection.
        Run listed = lethe("projections", "list", "--json");
        assertThat(listed.exitCode()).as(listed.err()).isZero();
        List<com.fasterxml.jackson.databind.JsonNode> lines = listed.out()
                .lines()
                .map(line -> {
                    try {
                        return new com.fasterxml.jackson.databind.ObjectMapper().readTree(line);
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                })
                .toList();
        assertThat(lines).extracting(node -> node.path("name").asText()).contains("sales-by-product");
        assertThat(lines)
                .filteredOn(node -> node.path("name").asText().equals("sales-by-product"))
                .singleElement()
                .satisfies(node -> {
                    assertThat(node.path("fit").asText()).isEqualTo("FITS");
                    assertThat(node.path("lag").isIntegralNumber()).isTrue();
                    assertThat(node.path("keys").asLong()).isEqualTo(1);
                    assertThat(node.path("lastCommit").asText()).matches(".*\\.\\d{6}(\\d{3})?Z");
                });
        Run first = lethe("projections", "show", "customer-summary", "--limit", "1");
        assertThat(first.out().lines()).hasSize(1);
        assertThat(first.err()).contains("note: the first 1 keys; more follow");
        assertThat(lethe("projections", "show", "customer-summary", "--limit", "100")
                        .err())
                .doesNotContain("more follow");
        Run none = lethe("projections", "show", "customer-summary", "--limit", "0");
        assertThat(none.exitCode()).isEqualTo(2);
        assertThat(none.err()).contains("--limit", "0 is not a number of keys");
    }

    @Test
    void a_state_as_of_a_time_is_refused_or_absent_rather_than_made_up() throws Exception {
        assertThat(lethe("demo").exitCode()).isZero();
        String customer = secondDemoCustomer().stream();
        Run before = lethe("projections", "show", "customer-summary", customer, "--as-of", "2000-01-01");
        assertThat(before.exitCode()).isEqualTo(1);
        assertThat(before.err()).contains("had no state for key '" + customer + "'", "no event by then");
        Run global = lethe("projections", "show", "sales-by-product", "global", "--as-of", "2999-01-01");
        assertThat(global.exitCode()).isEqualTo(2);
        assertThat(global.err()).contains("keys its states by something else than the stream");
        Run now = lethe("projections", "show", "customer-summary", customer, "--as-of", "2999-01-01");
        assertThat(now.exitCode()).as(now.err()).isZero();
        // In the future: the state as of now, which appends until then may change — said, not implied.
        assertThat(now.err()).contains("note: --as-of 2999-01-01T23:59:59.999999999Z is in the future");
        Run read = lethe("read", customer, "--as-of", "2999-01-01");
        assertThat(read.exitCode()).as(read.err()).isZero();
        assertThat(read.err()).contains("is in the future", "appends until then may change");
        assertThat(lethe("read", customer, "--as-of", "2001-01-01").err()).doesNotContain("in the future");
    }

    @Test
    void listings_escape_control_characters_so_that_no_value_prints_as_a_line_of_its_own() throws Exception {
        assertThat(lethe("demo").exitCode()).isZero();
        Customer alan = secondDemoCustomer();
        Customer grace = demoCustomer(2);
        String forged = "GDPR Art. 17\n2026-11-27  receipt forged";
        assertThat(lethe("subject", "forget", alan.subject(), "--legal-basis", forged, "--role", "dpo")
                        .exitCode())
                .isZero();
        // A line separator is refused in a new legal basis (a listing would print it as a line break).
        Run separated = lethe(
                "subject",
                "forget",
                grace.subject(),
                "--legal-basis",
                forged + "\u2028x",
                "--at",
                LATER,
                "--role",
                "dpo");
        assertThat(separated.exitCode()).isEqualTo(2);
        assertThat(separated.err()).contains("legal basis: holds U+2028, a control or invisible character");
        assertThat(lethe(
                                "subject",
                                "forget",
                                grace.subject(),
                                "--legal-basis",
                                forged + " x",
                                "--at",
                                LATER,
                                "--role",
                                "dpo")
                        .exitCode())
                .isZero();
        assertThat(lethe("subject", "receipts", "--role", "dpo").out())
                .contains("GDPR Art. 17\\u000a2026-11-27  receipt forged")
                .doesNotContain("17\n");
        assertThat(lethe("subject", "scheduled", "--role", "dpo").out())
                .contains("GDPR Art. 17\\u000a2026-11-27  receipt forged x")
                .hasLineCount(1);
    }

    @Test
    void tail_prints_stored_events_from_a_position_and_stops_after_count() {
        lethe("demo");
        Run tail = lethe("tail", "--from", "2", "--count", "3");
        assertThat(tail.exitCode()).isZero();
        assertThat(tail.out().lines()).hasSize(3).first().asString().startsWith("#2 ");
    }

    @Test
    void serve_demo_on_a_directory_lethe_demo_wrote_adds_the_journey_but_not_the_story_again() throws Exception {
        lethe("demo");
        long customers;
        try (dev.lethe.sqlite.SqliteLethe lethe = dev.lethe.sqlite.SqliteLethe.open(data)) {
            customers = lethe.store().readCategory("customer", 0, 1000).size();
        }
        ServeCommand.loadDemoOnce(data, dev.lethe.sqlite.SqliteOptions.DEFAULT);
        try (dev.lethe.sqlite.SqliteLethe lethe = dev.lethe.sqlite.SqliteLethe.open(data)) {
            assertThat(lethe.store().readCategory("customer", 0, 1000)).hasSize((int) customers);
            assertThat(lethe.store()
                            .streamInfo(dev.lethe.server.demo.DataJourney.STREAM)
                            .exists())
                    .isTrue();
        }
    }

    @Test
    void receipts_and_schedules_are_listed_beside_a_process_that_writes_and_lookups_need_the_writer() throws Exception {
        lethe("demo");
        Path schema = Files.writeString(
                data.resolve("probe.json"),
                "{\"type\":\"object\",\"properties\":{\"email\":{\"type\":\"string\","
                        + "\"x-gdpr\":{\"key\":true,\"pii\":true,\"dataGroup\":\"identity\"}}}}");
        assertThat(lethe("schemas", "register", "LookupProbe", schema.toString(), "--role", "dpo")
                        .exitCode())
                .isZero();
        Run appended = lethe("append", "probe-1", "LookupProbe", "{\"email\":\"ada@example.com\"}");
        assertThat(appended.exitCode()).as(appended.err()).isZero();
        Run found = lethe("subject", "lookup", "ada@example.com", "--role", "dpo");
        assertThat(found.exitCode()).as(found.err()).isZero();
        String ada = found.out().trim();
        // The demo's e-mail addresses are personal data, not keys: a miss says which fields' values are.
        Run miss = lethe("subject", "lookup", "nobody@example.com", "--role", "dpo");
        assertThat(miss.exitCode()).isEqualTo(2);
        assertThat(miss.err())
                .contains(
                        "natural keys are the values of key fields (or keys a subject was created for on purpose), the registered key fields: "
                                + "AddressChanged.customerNumber, CustomerRegistered.customerNumber, LookupProbe.email,"
                                + " ProductSold.customerNumber)");
        // Audited: who linked the person to their pseudonym; the natural key itself is not in the trail.
        Run audit = lethe("read", "$audit", "--json");
        assertThat(audit.out()).contains("\"SubjectLookedUp\"", "\"subject\":\"" + ada + "\"");
        assertThat(audit.out()).doesNotContain("ada@example.com");
        // No receipt for a subject still there: said so, not "0 receipts" alone.
        Run none = lethe("subject", "receipts", "--subject", ada, "--role", "dpo");
        assertThat(none.exitCode()).isZero();
        assertThat(none.err()).contains("0 receipts", "note: subject " + ada + " is not forgotten");
        Run unknown = lethe(
                "subject", "receipts", "--subject", java.util.UUID.randomUUID().toString(), "--role", "dpo");
        assertThat(unknown.exitCode()).isEqualTo(2);
        assertThat(unknown.err()).contains("is unknown to the key service");
        try (var writer = dev.lethe.sqlite.internal.DirectoryLock.acquire(data)) {
            // A read-only open cannot record the audit entry: refused, naming the holder, nothing revealed.
            Run beside = lethe("subject", "lookup", "ada@example.com", "--role", "dpo");
            assertThat(beside.exitCode()).isNotZero();
            assertThat(beside.err()).contains("is in use by");
            assertThat(beside.out()).doesNotContain(ada);
            Run receipts = lethe("subject", "receipts", "--role", "dpo", "--json");
            assertThat(receipts.exitCode()).as(receipts.err()).isZero();
            assertThat(receipts.err()).contains("reading it read-only");
            assertThat(receipts.out()).contains("\"legalBasis\"");
            assertThat(lethe("subject", "scheduled", "--role", "dpo").exitCode())
                    .isZero();
            assertThat(lethe("subject", "receipts", "--role", "advisor").exitCode())
                    .as("the caller's own role, still checked")
                    .isEqualTo(3);
        }
    }

    @Test
    void a_forget_says_which_key_fields_keep_natural_keys_in_plaintext_which_it_does_not_reach() throws Exception {
        Path schema = Files.writeString(
                data.resolve("kyc.json"),
                "{\"type\":\"object\",\"properties\":{\"email\":{\"type\":\"string\",\"x-gdpr\":{\"key\":true}},"
                        + "\"name\":{\"type\":\"string\",\"x-gdpr\":{\"pii\":true,\"dataGroup\":\"identity\"}}}}");
        assertThat(lethe("schemas", "register", "KycChecked", schema.toString(), "--role", "dpo")
                        .exitCode())
                .isZero();
        Run appended = lethe("append", "kyc-1", "KycChecked", "{\"email\":\"plain@example.org\",\"name\":\"P\"}");
        assertThat(appended.exitCode()).as(appended.err()).isZero();
        String subject = lethe("subject", "lookup", "plain@example.org", "--role", "dpo")
                .out()
                .trim();
        Run forget = lethe("subject", "forget", subject, "--legal-basis", "GDPR Art. 17(1)(a)", "--role", "dpo");
        assertThat(forget.exitCode()).as(forget.err()).isZero();
        assertThat(forget.out())
                .contains("not reached key fields stored in plaintext (KycChecked.email)")
                .doesNotContain("plain@example.org");
        // The trail keeps what the forget left, beside what it destroyed.
        String entry = lethe("read", "$audit", "--json", "--limit", "10000")
                .out()
                .lines()
                .filter(line -> line.contains("\"SubjectForgotten\"") && line.contains(subject))
                .findFirst()
                .orElseThrow();
        assertThat(entry)
                .contains("\"plaintextKeyFields\":[\"KycChecked.email\"]")
                .doesNotContain("plain@example.org");
    }

    @Test
    void a_command_group_without_its_command_is_a_usage_error() {
        Run group = lethe("projections");
        assertThat(group.exitCode()).isEqualTo(2);
        assertThat(group.err()).contains("lethe projections: give one of its commands (list, show, rebuild)");
        assertThat(group.out()).isEmpty();
        assertThat(lethe("keys").exitCode()).isEqualTo(2);
    }

    @Test
    void policy_set_refuses_a_policy_no_open_would_read() throws Exception {
        assertThat(lethe("append", "s-1", "T", "{}").exitCode()).isZero();
        String current = Files.readString(data.resolve("policy.yaml"));
        Path big = Files.writeString(root.resolve("big.yaml"), current + "#".repeat((1 << 20) + 1) + "\n");
        Run refused = lethe("policy", "set", big.toString(), "--role", "dpo");
        assertThat(refused.exitCode()).isEqualTo(2);
        assertThat(refused.err()).contains("is over 1048576 bytes");
        assertThat(lethe("stats").exitCode()).as("the store still opens").isZero();
    }

    @Test
    void an_empty_data_directory_or_role_is_refused_naming_its_option() {
        // Path.of("") is the current directory: with --init, a store was made there.
        Run noData = run("--data", "", "--init", "append", "s-1", "T", "{}");
        assertThat(noData.exitCode()).isEqualTo(2);
        assertThat(noData.err()).contains("--data: is empty");
        assertThat(run("--data", "  ", "stats").err()).contains("--data: is empty");
        assertThat(run("--data", "", "serve", "--init", "--port", "0").err())
                .as("serve too")
                .contains("--data: is empty");
        Run noRole = lethe("stats", "--role", "");
        assertThat(noRole.exitCode()).isEqualTo(2);
        assertThat(noRole.err()).contains("--role: is empty").doesNotContain("--user");
    }

    @Test
    void a_protobuf_descriptor_set_given_without_its_message_is_named_as_one() throws Exception {
        Path set =
                Path.of(getClass().getResource("/dev/lethe/guide/customer.desc").toURI());
        Run refused = lethe("schemas", "register", "CustomerRegistered", set.toString(), "--role", "dpo");
        assertThat(refused.exitCode()).isEqualTo(2);
        assertThat(refused.err())
                .contains("is a Protobuf descriptor set, not a JSON Schema: add --protobuf-message NAME (it declares")
                .doesNotContain("NUL byte");
    }

    @Test
    void a_proto_source_or_a_json_schema_given_as_the_wrong_notation_is_named_as_what_it_is() throws Exception {
        Path proto = Files.writeString(
                data.resolve("customer.proto"),
                "syntax = \"proto3\";\npackage ev;\nmessage CustomerRegistered {\n  string email = 1;\n}\n");
        Run source = lethe("schemas", "register", "CustomerRegistered", proto.toString(), "--role", "dpo");
        assertThat(source.exitCode()).isEqualTo(2);
        assertThat(source.err())
                .contains("is a .proto source file; Lethe reads compiled descriptor sets: run protoc --include_imports"
                        + " --descriptor_set_out=FILE.desc customer.proto");
        Path jsonSchema = Files.writeString(data.resolve("customer.json"), " {\"type\":\"object\"}");
        Run json = lethe(
                "schemas",
                "register",
                "CustomerRegistered",
                jsonSchema.toString(),
                "--protobuf-message",
                "ev.X",
                "--role",
                "dpo");
        assertThat(json.exitCode()).isEqualTo(2);
        assertThat(json.err()).contains("is JSON (a JSON Schema?), not a compiled Protobuf descriptor set");
    }

    @Test
    void forget_file_checks_every_id_first_then_forgets_each_with_a_receipt_skipping_those_forgotten_before()
            throws Exception {
        Path schema = Files.writeString(
                data.resolve("kyc.json"),
                "{\"type\":\"object\",\"properties\":{\"email\":{\"type\":\"string\",\"x-gdpr\":{\"key\":true,"
                        + "\"pii\":true}}}}");
        assertThat(lethe("schemas", "register", "KycChecked", schema.toString(), "--role", "dpo")
                        .exitCode())
                .isZero();
        List<String> subjects = new java.util.ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            String email = "many" + i + "@example.org";
            assertThat(lethe("append", "kyc-" + i, "KycChecked", "{\"email\":\"" + email + "\"}")
                            .exitCode())
                    .isZero();
            subjects.add(
                    lethe("subject", "lookup", email, "--role", "dpo").out().trim());
        }
        String basis = "GDPR Art. 17(1)(a)";
        assertThat(lethe("subject", "forget", subjects.get(0), "--legal-basis", basis, "--role", "dpo")
                        .exitCode())
                .isZero();
        Path file = Files.writeString(
                root.resolve("subjects.txt"),
                "# erasure requests, ticket 4711\n\n" + String.join("\n", subjects) + "\n" + subjects.get(1) + "\n");

        // Refused whole, before any forget: a role without the permission, an id this store never issued,
        // a line that is no id (not quoted: it may be a natural key).
        assertThat(lethe("subject", "forget", "--file", file.toString(), "--legal-basis", basis, "--role", "advisor")
                        .exitCode())
                .isEqualTo(3);
        String stranger = java.util.UUID.randomUUID().toString();
        Path unknown = Files.writeString(root.resolve("unknown.txt"), subjects.get(1) + "\n" + stranger + "\n");
        Run refused = lethe("subject", "forget", "--file", unknown.toString(), "--legal-basis", basis, "--role", "dpo");
        assertThat(refused.exitCode()).isEqualTo(2);
        assertThat(refused.err()).contains("1 subject id(s) this store never issued: line 2 (" + stranger + ")");
        Path malformed = Files.writeString(root.resolve("malformed.txt"), subjects.get(1) + "\nmany2@example.org\n");
        Run bad = lethe("subject", "forget", "--file", malformed.toString(), "--legal-basis", basis, "--role", "dpo");
        assertThat(bad.exitCode()).isEqualTo(2);
        assertThat(bad.err()).contains("line 2 is not a subject id").doesNotContain("many2@example.org");
        assertThat(lethe("subject", "lookup", "many2@example.org", "--role", "dpo")
                        .exitCode())
                .as("nothing forgotten yet")
                .isZero();

        Run forget = lethe("subject", "forget", "--file", file.toString(), "--legal-basis", basis, "--role", "dpo");
        assertThat(forget.exitCode()).as(forget.err()).isZero();
        assertThat(forget.out())
                .contains("was already forgotten: subject " + subjects.get(0))
                .contains("forgotten: subject " + subjects.get(1) + ", receipt ")
                .contains("forgotten: subject " + subjects.get(2) + ", receipt ")
                .contains("forgot 2 subject(s), 1 already forgotten (skipped)");
        assertThat(lethe("subject", "receipts", "--json", "--role", "dpo").out().lines())
                .hasSize(3);
        assertThat(lethe("subject", "forget", "--file", file.toString(), "--legal-basis", basis, "--role", "dpo")
                        .out())
                .as("run again: nothing to do")
                .contains("forgot 0 subject(s), 3 already forgotten (skipped)");
        assertThat(lethe("subject", "forget", "--legal-basis", basis, "--role", "dpo")
                        .err())
                .contains("SUBJECT: is missing: give one subject id, or --file");

        // Scheduled, run twice (after an interruption, say): one schedule per subject, not two. A byte-order
        // mark and CRLF line ends are read as a text editor writes them.
        assertThat(lethe("append", "kyc-later", "KycChecked", "{\"email\":\"later@example.org\"}")
                        .exitCode())
                .isZero();
        String later = lethe("subject", "lookup", "later@example.org", "--role", "dpo")
                .out()
                .trim();
        Path scheduled = Files.writeString(root.resolve("later.txt"), "\uFEFF" + later + "\r\n");
        for (int run = 0; run < 2; run++) {
            Run schedule = lethe(
                    "subject",
                    "forget",
                    "--file",
                    scheduled.toString(),
                    "--legal-basis",
                    basis,
                    "--at",
                    "2098-01-01",
                    "--role",
                    "dpo");
            assertThat(schedule.exitCode()).as(schedule.err()).isZero();
            assertThat(schedule.out()).contains(run == 0 ? "scheduled: subject " + later : "was already scheduled");
        }
        Run listed = lethe("subject", "scheduled", "--subject", later, "--json", "--role", "dpo");
        assertThat(listed.exitCode()).as(listed.err()).isZero();
        assertThat(listed.out().lines())
                .filteredOn(line -> line.contains(later))
                .hasSize(1);
    }

    @Test
    void a_master_key_directory_inside_the_data_directory_counts_as_in_it() throws Exception {
        Path keys = Files.createDirectories(data.resolve("keys"));
        assertThat(ServeCommand.inside(keys, data)).isTrue();
        assertThat(ServeCommand.inside(data, data)).isTrue();
        assertThat(ServeCommand.inside(root.resolve("elsewhere"), data)).isFalse();
        Path link = Files.createSymbolicLink(root.resolve("link-to-keys"), keys);
        assertThat(ServeCommand.inside(link, data))
                .as("through a symbolic link")
                .isTrue();
        Path linkToData = Files.createSymbolicLink(root.resolve("link-to-data"), data);
        assertThat(ServeCommand.inside(linkToData.resolve("keys-not-made-yet"), data))
                .as("a directory not made yet, behind a link")
                .isTrue();
    }

    @Test
    void a_command_refused_for_want_of_a_role_says_to_give_one() {
        assertThat(lethe("append", "note-1", "Noted", "{}").exitCode()).isZero();
        Run rotate = lethe("keys", "rotate");
        assertThat(rotate.exitCode()).isEqualTo(3);
        assertThat(rotate.err()).contains("(role none) may not rotate-keys", "hint: give --role ROLE");
        Run analyst = lethe("keys", "rotate", "--role", "analyst");
        assertThat(analyst.exitCode()).isEqualTo(3);
        assertThat(analyst.err()).as("a role given: no hint").doesNotContain("hint:");
    }

    @Test
    void serve_creates_no_store_unless_asked_so_that_a_mistyped_data_directory_is_not_served_empty() throws Exception {
        Path typo = data.resolveSibling(data.getFileName() + "-typo");
        Run serve = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(
                java.time.Duration.ofSeconds(60), () -> run("--data", typo.toString(), "serve", "--port", "0"));
        assertThat(serve.exitCode()).isEqualTo(1);
        assertThat(serve.err())
                .contains("no Lethe event store in " + typo.toAbsolutePath().normalize(), "give --init")
                .doesNotContain("\tat ");
        assertThat(typo).doesNotExist();
        Files.createDirectories(typo); // a mount point whose volume is not mounted: there, and empty
        assertThat(org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(
                                java.time.Duration.ofSeconds(60),
                                () -> run("--data", typo.toString(), "serve", "--port", "0"))
                        .exitCode())
                .isEqualTo(1);
        try (var files = Files.list(typo)) {
            assertThat(files).as("nothing created").isEmpty();
        }
    }

    @Test
    void serve_on_a_port_in_use_says_so_in_one_line() throws Exception {
        lethe("demo");
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            Run serve = lethe("serve", "--port", Integer.toString(taken.getLocalPort()));
            assertThat(serve.exitCode()).isEqualTo(1);
            assertThat(serve.err())
                    .contains("error: cannot listen on 127.0.0.1:" + taken.getLocalPort() + ": ")
                    .doesNotContain("\tat ");
        }
        assertThat(lethe("stats").exitCode()).as("the store was closed").isZero();
    }

    @Test
    void a_missing_policy_file_is_not_replaced_by_the_default_in_a_store_that_has_run() throws Exception {
        lethe("demo");
        Files.delete(data.resolve("policy.yaml"));
        Run writer = lethe("stats");
        assertThat(writer.exitCode()).isEqualTo(1);
        assertThat(writer.err()).contains("policy.yaml is missing from", "does not write the default policy");
        assertThat(data.resolve("policy.yaml")).as("no default written").doesNotExist();
        Run plan = lethe("retention", "plan");
        assertThat(plan.exitCode()).as(plan.err()).isZero();
        assertThat(plan.err()).contains("policy.yaml is missing: read under the default policy");
        assertThat(data.resolve("policy.yaml")).doesNotExist();
    }

    @Test
    void tail_never_stops_a_writer_and_follows_what_it_appends() throws Exception {
        lethe("demo");
        java.util.concurrent.CompletableFuture<Run> tail = java.util.concurrent.CompletableFuture.supplyAsync(
                () -> lethe("tail", "--category", "ping", "--count", "1", "--timeout", "60"));
        // Appends until the tail has seen one: each must go through while the tail runs.
        for (int n = 0; !tail.isDone() && n < 100; n++) {
            Run append = lethe("append", "ping-1", "Ping", "{\"n\":" + n + "}");
            assertThat(append.exitCode()).as(append.err()).isZero();
            Thread.sleep(300);
        }
        Run followed = tail.get(60, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(followed.exitCode()).as(followed.err()).isZero();
        assertThat(followed.err()).contains("tail reads the data directory read-only");
        assertThat(followed.out()).contains("Ping");
    }

    @Test
    void personal_data_is_read_per_role_and_a_subject_is_forgotten_and_exported_from_the_command_line()
            throws Exception {
        lethe("demo");
        Customer customer = secondDemoCustomer();
        String stream = customer.stream();
        String subject = customer.subject();

        assertThat(lethe("read", stream, "--role", "advisor").out()).contains("Alan Turing");
        assertThat(lethe("read", stream, "--role", "analyst").out())
                .doesNotContain("Alan Turing")
                .contains("name (restricted)");
        assertThat(lethe("read", stream).out()).contains("name (restricted)");

        Run denied = lethe("subject", "export", subject, "--role", "advisor");
        assertThat(denied.exitCode()).isEqualTo(3);
        assertThat(denied.err()).contains("may not export");
        assertThat(lethe("subject", "export", subject, "--role", "dpo").out())
                .contains("Alan Turing", "\"forgotten\" : false");
        Path exported = data.resolveSibling(data.getFileName() + "-export.json");
        java.nio.file.Files.writeString(exported, "an older file");
        // An existing file is never overwritten: pointed at events.db, an export would destroy the log.
        Run over = lethe("subject", "export", subject, "--role", "dpo", "--output", exported.toString());
        assertThat(over.exitCode()).isEqualTo(2);
        assertThat(over.err()).contains("already exists", "never overwrites");
        assertThat(java.nio.file.Files.readString(exported)).isEqualTo("an older file");
        Run intoStore = lethe(
                "subject",
                "export",
                subject,
                "--role",
                "dpo",
                "--output",
                data.resolve("events.db").toString());
        assertThat(intoStore.err()).contains("already exists");
        assertThat(lethe(
                                "subject",
                                "export",
                                subject,
                                "--role",
                                "dpo",
                                "--output",
                                data.resolve("x.json").toString())
                        .err())
                .contains("inside the data directory");
        Path link = java.nio.file.Files.createSymbolicLink(data.resolveSibling(data.getFileName() + "-link"), data);
        assertThat(lethe(
                                "subject",
                                "export",
                                subject,
                                "--role",
                                "dpo",
                                "--output",
                                link.resolve("x.json").toString())
                        .err())
                .contains("inside the data directory");
        java.nio.file.Files.delete(link);
        assertThat(lethe("stats").exitCode()).isZero();
        java.nio.file.Files.delete(exported);
        Run export = lethe("subject", "export", subject, "--role", "dpo", "--output", exported.toString());
        assertThat(export.exitCode()).as(export.err()).isZero();
        assertThat(export.err()).contains("mode 0600");
        assertThat(java.nio.file.Files.readString(exported)).contains("Alan Turing");
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(
                        java.nio.file.Files.getPosixFilePermissions(exported)))
                .isEqualTo("rw-------");
        java.nio.file.Files.delete(exported);

        Run typo = lethe("subject", "export", subject, "--role", "dop");
        assertThat(typo.exitCode()).isEqualTo(2);
        assertThat(typo.err()).contains("'dop' (from --role or $LETHE_ROLE) is not a role of the data policy", "dpo");
        // Every command, not only those that read or govern.
        for (List<String> command : List.of(
                List.of("append", "typo-1", "T", "{}"),
                List.of("keys", "check"),
                List.of("policy", "show"),
                List.of("projections", "rebuild", "sales-by-product"))) {
            List<String> args = new java.util.ArrayList<>(command);
            args.addAll(List.of("--role", "dop"));
            Run refused = lethe(args.toArray(String[]::new));
            assertThat(refused.exitCode()).as(command.toString()).isEqualTo(2);
            assertThat(refused.err())
                    .as(command.toString())
                    .contains("'dop' (from --role or $LETHE_ROLE) is not a role");
        }
        assertThat(lethe("read", "typo-1").err()).as("nothing appended").contains("typo-1");
        Run unknown = lethe("subject", "export", "00000000-0000-0000-0000-000000000000", "--role", "dpo");
        assertThat(unknown.err()).contains("is unknown to the key service");
        assertThat(unknown.exitCode()).isEqualTo(2);
        Run forget = lethe(
                "subject",
                "forget",
                subject,
                "--legal-basis",
                "GDPR Art. 17(1)(a)",
                "--reason",
                "customer request",
                "--role",
                "dpo");
        assertThat(forget.exitCode()).as(forget.err()).isZero();
        assertThat(forget.out()).contains("receipt", "GDPR Art. 17(1)(a)", "reason      customer request");
        assertThat(lethe("read", stream, "--role", "advisor").out())
                .doesNotContain("Alan Turing")
                .contains("name (forgotten)");
        assertThat(lethe("subject", "forget", subject, "--legal-basis", "again", "--role", "dpo")
                        .err())
                .contains("already forgotten");
        assertThat(lethe("subject", "forget", subject, "--role", "dpo").err()).contains("--legal-basis");
        String trail = lethe("read", "$audit").out();
        assertThat(trail).contains("SubjectForgotten", "SubjectExported", "KeysReleased");
        // Entries whole, not cut at the width of other streams' lines: the subject and receipt are what they say.
        assertThat(trail.lines().filter(line -> line.contains("SubjectForgotten")))
                .anySatisfy(line -> assertThat(line).contains("\"subject\":\"" + subject + "\"", "\"receipt\":\""));
    }

    @Test
    void a_reader_beside_the_writer_warns_of_a_restored_key_store_and_reads_its_forgotten_subject_as_forgotten()
            throws Exception {
        lethe("demo");
        Customer customer = secondDemoCustomer();
        String stream = customer.stream();
        String subject = customer.subject();
        Path backup = Files.copy(data.resolve("keys.db"), data.resolveSibling(data.getFileName() + "-keys.db"));
        assertThat(lethe("subject", "forget", subject, "--legal-basis", "GDPR Art. 17(1)(a)", "--role", "dpo")
                        .exitCode())
                .isZero();
        for (String file : List.of("keys.db", "keys.db-wal", "keys.db-shm")) {
            Files.deleteIfExists(data.resolve(file));
        }
        Files.copy(backup, data.resolve("keys.db"));

        // A writer holds the directory but has not opened the privacy layer since the restore.
        try (var writer = dev.lethe.sqlite.internal.DirectoryLock.acquire(data)) {
            Run read = lethe("read", stream, "--role", "advisor");
            assertThat(read.exitCode()).as(read.err()).isZero();
            assertThat(read.err())
                    .contains("reading it read-only")
                    .contains("warning: keys.db still holds the keys of 1 subject(s) the audit trail says were"
                            + " forgotten");
            assertThat(read.out()).doesNotContain("Alan Turing");
        }
        Run after = lethe("read", stream, "--role", "advisor"); // a writer open: forgotten again, for good
        assertThat(after.err()).doesNotContain("warning");
        assertThat(after.out()).doesNotContain("Alan Turing").contains("name (forgotten)");
        assertThat(lethe("read", "$audit").out())
                .contains("SubjectForgotten", "\"principal\":\"lethe\",\"role\":\"system\"");
    }

    @Test
    void retention_key_rotation_and_the_policy_linter_work_from_the_command_line() throws Exception {
        lethe("demo");
        Customer grace = demoCustomer(2);
        String scheduleLine = lethe(
                        "subject",
                        "forget",
                        grace.subject(),
                        "--legal-basis",
                        "contract ended",
                        "--at",
                        "2098-01-01",
                        "--role",
                        "dpo")
                .out();
        assertThat(scheduleLine).contains("scheduled for 2098-01-01T00:00:00Z");

        // The plan destroys nothing, and says what a run as of the same instant destroys.
        java.time.YearMonth monthBefore = java.time.YearMonth.now(java.time.ZoneOffset.UTC);
        Run plan = lethe("retention", "plan", "--now", "2099-01-01T00:00:00Z", "--role", "dpo");
        // The month the plan ran in (it may turn while it runs).
        String thisMonth = "(" + monthBefore + "|" + java.time.YearMonth.now(java.time.ZoneOffset.UTC) + ")";
        assertThat(plan.exitCode()).as(plan.err()).isZero();
        assertThat(plan.out())
                .contains("retention plan as of 2099-01-01T00:00:00Z (nothing destroyed")
                .containsPattern("period keys: (\\d+) live, \\1 due")
                .containsPattern("  contact/\\d{4}-\\d{2} +expires \\d{4}-\\d{2}-01T00:00:00Z  due")
                // This month's key is due too, in 2099: a run that early closes the group until the month ends.
                .containsPattern("  contact/" + thisMonth
                        + " +expires \\S+  due, and still the period new values go into: once destroyed, its group"
                        + " takes no personal data until the period ends")
                .contains("scheduled forgets: 1 due, 0 later")
                .contains("subject " + grace.subject() + "  forget at 2098-01-01T00:00:00Z");
        java.util.regex.Matcher planned =
                java.util.regex.Pattern.compile("period keys: (\\d+) live").matcher(plan.out());
        assertThat(planned.find()).isTrue();
        Run today = lethe("retention", "plan", "--role", "advisor");
        assertThat(today.out())
                .contains(", 0 due", "next expiry: ")
                .as("an advisor may not list scheduled forgets")
                .contains("scheduled forgets: not listed");
        List<String> jsonPlan = lethe("retention", "plan", "--json", "--now", "2099-01-01T00:00:00Z", "--role", "dpo")
                .out()
                .lines()
                .toList();
        assertThat(jsonPlan).hasSize(Integer.parseInt(planned.group(1)) + 1);
        assertThat(jsonPlan.get(0)).contains("\"kind\":\"periodKey\"", "\"due\":true", "\"expiresAt\":\"");
        assertThat(jsonPlan)
                .anyMatch(line -> line.contains("\"open\":true"))
                .anyMatch(line -> line.contains("\"open\":false"));
        assertThat(jsonPlan.get(jsonPlan.size() - 1)).contains("\"kind\":\"scheduledForget\"", grace.subject());
        assertThat(lethe("read", grace.stream(), "--role", "advisor").out()).contains("Grace Hopper");

        assertThat(lethe("retention", "run", "--role", "advisor").exitCode()).isEqualTo(3);
        assertThat(lethe("retention", "run", "--now", "2099-01-01T00:00:00Z", "--role", "dpo")
                        .err())
                .as("a run ahead of the clock needs --yes")
                .contains("is after the current time", "add --yes");
        Run retention = lethe("retention", "run", "--now", "2099-01-01T00:00:00Z", "--role", "dpo", "--yes");
        assertThat(retention.exitCode()).as(retention.err()).isZero();
        assertThat(retention.out())
                .contains(
                        "1 scheduled forget(s) carried out, " + planned.group(1) + " period key(s) destroyed",
                        "contact/");
        Run after = lethe("retention", "plan", "--role", "dpo");
        assertThat(after.out())
                .contains("period keys: 0 live, 0 due", "scheduled forgets: 0 due, 0 later")
                .contains("period keys destroyed: " + planned.group(1))
                .containsPattern(
                        "  contact/\\d{4}-\\d{2} +destroyed by the retention run as of 2099-01-01T00:00:00\\.000000Z")
                .doesNotContain("next expiry");
        // The record a DPO shows that a period is gone, one line per key for scripts.
        List<String> destroyedLines = lethe("retention", "plan", "--json", "--role", "dpo")
                .out()
                .lines()
                .filter(json -> json.contains("\"kind\":\"destroyedPeriodKey\""))
                .toList();
        assertThat(destroyedLines).hasSize(Integer.parseInt(planned.group(1)));
        assertThat(destroyedLines.get(0))
                .containsPattern(
                        "\"group\":\"[a-z]+\",\"period\":\"[0-9-]+\",\"destroyedAsOf\":\"2099-01-01T00:00:00\\.000000Z\"");
        String line = lethe("read", "--all", "--category", "customer", "--json", "--limit", "2")
                .out()
                .lines()
                .skip(1)
                .findFirst()
                .orElseThrow();
        String stream = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(line)
                .get("stream")
                .asText();
        assertThat(lethe("read", stream, "--role", "advisor").out()).contains("(expired)");

        assertThat(lethe("keys", "rotate", "--role", "advisor").exitCode()).isEqualTo(3);
        Run rotated = lethe("keys", "rotate", "--role", "dpo");
        assertThat(rotated.out()).contains("master key rotated");
        assertThat(rotated.err()).contains("a copy of the keyset file taken before this rotation");

        Run clean = lethe("policy", "check");
        assertThat(clean.exitCode()).as(clean.out() + clean.err()).isZero();
        assertThat(clean.out()).containsPattern("3 schema\\(s\\) and \\d+ stream id\\(s\\) checked, 0 finding\\(s\\)");
        Path schema = Files.writeString(
                data.resolve("signup.json"),
                "{\"type\":\"object\",\"properties\":{\"phone\":{\"type\":\"string\"},\"plan\":{\"type\":\"string\"}}}");
        Run registered = lethe("schemas", "register", "SignedUp", schema.toString(), "--role", "dpo");
        assertThat(registered.exitCode()).as(registered.err()).isZero();
        assertThat(registered.err()).contains("SignedUp.phone: looks like personal data");
        Run check = lethe("policy", "check");
        assertThat(check.exitCode()).isEqualTo(1);
        assertThat(check.out()).contains("1 finding(s)");
        Path badPolicy = Files.writeString(data.resolve("bad.yaml"), "groups:\n  contact: {retention: soon}\n");
        assertThat(lethe("policy", "set", badPolicy.toString(), "--role", "dpo").err())
                .contains("bad.yaml", "'soon' is not an ISO-8601 period");
        Path samePolicy = Files.writeString(
                data.resolve("same.yaml"), lethe("policy", "show").out());
        Run set = lethe("policy", "set", samePolicy.toString(), "--role", "dpo");
        assertThat(set.exitCode()).as(set.err()).isZero();
        assertThat(set.err()).doesNotContain("note:");
        // A key that does nothing any more is said as the policy is set, not only by policy check.
        Path obsolete = Files.writeString(
                data.resolve("obsolete.yaml"), Files.readString(samePolicy) + "\nforgetMarkers: true\n");
        Run setObsolete = lethe("policy", "set", obsolete.toString(), "--role", "dpo");
        assertThat(setObsolete.exitCode()).as(setObsolete.err()).isZero();
        assertThat(setObsolete.err()).contains("note: forgetMarkers has no effect any more");
        assertThat(lethe("policy", "set", samePolicy.toString(), "--role", "dpo")
                        .exitCode())
                .isZero();

        // Each key-destroying or permission-changing run is audited before it acts, then when done, so a
        // process stopped in between still leaves its intent in the trail.
        List<String> types = lethe("read", "$audit", "--json")
                .out()
                .lines()
                .map(l -> {
                    try {
                        return new com.fasterxml.jackson.databind.ObjectMapper()
                                .readTree(l)
                                .get("type")
                                .asText();
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                })
                .toList();
        assertThat(types).containsSubsequence("RetentionStarted", "RetentionRun");
        assertThat(types).containsSubsequence("MasterKeyRotationStarted", "MasterKeyRotated");
        assertThat(types).containsSubsequence("PolicyChangeRequested", "PolicyChanged");
        assertThat(types).as("a policy set through Lethe is not a hand edit").doesNotContain("PolicyFileChanged");

        // A policy that renames the caller's own role is still changed and audited as a change, not a hand edit.
        Path renamed = Files.writeString(
                data.resolve("renamed.yaml"), lethe("policy", "show").out().replace("  dpo: ", "  officer: "));
        Run rename = lethe("policy", "set", renamed.toString(), "--role", "dpo", "--user", "dora");
        assertThat(rename.exitCode()).as(rename.err()).isZero();
        String trail = lethe("read", "$audit", "--json", "--limit", "10000", "--role", "officer")
                .out();
        assertThat(trail.lines()
                        .filter(l -> l.contains("\"PolicyChanged\""))
                        .reduce((a, b) -> b)
                        .orElseThrow())
                .contains("\"principal\":\"dora\"", "\"role\":\"dpo\"");
        assertThat(trail).doesNotContain("PolicyFileChanged");
        assertThat(lethe("retention", "plan", "--role", "dpo").err())
                .contains("'dpo'", "is not a role of the data policy");
    }

    @Test
    void a_policy_that_drops_a_group_still_holding_data_is_refused_even_when_no_latest_schema_uses_it()
            throws Exception {
        assertThat(lethe("demo").exitCode()).isZero();
        Path v1 = Files.writeString(
                data.resolve("iban-v1.json"),
                "{\"type\":\"object\",\"properties\":{\"email\":{\"type\":\"string\",\"x-gdpr\":{\"pii\":true,"
                        + "\"key\":true,\"dataGroup\":\"contact\"}},\"iban\":{\"type\":\"string\",\"x-gdpr\":{\"pii\":true,"
                        + "\"dataGroup\":\"financial\"}}}}");
        assertThat(lethe("schemas", "register", "IbanAdded", v1.toString(), "--role", "dpo")
                        .exitCode())
                .isZero();
        Run appended = lethe("append", "bank-1", "IbanAdded", "{\"email\":\"hal@example.org\",\"iban\":\"PT50 0002\"}");
        assertThat(appended.exitCode()).as(appended.err()).isZero();
        Path v2 = Files.writeString(
                data.resolve("iban-v2.json"), Files.readString(v1).replace("financial", "identity"));
        assertThat(lethe("schemas", "register", "IbanAdded", v2.toString(), "--role", "dpo")
                        .exitCode())
                .isZero();

        String policy = lethe("policy", "show").out();
        Path withoutFinancial = Files.writeString(
                data.resolve("no-financial.yaml"),
                policy.lines()
                        .filter(line -> !line.trim().startsWith("financial:"))
                        .map(line -> line.replace("contact, financial,", "contact,"))
                        .collect(java.util.stream.Collectors.joining("\n")));
        Run refused = lethe("policy", "set", withoutFinancial.toString(), "--role", "dpo");
        assertThat(refused.exitCode()).isEqualTo(2);
        assertThat(refused.err()).contains("data group 'financial'", "live period key", "kept for ever");
        assertThat(lethe("policy", "show").out()).isEqualTo(policy);

        // Shorter retention destroys keys at the next run: only with --yes.
        Path shorter =
                Files.writeString(data.resolve("shorter.yaml"), policy.replace("retention: P2Y,", "retention: P0D,"));
        Run unconfirmed = lethe("policy", "set", shorter.toString(), "--role", "dpo");
        assertThat(unconfirmed.exitCode()).isEqualTo(2);
        assertThat(unconfirmed.err()).contains("shortens the retention of contact (P2Y to P0D)", "--yes");
        assertThat(lethe("policy", "show").out()).isEqualTo(policy);
        Run confirmed = lethe("policy", "set", shorter.toString(), "--role", "dpo", "--yes");
        assertThat(confirmed.exitCode()).as(confirmed.err()).isZero();
        assertThat(confirmed.err()).contains("warning: retention shortened for contact (P2Y to P0D)");
        assertThat(lethe("policy", "show").out()).contains("retention: P0D");

        // "Keep for ever" (a retention past the calendar) is a lengthening, and shortening it again is told.
        String now = lethe("policy", "show").out();
        Path forever = Files.writeString(
                data.resolve("forever.yaml"), now.replace("retention: P10Y,", "retention: P999999999Y,"));
        Run kept = lethe("policy", "set", forever.toString(), "--role", "dpo");
        assertThat(kept.exitCode()).as(kept.err()).isZero();
        Run back = lethe("policy", "set", shorter.toString(), "--role", "dpo");
        assertThat(back.exitCode()).as(back.err()).isEqualTo(2);
        assertThat(back.err()).contains("shortens the retention of identity (P999999999Y to P10Y)");
    }

    @Test
    void a_retention_shorter_from_some_days_only_is_a_shortening() {
        java.util.function.Function<String, dev.lethe.core.privacy.policy.DataPolicy> policy = retention ->
                dev.lethe.core.privacy.policy.DataPolicy.parse("groups:\n  contact: { retention: " + retention
                        + ", period: P1M }\n" + "roles:\n  dpo: { read: [contact], may: [change-policy] }\n");
        // Equal from 1 January of a leap year, a day shorter from any other year's.
        assertThat(GovernanceCommands.shortenedRetentions(policy.apply("P366D"), policy.apply("P1Y")))
                .containsExactly("contact (P366D to P1Y)");
        // 31 days against a month: shorter from the end of any month of 30 days or fewer.
        assertThat(GovernanceCommands.shortenedRetentions(policy.apply("P31D"), policy.apply("P1M")))
                .containsExactly("contact (P31D to P1M)");
        assertThat(GovernanceCommands.shortenedRetentions(policy.apply("P1M"), policy.apply("P28D")))
                .containsExactly("contact (P1M to P28D)");
        assertThat(GovernanceCommands.shortenedRetentions(policy.apply("P28D"), policy.apply("P1M")))
                .isEmpty();
        // Shorter only across 2100, which is no leap year.
        assertThat(GovernanceCommands.shortenedRetentions(policy.apply("P29220D"), policy.apply("P80Y")))
                .containsExactly("contact (P29220D to P80Y)");
        assertThat(GovernanceCommands.shortenedRetentions(policy.apply("P1Y"), policy.apply("P1Y")))
                .isEmpty();
        assertThat(GovernanceCommands.shortenedRetentions(policy.apply("P1Y"), policy.apply("P366D")))
                .isEmpty();
    }

    @Test
    void a_subject_key_that_looks_personal_but_is_not_marked_pii_is_a_finding() throws Exception {
        Path schema = Files.writeString(
                data.resolve("login.json"),
                "{\"type\":\"object\",\"properties\":{\"email\":{\"type\":\"string\",\"x-gdpr\":{\"key\":true}},"
                        + "\"customerNumber\":{\"type\":\"string\",\"x-gdpr\":{\"key\":true}}}}");
        Run registered = lethe("schemas", "register", "LoggedIn", schema.toString(), "--role", "dpo");
        assertThat(registered.exitCode()).as(registered.err()).isZero();
        assertThat(registered.err())
                .contains("LoggedIn.email: names the data subject but is not personal")
                // A customer number names the person outside Lethe too, and stays after a forget.
                .contains("LoggedIn.customerNumber: names the data subject but is not personal");
        assertThat(lethe("policy", "check").out()).contains("LoggedIn.email: names the data subject");
    }

    @Test
    void personal_data_can_come_from_standard_input_instead_of_the_command_line() throws Exception {
        Path schema = Files.writeString(
                data.resolve("signup.json"),
                "{\"type\":\"object\",\"properties\":{\"email\":{\"type\":\"string\",\"x-gdpr\":{\"pii\":true,"
                        + "\"key\":true,\"dataGroup\":\"contact\"}}}}");
        assertThat(lethe("schemas", "register", "SignedUp", schema.toString(), "--role", "dpo")
                        .exitCode())
                .isZero();
        java.io.InputStream stdin = System.in;
        try {
            System.setIn(new java.io.ByteArrayInputStream(
                    "{\"type\":\"SignedUp\",\"data\":{\"email\":\"eve@example.org\"}}\n"
                            .getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            Run appended = lethe("append", "signup-1", "--file", "-");
            assertThat(appended.exitCode()).as(appended.err()).isZero();
            System.setIn(new java.io.ByteArrayInputStream(
                    "\uFEFFeve@example.org\r\n".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            Run found = lethe("subject", "lookup", "-", "--role", "dpo");
            assertThat(found.exitCode()).as(found.err()).isZero();
            assertThat(found.out().trim()).matches("[0-9a-f-]{36}");
            System.setIn(new java.io.ByteArrayInputStream(new byte[0]));
            assertThat(lethe("subject", "lookup", "-", "--role", "dpo").err()).contains("standard input held none");
        } finally {
            System.setIn(stdin);
        }
    }

    @Test
    void keys_check_finds_a_damaged_page_of_keys_db_that_every_unwrap_passes() throws Exception {
        assertThat(lethe("demo").exitCode()).isZero();
        Run ok = lethe("keys", "check");
        assertThat(ok.out()).containsPattern("keys.db file +ok \\(SQLite quick_check\\)");
        Path file = data.resolve("keys.db");
        assertThat(Files.size(file)).isGreaterThan(5 * 4096L);
        try (var channel = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
            byte[] garbage = new byte[200];
            java.util.Arrays.fill(garbage, (byte) 0x5a);
            channel.write(java.nio.ByteBuffer.wrap(garbage), 3 * 4096L); // a b-tree page's header
        }
        Run damaged = lethe("keys", "check");
        assertThat(damaged.exitCode()).as(damaged.out() + damaged.err()).isEqualTo(1);
        assertThat(damaged.out())
                .containsPattern("keys.db file +FAILED: SQLite's quick_check found damage")
                .contains("restore the whole data directory from one backup")
                .containsPattern("result +FAILED");

        // Any page zeroed: damage found is the result (exit 1), even when it then stops a later step of the check
        // (review U: pages 2 and 9 gave 4, "could not check").
        Path pristine = data.resolveSibling("keys.db.pristine");
        Files.write(pristine, Files.readAllBytes(file));
        long pages = Files.size(pristine) / 4096;
        for (long page = 1; page < Math.min(pages, 12); page++) {
            zeroPage(pristine, file, page);
            Run zeroed = lethe("keys", "check");
            assertThat(zeroed.exitCode())
                    .as("page " + page + ": " + zeroed.out() + zeroed.err())
                    .isEqualTo(1);
            assertThat(zeroed.out()).containsPattern("result +FAILED");
        }
    }

    /** {@code file} made a copy of {@code pristine} with its 4 KiB page {@code page} zeroed. */
    private static void zeroPage(Path pristine, Path file, long page) throws java.io.IOException {
        Files.copy(pristine, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        try (var channel = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
            channel.write(java.nio.ByteBuffer.wrap(new byte[4096]), page * 4096L);
        }
    }

    @Test
    void keys_check_finds_a_damaged_page_of_events_db_that_every_unwrap_passes() throws Exception {
        assertThat(lethe("demo").exitCode()).isZero();
        Path file = data.resolve("events.db");
        Path pristine = data.resolveSibling("events.db.pristine");
        Files.copy(file, pristine);
        long pages = Files.size(pristine) / 4096;
        int found = 0;
        // Each page zeroed in turn: never "ok"; an index page's damage, which opens and unwraps fine, is named
        // (review U: appends failed with SQLITE_CORRUPT while keys check said ok).
        for (long page = 1; page < Math.min(pages, 16); page++) {
            zeroPage(pristine, file, page);
            Run check = lethe("keys", "check");
            assertThat(check.exitCode())
                    .as("page " + page + ": " + check.out() + check.err())
                    .isIn(1, 4);
            if (check.out().contains("events.db file   FAILED: SQLite's quick_check found damage")) {
                assertThat(check.exitCode()).isEqualTo(1);
                found++;
            }
        }
        assertThat(found).as("pages whose damage keys check names").isPositive();
    }

    @Test
    void keys_check_finds_a_damaged_blind_index_entry_and_a_lost_period_key() throws Exception {
        assertThat(lethe("demo").exitCode()).isZero();
        Run ok = lethe("keys", "check");
        assertThat(ok.exitCode()).as(ok.out() + ok.err()).isZero();
        assertThat(ok.out())
                .containsPattern("events.db file +ok \\(SQLite quick_check\\)")
                .containsPattern("blind index +all \\d+ entries open under the index secret")
                .containsPattern("periods +all \\d+ key periods the log's fields are sealed in have a key or expired");
        // One flipped bit in an entry's hash (review U): the natural key no longer finds its subject, and its
        // next event would make a second one, unseen by the unwrap of every key.
        String subject;
        String period;
        try (var db = java.sql.DriverManager.getConnection("jdbc:sqlite:" + data.resolve("keys.db"));
                var statement = db.createStatement()) {
            try (var rows = statement.executeQuery("SELECT subject FROM blind_index LIMIT 1")) {
                assertThat(rows.next()).isTrue();
                subject = rows.getString(1);
            }
            statement.executeUpdate(
                    "UPDATE blind_index SET hmac = zeroblob(length(hmac)) WHERE subject = '" + subject + "'");
            // And a period key lost (a keys.db restored from before it was made): its fields read unavailable.
            try (var rows = statement.executeQuery("SELECT grp || '/' || period FROM period_key LIMIT 1")) {
                assertThat(rows.next()).isTrue();
                period = rows.getString(1);
            }
            statement.executeUpdate("DELETE FROM period_key WHERE grp || '/' || period = '" + period + "'");
            // And the demo's forgotten customer's erasure fence: her receipt says she was forgotten.
            assertThat(statement.executeUpdate("DELETE FROM erasure_fence")).isEqualTo(1);
        }
        // An event whose privacy record was altered on disk (review Y): every open failed on it.
        try (var db = java.sql.DriverManager.getConnection("jdbc:sqlite:" + data.resolve("events.db"));
                var statement = db.createStatement()) {
            assertThat(statement.executeUpdate("UPDATE events SET metadata = CAST(replace(metadata, '\"sealed\":[',"
                            + " '\"sealed\":[\"email\",,') AS BLOB) WHERE position = (SELECT max(position) FROM events"
                            + " WHERE metadata LIKE '%\"sealed\":[%')"))
                    .isEqualTo(1);
        }
        assertThat(lethe("stats").exitCode()).as("the store still opens").isZero();
        Run damaged = lethe("keys", "check");
        assertThat(damaged.exitCode()).as(damaged.out() + damaged.err()).isEqualTo(1);
        assertThat(damaged.out())
                .containsPattern("events +FAILED: 1 event\\(s\\) whose privacy record no longer parses")
                .containsPattern("blind index +FAILED: 1 of \\d+ entries do not open under the index secret")
                .contains("e.g. subjects " + subject)
                .contains("1 of them have an erasure receipt in keys.db: they were forgotten, and keys.db has since"
                        + " lost their erasure fence")
                .containsPattern("periods +FAILED: 1 of \\d+ key periods the log's fields are sealed in have neither a"
                        + " key nor a record of their expiry: " + java.util.regex.Pattern.quote(period) + ";")
                .containsPattern("result +FAILED");
    }

    @Test
    void keys_check_unwraps_every_key_and_explains_keys_a_copys_original_rotated_away() throws Exception {
        Path keys = data.resolveSibling(data.getFileName() + "-shared-keys");
        String dir = "--master-key-dir=" + keys;
        assertThat(lethe("demo", dir).exitCode()).isZero();
        Run ok = lethe("keys", "check", dir);
        assertThat(ok.exitCode()).as(ok.err()).isZero();
        assertThat(ok.out())
                .contains("checking every live key")
                .containsPattern("keys.db +\\d+ live keys \\(\\d+ period, 2 secret, \\d+ subject\\)")
                .containsPattern("unwrap +all \\d+ unwrap")
                .containsPattern("subjects +all \\d+ the log names \\(\\d+ events\\) have a key or were forgotten")
                .containsPattern("result +ok");

        // A copy of the directory shares the keyset in --master-key-dir; then the original rotates.
        Path copy = data.resolveSibling(data.getFileName() + "-copy");
        try (var files = Files.walk(data)) {
            for (Path file : files.toList()) {
                Files.copy(file, copy.resolve(data.relativize(file).toString()));
            }
        }
        assertThat(lethe("keys", "rotate", "--role", "dpo", dir).exitCode()).isZero();

        Run failed = letheAt(copy, "keys", "check", dir);
        assertThat(failed.exitCode()).as(failed.out() + failed.err()).isEqualTo(1);
        assertThat(failed.out())
                .containsPattern("unwrap +FAILED: (\\d+) of \\1 keys do not unwrap")
                .containsPattern("result +FAILED")
                .containsPattern("wrapped by epoch \\d+, which this master key does not hold")
                .contains("e.g. ")
                .contains(
                        "likely cause",
                        "shares its master key",
                        data.toRealPath().toString());
        assertThat(lethe("keys", "check", dir).exitCode()).as("the original").isZero();
        assertThat(lethe("keys", "check").err()).as("without its keyset").contains("give --master-key-dir");

        // A keys.db restored from before a customer was registered: the log names a subject it has no key for.
        Path oldKeys = Files.copy(data.resolve("keys.db"), data.resolveSibling(data.getFileName() + "-old-keys.db"));
        Run registered = lethe(
                "append",
                "customer-late",
                "CustomerRegistered",
                "{\"customerNumber\":\"C-late\",\"name\":\"Late Comer\",\"email\":\"late@example.com\","
                        + "\"address\":{\"street\":\"Rua Nova 1\",\"city\":\"Braga\",\"country\":\"PT\"}}",
                dir);
        assertThat(registered.exitCode()).as(registered.err()).isZero();
        for (String file : List.of("keys.db", "keys.db-wal", "keys.db-shm")) {
            Files.deleteIfExists(data.resolve(file));
        }
        Files.copy(oldKeys, data.resolve("keys.db"));
        Run lost = lethe("keys", "check", dir);
        assertThat(lost.exitCode()).as(lost.out() + lost.err()).isEqualTo(1);
        assertThat(lost.out())
                .containsPattern("unwrap +all \\d+ unwrap")
                .containsPattern("subjects +FAILED: 1 of \\d+ subjects the log names have neither a key nor an erasure")
                .contains("restore the whole data directory from one backup");
        assertThat(lethe("read", "customer-late", "--role", "advisor", dir).out())
                .as("lost, not forgotten")
                .contains("name (unavailable)")
                .doesNotContain("(forgotten)");

        Files.delete(data.resolve("keys.db"));
        Run missing = lethe("keys", "check", dir);
        assertThat(missing.exitCode()).as("could not check, not found problems").isEqualTo(4);
        assertThat(missing.err())
                .contains("keys.db is missing from", "restore the whole data directory from one backup");
        assertThat(data.resolve("keys.db")).as("the check created nothing").doesNotExist();
        Run writer = lethe("stats", dir);
        assertThat(writer.exitCode()).isEqualTo(1);
        assertThat(writer.err())
                .contains("keys.db is missing from", "restore the whole data directory from one backup");
        assertThat(data.resolve("keys.db")).doesNotExist();
        // An empty file in its place (a copy cut short, `> keys.db`) is a missing key store, not a new one:
        // appends under a new blind-index secret would name known people as new subjects.
        Files.createFile(data.resolve("keys.db"));
        Run empty = lethe("stats", dir);
        assertThat(empty.exitCode()).isEqualTo(1);
        assertThat(empty.err()).contains("keys.db is missing from", "(the file is there, but holds no key store");
        assertThat(data.resolve("keys.db")).isEmptyFile();
        Files.delete(data.resolve("keys.db"));
        // A database with none of Lethe's tables (a header written, nothing else) is none either.
        try (var connection = java.sql.DriverManager.getConnection("jdbc:sqlite:" + data.resolve("keys.db"));
                var statement = connection.createStatement()) {
            statement.execute("PRAGMA user_version = 1");
        }
        assertThat(Files.size(data.resolve("keys.db"))).isPositive();
        Run headerOnly = lethe("stats", dir);
        assertThat(headerOnly.exitCode()).isEqualTo(1);
        assertThat(headerOnly.err()).contains("keys.db is missing from", "a database without Lethe's tables");
        Files.delete(data.resolve("keys.db"));
        // A read-only check creates nothing at all, not even a default policy or an empty read-model file.
        Files.delete(data.resolve("policy.yaml"));
        Files.delete(data.resolve("projections.db"));
        Files.copy(oldKeys, data.resolve("keys.db"));
        lethe("keys", "check", dir);
        assertThat(data.resolve("policy.yaml")).doesNotExist();
        assertThat(data.resolve("projections.db")).doesNotExist();
    }

    @Test
    void backup_copies_the_directory_without_the_master_key_and_the_copy_restores_with_it() throws Exception {
        assertThat(lethe("demo").exitCode()).isZero();
        Path backup = data.resolveSibling(data.getFileName() + "-backup");
        Run run = lethe("backup", backup.toString());
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out())
                .contains("backing up " + data.toAbsolutePath().normalize() + " into " + backup)
                .containsPattern("events.db +[\\d,]+ bytes")
                .containsPattern("keys.db +[\\d,]+ bytes")
                .containsPattern("done in [\\d.]+ s: .* \\(log up to position \\d+\\)")
                .contains("not in the backup: the master key, "
                        + data.toAbsolutePath().normalize() + "/master.keyset.json")
                .contains("no receipt journal: a restore of this backup brings back the subjects forgotten after it");
        assertThat(backup.resolve("master.keyset.json")).doesNotExist();

        Run again = lethe("backup", backup.toString());
        assertThat(again.exitCode()).isEqualTo(2);
        assertThat(again.err()).contains("already exists");

        Files.copy(data.resolve("master.keyset.json"), backup.resolve("master.keyset.json"));
        Run check = letheAt(backup, "keys", "check");
        assertThat(check.exitCode()).as(check.out() + check.err()).isZero();
        assertThat(letheAt(backup, "read", "--all", "--category", "customer", "--role", "advisor")
                        .out())
                .contains("Grace Hopper");
    }

    @Test
    void after_a_restore_forget_again_forgets_the_subjects_the_replaced_store_forgot_since_its_backup()
            throws Exception {
        assertThat(lethe("demo").exitCode()).isZero();
        Path backup = data.resolveSibling(data.getFileName() + "-backup");
        assertThat(lethe("backup", backup.toString()).exitCode()).isZero();
        Customer alan = secondDemoCustomer();
        assertThat(lethe("subject", "forget", alan.subject(), "--legal-basis", "GDPR Art. 17(1)(b)", "--role", "dpo")
                        .exitCode())
                .isZero();

        Run denied = lethe("subject", "receipts", "--role", "advisor");
        assertThat(denied.exitCode()).isEqualTo(3);
        assertThat(denied.err()).contains("may not forget (list erasure receipts)");
        Run listed = lethe("subject", "receipts", "--role", "dpo");
        assertThat(listed.out()).contains("subject " + alan.subject(), "legal basis GDPR Art. 17(1)(b)");
        assertThat(listed.err()).contains("2 receipts"); // the demo's forget, and this one
        assertThat(lethe("subject", "receipts", "--subject", alan.subject(), "--role", "dpo")
                        .out()
                        .lines())
                .hasSize(1);
        Customer grace = demoCustomer(2);
        Run scheduled = lethe(
                "subject",
                "forget",
                grace.subject(),
                "--legal-basis",
                "contract ended",
                "--at",
                LATER + "T00:00:00Z",
                "--role",
                "dpo");
        assertThat(scheduled.exitCode()).as(scheduled.err()).isZero();
        assertThat(scheduled.out()).contains("scheduled for " + LATER + "T00:00:00Z (schedule ", "cancel-forget");
        Run mistaken = lethe(
                "subject", "forget", grace.subject(), "--legal-basis", "typo", "--at", LATER_STILL, "--role", "dpo");
        String mistake = mistaken.out().replaceAll("(?s).*\\(schedule ([0-9a-f-]{36})\\).*", "$1");
        assertThat(lethe("subject", "scheduled", "--role", "dpo").out())
                .contains(
                        "forget at " + LATER + "T00:00:00Z",
                        "forget at " + LATER_STILL + "T00:00:00Z  schedule " + mistake);
        assertThat(lethe("subject", "cancel-forget", mistake, "--reason", "x", "--role", "advisor")
                        .exitCode())
                .isEqualTo(3);
        Run cancelled = lethe("subject", "cancel-forget", mistake, "--reason", "scheduled by mistake", "--role", "dpo");
        assertThat(cancelled.exitCode()).as(cancelled.err()).isZero();
        assertThat(cancelled.out()).contains("cancelled: the forget of subject " + grace.subject());
        Run listedAfter = lethe("subject", "scheduled", "--role", "dpo");
        assertThat(listedAfter.out()).doesNotContain(mistake).contains("forget at " + LATER + "T00:00:00Z");
        assertThat(listedAfter.err()).contains("1 scheduled forget");
        Path receipts = data.resolveSibling(data.getFileName() + "-receipts.jsonl");
        Files.writeString(
                receipts,
                lethe("subject", "receipts", "--json", "--role", "dpo").out());
        Path trail = data.resolveSibling(data.getFileName() + "-audit.jsonl");
        Files.writeString(
                trail, lethe("read", "$audit", "--json", "--limit", "10000").out());

        // The restored directory knows nothing of the forget made after its backup.
        Files.copy(data.resolve("master.keyset.json"), backup.resolve("master.keyset.json"));
        assertThat(letheAt(backup, "read", alan.stream(), "--role", "advisor").out())
                .contains("Alan Turing");

        Path bad = data.resolveSibling(data.getFileName() + "-bad.jsonl");
        Files.writeString(bad, Files.readString(receipts) + "{\"subject\": \"not-a-uuid\", \"id\": \"r\"}\n");
        Run refused = letheAt(backup, "subject", "forget-again", bad.toString(), "--role", "dpo");
        assertThat(refused.exitCode()).isEqualTo(2);
        assertThat(refused.err()).contains(bad + " line 3", "not a subject id");
        assertThat(letheAt(backup, "read", alan.stream(), "--role", "advisor").out())
                .as("a bad file forgets nothing")
                .contains("Alan Turing");
        assertThat(letheAt(backup, "subject", "forget-again", receipts.toString(), "--role", "advisor")
                        .exitCode())
                .isEqualTo(3);
        // Receipts name their store: another store's forget-again leaves them out, and says so.
        assertThat(Files.readString(receipts)).contains("\"store\":\"");
        Path otherStore = data.resolveSibling(data.getFileName() + "-other");
        assertThat(letheAt(otherStore, "demo").exitCode()).isZero();
        Run elsewhere = letheAt(otherStore, "subject", "forget-again", receipts.toString(), "--role", "dpo");
        assertThat(elsewhere.exitCode()).as(elsewhere.err()).isZero();
        assertThat(elsewhere.err()).contains("left out 2 lines (receipts, receipt-journal lines) made in other stores");
        assertThat(elsewhere.out()).contains("0 subjects forgotten again");
        // A copy of this store under another store id (one upgraded on its own from before store ids): the
        // forgets of subjects that still have a key there are left out loudly, and the run is not a success.
        Path renamed = data.resolveSibling(data.getFileName() + "-renamed");
        Files.createDirectories(renamed);
        try (var files = Files.list(backup)) {
            for (Path file : files.toList()) {
                Files.copy(file, renamed.resolve(file.getFileName()));
            }
        }
        try (var keys = java.sql.DriverManager.getConnection("jdbc:sqlite:" + renamed.resolve("keys.db"));
                var statement = keys.createStatement()) {
            statement.executeUpdate("UPDATE note SET value = 'another-id' WHERE name = 'store-id'");
        }
        Run renamedRun = letheAt(renamed, "subject", "forget-again", receipts.toString(), "--role", "dpo");
        assertThat(renamedRun.exitCode()).as(renamedRun.err()).isEqualTo(1);
        assertThat(renamedRun.err())
                .contains("WARNING: 1 subject forgotten by those lines still has a key here: they are this store's"
                        + " subjects under another store id");
        assertThat(letheAt(renamed, "read", alan.stream(), "--role", "advisor").out())
                .contains("Alan Turing");

        Path inside = data.resolveSibling(data.getFileName() + "-policy.yaml");
        Files.writeString(
                inside,
                Files.readString(data.resolve("policy.yaml")) + "\nreceiptJournal: " + data.toAbsolutePath()
                        + "/receipts.jsonl\n");
        Run refusedPolicy = lethe("policy", "set", inside.toString(), "--role", "dpo");
        assertThat(refusedPolicy.exitCode()).isEqualTo(2);
        assertThat(refusedPolicy.err()).contains("receiptJournal", "is inside the data directory");

        Run again = letheAt(backup, "subject", "forget-again", receipts.toString(), "--role", "dpo");
        assertThat(again.exitCode()).as(again.err()).isZero();
        assertThat(again.out())
                .contains("forgotten again: subject " + alan.subject())
                .contains("1 subject forgotten again; 1 already forgotten here; 0 without a key here")
                .as("receipts hold no scheduled forget")
                .doesNotContain("scheduled again");
        assertThat(letheAt(backup, "read", alan.stream(), "--role", "advisor").out())
                .doesNotContain("Alan Turing")
                .contains("name (forgotten)");
        assertThat(letheAt(backup, "read", "$audit", "--json", "--limit", "10000")
                        .out())
                .contains("\"reapplied\":true", "\"legalBasis\":\"GDPR Art. 17(1)(b)\"");

        // The audit trail works as well, and applying it twice changes nothing.
        // The trail also holds the forget scheduled after the backup: scheduled again, once.
        Run fromTrail = letheAt(backup, "subject", "forget-again", trail.toString(), "--role", "dpo");
        assertThat(fromTrail.exitCode()).as(fromTrail.err()).isZero();
        assertThat(fromTrail.out())
                .containsPattern("0 subjects forgotten again; 2 already forgotten here; .* \\d+ other entries skipped")
                .contains("scheduled again: subject " + grace.subject() + "  forget at " + LATER + "T00:00:00Z")
                .contains("1 scheduled forget scheduled again; 1 left: held here already, cancelled")
                .as("the cancelled one is not scheduled again")
                .doesNotContainPattern("scheduled again: .*schedule " + mistake)
                .contains("cancelled again: schedule " + mistake)
                .as("its cancellation is recorded, so that no older dump schedules it again")
                .contains("1 cancellation of a scheduled forget applied again; 0 held here already or not applicable");
        assertThat(letheAt(backup, "subject", "scheduled", "--role", "dpo").out())
                .contains("forget at " + LATER + "T00:00:00Z")
                .doesNotContain(mistake);
        // $erasures itself, as `read --json` prints it, works as well.
        Path erasures = data.resolveSibling(data.getFileName() + "-erasures.jsonl");
        Files.writeString(erasures, lethe("read", "$erasures", "--json").out());
        Run fromErasures = letheAt(backup, "subject", "forget-again", erasures.toString(), "--role", "dpo");
        assertThat(fromErasures.exitCode()).as(fromErasures.err()).isZero();
        assertThat(fromErasures.out())
                .contains("0 scheduled forgets scheduled again; 2 left")
                .contains("0 cancellations of a scheduled forget applied again; 1 held here already");
        assertThat(letheAt(backup, "subject", "forget-again", trail.toString(), "--role", "dpo")
                        .out())
                .contains("0 scheduled forgets scheduled again; 2 left: held here already");
        assertThat(letheAt(backup, "read", grace.stream(), "--role", "advisor").out())
                .doesNotContain("(forgotten)");
        Run due =
                letheAt(backup, "retention", "run", "--now", DAY_AFTER_LATER + "T00:00:00Z", "--role", "dpo", "--yes");
        assertThat(due.exitCode()).as(due.err()).isZero();
        assertThat(letheAt(backup, "read", grace.stream(), "--role", "advisor").out())
                .as("carried out when due, in the restored store")
                .contains("(forgotten)");

        // With a receipt journal, backups say where it is.
        Path journal = data.toAbsolutePath().resolveSibling(data.getFileName() + "-journal.jsonl");
        Path withJournal = data.resolveSibling(data.getFileName() + "-journal-policy.yaml");
        Files.writeString(
                withJournal, Files.readString(data.resolve("policy.yaml")) + "\nreceiptJournal: " + journal + "\n");
        assertThat(lethe("policy", "set", withJournal.toString(), "--role", "dpo")
                        .exitCode())
                .isZero();
        Run statsWithJournal = lethe("stats");
        assertThat(statsWithJournal.out())
                .as(statsWithJournal.err())
                .contains("receipt journal  " + journal.toRealPath());
        assertThat(Files.readString(journal))
                .as("seeded by the first open, with the scheduled forget")
                .contains(alan.subject(), "\"kind\":\"schedule\"", grace.subject());
        Path drill = data.resolveSibling(data.getFileName() + "-backup2");
        Run second = lethe("backup", drill.toString());
        assertThat(second.out()).contains("not in the backup: the receipt journal, " + journal);

        // A restore drill beside the store, sharing its journal, may not forget: that would reach the store.
        Files.copy(data.resolve("master.keyset.json"), drill.resolve("master.keyset.json"));
        Run inDrill = letheAt(drill, "subject", "forget", alan.subject(), "--legal-basis", "a drill", "--role", "dpo");
        assertThat(inDrill.exitCode()).isEqualTo(2);
        assertThat(inDrill.err())
                .contains("this data directory is a copy of", "set this copy's receiptJournal to a copy of that file");
        assertThat(letheAt(drill, "stats").out()).contains("no forgets       this data directory is a copy of");
        Run fromJournal = lethe("subject", "forget-again", journal.toString(), "--role", "dpo");
        assertThat(fromJournal.exitCode()).as(fromJournal.err()).isZero();
        assertThat(fromJournal.out()).contains("0 subjects forgotten again");
    }

    @Test
    void the_retention_plan_changes_nothing_even_where_an_open_would_apply_a_restore() throws Exception {
        assertThat(lethe("demo").exitCode()).isZero();
        Path backup = data.resolveSibling(data.getFileName() + "-plan-backup");
        assertThat(lethe("backup", backup.toString()).exitCode()).isZero();
        assertThat(lethe("retention", "run", "--now", "2099-01-01T00:00:00Z", "--role", "dpo", "--yes")
                        .exitCode())
                .isZero();
        for (String name : new String[] {"keys.db", "keys.db-wal", "keys.db-shm"}) {
            Files.deleteIfExists(data.resolve(name));
        }
        Files.copy(backup.resolve("keys.db"), data.resolve("keys.db"));
        java.util.function.LongSupplier trail = () -> {
            try (var store = dev.lethe.sqlite.SqliteEventStore.openReadOnly(data)) {
                return store.streamInfo(StreamId.of("$audit")).eventCount();
            }
        };
        long before = trail.getAsLong();
        Run plan = lethe("retention", "plan", "--role", "dpo");
        assertThat(plan.exitCode()).as(plan.err()).isZero();
        assertThat(plan.out())
                .as("the restored keys read as destroyed, as the next writer open will make them")
                .contains("period keys: 0 live");
        assertThat(trail.getAsLong()).as("nothing audited, nothing applied").isEqualTo(before);
        assertThat(lethe("read", "$audit").exitCode()).as("a writer open").isZero();
        assertThat(trail.getAsLong()).as("the writer open applied it").isGreaterThan(before);
    }

    @Test
    void keys_check_notes_a_rotation_stopped_before_it_destroyed_the_older_epoch() {
        assertThat(lethe("demo").exitCode()).isZero();
        try (dev.lethe.sqlite.SqliteLethe stopped = dev.lethe.sqlite.SqliteLethe.open(data)) {
            stopped.privacy().keys().master().beginRotation(); // and nothing more: as if killed there
        }
        Run check = lethe("keys", "check");
        assertThat(check.exitCode()).as(check.out()).isZero();
        assertThat(check.out())
                .contains("note           2 live epochs: a rotation was stopped", "run lethe keys rotate to finish")
                .contains("result           ok");
        assertThat(lethe("keys", "rotate", "--role", "dpo").exitCode()).isZero();
        assertThat(lethe("keys", "check").out()).doesNotContain("a rotation was stopped");
    }

    @Test
    void a_group_removed_from_the_policy_by_hand_is_named_by_every_retention_run() throws Exception {
        assertThat(lethe("demo").exitCode()).isZero();
        Path policy = data.resolve("policy.yaml");
        Files.writeString(
                policy,
                Files.readString(policy)
                        .replaceAll("(?m)^  identity: .*\\n", "")
                        .replace("[identity, ", "[")
                        .replace("read: [identity]", "read: []"));
        Run run = lethe("retention", "run", "--role", "dpo");
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.err())
                .containsPattern(
                        "warning: 1 live period key\\(s\\) of data groups the policy does not declare are never"
                                + " destroyed by retention: identity/\\d{4}\\.");
        assertThat(lethe("read", "$audit", "--json", "--limit", "10000").out())
                .containsPattern("\"undeclaredPeriods\":\\[\"identity/\\d{4}\"\\]");
        assertThat(lethe("retention", "plan").out()).contains("never: its group is not in the data policy");
    }

    @Test
    void a_policy_whose_receipt_journal_directory_is_gone_can_still_be_replaced() throws Exception {
        assertThat(lethe("append", "order-1", "OrderPlaced", "{}").exitCode()).isZero();
        Path journals = Files.createDirectories(data.resolveSibling(data.getFileName() + "-journals"));
        Path journal = journals.toAbsolutePath().resolve("receipts.jsonl");
        String policy = Files.readString(data.resolve("policy.yaml"));
        Path withJournal = Files.writeString(
                data.resolveSibling(data.getFileName() + "-with-journal.yaml"),
                policy + "\nreceiptJournal: " + journal + "\n");
        Path elsewhere = Files.writeString(
                data.resolveSibling(data.getFileName() + "-journal-elsewhere.yaml"),
                policy + "\nreceiptJournal: " + data.toAbsolutePath().resolveSibling(data.getFileName() + "-r.jsonl")
                        + "\n");
        assertThat(lethe("policy", "set", withJournal.toString(), "--role", "dpo")
                        .exitCode())
                .isZero();
        assertThat(lethe("stats").exitCode()).isZero();
        Files.delete(journal);
        Files.delete(journals);

        Run stopped = lethe("stats");
        assertThat(stopped.exitCode()).isNotZero();
        assertThat(stopped.err()).contains("the receipt journal's directory " + journals, "does not exist");
        Run same = lethe("policy", "set", withJournal.toString(), "--role", "dpo");
        assertThat(same.exitCode()).as("the same journal: the failure stands").isNotZero();
        assertThat(same.err()).contains("does not exist").doesNotContain("Opened without it");
        Run denied = lethe("policy", "set", elsewhere.toString(), "--role", "advisor");
        assertThat(denied.exitCode()).as("still needs change-policy").isEqualTo(3);

        Run replaced = lethe("policy", "set", elsewhere.toString(), "--role", "dpo", "--user", "dora");
        assertThat(replaced.exitCode()).as(replaced.err()).isZero();
        assertThat(replaced.err())
                .contains("warning: the store cannot be opened with its receipt journal " + journal)
                .contains("forgets journaled there since this store last read it are not applied here");
        assertThat(lethe("stats").exitCode()).isZero();
        assertThat(lethe("read", "$audit", "--json").out())
                .contains("\"PolicyChanged\"", "\"journalNotRead\":\"" + journal + "\"", "\"principal\":\"dora\"");
        Files.deleteIfExists(data.toAbsolutePath().resolveSibling(data.getFileName() + "-r.jsonl"));
    }

    @Test
    void the_master_keyset_can_live_outside_the_data_directory() throws Exception {
        Path keys = data.resolveSibling(data.getFileName() + "-keys");
        Run demo = lethe("demo", "--master-key-dir", keys.toString());
        assertThat(demo.exitCode()).as(demo.err()).isZero();
        try (var files = Files.list(keys)) {
            assertThat(files.map(f -> f.getFileName().toString()))
                    .singleElement(org.assertj.core.api.InstanceOfAssertFactories.STRING)
                    .matches("master-[0-9a-f-]{36}\\.keyset\\.json");
        }
        assertThat(data.resolve("master.keyset.json")).doesNotExist();
        String customer = lethe("read", "--all", "--json", "--master-key-dir", keys.toString())
                .out()
                .lines()
                .filter(l -> l.contains("\"CustomerRegistered\""))
                .map(l -> l.replaceAll(".*\"stream\":\"([^\"]+)\".*", "$1"))
                .findFirst()
                .orElseThrow();
        assertThat(lethe("read", customer, "--role", "advisor", "--master-key-dir", keys.toString())
                        .out())
                .doesNotContain("(restricted)", "(unavailable)");
        Run without = lethe("read", customer, "--role", "advisor");
        assertThat(without.exitCode()).isEqualTo(1);
        assertThat(without.err())
                .contains("give --master-key-dir " + keys.toAbsolutePath().normalize());
        assertThat(data.resolve("master.keyset.json")).doesNotExist();
    }

    @Test
    void registering_a_schema_needs_change_policy_and_is_audited() throws Exception {
        lethe("append", "order-1", "OrderPlaced", "{}");
        Path schema = Files.writeString(
                data.resolve("signup.json"),
                "{\"type\":\"object\",\"properties\":{\"email\":{\"type\":\"string\",\"x-gdpr\":{\"pii\":true,"
                        + "\"key\":true,\"dataGroup\":\"contact\"}}}}");

        Run denied = lethe("schemas", "register", "SignedUp", schema.toString(), "--role", "advisor");
        assertThat(denied.exitCode()).isEqualTo(3);
        assertThat(denied.err()).contains("(role advisor) may not change-policy");
        assertThat(lethe("schemas", "list").out()).doesNotContain("SignedUp");

        Run registered = lethe("schemas", "register", "SignedUp", schema.toString(), "--role", "dpo", "--user", "dora");
        assertThat(registered.exitCode()).as(registered.err()).isZero();
        assertThat(registered.out()).contains("registered SignedUp v1");
        assertThat(lethe("read", "$audit", "--json").out())
                .contains(
                        "SchemaRegistered", "\"principal\":\"dora\"", "\"role\":\"dpo\"", "\"eventType\":\"SignedUp\"")
                .doesNotContain("advisor");

        // The audit trail keeps the user's name as one line: a forged second line is refused, naming --user.
        Run forged = lethe("schemas", "register", "Other", schema.toString(), "--role", "dpo", "--user", "dora\nroot");
        assertThat(forged.exitCode()).isEqualTo(2);
        assertThat(forged.err()).contains("--user: name contains a control character, line separator");
        assertThat(lethe("schemas", "list").out()).doesNotContain("Other");

        // A member written twice would drop the first one's marking: refused, naming it.
        Path twice = Files.writeString(
                data.resolve("twice.json"),
                "{\"type\":\"object\",\"properties\":{\"email\":{\"x-gdpr\":{\"pii\":true,\"key\":true}},"
                        + "\"email\":{\"type\":\"string\"}}}");
        Run refusedTwice = lethe("schemas", "register", "Twice", twice.toString(), "--role", "dpo");
        assertThat(refusedTwice.exitCode()).isEqualTo(2);
        assertThat(refusedTwice.err()).contains("twice.json: has a member twice", "'email'");

        // An event naming two subjects: the listing says whose each personal field is.
        Path transfer = Files.writeString(
                data.resolve("transfer.json"),
                "{\"type\":\"object\",\"properties\":{"
                        + "\"fromId\":{\"type\":\"string\",\"x-gdpr\":{\"key\":true}},"
                        + "\"fromIban\":{\"type\":\"string\",\"x-gdpr\":{\"pii\":true,\"dataGroup\":\"financial\","
                        + "\"subject\":\"fromId\"}},"
                        + "\"toId\":{\"type\":\"string\",\"x-gdpr\":{\"key\":true}},"
                        + "\"toIban\":{\"type\":\"string\",\"x-gdpr\":{\"pii\":true,\"dataGroup\":\"financial\","
                        + "\"subject\":\"toId\"}}}}");
        Run transferRegistered = lethe("schemas", "register", "TransferMade", transfer.toString(), "--role", "dpo");
        assertThat(transferRegistered.exitCode()).as(transferRegistered.err()).isZero();
        assertThat(lethe("schemas", "list").out().lines())
                .anySatisfy(line -> assertThat(line).contains("fromIban", "pii", "group financial", "of fromId"))
                .anySatisfy(line -> assertThat(line).contains("toIban", "of toId"))
                .noneSatisfy(line -> assertThat(line).contains("email", " of "));
    }

    @Test
    void policy_check_reports_stream_ids_that_look_personal_with_progress_and_exit_code_1() {
        // Written past the privacy layer (the default policy is not strict either): nothing stopped these ids.
        try (SqliteEventStore store = SqliteEventStore.open(data)) {
            for (String stream : new String[] {
                "customer-7f3c", "customer-PT50000201231234567890154", "order-1", "caller-00351912345678"
            }) {
                store.append(
                        StreamId.of(stream),
                        ExpectedVersion.any(),
                        java.util.List.of(dev.lethe.core.store.EventData.of("Happened", "{}")));
            }
        }

        Run check = lethe("policy", "check", "--progress-every", "2");

        assertThat(check.exitCode()).as(check.err()).isEqualTo(1);
        assertThat(check.out())
                .contains(
                        "finding: stream id 'customer-PT50000201231234567890154': looks like an IBAN; use a pseudonym")
                .contains("finding: stream id 'caller-00351912345678': looks like a phone number")
                .contains("0 schema(s) and 4 stream id(s) checked, 2 finding(s)")
                .doesNotContain("customer-7f3c", "order-1");
        assertThat(check.err()).contains("4 stream ids scanned, 2 finding(s) so far");
    }
}
