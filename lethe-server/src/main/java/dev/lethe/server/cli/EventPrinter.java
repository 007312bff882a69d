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

    /**
     * Standard output could not be written. Closed by its reader (a pipe or socket: {@code | head}), the
     * command stops quietly, with exit code {@value #EXIT_CODE}; a file that cannot take more (a full disk,
     * {@code /dev/full}, an I/O error) is an error, with exit code 1: what was written is incomplete.
     */
    static final class OutputClosed extends RuntimeException {
        static final int EXIT_CODE = 141; // as a shell reports a process stopped by SIGPIPE

        OutputClosed() {
            super("standard output was closed", null, false, false);
        }

        /** Where standard output goes, when it is not a pipe or socket whose reader may have gone (Linux). */
        static java.util.Optional<String> notAPipe() {
            try {
                String target = java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/self/fd/1"))
                        .toString();
                if (target.startsWith("pipe:") || target.startsWith("socket:")) {
                    return java.util.Optional.empty();
                }
                // A named pipe (mkfifo) whose reader left is a pipe too: S_IFIFO in the mode's type bits.
                Object mode = java.nio.file.Files.getAttribute(java.nio.file.Path.of(target), "unix:mode");
                return mode instanceof Integer bits && (bits & 0170000) == 0010000
                        ? java.util.Optional.empty()
                        : java.util.Optional.of(target);
            } catch (java.io.IOException | RuntimeException unknown) {
                return java.util.Optional.empty(); // not Linux: taken for a reader gone, as before
            }
        }
    }

    static String asLine(RevealedEvent revealed) {
        RecordedEvent event = revealed.event();
        String data = revealed.data().toString();
        // The audit trail and $erasures whole: an entry cut short hides its subject and receipt, the facts it is read
        // for (they hold no personal data in the clear; $schemas' registrations, up to 1 MiB each, are still cut).
        String stream = event.streamId().value();
        if (data.length() > DATA_WIDTH && !stream.equals("$audit") && !stream.equals("$erasures")) {
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
