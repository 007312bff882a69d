package dev.lethe.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
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
            "One event:  lethe append customer-1 CustomerRegistered '{\"name\":\"Ada\"}'",
            "A batch:    lethe append customer-1 --file events.jsonl   (one {\"type\",\"data\",\"metadata\"?,\"id\"?} per line)"
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
        } catch (InvalidEventException e) {
            throw e.at("JSON data");
        }
        if (metadata != null) {
            try {
                parsedMetadata = Json.parse(metadata);
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
                events.add(parseLine(lines.get(i), i + 1));
            }
        }
        return events;
    }

    /**
     * One line of {@code --file}: its {@code data} and {@code metadata} are stored as the line writes them,
     * byte for byte ({@code 1.50} stays {@code 1.50}), and checked as a positional JSON argument is (a
     * classified field written twice is refused); a line member written twice, or anything after the
     * object, is refused.
     */
    private EventData parseLine(String line, int number) {
        String where = file + " line " + number;
        byte[] bytes = line.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        try (com.fasterxml.jackson.core.JsonParser parser = LINE.createParser(bytes)) {
            if (parser.nextToken() != com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
                throw InvalidEventException.of(where, "must be a JSON object with type and data");
            }
            java.util.Map<String, byte[]> members = new java.util.HashMap<>();
            while (parser.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
                String name = parser.currentName();
                if (members.containsKey(name)) {
                    throw InvalidEventException.of(where, "has \"" + name + "\" twice; which one is meant?");
                }
                parser.nextToken();
                long start = parser.currentTokenLocation().getByteOffset();
                parser.skipChildren();
                parser.finishToken();
                long end = parser.currentLocation().getByteOffset();
                members.put(name, java.util.Arrays.copyOfRange(bytes, (int) start, (int) end));
            }
            if (parser.nextToken() != null) {
                throw InvalidEventException.of(where, "has more after its JSON object; give one event per line");
            }
            for (String name : members.keySet()) {
                if (!List.of("type", "data", "metadata", "id").contains(name)) {
                    // A misspelt "metdata" would otherwise be dropped without a word.
                    throw InvalidEventException.of(
                            where,
                            "has the member \"" + (name.length() > 40 ? name.substring(0, 40) + "…" : name)
                                    + "\"; a line has only type, data, metadata and id");
                }
            }
            byte[] typeBytes = members.get("type");
            JsonNode typeNode = typeBytes == null ? null : JSON.readTree(typeBytes);
            if (typeNode == null || !typeNode.isTextual() || !members.containsKey("data")) {
                throw InvalidEventException.of(where, "needs \"type\" (a string) and \"data\"");
            }
            JsonNode idNode = members.containsKey("id") ? JSON.readTree(members.get("id")) : null;
            UUID eventId = idNode != null && !idNode.isNull() ? UUID.fromString(idNode.asText()) : null;
            byte[] metaBytes = members.get("metadata");
            Json meta = metaBytes == null || JSON.readTree(metaBytes).isNull() ? null : member("metadata", metaBytes);
            return new EventData(eventId, typeNode.asText(), member("data", members.get("data")), meta);
        } catch (InvalidEventException e) {
            throw e.subject().equals(where) ? e : e.at(where + ": " + e.subject());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw InvalidEventException.of(where, "invalid JSON: " + Json.describeError(e));
        } catch (IOException e) {
            throw InvalidEventException.of(
                    where, "cannot read: " + e.getMessage().lines().findFirst().orElse(""));
        } catch (IllegalArgumentException e) {
            throw InvalidEventException.of(where, "invalid id: " + e.getMessage());
        }
    }

    /** A member's bytes as JSON, checked as a positional argument is; a problem names the member. */
    private static Json member(String name, byte[] written) {
        try {
            return Json.ofBytes(written);
        } catch (InvalidEventException e) {
            throw e.at(name);
        }
    }

    /** Reads a line's members in order (data and metadata are then checked as positional arguments are). */
    private static final com.fasterxml.jackson.core.JsonFactory LINE = new com.fasterxml.jackson.core.JsonFactory();
}
