package dev.lethe.server.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.time.Instant;
import java.util.Map;

/**
 * Structured logs: one JSON object per line on standard error. Only what the server chooses to log is
 * written — method, route, status, duration, principal, counts, pseudonyms — never a request or
 * response body, so personal data never reaches the log.
 */
final class JsonLog {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final PrintStream out;

    JsonLog(PrintStream out) {
        this.out = out;
    }

    void info(String message, Map<String, ?> fields) {
        write("info", message, fields);
    }

    void warn(String message, Map<String, ?> fields) {
        write("warn", message, fields);
    }

    private void write(String level, String message, Map<String, ?> fields) {
        ObjectNode line = JSON.createObjectNode();
        line.put("ts", Instant.now().toString());
        line.put("level", level);
        line.put("msg", message);
        fields.forEach((key, value) -> line.set(key, JSON.valueToTree(value)));
        synchronized (out) {
            out.println(line);
            out.flush();
        }
    }
}
