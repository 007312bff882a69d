package dev.lethe.server.cli;

import dev.lethe.core.privacy.PrivateEventStore;
import dev.lethe.core.privacy.SubjectId;
import dev.lethe.core.privacy.keys.ErasureReceipt;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.server.Instants;
import dev.lethe.sqlite.SqliteLethe;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(
        name = "subject",
        description = "Data subjects: forget one (Art. 17), export one's data (Art. 15/20), look one up.",
        subcommands = {
            SubjectCommand.Forget.class,
            SubjectCommand.Export.class,
            SubjectCommand.Lookup.class,
            SubjectCommand.Receipts.class,
            SubjectCommand.Scheduled.class,
            SubjectCommand.CancelForget.class,
            SubjectCommand.ForgetAgain.class
        })
final class SubjectCommand implements Runnable {
    @ParentCommand
    LetheCli parent;

    @Override
    public void run() {
        parent.printUsageOf("subject");
    }

    @Command(
            name = "forget",
            description = {
                "Forget a data subject: destroy their key and blind-index entries.",
                "Every personal field of theirs then reads as forgotten everywhere. Needs a role with the forget"
                        + " permission.",
                "  lethe subject forget 3f25… --legal-basis 'GDPR Art. 17(1)(a)' --role dpo",
                "  lethe subject forget 3f25… --legal-basis '…' --at 2027-01-01T00:00:00Z --role dpo   (scheduled)",
                "  lethe subject forget --file subjects.txt --legal-basis '…' --role dpo   (many, one JVM)"
            })
    static final class Forget implements Callable<Integer> {
        @ParentCommand
        SubjectCommand subject;

        @Parameters(paramLabel = "SUBJECT", arity = "0..1", description = "The subject id (a UUID).")
        String id;

        @Option(
                names = "--file",
                paramLabel = "FILE",
                description = "Forget (or with --at, schedule) every subject id in FILE instead, one per line (-:"
                        + " standard input; blank lines and lines starting with # are skipped). Every id is checked"
                        + " first (a malformed one, or one this store never issued, forgets no one); then each is"
                        + " forgotten in turn with a receipt of its own, those forgotten before (with --at: scheduled"
                        + " for that instant before) are skipped, so the same file can be run again after an"
                        + " interruption.")
        Path file;

        @Option(names = "--legal-basis", required = true, paramLabel = "TEXT", description = "Why the law requires it.")
        String legalBasis;

        @Option(names = "--reason", paramLabel = "TEXT", description = "A note for the receipt (no personal data).")
        String reason;

        @Option(
                names = "--at",
                paramLabel = "INSTANT",
                description = "Forget at this instant instead of now (a date means the start of that day, UTC).")
        String at;

        @Override
        public Integer call() {
            LetheCli cli = subject.parent;
            PrintWriter out = cli.spec.commandLine().getOut();
            if ((id == null) == (file == null)) {
                throw InvalidEventException.of(
                        "SUBJECT", id == null ? "is missing: give one subject id, or --file" : "goes without --file");
            }
            if (at != null && reason != null) {
                throw InvalidEventException.of(
                        "--reason",
                        "is not kept for a scheduled forget (its receipt says who scheduled it); leave it out with"
                                + " --at");
            }
            if (file != null) {
                return forgetEach(cli, out, subjectsIn(file));
            }
            SubjectId subjectId = SubjectId.parse(id);
            try (SqliteLethe lethe = cli.store.openExisting()) {
                if (at != null) {
                    Instant when = Instants.parseDeadline("--at", at);
                    var schedule = lethe.privacy().scheduleForget(subjectId, when, legalBasis, cli.store.principal());
                    out.printf(
                            "forget of %s scheduled for %s (schedule %s); `lethe retention run` (or a running server)"
                                    + " carries it out; `lethe subject cancel-forget %s --reason ...` cancels it%n",
                            subjectId, when, schedule.id(), schedule.id());
                    if (when.isBefore(Instant.now())) {
                        cli.spec
                                .commandLine()
                                .getErr()
                                .printf(
                                        "warning: %s is in the past: the forget happens at the next retention run;"
                                                + " leave out --at to forget now%n",
                                        when);
                    }
                    return 0;
                }
                ErasureReceipt receipt = lethe.privacy().forget(subjectId, legalBasis, reason, cli.store.principal());
                out.printf(
                        "forgotten: subject %s%n  receipt     %s%n  by          %s%n  at          %s%n  legal basis %s%n"
                                + "%s  destroyed   %s%n",
                        subjectId,
                        receipt.id(),
                        receipt.actor(),
                        receipt.at(),
                        receipt.legalBasis(),
                        receipt.reason().isEmpty() ? "" : "  reason      " + receipt.reason() + "\n",
                        String.join(", ", receipt.destroyed()));
                notReached(lethe, out);
            }
            return 0;
        }

        /** What a forget does not reach, where the schemas say so: natural keys kept in plaintext. */
        private static void notReached(SqliteLethe lethe, PrintWriter out) {
            List<String> plainKeys = lethe.privacy().schemas().plaintextNaturalKeyFields();
            if (!plainKeys.isEmpty()) {
                out.printf(
                        "  not reached key fields stored in plaintext (%s): events of these types keep the"
                                + " natural key that named the subject, readable beside its pseudonym (mark"
                                + " them pii: lethe policy check)%n",
                        String.join(", ", plainKeys));
            }
        }

        /** The subject ids of a --file, each with its line; a malformed one refuses the whole file. */
        private static Map<SubjectId, Long> subjectsIn(Path file) {
            boolean stdin = "-".equals(file.toString());
            String name = stdin ? "standard input" : file.toString();
            Map<SubjectId, Long> subjects = new java.util.LinkedHashMap<>();
            try (java.io.BufferedReader lines = stdin
                    ? new java.io.BufferedReader(
                            new java.io.InputStreamReader(System.in, java.nio.charset.StandardCharsets.UTF_8))
                    : Files.newBufferedReader(file, java.nio.charset.StandardCharsets.UTF_8)) {
                long number = 0;
                String line;
                while ((line = lines.readLine()) != null) {
                    number++;
                    String text = (number == 1 && line.startsWith("\uFEFF") ? line.substring(1) : line).strip();
                    if (text.isEmpty() || text.startsWith("#")) {
                        continue;
                    }
                    SubjectId subjectId = null;
                    if (text.matches("[0-9a-fA-F-]{36}")) {
                        try {
                            subjectId = SubjectId.parse(text);
                        } catch (RuntimeException notOne) {
                            // said below
                        }
                    }
                    if (subjectId == null) {
                        // Not quoted: a line that is no subject id may be a natural key (an e-mail address).
                        throw InvalidEventException.of(
                                "--file",
                                name + " line " + number + " is not a subject id (a UUID, as lethe subject lookup"
                                        + " prints it); nothing forgotten");
                    }
                    subjects.putIfAbsent(subjectId, number);
                }
            } catch (java.nio.file.NoSuchFileException e) {
                throw InvalidEventException.of("--file", name + " does not exist");
            } catch (java.nio.charset.CharacterCodingException e) {
                throw InvalidEventException.of("--file", name + " is not UTF-8 text");
            } catch (java.io.IOException e) {
                throw InvalidEventException.of(
                        "--file", "cannot read " + name + ": " + dev.lethe.server.IoErrors.describe(e));
            }
            if (subjects.isEmpty()) {
                throw InvalidEventException.of("--file", name + " holds no subject id; nothing forgotten");
            }
            return subjects;
        }

        /** Forgets (or schedules) each subject of a --file in turn, after checking every one. */
        private int forgetEach(LetheCli cli, PrintWriter out, Map<SubjectId, Long> subjects) {
            PrintWriter err = cli.spec.commandLine().getErr();
            dev.lethe.core.privacy.Principal who = cli.store.principal();
            Instant when = at == null ? null : Instants.parseDeadline("--at", at);
            try (SqliteLethe lethe = cli.store.openExisting()) {
                if (!lethe.policy().may(who, dev.lethe.core.privacy.policy.DataPolicy.Permission.FORGET)) {
                    throw new dev.lethe.core.privacy.AccessDeniedException(
                            who, dev.lethe.core.privacy.policy.DataPolicy.Permission.FORGET.label());
                }
                List<String> unknown = new java.util.ArrayList<>();
                subjects.forEach((subjectId, line) -> {
                    if (!lethe.privacy().keys().knows(subjectId)) {
                        unknown.add("line " + line + " (" + subjectId + ")");
                    }
                });
                if (!unknown.isEmpty()) {
                    throw InvalidEventException.of(
                            "--file",
                            unknown.size() + " subject id(s) this store never issued: "
                                    + String.join(", ", unknown.subList(0, Math.min(10, unknown.size())))
                                    + (unknown.size() > 10 ? ", …" : "") + "; nothing forgotten");
                }
                long started = System.nanoTime();
                long lastProgress = started;
                java.util.concurrent.atomic.AtomicLong done = new java.util.concurrent.atomic.AtomicLong();
                java.util.concurrent.atomic.AtomicLong before = new java.util.concurrent.atomic.AtomicLong();
                // With --at, the schedules for that instant already made (read once: each listing reads them all).
                Map<SubjectId, String> scheduledThen = new java.util.HashMap<>();
                if (when != null) {
                    lethe.privacy().scheduledForgets(null, who).stream()
                            .filter(schedule -> schedule.at().equals(when))
                            .forEach(schedule -> scheduledThen.putIfAbsent(schedule.subject(), schedule.id()));
                }
                // Ctrl-C or a kill (not -9): the forget under way finishes, none starts after it, and the
                // command says how far it got (the lines printed so far are exactly the subjects done).
                java.util.concurrent.atomic.AtomicBoolean stopping = new java.util.concurrent.atomic.AtomicBoolean();
                java.util.concurrent.CountDownLatch halted = new java.util.concurrent.CountDownLatch(1);
                Thread interrupted = new Thread(
                        () -> {
                            stopping.set(true);
                            try {
                                halted.await(30, java.util.concurrent.TimeUnit.SECONDS);
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                            err.println();
                            err.printf(
                                    "subject forget interrupted: %,d of %,d subjects %s, %,d skipped as already %s;"
                                            + " the rest untouched. Run the same command again: the subjects done"
                                            + " are skipped.%n",
                                    done.get(),
                                    subjects.size(),
                                    when == null ? "forgotten" : "scheduled",
                                    before.get(),
                                    when == null ? "forgotten" : "forgotten or scheduled then");
                            err.flush();
                        },
                        "lethe-forget-interrupted");
                Runtime.getRuntime().addShutdownHook(interrupted);
                try {
                    for (SubjectId subjectId : subjects.keySet()) {
                        if (stopping.get()) {
                            return 130; // the hook says how far it got; the JVM is exiting
                        }
                        if (lethe.privacy().keys().isForgotten(subjectId)) {
                            before.incrementAndGet();
                            out.printf("was already forgotten: subject %s%n", subjectId);
                        } else if (when != null) {
                            String already = scheduledThen.get(subjectId);
                            if (already != null) { // a run repeated: one schedule is enough
                                before.incrementAndGet();
                                out.printf(
                                        "was already scheduled: subject %s at %s, schedule %s%n",
                                        subjectId, when, already);
                                continue;
                            }
                            var schedule = lethe.privacy().scheduleForget(subjectId, when, legalBasis, who);
                            out.printf("scheduled: subject %s at %s, schedule %s%n", subjectId, when, schedule.id());
                            done.incrementAndGet();
                        } else {
                            ErasureReceipt receipt = lethe.privacy().forget(subjectId, legalBasis, reason, who);
                            out.printf("forgotten: subject %s, receipt %s%n", subjectId, receipt.id());
                            done.incrementAndGet();
                        }
                        long now = System.nanoTime();
                        if (now - lastProgress > 1_000_000_000L) {
                            lastProgress = now;
                            err.printf(
                                    "\r%s: %,d of %,d subjects, %,.0f/s   ",
                                    when == null ? "forgetting" : "scheduling",
                                    done.get() + before.get(),
                                    subjects.size(),
                                    done.get() / ((now - started) / 1e9));
                            err.flush();
                        }
                    }
                } finally {
                    halted.countDown();
                    try {
                        Runtime.getRuntime().removeShutdownHook(interrupted);
                    } catch (IllegalStateException shuttingDown) {
                        // the hook runs, or has run
                    }
                }
                if (lastProgress != started) {
                    err.println();
                }
                out.printf(
                        "%s %,d subject(s), %,d already %s (skipped), in %.1f s%n",
                        when == null ? "forgot" : "scheduled the forget of",
                        done.get(),
                        before.get(),
                        when == null ? "forgotten" : "forgotten or scheduled then",
                        (System.nanoTime() - started) / 1e9);
                if (when == null && done.get() > 0) {
                    notReached(lethe, out);
                }
            }
            return 0;
        }
    }

    @Command(
            name = "export",
            description = {
                "Every event of a subject with its personal data decrypted, as JSON (Art. 15/20).",
                "A personal field that fails authentication (altered, or copied from elsewhere) is exported as null"
                        + " with reason \"tampered\" under the event's \"redacted\"; the export goes on, lists such"
                        + " fields on standard error and exits with code 5."
            })
    static final class Export implements Callable<Integer> {
        @ParentCommand
        SubjectCommand subject;

        @Parameters(paramLabel = "SUBJECT", description = "The subject id (a UUID).")
        String id;

        @Option(
                names = "--output",
                paramLabel = "FILE",
                description =
                        "Write to FILE instead of standard output: a new file (never one that exists), outside the"
                                + " data directory, mode 0600 (owner only).")
        Path output;

        @Override
        public Integer call() throws java.io.IOException {
            LetheCli cli = subject.parent;
            if (output != null) {
                // Checked before the export, which is audited: a failed write should not read as a hand-over.
                Path parent = output.toAbsolutePath().getParent();
                if (parent == null || !Files.isDirectory(parent) || !Files.isWritable(parent)) {
                    throw InvalidEventException.of(
                            "--output", "cannot write " + output + ": its directory does not exist or is not writable");
                }
                if (Files.isDirectory(output)) {
                    throw InvalidEventException.of("--output", output + " is a directory; give a file name");
                }
                if (Files.exists(output, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    // Never over another file: pointed at events.db, an export would destroy the log.
                    throw InvalidEventException.of(
                            "--output", output + " already exists; give a new file name (an export never overwrites)");
                }
                // Through links too: the directories as the file system resolves them.
                Path data = realOrNormal(cli.store.directory);
                if (realOrNormal(parent).resolve(output.getFileName()).startsWith(data)) {
                    throw InvalidEventException.of(
                            "--output",
                            output + " is inside the data directory " + data
                                    + "; write exports elsewhere (they hold personal data in plaintext)");
                }
            }
            try (SqliteLethe lethe = cli.store.openExisting()) {
                PrintWriter err = cli.spec.commandLine().getErr();
                long started = System.nanoTime();
                boolean[] indexed = {false};
                java.util.function.BiConsumer<Long, Long> indexing = (reached, end) -> {
                    indexed[0] = true;
                    Progress.print(err, "indexing subjects for exports (once)", reached, end, started);
                };
                // Written as it is read, one event at a time: a subject's millionth event needs no more memory.
                PrivateEventStore.Exported exported;
                if (output == null) {
                    PrintWriter out = cli.spec.commandLine().getOut();
                    exported = lethe.privacy()
                            .exportTo(SubjectId.parse(id), cli.store.principal(), indexing, failing(out), true);
                    out.println();
                    out.flush();
                    if (indexed[0]) {
                        err.println();
                    }
                } else {
                    // Created and written through one open (never reopened by name: a file put in its place
                    // meanwhile, or a link, would take the export), owner-only from the start.
                    java.nio.channels.FileChannel channel = createOwnerOnly(output);
                    Object written = Files.readAttributes(
                                    output,
                                    java.nio.file.attribute.BasicFileAttributes.class,
                                    java.nio.file.LinkOption.NOFOLLOW_LINKS)
                            .fileKey();
                    // Half an export is personal data too: not left behind, on a failure, Ctrl-C or a kill (not
                    // -9: the half-written file then stays, and is no valid JSON).
                    java.util.concurrent.atomic.AtomicBoolean complete =
                            new java.util.concurrent.atomic.AtomicBoolean();
                    Thread interrupted = new Thread(
                            () -> {
                                if (!complete.get() && deleteIfSame(output, written)) {
                                    err.println();
                                    err.println(
                                            "subject export interrupted: the half-written " + output + " was deleted");
                                    err.flush();
                                }
                            },
                            "lethe-export-interrupted");
                    Runtime.getRuntime().addShutdownHook(interrupted);
                    try (java.io.Writer file = new java.io.BufferedWriter(
                            java.nio.channels.Channels.newWriter(channel, java.nio.charset.StandardCharsets.UTF_8))) {
                        exported = lethe.privacy()
                                .exportTo(SubjectId.parse(id), cli.store.principal(), indexing, file, true);
                        file.write(System.lineSeparator());
                        file.flush();
                        channel.force(true);
                        complete.set(true);
                    } catch (Throwable e) { // out of memory too
                        deleteIfSame(output, written);
                        throw e;
                    } finally {
                        try {
                            Runtime.getRuntime().removeShutdownHook(interrupted);
                        } catch (IllegalStateException shuttingDown) {
                            // the hook runs, or has run
                        }
                    }
                    if (indexed[0]) {
                        err.println();
                    }
                    err.println("wrote " + output + " (" + exported.events() + " event(s); mode 0600: it holds personal"
                            + " data in plaintext; protect it, and delete it when it has been handed over)");
                }
                return tampered(err, exported);
            }
        }

        /** Exit code {@value #TAMPERED} with the list of fields that failed authentication, if any; else 0. */
        private static int tampered(PrintWriter err, PrivateEventStore.Exported exported) {
            if (exported.tamperedFields() == 0) {
                return 0;
            }
            err.println("warning: " + exported.tamperedFields() + " personal field(s) of this export failed"
                    + " authentication (altered, or copied from another event or field): they are exported as null,"
                    + " with reason \"tampered\". The rest of the export is whole. Their stored bytes were changed outside"
                    + " Lethe (the log edited, or a file restored from a mismatched copy): find out how, and tell the"
                    + " data subject that this part of their data could not be read:");
            for (PrivateEventStore.Exported.TamperedField field : exported.tampered()) {
                err.println("  event " + field.event() + " (position " + field.position() + ") field " + field.path());
            }
            if (exported.tamperedFields() > exported.tampered().size()) {
                err.println("  … and "
                        + (exported.tamperedFields() - exported.tampered().size()) + " more");
            }
            err.flush();
            return TAMPERED;
        }

        /** The exit code of an export that went past fields that failed authentication. */
        static final int TAMPERED = 5;
    }

    @Command(
            name = "receipts",
            description = {
                "The stored erasure receipts, oldest first: who forgot which subject, when, and on what legal basis."
                        + " Needs a role with the forget permission.",
                "  lethe subject receipts --role dpo",
                "  lethe subject receipts --json --role dpo > receipts.jsonl   (keep them apart from the backups: after"
                        + " a restore, `lethe subject forget-again receipts.jsonl` forgets those subjects again)"
            })
    static final class Receipts implements Callable<Integer> {
        @ParentCommand
        SubjectCommand subject;

        @Option(names = "--subject", paramLabel = "SUBJECT", description = "Only this subject's receipts.")
        String only;

        @Option(names = "--json", description = "One JSON object per line, every field of the receipt.")
        boolean json;

        @Override
        public Integer call() {
            LetheCli cli = subject.parent;
            SubjectId filter = only == null ? null : SubjectId.parse(only);
            try (SqliteLethe lethe =
                    cli.store.openForQuerying(cli.spec.commandLine().getErr())) {
                java.util.Optional<String> store = lethe.storeId();
                List<dev.lethe.core.privacy.keys.ErasureReceipt> receipts =
                        lethe.privacy().receipts(filter, cli.store.principal());
                list(
                        cli,
                        receipts,
                        json,
                        receipt -> receipt.asMap(store),
                        receipt -> String.format(
                                "%s  receipt %s  subject %s  by %s  legal basis %s%s",
                                receipt.at(),
                                receipt.id(),
                                receipt.subject(),
                                printable(receipt.actor()),
                                printable(receipt.legalBasis()),
                                receipt.reason() == null ? "" : "  reason " + printable(receipt.reason())),
                        "receipt");
                if (filter != null && receipts.isEmpty() && !json) {
                    // "0 receipts" alone does not say whether the subject is still there (an unknown one is refused).
                    cli.spec
                            .commandLine()
                            .getErr()
                            .println(
                                    lethe.privacy().keys().isForgotten(filter)
                                            ? "note: subject " + filter + " is forgotten, but this store holds no"
                                                    + " receipt for it (forgotten in another copy of the store?)"
                                            : "note: subject " + filter + " is not forgotten");
                }
            }
            return 0;
        }
    }

    /**
     * Prints a listing: one JSON object per line with {@code json}, else one line each on standard output
     * and their count, as "N {@code noun}s", on standard error.
     */
    private static <T> void list(
            LetheCli cli,
            List<T> items,
            boolean json,
            java.util.function.Function<T, Map<String, Object>> asMap,
            java.util.function.Function<T, String> line,
            String noun) {
        PrintWriter out = cli.spec.commandLine().getOut();
        for (T item : items) {
            out.println(json ? PriorForgets.JSON.valueToTree(asMap.apply(item)).toString() : line.apply(item));
        }
        if (!json) {
            cli.spec.commandLine().getErr().printf("%d %s%s%n", items.size(), noun, items.size() == 1 ? "" : "s");
        }
    }

    @Command(
            name = "scheduled",
            description = {
                "The forgets scheduled (--at) and still to be carried out, soonest due first: not cancelled, their subject"
                        + " not yet forgotten. Needs a role with the forget permission.",
                "  lethe subject scheduled --role dpo"
            })
    static final class Scheduled implements Callable<Integer> {
        @ParentCommand
        SubjectCommand subject;

        @Option(names = "--subject", paramLabel = "SUBJECT", description = "Only this subject's scheduled forgets.")
        String only;

        @Option(names = "--json", description = "One JSON object per line, every field of the schedule.")
        boolean json;

        @Override
        public Integer call() {
            LetheCli cli = subject.parent;
            SubjectId filter = only == null ? null : SubjectId.parse(only);
            try (SqliteLethe lethe =
                    cli.store.openForQuerying(cli.spec.commandLine().getErr())) {
                list(
                        cli,
                        lethe.privacy().scheduledForgets(filter, cli.store.principal()),
                        json,
                        dev.lethe.core.privacy.PrivateEventStore.ScheduledForget::asMap,
                        schedule -> String.format(
                                "forget at %s  schedule %s  subject %s  by %s  legal basis %s",
                                schedule.at(),
                                schedule.id(),
                                schedule.subject(),
                                printable(schedule.actor()),
                                printable(schedule.legalBasis())),
                        "scheduled forget");
            }
            return 0;
        }
    }

    @Command(
            name = "cancel-forget",
            description = {
                "Cancel a scheduled forget before it is carried out (the schedule id is printed by `subject forget"
                        + " --at` and listed by `subject scheduled`). Audited as ForgetCancelled; with a receipt"
                        + " journal, journaled too, so that a restored data directory does not schedule it again."
                        + " Needs a role with the forget permission.",
                "  lethe subject cancel-forget 7c1e… --reason 'contract extended' --role dpo"
            })
    static final class CancelForget implements Callable<Integer> {
        @ParentCommand
        SubjectCommand subject;

        @Parameters(paramLabel = "SCHEDULE", description = "The schedule id (a UUID).")
        String id;

        @Option(names = "--reason", required = true, paramLabel = "TEXT", description = "Why (no personal data).")
        String reason;

        @Override
        public Integer call() {
            LetheCli cli = subject.parent;
            try (SqliteLethe lethe = cli.store.openExisting()) {
                var cancel = lethe.privacy().cancelScheduledForget(id, reason, cli.store.principal());
                cli.spec
                        .commandLine()
                        .getOut()
                        .printf(
                                "cancelled: the forget of subject %s (schedule %s)%n",
                                cancel.subject(), cancel.scheduleId());
            }
            return 0;
        }
    }

    @Command(
            name = "forget-again",
            description = {
                "After a restore: forget again every subject that FILE says another copy of this store forgot.",
                "A data directory restored from a backup knows none of the forgets made after the backup was taken;"
                        + " its subjects' keys are back (unless the policy names a receipt journal, which its first"
                        + " open reads). FILE holds the forgets, one JSON value per line or a JSON array: best, all"
                        + " the receipts of the store the backup replaces (`lethe subject receipts --json`, GET"
                        + " /v1/receipts), kept apart from the backups; or its audit trail's entries written since"
                        + " the backup (`lethe read '$audit' --json --from V --limit 10000`, page by page: without"
                        + " --limit it reads only 100; GET /v1/audit gives the newest entries only): its"
                        + " SubjectForgotten entries count, other entries are skipped, and the versions read are"
                        + " printed; or a receipt journal (its lines of other stores are left out). Each"
                        + " subject that still has a key here is forgotten with the prior forget's legal basis and"
                        + " audited as SubjectForgotten (reapplied, originalReceipt). Forgets scheduled for later"
                        + " (--at) are scheduled again from the journal's schedule lines and the audit trail's"
                        + " ForgetScheduled entries (receipts do not hold them), unless this store holds them, the"
                        + " subject is forgotten or unknown here, or the file cancels them (cancel lines,"
                        + " ForgetCancelled entries, which also cancel schedules held here). The whole file is read and"
                        + " checked before anything is forgotten. Needs a role with the forget permission.",
                "  lethe subject forget-again receipts.jsonl --role dpo"
            })
    static final class ForgetAgain implements Callable<Integer> {
        @ParentCommand
        SubjectCommand subject;

        @Parameters(
                paramLabel = "FILE",
                description = "The receipts, audit entries or receipt-journal lines, or - for standard input.")
        String file;

        @Override
        public Integer call() throws java.io.IOException {
            LetheCli cli = subject.parent;
            PrintWriter out = cli.spec.commandLine().getOut();
            PriorForgets.Read read;
            if ("-".equals(file)) {
                read = PriorForgets.read(
                        new java.io.InputStreamReader(System.in, java.nio.charset.StandardCharsets.UTF_8), "stdin");
            } else {
                Path path = Path.of(file);
                if (!Files.isRegularFile(path)) {
                    throw InvalidEventException.of("FILE", file + " is not a file that can be read");
                }
                try (java.io.Reader reader = Files.newBufferedReader(path, java.nio.charset.StandardCharsets.UTF_8)) {
                    read = PriorForgets.read(reader, file);
                }
            }
            int exit = 0;
            try (SqliteLethe lethe = cli.store.openExisting()) {
                List<dev.lethe.core.privacy.PrivateEventStore.PriorForget> forgets = read.forgetsOf(lethe.storeId());
                List<dev.lethe.core.privacy.PrivateEventStore.ScheduledForget> schedules =
                        read.schedulesOf(lethe.storeId());
                List<dev.lethe.core.privacy.PrivateEventStore.CancelledForget> cancels =
                        read.cancelsOf(lethe.storeId());
                int leftOut = read.entries().size() - forgets.size() - schedules.size() - cancels.size();
                // Forgets another store id made of subjects that still have a key here: subject ids are random,
                // so these are this store's subjects under another id (a copy upgraded on its own from a release
                // before store ids; a copy given an id of its own), or a mistake. Never skipped in silence.
                long stillHere = read.entries().stream()
                        .filter(e -> e.forget() != null && !e.madeIn(lethe.storeId()))
                        .map(e -> e.forget().subject())
                        .distinct()
                        .filter(s -> lethe.privacy().keys().isKnown(s)
                                && !lethe.privacy().keys().isForgotten(s))
                        .count();
                if (leftOut > 0) {
                    cli.spec
                            .commandLine()
                            .getErr()
                            .printf(
                                    "left out %d line%s (receipts, receipt-journal lines) made in other stores%n",
                                    leftOut, leftOut == 1 ? "" : "s");
                }
                if (stillHere > 0) {
                    cli.spec
                            .commandLine()
                            .getErr()
                            .printf(
                                    "WARNING: %d subject%s forgotten by those lines still ha%s a key here: they are"
                                            + " this store's subjects under another store id (lethe stats shows this"
                                            + " one's), left as they are. If FILE comes from the store this directory replaces,"
                                            + " give its $audit entries instead (lethe read '$audit' --json, which"
                                            + " names no store) or forget them one by one%n",
                                    stillHere, stillHere == 1 ? "" : "s", stillHere == 1 ? "s" : "ve");
                    exit = 1; // the rest is applied; a script must not read this run as complete
                }
                var done = lethe.privacy().forgetAgain(forgets, schedules, cancels, cli.store.principal());
                for (ErasureReceipt receipt : done.forgotten()) {
                    out.printf("forgotten again: subject %s  receipt %s%n", receipt.subject(), receipt.id());
                }
                for (var schedule : done.rescheduled()) {
                    out.printf(
                            "scheduled again: subject %s  forget at %s  schedule %s%n",
                            schedule.subject(), schedule.at(), schedule.id());
                }
                for (var cancel : done.cancelledAgain()) {
                    out.printf("cancelled again: schedule %s  subject %s%n", cancel.scheduleId(), cancel.subject());
                }
                if (read.firstVersion() >= 0) {
                    cli.spec
                            .commandLine()
                            .getErr()
                            .printf(
                                    "read $audit entries of versions %d to %d: forgets audited after version %d are"
                                            + " not in %s%n",
                                    read.firstVersion(), read.lastVersion(), read.lastVersion(), file);
                }
                out.printf(
                        "%d subject%s forgotten again; %d already forgotten here; %d without a key here (created after"
                                + " the backup was taken, or lost: `lethe keys check` tells); %d other entr%s skipped%n",
                        done.forgotten().size(),
                        done.forgotten().size() == 1 ? "" : "s",
                        done.alreadyForgotten().size(),
                        done.withoutKey().size(),
                        read.skipped(),
                        read.skipped() == 1 ? "y" : "ies");
                if (!schedules.isEmpty() || read.unscheduled() > 0) {
                    out.printf(
                            "%d scheduled forget%s scheduled again; %d left: held here already, cancelled, or moot (the"
                                    + " subject is forgotten or unknown here)%n",
                            done.rescheduled().size(), done.rescheduled().size() == 1 ? "" : "s", done.schedulesLeft());
                }
                if (!cancels.isEmpty()) {
                    out.printf(
                            "%d cancellation%s of a scheduled forget applied again; %d held here already or not"
                                    + " applicable%n",
                            done.cancelledAgain().size(),
                            done.cancelledAgain().size() == 1 ? "" : "s",
                            cancels.size() - done.cancelledAgain().size());
                }
                if (read.unscheduled() > 0) {
                    cli.spec
                            .commandLine()
                            .getErr()
                            .printf(
                                    "%d ForgetScheduled entr%s written before Lethe recorded a schedule's id and legal"
                                            + " basis: schedule %s again by hand (lethe subject forget SUBJECT --at ...)%n",
                                    read.unscheduled(),
                                    read.unscheduled() == 1 ? "y" : "ies",
                                    read.unscheduled() == 1 ? "it" : "them");
                }
            }
            return exit;
        }
    }

    /**
     * Free text (a legal basis, an actor) as one line of a listing: control characters and line or
     * paragraph separators escaped, so that no value can print as a line of its own.
     */
    static String printable(String text) {
        StringBuilder out = new StringBuilder(text.length());
        text.codePoints().forEach(c -> {
            if (Character.isISOControl(c) || c == 0x2028 || c == 0x2029) {
                out.append(String.format("\\u%04x", c));
            } else {
                out.appendCodePoint(c);
            }
        });
        return out.toString();
    }

    private static Path realOrNormal(Path path) {
        try {
            return path.toRealPath();
        } catch (java.io.IOException e) {
            return path.toAbsolutePath().normalize();
        }
    }

    /**
     * {@code out} as a writer that fails when it cannot write: a PrintWriter swallows errors, and an export
     * to a full disk or a closed pipe would read as handed over (exit 0, {@code SubjectExported} audited).
     */
    static java.io.Writer failing(PrintWriter out) {
        return new java.io.Writer() {
            @Override
            public void write(char[] chars, int offset, int length) throws java.io.IOException {
                out.write(chars, offset, length);
                if (out.checkError()) {
                    throw new java.io.IOException("standard output is closed or full");
                }
            }

            @Override
            public void flush() throws java.io.IOException {
                if (out.checkError()) { // checkError flushes
                    throw new java.io.IOException("standard output is closed or full");
                }
            }

            @Override
            public void close() throws java.io.IOException {
                flush();
            }
        };
    }

    /**
     * Creates {@code file}, new (not through a link), readable and writable by its owner only (where the file
     * system says so), and opens it for writing, once.
     */
    static java.nio.channels.FileChannel createOwnerOnly(java.nio.file.Path file) throws java.io.IOException {
        java.util.Set<java.nio.file.OpenOption> options = java.util.Set.of(
                java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE,
                java.nio.file.LinkOption.NOFOLLOW_LINKS);
        if (file.toAbsolutePath().getFileSystem().supportedFileAttributeViews().contains("posix")) {
            return java.nio.channels.FileChannel.open(
                    file,
                    options,
                    java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                            java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
        }
        return java.nio.channels.FileChannel.open(file, options);
    }

    /**
     * Deletes {@code file} if it is still the file created ({@code created}: its file key; null where the file
     * system has none, then deleted by name): not another put in its place meanwhile. Whether it deleted it.
     */
    private static boolean deleteIfSame(java.nio.file.Path file, Object created) {
        try {
            Object now = Files.readAttributes(
                            file,
                            java.nio.file.attribute.BasicFileAttributes.class,
                            java.nio.file.LinkOption.NOFOLLOW_LINKS)
                    .fileKey();
            return (created == null || created.equals(now)) && Files.deleteIfExists(file);
        } catch (java.io.IOException | RuntimeException gone) {
            return false;
        }
    }

    @Command(
            name = "lookup",
            description = "The subject id a natural key maps to, without creating one: the value of an event type's key"
                    + " field (a customer number; an e-mail address only where that is the key field).")
    static final class Lookup implements Callable<Integer> {
        @ParentCommand
        SubjectCommand subject;

        @Parameters(
                paramLabel = "NATURAL-KEY",
                description =
                        "The natural key (the value of a key field: a customer number, say), or - to read it from the"
                                + " first line of standard input, which keeps it out of the process list and the shell history.")
        String naturalKey;

        @Override
        public Integer call() {
            LetheCli cli = subject.parent;
            // The writer's open: a lookup is audited (SubjectLookedUp), which a read-only open cannot record.
            try (SqliteLethe lethe = cli.store.openExisting()) {
                // Whether a person is a customer is itself personal data: the lookup takes the export permission.
                if (!lethe.policy()
                        .may(cli.store.principal(), dev.lethe.core.privacy.policy.DataPolicy.Permission.EXPORT)) {
                    throw new dev.lethe.core.privacy.AccessDeniedException(
                            cli.store.principal(), "export (look up a subject)");
                }
                String key = naturalKey;
                if ("-".equals(key)) {
                    try {
                        java.io.BufferedReader in = new java.io.BufferedReader(
                                new java.io.InputStreamReader(System.in, java.nio.charset.StandardCharsets.UTF_8));
                        key = in.readLine();
                        // What came with it (a file, a pipe written at once), not waiting for more: typed at a
                        // terminal, Enter ends it.
                        String more;
                        while (in.ready() && (more = in.readLine()) != null) {
                            if (!more.isEmpty()) {
                                // Not the first key looked up and the others dropped without a word.
                                throw InvalidEventException.of(
                                        "natural key",
                                        "standard input holds more than one line; 'lookup -' reads one natural key");
                            }
                        }
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException("cannot read the natural key from standard input", e);
                    }
                    if (key != null && key.startsWith("\uFEFF")) {
                        key = key.substring(1); // a byte-order mark some editors write
                    }
                    if (key == null || key.isEmpty()) {
                        throw InvalidEventException.of("natural key", "standard input held none");
                    }
                }
                var found = lethe.privacy().lookup(key, cli.store.principal());
                if (found.isEmpty()) {
                    throw InvalidEventException.of(
                            "natural key",
                            "maps to no subject (never seen, or forgotten; natural keys match exactly, case, spaces"
                                    + " and punctuation included: look it up as it was appended"
                                    + lethe.privacy().schemas().keyFieldsHint() + ")"
                                    + dev.lethe.core.privacy.PrivacyCodec.numberLookupHint(key));
                }
                cli.spec.commandLine().getOut().println(found.get());
                if (lethe.privacy().keys().isForgotten(found.get())) {
                    cli.spec
                            .commandLine()
                            .getErr()
                            .println("note: subject " + found.get() + " was forgotten ('subject receipts --subject "
                                    + found.get() + "' shows when and why)");
                }
            }
            return 0;
        }
    }
}
