package dev.lethe.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lethe.core.privacy.Redaction;
import dev.lethe.core.privacy.RevealedEvent;
import dev.lethe.core.store.RecordedEvent;
import java.util.List;

/** The one JSON form of an event that the command line, REST, SSE and GraphQL all print. */
public final class EventJson {
    private static final ObjectMapper JSON = dev.lethe.core.store.Json.exactMapper();

    private EventJson() {}

    /** {@code {position, stream, version, id, type, recordedAt, data, metadata, redacted: [{path, reason}]}} */
    public static ObjectNode of(RevealedEvent revealed) {
        RecordedEvent event = revealed.event();
        ObjectNode node = JSON.createObjectNode();
        node.put("position", event.position());
        node.put("stream", event.streamId().value());
        node.put("version", event.version());
        node.put("id", event.id().toString());
        node.put("type", event.type());
        node.put("recordedAt", Instants.format(event.recordedAt()));
        node.set("data", revealed.data().asTree());
        // Without the subjects of key fields the reader may not read (RevealedEvent.metadata).
        node.set("metadata", revealed.metadata().asTree());
        node.set("redacted", redactions(revealed.redactions()));
        return node;
    }

    public static ArrayNode redactions(List<Redaction> redactions) {
        ArrayNode array = JSON.createArrayNode();
        redactions.forEach(r ->
                array.addObject().put("path", r.path()).put("reason", r.reason().label()));
        return array;
    }
}
