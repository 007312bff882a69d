package dev.lethe.server.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lethe.core.store.RecordedEvent;
import java.io.PrintWriter;

/** Prints events for people (one aligned line each) or for programs (one JSON object per line). */
final class EventPrinter {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int DATA_WIDTH = 100;

    private final PrintWriter out;
    private final boolean json;

    EventPrinter(PrintWriter out, boolean json) {
        this.out = out;
        this.json = json;
    }

    void print(RecordedEvent event) {
        out.println(json ? asJson(event) : asLine(event));
        out.flush();
    }

    static String asLine(RecordedEvent event) {
        String data = event.data().toString();
        if (data.length() > DATA_WIDTH) {
            data = data.substring(0, DATA_WIDTH - 1) + "…";
        }
        return String.format(
                "#%-6d %-28s v%-4d %-20s %s  %s",
                event.position(), event.streamId(), event.version(), event.type(), event.recordedAt(), data);
    }

    static String asJson(RecordedEvent event) {
        ObjectNode node = JSON.createObjectNode();
        node.put("position", event.position());
        node.put("stream", event.streamId().value());
        node.put("version", event.version());
        node.put("id", event.id().toString());
        node.put("type", event.type());
        node.put("recordedAt", event.recordedAt().toString());
        node.set("data", event.data().asTree());
        node.set("metadata", event.metadata().asTree());
        return node.toString();
    }
}
