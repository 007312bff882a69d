package dev.lethe.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

/** The library's log records as JSON lines of the newest server's log; the logger put back as it was after. */
class JsonLogCaptureTest {
    private static final Logger LIBRARY_RECORDS = Logger.getLogger("dev.lethe.capture.test");

    @Test
    void records_go_to_the_newest_capturing_log_and_the_last_release_restores_the_logger() {
        Logger library = Logger.getLogger("dev.lethe");
        library.setUseParentHandlers(false); // as an embedder may have set it
        try {
            ByteArrayOutputStream a = new ByteArrayOutputStream();
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            JsonLog first = new JsonLog(new PrintStream(a, true, StandardCharsets.UTF_8));
            JsonLog second = new JsonLog(new PrintStream(b, true, StandardCharsets.UTF_8));
            first.captureLibraryLogs();
            second.captureLibraryLogs();
            LIBRARY_RECORDS.warning("one");
            first.releaseLibraryLogs();
            LIBRARY_RECORDS.warning("two");
            assertThat(a.toString(StandardCharsets.UTF_8)).doesNotContain("\"one\"", "\"two\"");
            assertThat(b.toString(StandardCharsets.UTF_8))
                    .contains(
                            "\"level\":\"warn\",\"msg\":\"one\"",
                            "\"msg\":\"two\"",
                            "\"logger\":\"dev.lethe.capture.test\"");
            assertThat(library.getUseParentHandlers()).isFalse();
            second.releaseLibraryLogs();
            assertThat(library.getHandlers()).isEmpty();
            assertThat(library.getUseParentHandlers())
                    .as("as it was before the first capture")
                    .isFalse();
            LIBRARY_RECORDS.warning("three");
            assertThat(b.toString(StandardCharsets.UTF_8)).doesNotContain("three");
        } finally {
            library.setUseParentHandlers(true);
        }
    }
}
