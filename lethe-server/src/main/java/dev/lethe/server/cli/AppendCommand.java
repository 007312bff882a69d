package dev.lethe.server.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lethe.core.store.AppendResult;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.StreamId;
import dev.lethe.sqlite.SqliteLethe;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(
        name = "append",
        description = {
            "Append events to one stream, atomically.",
            "One event:  lethe append order-7 OrderShipped '{\"carrier\":\"DHL\"}'",
            "A batch:    lethe append customer-1 --file events.jsonl   (one {\"type\",\"data\",\"metadata\"?,\"id\"?} per line)",
            "Personal data: lethe append customer-1 --file -   (from standard input, kept out of the process list"
                    + " and shell history)"
        })
final class AppendCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @ParentCommand
    LetheCli parent;

    @Parameters(index = "0", paramLabel = "STREAM", description = "Stream id, e.g. customer-7f3c.")
    String stream;

    @Parameters(index = "1", arity = "0..1", paramLabel = "TYPE", description = "Event type (one event).")
    String type;

    @Parameters(index = "2", arity = "0..1", paramLabel = "JSON", description = "Event data as JSON (one event).")
    String data;

    @Option(names = "--metadata", paramLabel = "JSON", description = "Metadata of the event, a JSON object.")
    String metadata;

    @Option(names = "--id", paramLabel = "UUID", description = "Event id; makes a retry idempotent.")
    UUID id;

    @Option(
            names = "--file",
            paramLabel = "FILE",
            description = "JSON lines, one event each, appended as one batch; - reads them from standard input"
                    + " (personal data then stays out of the process list and the shell history).")
    Path file;

    @Option(
            names = "--expected-version",
            paramLabel = "V",
            defaultValue = "any",
            description = "any, no-stream, stream-exists or a version number (default: any).")
    String expectedVersion;

    @Override
    public Integer call() {
        StreamId streamId = StreamId.of(stream);
        ExpectedVersion expected = ExpectedVersion.parse(expectedVersion);
        List<EventData> events = file != null ? fromFile() : List.of(single());
        try (SqliteLethe lethe = parent.store.openForWriting()) {
            long headBefore = lethe.store().headPosition();
            AppendResult result = lethe.privacy().append(streamId, expected, events);
            // Ids already stored, as this batch: the store answered with the original append (a retry).
            boolean retry = result.lastPosition() <= headBefore;
            parent.spec
                    .commandLine()
                    .getOut()
                    .printf(
                            (retry
                                            ? "already stored, nothing written: the %d event(s) with these ids are in %s"
                                                    + " (a retry of an append by id; their stored data is kept)"
                                            : "appended %d event(s) to %s")
                                    + ": versions %d..%d, positions %d..%d%n",
                            result.count(),
                            streamId,
                            result.firstVersion(),
                            result.lastVersion(),
                            result.firstPosition(),
                            result.lastPosition());
        }
        return 0;
    }

    private EventData single() {
        if (type == null || data == null) {
            throw InvalidEventException.of("append", "give TYPE and JSON, or --file FILE");
        }
        Json parsedData;
        Json parsedMetadata = null;
        try {
            parsedData = Json.parse(data);
            // As the HTTP API refuses it: readers would disagree on which of the two is meant.
            Json.requireUniqueMembers(data.getBytes(java.nio.charset.StandardCharsets.UTF_8), "json");
        } catch (InvalidEventException e) {
            throw e.at("JSON data");
        }
        if (metadata != null) {
            try {
                parsedMetadata = Json.parse(metadata);
                Json.requireUniqueMembers(metadata.getBytes(java.nio.charset.StandardCharsets.UTF_8), "json");
            } catch (InvalidEventException e) {
                throw e.at("--metadata");
            }
        }
        return new EventData(id, type, parsedData, parsedMetadata);
    }

    private List<EventData> fromFile() {
        if (type != null || data != null || id != null || metadata != null) {
            throw InvalidEventException.of("append", "--file cannot be combined with TYPE, JSON, --id or --metadata");
        }
        List<String> lines;
        try {
            lines = "-".equals(file.toString())
                    ? new java.io.BufferedReader(
                                    new java.io.InputStreamReader(System.in, java.nio.charset.StandardCharsets.UTF_8))
                            .lines()
                            .toList()
                    : Files.readAllLines(file);
            if (!lines.isEmpty() && lines.get(0).startsWith("\uFEFF")) { // a byte-order mark some editors write
                lines = new ArrayList<>(lines);
                lines.set(0, lines.get(0).substring(1));
            }
        } catch (IOException e) {
            throw InvalidEventException.of(
                    "--file", "cannot read " + file + ": " + dev.lethe.server.IoErrors.describe(e));
        }
        List<EventData> events = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (!lines.get(i).isBlank()) {
                events.add(EventLines.parse(lines.get(i), file + " line " + (i + 1), false)
                        .event());
            }
        }
        return events;
    }
}
