package dev.lethe.server.cli;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.StreamId;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Events written as JSON lines, one object per line, for {@code append --file} and {@code import}: its
 * {@code data} and {@code metadata} are kept as the line writes them, byte for byte ({@code 1.50} stays
 * {@code 1.50}), and checked as a positional JSON argument is (a classified field written twice is
 * refused); a member written twice, an unknown member or anything after the object is refused.
 */
final class EventLines {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Reads a line's members in order (data and metadata are then checked as positional arguments are). */
    private static final JsonFactory LINE = new JsonFactory();

    private static final List<String> MEMBERS = List.of("type", "data", "metadata", "id");
    private static final List<String> MEMBERS_WITH_STREAM = List.of("stream", "type", "data", "metadata", "id");

    private EventLines() {}

    /** A parsed line: its stream ({@code null} unless asked for) and its event. */
    record Line(StreamId stream, EventData event) {}

    /**
     * Parses one line; {@code where} names it in errors ("events.jsonl line 12"). With {@code withStream},
     * the line must also name its stream ({@code "stream": "customer-1"}).
     */
    static Line parse(String line, String where, boolean withStream) {
        List<String> allowed = withStream ? MEMBERS_WITH_STREAM : MEMBERS;
        byte[] bytes = line.getBytes(StandardCharsets.UTF_8);
        try (JsonParser parser = LINE.createParser(bytes)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                throw InvalidEventException.of(
                        where, "must be a JSON object with " + (withStream ? "stream, " : "") + "type and data");
            }
            Map<String, byte[]> members = new HashMap<>();
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String name = parser.currentName();
                if (members.containsKey(name)) {
                    throw InvalidEventException.of(
                            where,
                            "has " + dev.lethe.core.privacy.policy.PolicyLinter.quotedName(name)
                                    + " twice; which one is meant?");
                }
                parser.nextToken();
                long start = parser.currentTokenLocation().getByteOffset();
                parser.skipChildren();
                parser.finishToken();
                long end = parser.currentLocation().getByteOffset();
                members.put(name, Arrays.copyOfRange(bytes, (int) start, (int) end));
            }
            if (parser.nextToken() != null) {
                throw InvalidEventException.of(where, "has more after its JSON object; give one event per line");
            }
            for (String name : members.keySet()) {
                if (!allowed.contains(name)) {
                    // A misspelt "metdata" would otherwise be dropped without a word.
                    throw InvalidEventException.of(
                            where,
                            "has the member " + dev.lethe.core.privacy.policy.PolicyLinter.quotedName(name)
                                    + "; a line has only " + String.join(", ", allowed.subList(0, allowed.size() - 1))
                                    + " and id");
                }
            }
            StreamId stream = null;
            if (withStream) {
                JsonNode streamNode = members.containsKey("stream") ? JSON.readTree(members.get("stream")) : null;
                if (streamNode == null || !streamNode.isTextual()) {
                    throw InvalidEventException.of(where, "needs \"stream\" (a string: the stream to append to)");
                }
                try {
                    stream = StreamId.of(streamNode.asText());
                } catch (InvalidEventException e) {
                    throw e.at("stream");
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
            return new Line(
                    stream, new EventData(eventId, typeNode.asText(), member("data", members.get("data")), meta));
        } catch (InvalidEventException e) {
            throw e.subject().equals(where) ? e : e.at(where + ": " + e.subject());
        } catch (JsonProcessingException e) {
            throw InvalidEventException.of(where, "invalid JSON: " + Json.describeError(e));
        } catch (IOException e) {
            throw InvalidEventException.of(
                    where, "cannot read: " + e.getMessage().lines().findFirst().orElse(""));
        } catch (IllegalArgumentException e) { // UUID.fromString, whose message would repeat the value
            throw InvalidEventException.of(where, "\"id\" is not a UUID (e.g. 3f2504e0-4f89-41d3-9a0c-0305e82c3301)");
        }
    }

    /** A member's bytes as JSON, checked as a positional argument is; a problem names the member. */
    private static Json member(String name, byte[] written) {
        try {
            Json json = Json.ofBytes(written);
            // A member twice ({"quantity":1,"quantity":1000}) is refused, as the HTTP API does: Lethe reads the
            // last one, other JSON readers may take the first, and a data lake would sum another number.
            Json.requireUniqueMembers(written, "json");
            return json;
        } catch (InvalidEventException e) {
            throw e.at(name);
        }
    }
}
