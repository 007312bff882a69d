package dev.lethe.server.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lethe.core.privacy.RevealedEvent;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.RecordedEvent;
import java.io.PrintWriter;
import java.util.stream.Collectors;

/**
 * Prints events for people (one aligned line each) or for programs (one JSON object per line), with
 * personal fields as the reader's role may see them and the redacted ones listed with their reason.
 */
final class EventPrinter {
    private static final ObjectMapper JSON = new ObjectMapper(Json.factory()); // answers nest events deeper
    private static final int DATA_WIDTH = 100;

    private final PrintWriter out;
    private final boolean json;

    EventPrinter(PrintWriter out, boolean json) {
        this.out = out;
        this.json = json;
    }

    void print(RevealedEvent event) {
        out.println(json ? asJson(event) : asLine(event));
        out.flush();
        if (out.checkError()) {
            // The reader went away (| head): stop reading, and decrypting, for no one.
            throw new OutputClosed();
        }
    }

    /** Standard output was closed by its reader; the command stops quietly, with exit code {@value #EXIT_CODE}. */
    static final class OutputClosed extends RuntimeException {
        static final int EXIT_CODE = 141; // as a shell reports a process stopped by SIGPIPE

        OutputClosed() {
            super("standard output was closed", null, false, false);
        }
    }

    static String asLine(RevealedEvent revealed) {
        RecordedEvent event = revealed.event();
        String data = revealed.data().toString();
        if (data.length() > DATA_WIDTH) {
            data = data.substring(0, DATA_WIDTH - 1) + "…";
        }
        String redacted = revealed.redactions().isEmpty()
                ? ""
                : "  redacted: "
                        + revealed.redactions().stream()
                                .map(r -> r.path() + " (" + r.reason().label() + ")")
                                .collect(Collectors.joining(", "));
        return String.format(
                "#%-6d %-28s v%-4d %-20s %s  %s%s",
                event.position(),
                event.streamId(),
                event.version(),
                event.type(),
                dev.lethe.server.Instants.format(event.recordedAt()),
                data,
                redacted);
    }

    static String asJson(RevealedEvent revealed) {
        return dev.lethe.server.EventJson.of(revealed).toString();
    }
}
