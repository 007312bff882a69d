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

    /** A failure of the server itself (an internal error, out of memory): what an alert should fire on. */
    void error(String message, Map<String, ?> fields) {
        write("error", message, fields);
    }

    /**
     * The servers' logs that capture the library's records, newest last: a record goes to the newest one
     * (several servers run in one JVM in tests). Guarded by {@code CAPTURING}.
     */
    private static final java.util.List<JsonLog> CAPTURING = new java.util.ArrayList<>();

    /** Held while captured: java.util.logging keeps loggers weakly. Guarded by {@code CAPTURING}. */
    private static java.util.logging.Logger library;

    private static java.util.logging.Handler libraryHandler;
    private static boolean libraryUsedParentHandlers;

    /**
     * Writes the library's own log records (java.util.logging under {@code dev.lethe}: a schema that stops
     * encrypting a field, a type without a schema whose fields look personal) as JSON lines here, instead of
     * plain lines among them, until {@link #releaseLibraryLogs}. The first capture in a JVM installs one
     * handler; the last release removes it and puts the logger back as it was.
     */
    void captureLibraryLogs() {
        synchronized (CAPTURING) {
            if (CAPTURING.contains(this)) {
                return;
            }
            CAPTURING.add(this);
            if (libraryHandler != null) {
                return;
            }
            java.util.logging.Formatter messages = new java.util.logging.SimpleFormatter();
            libraryHandler = new java.util.logging.Handler() {
                @Override
                public void publish(java.util.logging.LogRecord record) {
                    JsonLog target;
                    synchronized (CAPTURING) {
                        target = CAPTURING.isEmpty() ? null : CAPTURING.get(CAPTURING.size() - 1);
                    }
                    if (target == null) {
                        return;
                    }
                    int level = record.getLevel().intValue();
                    Map<String, Object> fields = new java.util.LinkedHashMap<>();
                    fields.put("logger", String.valueOf(record.getLoggerName()));
                    if (record.getThrown() != null) {
                        fields.put("error", record.getThrown().getClass().getName());
                    }
                    target.write(
                            level >= java.util.logging.Level.SEVERE.intValue()
                                    ? "error"
                                    : level >= java.util.logging.Level.WARNING.intValue() ? "warn" : "info",
                            messages.formatMessage(record),
                            fields);
                }

                @Override
                public void flush() {}

                @Override
                public void close() {}
            };
            library = java.util.logging.Logger.getLogger("dev.lethe");
            libraryUsedParentHandlers = library.getUseParentHandlers();
            library.addHandler(libraryHandler);
            library.setUseParentHandlers(false);
        }
    }

    void releaseLibraryLogs() {
        synchronized (CAPTURING) {
            if (CAPTURING.remove(this) && CAPTURING.isEmpty() && libraryHandler != null) {
                library.removeHandler(libraryHandler);
                library.setUseParentHandlers(libraryUsedParentHandlers);
                libraryHandler = null;
                library = null;
            }
        }
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
