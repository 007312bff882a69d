package dev.lethe.server.cli;

import dev.lethe.core.store.Direction;
import dev.lethe.core.store.EventStore;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.RecordedEvent;
import dev.lethe.core.store.StreamId;
import dev.lethe.server.Instants;
import dev.lethe.sqlite.SqliteEventStore;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(
        name = "read",
        description = {
            "Read one stream, or the whole log (--all), or one category (--all --category C).",
            "  lethe read customer-1 --as-of 2026-10-31      the stream as it was at the end of that day (UTC)",
            "  lethe read --all --category customer --from 100 --limit 50"
        })
final class ReadCommand implements Callable<Integer> {
    @ParentCommand
    LetheCli parent;

    @Parameters(index = "0", arity = "0..1", paramLabel = "STREAM", description = "The stream to read.")
    String stream;

    @Option(names = "--all", description = "Read the whole log (or one category) by position.")
    boolean all;

    @Option(names = "--category", paramLabel = "C", description = "With --all: only streams of this category.")
    String category;

    @Option(names = "--from", paramLabel = "N", description = "First version (stream) or position (--all) to read.")
    Long from;

    @Option(
            names = "--after",
            paramLabel = "CURSOR",
            description = "With --all, instead of --from: go on after the event this cursor names"
                    + " (position:eventId:recordedAt, as the note at the end of a read gives it), once it is checked"
                    + " that the log still holds that event there (a log restored from an older copy would not).")
    String after;

    @Option(names = "--backward", description = "Read the stream from its end (or --from) towards its start.")
    boolean backward;

    @Option(names = "--limit", paramLabel = "N", defaultValue = "100", description = "At most N events (default 100).")
    long limit;

    @Option(names = "--as-of", paramLabel = "INSTANT", description = "The stream as it was at an instant or date.")
    String asOf;

    @Option(names = "--as-of-version", paramLabel = "V", description = "The stream as it was at its version V.")
    Long asOfVersion;

    @Option(names = "--json", description = "One JSON object per line, with data and metadata in full.")
    boolean json;

    @Override
    public Integer call() {
        validate();
        PrintWriter out = parent.spec.commandLine().getOut();
        EventPrinter printer = new EventPrinter(out, json);
        try (Store.Opened opened =
                parent.store.openForReading(parent.spec.commandLine().getErr())) {
            SqliteEventStore store = opened.lethe().store();
            if (asOf != null) {
                Instants.noteIfFuture(
                        parent.spec.commandLine().getErr(),
                        "--as-of",
                        Instants.parse("--as-of", asOf),
                        java.time.Clock.systemUTC());
            }
            long start = after != null
                    ? dev.lethe.server.LogCursor.next(store, "--after", after, "read on with --from")
                    : from != null ? from : (backward ? Long.MAX_VALUE : 0);
            long printed = 0;
            RecordedEvent lastPrinted = null;
            boolean ended = false;
            while (printed < limit) {
                int page = (int) Math.min(EventStore.MAX_READ_LIMIT, limit - printed);
                List<RecordedEvent> events = readPage(store, start, page);
                events.forEach(e -> printer.print(opened.lethe().privacy().reveal(e, opened.principal())));
                printed += events.size();
                if (!events.isEmpty()) {
                    lastPrinted = events.get(events.size() - 1);
                }
                if (events.size() < page) {
                    ended = true;
                    break;
                }
                RecordedEvent last = events.get(events.size() - 1);
                start = all ? last.position() + 1 : backward ? last.version() - 1 : last.version() + 1;
                if (start < 0) {
                    ended = true;
                    break;
                }
            }
            if (printed == 0 && !json) {
                parent.spec.commandLine().getErr().println(nothingFound(store, start));
            }
            if (!ended && !readPage(store, start, 1).isEmpty()) {
                // Stopped by --limit: say so, or a dump (read --all --json > file) looks complete.
                parent.spec
                        .commandLine()
                        .getErr()
                        .printf(
                                "stopped after %d event(s) (--limit; 100 unless given); more follow: continue with"
                                        + " %s and the same other options, or give a larger --limit%n",
                                printed,
                                all && lastPrinted != null
                                        // Checked when used: the log must still hold the last event printed.
                                        ? "--after " + dev.lethe.server.LogCursor.of(lastPrinted) + " (or --from "
                                                + start + ", a position, unchecked)"
                                        : "--from " + start + " (a " + (all ? "position" : "version") + ")");
            } else if (all && lastPrinted != null) {
                // The end of the log for now: where an incremental read goes on next time.
                parent.spec
                        .commandLine()
                        .getErr()
                        .printf(
                                "read to the end of the log; to go on later after the last event: --after %s%n",
                                dev.lethe.server.LogCursor.of(lastPrinted));
            }
        }
        return 0;
    }

    private List<RecordedEvent> readPage(SqliteEventStore store, long start, int page) {
        if (all) {
            return category == null ? store.readAll(start, page) : store.readCategory(category, start, page);
        }
        StreamId streamId = StreamId.of(stream);
        if (asOf != null) {
            Instant instant = Instants.parse("--as-of", asOf);
            return store.readStreamAsOf(streamId, instant, start, page);
        }
        if (asOfVersion != null) {
            if (start > asOfVersion) {
                return List.of();
            }
            // asOfVersion - start + 1 overflows for a version near Long.MAX_VALUE: compare before adding.
            return store.readStream(
                    streamId,
                    start,
                    Direction.FORWARD,
                    asOfVersion - start >= page ? page : (int) (asOfVersion - start + 1));
        }
        return store.readStream(streamId, start, backward ? Direction.BACKWARD : Direction.FORWARD, page);
    }

    private String nothingFound(SqliteEventStore store, long start) {
        if (all) {
            return "no events" + (category == null ? "" : " in category " + category) + " from position " + start
                    + " (head position: " + store.headPosition() + ")";
        }
        var info = store.streamInfo(StreamId.of(stream));
        return info.exists()
                ? "no events in " + stream + " for this read (current version: " + info.currentVersion() + ")"
                : "stream " + stream + " does not exist";
    }

    private void validate() {
        if (all == (stream != null)) {
            throw InvalidEventException.of("read", "give a STREAM, or --all (with --category to read one category)");
        }
        if (category != null && !all) {
            throw InvalidEventException.of("--category", "only goes with --all");
        }
        if (all && (asOf != null || asOfVersion != null || backward)) {
            throw InvalidEventException.of("read --all", "--as-of, --as-of-version and --backward apply to a stream");
        }
        if (asOf != null && asOfVersion != null) {
            throw InvalidEventException.of("read", "give --as-of or --as-of-version, not both");
        }
        if (backward && (asOf != null || asOfVersion != null)) {
            throw InvalidEventException.of("--backward", "does not go with --as-of or --as-of-version");
        }
        if (limit < 1) {
            throw InvalidEventException.of("--limit", limit + " must be at least 1");
        }
        if (from != null && from < 0) {
            throw InvalidEventException.of("--from", from + " is negative");
        }
        if (after != null && (!all || from != null)) {
            throw InvalidEventException.of("--after", "goes with --all, instead of --from");
        }
        if (asOfVersion != null && asOfVersion < 0) {
            throw InvalidEventException.of("--as-of-version", asOfVersion + " is negative");
        }
    }
}
