package dev.lethe.server.cli;

import dev.lethe.core.privacy.PrivateEventStore;
import dev.lethe.core.store.AppendResult;
import dev.lethe.core.store.Direction;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.EventStore;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.RecordedEvent;
import dev.lethe.core.store.StreamId;
import dev.lethe.sqlite.SqliteLethe;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * Loads JSON lines that each name their stream, in file order: consecutive lines of one stream are
 * appended as one batch. The file is read as it goes, never whole. An import is not one transaction: when
 * a line or a batch is refused, everything before it is stored and nothing after, and the error says the
 * line to go on from ({@code --from-line}).
 */
@Command(
        name = "import",
        description = {
            "Append events to many streams from JSON lines, in file order: one"
                    + " {\"stream\",\"type\",\"data\",\"metadata\"?,\"id\"?} per line.",
            "Consecutive lines of one stream are appended as one batch (stored whole or not at all); the import"
                    + " as a whole is not: when a line is refused, the batches before its own are stored, and the"
                    + " error names the line to go on from with --from-line (also when the import is interrupted)."
                    + " Lines with an id are idempotent: importing them again stores nothing twice (and changes"
                    + " nothing: a line whose id is stored is skipped, even if its content was corrected); a line"
                    + " that repeats an earlier line of the file (sent twice: same id, stream and event) is skipped"
                    + " too, and one whose id an earlier line of the file gives another event or stream is refused"
                    + " (lines before --from-line, and ids after the first 250,000, are not compared).",
            "--dry-run checks every line as the import would and stores nothing: it lists the lines an import"
                    + " would refuse (all of them, not only the first) and the members it would store unencrypted"
                    + " though they look personal.",
            "Examples:   lethe import history.jsonl",
            "            lethe import --dry-run history.jsonl",
            "            zcat history.jsonl.gz | lethe import -"
        })
final class ImportCommand implements Callable<Integer> {
    /** How a batch's refusal names its event: "events[3] ProductSold data". */
    private static final java.util.regex.Pattern EVENT_INDEX =
            java.util.regex.Pattern.compile("events\\[(\\d+)\\](.*)");

    /** A longer line cannot be one event: the file is not what it should be. */
    private static final int MAX_LINE_BYTES = 8 * 1024 * 1024;

    private static final java.nio.charset.Charset UTF8 = StandardCharsets.UTF_8;

    @ParentCommand
    LetheCli parent;

    @Parameters(
            index = "0",
            paramLabel = "FILE",
            description = "JSON lines, one event each; - reads them from standard input.")
    Path file;

    @Option(
            names = "--batch",
            paramLabel = "N",
            defaultValue = "1000",
            description = "Most events in one batch (one durable commit) of a stream: 1 to "
                    + EventStore.MAX_BATCH_EVENTS + " (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(
            names = "--from-line",
            paramLabel = "N",
            defaultValue = "1",
            description = "Skip the lines before line N (the first line is 1): to go on after a stopped import.")
    long fromLine;

    @Option(
            names = "--dry-run",
            description = "Store nothing: check every line as the import would (JSON, stream id, type, the"
                    + " schema and strict mode, personal fields, forgotten subjects, size) against this store's"
                    + " schemas and policy, list the lines it would refuse (the first " + DRY_RUN_LISTED
                    + ") and the members it would store unencrypted though they look personal. Exit code 2 if a"
                    + " line would be refused. Reads the store read-only: runs beside a running server.")
    boolean dryRun;

    @Option(
            names = "--json",
            description = "Print the outcome as one JSON object on standard output, for scripts (instead of the"
                    + " text summary; progress and errors stay on standard error):"
                    + " {\"complete\": true, \"file\", \"stored\", \"alreadyStored\", \"withoutId\", \"batches\","
                    + " \"firstLine\", \"lastLine\" (the last line read), \"seconds\", \"streamsOfForgottenSubjects\"};"
                    + " when a line is"
                    + " refused or the import is interrupted, {\"complete\": false, …, \"resumeFromLine\", \"goOn\","
                    + " \"error\"} (the exit code is the usual one; goOn is null when it stopped before reading a"
                    + " line: a missing file, a store in use, a bad option value). A command line picocli cannot"
                    + " parse (an unknown option) prints its usage instead, exit code 2. Not with --dry-run.")
    boolean json;

    /** The refused lines a dry run lists; it counts them all. */
    static final int DRY_RUN_LISTED = 100;

    /** Whether --json's object was printed: a failure before the loader ran prints one of its own. */
    private boolean outcomePrinted;

    @Override
    public Integer call() {
        try {
            return importFile();
        } catch (RuntimeException e) {
            if (json && !dryRun && !outcomePrinted) {
                // A script reads one object whatever happened: a missing file, a store in use, bad options.
                java.util.Map<String, Object> result = new java.util.LinkedHashMap<>();
                result.put("complete", false);
                result.put("file", "-".equals(file.toString()) ? "standard input" : file.toString());
                result.put("stored", 0);
                result.put("alreadyStored", 0);
                result.put("withoutId", 0);
                result.put("batches", 0);
                result.put("firstLine", null);
                result.put("lastLine", null);
                result.put("seconds", 0.0);
                result.put("streamsOfForgottenSubjects", 0);
                result.put("resumeFromLine", null); // nothing ran: the error says what to change first
                result.put("goOn", null);
                result.put("error", String.valueOf(e.getMessage()));
                PrintWriter out = parent.spec.commandLine().getOut();
                out.println(PriorForgets.JSON.valueToTree(result).toString());
                out.flush();
            }
            throw e;
        }
    }

    private int importFile() {
        if (batch < 1 || batch > EventStore.MAX_BATCH_EVENTS) {
            throw InvalidEventException.of(
                    "--batch", batch + " is out of range: give 1 to " + EventStore.MAX_BATCH_EVENTS + " events");
        }
        if (fromLine < 1) {
            throw InvalidEventException.of("--from-line", fromLine + " is out of range: the first line is 1");
        }
        if (json && dryRun) {
            throw InvalidEventException.of("--json", "goes with an import, not with --dry-run (its report is text)");
        }
        boolean stdin = "-".equals(file.toString());
        String name = stdin ? "standard input" : file.toString();
        if (!stdin && !Files.isRegularFile(file)) {
            throw InvalidEventException.of(
                    "FILE", file + (Files.exists(file) ? " is not a regular file" : " does not exist"));
        }
        PrintWriter out = parent.spec.commandLine().getOut();
        PrintWriter err = parent.spec.commandLine().getErr();
        try (InputStream in = stdin ? System.in : Files.newInputStream(file);
                SqliteLethe lethe = dryRun ? parent.store.openForChecking(err) : parent.store.openForWriting()) {
            Loader loader = new Loader(lethe, name, err);
            if (dryRun) {
                loader.load(new BufferedInputStream(in, 1 << 16));
                return loader.finishDryRun(out);
            }
            // Ctrl-C or a kill (not -9): say where things stand, as a refused line does.
            Thread interrupted = new Thread(loader::interrupted, "lethe-import-interrupted");
            Runtime.getRuntime().addShutdownHook(interrupted);
            try {
                loader.load(new BufferedInputStream(in, 1 << 16));
                loader.finished = true;
            } catch (Loader.Stopping stopping) {
                return 130; // the hook tells where things stand; the JVM is exiting
            } catch (RuntimeException e) {
                loader.stopped();
                if (json) {
                    out.println(loader.outcome(false, String.valueOf(e.getMessage())));
                    out.flush();
                    outcomePrinted = true;
                }
                throw e;
            } finally {
                loader.halted.countDown();
                try {
                    Runtime.getRuntime().removeShutdownHook(interrupted);
                } catch (IllegalStateException shuttingDown) {
                    // the hook runs, or has run
                }
            }
            if (json) {
                loader.endProgress();
                out.println(loader.outcome(true, null));
                outcomePrinted = true;
            } else {
                loader.finish(out);
            }
        } catch (IOException e) { // opening or closing the file
            throw InvalidEventException.of(
                    "FILE", "cannot read " + name + ": " + dev.lethe.server.IoErrors.describe(e));
        }
        return 0;
    }

    private String goOn(long line) {
        boolean stdin = "-".equals(file.toString());
        // Absolute, and after "--": the command may be run from elsewhere, and a name may start with a dash.
        return "lethe" + parent.store.commandOptions() + " import" + (batch == 1000 ? "" : " --batch " + batch)
                + " --from-line " + line + " -- "
                + (stdin
                        ? "-   (with the same input on standard input again)"
                        : Store.quoted(file.toAbsolutePath().normalize().toString()));
    }

    /** The import's state: the batch being gathered, what is stored, and where to go on from. */
    private final class Loader {
        private final SqliteLethe lethe;
        private final String name;
        private final PrintWriter err;
        private final long started = System.nanoTime();
        private long lastProgress = started;

        private final List<EventData> pending = new ArrayList<>();
        /** The line of each pending event. */
        private final List<Long> pendingLines = new ArrayList<>();
        /** A line read with an id: its number, a checksum of its event, and its stream. */
        private record SeenLine(long line, long checksum, StreamId stream) {}

        /** The ids of the lines read (the first 250,000), for lines that repeat one. */
        private final java.util.Map<java.util.UUID, SeenLine> seenIds = new java.util.HashMap<>();

        /** The stream of the last line read: one instance for the entries of a run of its lines. */
        private StreamId lastStream;
        /** The lines of the append under way (0: none), for the message of one that fails. */
        private volatile long attemptFirst;

        private volatile long attemptLast;
        private StreamId pendingStream;

        private final java.io.ByteArrayOutputStream lineBytes = new java.io.ByteArrayOutputStream(4096);
        private long lineNumber;
        /** The first line not yet stored (nor skipped as blank): where a stopped import goes on from. */
        private volatile long resumeLine;

        private long stored;
        private long retried;
        private long batches;
        private long withoutId;
        private long firstLine = -1;
        private long lastLine = -1;

        Loader(SqliteLethe lethe, String name, PrintWriter err) {
            this.lethe = lethe;
            this.name = name;
            this.err = err;
            this.resumeLine = fromLine;
        }

        /** The outcome for {@code --json}: what is stored, and, when it stopped, where to go on from. */
        String outcome(boolean complete, String error) {
            java.util.Map<String, Object> result = new java.util.LinkedHashMap<>();
            result.put("complete", complete);
            result.put("file", name);
            result.put("stored", stored);
            result.put("alreadyStored", retried);
            result.put("withoutId", withoutId);
            result.put("batches", batches);
            result.put("firstLine", firstLine < 0 ? null : firstLine);
            result.put("lastLine", lastLine < 0 ? null : lastLine);
            result.put("seconds", Math.round((System.nanoTime() - started) / 1e6) / 1e3);
            result.put("streamsOfForgottenSubjects", toStreamsOfForgotten);
            if (!complete) {
                result.put("resumeFromLine", resumeLine);
                result.put("goOn", goOn(resumeLine));
                result.put("error", error);
            }
            return PriorForgets.JSON.valueToTree(result).toString();
        }

        void load(InputStream in) {
            String line;
            while ((line = next(in)) != null) {
                if (lineNumber == 1 && line.startsWith("\uFEFF")) { // a byte-order mark some editors write
                    line = line.substring(1);
                }
                if (lineNumber < fromLine) {
                    continue;
                }
                if (line.isBlank()) {
                    if (pending.isEmpty()) {
                        resumeLine = lineNumber + 1;
                    }
                    continue;
                }
                EventLines.Line parsed;
                try {
                    parsed = EventLines.parse(line, name + " line " + lineNumber, true);
                } catch (InvalidEventException e) {
                    if (dryRun) {
                        flush(); // the lines before it first: refusals are listed in line order
                        refuse(e.getMessage());
                        continue;
                    }
                    // Not stored: the lines of the batch this line may belong to (its stream is unknown) wait with it,
                    // so that a batch is stored whole or not at all, as when the store refuses a line of it; go on
                    // from its first.
                    throw e;
                }
                StreamId stream = parsed.stream().equals(lastStream) ? lastStream : parsed.stream();
                lastStream = stream;
                // A line that repeats an earlier line of the file, id and event (a line sent twice), is a batch of
                // its own: the store answers it as the retry of the first, and it is skipped as stored, wherever
                // --batch puts the bounds. The same id on another event, or in another stream, is refused.
                SeenLine first = parsed.event().clientId().map(seenIds::get).orElse(null);
                boolean repeated = first != null;
                if (repeated
                        && (first.checksum() != checksum(parsed.event())
                                || !first.stream().equals(stream))) {
                    InvalidEventException refused = InvalidEventException.of(
                            name + " line " + lineNumber + " id",
                            parsed.event().id() + " is also the id of line " + first.line()
                                    + (first.stream().equals(stream) ? ", whose event differs" : ", in another stream")
                                    + ": an id names one event, in one stream (give this one an id of its own, or drop"
                                    + " one of the lines)");
                    if (dryRun) {
                        flush();
                        refuse(refused.getMessage());
                        continue;
                    }
                    if (!stream.equals(pendingStream)) {
                        flush(); // another stream's batch, whole
                    }
                    throw refused; // its stream's pending lines wait with it, as for a line that cannot be read
                }
                if (!parsed.stream().equals(pendingStream) || repeated) {
                    flush();
                    pendingStream = stream;
                }
                pending.add(parsed.event());
                pendingLines.add(lineNumber);
                if (seenIds.size() < MAX_IDS_COMPARED && !repeated) {
                    long at = lineNumber;
                    parsed.event()
                            .clientId()
                            .ifPresent(id -> seenIds.put(id, new SeenLine(at, checksum(parsed.event()), stream)));
                }
                if (parsed.event().clientId().isEmpty()) {
                    withoutId++;
                }
                if (firstLine < 0) {
                    firstLine = lineNumber;
                }
                lastLine = lineNumber;
                if (pending.size() == batch || repeated) {
                    flush(); // whole: stored now, whatever the next line holds
                }
            }
            flush();
        }

        /**
         * The next line (counted in {@link #lineNumber}), without its line break, or null at the end. A line
         * that is not UTF-8 (a Latin-1 export, say) is refused, not read with replacement characters.
         */
        private String next(InputStream in) {
            lineBytes.reset();
            // A line before --from-line is only counted: whatever it holds (too long, not UTF-8) is not read.
            boolean skipped = lineNumber + 1 < fromLine;
            boolean tooLong = false; // in a dry run, read to its end and said
            boolean any = false;
            try {
                int b;
                while ((b = in.read()) != -1 && b != '\n') {
                    any = true;
                    if (skipped || tooLong) {
                        continue;
                    }
                    if (lineBytes.size() == MAX_LINE_BYTES) {
                        if (dryRun) {
                            tooLong = true;
                            continue;
                        }
                        throw InvalidEventException.of(
                                name + " line " + (lineNumber + 1),
                                "is longer than " + MAX_LINE_BYTES / (1024 * 1024) + " MiB (an event holds at most"
                                        + " 1 MiB); is this a JSON lines file?");
                    }
                    lineBytes.write(b);
                }
                if (b == -1 && !any) {
                    return null;
                }
            } catch (IOException e) {
                throw InvalidEventException.of(
                        name + " line " + (lineNumber + 1), "cannot be read: " + dev.lethe.server.IoErrors.describe(e));
            }
            lineNumber++;
            if (skipped) {
                return "";
            }
            if (tooLong) {
                flush();
                refuse(name + " line " + lineNumber + ": is longer than " + MAX_LINE_BYTES / (1024 * 1024)
                        + " MiB (an event holds at most 1 MiB); is this a JSON lines file?");
                return "";
            }
            byte[] bytes = lineBytes.toByteArray();
            int length = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
            try {
                return UTF8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(java.nio.ByteBuffer.wrap(bytes, 0, length))
                        .toString();
            } catch (java.nio.charset.CharacterCodingException e) {
                if (dryRun) {
                    flush();
                    refuse(name + " line " + lineNumber + ": is not UTF-8 text (convert the file, e.g. with iconv)");
                    return "";
                }
                throw InvalidEventException.of(
                        name + " line " + lineNumber, "is not UTF-8 text (convert the file, e.g. with iconv)");
            }
        }

        /** Streams whose last event was a forgotten subject's and that got new lines: warned, once each. */
        private long toStreamsOfForgotten;

        private final java.util.Set<StreamId> warnedStreams = new java.util.HashSet<>();

        /**
         * Whether the pending batch goes to a stream whose last event names a forgotten subject, not warned of
         * yet: a replay of a forgotten person's records (a re-sent feed, a file made before the forget) would
         * store their natural key again, as a new subject the forget does not reach.
         */
        private boolean toStreamOfForgottenSubject() {
            if (pendingStream.value().startsWith("$") || warnedStreams.contains(pendingStream)) {
                return false;
            }
            List<dev.lethe.core.store.RecordedEvent> last =
                    lethe.store().readStream(pendingStream, Long.MAX_VALUE, Direction.BACKWARD, 1);
            return !last.isEmpty()
                    && dev.lethe.core.privacy.PrivacyCodec.subjectsOf(
                                    last.get(0).metadata())
                            .values()
                            .stream()
                            .anyMatch(lethe.privacy().keys()::isForgotten);
        }

        /** Warns of the pending batch, which stored (or would store) lines in such a stream; never names it. */
        private void warnOfForgottenSubject() {
            if (warnedStreams.size() < MAX_IDS_COMPARED) {
                warnedStreams.add(pendingStream);
            }
            if (toStreamsOfForgotten++ < DRY_RUN_LISTED) {
                if (lastProgress != started) {
                    err.println(); // below the progress line
                }
                err.printf(
                        "warning: %s line%s %s %s to a stream whose last event is a forgotten subject's: a natural key"
                                + " in %s becomes a new subject, which that forget does not reach. If this replays the"
                                + " forgotten person's records (a feed sent again, a file from before the forget),"
                                + " stop and remove them (docs/privacy.md §7)%n",
                        name,
                        pending.size() == 1 ? "" : "s",
                        pending.size() == 1 ? pendingLines.get(0) : pendingLines.get(0) + ".." + lastLine,
                        dryRun ? "would append" : "append" + (pending.size() == 1 ? "s" : ""),
                        pending.size() == 1 ? "it" : "them");
                err.flush();
            }
        }

        /**
         * A checksum of an event's type, data and metadata as JSON values (member order and spacing aside: a
         * feed serialised again is the same event): two lines with one id hold the same event, or not.
         */
        private static long checksum(EventData event) {
            return ((long) event.type().hashCode() << 32)
                    ^ (31L * event.data().asTree().hashCode()
                            + event.metadata().asTree().hashCode());
        }

        /** Appends the gathered batch, if any (expected version: any). */
        private void flush() {
            if (pending.isEmpty()) {
                return;
            }
            boolean ofForgotten = toStreamOfForgottenSubject();
            long storedBefore = stored;
            try {
                if (dryRun) {
                    checkBatch();
                } else {
                    appendBatch(pending, pendingLines.get(0), lastLine);
                }
            } catch (dev.lethe.core.store.DuplicateEventException e) {
                appendAfterStoredPart(e);
            }
            if (ofForgotten && stored > storedBefore) { // not for a batch stored before (a re-run), nor refused
                warnOfForgottenSubject();
            }
            batches++;
            pending.clear();
            pendingLines.clear();
            pendingStream = null;
            resumeLine = lastLine + 1;
            long now = System.nanoTime();
            if (now - lastProgress > 1_000_000_000L) {
                lastProgress = now;
                err.printf(
                        "\r%s %s: line %,d, %,d events %s, %,.0f events/s   ",
                        dryRun ? "checking" : "importing",
                        name,
                        lineNumber,
                        stored,
                        dryRun ? "would be stored" : "stored",
                        stored / Math.max(1e-3, (now - started) / 1e9));
                err.flush();
            }
        }

        /**
         * The pending batch was refused for an id already stored. When its first events are the last ones
         * this stream holds (an import stopped after storing them, run again or resumed with other batch
         * bounds), they are counted as stored and the rest is appended as one batch. Otherwise (an id stored
         * in another stream, or at another place), the batch is refused whole, naming the line.
         */
        private void appendAfterStoredPart(dev.lethe.core.store.DuplicateEventException refused) {
            attemptFirst = 0;
            int storedPart = storedPart(refused);
            for (int i = 0; i < storedPart; i++) {
                retried++;
                resumeLine = pendingLines.get(i) + 1;
            }
            if (storedPart < pending.size()) {
                List<Long> restLines = pendingLines.subList(storedPart, pendingLines.size());
                try {
                    appendBatch(
                            List.copyOf(pending.subList(storedPart, pending.size())),
                            restLines.get(0),
                            restLines.get(restLines.size() - 1),
                            List.copyOf(restLines));
                } catch (dev.lethe.core.store.DuplicateEventException elsewhere) {
                    throw withLine(elsewhere);
                }
            }
        }

        /**
         * How many first events of the pending batch, refused for an id already stored, are the last ones its
         * stream holds (an import stopped after storing them, run again): skipped as stored, the rest appended.
         *
         * @throws InvalidEventException naming the line, when the batch is refused whole
         */
        private int storedPart(dev.lethe.core.store.DuplicateEventException refused) {
            List<RecordedEvent> tail =
                    lethe.store().readStream(pendingStream, Long.MAX_VALUE, Direction.BACKWARD, pending.size());
            java.util.Set<java.util.UUID> stored = new java.util.HashSet<>();
            tail.forEach(event -> stored.add(event.id()));
            int storedPart = 0;
            for (int i = 0; i < pending.size(); i++) {
                if (pending.get(i).clientId().filter(stored::contains).isPresent()) {
                    storedPart = i + 1;
                }
            }
            if (storedPart == 0) {
                throw withLine(refused);
            }
            // The stored part must be where the stream ends: else lines after it (without ids) may be stored too.
            java.util.UUID lastStored = pending.get(storedPart - 1).clientId().get();
            if (!tail.get(0).id().equals(lastStored)) {
                for (int i = storedPart; i < pending.size(); i++) {
                    if (pending.get(i).clientId().isEmpty()) {
                        throw noIdAmongStored(pendingLines.get(i));
                    }
                }
                throw withLine(refused);
            }
            for (int i = 0; i < storedPart; i++) {
                if (pending.get(i).clientId().isEmpty()) {
                    // Between events stored before: it may have been stored with them, and appending it
                    // could store it twice.
                    throw noIdAmongStored(pendingLines.get(i));
                }
                if (!stored.contains(pending.get(i).clientId().get())) {
                    throw withLine(refused);
                }
            }
            return storedPart;
        }

        private InvalidEventException noIdAmongStored(long line) {
            return InvalidEventException.of(
                    name + " line " + line,
                    "has no id, among lines of its batch stored before (a run again of a stopped import?): whether"
                            + " it is stored too cannot be told. Look at the stream; go on with --from-line " + line
                            + " if it is not stored, " + (line + 1) + " if it is (give every line an id to make a"
                            + " run again safe)");
        }

        /** A duplicate id's refusal, saying which line holds the id. */
        private InvalidEventException withLine(dev.lethe.core.store.DuplicateEventException refused) {
            for (int i = 0; i < pending.size(); i++) {
                if (pending.get(i).clientId().filter(refused.eventId()::equals).isPresent()) {
                    return InvalidEventException.of(name + " line " + pendingLines.get(i), refused.getMessage());
                }
            }
            return InvalidEventException.of(
                    name + " lines " + pendingLines.get(0) + ".." + lastLine, refused.getMessage());
        }

        /** Appends events of one stream read from lines {@code first..last}, and counts them. */
        private void appendBatch(List<EventData> events, long first, long last) {
            appendBatch(events, first, last, first == last ? List.of(first) : List.copyOf(pendingLines));
        }

        private void appendBatch(List<EventData> events, long first, long last, List<Long> lines) {
            appending = true;
            try {
                appendBatchNow(events, first, last, lines);
            } finally {
                appending = false;
            }
        }

        private void appendBatchNow(List<EventData> events, long first, long last, List<Long> lines) {
            if (stopping) {
                halted.countDown();
                throw new Stopping();
            }
            attemptFirst = first;
            attemptLast = last;
            long headBefore = lethe.store().headPosition();
            AppendResult result;
            try {
                result = lethe.privacy().append(pendingStream, ExpectedVersion.any(), List.copyOf(events));
            } catch (InvalidEventException e) {
                throw atLine(e, lines, first, last);
            }
            // Ids already stored, as this batch: the store answered with the original append (a retry).
            if (result.lastPosition() <= headBefore) {
                retried += result.count();
            } else {
                stored += result.count();
            }
            attemptFirst = 0;
        }

        /**
         * A batch's refusal, naming the line of the event refused ("events[3] ProductSold data" is line 11 of
         * a batch from line 8); not the stream id, which strict mode may have refused for looking personal.
         */
        private InvalidEventException atLine(InvalidEventException e, List<Long> lines, long first, long last) {
            java.util.regex.Matcher event = EVENT_INDEX.matcher(e.subject());
            if (event.matches() && Integer.parseInt(event.group(1)) < lines.size()) {
                String part =
                        event.group(2).startsWith(".") ? " " + event.group(2).substring(1) : event.group(2);
                return e.at(name + " line " + lines.get(Integer.parseInt(event.group(1))) + part
                        + (first == last ? "" : " (in the batch of lines " + first + ".." + last + ")"));
            }
            return e.at(
                    name + (first == last ? " line " + first : " lines " + first + ".." + last) + ": " + e.subject());
        }

        /** The line and stream of each id seen by a dry run, to find one given twice (the first 250,000 ids). */
        private final java.util.Map<java.util.UUID, SeenId> idLines = new java.util.HashMap<>();

        private record SeenId(long line, StreamId stream) {}

        /** About 30 MB of ids at most. */
        private static final int MAX_IDS_COMPARED = 250_000;

        /** Lines of a dry run whose id an earlier batch of the same stream holds. */
        private long repeatedInStream;

        /** Lines of a dry run whose id the store holds already. */
        private long storedBefore;

        /** The lines a dry run would see refused: counted, the first {@value #DRY_RUN_LISTED} kept. */
        private final List<String> refusals = new ArrayList<>();

        private long refused;

        /** Per type: metadata lenient mode would store as written though it looks personal (strict mode refuses it). */
        private final java.util.Map<String, UnencryptedSeen> personalMetadata = new java.util.LinkedHashMap<>();

        /** Per type and member: what would be stored unencrypted though it looks personal. */
        private final java.util.Map<String, UnencryptedSeen> unencrypted = new java.util.LinkedHashMap<>();

        private static final class UnencryptedSeen {
            final PrivateEventStore.Unencrypted first;
            final long firstLine;
            long events;

            UnencryptedSeen(PrivateEventStore.Unencrypted first, long firstLine) {
                this.first = first;
                this.firstLine = firstLine;
            }
        }

        private void refuse(String message) {
            refused++;
            if (refusals.size() < DRY_RUN_LISTED) {
                refusals.add(message);
            }
        }

        /**
         * A dry run's batch: each event checked on its own, as the append of its batch would check it, so
         * that every refused line is found, not only a batch's first.
         */
        private void checkBatch() {
            long first = pendingLines.get(0);
            if (pendingStream.value().startsWith("$")) {
                // Refused before anything else, as the import's append refuses it: never skipped as stored.
                pendingLines.forEach(line -> refuse(name + " line " + line + " stream id: '" + pendingStream
                        + "' is a system stream: only Lethe itself writes streams starting with $"));
                return;
            }
            int held = heldAlready();
            for (int i = 0; i < pending.size(); i++) {
                EventData event = pending.get(i);
                long line = pendingLines.get(i);
                if (event.clientId().isPresent()) {
                    java.util.UUID id = event.clientId().get();
                    SeenId earlier = idLines.get(id);
                    if (earlier != null
                            && (earlier.line() >= first || !earlier.stream().equals(pendingStream))) {
                        refuse(name + " line " + line + ": id " + id + " is on line " + earlier.line() + " too"
                                + (earlier.line() >= first
                                        ? ", in its batch (lines " + first + ".." + lastLine + "): the batch would be"
                                                + " refused whole"
                                        : ", in another stream: an id is stored once, in one stream"));
                        continue;
                    }
                    if (earlier != null) { // an earlier batch of this stream: skipped as stored, or refused
                        repeatedInStream++;
                        continue;
                    }
                    if (idLines.size() < MAX_IDS_COMPARED) {
                        idLines.put(id, new SeenId(line, pendingStream));
                    }
                }
                if (i < held) {
                    continue;
                }
                try {
                    for (PrivateEventStore.Unencrypted each :
                            lethe.privacy().checkAppend(pendingStream, ExpectedVersion.any(), List.of(event))) {
                        if (unencrypted.size() < 1_000) {
                            unencrypted.computeIfAbsent(
                                    each.type() + "\u0000" + each.member(), k -> new UnencryptedSeen(each, line));
                        }
                        UnencryptedSeen seen = unencrypted.get(each.type() + "\u0000" + each.member());
                        if (seen != null) {
                            seen.events++;
                        }
                    }
                    if (!lethe.privacy().keys().policy().strict()) { // strict mode refused it above
                        PrivateEventStore.personalDataInMetadata(event.metadata())
                                .ifPresent(why -> {
                                    if (personalMetadata.size() < 1_000) {
                                        personalMetadata.computeIfAbsent(
                                                event.type(),
                                                k -> new UnencryptedSeen(
                                                        new PrivateEventStore.Unencrypted(0, k, "metadata", false, why),
                                                        line));
                                    }
                                    UnencryptedSeen seen = personalMetadata.get(event.type());
                                    if (seen != null) {
                                        seen.events++;
                                    }
                                });
                    }
                    stored++;
                } catch (InvalidEventException e) {
                    refuse(atLine(e, List.of(line), line, line).getMessage());
                } catch (dev.lethe.core.privacy.SubjectException e) { // a forgotten subject's personal data
                    refuse(name + " line " + line + ": " + e.getMessage());
                }
            }
        }

        /**
         * How many first events of the pending batch the store holds already, as the import would find them:
         * all of it when the batch is a retry of one stored, its first events when they are the last ones their
         * stream holds (an import stopped, run again), and all of it when the batch holds a stored id and would
         * be refused (refused here, once, and not checked further).
         */
        private int heldAlready() {
            List<java.util.UUID> ids = new ArrayList<>();
            pending.forEach(event -> event.clientId().ifPresent(ids::add));
            java.util.Map<java.util.UUID, dev.lethe.core.spi.AppendRules.StoredEvent> stored =
                    ids.isEmpty() ? java.util.Map.of() : lethe.store().storedEvents(ids);
            if (stored.isEmpty()) {
                return 0;
            }
            int held;
            try {
                dev.lethe.core.spi.AppendRules.retryOf(pendingStream, pending, stored);
                held = pending.size();
            } catch (dev.lethe.core.store.DuplicateEventException notARetry) {
                try {
                    held = storedPart(notARetry);
                } catch (InvalidEventException refusedWhole) {
                    refuse(refusedWhole.getMessage()
                            + (pending.size() > 1
                                    ? " (the batch of lines " + pendingLines.get(0) + ".." + lastLine
                                            + " is refused whole)"
                                    : ""));
                    return pending.size();
                }
                // The import appends the rest as a batch of its own: the store answers it as a retry, or
                // refuses it for an id it holds elsewhere.
                List<EventData> rest = pending.subList(held, pending.size());
                java.util.Map<java.util.UUID, dev.lethe.core.spi.AppendRules.StoredEvent> storedRest =
                        new java.util.HashMap<>();
                rest.forEach(event -> event.clientId()
                        .filter(stored::containsKey)
                        .ifPresent(id -> storedRest.put(id, stored.get(id))));
                if (!storedRest.isEmpty()) {
                    try {
                        dev.lethe.core.spi.AppendRules.retryOf(pendingStream, rest, storedRest);
                        held = pending.size();
                    } catch (dev.lethe.core.store.DuplicateEventException elsewhere) {
                        refuse(withLine(elsewhere).getMessage());
                        return pending.size();
                    }
                }
            }
            storedBefore += held;
            return held;
        }

        /** Ends the progress line, if any; refuses a --from-line past the end of the file. */
        private void endProgress() {
            if (lastProgress != started) {
                err.println();
                err.flush();
            }
            if (fromLine > 1 && lineNumber < fromLine) {
                throw InvalidEventException.of(
                        "--from-line",
                        fromLine + " is past the end of " + name + ", which has " + lineNumber + " lines");
            }
        }

        /** A dry run's report: what an import would store, refuse, and store unencrypted. Exit code 2 if it refuses. */
        int finishDryRun(PrintWriter out) {
            endProgress();
            out.printf(
                    "dry run of %s%s, nothing stored: %,d event(s)%s would be stored in %,d batch(es), %,d line(s)"
                            + " refused%n",
                    name,
                    fromLine > 1 ? " from line " + fromLine : "",
                    stored,
                    refused > 0 ? " from the lines it accepts" : "",
                    batches,
                    refused);
            if (refused > 0) {
                out.printf(
                        "refused%s (an import stops at the first, storing the batches before its own; for a line that"
                                + " cannot be read, before the batch it may belong to):%n",
                        refused > refusals.size() ? " (the first " + refusals.size() + ")" : "");
                refusals.forEach(line -> out.println("  " + line));
            }
            if (!unencrypted.isEmpty()) {
                out.println("stored unencrypted, though it looks personal (never to be forgotten: declare and"
                        + " classify it in the type's schema; strict mode refuses it):");
                for (UnencryptedSeen each : unencrypted.values()) {
                    String member = dev.lethe.core.privacy.policy.PolicyLinter.showable(each.first.member())
                            ? "'" + each.first.member() + "'"
                            : "(a member whose name is not shown)";
                    out.printf(
                            "  %s %s: %s, %s, in %,d event(s) from line %,d%n",
                            each.first.type(),
                            member,
                            each.first.why(),
                            each.first.typeHasSchema() ? "its schema does not declare it" : "the type has no schema",
                            each.events,
                            each.firstLine);
                }
            }
            if (!personalMetadata.isEmpty()) {
                out.println("metadata stored as written, though it looks personal (never encrypted, kept after a"
                        + " forget; strict mode refuses it):");
                for (UnencryptedSeen each : personalMetadata.values()) {
                    out.printf(
                            "  %s %s, in %,d event(s) from line %,d%n",
                            each.first.type(), each.first.why(), each.events, each.firstLine);
                }
            }
            if (toStreamsOfForgotten > 0) {
                out.printf(
                        "%,d stream(s) whose last event is a forgotten subject's would get new events (warned above)%n",
                        toStreamsOfForgotten);
            }
            if (withoutId > 0) {
                out.printf("%,d line(s) have no id: importing them twice would store them twice%n", withoutId);
            }
            if (storedBefore > 0) {
                out.printf(
                        "%,d line(s) are stored already, with their ids, where an import run again finds them: it"
                                + " skips them (not checked further)%n",
                        storedBefore);
            }
            if (repeatedInStream > 0) {
                out.printf(
                        "%,d line(s) repeat an earlier line of the file (its id and event, in its stream): an import"
                                + " skips each as stored, a batch of its own%n",
                        repeatedInStream);
            }
            if (idLines.size() >= MAX_IDS_COMPARED) {
                out.printf("ids after the first %,d were not compared with each other%n", MAX_IDS_COMPARED);
            }
            out.println("not checked: what changes before the import runs (a forget, a new schema, the policy)");
            return refused > 0 ? 2 : 0;
        }

        /** Tells where a stopped import stands: what is stored, and the line to go on from. */
        void stopped() {
            if (lastProgress != started) {
                err.println();
            }
            if (attemptFirst > 0) {
                err.printf(
                        "import stopped at %s %s: not stored%n",
                        name,
                        attemptFirst == attemptLast
                                ? "line " + attemptFirst
                                : "lines " + attemptFirst + ".." + attemptLast + " (one batch)");
            }
            err.printf(
                    "import stopped: %,d event(s) of %s stored in %,d batch(es)%s; nothing from line %,d on."
                            + " Fix the problem below, then go on with: %s%n",
                    stored,
                    name,
                    batches,
                    retried > 0 ? " (and " + retried + " found already stored)" : "",
                    resumeLine,
                    goOn(resumeLine));
            err.flush();
        }

        /** The command that goes on from {@code line}: this store's options too (not ./lethe-data's). */

        /**
         * The process is stopping (Ctrl-C, a kill) while lines are being stored: the batch in flight may be
         * stored or not, so the line to go on from is told with that said.
         */
        void interrupted() {
            // The loading thread finishes the append under way, if any, and stops before the next one: then
            // what is stored is exactly the lines before resumeLine.
            stopping = true;
            boolean settled = true;
            if (appending) { // else it stops at its next append, reading or parsing meanwhile: nothing to wait for
                try {
                    settled = halted.await(30, java.util.concurrent.TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    settled = false;
                }
            }
            if (finished) {
                return; // every line is stored; the summary says so
            }
            long first = attemptFirst;
            long line = resumeLine;
            err.println();
            err.printf(
                    "import interrupted: everything before line %,d of %s is stored, nothing from it on%s. Go on"
                            + " with: %s%n",
                    line,
                    name,
                    !settled && first > 0
                            ? " but perhaps the batch of lines " + first + ".." + attemptLast + ", which was being"
                                    + " stored (lines with ids are skipped if stored; look at the stream for those"
                                    + " without)"
                            : "",
                    goOn(line));
            err.flush();
            if (json) {
                PrintWriter out = parent.spec.commandLine().getOut();
                out.println(outcome(false, "interrupted (a signal stopped the process)"));
                out.flush();
            }
        }

        /** Set by the shutdown hook: the next append does not start. */
        private volatile boolean stopping;

        /** Whether the loading thread is in an append (set before it looks at {@link #stopping}). */
        private volatile boolean appending;

        /** Every line read and stored. */
        volatile boolean finished;

        /** Counted down when the loading thread has stopped appending (interrupted, refused or done). */
        final java.util.concurrent.CountDownLatch halted = new java.util.concurrent.CountDownLatch(1);

        /** The loading thread stops here when the process is stopping. */
        static final class Stopping extends RuntimeException {
            Stopping() {
                super("import interrupted", null, false, false);
            }
        }

        void finish(PrintWriter out) {
            double seconds = Math.max(1e-3, (System.nanoTime() - started) / 1e9);
            endProgress();
            if (firstLine < 0) {
                out.printf(
                        "nothing to import: %s has no events%s%n", name, fromLine > 1 ? " from line " + fromLine : "");
                return;
            }
            out.printf(
                    "imported %,d event(s) from %s (lines %,d..%,d) in %,d batch(es), %.1f s, %,.0f events/s%n",
                    stored, name, firstLine, lastLine, batches, seconds, stored / seconds);
            if (toStreamsOfForgotten > 0) {
                out.printf(
                        "%,d stream(s) whose last event was a forgotten subject's got new events (warned above)%n",
                        toStreamsOfForgotten);
            }
            if (retried > 0) {
                out.printf(
                        "%,d event(s) were already stored (their ids were appended before): nothing written for them%n",
                        retried);
            }
            if (withoutId > 0) {
                out.printf(
                        "%,d event(s) had no id: importing these lines again would append them again"
                                + " (give each line an \"id\" to make a re-run safe)%n",
                        withoutId);
            }
        }
    }
}
